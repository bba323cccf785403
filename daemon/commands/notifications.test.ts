import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startHookReceiver } from "../notifications/testing/receivers.ts";
import { testApi } from "../testing/api.ts";
import { runCli } from "../testing/serve-process.ts";

const cli = [process.execPath, join(import.meta.dir, "..", "main.ts")];
const SECRET = "cli-hook-secret-77";
let api: Awaited<ReturnType<typeof testApi>>;
let hook: Awaited<ReturnType<typeof startHookReceiver>>;
let env: Record<string, string>;

beforeAll(async () => {
  hook = await startHookReceiver(SECRET);
  api = await testApi();
  api.app.listen({ hostname: "127.0.0.1", port: 0 });
  await api.call("POST", "/api/v1/projects", { body: { name: "cli-notify" } });
  env = {
    REACTORCIDE_URL: `http://127.0.0.1:${api.app.server!.port}`,
    REACTORCIDE_TOKEN: api.admin,
    XDG_CONFIG_HOME: join(mkdtempSync(join(tmpdir(), "rc-cli-notify-")), "config"),
    DATABASE_URL: "",
    NODE_ENV: "production",
  };
});
afterAll(async () => {
  await api?.app.stop();
  await api?.close();
  await hook?.stop();
});

test("notifications create (secret from stdin), list, test and delete", async () => {
  const made = await runCli([...cli, "notifications", "create", "cli-notify", "--on", "always", "--webhook", hook.url, "--secret", "-", "--branches", "main,release/*", "--json"], env, `${SECRET}\n`);
  expect(made.code).toBe(0);
  const rule = JSON.parse(made.stdout);
  expect(rule).toMatchObject({ on: "always", branches: ["main", "release/*"], target: { type: "webhook", url: `http://127.0.0.1:${hook.port}/…`, has_secret: true } });

  const listed = await runCli([...cli, "notifications", "list", "cli-notify"], env);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain(`${rule.id}  on always  webhook http://127.0.0.1:${hook.port}/… (signed)  [branches main,release/*]`);
  expect(listed.stdout + listed.stderr).not.toContain(SECRET);

  const sent = await runCli([...cli, "notifications", "test", "cli-notify", rule.id], env);
  expect(sent.code).toBe(0);
  expect(hook.received).toHaveLength(1);
  expect(hook.received[0]!.verified).toBe(true);
  const after = await runCli([...cli, "notifications", "list", "cli-notify", "--json"], env);
  expect(JSON.parse(after.stdout).notifications[0].last_deliveries[0]).toMatchObject({ subject: "test", state: "delivered" });

  expect((await runCli([...cli, "notifications", "delete", "cli-notify", rule.id], env)).code).toBe(0);
  const gone = await runCli([...cli, "notifications", "delete", "cli-notify", rule.id], env);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toContain("notification rule not found");
});

test("bad input: no target exits 2; a refused URL or address exits 1 naming the field", async () => {
  const none = await runCli([...cli, "notifications", "create", "cli-notify"], env);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("--email");
  const plain = await runCli([...cli, "notifications", "create", "cli-notify", "--webhook", "http://example.com/hook"], env);
  expect(plain.code).toBe(1);
  expect(plain.stderr).toContain("target.url: must use https://");
  const mail = await runCli([...cli, "notifications", "create", "cli-notify", "--email", "not-an-address"], env);
  expect(mail.code).toBe(1);
  expect(mail.stderr).toContain("(field: target.to.0)");
});

test("test exits 1 when the sample did not arrive, saying why", async () => {
  const made = await runCli([...cli, "notifications", "create", "cli-notify", "--email", "dev@example.com", "--json"], env);
  const rule = JSON.parse(made.stdout);
  // testApi's notifier has no SMTP URL: the error says what to set.
  const sent = await runCli([...cli, "notifications", "test", "cli-notify", rule.id], env);
  expect(sent.code).toBe(1);
  expect(sent.stderr).toContain("REACTORCIDE_SMTP_URL");
});
