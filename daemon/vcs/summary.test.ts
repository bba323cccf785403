import { describe, expect, test } from "bun:test";
import { problemsDescription } from "./eval-problems.ts";
import { renderSummary } from "./summary.ts";
import { shortDescription } from "./reports.ts";

describe("what a pull request and a commit show of an eval's problems", () => {
  test("the summary lists each problem under the eval, one line each, a backtick or line break in it cannot break the list", () => {
    const body = renderSummary({
      sha: "a".repeat(40),
      eval: { name: "eval", status: "failure", seconds: 4 },
      groups: [{ name: "app", context: "reactorcide/app", jobs: [{ name: "unit", status: "success", seconds: 3 }] }],
      problems: [".reactorcide/workflows/bad.yaml: not valid YAML: unexpected end", ".reactorcide/jobs/x.yaml: job.colour: unknown field`\n- injected"],
    });
    expect(body).toContain("❌ eval: failure (4s)");
    expect(body).toContain("- `.reactorcide/workflows/bad.yaml: not valid YAML: unexpected end`");
    expect(body).toContain("- `.reactorcide/jobs/x.yaml: job.colour: unknown field' - injected`");
    expect(body).not.toMatch(/^- injected/m);
    expect(body).toContain("| unit | ✅ success | 3s |");
  });

  test("the commit status names the first problem, how many more, and the runs that still started, within GitHub's 140 characters", () => {
    const one = problemsDescription([".reactorcide/workflows/bad.yaml: not valid YAML"], 0);
    expect(one).toBe("CI definitions: .reactorcide/workflows/bad.yaml: not valid YAML");
    const many = problemsDescription([`.reactorcide/workflows/${"long-name-".repeat(20)}.yaml: unknown field`, "b", "c"], 2);
    expect(many.length).toBeLessThanOrEqual(140);
    expect(shortDescription(many)).toBe(many);
    expect(many).toEndWith("… (and 2 more); started 2 workflow runs");
    expect(problemsDescription(["x: y", "z: w"], 1)).toBe("CI definitions: x: y (and 1 more); started 1 workflow run");
  });
});
