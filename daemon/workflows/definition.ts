/**
 * A workflow file as the API takes it: YAML text or the same document as JSON, checked by the
 * runner's own loader (every problem named by field), so a file that runs locally runs here.
 */
import { parse as parseYaml } from "yaml";
import { ProtocolError, type Problem } from "../../runner/protocol/problems.ts";
import { workflowFromDocument, type Workflow } from "../../runner/workflow/load.ts";

export class DefinitionError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join("; "));
  }
}

export function parseWorkflowDefinition(input: unknown, fallbackName = "workflow"): Workflow {
  let doc = input;
  if (typeof input === "string") {
    try {
      doc = parseYaml(input);
    } catch (error) {
      throw new DefinitionError([{ field: "workflow", message: `not YAML: ${(error as Error).message.split("\n")[0]}` }]);
    }
  }
  try {
    return workflowFromDocument(doc, fallbackName);
  } catch (error) {
    if (error instanceof ProtocolError) throw new DefinitionError(error.problems.map((p) => ({ ...p, field: `workflow.${p.field}` })));
    throw error;
  }
}
