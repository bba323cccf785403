import type { Subprocess } from "bun";

export interface Served {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  /** Set when this start printed `admin token: ...`. */
  adminToken?: string;
  output(): string;
  stop(): Promise<number>;
}

/**
 * Starts `<argv> serve ...` and waits for its `listening on URL` line. With `mayDie`, a process
 * that exits first (a failpoint killed it while it started) is returned as it is, with no url.
 */
export async function startServe(argv: string[], env: Record<string, string | undefined>, options: { mayDie?: boolean } = {}): Promise<Served> {
  const proc = Bun.spawn(argv, { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  let err = "";
  void (async () => {
    for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) err += chunk;
  })();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = Date.now() + 90_000;
  let url: string | undefined;
  while (!url && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
    url = /^listening on (\S+)$/m.exec(out)?.[1];
  }
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      out += value;
    }
  })();
  if (!url && options.mayDie && (await Promise.race([proc.exited.then(() => true), Bun.sleep(2000).then(() => false)]))) {
    return { proc, url: "", output: () => out + err, stop: () => proc.exited };
  }
  if (!url) {
    proc.kill("SIGKILL");
    throw new Error(`serve did not print its address:\n${out}\n${err}`);
  }
  return {
    proc,
    url,
    adminToken: /^admin token: (\S+)$/m.exec(out)?.[1],
    output: () => out + err,
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(argv: string[], env: Record<string, string | undefined>, stdin?: string) {
  const proc = Bun.spawn(argv, {
    env: { ...process.env, ...env },
    stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr };
}

/** A daemon's answer to one API request: its status, its text, and its JSON when it is JSON. */
export interface ApiAnswer {
  status: number;
  text: string;
  json: any;
}

/** One API request to the daemon at `base`, as the holder of `token` makes it (null: no token). */
export async function callApi(base: string, method: string, path: string, body?: unknown, token?: string | null): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, text, json };
}
