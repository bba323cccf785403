/** What `validate` reports and what `run` refuses on: one problem per field, all at once. */
export type Severity = "error" | "warning";

export interface ConfigProblem {
  severity: Severity;
  /** The field as the user wrote it: `timeout`, `resources.cpu`, `REACTORCIDE_TIMEOUT`, `--timeout`. */
  field: string;
  message: string;
  /** What is allowed there. */
  allowed?: string;
  suggestion?: string;
}

/** A refusal that names the field; turned into a ConfigProblem by the caller. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly detail: string,
    readonly suggestion?: string,
  ) {
    super(`${field}: ${detail}`);
    this.name = "FieldError";
  }

  toProblem(): ConfigProblem {
    return { severity: "error", field: this.field, message: this.detail, ...(this.suggestion ? { suggestion: this.suggestion } : {}) };
  }
}
