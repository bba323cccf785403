import { ensureRunnerBinary } from "./binary.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the compiled runner with only the environment given (plus PATH and HOME), so tests are
 * not affected by REACTORCIDE_* variables of whoever runs them.
 */
export async function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  const proc = spawnCli(await ensureRunnerBinary(), args, opts);
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

export function spawnCli(binary: string, args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  return Bun.spawn([binary, ...args], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", NO_COLOR: "1", ...opts.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}
