import Anser from "anser";

export interface Segment {
  text: string;
  color?: string;
  background?: string;
  classes?: string;
}

// OSC (window titles, hyperlinks) and two-byte escapes carry nothing to show; anser leaves them in.
const OSC = /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g;
const SHORT_ESCAPE = /\x1b[@-Z\\-_]/g;
// Any control character left is drawn as its Unicode picture (␛, ␇, ␈ …), never acted on; tab stays.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;
const picture = (c: string) => String.fromCharCode(c === "\x7f" ? 0x2421 : 0x2400 + c.charCodeAt(0));

/**
 * A log line as coloured text segments. SGR colours and bold/italic/underline/dim become styles;
 * everything else is plain text. The result is only ever set as text content, never as HTML.
 */
export function ansiSegments(line: string): Segment[] {
  if (!/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) return [{ text: line }];
  const parts = Anser.ansiToJson(line, { remove_empty: true });
  const out: Segment[] = [];
  for (const p of parts) {
    const text = p.content.replace(OSC, "").replace(SHORT_ESCAPE, "").replace(CONTROL, picture);
    if (!text) continue;
    const classes = (p.decorations ?? []).map((d: string) => `ansi-${d}`).join(" ");
    out.push({
      text,
      ...(p.fg && { color: `rgb(${p.fg})` }),
      ...(p.bg && { background: `rgb(${p.bg})` }),
      ...(classes && { classes }),
    });
  }
  return out;
}

/** The line as plain text, for search: escape sequences removed. */
export function plainText(line: string): string {
  if (!line.includes("\x1b")) return line;
  return ansiSegments(line)
    .map((s) => s.text)
    .join("");
}
