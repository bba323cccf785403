import { useEffect, useState } from "preact/hooks";
import { api, RUN_ENDED, type AwaitingApproval, type WorkflowRun } from "../api.ts";
import { DecisionButtons, elapsed, ErrorNote, StatusBadge, when } from "../components.tsx";
import { usePolled } from "../hooks.ts";

/** Read again this often: a run another approver decided leaves the list, a new fork pull request joins it. */
const REFRESH_MS = 3000;

/** Told when this page decided a run, so the count in the top bar follows at once. */
export const approvalsChanged = new EventTarget();

/** The top bar's count of runs waiting for the user's decision (those they may approve); read every 15 s and after a decision here. */
export function WaitingCount() {
  const { value, refresh } = usePolled(() => api.approvals.list(), 15_000, []);
  useEffect(() => {
    const again = () => refresh();
    approvalsChanged.addEventListener("change", again);
    return () => approvalsChanged.removeEventListener("change", again);
  }, []);
  const mine = value?.approvals.filter((a) => a.may_approve).length ?? 0;
  if (!mine) return null;
  return (
    <span class="count-badge" data-testid="waiting-count" title={`${mine} run${mine === 1 ? "" : "s"} waiting for your approval`}>
      {mine}
      {value?.next_offset != null ? "+" : ""}
    </span>
  );
}

/** What became of a run decided from this page: its status as the API answered (the list no longer has it). */
interface Decided {
  entry: AwaitingApproval;
  what: "approve" | "decline";
  run: WorkflowRun;
}

/** One waiting run: whose pull request, from which fork, since when; Approve / Decline when the API would let the user. */
function Entry({ a, busy, onDecide }: { a: AwaitingApproval; busy: boolean; onDecide(what: "approve" | "decline"): void }) {
  const fork = a.fork_pr;
  const waited = Date.now() - new Date(a.waiting_since).getTime();
  return (
    <li class="approval" data-run={a.run_id} data-testid="awaiting">
      <div class="what">
        <div class="title">
          <a href={`/projects/${encodeURIComponent(a.project_name)}`} class="project">{a.project_name}</a>
          <span class="sep">/</span>
          <a href={`/workflows/${a.run_id}`} class="job-name" data-testid="run-link">{a.run_name}</a>
          {fork && <span class="tag" data-testid="pr">pull request #{fork.pr_number}</span>}
          {a.ref && (
            <span class="hint">
              {fork ? "into" : "on"} <code class="ref">{a.ref}</code>
            </span>
          )}
        </div>
        <div class="detail">
          {fork ? (
            <>
              from <code class="url" data-testid="head-repo">{fork.head_repo_url}</code> at <code title={fork.head_sha}>{fork.head_sha.slice(0, 12)}</code>, by{" "}
              <strong data-testid="author">{fork.author ?? "an unknown author"}</strong>
              {fork.maintainer && " (maintainer)"}
            </>
          ) : (
            <>held for approval when it was started{a.sha && <> at <code>{a.sha.slice(0, 12)}</code></>}</>
          )}
        </div>
        <div class="hint">
          waiting <time dateTime={a.waiting_since} title={when(a.waiting_since)} data-testid="waiting">{elapsed(waited)}</time>, since {when(a.waiting_since)}
          {!a.may_approve && <> · you have the {a.role} role here; write access is needed to approve</>}
        </div>
      </div>
      {a.may_approve && <DecisionButtons busy={busy} onDecide={onDecide} />}
    </li>
  );
}

/** A run decided here, its status followed until it ends (an approved run goes on to succeed or fail). */
function DecidedRun({ entry, what, run: answered }: Decided) {
  const { value } = usePolled(() => api.workflows.get(answered.id), REFRESH_MS, [answered.id], (r) => RUN_ENDED.includes(r.status));
  const run = value ?? answered;
  return (
    <li data-run={run.id} data-decision={what}>
      <StatusBadge status={run.status} /> {what === "approve" ? "Approved" : "Declined"} <a href={`/workflows/${run.id}`}>{entry.run_name}</a> in {entry.project_name}
      {entry.fork_pr && <> (pull request #{entry.fork_pr.pr_number})</>}
    </li>
  );
}

export function ApprovalsPage() {
  const { value: list, error, refresh } = usePolled(() => api.approvals.list(), REFRESH_MS, []);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [decided, setDecided] = useState<Decided[]>([]);

  const decide = async (entry: AwaitingApproval, what: "approve" | "decline") => {
    setBusy(entry.run_id);
    setActionError(null);
    try {
      const run = await api.workflows[what](entry.run_id);
      setDecided((d) => [{ entry, what, run }, ...d.filter((x) => x.entry.run_id !== entry.run_id)]);
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(null);
      approvalsChanged.dispatchEvent(new Event("change"));
      // Approving one run starts every run of the same pull request and commits: the list says which are left.
      refresh();
    }
  };
  const waiting = (list?.approvals ?? []).filter((a) => !decided.some((d) => d.entry.run_id === a.run_id));
  return (
    <section class="approvals-page">
      <h1>Approvals</h1>
      <p class="hint">Runs of fork pull requests wait here, in the projects you are a member of, until someone with write access approves or declines them. Approved, a run's jobs run the fork's code untrusted, with only the project's fork_pr_secrets.</p>
      <ErrorNote error={actionError} />
      <ErrorNote error={error} />
      {list && waiting.length === 0 && (
        <p class="empty" data-testid="nothing-waiting">
          Nothing is waiting for approval.
        </p>
      )}
      {waiting.length > 0 && (
        <ul class="approval-list">
          {waiting.map((a) => (
            <Entry key={a.run_id} a={a} busy={busy !== null} onDecide={(what) => decide(a, what)} />
          ))}
        </ul>
      )}
      {list?.next_offset != null && <p class="hint">Showing the {list.approvals.length} longest waiting.</p>}
      {decided.length > 0 && (
        <>
          <h2>Decided on this page</h2>
          <ul class="decided" data-testid="decided">
            {decided.map((d) => (
              <DecidedRun key={d.run.id} {...d} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
