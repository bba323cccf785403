/**
 * Shared by the source commands (checkout, copy, git): human messages go to stderr so stdout holds
 * only what scripts read; bad input exits 2, other failures 1.
 */
import { createConsola } from "consola";
import { relative, resolve, sep } from "node:path";
import { SourceError } from "./error.ts";

// Level 3 (info) even under NODE_ENV=test, where consola would default to warnings only.
export const log = createConsola({ stdout: process.stderr, stderr: process.stderr, level: Number(process.env.CONSOLA_LEVEL ?? 3) });

/** Refuses a target that holds the current directory: emptying it would pull the floor away. */
export function checkTargetAwayFromCwd(target: string): void {
  const rel = relative(resolve(target), process.cwd());
  if (rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep))) {
    throw new SourceError("--dir", `"${resolve(target)}" contains the current directory and would be emptied; choose a directory beside it (e.g. ./src)`);
  }
}

export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    log.error((error as Error).message);
    process.exitCode = error instanceof SourceError ? 2 : 1;
  }
}
