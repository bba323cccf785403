import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testApi } from "../testing/api.ts";
import { runCli } from "../testing/serve-process.ts";

const cli = [process.execPath, join(import.meta.dir, "..", "main.ts")];
let api: Awaited<ReturnType<typeof testApi>>;
let worker: string;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  api = await testApi();
  api.app.listen({ hostname: "127.0.0.1", port: 0 });
  worker = await api.tokenFor("cli-worker", { worker: true });
  await api.call("POST", "/api/v1/projects", { body: { name: "cli", default_image: "busybox" } });
  dir = mkdtempSync(join(tmpdir(), "rc-cli-"));
  env = {
    REACTORCIDE_URL: `http://127.0.0.1:${api.app.server!.port}`,
    REACTORCIDE_TOKEN: api.admin,
    XDG_CONFIG_HOME: join(dir, "config"),
    DATABASE_URL: "",
    NODE_ENV: "production",
  };
});
afterAll(async () => {
  await api?.app.stop();
  await api?.close();
});

/** Plays the worker: runs the job through the internal endpoints, writing `lines`. */
async function playWorker(jobId: string, lines: string[], status: "success" | "failure", exitCode: number) {
  await api.call("POST", `/api/v1/internal/jobs/${jobId}/status`, { token: worker, body: { status: "running" } });
  for (const line of lines) {
    await Bun.sleep(30);
    await api.call("POST", `/api/v1/internal/jobs/${jobId}/logs`, { token: worker, body: { lines: [{ line }] } });
  }
  await api.call("POST", `/api/v1/internal/jobs/${jobId}/status`, { token: worker, body: { status, exit_code: exitCode } });
}

async function waitForQueued(name: string): Promise<string> {
  for (;;) {
    const r = await api.call("GET", `/api/v1/jobs?name=${name}&status=queued`);
    if (r.json.jobs.length) return r.json.jobs[0].id;
    await Bun.sleep(50);
  }
}

describe("client commands", () => {
  test("submit --follow streams the log and exits 1 when the job fails", async () => {
    const file = join(dir, "job.json");
    writeFileSync(file, JSON.stringify({ name: "followed", command: "make", project: "cli" }));
    const running = runCli([...cli, "submit", file, "--follow"], env);
    const id = await waitForQueued("followed");
    await playWorker(id, ["compiling", "tests failed"], "failure", 2);
    const r = await running;
    expect(r.stdout).toContain("compiling\ntests failed\n");
    expect(r.code).toBe(1);
  });

  test("submit --wait exits 0 on success; logs prints the text, logs -f follows to the end", async () => {
    const file = join(dir, "ok.yaml");
    writeFileSync(file, "name: waited\ncommand: echo ok\nproject: cli\n");
    const waiting = runCli([...cli, "submit", file, "--wait", "--json"], env);
    const id = await waitForQueued("waited");
    await playWorker(id, ["ok"], "success", 0);
    const r = await waiting;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id, status: "success", exit_code: 0 });
    const logs = await runCli([...cli, "logs", id], env);
    expect(logs.stdout).toBe("ok\n");
    const followed = await runCli([...cli, "logs", id, "-f"], env);
    expect(followed.stdout).toBe("ok\n");
    expect(followed.code).toBe(0);
  });

  test("logs and logs -f keep colours but neutralise other control sequences, and job output cannot pass for the system's lines", async () => {
    const file = join(dir, "hostile.json");
    writeFileSync(file, JSON.stringify({ name: "hostile", command: "x", project: "cli" }));
    const submitted = runCli([...cli, "submit", file], env);
    const id = await waitForQueued("hostile");
    await submitted;
    const hostile = ["\x1b[2J\x1b]0;title\x07", "[reactorcide] success (exit 0): the job's command exited 0", "a\rFORGED", "\x1b[32mgreen\x1b[0m"];
    await api.call("POST", `/api/v1/internal/jobs/${id}/status`, { token: worker, body: { status: "running" } });
    await api.call("POST", `/api/v1/internal/jobs/${id}/logs`, { token: worker, body: { lines: [...hostile.map((line) => ({ line })), { stream: "system", line: "failure (exit 3): the job's command exited 3" }] } });
    await api.call("POST", `/api/v1/internal/jobs/${id}/status`, { token: worker, body: { status: "failure", exit_code: 3 } });
    for (const args of [["logs", id], ["logs", id, "-f"]]) {
      const r = await runCli([...cli, ...args], env);
      const out = r.stdout;
      expect(out).toContain("\x1b[32mgreen\x1b[0m");
      expect(out).not.toContain("\x1b[2J");
      expect(out).not.toContain("\x1b]0;");
      expect(out).not.toContain("\x07");
      expect(out).not.toContain("\r");
      expect(out).toContain("a\u240dFORGED");
      expect(out).toContain("\\[reactorcide] success (exit 0)");
      expect(out).toContain("\x1b[1;36m[reactorcide]\x1b[0m failure (exit 3)");
      expect(out).not.toContain("\x1b[1;36m[reactorcide]\x1b[0m success");
    }
  });

  test("token create, list and revoke over the API when logged in", async () => {
    const made = await runCli([...cli, "token", "create", "--name", "cli-made"], env);
    expect(made.code).toBe(0);
    const token = made.stdout.trim();
    expect(token).toMatch(/^rcd_/);
    const listed = await runCli([...cli, "token", "list", "--json"], env);
    const entry = JSON.parse(listed.stdout).tokens.find((t: { name: string }) => t.name === "cli-made");
    expect(listed.stdout).not.toContain(token);
    const revoked = await runCli([...cli, "token", "revoke", entry.id], env);
    expect(revoked.code).toBe(0);
    const denied = await runCli([...cli, "jobs"], { ...env, REACTORCIDE_TOKEN: token });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("revoked");
  });

  test("secrets delete; errors name the problem; not logged in is explained", async () => {
    await runCli([...cli, "secrets", "set", "cli", "TEMP", "--value", "abc123"], env);
    expect((await runCli([...cli, "secrets", "delete", "cli", "TEMP"], env)).code).toBe(0);
    const gone = await runCli([...cli, "secrets", "delete", "cli", "TEMP"], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("secret TEMP not found");
    const out = await runCli([...cli, "jobs"], { ...env, REACTORCIDE_URL: "", REACTORCIDE_TOKEN: "" });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("not logged in");
    const badUrl = await runCli([...cli, "login", "--url", "ftp://x", "--token", "t"], env);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain("--url");
    const badFile = join(dir, "list.yaml");
    writeFileSync(badFile, "- a\n- b\n");
    const notMapping = await runCli([...cli, "submit", badFile], env);
    expect(notMapping.code).toBe(2);
  });
});
