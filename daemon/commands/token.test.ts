import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authenticate } from "../auth/tokens.ts";
import { testApi } from "../testing/api.ts";
import { runCli } from "../testing/serve-process.ts";

/**
 * `token create` straight on the database named by DATABASE_URL, no daemon running (the data
 * directory and running-daemon cases are in serve.test.ts).
 */
const cli = [process.execPath, join(import.meta.dir, "..", "main.ts")];
let api: Awaited<ReturnType<typeof testApi>>;
let env: Record<string, string>;

beforeAll(async () => {
  api = await testApi();
  const dir = mkdtempSync(join(tmpdir(), "rc-token-"));
  env = {
    DATABASE_URL: databaseUrl(),
    XDG_CONFIG_HOME: join(dir, "config"),
    REACTORCIDE_URL: "",
    REACTORCIDE_TOKEN: "",
    NODE_ENV: "production",
  };
});
afterAll(() => api?.close());

/** The URL testApi connected with (postgres.js keeps the options it was given). */
function databaseUrl(): string {
  const o = api.sql.options;
  const host = Array.isArray(o.host) ? o.host[0] : o.host;
  const port = Array.isArray(o.port) ? o.port[0] : o.port;
  const pass = typeof o.pass === "string" ? o.pass : "";
  return `postgres://${encodeURIComponent(o.user)}:${encodeURIComponent(pass)}@${host}:${port}/${o.database}`;
}

describe("reactorcide token create (DATABASE_URL)", () => {
  test("prints the token alone on stdout; --admin makes an administrator", async () => {
    const plain = await runCli([...cli, "token", "create", "--name", "deploy-bot"], env);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^rcd_[A-Za-z0-9_-]{43}\n$/);
    const bot = await authenticate(api.db, plain.stdout.trim());
    expect(bot).toMatchObject({ userName: "deploy-bot", isAdmin: false, scopes: ["api"] });

    const admin = await runCli([...cli, "token", "create", "--name", "ops", "--admin"], env);
    expect(admin.code).toBe(0);
    expect(admin.stdout).toMatch(/^rcd_[A-Za-z0-9_-]{43}\n$/);
    expect((await authenticate(api.db, admin.stdout.trim()))?.isAdmin).toBe(true);
    // The new administrator can do what only administrators may.
    const minted = await api.call("POST", "/api/v1/tokens", { token: admin.stdout.trim(), body: { name: "w", worker: true } });
    expect(minted.status).toBe(201);

    const worker = await runCli([...cli, "token", "create", "--name", "node-7", "--user", "workers", "--worker"], env);
    expect(await authenticate(api.db, worker.stdout.trim())).toMatchObject({ userName: "workers", scopes: ["worker"] });
  });

  test("a bad --name or --user exits 2 naming the flag, printing nothing on stdout", async () => {
    for (const [flag, value] of [["--name", "bad name"], ["--user", "../root"]]) {
      const args = flag === "--name" ? ["--name", value!] : ["--name", "ok", "--user", value!];
      const r = await runCli([...cli, "token", "create", ...args], env);
      expect({ flag, code: r.code, stdout: r.stdout }).toEqual({ flag, code: 2, stdout: "" });
      expect(r.stderr).toContain(flag!);
    }
    const missing = await runCli([...cli, "token", "create"], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stdout).not.toMatch(/rcd_/);
  });

  test("an unreachable or malformed DATABASE_URL fails with exit 1, a clear message, no token and no password", async () => {
    const cases: [string, string][] = [
      ["postgres://nobody:hunter2pass@127.0.0.1:1/none", "DATABASE_URL (127.0.0.1:1/none): connect ECONNREFUSED"],
      ["mysql://nobody:hunter2pass@db/app", "DATABASE_URL must start with postgres:// or postgresql://"],
      ["hunter2pass", "DATABASE_URL must be a URL like postgres://"],
    ];
    for (const [url, message] of cases) {
      const r = await runCli([...cli, "token", "create", "--name", "x"], { ...env, DATABASE_URL: url });
      expect({ url, code: r.code, stdout: r.stdout }).toEqual({ url, code: 1, stdout: "" });
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain("hunter2pass");
    }
  });
});
