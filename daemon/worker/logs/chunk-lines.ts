/**
 * A shipped chunk's lines read back, for the in-memory coordinator and the tests, which keep and
 * compare lines rather than packed bytes. The coordinator itself never splits a chunk into lines.
 */
import { decodeLine, type LogStreamName } from "../../../runner/protocol/log-line.ts";
import type { ShippedChunk } from "./shipper.ts";

export interface ShippedLine {
  /** 1-based, in the order the worker framed the lines. */
  seq: number;
  stream: LogStreamName;
  line: string;
}

export function chunkLines(chunk: ShippedChunk): ShippedLine[] {
  const stored = Buffer.from(Bun.zstdDecompressSync(chunk.packed)).toString("utf8").split("\n");
  stored.pop();
  if (stored.length !== chunk.lines) throw new Error(`a chunk said to hold ${chunk.lines} lines holds ${stored.length}`);
  return stored.map((s, i) => ({ seq: chunk.offset + i + 1, ...decodeLine(s) }));
}
