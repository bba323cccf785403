import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api, RUN_STATUSES, type WorkflowRun } from "../api.ts";
import { duration, ErrorNote, StatusBadge, when } from "../components.tsx";
import { projectName, useSession } from "../session.ts";

export function WorkflowsPage() {
  const { info } = useSession();
  const { query, path, route } = useLocation();
  const project = query.project ?? "";
  const status = query.status ?? "";
  const [runs, setRuns] = useState<WorkflowRun[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const next = await api.workflows.list({ project, status, limit: 50 });
        if (!stopped) (setRuns(next.workflows), setError(null));
      } catch (e) {
        if (!stopped) setError(e);
      }
      if (!stopped) timer = setTimeout(load, 2000);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [project, status]);
  const go = (changes: Record<string, string>) => {
    const next = new URLSearchParams({ project, status, ...changes });
    for (const [k, v] of [...next]) if (!v) next.delete(k);
    const s = next.toString();
    route(`${path}${s ? `?${s}` : ""}`);
  };
  return (
    <section>
      <h1>Workflows</h1>
      <div class="filters">
        <label>
          Project
          <select name="project" value={project} onChange={(e) => go({ project: e.currentTarget.value })}>
            <option value="">all</option>
            {info.projects.map((p) => (
              <option value={p.name}>{p.name}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select name="status" value={status} onChange={(e) => go({ status: e.currentTarget.value })}>
            <option value="">any</option>
            {RUN_STATUSES.map((s) => (
              <option value={s}>{s.replace("_", " ")}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorNote error={error} />
      {runs && runs.length === 0 && <p class="empty">No workflow runs{project || status ? " match these filters" : " yet"}.</p>}
      {runs && runs.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Status</th>
              <th>Workflow</th>
              <th class="wide">Project</th>
              <th class="wide">Event</th>
              <th class="wide">Started</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <tr key={r.id} data-run={r.id}>
                <td>
                  <StatusBadge status={r.status} />
                </td>
                <td>
                  <a href={`/workflows/${r.id}`} class="job-name">{r.name}</a>
                  <span class="tag">{r.nodes.length} jobs</span>
                </td>
                <td class="wide">{projectName(info, r.project_id)}</td>
                <td class="wide">
                  {r.event ?? "manual"} {r.ref && <code>{r.ref}</code>}
                </td>
                <td class="wide">{when(r.created_at)}</td>
                <td>{duration(r.created_at, r.finished_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
