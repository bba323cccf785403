import { expect, test } from "bun:test";
import { base64Core } from "../../../runner/secrets/encodings.ts";
import { Masker } from "../../../runner/secrets/masker.ts";
import { chunkLines, type ShippedLine as LogLine } from "./chunk-lines.ts";
import { LogShipper, type ShippedChunk } from "./shipper.ts";
import { storedLinesProblem } from "../../../runner/protocol/log-chunk.ts";

function streamOf(chunks: (string | Uint8Array)[], delayMs = 0): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    async start(controller) {
      for (const chunk of chunks) {
        if (delayMs) await Bun.sleep(delayMs);
        controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      }
      controller.close();
    },
  });
}

test("lines split across chunks (and a UTF-8 character split in two) come out whole, masked, in order", async () => {
  const masker = new Masker();
  masker.register(["hunter2-secret"]);
  const batches: LogLine[][] = [];
  const shipper = new LogShipper({ masker, send: async (c) => void batches.push(chunkLines(c)) });
  const euro = new TextEncoder().encode("€");
  await Promise.all([
    shipper.pump("stdout", streamOf(["first hun", "ter2-sec", "ret line\nsecond ", euro.slice(0, 1), euro.slice(1), "\r\nno newline at end"])),
    shipper.pump("stderr", streamOf(["err: aHVudGVyMi1zZWNyZXQ= (base64)\n"])),
  ]);
  await shipper.close();
  const lines = batches.flat();
  expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
  const byStream = (s: string) => lines.filter((l) => l.stream === s).map((l) => l.line);
  expect(byStream("stdout")).toEqual(["first *** line", "second €", "no newline at end"]);
  expect(byStream("stderr")).toEqual(["err: *** (base64)"]);
  expect(JSON.stringify(lines)).not.toContain("hunter2");
});

test("batches respect the line cap and ship at least every interval while output flows", async () => {
  const batches: LogLine[][] = [];
  const shipper = new LogShipper({ masker: new Masker(), maxLines: 10, intervalMs: 300, send: async (c) => void batches.push(chunkLines(c)) });
  await shipper.pump("stdout", streamOf([Array.from({ length: 25 }, (_, i) => `l${i}\n`).join("")]));
  // The two full chunks go out as soon as they are packed (on Bun's thread pool), in offset order.
  for (let waited = 0; batches.length < 2 && waited < 250; waited += 5) await Bun.sleep(5);
  expect(batches.map((b) => b.length)).toEqual([10, 10]);
  expect(batches.flat().map((l) => l.line)).toEqual(Array.from({ length: 20 }, (_, i) => `l${i}`));
  await Bun.sleep(450); // the remaining 5 go out on the timer, before close
  expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
  await shipper.close();
  expect(batches.flat().map((l) => l.line)).toEqual(Array.from({ length: 25 }, (_, i) => `l${i}`));
});

/** A coordinator's log as the real one keeps it: a batch is taken only at the offset it holds (409 when ahead), once. */
function offsetLog() {
  const received: LogLine[] = [];
  const store = (chunk: ShippedChunk) => {
    if (chunk.offset > received.length) throw Object.assign(new Error(`gap: ${received.length} held, offset ${chunk.offset}`), { status: 409 });
    received.push(...chunkLines(chunk).slice(received.length - chunk.offset));
  };
  return { received, store };
}

test("a failing coordinator is retried without losing or reordering lines", async () => {
  const { received, store } = offsetLog();
  let calls = 0;
  const shipper = new LogShipper({
    masker: new Masker(),
    maxLines: 3,
    send: async (chunk) => {
      if (++calls % 2 === 1) throw new Error("503 from coordinator");
      store(chunk);
    },
  });
  await shipper.pump("stdout", streamOf(["a\nb\nc\nd\ne\nf\ng\n"]));
  await shipper.close();
  expect(received.map((l) => l.line)).toEqual(["a", "b", "c", "d", "e", "f", "g"]);
});

