import { describe, expect, test } from "bun:test";
import { demuxDockerStream } from "./docker-stream.ts";

/** One frame as the engine writes it: type, three zero bytes, big-endian length, payload. */
function frame(type: number, text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

async function split(chunks: Uint8Array[]) {
  const { stdout, stderr, done } = demuxDockerStream(streamOf(chunks));
  const [out, err] = await Promise.all([new Response(stdout).text(), new Response(stderr).text(), done]);
  return { out, err };
}

describe("docker attach stream", () => {
  const frames = [frame(1, "one\n"), frame(2, "err-a "), frame(1, ""), frame(1, "two ✓\n"), frame(2, "err-b\n")];
  const whole = Uint8Array.from(frames.flatMap((f) => [...f]));

  test("frames go to their stream in order, whatever the chunk boundaries (headers and a UTF-8 character split too)", async () => {
    for (let cut = 1; cut < whole.length; cut++) {
      const { out, err } = await split([whole.slice(0, cut), whole.slice(cut)]);
      expect(out).toBe("one\ntwo ✓\n");
      expect(err).toBe("err-a err-b\n");
    }
    const bytes = await split([...whole].map((b) => Uint8Array.of(b)));
    expect(bytes).toEqual({ out: "one\ntwo ✓\n", err: "err-a err-b\n" });
  });

  test("a stream that ends inside a frame is an error on both sides, not silently short output", async () => {
    const { stdout, stderr, done } = demuxDockerStream(streamOf([whole.slice(0, whole.length - 3)]));
    expect(await done.catch((e: Error) => e.message)).toContain("inside a frame");
    expect(await new Response(stdout).text().catch(() => "failed")).toBe("failed");
    expect(await new Response(stderr).text().catch(() => "failed")).toBe("failed");
  });

  test("an unread side holds the stream back instead of buffering without end; the other side's output still comes", async () => {
    const big = "x".repeat(64 * 1024);
    const chunks = [frame(2, "first\n"), ...Array.from({ length: 40 }, () => frame(1, big)), frame(2, "last\n")];
    let pulled = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled === chunks.length) controller.close();
        else controller.enqueue(chunks[pulled++]!);
      },
    });
    const { stdout, stderr } = demuxDockerStream(source);
    const errReader = stderr.getReader();
    expect(new TextDecoder().decode((await errReader.read()).value)).toBe("first\n");
    await Bun.sleep(50);
    // 2.5 MB for stdout, nobody reading it: reading stops near the 1 MiB buffer.
    expect(pulled).toBeLessThan(30);
    const out = await new Response(stdout).text();
    expect(out.length).toBe(40 * big.length);
    expect(new TextDecoder().decode((await errReader.read()).value)).toBe("last\n");
  });
});
