import { useEffect, useState } from "preact/hooks";
import { api, ApiFailure, type Project, type ProjectRole, type ProjectUpdate } from "../api.ts";
import { ErrorNote, Field, when } from "../components.tsx";
import { useListed, usePolled } from "../hooks.ts";
import { can, useSession } from "../session.ts";
import { Notifications } from "./notifications.tsx";

const ROLES: ProjectRole[] = ["read", "write", "admin"];
const POLICIES = [
  ["never", "never: fork pull requests do not run"],
  ["approval", "approval: a maintainer approves each head commit first"],
  ["always", "always: run fork pull requests (without secrets unless granted)"],
] as const;

type Editable = "repo_url" | "default_branch" | "default_image" | "ci_source_url" | "ci_source_ref";
const FIELDS: [Editable, string][] = [
  ["repo_url", "Repository URL"],
  ["default_branch", "Default branch"],
  ["default_image", "Default image"],
  ["ci_source_url", "Job code URL (trusted, /job/ci)"],
  ["ci_source_ref", "Job code ref"],
];

const NETWORKS = [
  ["default", "default: the runtime's network"],
  ["none", "none: no network (loopback only)"],
] as const;

/** Secret names as typed: separated by commas or new lines (a name with a space in it reaches the API, which says why not). */
const secretList = (text: string) => text.split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A 400 naming this field (or an item of it, "fork_pr_secrets.0") shows beside the field. */
const fieldOf = (error: unknown) => (error instanceof ApiFailure && error.status === 400 ? error.field?.split(".")[0] : undefined);

const SHOWN_BESIDE = new Set<string>([...FIELDS.map(([k]) => k), "fork_pr_policy", "fork_pr_trust_maintainers", "fork_pr_secrets", "fork_pr_network"]);

