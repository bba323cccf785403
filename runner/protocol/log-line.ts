/**
 * Log lines as they travel from the worker to the coordinator and its readers, and how they are
 * kept. Postgres text cannot hold NUL, and a stored line is one line: both are rewritten to
 * something visible before a line is stored, never dropped, so any byte a job prints shows up.
 */
import { Type } from "@sinclair/typebox";
import type { JobStatus } from "./job.ts";

export const LOG_STREAMS = ["stdout", "stderr", "system"] as const;
export type LogStreamName = (typeof LOG_STREAMS)[number];

/** GET /api/v1/jobs/{id}/logs: the log as text; `?follow=true` makes it the event stream below. */
export const JobLogTextSchema = Type.String({
  description: "the log as text/plain (textLine below); with ?follow=true a text/event-stream of `line` events (LogLineEvent) ending with one `end` event (LogEndEvent)",
});
/** A followed log's `line` event (its SSE id is `seq`). */
export interface LogLineEvent {
  seq: number;
  stream: LogStreamName;
  line: string;
}
/** A followed log's last event: the job's end, or why the stream stopped following it. */
export type LogEndEvent = { status: JobStatus | "deleted"; exit_code: number | null } | { status: "forbidden"; reason: string };

/** What a NUL byte in job output becomes: the replacement character, as for bytes that are not UTF-8. */
export const NUL_SHOWN_AS = "\uFFFD";
/** A line feed inside one line (only a hostile or broken sender makes one): SYMBOL FOR NEWLINE. */
export const LF_SHOWN_AS = "\u2424";

/** `line` as it is stored: NUL shown as U+FFFD, a line feed as U+2424. */
export function storableLine(line: string): string {
  if (line.includes("\0")) line = line.replaceAll("\0", NUL_SHOWN_AS);
  if (line.includes("\n")) line = line.replaceAll("\n", LF_SHOWN_AS);
  return line;
}

/**
 * Stored form of a run of lines (a Postgres chunk, the archive): one line each, its stream as one
 * leading character (o, e, s) and its text. Line numbers are implicit (first + index), so a line
 * costs two bytes beyond its text.
 */
const CODE: Record<LogStreamName, string> = { stdout: "o", stderr: "e", system: "s" };
const STREAM_OF: Record<string, LogStreamName> = { o: "stdout", e: "stderr", s: "system" };

export function encodeLines(lines: readonly { stream?: LogStreamName; line: string }[]): string {
  let out = "";
  for (const l of lines) out += CODE[l.stream ?? "stdout"] + storableLine(l.line) + "\n";
  return out;
}

/** One stored line (without its "\n") back to stream and text. */
export function decodeLine(stored: string): { stream: LogStreamName; line: string } {
  return { stream: STREAM_OF[stored[0] ?? "o"] ?? "stdout", line: stored.slice(1) };
}

/**
 * The plain-text log (GET .../logs, `reactorcide logs`): job output as printed, the worker's own
 * lines behind SYSTEM_MARK. A job line that itself starts with the mark gets a backslash in
 * front, so job output can never pass for a line of the system's.
 */
export const SYSTEM_MARK = "[reactorcide] ";

// What a terminal does not show as text: escape sequences (CSI, OSC, two-character) and C0 controls.
const INVISIBLE = /\x1b\[[0-9;:?<=>]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?|[\x00-\x08\x0b-\x1f\x7f]/g;

export function textLine(stream: LogStreamName, line: string): string {
  if (stream === "system") return SYSTEM_MARK + line;
  if (!line.includes(SYSTEM_MARK.trimEnd())) return line;
  // As it shows, not as it is: colour codes or a CR in front must not make a forgery pass.
  return line.replace(INVISIBLE, "").startsWith(SYSTEM_MARK.trimEnd()) ? "\\" + line : line;
}
