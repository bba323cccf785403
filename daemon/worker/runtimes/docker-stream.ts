/**
 * Docker's multiplexed attach stream (a container without a TTY) split back into stdout and
 * stderr. Each frame is an 8-byte header — stream type (1 stdout, 2 stderr), three zero bytes, the
 * payload's length as a big-endian uint32 — then the payload. Frames come in the order the engine
 * read them from the job, so each stream keeps its order; a frame may arrive split across chunks.
 * Hand-rolled (~50 lines) because the libraries that do it (dockerode's demuxStream) work on Node
 * streams and would bring dockerode and docker-modem for this alone.
 */

const HEADER = 8;
/** Bytes each side buffers before the attach stream stops being read (the job then waits on its write, as on a full pipe). */
const HIGH_WATER = 1 << 20;

export interface Demuxed {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  /** Settles when the whole attach stream has been read (rejects if it broke off). */
  done: Promise<void>;
}

export function demuxDockerStream(source: ReadableStream<Uint8Array>): Demuxed {
  const sides = [side(), side()] as const;
  const done = (async () => {
    const reader = source.getReader();
    let pending: Uint8Array = new Uint8Array(0);
    try {
      for (;;) {
        const { done: end, value } = await reader.read();
        if (end) break;
        pending = pending.length ? concat(pending, value) : value;
        let at = 0;
        while (pending.length - at >= HEADER) {
          const view = new DataView(pending.buffer, pending.byteOffset + at, HEADER);
          const size = view.getUint32(4);
          if (pending.length - at - HEADER < size) break;
          // Type 0 (stdin echoed) cannot occur without stdin; it and anything unknown count as stdout.
          const target = pending[at] === 2 ? sides[1] : sides[0];
          if (size > 0) await target.push(pending.slice(at + HEADER, at + HEADER + size));
          at += HEADER + size;
        }
        pending = at === pending.length ? new Uint8Array(0) : pending.subarray(at);
      }
      if (pending.length) throw new Error(`the attach stream ended inside a frame (${pending.length} bytes left over)`);
      for (const s of sides) s.close();
    } catch (error) {
      for (const s of sides) s.error(error);
      throw error;
    } finally {
      reader.releaseLock();
    }
  })();
  // Whoever reads the streams sees a failure there; `done` is for the caller that waits on it.
  done.catch(() => {});
  return { stdout: sides[0].stream, stderr: sides[1].stream, done };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** One output side: a byte-counted buffer that makes the demuxer wait while it is full. */
function side() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let room: (() => void) | null = null;
  let open = true;
  const stream = new ReadableStream<Uint8Array>(
    {
      start: (c) => void (controller = c),
      pull: () => {
        room?.();
        room = null;
      },
      cancel: () => {
        // Nobody reads this side any more: what comes for it is dropped, the other side goes on.
        open = false;
        room?.();
        room = null;
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER }),
  );
  return {
    stream,
    async push(chunk: Uint8Array): Promise<void> {
      if (!open) return;
      controller.enqueue(chunk);
      if ((controller.desiredSize ?? 1) <= 0) await new Promise<void>((resolve) => (room = resolve));
    },
    close() {
      if (open) controller.close();
      open = false;
    },
    error(reason: unknown) {
      if (open) controller.error(reason);
      open = false;
    },
  };
}
