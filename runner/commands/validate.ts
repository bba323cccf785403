import { defineCommand } from "citty";
import { configArgs, resolveFromCli } from "../config/cli.ts";
import { hasErrors, validateAll } from "../config/validate.ts";
import { formatProblem } from "../output/config-view.ts";
import { Output } from "../output/output.ts";

export default defineCommand({
  meta: { name: "validate", description: "Check the configuration (and job file) and list every problem; exit 1 on errors" },
  args: {
    file: { type: "positional", required: false, description: "A job file to check" },
    ...configArgs(),
    json: { type: "boolean", description: "Print JSON" },
  },
  async run({ args }) {
    const output = new Output();
    const problems = await validateAll(resolveFromCli(args, args.file));
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
