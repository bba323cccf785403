/**
 * Review finding: a token in a git source URL (https://TOKEN@host/repo) was written into the
 * checkout's .git/config, where the job (maybe untrusted pull request code) reads it. The token is
 * for the runner's fetch only; the checkout keeps the URL without it.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { commit, sh, workRepo } from "../git/fixtures.ts";
import { urlWithoutCredentials } from "../source/location.ts";
import { prepareSource } from "../source/prepare.ts";
import { runCli } from "../testing/cli.ts";
import { useTempDirs } from "../testing/temp-dirs.ts";

const tempDir = useTempDirs("rc-hostile-cred");
const TOKEN = "tok-9f8e7d6c5b4a";
let server: ReturnType<typeof Bun.serve>;
let projects = "";

/** Smart HTTP through `git http-backend` (CGI), refusing requests without the token. */
async function gitHttp(request: Request): Promise<Response> {
  const expected = `Basic ${Buffer.from(`${TOKEN}:x-oauth-basic`).toString("base64")}`;
  const alt = `Basic ${Buffer.from(`${TOKEN}:`).toString("base64")}`;
  const auth = request.headers.get("authorization");
  if (auth !== expected && auth !== alt) return new Response("auth", { status: 401, headers: { "WWW-Authenticate": 'Basic realm="git"' } });
  const url = new URL(request.url);
  const proc = Bun.spawn(["git", "http-backend"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      GIT_PROJECT_ROOT: projects,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: url.pathname,
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: request.method,
      CONTENT_TYPE: request.headers.get("content-type") ?? "",
      HTTP_CONTENT_ENCODING: request.headers.get("content-encoding") ?? "",
      HTTP_GIT_PROTOCOL: request.headers.get("git-protocol") ?? "",
      REMOTE_USER: "ci",
      REMOTE_ADDR: "127.0.0.1",
    },
    stdin: request.body ? new Uint8Array(await request.arrayBuffer()) : "ignore",
    stdout: "pipe",
    stderr: "ignore",
  });
  const out = Buffer.from(await new Response(proc.stdout).arrayBuffer());
  const end = out.indexOf("\r\n\r\n");
  const headers = new Headers();
  let status = 200;
  for (const line of out.subarray(0, end).toString().split("\r\n")) {
    const at = line.indexOf(":");
    const [name, value] = [line.slice(0, at).trim(), line.slice(at + 1).trim()];
    if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]);
    else headers.append(name, value);
  }
  return new Response(out.subarray(end + 4), { status, headers });
}

beforeAll(() => {
  projects = tempDir();
  const work = workRepo(join(projects, "work"));
  commit(work, "first", { "README.md": "hello\n" });
  sh(projects, "clone", "-q", "--bare", work, join(projects, "repo.git"));
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: gitHttp });
});
afterAll(() => server?.stop(true));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

describe("git source with a token in its URL", () => {
  test("fetches with the token, and no file of the checkout holds it", async () => {
    const target = join(tempDir(), "src");
    const url = `http://${TOKEN}@127.0.0.1:${server.port}/repo.git`;
    const prepared = await prepareSource({ type: "git", url }, target);
    expect(prepared.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(readFileSync(join(target, "README.md"), "utf8")).toBe("hello\n");
    const holding = filesUnder(target).filter((path) => readFileSync(path).includes(TOKEN));
    expect(holding).toEqual([]);
    // The remote is still there, without the credential.
    expect(sh(target, "remote", "get-url", "origin")).toBe(`http://127.0.0.1:${server.port}/repo.git`);
  });
});

describe("urlWithoutCredentials", () => {
  test("http(s) user-info goes entirely; an ssh user name stays, its password goes", () => {
    expect(urlWithoutCredentials("https://x-access-token:ghs_abc@github.com/o/r.git")).toBe("https://github.com/o/r.git");
    expect(urlWithoutCredentials("ssh://git@host/r.git")).toBe("ssh://git@host/r.git");
    expect(urlWithoutCredentials("ssh://git:pw@host/r.git")).toBe("ssh://git@host/r.git");
    expect(urlWithoutCredentials("git@github.com:o/r.git")).toBe("git@github.com:o/r.git");
    expect(urlWithoutCredentials("/srv/repo.git")).toBe("/srv/repo.git");
  });
});

describe("a token in a source URL in the runner's own output", () => {
  test("--dry-run and config --json show the URL with the credential replaced", async () => {
    const ws = join(tempDir(), "ws");
    const urls = ["--source-type", "git", "--source-url", `https://${TOKEN}@example.invalid/r.git`, "--ci-source-type", "git", "--ci-source-url", `https://u:${TOKEN}@example.invalid/ci.git`];
    const dry = await runCli(["run", "--dry-run", "--workspace", ws, ...urls, "--job-command", "true"]);
    const config = await runCli(["config", "--workspace", ws, ...urls, "--json"]);
    for (const r of [dry, config]) {
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
      expect(r.stdout).toContain("https://***@example.invalid/r.git");
      expect(r.code).toBe(0);
    }
  });
});
