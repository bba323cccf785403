import { useState } from "preact/hooks";
import { api, type NewNotificationRule, type NotificationRule, type Project } from "../api.ts";
import { ErrorNote, when } from "../components.tsx";
import { useListed } from "../hooks.ts";

const ON = ["failure", "always", "fixed", "success"] as const;
const STATE_CLASS: Record<string, string> = { delivered: "success", failed: "failure", pending: "queued" };

function target(rule: NotificationRule): string {
  return rule.target.type === "email" ? `e-mail to ${rule.target.to.join(", ")}` : `webhook ${rule.target.url}${rule.target.has_secret ? " (signed)" : ""}`;
}

/** A project's notification rules (admin role): what fires, where it goes, how the last deliveries went. */
export function Notifications({ project }: { project: Project }) {
  const { items: rules, error, run: change } = useListed(() => api.projects.notifications(project.name).then((r) => r.notifications), [project.name]);
  const [notice, setNotice] = useState<{ text: string; ok: boolean } | null>(null);
  const [kind, setKind] = useState<"email" | "webhook">("email");
  const [on, setOn] = useState<NewNotificationRule["on"]>("failure");
  const [address, setAddress] = useState("");
  const [secret, setSecret] = useState("");
  const run = (action: () => Promise<{ text: string; ok: boolean } | void>) => {
    setNotice(null);
    return change(async () => {
      const said = await action();
      if (said) setNotice(said);
    });
  };
  const add = (e: Event) => {
    e.preventDefault();
    const rule: NewNotificationRule =
      kind === "email"
        ? { on, target: { type: "email", to: address.split(",").map((a) => a.trim()).filter(Boolean) } }
        : { on, target: { type: "webhook", url: address.trim(), ...(secret && { secret }) } };
    void run(async () => {
      await api.projects.addNotification(project.name, rule);
    }).then((ok) => ok && (setAddress(""), setSecret("")));
  };
  return (
    <div class="card notifications">
      <h2>Notifications</h2>
      <p class="hint">E-mail or a webhook (Slack, Mattermost, your own) when workflow runs end. Webhook URLs and secrets are never shown again.</p>
      <ErrorNote error={error} />
      {notice && <p class={notice.ok ? "notice" : "error-text"}>{notice.text}</p>}
      {rules && rules.length === 0 && <p class="empty">No notification rules.</p>}
      <table>
        <tbody>
          {rules?.map((rule) => {
            const last = rule.last_deliveries[0];
            return (
              <tr key={rule.id} data-rule={rule.id}>
                <td>
                  on <strong>{rule.on}</strong>
                  {rule.jobs && <span class="tag">jobs too</span>}
                  {rule.branches.length > 0 && <span class="tag">{rule.branches.join(", ")}</span>}
                  {rule.events.length > 0 && <span class="tag">{rule.events.join(", ")}</span>}
                </td>
                <td class="wide">
                  {target(rule)}
                  {last ? (
                    <div class="delivery">
                      <span class={`status status-${STATE_CLASS[last.state] ?? "queued"}`} data-state={last.state}>
                        {last.state}
                      </span>{" "}
                      {last.subject === "test" ? "test" : last.subject.replace("_", " ")} {when(last.created_at)}, {last.attempts} attempt(s)
                      {last.last_error && <div class="error-text">{last.last_error}</div>}
                    </div>
                  ) : (
                    <div class="hint">nothing sent yet</div>
                  )}
                  {rule.failing && <span class="tag failing">failing</span>}
                </td>
                <td>
                  <button
                    type="button"
                    class="link"
                    onClick={() =>
                      run(async () => {
                        const r = await api.projects.testNotification(project.name, rule.id);
                        return r.state === "delivered"
                          ? { text: "Test notification delivered.", ok: true }
                          : { text: `Test notification not delivered yet (it is retried): ${r.error}`, ok: false };
                      })
                    }
                  >
                    Send test
                  </button>
                  <button type="button" class="link danger" onClick={() => run(() => api.projects.deleteNotification(project.name, rule.id).then(() => undefined))}>
                    Delete
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <form class="inline" onSubmit={add}>
        <select aria-label="notification type" value={kind} onChange={(e) => setKind(e.currentTarget.value as "email" | "webhook")}>
          <option value="email">e-mail</option>
          <option value="webhook">webhook</option>
        </select>
        <select aria-label="notify on" value={on} onChange={(e) => setOn(e.currentTarget.value as NewNotificationRule["on"])}>
          {ON.map((o) => (
            <option value={o}>on {o}</option>
          ))}
        </select>
        <input
          aria-label={kind === "email" ? "recipients" : "webhook URL"}
          placeholder={kind === "email" ? "dev@example.com, ops@example.com" : "https://hooks.slack.com/services/…"}
          value={address}
          required
          onInput={(e) => setAddress(e.currentTarget.value)}
        />
        {kind === "webhook" && (
          <input type="password" autocomplete="off" aria-label="signing secret" placeholder="signing secret (optional)" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} />
        )}
        <button type="submit">Add rule</button>
      </form>
    </div>
  );
}
