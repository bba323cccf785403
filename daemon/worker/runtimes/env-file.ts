import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerEnvFileText } from "../../../runner/container/command.ts";

/** Writes the env file into a fresh private directory (0700, file 0600); `dispose` removes both. */
export async function privateEnvFile(env: Record<string, string>): Promise<{ path: string; dispose: () => Promise<void> }> {
  // One KEY=VALUE per line; a value with a newline is refused, naming the variable.
  const text = containerEnvFileText(env);
  const dir = await mkdtemp(join(tmpdir(), "reactorcide-env-"));
  const path = join(dir, "job.env");
  await writeFile(path, text, { mode: 0o600 });
  return { path, dispose: () => rm(dir, { recursive: true, force: true }) };
}
