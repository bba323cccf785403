import { useState } from "preact/hooks";
import { api, JOB_STATUSES } from "../api.ts";
import { duration, ErrorNote, ProjectStatusFilters, StatusBadge, when } from "../components.tsx";
import { usePolled, useQueryFilters } from "../hooks.ts";
import { projectName, useSession } from "../session.ts";

/** How often the list is read again, so statuses change without a reload. */
const REFRESH_MS = 1500;
const PAGE = 50;

export function JobsPage() {
  const { info } = useSession();
  const { values, offset, go } = useQueryFilters(["project", "status", "name"] as const);
  const { project, status, name } = values;
  const [nameInput, setNameInput] = useState(name);
  const { value: list, error } = usePolled(() => api.jobs.list({ project, status, name, limit: PAGE, offset }), REFRESH_MS, [project, status, name, offset]);

  return (
    <section>
      <h1>Jobs</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go({ name: nameInput.trim() });
        }}
      >
        <ProjectStatusFilters project={project} status={status} statuses={JOB_STATUSES} onChange={go} />
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
