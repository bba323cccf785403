import { expect, test } from "bun:test";
import { Masker } from "../secrets/masker.ts";
import { formatTable } from "../steps/summary.ts";
import { Output } from "./output.ts";

function capture() {
  let text = "";
  return { sink: { write: (t: string | Uint8Array) => (text += typeof t === "string" ? t : new TextDecoder().decode(t)) }, text: () => text };
}

test("a job's last line without a newline is ended before the runner's next message", () => {
  const terminal = capture();
  const masker = new Masker();
  masker.register(["hunter22"]);
  const output = new Output({ masker, stdout: terminal.sink, stderr: terminal.sink });
  const job = output.jobStream("stdout");
  job.write(new TextEncoder().encode("first\nlast=hunter22"));
  job.end();
  output.log.success("job: succeeded");
  const lines = terminal.text().split("\n");
  expect(lines[0]).toBe("first");
  expect(lines[1]).toBe("last=***");
  expect(lines[2]).toContain("job: succeeded");
});

test("output that ends its lines gets no extra blank line", () => {
  const terminal = capture();
  const output = new Output({ stdout: terminal.sink, stderr: terminal.sink });
  const job = output.jobStream("stderr");
  job.write(new TextEncoder().encode("done\n"));
  job.end();
  output.log.info("next");
  expect(terminal.text().startsWith("done\n")).toBe(true);
  expect(terminal.text()).not.toContain("\n\n");
});

test("tables are measured after masking, so a masked value keeps its columns aligned", () => {
  const masker = new Masker();
  masker.register(["a-very-long-secret-value"]);
  const text = formatTable(["STEP", "STATUS"], [["deploy-a-very-long-secret-value", "success"], ["lint", "failure"]], (c) => masker.mask(c));
  const lines = text.trimEnd().split("\n");
  expect(lines[1]).toBe("deploy-***  success");
  expect(lines[2]).toBe("lint        failure");
  expect(lines.map((l) => l.search(/(STATUS|success|failure)/))).toEqual([12, 12, 12]);
});