function Settings({ project, admin, onSaved }: { project: Project; admin: boolean; onSaved(p: Project): void }) {
  const [draft, setDraft] = useState<Record<string, string>>({});
  const [policy, setPolicy] = useState(project.fork_pr_policy);
  const [trust, setTrust] = useState(project.fork_pr_trust_maintainers);
  const [secrets, setSecrets] = useState<string | null>(null);
  const [network, setNetwork] = useState(project.fork_pr_network);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const errorField = fieldOf(error);
  const beside = (key: string) => (errorField === key ? <ErrorNote error={error} /> : null);
  /** Editing the field an error names takes that error away: it was about the old value. */
  const edited = (key: string) => errorField === key && setError(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const changes: ProjectUpdate = {};
    for (const [k, v] of Object.entries(draft)) if (v !== (project[k as Editable] ?? "")) changes[k as Editable] = v;
    if (policy !== project.fork_pr_policy) changes.fork_pr_policy = policy;
    if (trust !== project.fork_pr_trust_maintainers) changes.fork_pr_trust_maintainers = trust;
    if (network !== project.fork_pr_network) changes.fork_pr_network = network;
    if (secrets !== null && !sameList(secretList(secrets), project.fork_pr_secrets)) changes.fork_pr_secrets = secretList(secrets);
    try {
      const next = await api.projects.update(project.name, changes);
      setDraft({});
      setSecrets(null);
      setSaved(true);
      onSaved(next);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="settings" onSubmit={save}>
      <h2>Settings</h2>
      {FIELDS.map(([key, label]) => (
        <label key={key}>
          {label}
          <input name={key} disabled={!admin} value={draft[key] ?? project[key] ?? ""} onInput={(e) => (edited(key), setDraft({ ...draft, [key]: e.currentTarget.value }))} />
          {beside(key)}
        </label>
      ))}
      <fieldset class="fork-settings">
        <legend>Fork pull requests</legend>
        <label>
          Policy
          <select name="fork_pr_policy" disabled={!admin} value={policy} onChange={(e) => (edited("fork_pr_policy"), setPolicy(e.currentTarget.value as Project["fork_pr_policy"]))}>
            {POLICIES.map(([value, label]) => (
              <option value={value}>{label}</option>
            ))}
          </select>
          {beside("fork_pr_policy")}
        </label>
        <label class="check">
          <span>
            <input type="checkbox" name="fork_pr_trust_maintainers" disabled={!admin} checked={trust} onChange={(e) => (edited("fork_pr_trust_maintainers"), setTrust(e.currentTarget.checked))} /> A maintainer's fork pull
            request needs no approval
          </span>
          {beside("fork_pr_trust_maintainers")}
        </label>
        <label>
          Secrets an approved fork pull request may get (names, comma separated; none by default)
          <input
            name="fork_pr_secrets"
            disabled={!admin}
            placeholder={admin ? "e.g. NPM_TOKEN, DEPLOY_KEY" : "none"}
            value={secrets ?? project.fork_pr_secrets.join(", ")}
            onInput={(e) => (edited("fork_pr_secrets"), setSecrets(e.currentTarget.value))}
          />
          {beside("fork_pr_secrets")}
        </label>
        <label>
          Network of a fork pull request's jobs
          <select name="fork_pr_network" disabled={!admin} value={network} onChange={(e) => (edited("fork_pr_network"), setNetwork(e.currentTarget.value as Project["fork_pr_network"]))}>
            {NETWORKS.map(([value, label]) => (
              <option value={value}>{label}</option>
            ))}
          </select>
          {beside("fork_pr_network")}
        </label>
      </fieldset>
      {admin ? <button type="submit">Save settings</button> : <p class="hint">Only a project admin can change these.</p>}
      {saved && <p class="notice">Saved.</p>}
      {!(errorField && SHOWN_BESIDE.has(errorField)) && <ErrorNote error={error} />}
    </form>
  );
}

function Members({ project, admin }: { project: Project; admin: boolean }) {
  const { items: members, error, run } = useListed(() => api.projects.members(project.name).then((r) => r.members), [project.name]);
  const [user, setUser] = useState("");
  const [role, setRole] = useState<ProjectRole>("read");
  return (
    <div class="card members-card">
      <h2>Members</h2>
      <ErrorNote error={error} />
      <table>
        <tbody>
          {members?.map((m) => (
            <tr key={m.user}>
              <td>{m.user}</td>
              <td>
                {admin ? (
                  <select aria-label={`role of ${m.user}`} value={m.role} onChange={(e) => run(() => api.projects.setMember(project.name, m.user, e.currentTarget.value as ProjectRole))}>
                    {ROLES.map((r) => (
                      <option value={r}>{r}</option>
                    ))}
                  </select>
                ) : (
                  m.role
                )}
              </td>
              {admin && (
                <td>
                  <button type="button" class="link danger" onClick={() => run(() => api.projects.removeMember(project.name, m.user))}>
                    Remove
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {admin && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => api.projects.setMember(project.name, user.trim(), role)).then((ok) => ok && setUser(""));
          }}
        >
          <input placeholder="user name" aria-label="user name" value={user} required onInput={(e) => setUser(e.currentTarget.value)} />
          <select aria-label="role" value={role} onChange={(e) => setRole(e.currentTarget.value as ProjectRole)}>
            {ROLES.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
          <button type="submit">Add member</button>
        </form>
      )}
    </div>
  );
}

function Secrets({ project, admin }: { project: Project; admin: boolean }) {
  const { items: secrets, error, run } = useListed(() => api.projects.secrets(project.name).then((r) => r.secrets), [project.name]);
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  return (
    <div class="card">
      <h2>Secrets</h2>
      <p class="hint">Values are stored encrypted and never shown again; jobs name the secrets they need.</p>
      <ErrorNote error={error} />
      {secrets && secrets.length === 0 && <p class="empty">No secrets.</p>}
      <table>
        <tbody>
          {secrets?.map((s) => (
            <tr key={s.key}>
              <td>
                <code>{s.key}</code>
              </td>
              <td class="wide">updated {when(s.updated_at)}</td>
              {admin && (
                <td>
                  <button type="button" class="link danger" onClick={() => run(() => api.projects.deleteSecret(project.name, s.key))}>
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {admin && (
        <form
          class="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            if (await run(() => api.projects.setSecret(project.name, key.trim(), value))) (setKey(""), setValue(""));
          }}
        >
          <input placeholder="KEY" aria-label="secret name" value={key} required onInput={(e) => setKey(e.currentTarget.value)} />
          <input placeholder="value" aria-label="secret value" type="password" autocomplete="off" value={value} required onInput={(e) => setValue(e.currentTarget.value)} />
          <button type="submit">Set secret</button>
        </form>
      )}
    </div>
  );
}

/** A URL that may break only after a slash, never mid-word. */
function Url({ href }: { href: string }) {
  const parts = href.split(/(?<=\/)/);
  return (
    <code class="url">{parts.flatMap((p, i) => (i ? [<wbr key={i} />, p] : [p]))}</code>
  );
}

function Webhook({ project, admin, onSaved }: { project: Project; admin: boolean; onSaved(p: Project): void }) {
  const [secret, setSecret] = useState("");
  const [error, setError] = useState<unknown>(null);
  const base = location.origin;
  return (
    <div class="card">
      <h2>Webhook</h2>
      <p>Point the repository's webhook at this daemon (use the address people reach it by, if it is behind a proxy):</p>
      <dl class="facts">
        <Field label="GitHub">
          <Url href={`${base}/api/v1/webhooks/github`} /> content type <code>application/json</code>, events: push, pull requests
        </Field>
        <Field label="GitLab">
          <Url href={`${base}/api/v1/webhooks/gitlab`} /> push, merge request and tag events
        </Field>
        <Field label="Secret">{project.has_webhook_secret ? "set (GitHub: Secret; GitLab: Secret token)" : "not set yet"}</Field>
      </dl>
      {admin && (
        <form
          class="inline"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(null);
            try {
              onSaved(await api.projects.update(project.name, { webhook_secret: secret }));
              setSecret("");
            } catch (err) {
              setError(err);
            }
          }}
        >
          <input type="password" autocomplete="off" aria-label="webhook secret" placeholder="new webhook secret (8+ characters)" minLength={8} required value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
          <button type="submit">{project.has_webhook_secret ? "Replace secret" : "Set secret"}</button>
        </form>
      )}
      <p class="hint">Make the secret with <code>openssl rand -hex 32</code>, paste it into the forge and here.</p>
      <ErrorNote error={error} />
    </div>
  );
}

/** How an outcome is coloured: started something, passed over on purpose, failed, not processed yet. */
const OUTCOME_CLASS: Record<string, string> = { accepted: "success", ignored: "skipped", filtered: "skipped", error: "failure" };

/**
 * Recent webhook deliveries and what became of them (the API shows them to admins), read again
 * every few seconds so one that arrives or is processed shows without a reload.
 */
function Deliveries({ project }: { project: Project }) {
  const { value, error, refresh } = usePolled(() => api.projects.deliveries(project.name), 3000, [project.name]);
  const [actionError, setActionError] = useState<unknown>(null);
  const deliveries = value?.deliveries ?? null;
  const redeliver = async (id: string) => {
    setActionError(null);
    try {
      await api.projects.redeliver(project.name, id);
      refresh();
    } catch (e) {
      setActionError(e);
    }
  };
  return (
    <div class="card wide-card" data-testid="deliveries">
      <h2>Recent deliveries</h2>
      <ErrorNote error={error} />
      <ErrorNote error={actionError} />
      {deliveries && deliveries.length === 0 && <p class="empty">No webhook delivery has arrived yet. Once the forge's webhook points here, each delivery shows with what it started.</p>}
      {deliveries && deliveries.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Event</th>
              <th>Ref</th>
              <th>Outcome</th>
              <th class="wide">Received</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => {
              const outcome = d.outcome ?? (d.status === "received" ? "pending" : d.status);
              return (
                <tr key={d.id} data-delivery={d.delivery_id} data-outcome={outcome}>
                  <td>
                    <span class="tag">{d.provider}</span> {d.event}
                    {d.action ? ` (${d.action})` : ""}
                  </td>
                  <td class="ref">
                    {d.branch ?? d.tag ?? (d.pr_number ? `#${d.pr_number}` : "—")} {d.sha && <code title={d.sha}>{d.sha.slice(0, 8)}</code>}
                  </td>
                  <td class="outcome">
                    <span class={`status status-${OUTCOME_CLASS[outcome] ?? "queued"}`}>{outcome}</span>
                    {d.eval_job_id && (
                      <>
                        {" "}
                        <a href={`/jobs/${d.eval_job_id}`}>eval job</a>
                      </>
                    )}
                    {d.reason && <div class="hint">{d.reason}</div>}
                  </td>
                  <td class="wide">
                    {when(d.received_at)}
                    {d.attempts > 1 && <div class="hint">{d.attempts} attempts</div>}
                  </td>
                  <td>
                    {d.status === "processed" && (
                      <button type="button" class="link" title="process it again under the project's settings of now" onClick={() => redeliver(d.id)}>
                        Redeliver
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function ProjectPage({ name }: { name: string }) {
  const { info } = useSession();
  const [project, setProject] = useState<Project | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.projects.get(name).then(setProject, setError);
  }, [name]);
  if (error) return <ErrorNote error={error} />;
  if (!project) return <p class="empty">Loading…</p>;
  const admin = can(info, project.id, "admin");
  const writer = can(info, project.id, "write");
  return (
    <section class="project">
      <h1>{project.name}</h1>
      <p>
        <a href={`/?project=${encodeURIComponent(project.name)}`}>This project's jobs</a>
      </p>
      <div class="grid">
        <Settings project={project} admin={admin} onSaved={setProject} />
        <Members project={project} admin={admin} />
        {writer ? <Secrets project={project} admin={admin} /> : <div class="card"><h2>Secrets</h2><p class="hint">Secret names are visible to the write role and above.</p></div>}
        <Webhook project={project} admin={admin} onSaved={setProject} />
        {admin && <Deliveries project={project} />}
        {admin && <Notifications project={project} />}
      </div>
    </section>
  );
}
