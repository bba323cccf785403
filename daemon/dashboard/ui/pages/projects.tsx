import { useEffect, useState } from "preact/hooks";
import { api, type Project } from "../api.ts";
import { ErrorNote } from "../components.tsx";
import { useSession } from "../session.ts";

export function ProjectsPage() {
  const { info } = useSession();
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.projects.list().then((r) => setProjects(r.projects), setError);
  }, []);
  const role = (id: string) => (info.is_admin ? "admin" : (info.projects.find((p) => p.id === id)?.role ?? "—"));
  return (
    <section>
      <h1>Projects</h1>
      <ErrorNote error={error} />
      {projects && projects.length === 0 && <p class="empty">You are not a member of any project yet.</p>}
      {projects && projects.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Project</th>
              <th class="wide">Repository</th>
              <th>Your role</th>
            </tr>
          </thead>
          <tbody>
            {projects.map((p) => (
              <tr key={p.id}>
                <td>
                  <a href={`/projects/${encodeURIComponent(p.name)}`}>{p.name}</a>
                </td>
                <td class="wide">{p.repo_url ?? "—"}</td>
                <td>{role(p.id)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
