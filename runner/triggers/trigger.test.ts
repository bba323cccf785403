import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { useTempDirs } from "../testing/temp-dirs.ts";
import { parseTriggerLine, type TriggerPayload } from "../protocol/trigger.ts";
import { readTriggersFile } from "./file.ts";
import { triggerJob, triggerJobs } from "./trigger.ts";

const workspace = useTempDirs("rc-triggers");

function collect() {
  const lines: string[] = [];
  return { lines, writeLine: (line: string) => lines.push(line) };
}

describe("triggerJobs", () => {
  test("writes triggers.json with defaults filled, prints one stdout line, appends to an existing file", async () => {
    const ws = workspace();
    const out = collect();
    const first = await triggerJob("deploy", { env: { TARGET: "staging" } }, { workspace: ws, env: {}, ...out });
    const second = await triggerJobs([{ job_name: "notify", condition: "always", depends_on: ["deploy"] }], {
      workspace: ws,
      env: {},
      ...out,
    });
    expect(second.operationId).toBe(first.operationId);
    const file = readTriggersFile(ws);
    expect(file).toEqual({
      type: "trigger_job",
      operation_id: first.operationId,
      jobs: [
        { job_name: "deploy", depends_on: [], condition: "all_success", env: { TARGET: "staging" } },
        { job_name: "notify", depends_on: ["deploy"], condition: "always", env: {} },
      ],
    });
    expect(out.lines).toHaveLength(2);
    expect(parseTriggerLine(out.lines[1]!)?.jobs.map((j) => j.job_name)).toEqual(["notify"]);
    expect(parseTriggerLine(out.lines[0]!)?.operation_id).toBe(first.operationId);
  });

  test("a bad job is refused with the field named and nothing is written", async () => {
    const ws = workspace();
    const out = collect();
    await expect(
      triggerJobs([{ job_name: "ok" }, { job_name: "x", condition: "sometimes" } as never], { workspace: ws, env: {}, ...out }),
    ).rejects.toThrow("jobs[1].condition");
    await expect(triggerJobs([{ job_name: "x", when: 1 } as never], { workspace: ws, env: {}, ...out })).rejects.toThrow(
      "jobs[0].when: unknown field",
    );
    expect(existsSync(join(ws, "triggers.json"))).toBe(false);
    expect(out.lines).toEqual([]);
  });

  test("parallel processes appending at once lose no job", async () => {
    const ws = workspace();
    const module = join(import.meta.dir, "trigger.ts");
    const procs = Array.from({ length: 6 }, (_, p) =>
      Bun.spawn(
        [
          process.execPath,
          "-e",
          `const { triggerJob } = await import(${JSON.stringify(module)});
           for (let i = 0; i < 5; i++) await triggerJob("job-${p}-" + i, {}, { workspace: ${JSON.stringify(ws)}, env: {} });`,
        ],
        { stdout: "ignore", stderr: "inherit" },
      ),
    );
    expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(readTriggersFile(ws)?.jobs).toHaveLength(30);
  });

  describe("POST to the coordinator", () => {
    let received: { auth: string | null; path: string; body: TriggerPayload }[] = [];
    function coordinator(status: number) {
      received = [];
      return Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        async fetch(req) {
          received.push({ auth: req.headers.get("authorization"), path: new URL(req.url).pathname, body: (await req.json()) as TriggerPayload });
          return new Response("{}", { status });
        },
      });
    }
    const env = (url: string) => ({
      REACTORCIDE_COORDINATOR_URL: url,
      REACTORCIDE_API_TOKEN: "tok-123",
      REACTORCIDE_JOB_ID: "job-42",
    });

    test("a 201 removes the file; the coordinator got the whole pending payload with the token", async () => {
      const server = coordinator(201);
      try {
        const ws = workspace();
        const out = collect();
        const result = await triggerJob("build", {}, {
          workspace: ws,
          env: env(`http://127.0.0.1:${server.port}`),
          allowInsecureTransport: true,
          ...out,
        });
        expect(result.postStatus).toBe(201);
        expect(result.file).toBeNull();
        expect(existsSync(join(ws, "triggers.json"))).toBe(false);
        expect(received).toHaveLength(1);
        expect(received[0]?.auth).toBe("Bearer tok-123");
        expect(received[0]?.path).toBe("/api/v1/jobs/job-42/triggers");
        expect(received[0]?.body.operation_id).toBe(result.operationId);
        expect(received[0]?.body.jobs.map((j) => j.job_name)).toEqual(["build"]);
        expect(out.lines).toHaveLength(1);
      } finally {
        server.stop(true);
      }
    });

    test("an error status keeps the file so the worker still finds the triggers", async () => {
      const server = coordinator(500);
      try {
        const ws = workspace();
        const result = await triggerJob("build", {}, {
          workspace: ws,
          env: env(`http://127.0.0.1:${server.port}`),
          allowInsecureTransport: true,
          ...collect(),
        });
        expect(result.postStatus).toBe(500);
        expect(JSON.parse(readFileSync(join(ws, "triggers.json"), "utf8")).jobs[0].job_name).toBe("build");
      } finally {
        server.stop(true);
      }
    });

    test("plain http is refused without --allow-insecure-transport, before anything is written", async () => {
      const server = coordinator(201);
      try {
        const ws = workspace();
        const out = collect();
        await expect(
          triggerJob("build", {}, { workspace: ws, env: env(`http://127.0.0.1:${server.port}`), ...out }),
        ).rejects.toThrow("REACTORCIDE_COORDINATOR_URL: http:// refused");
        expect(received).toHaveLength(0);
        expect(existsSync(join(ws, "triggers.json"))).toBe(false);
        expect(out.lines).toEqual([]);
      } finally {
        server.stop(true);
      }
    });

    test("a hostile job id cannot redirect the request to another path", async () => {
      const ws = workspace();
      await expect(
        triggerJob("build", {}, {
          workspace: ws,
          env: { ...env("https://coordinator.invalid"), REACTORCIDE_JOB_ID: "../../admin" },
          ...collect(),
        }),
      ).rejects.toThrow("REACTORCIDE_JOB_ID");
    });
  });
});
