/**
 * Where a person looks at a run: pages under the public URL (REACTORCIDE_PUBLIC_URL, the address
 * people use to reach the daemon), as notifications and commit statuses link them.
 */
const base = (publicUrl: string) => publicUrl.replace(/\/+$/, "");

export const runLink = (publicUrl: string, runId: string) => `${base(publicUrl)}/workflows/${runId}`;
export const jobLink = (publicUrl: string, jobId: string) => `${base(publicUrl)}/jobs/${jobId}`;
export const projectLink = (publicUrl: string, project: string) => `${base(publicUrl)}/projects/${encodeURIComponent(project)}`;
