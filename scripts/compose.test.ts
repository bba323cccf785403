/**
 * compose.yaml, run for real with Debian's docker-compose on images built here (no registry):
 * reactorcide/postgres:15 (Debian's postgresql-15) for Postgres, reactorcide/s3rver:dev for S3,
 * reactorcide/daemon:dev for the coordinator and the worker, reactorcide/runner:dev for the job.
 * Up, a job submitted through the API succeeds, its log comes back from the API and is the object
 * in the S3 store (and gone with it); down removes everything.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../daemon/db/free-port.ts";
import { logKey } from "../daemon/storage/log-archive.ts";
import { ensureImages } from "./testing/images.ts";

const root = join(import.meta.dir, "..");

describe("compose.yaml (docker-compose, images built locally)", () => {
  const dir = mkdtempSync(join(tmpdir(), "rc-compose-"));
  const project = `rccompose${process.pid}${randomBytes(3).toString("hex")}`;
  const envFile = join(dir, "test.env");
  const compose = (...args: string[]) =>
    Bun.spawnSync(["docker-compose", "--project-name", project, "--project-directory", root, "--env-file", envFile, "-f", join(root, "compose.yaml"), ...args], {
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
    });
  const text = (r: ReturnType<typeof compose>) => r.stdout.toString() + r.stderr.toString();
  afterAll(() => {
    compose("down", "--volumes", "--remove-orphans", "--timeout", "5");
    rmSync(dir, { recursive: true, force: true });
  });

  test("up; a job through the API succeeds with its log read back from the object store; down", async () => {
    const images = await ensureImages(["runner", "daemon", "postgres", "s3rver"]);
    const [apiPort, s3Port] = [await freePort(), await freePort()];
    const secrets = {
      master: randomBytes(32).toString("base64"),
      postgres: randomBytes(12).toString("hex"),
      corndogs: randomBytes(16).toString("hex"),
      s3Key: "reactorcide-test",
      s3Secret: randomBytes(16).toString("hex"),
    };
    const workspaces = join(dir, "workspaces");
    writeFileSync(
      envFile,
      [
        `REACTORCIDE_MASTER_KEY=${secrets.master}`,
        `POSTGRES_PASSWORD=${secrets.postgres}`,
        `CORNDOGS_TOKEN=${secrets.corndogs}`,
        `S3_ACCESS_KEY_ID=${secrets.s3Key}`,
        `S3_SECRET_ACCESS_KEY=${secrets.s3Secret}`,
        `REACTORCIDE_DAEMON_IMAGE=${images.daemon}`,
        `REACTORCIDE_POSTGRES_IMAGE=${images.postgres}`,
        `REACTORCIDE_S3_IMAGE=${images.s3rver}`,
        `REACTORCIDE_RUNNER_IMAGE=${images.runner}`,
        `REACTORCIDE_PORT=${apiPort}`,
        `REACTORCIDE_S3_PORT=${s3Port}`,
        `REACTORCIDE_WORKSPACES=${workspaces}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );

    const config = compose("config");
    expect(text(config)).toContain(`image: ${images.postgres}`);
    expect(config.exitCode).toBe(0);

    const up = compose("up", "--detach", "--no-build");
    if (up.exitCode !== 0) throw new Error(`docker-compose up failed:\n${text(up)}\n${text(compose("logs", "--no-color"))}`);
    const ps = text(compose("ps"));
    for (const service of ["postgres", "s3", "coordinator", "worker"]) expect(ps).toContain(`${project}_${service}_1`);

    const url = `http://127.0.0.1:${apiPort}`;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const tokenRun = compose("exec", "-T", "coordinator", "reactorcide", "token", "create", "--admin", "--name", "compose-test");
    expect(tokenRun.exitCode).toBe(0);
    const token = tokenRun.stdout.toString().trim();
    expect(token).toMatch(/^rcd_/);
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, body: r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text() };
    };
    expect((await api("POST", "/api/v1/projects", { name: "compose", default_image: images.runner })).status).toBe(201);
    const marker = `hello from compose ${randomBytes(4).toString("hex")}`;
    const submitted = await api("POST", "/api/v1/jobs", { name: "hello", project: "compose", command: `echo "${marker}"; id -u` });
    expect([submitted.status, submitted.status === 201 ? "" : submitted.body]).toEqual([201, ""]);
    const id = (submitted.body as { id: string }).id;

    let job = { status: "queued" } as { status: string; reason?: string };
    for (const deadline = Date.now() + 180_000; !["success", "failure", "error", "timed_out", "cancelled"].includes(job.status) && Date.now() < deadline; ) {
      await Bun.sleep(500);
      job = (await api("GET", `/api/v1/jobs/${id}`)).body as typeof job;
    }
    if (job.status !== "success") throw new Error(`job ended ${job.status} (${job.reason}):\n${text(compose("logs", "--no-color", "--tail", "80"))}`);
    // The coordinator moves a finished log to the object store (s3rver, reached from here with the
    // stack's key) and out of Postgres; the API then reads it back from there.
    const s3 = new Bun.S3Client({ endpoint: `http://127.0.0.1:${s3Port}`, bucket: "reactorcide-logs", accessKeyId: secrets.s3Key, secretAccessKey: secrets.s3Secret, region: "us-east-1" });
    let stored = "";
    for (const deadline = Date.now() + 60_000; !stored && Date.now() < deadline; ) {
      stored = await s3.file(logKey(id)).text().catch(() => "");
      if (!stored) await Bun.sleep(500);
    }
    expect(stored).toContain(marker);
    const log = (await api("GET", `/api/v1/jobs/${id}/logs`)).body as string;
    expect(log).toContain(marker);
    expect(log).toContain("1001"); // the job ran as the hardened job user, not root
    // Read from the store, not from Postgres: with the object gone, so is the log.
    await s3.delete(logKey(id));
    const afterDelete = await api("GET", `/api/v1/jobs/${id}/logs`);
    expect(String(afterDelete.body)).not.toContain(marker);

    // A key the store does not know is refused (the stack's S3 is not open to anyone).
    const stranger = new Bun.S3Client({ endpoint: `http://127.0.0.1:${s3Port}`, bucket: "reactorcide-logs", accessKeyId: "someone-else", secretAccessKey: "x", region: "us-east-1" });
    expect(await stranger.file(logKey(id)).text().then(() => "read", (e: { code?: string }) => e.code ?? "error")).toBe("InvalidAccessKeyId");

    const down = compose("down", "--volumes", "--timeout", "10");
    expect(down.exitCode).toBe(0);
    const left = Bun.spawnSync(["docker", "ps", "-a", "--filter", `label=com.docker.compose.project=${project}`, "--format", "{{.Names}}"], { stdout: "pipe" });
    expect(left.stdout.toString().trim()).toBe("");
    const volumes = Bun.spawnSync(["docker", "volume", "ls", "--filter", `label=com.docker.compose.project=${project}`, "--format", "{{.Name}}"], { stdout: "pipe" });
    expect(volumes.stdout.toString().trim()).toBe("");
  }, 600_000);
});
