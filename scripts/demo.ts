#!/usr/bin/env bun
/**
 * The whole system in one command (`npm run demo`): builds the runner, starts `reactorcide serve`
 * (coordinator, embedded Postgres, embedded task queue and a worker) on a temporary data
 * directory, submits jobs/example.yaml through the API with --follow so its log streams live,
 * then stops the daemon and removes the directory. Exits with the job's result.
 *
 * The worker uses the `process` runtime (the runner on this machine, no container), so the demo
 * needs neither Docker nor an image, and the job can clone this checkout by its path, which a
 * container could not see.
 */
import { consola } from "consola";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";

const root = join(import.meta.dir, "..");
const bun = process.execPath;

async function run(argv: string[], what: string): Promise<void> {
  const proc = Bun.spawn(argv, { cwd: root, stdout: "inherit", stderr: "inherit" });
  if ((await proc.exited) !== 0) throw new Error(`${what} failed`);
}

consola.start("building the runner");
await run([bun, join(root, "scripts", "build.ts"), "runner"], "building the runner");
const runnerPath = join(root, "dist", "reactorcide-runner");

const dataDir = await mkdtemp(join(tmpdir(), "reactorcide-demo-"));
// As root the embedded Postgres runs as `postgres`, which must reach the data directory.
await chmod(dataDir, 0o711);
consola.start(`starting reactorcide serve (data in ${dataDir})`);
const daemon = Bun.spawn(
  [bun, join(root, "daemon", "main.ts"), "serve", "--data-dir", dataDir, "--port", "0", "--corndogs-listen", "127.0.0.1:0",
    "--runtime", "process", "--runner-path", runnerPath, "--concurrency", "2"],
  { cwd: root, stdout: "pipe", stderr: "inherit", env: { ...process.env, DATABASE_URL: "", CORNDOGS_URL: "" } },
);

/** Reads the daemon's stdout until it has printed its admin token and address. */
async function started(): Promise<{ url: string; token: string; corndogs: string }> {
  const decoder = new TextDecoder();
  let text = "";
  const reader = daemon.stdout.getReader();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const token = /^admin token: (\S+)$/m.exec(text)?.[1];
    const url = /^listening on (\S+)$/m.exec(text)?.[1];
    const corndogs = /^corndogs listening on (\S+)/m.exec(text)?.[1] ?? "?";
    if (token && url) {
      // Keep draining so the daemon never blocks on a full pipe.
      void (async () => {
        for (;;) if ((await reader.read()).done) break;
      })();
      return { url, token, corndogs };
    }
  }
  throw new Error(`the daemon did not start; it printed:\n${text}`);
}

let code = 1;
try {
  const { url, token, corndogs } = await started();
  consola.success(`coordinator at ${url}, task queue (Corndogs) at ${corndogs}`);
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const project = await fetch(`${url}/api/v1/projects`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name: "demo", default_image: "reactorcide/runner:dev" }),
  });
  if (project.status !== 201) throw new Error(`creating the demo project: ${project.status} ${await project.text()}`);

  // The example job's git source is "." (this checkout); the worker runs it elsewhere, so name it absolutely.
  const job = parse(await readFile(join(root, "jobs", "example.yaml"), "utf8")) as { source?: { url?: string } };
  if (job.source?.url && !/^[a-z]+:\/\//.test(job.source.url)) job.source.url = resolve(root, job.source.url);
  const jobFile = join(dataDir, "example.yaml");
  await writeFile(jobFile, stringify(job));

  consola.start("submitting jobs/example.yaml, following its live log");
  const submit = Bun.spawn([bun, join(root, "daemon", "main.ts"), "submit", jobFile, "--project", "demo", "--follow"], {
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
    env: { ...process.env, REACTORCIDE_URL: url, REACTORCIDE_TOKEN: token },
  });
  code = await submit.exited;
} catch (error) {
  consola.error(error instanceof Error ? error.message : String(error));
} finally {
  consola.start("stopping the daemon");
  daemon.kill("SIGTERM");
  await daemon.exited;
  await rm(dataDir, { recursive: true, force: true });
}
if (code === 0) consola.success("demo finished: the job succeeded");
else consola.error(`demo finished: the job did not succeed (exit ${code})`);
process.exit(code);
