import type { TriggerPayload } from "../protocol/trigger.ts";
import type { ApiErrorBody } from "../protocol/api/error.ts";

/** Where and how to reach the coordinator; all three come from the job's environment. */
export interface CoordinatorTarget {
  url: string;
  token: string;
  jobId: string;
}

export interface PostResult {
  status: number | null;
  error?: string;
}

/** The coordinator target from REACTORCIDE_COORDINATOR_URL / _API_TOKEN / _JOB_ID; null unless all are set. */
export function coordinatorFromEnv(env: Record<string, string | undefined>): CoordinatorTarget | null {
  const url = env.REACTORCIDE_COORDINATOR_URL;
  const token = env.REACTORCIDE_API_TOKEN;
  const jobId = env.REACTORCIDE_JOB_ID;
  return url && token && jobId ? { url, token, jobId } : null;
}

/**
 * The triggers endpoint for a job. The token travels with it, so plain http is refused unless
 * the caller allows it (a coordinator on the same host or in tests).
 */
export function triggersEndpoint(target: CoordinatorTarget, allowInsecureTransport: boolean): URL {
  let base: URL;
  try {
    base = new URL(target.url);
  } catch {
    throw new Error(`REACTORCIDE_COORDINATOR_URL: not a URL: ${JSON.stringify(target.url)}`);
  }
  if (base.protocol !== "https:" && !(base.protocol === "http:" && allowInsecureTransport)) {
    throw new Error(
      `REACTORCIDE_COORDINATOR_URL: ${base.protocol}// refused; use https:// (or --allow-insecure-transport for http:// on a trusted network)`,
    );
  }
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(target.jobId)) {
    throw new Error("REACTORCIDE_JOB_ID: only letters, digits, _ and - are allowed");
  }
  const path = `${base.pathname.replace(/\/+$/, "")}/api/v1/jobs/${target.jobId}/triggers`;
  return new URL(path, base);
}

/** POSTs the payload; never throws for network or HTTP errors (the file and stdout line remain). */
export async function postTriggers(
  endpoint: URL,
  token: string,
  payload: TriggerPayload,
  timeoutMs = 15_000,
): Promise<PostResult> {
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "error",
    });
    const text = await response.text().catch(() => "");
    if (response.status === 201) return { status: 201 };
    // The coordinator's error shape says why (e.g. a refused trigger); anything else, the status.
    let reason = "";
    try {
      reason = (JSON.parse(text) as Partial<ApiErrorBody>).error?.message ?? "";
    } catch {
      // not JSON
    }
    return { status: response.status, error: `HTTP ${response.status}${reason ? `: ${reason.slice(0, 500)}` : ""}` };
  } catch (error) {
    return { status: null, error: (error as Error).message };
  }
}
