import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Output } from "../output/output.ts";
import { FieldError } from "../errors/problem.ts";
import { prepareSource, SourceError } from "../source/prepare.ts";
import { assertInsideWorkspace } from "../workspace/paths.ts";
import type { SourceStep } from "./plan.ts";

/**
 * Prepares the planned sources in order (job code into /job/ci first, then the source); each
 * target's old content is replaced by prepareSource once the new one is ready. Targets are checked
 * to resolve inside the workspace, so a symlink left by an earlier job cannot redirect the writes.
 */
export async function prepareSources(workspace: string, steps: SourceStep[], output: Output, signal?: AbortSignal): Promise<void> {
  for (const step of steps) {
    assertInsideWorkspace(workspace, step.hostDir, step.which);
    mkdirSync(dirname(step.hostDir), { recursive: true });
    const prepared = await prepareSource(step.spec as Parameters<typeof prepareSource>[0], step.hostDir, {
      log: (message: string) => output.log.info(message),
      ...(step.prNumber ? { prNumber: step.prNumber } : {}),
      signal,
    }).catch((error: unknown) => {
      // prepareSource names fields as `source.*` and `prNumber`; the job code's are `ci_source.*`,
      // and the PR number is named as the user gave it.
      if (!(error instanceof SourceError)) throw error;
      const field = error.field === "prNumber" && step.prField ? step.prField : step.which === "source" ? error.field : error.field.replace(/^source\./, "ci_source.");
      if (field === error.field) throw error;
      throw new FieldError(field, error.message.replace(`${error.field}: `, ""));
    });
    const at = [prepared.ref, prepared.commit?.slice(0, 12)].filter(Boolean).join(" ");
    output.log.success(`${step.which === "ci_source" ? "job code" : "source"} ready in ${step.jobDir}: ${prepared.type}${at ? ` ${at}` : ""}`);
  }
}
