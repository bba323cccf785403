import { describe, expect, test } from "bun:test";
import { ConditionError, parseCondition, referencedSteps, shouldRun, type ConditionContext } from "./condition.ts";

const ctx = (over: Partial<ConditionContext> = {}): ConditionContext => ({
  env: { BRANCH: "main", EMPTY: "", Q: "it's" },
  steps: { test: "success", lint: "failure", docs: "skipped" },
  failed: false,
  ...over,
});
const runs = (expr: string, over: Partial<ConditionContext> = {}) => shouldRun(parseCondition(expr), ctx(over));

describe("step conditions", () => {
  test("status functions", () => {
    expect(runs("success()")).toBe(true);
    expect(runs("success()", { failed: true })).toBe(false);
    expect(runs("failure()")).toBe(false);
    expect(runs("failure()", { failed: true })).toBe(true);
    expect(runs("always()", { failed: true })).toBe(true);
    expect(shouldRun(null, ctx())).toBe(true);
    expect(shouldRun(null, ctx({ failed: true }))).toBe(false);
  });

  test("comparisons on env and step outcomes, with both quote styles", () => {
    expect(runs("env.BRANCH == 'main'")).toBe(true);
    expect(runs('env.BRANCH != "main"')).toBe(false);
    expect(runs("env.MISSING == ''")).toBe(true);
    expect(runs("env.Q == 'it''s'")).toBe(true);
    expect(runs("steps.test.outcome == 'success'")).toBe(true);
    expect(runs("steps.lint.outcome == 'failure'")).toBe(true);
    expect(runs("steps.docs.outcome != 'skipped'")).toBe(false);
  });

  test("precedence: ! binds tighter than &&, && tighter than ||; parentheses override", () => {
    expect(runs("env.BRANCH == 'dev' && env.BRANCH == 'main' || true")).toBe(true);
    expect(runs("env.BRANCH == 'dev' && (env.BRANCH == 'main' || true)")).toBe(false);
    expect(runs("!env.EMPTY")).toBe(true);
    expect(runs("!(env.BRANCH == 'main')")).toBe(false);
    expect(runs("!!env.BRANCH")).toBe(true);
  });

  test("without a status function a condition only runs after success", () => {
    expect(runs("env.BRANCH == 'main'", { failed: true })).toBe(false);
    expect(runs("always() && env.BRANCH == 'main'", { failed: true })).toBe(true);
    expect(runs("failure() || env.BRANCH == 'dev'", { failed: true })).toBe(true);
  });

  test("lists the steps it reads", () => {
    expect(referencedSteps(parseCondition("steps.a.outcome == 'x' || !(steps.b-c.outcome == 'y')"))).toEqual(["a", "b-c"]);
  });

  test("syntax errors say what and where, and nothing is executed", () => {
    const error = (expr: string) => {
      try {
        parseCondition(expr);
      } catch (e) {
        expect(e).toBeInstanceOf(ConditionError);
        return (e as Error).message;
      }
      throw new Error(`parsed: ${expr}`);
    };
    expect(error("")).toBe("empty expression at column 1");
    expect(error("(success()")).toBe("expected ')' to close '(', found end of expression at column 11");
    expect(error("env.A = 'x'")).toBe(`unexpected character "=" at column 7`);
    expect(error("'open")).toBe("unterminated string at column 1");
    expect(error("success(1)")).toContain("it takes no arguments");
    expect(error("steps.a.result")).toContain("expected 'outcome'");
    expect(error("process.exit()")).toContain("unknown name 'process'");
    expect(error("require('child_process')")).toContain("unknown name 'require'");
    expect(error("env.A == 'x' env.B")).toBe("unexpected 'env' at column 14");
    expect(error("`rm -rf /`")).toContain("unexpected character");
  });
});
