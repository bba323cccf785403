/** Test helper: runs the runner CLI (source entry, or a compiled binary) and captures its output. */
import { join } from "node:path";

export const SOURCE_ENTRY = [process.execPath, join(import.meta.dir, "..", "main.ts")];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(command: string[], args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  const proc = Bun.spawn([...command, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
