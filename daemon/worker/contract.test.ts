/**
 * The job contract end to end: each field of POST /api/v1/jobs (runner/protocol/job.ts) has its
 * effect inside the job, through the real API, the embedded Corndogs queue, a worker over HTTP
 * and gRPC, and real containers of the locally built runner image (or the process runtime).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ensureRunnerBinary } from "../../runner/testing/binary.ts";
import { ensureRunnerImage } from "../../runner/testing/image.ts";
import { startTestSystem, type TestSystem } from "./testing/system.ts";

let image: string;
let docker: TestSystem;
let processSystem: TestSystem;
const lateImages: string[] = [];

beforeAll(async () => {
  image = await ensureRunnerImage();
  docker = await startTestSystem({ image });
  await docker.addWorker({ runtime: "docker", concurrency: 2, settings: { retryBaseMs: 1500 } });
  processSystem = await startTestSystem({ image });
  await processSystem.addWorker({ runtime: "process", concurrency: 1, runnerPath: await ensureRunnerBinary() });
}, 900_000);

afterAll(async () => {
  await docker?.close();
  await processSystem?.close();
  for (const tag of lateImages) await Bun.spawn(["docker", "rmi", "-f", tag], { stdout: "ignore", stderr: "ignore" }).exited;
});

/** The job's own output lines (the log's system lines are marked [reactorcide]). */
const jobLines = async (system: TestSystem, id: string) => (await system.logText(id)).split("\n").filter((l) => l && !l.startsWith("[reactorcide]"));

describe("the job contract in real containers", () => {
  test("network: none leaves the job only a loopback interface; the default has more", async () => {
    const command = "ls /sys/class/net";
    const [none, normal] = await Promise.all([
      docker.submit({ name: "net-none", command, network: "none" }),
      docker.submit({ name: "net-default", command }),
    ]);
    expect(none.network).toBe("none");
    expect(normal.network).toBe("default");
    const [a, b] = await Promise.all([docker.waitFor(none.id), docker.waitFor(normal.id)]);
    expect([a.status, b.status]).toEqual(["success", "success"]);
    const noneIfaces = (await jobLines(docker, none.id)).filter((l) => /^[a-z0-9]+$/.test(l));
    const defaultIfaces = (await jobLines(docker, normal.id)).filter((l) => /^[a-z0-9]+$/.test(l));
    expect(noneIfaces).toEqual(["lo"]);
    expect(defaultIfaces).toContain("lo");
    expect(defaultIfaces.length).toBeGreaterThan(1);
  }, 180_000);

  test("retries: 2 retries an image that appears only after the first attempt, and the job succeeds", async () => {
    const late = `reactorcide-contract/late-${crypto.randomUUID().slice(0, 8)}:1`;
    lateImages.push(late);
    const job = await docker.submit({ name: "late-image", command: "echo ran-on-late-image", image: late, retries: 2 });
    expect(job.retries).toBe(2);
    // The first attempt fails (image missing): then the image appears, as a registry push would make it.
    const deadline = Date.now() + 60_000;
    while (!(await docker.logText(job.id)).includes("retrying in")) {
      if (Date.now() > deadline) throw new Error(`no retry in the log: ${await docker.logText(job.id)}`);
      await Bun.sleep(50);
    }
    expect((await Bun.spawn(["docker", "tag", image, late], { stdout: "ignore", stderr: "inherit" }).exited)).toBe(0);
    const done = await docker.waitFor(job.id);
    expect(done.status).toBe("success");
    const log = await docker.logText(job.id);
    expect(log).toContain("ran-on-late-image");
    expect(log).toMatch(/infrastructure error: .*retrying in/);
    expect(done.image).toBe(late);
  }, 180_000);

  test("retries: 0 (the default) ends error at the first missing image", async () => {
    const job = await docker.submit({ name: "no-retry", command: "true", image: `reactorcide-contract/never-${crypto.randomUUID().slice(0, 8)}:1` });
    expect(job.retries).toBe(0);
    const done = await docker.waitFor(job.id);
    expect(done.status).toBe("error");
    expect(await docker.logText(job.id)).not.toContain("retrying in");
  }, 120_000);

  test("untrusted: the process runtime refuses the job with a clear reason; the same job trusted runs", async () => {
    const [untrusted, trusted] = await Promise.all([
      processSystem.submit({ name: "fork-pr", command: "echo must-not-run", untrusted: true }),
      processSystem.submit({ name: "own-branch", command: "echo did-run" }),
    ]);
    expect(untrusted.untrusted).toBe(true);
    const [refused, ran] = await Promise.all([processSystem.waitFor(untrusted.id), processSystem.waitFor(trusted.id)]);
    expect(refused.status).toBe("error");
    expect(refused.reason).toContain('runtime "process" refuses jobs that run untrusted source');
    expect(await processSystem.logText(untrusted.id)).not.toContain("must-not-run");
    expect(ran.status).toBe("success");
    expect(await processSystem.logText(trusted.id)).toContain("did-run");
  }, 120_000);
});
