import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api, JOB_STATUSES, type JobList } from "../api.ts";
import { duration, ErrorNote, StatusBadge, when } from "../components.tsx";
import { projectName, useSession } from "../session.ts";

/** How often the list is read again, so statuses change without a reload. */
const REFRESH_MS = 1500;
const PAGE = 50;

export function JobsPage() {
  const { info } = useSession();
  const { query, path, route } = useLocation();
  const project = query.project ?? "";
  const status = query.status ?? "";
  const name = query.name ?? "";
  const offset = Number(query.offset ?? 0) || 0;
  const [list, setList] = useState<JobList | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [nameInput, setNameInput] = useState(name);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const next = await api.jobs.list({ project, status, name, limit: PAGE, offset });
        if (!stopped) (setList(next), setError(null));
      } catch (e) {
        if (!stopped) setError(e);
      }
      if (!stopped) timer = setTimeout(load, REFRESH_MS);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [project, status, name, offset]);

  const go = (changes: Record<string, string>) => {
    const next = new URLSearchParams({ project, status, name, ...changes });
    for (const [k, v] of [...next]) if (!v) next.delete(k);
    const s = next.toString();
    route(`${path}${s ? `?${s}` : ""}`);
  };

  return (
    <section>
      <h1>Jobs</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go({ name: nameInput.trim(), offset: "" });
        }}
      >
        <label>
          Project
          <select name="project" value={project} onChange={(e) => go({ project: e.currentTarget.value, offset: "" })}>
            <option value="">all</option>
            {info.projects.map((p) => (
              <option value={p.name}>{p.name}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select name="status" value={status} onChange={(e) => go({ status: e.currentTarget.value, offset: "" })}>
            <option value="">any</option>
            {JOB_STATUSES.map((s) => (
              <option value={s}>{s.replace("_", " ")}</option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input name="name" value={nameInput} onInput={(e) => setNameInput(e.currentTarget.value)} placeholder="job name" />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorNote error={error} />
      {list && list.jobs.length === 0 && <p class="empty">No jobs{project || status || name ? " match these filters" : " yet"}.</p>}
      {list && list.jobs.length > 0 && (
        <table class="jobs">
          <thead>
            <tr>
              <th>Status</th>
              <th>Job</th>
              <th class="wide">Project</th>
              <th class="wide">Started</th>
              <th>Duration</th>
            </tr>
          </thead>
          <tbody>
            {list.jobs.map((j) => (
              <tr key={j.id} data-job={j.id}>
                <td>
                  <StatusBadge status={j.status} />
                </td>
                <td>
                  <a href={`/jobs/${j.id}`} class="job-name">{j.name}</a>
                  {j.attempt > 1 && <span class="tag">attempt {j.attempt}</span>}
                </td>
                <td class="wide">{projectName(info, j.project_id)}</td>
                <td class="wide">{when(j.started_at ?? j.created_at)}</td>
                <td>{duration(j.started_at, j.finished_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="pager">
        {offset > 0 && (
          <button type="button" onClick={() => go({ offset: String(Math.max(0, offset - PAGE)) })}>
            Newer
          </button>
        )}
        {list?.next_offset != null && (
          <button type="button" onClick={() => go({ offset: String(list.next_offset) })}>
            Older
          </button>
        )}
      </div>
    </section>
  );
}
