import { defineCommand } from "citty";
import { configArgs, resolveFromCli } from "../config/cli.ts";
import { hasErrors, validateAll } from "../config/validate.ts";
import { formatProblem } from "../config/view.ts";
import { Output } from "../output/output.ts";
import { applySecretSources } from "../run/apply-secrets.ts";
import { secretArgs, secretSettingsFrom } from "../secrets/cli-args.ts";

export default defineCommand({
  meta: { name: "validate", description: "Check the configuration (and job file) and list every problem; exit 1 on errors" },
  args: {
    file: { type: "positional", required: false, description: "A job file to check" },
    ...configArgs(),
    ...secretArgs(),
    json: { type: "boolean", description: "Print JSON" },
  },
  async run({ args }) {
    const output = new Output();
    const resolved = await resolveFromCli(args, args.file);
    // Problems may quote values (a job command, a bad setting): mask what `run` would mask.
    if (!applySecretSources(resolved, output, secretSettingsFrom(args, process.env))) {
      process.exitCode = 1;
      return;
    }
    const problems = await validateAll(resolved);
    const ok = !hasErrors(problems);
    if (args.json) output.data(JSON.stringify({ valid: ok, problems }, null, 2));
    else {
      for (const p of problems) (p.severity === "error" ? output.log.error : output.log.warn)(formatProblem(p));
      if (ok) output.log.success(`configuration is valid${problems.length ? ` (${problems.length} warning(s))` : ""}`);
      else output.log.error(`${problems.filter((p) => p.severity === "error").length} error(s)`);
    }
    process.exitCode = ok ? 0 : 1;
  },
});
