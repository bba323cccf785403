import { describe, expect, test } from "bun:test";
import { ProtocolError } from "./problems.ts";
import { parseTriggerLine, parseTriggerPayload, triggerLine, validateTriggerJob } from "./trigger.ts";

const OP = "0b7f3c1e-8a52-4c1b-9d3e-5f1a2b3c4d5e";

function problemsOf(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as ProtocolError).problems;
  }
  throw new Error("expected a ProtocolError");
}

describe("trigger payload", () => {
  test("accepts the documented shape with every optional field", () => {
    const payload = {
      type: "trigger_job",
      operation_id: OP,
      jobs: [
        {
          job_name: "deploy-staging",
          depends_on: ["test", "build"],
          condition: "all_success",
          env: { DEPLOY_TARGET: "staging" },
          job_command: "make deploy",
          container_image: "reactorcide/runner:dev",
          source_type: "git",
          source_url: "https://example.com/r.git",
          source_ref: "main",
          ci_source_type: "git",
          ci_source_url: "https://example.com/ci.git",
          ci_source_ref: "main",
          priority: 5,
          timeout: 600,
        },
      ],
    };
    expect(parseTriggerPayload(payload)).toEqual(payload as never);
  });

  test("job_name is required", () => {
    expect(problemsOf(() => validateTriggerJob({ env: {} }))).toEqual([{ field: "job.job_name", message: "required" }]);
    const problems = problemsOf(() => parseTriggerPayload({ type: "trigger_job", operation_id: OP, jobs: [{}] }));
    expect(problems).toEqual([{ field: "jobs[0].job_name", message: "required" }]);
  });

  test("only the three conditions are allowed, and the error lists them", () => {
    const [problem] = problemsOf(() => validateTriggerJob({ job_name: "a", condition: "on_success" }));
    expect(problem?.field).toBe("job.condition");
    expect(problem?.message).toBe('must be one of "all_success", "any_failed", "always"');
  });

  test("unknown fields are refused with the field named", () => {
    const problems = problemsOf(() =>
      parseTriggerPayload({ type: "trigger_job", operation_id: OP, jobs: [{ job_name: "a", colour: "red" }], x: 1 }),
    );
    expect(problems.map((p) => p.field).sort()).toEqual(["jobs[0].colour", "x"]);
    expect(problems.find((p) => p.field === "jobs[0].colour")?.message).toContain("unknown field; allowed: job_name");
  });

  test("hostile values: bad env names, non-string env values, bad operation id, odd job names", () => {
    expect(problemsOf(() => validateTriggerJob({ job_name: "a", env: { "A=B": "x" } }))[0]?.field).toBe("job.env.A=B");
    expect(problemsOf(() => validateTriggerJob({ job_name: "a", env: { A: 1 } }))[0]?.field).toBe("job.env.A");
    expect(problemsOf(() => validateTriggerJob({ job_name: "../etc" }))[0]?.field).toBe("job.job_name");
    expect(problemsOf(() => validateTriggerJob({ job_name: "-rf" }))[0]?.field).toBe("job.job_name");
    expect(problemsOf(() => parseTriggerPayload({ type: "trigger_job", operation_id: "1; drop", jobs: [] }))[0]?.field).toBe(
      "operation_id",
    );
    expect(problemsOf(() => parseTriggerPayload({ type: "other", operation_id: OP, jobs: [] }))[0]?.field).toBe("type");
  });

  test("stdout line round-trips, other lines are not triggers, a broken line is an error", () => {
    const payload = parseTriggerPayload({ type: "trigger_job", operation_id: OP, jobs: [{ job_name: "n", env: { M: "a\nb" } }] });
    const line = triggerLine(payload);
    expect(line).not.toContain("\n");
    expect(parseTriggerLine(`${line}\n`)).toEqual(payload);
    expect(parseTriggerLine("hello ::reactorcide::trigger::{}")).toBeNull();
    expect(() => parseTriggerLine("::reactorcide::trigger::{nope")).toThrow("not JSON");
  });
});
