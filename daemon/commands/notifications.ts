import { defineCommand } from "citty";
import { consola } from "consola";
import { printJson, withClient } from "../client/run.ts";

const path = (project: string, rest = "") => `/api/v1/projects/${encodeURIComponent(project)}/notifications${rest}`;
const list = (value: string | undefined) => (value ? value.split(",").map((s) => s.trim()).filter(Boolean) : undefined);

/** The rule as the API shows it (routes/notifications.ts ruleView). */
interface RuleShown {
  id: string;
  on: string;
  jobs: boolean;
  branches: string[];
  events: string[];
  target: { type: "email"; to: string[] } | { type: "webhook"; url: string; has_secret: boolean };
  failing: boolean;
  last_deliveries: { id: string; subject: string; state: string; attempts: number; last_error: string | null; created_at: string }[];
}

function describeRule(r: RuleShown): string {
  const target = r.target.type === "email" ? `email ${r.target.to.join(", ")}` : `webhook ${r.target.url}${r.target.has_secret ? " (signed)" : ""}`;
  const filters = [r.jobs && "jobs too", r.branches.length && `branches ${r.branches.join(",")}`, r.events.length && `events ${r.events.join(",")}`].filter(Boolean);
  return `${r.id}  on ${r.on}  ${target}${filters.length ? `  [${filters.join("; ")}]` : ""}`;
}

const create = defineCommand({
  meta: { name: "create", description: "Add a rule: --email or --webhook, when (--on), what (--jobs), filters (--branches, --events)" },
  args: {
    project: { type: "positional", description: "project id or name", required: true },
    on: { type: "string", description: "failure (default), always, fixed (first success after a failure) or success" },
    email: { type: "string", description: "comma list of recipients" },
    webhook: { type: "string", description: "https:// URL (http:// only for loopback), e.g. a Slack or Mattermost incoming webhook" },
    secret: { type: "string", description: "webhook signing secret; '-' reads it from stdin (keeps it out of shell history)" },
    jobs: { type: "boolean", description: "also jobs that end on their own, not only workflow runs" },
    branches: { type: "string", description: "comma list of branch globs (release/*, !release/old)" },
    events: { type: "string", description: "comma list of events (push, pull_request_opened, ..., manual)" },
    json: { type: "boolean", description: "print the created rule as JSON" },
  },
  async run({ args }) {
    if (Boolean(args.email) === Boolean(args.webhook)) {
      consola.error("give one target: --email a@example.com,b@example.com or --webhook https://...");
      process.exit(2);
    }
    let secret = args.secret;
    if (secret === "-") secret = (await Bun.stdin.text()).replace(/\r?\n$/, "");
    const target = args.email ? { type: "email", to: list(args.email) } : { type: "webhook", url: args.webhook, ...(secret && { secret }) };
    const body = { ...(args.on && { on: args.on }), ...(args.jobs && { jobs: true }), branches: list(args.branches), events: list(args.events), target };
    await withClient(async (client) => {
      const rule = await client.json<RuleShown>("POST", path(args.project), body);
      if (args.json) return printJson(rule);
      consola.success(`rule ${rule.id} added to ${args.project}`);
      console.log(describeRule(rule));
    });
  },
});

const ls = defineCommand({
  meta: { name: "list", description: "List a project's rules with their last deliveries (secrets never shown)" },
  args: {
    project: { type: "positional", description: "project id or name", required: true },
    json: { type: "boolean", description: "print JSON" },
  },
  async run({ args }) {
    await withClient(async (client) => {
      const result = await client.json<{ notifications: RuleShown[] }>("GET", path(args.project));
      if (args.json) return printJson(result);
      if (result.notifications.length === 0) consola.info(`no notification rules in ${args.project}`);
      for (const rule of result.notifications) {
        console.log(describeRule(rule));
        const last = rule.last_deliveries[0];
        if (last) console.log(`  last: ${last.subject} ${last.state} after ${last.attempts} attempt(s) at ${last.created_at}${last.last_error ? `: ${last.last_error}` : ""}`);
      }
    });
  },
});

const test = defineCommand({
  meta: { name: "test", description: "Send a sample notification through a rule now; exit 1 if it did not arrive (it is retried)" },
  args: {
    project: { type: "positional", description: "project id or name", required: true },
    id: { type: "positional", description: "rule id", required: true },
    json: { type: "boolean", description: "print JSON" },
  },
  async run({ args }) {
    await withClient(async (client) => {
      const result = await client.json<{ delivery_id: string; state: string; error: string | null }>("POST", path(args.project, `/${encodeURIComponent(args.id)}/test`));
      if (args.json) printJson(result);
      else if (result.state === "delivered") consola.success(`delivered (delivery ${result.delivery_id})`);
      else consola.error(`not delivered: ${result.error}; it will be retried (delivery ${result.delivery_id})`);
      if (result.state !== "delivered") process.exit(1);
    });
  },
});

const remove = defineCommand({
  meta: { name: "delete", description: "Delete a rule and its pending deliveries" },
  args: {
    project: { type: "positional", description: "project id or name", required: true },
    id: { type: "positional", description: "rule id", required: true },
  },
  async run({ args }) {
    await withClient(async (client) => {
      await client.json("DELETE", path(args.project, `/${encodeURIComponent(args.id)}`));
      consola.success(`deleted rule ${args.id} from ${args.project}`);
    });
  },
});

export default defineCommand({
  meta: { name: "notifications", description: "Notification rules: e-mail or webhook when workflow runs or jobs end" },
  subCommands: { create, list: ls, test, delete: remove },
});
