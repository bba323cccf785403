import { expect, test } from "bun:test";
import { textLine } from "../../runner/protocol/log-line.ts";
import { terminalLine, terminalSafe, terminalTextLine } from "./terminal.ts";

test("colours (SGR) are kept; clear screen, OSC title, CR, BEL and C1 controls are shown, not acted on", () => {
  expect(terminalSafe("\x1b[1;31mred\x1b[0m plain")).toBe("\x1b[1;31mred\x1b[0m plain");
  const hostile = "\x1b[2J\x1b]0;title\x07a\rFORGED\x9b2J\tend";
  const shown = terminalSafe(hostile);
  expect(shown).toBe("\u241b[2J\u241b]0;title\u2407a\u240dFORGED\uFFFD2J\tend");
  expect(shown).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/);
});

test("job output cannot pass for a system line, plainly, behind colour codes or a CR", () => {
  const forged = "success (exit 0): the job's command exited 0";
  const real = terminalLine(forged, "system");
  for (const attempt of [`[reactorcide] ${forged}`, `\x1b[1;36m[reactorcide]\x1b[0m ${forged}`, `\x1b[0m\r[reactorcide] ${forged}`]) {
    const shown = terminalLine(attempt, "stdout");
    expect(shown).not.toBe(real);
    expect(textLine("stdout", attempt)).toStartWith("\\");
  }
  expect(terminalTextLine(`[reactorcide] ${forged}`)).toBe(real);
  // A job line's colours never run on into the next line.
  expect(terminalLine("\x1b[31munterminated", "stdout")).toEndWith("\x1b[0m");
});
