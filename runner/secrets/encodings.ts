/**
 * The forms a secret value takes in output besides itself: each line of a multi-line value, its
 * base64 at every byte alignment (so it is caught inside a longer base64 string), also as
 * line-wrapped base64 output shows it (64 and 76 columns), URL encoding and JSON string escaping.
 */
import { MIN_SECRET_LENGTH } from "../protocol/api/secret-limits.ts";

// The API refuses shorter secret values with the same number (runner/protocol/api/secrets.ts).
export { MIN_SECRET_LENGTH };

const encoder = new TextEncoder();

/**
 * The base64 characters that depend only on `value`, when `value` sits at byte offset
 * `alignment` (0, 1 or 2) of a longer encoded input. The characters that straddle the
 * neighbouring bytes differ from one context to the next, so they are trimmed off both ends.
 */
export function base64Core(bytes: Uint8Array, alignment: 0 | 1 | 2): string {
  const padded = new Uint8Array(alignment + bytes.length);
  padded.set(bytes, alignment);
  const text = Buffer.from(padded).toString("base64");
  const first = Math.ceil((alignment * 8) / 6);
  const last = Math.floor(((alignment + bytes.length) * 8) / 6);
  return text.slice(first, last);
}

function base64Forms(bytes: Uint8Array): string[] {
  const whole = Buffer.from(bytes).toString("base64");
  const forms = [whole, base64Core(bytes, 0), base64Core(bytes, 1), base64Core(bytes, 2)];
  // The URL-safe alphabet differs only in two characters; add it only when it differs.
  return [...forms, ...forms.map((f) => f.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""))];
}

/** Columns at which `base64` (coreutils: 76) and `openssl base64` / PEM (64) break their output. */
export const BASE64_WRAP_COLUMNS = [64, 76] as const;
/** Longest value whose wrapped base64 forms are masked (bytes). */
export const WRAPPED_FORMS_MAX_BYTES = 4096;

/**
 * The base64 of `bytes` as wrapped output shows it: each alignment's core with a line break at
 * every place a wrap column can fall inside it. Where the break falls depends on where the value
 * sits in the encoded input, so every starting column is a form (at most 64 + 76 per alignment).
 */
function wrappedBase64Forms(bytes: Uint8Array): string[] {
  const out: string[] = [];
  // Up to 138 forms per alignment, each as long as the encoding: kept to values of a token's or a
  // key's size, so a huge registered value does not cost hundreds of megabytes of patterns.
  if (bytes.length > WRAPPED_FORMS_MAX_BYTES) return out;
  for (const alignment of [0, 1, 2] as const) {
    const core = base64Core(bytes, alignment);
    // The same line breaks from both widths (a core shorter than both lines breaks once, at the
    // same places) make the same form: built once (building them all twice was half of a cold
    // runner's registration time).
    const seen = new Set<string>();
    out.push(core.slice(1));
    for (const width of BASE64_WRAP_COLUMNS) {
      // `column` is where the core starts on its line; a break comes before index i when (column + i) % width === 0.
      // A break after the core's first character would make every line ending in that character
      // a possible start, held back until the next line; that case is caught by the core without
      // its first character instead (one base64 character, 6 bits, shows).
      for (let column = 0; column < width - 1; column++) {
        const first = column === 0 ? width : width - column;
        if (first >= core.length) continue; // no break falls inside
        const key = `${first}:${core.length > first + width ? width : 0}`;
        if (seen.has(key)) continue;
        seen.add(key);
        let form = core.slice(0, first);
        for (let at = first; at < core.length; at += width) form += `\n${core.slice(at, at + width)}`;
        out.push(form);
      }
    }
  }
  return out;
}

function urlForms(value: string): string[] {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    return []; // a lone surrogate cannot be URL-encoded, so it cannot appear URL-encoded either
  }
  return [encoded, encoded.replace(/%20/g, "+"), encoded.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())];
}

function jsonForms(value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  // JSON writers that escape everything outside ASCII (Python's json.dumps does by default).
  const ascii = escaped.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return [escaped, ascii, escaped.replace(/\//g, "\\/")];
}

/** The lines of a multi-line value worth masking on their own. */
function lines(value: string): string[] {
  if (!/[\r\n]/.test(value)) return [];
  return value
    .split(/\r?\n|\r/)
    .flatMap((line) => [line, line.trim()])
    .filter((line) => line.length >= MIN_SECRET_LENGTH);
}

/**
 * Every form of `value` to mask, as UTF-8 bytes keyed by their text (no duplicates), each at
 * least MIN_SECRET_LENGTH characters. Empty when `value` itself is too short.
 */
export function secretForms(value: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (value.length < MIN_SECRET_LENGTH) return out;
  const add = (form: string) => {
    if (form.length >= MIN_SECRET_LENGTH && !out.has(form)) out.set(form, encoder.encode(form));
  };
  for (const form of wrappedBase64Forms(encoder.encode(value))) add(form);
  for (const plain of [value, ...lines(value)]) {
    add(plain);
    for (const form of base64Forms(encoder.encode(plain))) add(form);
    for (const form of urlForms(plain)) add(form);
    for (const form of jsonForms(plain)) add(form);
  }
  return out;
}
