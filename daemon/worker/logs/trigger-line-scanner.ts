/**
 * Finds the job's `::reactorcide::trigger::` lines in its raw stdout, fed chunk by chunk as the
 * shipper reads it (before masking: a trigger line is the job's own request). Only a line whose
 * first byte can start the prefix is collected; every other line costs one indexOf to skip.
 */
import { TRIGGER_LINE_PREFIX } from "../../../runner/protocol/trigger.ts";

const PREFIX = Buffer.from(TRIGGER_LINE_PREFIX);

export class TriggerLineScanner {
  private atLineStart = true;
  /** The line being collected: it starts (so far) like a trigger line. */
  private line: Buffer[] | null = null;
  private lineBytes = 0;
  private matched = false;

  /** `found` gets each trigger line whole, without its newline (or CR); longer lines than `maxLineBytes` are skipped. */
  constructor(
    private readonly found: (line: string) => void,
    private readonly maxLineBytes = 16 << 20,
  ) {}

  write(chunk: Uint8Array): void {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (pos < bytes.length) {
      if (this.line) {
        const newline = bytes.indexOf(0x0a, pos);
        const end = newline < 0 ? bytes.length : newline;
        this.collect(bytes.subarray(pos, end));
        if (newline < 0) return;
        this.finish();
        pos = newline + 1;
        this.atLineStart = true;
        continue;
      }
      if (this.atLineStart) {
        this.atLineStart = false;
        if (bytes[pos] === PREFIX[0]) {
          this.line = [];
          this.lineBytes = 0;
          this.matched = false;
          continue;
        }
      }
      const newline = bytes.indexOf(0x0a, pos);
      if (newline < 0) return;
      pos = newline + 1;
      this.atLineStart = true;
    }
  }

  /** The output ended: a trigger line without a newline counts too. */
  end(): void {
    if (this.line) this.finish();
  }

  private collect(part: Buffer): void {
    // Copied: the chunk is the reader's, and a trigger line may span many.
    this.line!.push(Buffer.from(part));
    this.lineBytes += part.length;
    if (!this.matched) {
      const head = Buffer.concat(this.line!).subarray(0, PREFIX.length);
      if (!PREFIX.subarray(0, head.length).equals(head)) return this.drop();
      this.matched = head.length === PREFIX.length;
    }
    if (this.lineBytes > this.maxLineBytes) this.drop();
  }

  private drop(): void {
    this.line = null;
  }

  private finish(): void {
    const line = this.line;
    this.line = null;
    if (!line || !this.matched) return;
    const text = Buffer.concat(line).toString("utf8");
    this.found(text.endsWith("\r") ? text.slice(0, -1) : text);
  }
}
