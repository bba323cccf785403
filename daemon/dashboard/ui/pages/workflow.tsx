import dagre from "@dagrejs/dagre";
import { useMemo, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api, type ForkPr, NODE_RETRYABLE, RUN_ENDED, type WorkflowNode } from "../api.ts";
import { DecisionButtons, duration, ErrorNote, Field, StatusBadge, when } from "../components.tsx";
import { usePolled } from "../hooks.ts";
import { can, projectName, useSession } from "../session.ts";

const NODE_W = 170;
const NODE_H = 44;

/** The run as a graph: one box per job coloured by status, an edge per depends_on; laid out by dagre (left to right). */
function RunGraph({ nodes }: { nodes: WorkflowNode[] }) {
  const shape = nodes.map((n) => `${n.name}<${n.depends_on.join(",")}`).join(";");
  const layout = useMemo(() => {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 56, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of nodes) g.setNode(n.name, { width: NODE_W, height: NODE_H });
    for (const n of nodes) for (const d of n.depends_on) if (g.hasNode(d)) g.setEdge(d, n.name);
    dagre.layout(g);
    const graph = g.graph();
    return {
      width: Math.max(graph.width ?? 0, NODE_W),
      height: Math.max(graph.height ?? 0, NODE_H),
      at: new Map(g.nodes().map((name) => [name, g.node(name)] as const)),
      edges: g.edges().map((e) => ({ from: e.v, to: e.w, points: (g.edge(e).points ?? []) as { x: number; y: number }[] })),
    };
  }, [shape]);
  return (
    <div class="graph" data-testid="graph">
      <svg width={layout.width} height={layout.height} viewBox={`0 0 ${layout.width} ${layout.height}`} role="img" aria-label="workflow graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="edge-head" />
          </marker>
        </defs>
        {layout.edges.map((e) => (
          <path key={`${e.from}->${e.to}`} class="edge" data-edge={`${e.from}->${e.to}`} marker-end="url(#arrow)" d={e.points.map((p, i) => `${i ? "L" : "M"} ${p.x} ${p.y}`).join(" ")} />
        ))}
        {nodes.map((n) => {
          const at = layout.at.get(n.name);
          if (!at) return null;
          const box = (
            <g class={`node node-${n.status}`} data-node={n.name} data-status={n.status} transform={`translate(${at.x - NODE_W / 2}, ${at.y - NODE_H / 2})`}>
              <rect width={NODE_W} height={NODE_H} rx="7" />
              <text x="10" y="18" class="node-name">{n.name.length > 22 ? `${n.name.slice(0, 21)}…` : n.name}</text>
              <text x="10" y="34" class="node-status">{n.status.replace("_", " ")}</text>
              <title>{n.reason ? `${n.name}: ${n.status} (${n.reason})` : `${n.name}: ${n.status}`}</title>
            </g>
          );
          return n.job_id ? (
            <a key={n.name} href={`/jobs/${n.job_id}`}>
              {box}
            </a>
          ) : (
            <g key={n.name}>{box}</g>
          );
        })}
      </svg>
    </div>
  );
}

const short = (sha: string) => sha.slice(0, 12);

/** A fork pull request's run: which PR, whose, at which commits; awaiting approval, or who decided and how. */
function ForkPrNotice({ fork, awaiting, mayWrite, busy, onDecide }: { fork: ForkPr; awaiting: boolean; mayWrite: boolean; busy: boolean; onDecide(what: "approve" | "decline"): void }) {
  const decided = fork.approval;
  return (
    <div class={`fork-pr${awaiting ? " awaiting" : ""}`} data-testid="fork-pr">
      <p>
        <strong>{awaiting ? "Awaiting approval" : "Fork pull request"}</strong>: pull request <strong>#{fork.pr_number}</strong> by {fork.author ?? "an unknown author"}
        {fork.maintainer ? " (maintainer)" : ""} from <code>{fork.head_repo_url}</code>, head <code data-testid="head-sha">{short(fork.head_sha)}</code>, base{" "}
        <code data-testid="base-sha">{short(fork.base_sha)}</code>.
      </p>
      {awaiting && <p>No job of it starts until someone with write access approves it; approved, its jobs run the fork's code untrusted, with only the project's fork_pr_secrets.</p>}
      {decided && (
        <p data-testid="approval" data-decision={decided.decision}>
          {decided.decision === "approved" ? "Approved" : "Declined"} by <strong>{decided.by}</strong> {decided.via === "comment" ? "in a pull request comment" : "through the API or dashboard"}, {when(decided.at)}.
        </p>
      )}
      {awaiting && mayWrite && <DecisionButtons busy={busy} onDecide={onDecide} />}
    </div>
  );
}

