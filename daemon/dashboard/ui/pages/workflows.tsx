import { api, RUN_STATUSES } from "../api.ts";
import { duration, ErrorNote, ProjectStatusFilters, StatusBadge, when } from "../components.tsx";
import { usePolled, useQueryFilters } from "../hooks.ts";
import { projectName, useSession } from "../session.ts";

export function WorkflowsPage() {
  const { info } = useSession();
  const { values, go } = useQueryFilters(["project", "status"] as const);
  const { project, status } = values;
  const { value: list, error } = usePolled(() => api.workflows.list({ project, status, limit: 50 }), 2000, [project, status]);
  const runs = list?.workflows ?? null;
  return (
    <section>
      <h1>Workflows</h1>
      <div class="filters">
        <ProjectStatusFilters project={project} status={status} statuses={RUN_STATUSES} onChange={go} />
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
                  {r.fork_pr && (
                    <span class="tag" data-testid="fork-tag">
                      fork PR #{r.fork_pr.pr_number}
                      {r.status === "awaiting_approval" ? ": needs approval" : ""}
                    </span>
                  )}
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
