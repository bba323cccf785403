import { expect, test } from "bun:test";
import { join } from "node:path";

const here = import.meta.dir;

/** Runs `code` in a child Bun whose stdout is a pipe read here, after `delayMs` (so the pipe fills). */
async function childOutput(code: string, delayMs: number): Promise<Buffer> {
  const proc = Bun.spawn([process.execPath, "-e", code], { cwd: here, stdout: "pipe", stderr: "pipe" });
  await Bun.sleep(delayMs);
  const [out, err, exit] = await Promise.all([new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).text(), proc.exited]);
  expect(err).toBe("");
  expect(exit).toBe(0);
  return Buffer.from(out);
}

test("writev puts every chunk out in order, through a pipe fuller than its buffer", async () => {
  const out = await childOutput(
    `import { FdSink } from ${JSON.stringify(join(here, "fd-sink.ts"))};
     const sink = new FdSink(1);
     const a = new Uint8Array(3 << 20).fill(97), b = new Uint8Array(1).fill(98), c = new Uint8Array(2 << 20).fill(99);
     sink.writev([a, new Uint8Array(0), b, c]);
     sink.writev([new TextEncoder().encode("|end")]);`,
    200,
  );
  expect(out.length).toBe((3 << 20) + 1 + (2 << 20) + 4);
  expect(out.subarray(0, 3 << 20).every((x) => x === 97)).toBe(true);
  expect(out[3 << 20]).toBe(98);
  expect(out.subarray((3 << 20) + 1, (5 << 20) + 1).every((x) => x === 99)).toBe(true);
  expect(out.subarray(-4).toString()).toBe("|end");
});

test("a job's output through the runner's own stdout: bytes held back for a possible secret go out with the next write, masked or not", async () => {
  const out = await childOutput(
    `import { Output } from ${JSON.stringify(join(here, "output.ts"))};
     import { Masker } from ${JSON.stringify(join(here, "../secrets/masker.ts"))};
     const masker = new Masker();
     masker.register(["hunter22-secret-value"]);
     const output = new Output({ masker });
     const job = output.jobStream("stdout");
     const enc = new TextEncoder();
     job.write(enc.encode("x".repeat(200000) + " hunter22-"));
     job.write(enc.encode("secret-value and hunter22"));
     job.write(enc.encode("-sec but not\\n"));
     job.end();`,
    100,
  );
  expect(out.toString()).toBe(`${"x".repeat(200000)} *** and hunter22-sec but not\n`);
});
