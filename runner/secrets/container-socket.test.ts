/**
 * A real container job (reactorcide/runner:dev) registering a value through the secrets socket
 * mounted under /job, and a secrets file reaching a container without touching its command line.
 */
import { beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureRunnerBinary } from "../testing/binary.ts";
import { runCli, spawnCli } from "../testing/cli.ts";
import { ensureRunnerImage } from "../testing/image.ts";
import { useScratchDir } from "../testing/scratch.ts";

const { dir, freshWorkspace } = useScratchDir("reactorcide-secrets-ctr");
let image = "";
let binary = "";
beforeAll(async () => {
  [image, binary] = await Promise.all([ensureRunnerImage(), ensureRunnerBinary()]);
}, 600_000);

test("a container job registers a value through REACTORCIDE_SECRETS_SOCKET; its later output is masked, plainly and base64-encoded", async () => {
  const ws = freshWorkspace();
  const value = "boxed-token-5150";
  const script = [
    // Built at run time so the command line (and the runner's header echoing it) never holds the value.
    `v=$(printf '%s-%s' boxed token-5150)`,
    `echo "socket=$REACTORCIDE_SECRETS_SOCKET"`,
    `stat -c 'dir-mode=%a' "$(dirname "$REACTORCIDE_SECRETS_SOCKET")"`,
    `reactorcide-runner register-secret "$v"`,
    `echo "plain=$v"; echo "err=$v" >&2; printf %s "$v" | base64; printf 'pre%s' "$v" | base64`,
  ].join("\n");
  const r = await runCli(["run", "--workspace", ws, "--image", image, "--secret-env-names", "", "--job-command", script]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("socket=/job/.reactorcide-secrets/secrets.sock\n");
  const mode = Number.parseInt(r.stdout.match(/^dir-mode=(\d+)$/m)![1]!, 8);
  expect(mode & 0o002).toBe(0); // not world-writable
  expect(r.stdout).toContain("registered 1 secret value(s)");
  expect(r.stdout).toContain("plain=***\n");
  expect(r.stderr).toContain("err=***\n");
  const all = r.stdout + r.stderr;
  expect(all).not.toContain(value);
  expect(all).not.toContain(Buffer.from(value).toString("base64"));
  expect(all).not.toContain(Buffer.from(`pre${value}`).toString("base64").slice(4, 20));
  // The socket (and its directory) went with the run.
  expect(existsSync(join(ws, ".reactorcide-secrets", "secrets.sock"))).toBe(false);
  expect(existsSync(join(ws, ".reactorcide-secrets"))).toBe(false);
});

test("a stale socket left in the workspace (a killed runner's) is replaced at start", async () => {
  const ws = freshWorkspace();
  mkdirSync(join(ws, ".reactorcide-secrets"), { recursive: true, mode: 0o700 });
  const stalePath = join(ws, ".reactorcide-secrets", "secrets.sock");
  // A listener killed with SIGKILL leaves its socket file behind, as a killed runner would.
  const killed = Bun.spawn([process.execPath, "-e", `require("node:net").createServer().listen(${JSON.stringify(stalePath)}, () => console.log("up"))`], { stdout: "pipe" });
  const reader = killed.stdout.getReader();
  await reader.read();
  killed.kill("SIGKILL");
  await killed.exited;
  expect(existsSync(stalePath)).toBe(true);
  const r = await runCli(["run", "--workspace", ws, "--image", image, "--secret-env-names", "", "--job-command", `v=$(printf 'st%s' ale-value-1); reactorcide-runner register-secret "$v"; echo "v=$v"`]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("v=***\n");
  expect(r.stdout).not.toContain("stale-value-1");
  expect(existsSync(stalePath)).toBe(false);
});

test("a secrets file reaches the container through its env file, never the container command line", async () => {
  const ws = freshWorkspace();
  const value = "ctr-deploy-key-0451";
  const secretsFile = join(dir, "ctr.env");
  writeFileSync(secretsFile, `DEPLOY_KEY=${value}\n`);
  const ready = join(ws, "src", "ready");
  const go = join(ws, "src", "go");
  const proc = spawnCli(binary, [
    "run", "--workspace", ws, "--image", image, "--secrets-file", secretsFile, "--job-command",
    `echo "k=$DEPLOY_KEY"; printf %s "$DEPLOY_KEY" | wc -c; touch ready; while [ ! -e go ]; do sleep 0.05; done`,
  ]);
  for (let i = 0; i < 1000 && !existsSync(ready); i++) await Bun.sleep(20);
  expect(existsSync(ready)).toBe(true);
  const ps = Bun.spawnSync(["ps", "-eo", "args", "ww"]).stdout.toString();
  const runnerLine = readFileSync(`/proc/${proc.pid}/cmdline`, "utf8");
  writeFileSync(go, "");
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  expect(code).toBe(0);
  expect(ps).toContain("docker run");
  expect(ps).not.toContain(value);
  expect(runnerLine).not.toContain(value);
  expect(stdout).toContain(`k=***\n${value.length}\n`);
  expect(stdout + stderr).not.toContain(value);
});
