import type { Problem } from "../protocol/problems.ts";
import type { StepSpec } from "../protocol/workflow-spec.ts";
import { ConditionError, parseCondition, referencedSteps, type Condition } from "./condition.ts";

/** A step with its condition parsed and what it waits for worked out. */
export interface PlannedStep {
  spec: StepSpec;
  index: number;
  condition: Condition | null;
  /** Steps that must finish before this one starts. */
  waitsFor: string[];
  /** Everything it waits for, directly or not: whose failure makes failure() true for it. */
  upstream: Set<string>;
}

export class StepPlanError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`invalid steps: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`);
    this.name = "StepPlanError";
  }
}

/**
 * Orders steps. Without depends_on a step waits for every earlier step, except that a run of
 * consecutive `parallel: true` steps starts together. With depends_on it waits for exactly those,
 * which must be defined earlier (so there can be no cycle). All problems are reported at once.
 */
export function planSteps(steps: StepSpec[], field = "steps"): PlannedStep[] {
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  const planned: PlannedStep[] = [];
  let groupStart = 0; // index of the first step of the current run of parallel steps

  steps.forEach((spec, index) => {
    const at = `${field}[${index}]`;
    if (seen.has(spec.name)) {
      problems.push({ field: `${at}.name`, message: `duplicate step name "${spec.name}" (also ${field}[${seen.get(spec.name)}])` });
    }
    let condition: Condition | null = null;
    if (spec.if !== undefined) {
      try {
        condition = parseCondition(spec.if);
        for (const ref of referencedSteps(condition)) {
          if (!seen.has(ref)) problems.push({ field: `${at}.if`, message: `steps.${ref} is not an earlier step` });
        }
      } catch (error) {
        if (!(error instanceof ConditionError)) throw error;
        problems.push({ field: `${at}.if`, message: error.message });
      }
    }
    const previous = planned[index - 1];
    if (!spec.parallel || !previous?.spec.parallel) groupStart = index;
    let waitsFor: string[];
    if (spec.depends_on) {
      for (const dep of spec.depends_on) {
        if (!seen.has(dep)) {
          problems.push({
            field: `${at}.depends_on`,
            message: dep === spec.name ? "a step cannot depend on itself" : `"${dep}" is not an earlier step`,
          });
        }
      }
      waitsFor = spec.depends_on.filter((dep) => seen.has(dep));
    } else {
      waitsFor = planned.slice(0, spec.parallel ? groupStart : index).map((p) => p.spec.name);
    }
    const upstream = new Set<string>();
    for (const dep of waitsFor) {
      upstream.add(dep);
      for (const up of planned[seen.get(dep)!]!.upstream) upstream.add(up);
    }
    seen.set(spec.name, index);
    planned.push({ spec, index, condition, waitsFor, upstream });
  });
  if (problems.length) throw new StepPlanError(problems);
  return planned;
}
