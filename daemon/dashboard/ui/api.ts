/**
 * The dashboard's API client. Request and response types are the contract's schemas
 * (runner/protocol: the ones the routes declare); all are type-only imports, erased from the
 * bundle, so a field the API renames or drops, or one sent that it does not take, is a type error here.
 */
import type {
  ApiErrorBody as ErrorBody,
  AwaitingApprovalList,
  AwaitingApprovalView as AwaitingApproval,
  Job,
  JobList,
  JobStatus,
  MemberView as Member,
  NotificationRuleCreate,
  NotificationRuleView as NotificationRule,
  ProjectList,
  ProjectRole,
  ProjectUpdate,
  ProjectView as Project,
  SecretKeyInfo as SecretKey,
  SessionInfo,
  SignedOut,
  WebhookDeliveryView as Delivery,
  WorkflowRunList,
  WorkflowRunView as WorkflowRun,
  NotificationTestResult,
} from "../../../runner/protocol/index.ts";

export type WorkflowNode = WorkflowRun["nodes"][number];
export type ForkPr = NonNullable<WorkflowRun["fork_pr"]>;
export type NewNotificationRule = NotificationRuleCreate;
export type { AwaitingApproval, Delivery, Job, JobList, JobStatus, Member, NotificationRule, Project, ProjectRole, ProjectUpdate, SecretKey, SessionInfo, WorkflowRun };

/** Every status, in the order the filter lists them; `satisfies` fails the build when the API gains one. */
export const JOB_STATUSES = ["queued", "running", "success", "failure", "error", "cancelled", "timed_out"] as const satisfies readonly JobStatus[];
type Missing = Exclude<JobStatus, (typeof JOB_STATUSES)[number]>;
const _allStatuses: Missing extends never ? true : Missing = true;
void _allStatuses;
export const TERMINAL: readonly JobStatus[] = ["success", "failure", "error", "cancelled", "timed_out"];
export const RUN_STATUSES = ["running", "awaiting_approval", "success", "failure", "cancelled"] as const satisfies readonly WorkflowRun["status"][];
export const RUN_ENDED: readonly string[] = ["success", "failure", "cancelled"];
/** Node statuses "retry failed" runs again. */
export const NODE_RETRYABLE: readonly string[] = ["failure", "error", "cancelled", "timed_out"];

/** An error answer of the API, `{"error":{"code","message","field"}}`, with its HTTP status. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

let csrf: string | null = null;
export const setCsrf = (token: string | null) => {
  csrf = token;
};
/** Called when the API answers 401 to a signed-in page: the session ended. */
let onSignedOut: () => void = () => {};
export const whenSignedOut = (handler: () => void) => {
  onSignedOut = handler;
};

async function call<T>(method: string, path: string, body?: unknown, bearer?: string): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    // Any error answer of the API has this shape; a proxy's error page has none of it.
    const error = (json as Partial<ErrorBody> | undefined)?.error;
    const failure = new ApiFailure(response.status, error?.code ?? "http_" + response.status, error?.message ?? `${response.status} ${response.statusText}`, error?.field);
    if (response.status === 401 && !bearer) onSignedOut();
    throw failure;
  }
  return json as T;
}

const q = (params: Record<string, string | number | undefined>) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : "";
};
const seg = encodeURIComponent;

