import type { ComponentChildren } from "preact";
import { ApiFailure, type JobStatus } from "./api.ts";
import { useSession } from "./session.ts";

export function StatusBadge({ status }: { status: JobStatus | string }) {
  return <span class={`status status-${status}`} data-status={status}>{status.replace("_", " ")}</span>;
}

/** An error from the API, explained: a 403 says which role is missing, not only that it failed. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  if (error instanceof ApiFailure) {
    const hint =
      error.status === 403 && error.code === "forbidden"
        ? "Your role does not allow this. A project admin can change your role on the project's page."
        : error.status === 403 && error.code === "csrf_failed"
          ? "The page's session check failed; reload the page."
          : error.status === 404
            ? "It does not exist, or you are not a member of its project."
            : error.status === 409
              ? "Its state changed meanwhile (someone else may have acted on it); the page shows it as it is now."
              : undefined;
    return (
      <div class="error" role="alert" data-status={error.status}>
        <strong>{error.status === 403 ? "Not allowed" : `Error ${error.status}`}:</strong> {error.message}
        {hint && <div class="hint">{hint}</div>}
      </div>
    );
  }
  return <div class="error" role="alert">{String(error instanceof Error ? error.message : error)}</div>;
}

export function when(iso: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function duration(from: string | null, to: string | null): string {
  if (!from) return "—";
  return elapsed((to ? new Date(to) : new Date()).getTime() - new Date(from).getTime());
}

/** 4.2s, 12s, 3m 5s, 1h 2m: tenths only where they matter. */
export function elapsed(ms: number): string {
  if (ms < 10_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** The project and status pickers of a list page; a choice applies at once. */
export function ProjectStatusFilters({ project, status, statuses, onChange }: { project: string; status: string; statuses: readonly string[]; onChange(changes: { project?: string; status?: string }): void }) {
  const { info } = useSession();
  return (
    <>
      <label>
        Project
        <select name="project" value={project} onChange={(e) => onChange({ project: e.currentTarget.value })}>
          <option value="">all</option>
          {info.projects.map((p) => (
            <option value={p.name}>{p.name}</option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select name="status" value={status} onChange={(e) => onChange({ status: e.currentTarget.value })}>
          <option value="">any</option>
          {statuses.map((s) => (
            <option value={s}>{s.replace("_", " ")}</option>
          ))}
        </select>
      </label>
    </>
  );
}

/** Approve / Decline for a run awaiting approval (the workflow page's notice, the Approvals list). */
export function DecisionButtons({ busy, onDecide }: { busy: boolean; onDecide(what: "approve" | "decline"): void }) {
  return (
    <div class="actions">
      <button type="button" disabled={busy} onClick={() => onDecide("approve")}>
        Approve
      </button>
      <button type="button" class="danger" disabled={busy} onClick={() => onDecide("decline")}>
        Decline
      </button>
    </div>
  );
}
