import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { textLine, type LogStreamName } from "../../../../runner/protocol/log-line.ts";
import { api, TERMINAL, type Job } from "../api.ts";
import { duration, elapsed, ErrorNote, Field, StatusBadge, when } from "../components.tsx";
import { usePolled } from "../hooks.ts";
import { plainText } from "../log/ansi.ts";
import { LogView } from "../log/log-view.tsx";
import { can, projectName, useSession } from "../session.ts";

const lineFromHash = () => {
  const m = /^#L(\d+)$/.exec(location.hash);
  return m ? Number(m[1]) : null;
};

/** The job's log: what is stored now (one text read), then followed live over SSE until the job ends. */
function useJobLog(jobId: string, ended: boolean | undefined) {
  const lines = useRef<string[]>([]);
  const [version, setVersion] = useState(0);
  const [state, setState] = useState<"loading" | "live" | "done" | "error">("loading");
  const [error, setError] = useState<unknown>(null);
  const endedAtStart = useRef<boolean | undefined>(undefined);
  if (endedAtStart.current === undefined && ended !== undefined) endedAtStart.current = ended;

  useEffect(() => {
    if (endedAtStart.current === undefined) return;
    let source: EventSource | undefined;
    let frame = 0;
    let closed = false;
    const flush = () => {
      frame = 0;
      setVersion((v) => v + 1);
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(flush);
    };
    lines.current = [];
    void (async () => {
      try {
        const text = await api.jobs.logText(jobId);
        if (closed) return;
        const got = text.split("\n");
        if (got.at(-1) === "") got.pop();
        lines.current.push(...got);
        setVersion((v) => v + 1);
        if (endedAtStart.current) return setState("done");
        source = new EventSource(api.jobs.followUrl(jobId, lines.current.length));
        // "live" once the stream is open (and again after a reconnect), not when it is only asked for.
        source.onopen = () => setState((s) => (s === "done" ? s : "live"));
        source.addEventListener("line", (e) => {
          const data = JSON.parse((e as MessageEvent<string>).data) as { seq: number; stream: LogStreamName; line: string };
          // The stream resumes after the text read; a reconnect resends from Last-Event-ID.
          if (data.seq <= lines.current.length) return;
          // As the text log shows it: the worker's own lines behind [reactorcide].
          lines.current.push(textLine(data.stream, data.line));
          schedule();
        });
        source.addEventListener("end", () => {
          source?.close();
          setState("done");
          schedule();
        });
        source.onerror = () => {
          if (source?.readyState === EventSource.CLOSED) setState("error");
        };
      } catch (e) {
        if (!closed) (setError(e), setState("error"));
      }
    })();
    return () => {
      closed = true;
      source?.close();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [jobId, endedAtStart.current]);

  return { lines: lines.current, version, state, error };
}

/**
 * A job of steps: each step as the job defines it, with what became of it once the job ended (the
 * runner's report, through the worker). A step's name finds its lines in the log.
 */
function StepsTable({ job, ended, onFind }: { job: Job; ended: boolean; onFind(name: string): void }) {
  const results = new Map((job.step_results ?? []).map((r) => [r.name, r]));
  const pending = ended ? "not reported" : "—";
  return (
    <table class="steps" data-testid="steps">
      <thead>
        <tr>
          <th>Step</th>
          <th>Status</th>
          <th>Duration</th>
          <th>Exit</th>
          <th class="wide">Runs</th>
        </tr>
      </thead>
      <tbody>
        {job.steps!.map((step) => {
          const r = results.get(step.name);
          const after = [step.depends_on?.length ? `after ${step.depends_on.join(", ")}` : "", step.if ? `if ${step.if}` : ""].filter(Boolean).join(" · ");
          return (
            <tr key={step.name} data-step={step.name} data-status={r?.status ?? ""}>
              <td>
                <button type="button" class="link" onClick={() => onFind(step.name)} title="find this step's lines in the log">
                  {step.name}
                </button>
                {step.parallel && <span class="tag">parallel</span>}
                {after && <div class="hint">{after}</div>}
              </td>
              <td>
                {r ? <StatusBadge status={r.status} /> : <span class="hint">{pending}</span>}
                {r?.timed_out && <span class="tag">timed out</span>}
                {r?.continued_on_error && <span class="tag">ignored</span>}
                {r?.reason && r.status !== "success" && r.reason !== `if: ${step.if}` && <div class="hint">{r.reason}</div>}
              </td>
              <td>{r?.started_at ? elapsed(r.duration_ms) : "—"}</td>
              <td>{r?.exit_code ?? "—"}</td>
              <td class="wide">
                <code class="clip" title={step.run}>{step.run}</code>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Keyed by the id, so moving to another job (a retry) starts its page afresh. */
export function JobPage({ id }: { id: string }) {
  return <JobView key={id} id={id} />;
}

function JobView({ id }: { id: string }) {
  const { info } = useSession();
  const { route } = useLocation();
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [follow, setFollow] = useState(lineFromHash() === null);
  const [selected, setSelected] = useState<number | null>(lineFromHash());
  const [query, setQuery] = useState("");
  const [current, setCurrent] = useState(0);
  // A #L link followed while the page is open (the address bar, a link in the page).
  useEffect(() => {
    const onHash = () => {
      const n = lineFromHash();
      if (n !== null) (setSelected(n), setFollow(false));
    };
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  // The job itself, read again while it has not ended.
  const { value: job, error, setValue: setJob, setError } = usePolled(() => api.jobs.get(id), 1000, [id], (j) => TERMINAL.includes(j.status));

  const ended = job ? TERMINAL.includes(job.status) : undefined;
  const log = useJobLog(id, ended);
  // The log's end event arrives before the next poll: read the job's final state at once.
  useEffect(() => {
    if (log.state === "done" && job && !TERMINAL.includes(job.status)) void api.jobs.get(id).then(setJob, setError);
  }, [log.state]);

  const needle = query.trim().toLowerCase();
  const matches = useMemo(() => {
    if (!needle) return [];
    const found: number[] = [];
    log.lines.forEach((l, i) => {
      if (plainText(l).toLowerCase().includes(needle)) found.push(i + 1);
    });
    return found;
  }, [needle, log.version]);
  const currentLine = matches.length ? matches[Math.min(current, matches.length - 1)]! : null;
  const step = (by: number) => {
    if (!matches.length) return;
    setFollow(false);
    setCurrent((c) => (c + by + matches.length) % matches.length);
  };

  if (error && !job) return <ErrorNote error={error} />;
  if (!job) return <p class="empty">Loading…</p>;
  const mayWrite = can(info, job.project_id, "write");
  const act = async (what: "cancel" | "retry") => {
    setBusy(true);
    setActionError(null);
    try {
      const result = await api.jobs[what](job.id);
      if (what === "retry") route(`/jobs/${result.id}`);
      else setJob(result);
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  };
  const select = (n: number) => {
    setSelected(n);
    setFollow(false);
    history.replaceState(null, "", `#L${n}`);
  };

  return (
    <section class="job">
      <div class="job-head">
        <h1>
          <StatusBadge status={job.status} /> <span class="job-name">{job.name}</span>
          {job.attempt > 1 && <span class="tag">attempt {job.attempt}</span>}
        </h1>
        <div class="actions">
          {mayWrite && !ended && (
            <button type="button" class="danger" disabled={busy} onClick={() => act("cancel")}>
              Cancel
            </button>
          )}
          {mayWrite && ended && (
            <button type="button" disabled={busy} onClick={() => act("retry")}>
              Retry
            </button>
          )}
        </div>
      </div>
      <ErrorNote error={actionError} />
      <dl class="facts">
        <Field label="Project">
          <a href={`/projects/${encodeURIComponent(projectName(info, job.project_id))}`}>{projectName(info, job.project_id)}</a>
        </Field>
        <Field label="Created">{when(job.created_at)}</Field>
        <Field label="Started">{when(job.started_at)}</Field>
        <Field label="Finished">{when(job.finished_at)}</Field>
        <Field label="Duration">{duration(job.started_at, job.finished_at)}</Field>
        <Field label="Exit code">{job.exit_code ?? "—"}</Field>
        <Field label="Image">
          <code>{job.image}</code>
        </Field>
        <Field label="Worker">{job.worker_id ?? "—"}</Field>
        <Field label="Source">
          {job.source ? (
            <code>
              {job.source.type} {job.source.url ?? ""} {job.source.ref ? `@ ${job.source.ref}` : ""}
            </code>
          ) : (
            "—"
          )}
        </Field>
        <Field label="Commit">{job.env.REACTORCIDE_SHA ? <code data-testid="commit" title={job.env.REACTORCIDE_SHA}>{job.env.REACTORCIDE_SHA.slice(0, 12)}</code> : "—"}</Field>
        {job.workflow_run_id && (
          <Field label="Workflow run">
            <a href={`/workflows/${job.workflow_run_id}`} data-testid="job-run">{job.workflow_run_id.slice(0, 8)}</a>
            {job.parent_job_id && (
              <>
                {" "}
                · after <a href={`/jobs/${job.parent_job_id}`}>{job.parent_job_id.slice(0, 8)}</a>
              </>
            )}
          </Field>
        )}
        <Field label="Job code">
          {job.ci_source ? (
            <code>
              {job.ci_source.type} {job.ci_source.url ?? ""} {job.ci_source.ref ? `@ ${job.ci_source.ref}` : ""}
            </code>
          ) : (
            "—"
          )}
        </Field>
        {job.retry_of && (
          <Field label="Retry of">
            <a href={`/jobs/${job.retry_of}`}>{job.retry_of.slice(0, 8)}</a>
          </Field>
        )}
        {job.reason && <Field label="Reason">{job.reason}</Field>}
      </dl>
      {job.steps && job.steps.length > 0 && <StepsTable job={job} ended={ended === true} onFind={(name) => (setQuery(name), setCurrent(0), setFollow(false))} />}
      <details class="command">
        <summary>Command</summary>
        <pre>{job.command}</pre>
      </details>
      <div class="log-bar">
        <label class="toggle">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> Follow
        </label>
        <form
          class="search"
          onSubmit={(e) => {
            e.preventDefault();
            step(1);
          }}
        >
          <input
            type="search"
            placeholder="Search the log"
            aria-label="Search the log"
            value={query}
            onInput={(e) => {
              setQuery(e.currentTarget.value);
              setCurrent(0);
              setFollow(false);
            }}
          />
          <span class="count" data-testid="matches">
            {needle ? (matches.length ? `${Math.min(current, matches.length - 1) + 1} of ${matches.length}` : "no match") : ""}
          </span>
          <button type="button" onClick={() => step(-1)} disabled={!matches.length} aria-label="Previous match">
            ↑
          </button>
          <button type="submit" disabled={!matches.length} aria-label="Next match">
            ↓
          </button>
        </form>
        <span class="log-state" data-testid="log-state">
          {log.lines.length} lines{log.state === "live" ? " · live" : ""}
        </span>
        <a class="button" href={api.jobs.logUrl(job.id)} download={`${job.name}-${job.id.slice(0, 8)}.log`}>
          Raw log
        </a>
      </div>
      <ErrorNote error={log.error} />
      <LogView
        lines={log.lines}
        version={log.version}
        follow={follow}
        onFollowChange={setFollow}
        matches={matches}
        current={currentLine}
        selected={selected}
        onSelect={select}
      />
    </section>
  );
}