export const api = {
  session: {
    signIn: (token: string) => call<SessionInfo>("POST", "/api/v1/session", undefined, token),
    get: () => call<SessionInfo>("GET", "/api/v1/session"),
    signOut: () => call<SignedOut>("DELETE", "/api/v1/session"),
  },
  jobs: {
    list: (filter: { project?: string; status?: string; name?: string; limit?: number; offset?: number }) => call<JobList>("GET", `/api/v1/jobs${q(filter)}`),
    get: (id: string) => call<Job>("GET", `/api/v1/jobs/${seg(id)}`),
    cancel: (id: string) => call<Job>("POST", `/api/v1/jobs/${seg(id)}/cancel`),
    retry: (id: string) => call<Job>("POST", `/api/v1/jobs/${seg(id)}/retry`),
    /** The log as text (what "download" saves). */
    logText: async (id: string, after = 0) => {
      const response = await fetch(`/api/v1/jobs/${seg(id)}/logs${q({ after: after || undefined })}`, { credentials: "same-origin" });
      if (!response.ok) throw new ApiFailure(response.status, "log", `the log could not be read (${response.status})`);
      return response.text();
    },
    logUrl: (id: string) => `/api/v1/jobs/${seg(id)}/logs`,
    followUrl: (id: string, after: number) => `/api/v1/jobs/${seg(id)}/logs${q({ follow: "true", after: after || undefined })}`,
  },
  workflows: {
    list: (filter: { project?: string; status?: string; limit?: number; offset?: number }) =>
      call<WorkflowRunList>("GET", `/api/v1/workflows${q(filter)}`),
    get: (id: string) => call<WorkflowRun>("GET", `/api/v1/workflows/${seg(id)}`),
    cancel: (id: string) => call<WorkflowRun>("POST", `/api/v1/workflows/${seg(id)}/cancel`),
    retry: (id: string) => call<WorkflowRun>("POST", `/api/v1/workflows/${seg(id)}/retry`),
    retryFailed: (id: string) => call<WorkflowRun>("POST", `/api/v1/workflows/${seg(id)}/retry-failed`),
    /** A fork pull request's run awaiting approval: starts it (and every run of the same PR, head and base SHA), or ends them `failure`. */
    approve: (id: string) => call<WorkflowRun>("POST", `/api/v1/workflows/${seg(id)}/approve`),
    decline: (id: string) => call<WorkflowRun>("POST", `/api/v1/workflows/${seg(id)}/decline`),
  },
  /** Runs awaiting approval across the caller's projects, each saying whether the caller may decide it (approve/decline above). */
  approvals: {
    list: () => call<AwaitingApprovalList>("GET", "/api/v1/approvals"),
  },
  projects: {
    list: () => call<ProjectList>("GET", "/api/v1/projects"),
    get: (ref: string) => call<Project>("GET", `/api/v1/projects/${seg(ref)}`),
    update: (ref: string, changes: ProjectUpdate) =>
      call<Project>("PATCH", `/api/v1/projects/${seg(ref)}`, changes),
    members: (ref: string) => call<{ members: Member[] }>("GET", `/api/v1/projects/${seg(ref)}/members`),
    setMember: (ref: string, user: string, role: ProjectRole) => call<Member>("PUT", `/api/v1/projects/${seg(ref)}/members/${seg(user)}`, { role }),
    removeMember: (ref: string, user: string) => call<unknown>("DELETE", `/api/v1/projects/${seg(ref)}/members/${seg(user)}`),
    secrets: (ref: string) => call<{ secrets: SecretKey[] }>("GET", `/api/v1/projects/${seg(ref)}/secrets`),
    setSecret: (ref: string, key: string, value: string) => call<unknown>("PUT", `/api/v1/projects/${seg(ref)}/secrets/${seg(key)}`, { value }),
    deleteSecret: (ref: string, key: string) => call<unknown>("DELETE", `/api/v1/projects/${seg(ref)}/secrets/${seg(key)}`),
    deliveries: (ref: string) => call<{ deliveries: Delivery[] }>("GET", `/api/v1/projects/${seg(ref)}/deliveries${q({ limit: 20 })}`),
    redeliver: (ref: string, id: string) => call<Delivery>("POST", `/api/v1/projects/${seg(ref)}/deliveries/${seg(id)}/redeliver`),
    notifications: (ref: string) => call<{ notifications: NotificationRule[] }>("GET", `/api/v1/projects/${seg(ref)}/notifications`),
    addNotification: (ref: string, rule: NewNotificationRule) => call<NotificationRule>("POST", `/api/v1/projects/${seg(ref)}/notifications`, rule),
    deleteNotification: (ref: string, id: string) => call<unknown>("DELETE", `/api/v1/projects/${seg(ref)}/notifications/${seg(id)}`),
    testNotification: (ref: string, id: string) =>
      call<NotificationTestResult>("POST", `/api/v1/projects/${seg(ref)}/notifications/${seg(id)}/test`),
  },
};
