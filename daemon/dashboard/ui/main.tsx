import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { LocationProvider, Route, Router, useLocation } from "preact-iso";
import { api, ApiFailure, setCsrf, whenSignedOut, type SessionInfo } from "./api.ts";
import { ErrorNote } from "./components.tsx";
import { ApprovalsPage, WaitingCount } from "./pages/approvals.tsx";
import { JobPage } from "./pages/job.tsx";
import { JobsPage } from "./pages/jobs.tsx";
import { ProjectPage } from "./pages/project.tsx";
import { ProjectsPage } from "./pages/projects.tsx";
import { SignIn } from "./pages/signin.tsx";
import { WorkflowPage } from "./pages/workflow.tsx";
import { WorkflowsPage } from "./pages/workflows.tsx";
import { SessionContext } from "./session.ts";
import "./styles.css";

function NotFound() {
  return <p class="empty">No such page. <a href="/">Back to the jobs</a>.</p>;
}

/** The sections; the one the page belongs to is marked (aria-current) for eyes and screen readers alike. */
const SECTIONS = [
  ["/", "Jobs", /^\/($|jobs)/],
  ["/workflows", "Workflows", /^\/workflows/],
  ["/approvals", "Approvals", /^\/approvals/],
  ["/projects", "Projects", /^\/projects/],
] as const;

function Nav() {
  const { path } = useLocation();
  return (
    <nav>
      {SECTIONS.map(([href, label, match]) => (
        <a href={href} aria-current={match.test(path) ? "page" : undefined}>
          {label}
          {href === "/approvals" && <WaitingCount />}
        </a>
      ))}
    </nav>
  );
}

function App() {
  const [info, setInfo] = useState<SessionInfo | null | undefined>(undefined);
  const [ended, setEnded] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  // A 401 ends a session only if there was one: a first visit's session check answers 401 too.
  const signedIn = useRef(false);
  const adopt = (next: SessionInfo | null) => {
    signedIn.current = next !== null;
    setCsrf(next?.csrf_token ?? null);
    setInfo(next);
  };
  useEffect(() => {
    whenSignedOut(() => {
      if (!signedIn.current) return;
      setEnded("Your session has ended or expired; sign in again.");
      adopt(null);
    });
    api.session
      .get()
      .then(adopt)
      .catch((e) => (e instanceof ApiFailure && e.status === 401 ? adopt(null) : setError(e)));
  }, []);

  if (error) return <ErrorNote error={error} />;
  if (info === undefined) return <p class="empty">Loading…</p>;
  if (info === null) return <SignIn notice={ended} onSignedIn={(s) => (setEnded(null), adopt(s))} />;

  const signOut = () => {
    void api.session.signOut().finally(() => adopt(null));
  };
  return (
    <SessionContext.Provider value={{ info, signOut }}>
      <LocationProvider>
        <header class="top">
          <a class="brand" href="/">Reactorcide</a>
          <Nav />
          <span class="who">
            <span data-testid="user">{info.user}</span>
            {info.is_admin && <span class="tag">admin</span>}
            <button type="button" class="link" onClick={signOut}>Sign out</button>
          </span>
        </header>
        <main>
          <Router>
            <Route path="/" component={JobsPage} />
            <Route path="/jobs" component={JobsPage} />
            <Route path="/jobs/:id" component={JobPage} />
            <Route path="/workflows" component={WorkflowsPage} />
            <Route path="/workflows/:id" component={WorkflowPage} />
            <Route path="/approvals" component={ApprovalsPage} />
            <Route path="/projects" component={ProjectsPage} />
            <Route path="/projects/:name" component={ProjectPage} />
            <Route default component={NotFound} />
          </Router>
        </main>
      </LocationProvider>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById("app")!);
