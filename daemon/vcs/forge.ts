import type { VcsProvider } from "../../schema/app/vcs.ts";
import type { MapResult, VcsEvent } from "./event.ts";

/** A commit status as we keep it; each forge maps the state to its own words. */
export const REPORT_STATES = ["pending", "running", "success", "failure", "error", "cancelled"] as const;
export type ReportState = (typeof REPORT_STATES)[number];

export interface CommitStatus {
  sha: string;
  context: string;
  state: ReportState;
  /** At most 140 characters (GitHub's limit); the reporter cuts longer ones. */
  description: string;
  targetUrl?: string;
}

/** Where and as whom the forge's API is called. */
export interface ForgeTarget {
  apiUrl: string;
  token: string;
  /** GitHub `owner/repo`; GitLab the project id or its URL-encoded path. */
  repo: string;
}

/** A refusal from the forge's API: retried after `retryAfterMs` when `retryable`, else given up. */
export class ForgeHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * One forge (GitHub, GitLab): how its webhooks are authenticated and read, and how statuses and
 * the pull request summary are written back. Everything else in daemon/vcs is forge-neutral.
 */
export interface Forge {
  readonly provider: VcsProvider;
  readonly defaultApiUrl: string;
  /** The delivery's id, for de-duplication. */
  deliveryId(headers: Headers): string | undefined;
  eventName(headers: Headers): string | undefined;
  /** Whether the delivery was made with `secret`, compared in constant time. */
  authentic(headers: Headers, rawBody: Uint8Array, secret: string): boolean;
  /** The URLs the payload names its repository by (to find the project). */
  repositoryUrls(payload: unknown): string[];
  /** The event, or why it is ignored. */
  map(eventName: string, payload: unknown): MapResult;
  /**
   * Whether a user may write to the repository, asked through the forge's API (GitHub: the
   * collaborator permission is admin or write; GitLab: a member with Developer access or more).
   * Only they approve or decline a fork pull request by comment.
   */
  canWrite(target: ForgeTarget, user: { login: string; id?: number }): Promise<boolean>;
  /** Whether a pull request's author is a maintainer (GitHub: its author_association; GitLab: asked through the members API). */
  isMaintainer(target: ForgeTarget, event: VcsEvent): Promise<boolean>;
  postStatus(target: ForgeTarget, status: CommitStatus): Promise<void>;
  /** Finds our summary comment on a pull request by its marker (after a crash between creating it and recording its id). */
  findComment(target: ForgeTarget, pr: number, marker: string): Promise<string | undefined>;
  createComment(target: ForgeTarget, pr: number, body: string): Promise<string>;
  updateComment(target: ForgeTarget, pr: number, commentId: string, body: string): Promise<void>;
}

/** Retry-After as seconds or an HTTP date, in ms; GitHub's x-ratelimit-reset (epoch seconds) when the limit is spent. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get("retry-after");
  if (value) {
    if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  if (headers.get("x-ratelimit-remaining") === "0") {
    const reset = Number(headers.get("x-ratelimit-reset"));
    if (reset > 0) return Math.max(0, reset * 1000 - now);
  }
  return undefined;
}

/** A forge API call: JSON in and out, errors sorted into retryable (down, rate limited) or not. */
export async function forgeFetch(url: string, init: { method: string; headers: Record<string, string>; body?: unknown }): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method,
      headers: { accept: "application/json", "user-agent": "reactorcide", ...(init.body !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new ForgeHttpError(0, `${init.method} ${url}: ${(error as Error).message}`, true);
  }
  const text = await response.text();
  if (response.ok) return text ? JSON.parse(text) : undefined;
  const wait = retryAfterMs(response.headers);
  const rateLimited = response.status === 429 || (response.status === 403 && (wait !== undefined || /rate limit/i.test(text)));
  const retryable = rateLimited || response.status >= 500 || response.status === 408;
  throw new ForgeHttpError(response.status, `${init.method} ${url}: ${response.status} ${text.slice(0, 300)}`, retryable, wait);
}
