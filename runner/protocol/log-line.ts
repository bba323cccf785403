/**
 * Log lines as they travel from the worker to the coordinator and its readers. Postgres text
 * cannot hold NUL, and a line is one line: both are rewritten to something visible before a line
 * is stored, never dropped, so any byte a job prints shows up in its log.
 */

/** What a NUL byte in job output becomes: the replacement character, as for bytes that are not UTF-8. */
export const NUL_SHOWN_AS = "\uFFFD";

/** `line` with every NUL shown as U+FFFD. */
export function storableLine(line: string): string {
  return line.includes("\0") ? line.replaceAll("\0", NUL_SHOWN_AS) : line;
}
