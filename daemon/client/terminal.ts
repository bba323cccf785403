/**
 * Job output made safe for the reader's terminal. A job's log is the job's text, not the reader's
 * terminal's commands: colours (SGR, `ESC [ ... m`) are kept; every other control character or
 * sequence (clear screen, cursor moves, OSC titles and hyperlinks, a bare CR that overwrites the
 * line, BEL, C1 controls) is shown as its Unicode control picture (␛ ␍ ␇ ...) instead of acting.
 * The system's own lines are shown behind a mark the job's output cannot produce (textLine).
 */
import { SYSTEM_MARK, textLine, type LogStreamName } from "../../runner/protocol/log-line.ts";

const SGR = /\x1b\[[0-9;:]*m/y;
const RESET = "\x1b[0m";

/** `text` with SGR kept and any other control character replaced by its control picture. */
export function terminalSafe(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x1b) {
      SGR.lastIndex = i;
      const m = SGR.exec(text);
      if (m) {
        out += m[0];
        i += m[0].length - 1;
        continue;
      }
    }
    if (c === 0x09 || (c >= 0x20 && c < 0x7f) || c > 0x9f) out += text[i];
    else if (c < 0x20) out += String.fromCharCode(0x2400 + c);
    else if (c === 0x7f) out += "\u2421";
    else out += "\uFFFD"; // C1 controls (0x80-0x9f): some terminals act on them as ESC sequences
  }
  return out;
}

/** One line of the plain-text log (GET .../logs) for a terminal: system lines styled, job lines neutralised, colours reset after each. */
export function terminalTextLine(line: string): string {
  if (line.startsWith(SYSTEM_MARK)) return `${RESET}\x1b[1;36m${SYSTEM_MARK.trimEnd()}${RESET} ${terminalSafe(line.slice(SYSTEM_MARK.length))}`;
  return terminalSafe(line) + (line.includes("\x1b") ? RESET : "");
}

/** A followed line (stream and text) for a terminal, marked as the text log marks it. */
export const terminalLine = (line: string, stream: LogStreamName) => terminalTextLine(textLine(stream, line));