test("batches in flight at once, answered out of order and some lost after storing, arrive once each, in order", async () => {
  const { received, store } = offsetLog();
  let calls = 0;
  const shipper = new LogShipper({
    masker: new Masker(),
    maxLines: 2,
    maxInFlight: 4,
    send: async (chunk) => {
      const call = ++calls;
      await Bun.sleep((call * 7) % 5); // later sends often answer first
      store(chunk);
      if (call % 3 === 0) throw new Error("connection reset after the coordinator stored the batch");
    },
  });
  const lines = Array.from({ length: 40 }, (_, i) => `n${i}`);
  await shipper.pump("stdout", streamOf([lines.join("\n") + "\n"]));
  await shipper.close();
  expect(received.map((l) => l.line)).toEqual(lines);
  expect(calls).toBeGreaterThan(20);
});

test("a coordinator that never accepts makes close() fail loudly instead of dropping lines", async () => {
  const shipper = new LogShipper({ masker: new Masker(), maxAttempts: 2, send: async () => Promise.reject(new Error("connection refused")) });
  shipper.system("hello");
  await expect(shipper.close()).rejects.toThrow(/could not be shipped: connection refused/);
});

test("a very long line without newlines is masked whole before it is cut into pieces", async () => {
  const masker = new Masker();
  masker.register(["SECRETVALUE-123"]);
  const lines: LogLine[] = [];
  const shipper = new LogShipper({ masker, maxLineBytes: 100, send: async (c) => void lines.push(...chunkLines(c)) });
  // The secret straddles the 100-character cut.
  const text = "x".repeat(95) + "SECRETVALUE-123" + "y".repeat(500);
  await shipper.pump("stdout", streamOf([text.slice(0, 300), text.slice(300)]));
  await shipper.close();
  const joined = lines.map((l) => l.line).join("");
  expect(joined).not.toContain("SECRETVALUE");
  expect(joined).toBe("x".repeat(95) + "***" + "y".repeat(500));
  expect(Math.max(...lines.map((l) => l.line.length))).toBeLessThanOrEqual(100);
});

test("a secret split across chunks of a long line without newlines is not shipped in two unmasked halves", async () => {
  const masker = new Masker();
  masker.register(["s3cr3t-value-XYZ"]);
  const lines: LogLine[] = [];
  const shipper = new LogShipper({ masker, maxLineBytes: 16, send: async (c) => void lines.push(...chunkLines(c)) });
  // The first chunk passes the 64-character threshold in the middle of the secret.
  await shipper.pump("stdout", streamOf(["a".repeat(60) + "s3cr3t-", "value-XYZ" + "b".repeat(10) + "\n"]));
  await shipper.close();
  const joined = lines.map((l) => l.line).join("");
  expect(joined).toBe("a".repeat(60) + "***" + "b".repeat(10));
  expect(Math.max(...lines.map((l) => l.line.length))).toBeLessThanOrEqual(16);
});

/** A source that prints until stopped (or 32 MiB), counting what it handed out; it yields like a pipe. */
function untilStopped(line: string): { stream: ReadableStream<Uint8Array>; pulled: () => number; stop: () => void } {
  const chunk = new TextEncoder().encode(line.repeat(1000));
  let pulled = 0;
  let stopped = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await Bun.sleep(0);
      if (stopped || pulled >= 32 * 2 ** 20) return controller.close();
      pulled += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return { stream, pulled: () => pulled, stop: () => (stopped = true) };
}

test("a job printing faster than the coordinator takes lines is held back: worker memory stays bounded", async () => {
  let release!: () => void;
  const stalled = new Promise<void>((resolve) => (release = resolve));
  const shipper = new LogShipper({ masker: new Masker(), maxBytes: 64 * 1024, send: () => stalled });
  const source = untilStopped("x".repeat(99) + "\n");
  const pumping = shipper.pump("stdout", source.stream);
  await Bun.sleep(300);
  // A handful of 64 KiB batches, not everything the job could print in 300 ms.
  expect(source.pulled()).toBeLessThan(2 * 2 ** 20);
  source.stop();
  release();
  await pumping;
  await shipper.close();
});