export function WorkflowPage({ id }: { id: string }) {
  return <WorkflowView key={id} id={id} />;
}

function WorkflowView({ id }: { id: string }) {
  const { info } = useSession();
  const { route } = useLocation();
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Read again every second while the run goes on (and anew after an action).
  const { value: run, error, setValue: setRun, refresh } = usePolled(() => api.workflows.get(id), 1000, [id], (r) => RUN_ENDED.includes(r.status) && r.nodes.every((n) => !["waiting", "queued", "running"].includes(n.status)));

  if (error && !run) return <ErrorNote error={error} />;
  if (!run) return <p class="empty">Loading…</p>;
  const mayWrite = can(info, run.project_id, "write");
  const ended = RUN_ENDED.includes(run.status);
  const act = async (what: "cancel" | "retry" | "retryFailed" | "approve" | "decline") => {
    setBusy(true);
    setActionError(null);
    try {
      const result = await api.workflows[what](run.id);
      if (what === "retry") route(`/workflows/${result.id}`);
      else (setRun(result), refresh());
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="workflow">
      <div class="job-head">
        <h1>
          <StatusBadge status={run.status} /> <span class="job-name">{run.name}</span>
        </h1>
        <div class="actions">
          {mayWrite && !ended && (
            <button type="button" class="danger" disabled={busy} onClick={() => act("cancel")}>
              Cancel run
            </button>
          )}
          {mayWrite && ended && run.nodes.some((n) => NODE_RETRYABLE.includes(n.status)) && (
            <button type="button" disabled={busy} onClick={() => act("retryFailed")}>
              Retry failed
            </button>
          )}
          {mayWrite && ended && (
            <button type="button" disabled={busy} onClick={() => act("retry")}>
              Retry run
            </button>
          )}
        </div>
      </div>
      <ErrorNote error={actionError} />
      {run.fork_pr && <ForkPrNotice fork={run.fork_pr} awaiting={run.status === "awaiting_approval"} mayWrite={mayWrite} busy={busy} onDecide={act} />}
      {run.status === "awaiting_approval" && !run.fork_pr && <p class="notice">This run waits for a maintainer's approval before any job starts.</p>}
      <dl class="facts">
        <Field label="Project">
          <a href={`/projects/${encodeURIComponent(projectName(info, run.project_id))}`}>{projectName(info, run.project_id)}</a>
        </Field>
        <Field label="Event">{run.event ?? "manual"}</Field>
        <Field label="Ref">{run.ref ? <code>{run.ref}</code> : "—"}</Field>
        <Field label="Commit">{run.sha ? <code>{run.sha.slice(0, 12)}</code> : "—"}</Field>
        <Field label="Started">{when(run.created_at)}</Field>
        <Field label="Duration">{duration(run.created_at, run.finished_at)}</Field>
        {run.retry_of && (
          <Field label="Retry of">
            <a href={`/workflows/${run.retry_of}`}>{run.retry_of.slice(0, 8)}</a>
          </Field>
        )}
        {run.reason && <Field label="Reason">{run.reason}</Field>}
      </dl>
      <RunGraph nodes={run.nodes} />
      <table class="nodes">
        <thead>
          <tr>
            <th>Status</th>
            <th>Job</th>
            <th class="wide">Depends on</th>
            <th class="wide">Reason</th>
          </tr>
        </thead>
        <tbody>
          {run.nodes.map((n) => (
            <tr key={n.name}>
              <td>
                <StatusBadge status={n.status} />
              </td>
              <td>{n.job_id ? <a href={`/jobs/${n.job_id}`}>{n.name}</a> : n.name}</td>
              <td class="wide">{n.depends_on.join(", ") || "—"}</td>
              <td class="wide">{n.reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
