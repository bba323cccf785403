import { expect, test } from "bun:test";
import { TRIGGER_LINE_PREFIX } from "../../../runner/protocol/trigger.ts";
import { TriggerLineScanner } from "./trigger-line-scanner.ts";

const P = TRIGGER_LINE_PREFIX;

function scan(chunks: string[], maxLineBytes?: number): string[] {
  const found: string[] = [];
  const scanner = new TriggerLineScanner((line) => found.push(line), maxLineBytes);
  for (const c of chunks) scanner.write(new TextEncoder().encode(c));
  scanner.end();
  return found;
}

test("trigger lines are found at the start of a line only, whole, across any chunk cuts, CR and all", () => {
  const text = `build\n${P}{"a":1}\r\n  ${P}indented\n::other:: thing\n:\n${P}{"b":"€"}\nmid ${P}x\n${P}last-without-newline`;
  const expected = [`${P}{"a":1}`, `${P}{"b":"€"}`, `${P}last-without-newline`];
  expect(scan([text])).toEqual(expected);
  // Every cut into two chunks, and one byte at a time (the prefix itself split anywhere).
  const bytes = new TextEncoder().encode(text);
  for (let cut = 1; cut < bytes.length; cut++) {
    const found: string[] = [];
    const scanner = new TriggerLineScanner((line) => found.push(line));
    scanner.write(bytes.subarray(0, cut));
    scanner.write(bytes.subarray(cut));
    scanner.end();
    expect({ cut, found }).toEqual({ cut, found: expected });
  }
  expect(scan([...text])).toEqual(expected);
});

test("a trigger line longer than the limit is skipped, and the lines after it are still read", () => {
  expect(scan([`${P}${"x".repeat(100)}`, "y\n", `${P}ok\n`], 64)).toEqual([`${P}ok`]);
});