test("output past the log cap is dropped after one system line saying so; the worker's own lines still ship", async () => {
  const batches: LogLine[][] = [];
  const shipper = new LogShipper({ masker: new Masker(), maxTotalBytes: 10_000, send: async (c) => void batches.push(chunkLines(c)) });
  await shipper.pump("stdout", streamOf([Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join("")]));
  shipper.system("success (exit 0)");
  await shipper.close();
  const lines = batches.flat();
  const output = lines.filter((l) => l.stream === "stdout");
  expect(output.reduce((n, l) => n + l.line.length, 0)).toBeLessThanOrEqual(10_000);
  expect(lines.filter((l) => l.stream === "system").map((l) => l.line)).toEqual([
    "log truncated: the job printed more than 10000 bytes; the rest of its output is not kept",
    "success (exit 0)",
  ]);
  expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
});

test("a NUL byte is shown as U+FFFD, and the lines after it are shipped too", async () => {
  const sent: LogLine[] = [];
  const shipper = new LogShipper({ send: async (c) => void sent.push(...chunkLines(c)), masker: new Masker() });
  await shipper.pump("stdout", new Response("before\nx\0y\nafter\n").body!);
  await shipper.close();
  expect(sent.map((l) => l.line)).toEqual(["before", "x\uFFFDy", "after"]);
});

test("a batch the coordinator refuses (4xx) fails close at once instead of retrying", async () => {
  let calls = 0;
  const shipper = new LogShipper({
    send: async () => {
      calls++;
      throw Object.assign(new Error("shipping: refused"), { status: 400 });
    },
    masker: new Masker(),
  });
  shipper.system("one");
  await expect(shipper.close()).rejects.toThrow(/could not be shipped: shipping: refused/);
  expect(calls).toBe(1);
});

test("line-wrapped base64 of a secret is masked even when a chunk ends at the wrap", async () => {
  const secret = "wr4pped-Secret-Value-9f3K";
  const masker = new Masker();
  masker.register([secret]);
  const encoded = Bun.spawnSync(["base64"], { stdin: new TextEncoder().encode(`${"x".repeat(40)}TOKEN=${secret}\n`) }).stdout.toString();
  const wrap = encoded.indexOf("\n") + 1;
  expect(wrap).toBeGreaterThan(0);
  const sent: LogLine[] = [];
  const shipper = new LogShipper({ masker, send: async (c) => void sent.push(...chunkLines(c)) });
  await shipper.pump("stdout", streamOf([encoded.slice(0, wrap), encoded.slice(wrap)], 5));
  await shipper.close();
  const joined = sent.map((l) => l.line).join("");
  for (const alignment of [0, 1, 2] as const) expect(joined).not.toContain(base64Core(new TextEncoder().encode(secret), alignment).slice(1));
  expect(joined).toContain("***");
});

test("what the shipper frames is what the coordinator accepts, whatever the job printed (invalid UTF-8, NUL, CR, a long line cut inside a character)", async () => {
  const chunks: ShippedChunk[] = [];
  const shipper = new LogShipper({ masker: new Masker(), maxLineBytes: 10, send: async (c) => void chunks.push(c) });
  const bad = Uint8Array.from([0x61, 0xff, 0x62, 0x0a, 0x63, 0x00, 0x64, 0x0d, 0x0a, 0xe2, 0x82, 0x0a]);
  // 3 + 3 + 3 bytes per €: a cut at 10 bytes falls inside the fourth.
  await shipper.pump("stderr", streamOf([bad, "€€€€€€\n", "\r\n", "\n"]));
  shipper.system("done");
  await shipper.close();
  for (const c of chunks) expect(storedLinesProblem(Buffer.from(Bun.zstdDecompressSync(c.packed)), c.lines)).toBeUndefined();
  const lines = chunks.flatMap(chunkLines);
  expect(lines.map((l) => l.line)).toEqual(["a\uFFFDb", "c\uFFFDd", "\uFFFD", "€€€", "€€€", "", "", "done"]);
  expect(lines.map((l) => l.stream)).toEqual([...Array(7).fill("stderr"), "system"]);
});
