import { afterEach, describe, expect, test } from "bun:test";
import { spawn as spawnChild } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Masker } from "./masker.ts";
import { registerSecret, registerSecrets } from "./socket-client.ts";
import { encodeRequest, SECRETS_SOCKET_ENV } from "./socket-protocol.ts";
import { startSecretsSocket, type SecretsSocket } from "./socket-server.ts";

const runnerMain = join(import.meta.dir, "..", "main.ts");
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "secrets-socket-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function started(masker = new Masker()): Promise<{ masker: Masker; socket: SecretsSocket; dir: string }> {
  const dir = join(tempDir(), ".reactorcide");
  const socket = await startSecretsSocket({ masker, dir });
  cleanups.push(() => socket.close());
  return { masker, socket, dir };
}

/** Sends raw bytes, half-closes, and returns everything the server answered before closing. */
function rawExchange(path: string, bytes: Uint8Array, { halfClose = true } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    let reply = "";
    socket.on("connect", () => {
      socket.write(bytes);
      if (halfClose) socket.end();
    });
    socket.on("data", (c: Buffer) => (reply += c.toString()));
    socket.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" || e.code === "EPIPE" ? resolve(reply) : reject(e)));
    socket.on("close", () => resolve(reply));
  });
}

function frame(body: string | Uint8Array): Uint8Array {
  const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  const out = Buffer.alloc(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

function openStalled(path: string, bytes: Uint8Array): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = createConnection({ path }, () => {
      socket.write(bytes);
      resolve(socket);
    });
    socket.on("error", () => {});
    cleanups.push(() => socket.destroy());
  });
}

describe("secrets socket", () => {
  test("a registered value is masked in later output of streams that already exist", async () => {
    const { masker, socket } = await started();
    const out: Uint8Array[] = [];
    const stream = masker.stream((c) => out.push(c.slice()));
    stream.write("before\n");
    expect(await registerSecrets(["runtime-token-123", "another-value"], { socketPath: socket.path })).toBe(2);
    stream.write(`token: runtime-token-123 b64: ${btoa("runtime-token-123")}\n`);
    stream.end();
    expect(Buffer.concat(out).toString()).toBe("before\ntoken: *** b64: ***\n");
  });

  test("a single string is accepted; empty and non-string entries are skipped and not counted", async () => {
    const { masker, socket } = await started();
    expect(await rawExchange(socket.path, frame(JSON.stringify({ action: "register", secrets: "one-string-secret" })))).toBe(
      '{"status":"ok","registered":1}\n',
    );
    const mixed = JSON.stringify({ action: "register", secrets: ["", 42, null, { a: 1 }, ["nested"], "real-secret-value", true] });
    expect(await rawExchange(socket.path, frame(mixed))).toBe('{"status":"ok","registered":1}\n');
    expect(masker.mask("one-string-secret real-secret-value nested")).toBe("*** *** nested");
  });

  test("bad JSON, invalid UTF-8, other actions and malformed requests get one ERROR line", async () => {
    const { masker, socket } = await started();
    expect(await rawExchange(socket.path, frame("{not json"))).toBe("ERROR: Invalid JSON\n");
    expect(await rawExchange(socket.path, frame(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])))).toBe("ERROR: Invalid JSON\n");
    expect(await rawExchange(socket.path, frame(JSON.stringify({ action: "unregister", secrets: ["x-secret"] })))).toBe(
      "ERROR: Unknown action\n",
    );
    expect(await rawExchange(socket.path, frame("[1,2]"))).toStartWith("ERROR: ");
    expect(await rawExchange(socket.path, frame(JSON.stringify({ action: "register", secrets: 5 })))).toStartWith("ERROR: ");
    expect(masker.size).toBe(0);
    await expect(registerSecret("x".repeat(10), { socketPath: socket.path })).resolves.toBe(1);
  });

  test("the client reports the runner's ERROR reason", async () => {
    const dir = tempDir();
    const path = join(dir, "fake.sock");
    const { createServer } = await import("node:net");
    const server = createServer((s) => s.on("data", () => s.end("ERROR: Unknown action\n")));
    await new Promise<void>((r) => server.listen(path, r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    await expect(registerSecret("whatever-value", { socketPath: path })).rejects.toThrow("secrets socket: Unknown action");
  });

  test("an oversize body and a short header close the connection; the runner carries on", async () => {
    const { masker, socket } = await started();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1024 * 1024 + 1, 0);
    expect(await rawExchange(socket.path, Buffer.concat([header, Buffer.alloc(1000, 0x61)]), { halfClose: false })).toBe("");
    expect(await rawExchange(socket.path, new Uint8Array([0, 0]))).toBe("");
    expect(await rawExchange(socket.path, frame('{"action":"register","secrets":["trunc"]}').subarray(0, 20))).toBe("");
    expect(masker.size).toBe(0);
    expect(await registerSecret("still-serving", { socketPath: socket.path })).toBe(1);
    // Exactly 1 MiB is still allowed.
    const big = JSON.stringify({ action: "register", secrets: ["big-one-value", "p".repeat(1024 * 1024 - 60)] });
    const body = Buffer.from(big.padEnd(1024 * 1024, " "));
    expect(await rawExchange(socket.path, frame(body))).toBe('{"status":"ok","registered":2}\n');
  });

  test("garbage bytes do not crash the server", async () => {
    const { socket } = await started();
    const noise = Buffer.alloc(4096);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 131 + 7) & 0xff;
    noise.writeUInt32BE(100, 0); // a plausible length followed by binary junk
    const reply = await rawExchange(socket.path, noise);
    expect(reply === "" || reply.startsWith("ERROR: ")).toBe(true);
    expect(await registerSecret("after-garbage", { socketPath: socket.path })).toBe(1);
  });

  test("stalled clients do not block others; many clients at once all register", async () => {
    const { masker, socket } = await started();
    await openStalled(socket.path, new Uint8Array([0, 0]));
    await openStalled(socket.path, frame('{"action":"register","secrets":["never-finished"]}').subarray(0, 10));
    const values = Array.from({ length: 40 }, (_, i) => `concurrent-secret-${i}`);
    const counts = await Promise.all(values.map((v) => registerSecret(v, { socketPath: socket.path })));
    expect(counts).toEqual(values.map(() => 1));
    expect(masker.mask(values.join(" "))).toBe(values.map(() => "***").join(" "));
    expect(masker.mask("never-finished")).toBe("never-finished");
  });

  test("a stalled connection is dropped after the idle timeout", async () => {
    const dir = join(tempDir(), ".reactorcide");
    const socket = await startSecretsSocket({ masker: new Masker(), dir, idleTimeoutMs: 100 });
    cleanups.push(() => socket.close());
    const stalled = await openStalled(socket.path, new Uint8Array([0, 0]));
    await new Promise((resolve) => stalled.on("close", resolve));
    expect(stalled.destroyed).toBe(true);
  });

  test("several requests on one connection are answered in order", async () => {
    const { socket } = await started();
    const both = Buffer.concat([encodeRequest(["first-value"]), encodeRequest(["second-a", "second-b"])]);
    expect(await rawExchange(socket.path, both)).toBe('{"status":"ok","registered":1}\n{"status":"ok","registered":2}\n');
  });

  test("private directory and socket; removed at close", async () => {
    const { socket, dir } = await started();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(socket.path).mode & 0o777).toBe(0o600);
    await socket.close();
    expect(existsSync(socket.path)).toBe(false);
  });

  test("at close, a directory the job swapped for a symlink is not followed", async () => {
    const { socket, dir } = await started();
    const target = join(tempDir(), "elsewhere");
    mkdirSync(target);
    writeFileSync(join(target, "secrets.sock"), "a file of someone else");
    renameSync(dir, `${dir}.moved`);
    symlinkSync(target, dir);
    await socket.close();
    expect(readFileSync(join(target, "secrets.sock"), "utf8")).toBe("a file of someone else");
    expect(existsSync(dir)).toBe(false); // the planted link is gone
  });

  test("a stale socket from a killed runner is replaced", async () => {
    const dir = join(tempDir(), ".reactorcide");
    mkdirSync(dir, { mode: 0o700 });
    const stalePath = join(dir, "secrets.sock");
    const child = spawnChild(process.execPath, ["-e", `require("node:net").createServer().listen(${JSON.stringify(stalePath)}, () => console.log("up"))`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((resolve) => child.stdout!.once("data", resolve));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect(existsSync(stalePath)).toBe(true);
    // As a killed container run leaves it: handed to the job's user.
    if (process.getuid!() === 0) chownSync(dir, 65534, 65534);
    const socket = await startSecretsSocket({ masker: new Masker(), dir });
    expect(statSync(dir).uid).toBe(process.getuid!());
    cleanups.push(() => socket.close());
    expect(await registerSecret("fresh-socket", { socketPath: socket.path })).toBe(1);
  });

  test("refuses a non-socket at the socket path and a symlinked directory", async () => {
    const base = tempDir();
    const dir = join(base, "d");
    mkdirSync(dir);
    writeFileSync(join(dir, "secrets.sock"), "not a socket");
    await expect(startSecretsSocket({ masker: new Masker(), dir })).rejects.toThrow("is not a socket");
    const target = join(base, "elsewhere");
    mkdirSync(target);
    symlinkSync(target, join(base, "link"));
    await expect(startSecretsSocket({ masker: new Masker(), dir: join(base, "link") })).rejects.toThrow("not a plain directory");
  });

  test("handed to the job's uid, which can register through it", async () => {
    const masker = new Masker();
    const workspace = tempDir();
    chmodSync(workspace, 0o711); // as a job workspace is: reachable by the job's user
    const dir = join(workspace, ".reactorcide");
    const socket = await startSecretsSocket({ masker, dir, owner: { uid: 65534, gid: 65534 } });
    cleanups.push(() => socket.close());
    if (process.getuid!() === 0) {
      expect(statSync(dir).uid).toBe(65534);
      expect(statSync(socket.path).uid).toBe(65534);
      expect(statSync(socket.path).mode & 0o777).toBe(0o600);
      const code = await new Promise<number | null>((resolve) => {
        const script = `const c=require("node:net").createConnection(${JSON.stringify(socket.path)});c.on("connect",()=>process.exit(0));c.on("error",()=>process.exit(3));`;
        const child = spawnChild(process.execPath, ["-e", script], { uid: 65534, gid: 65534, stdio: "ignore" });
        child.on("exit", resolve);
      });
      expect(code).toBe(0);
    } else {
      expect(statSync(dir).mode & 0o777).toBe(0o711);
      expect(statSync(socket.path).mode & 0o777).toBe(0o666);
    }
  });
});

describe("reactorcide-runner register-secret", () => {
  async function cli(args: string[], env: Record<string, string | undefined>, stdin = "") {
    const proc = Bun.spawn([process.execPath, runnerMain, "register-secret", ...args], {
      env: { ...process.env, [SECRETS_SOCKET_ENV]: undefined, ...env },
      stdin: new TextEncoder().encode(stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { stdout, stderr, code };
  }

  test("values from arguments and from stdin with -", async () => {
    const { masker, socket } = await started();
    const result = await cli(["arg-secret-one", "-", "--json"], { [SECRETS_SOCKET_ENV]: socket.path }, "stdin-secret-a\nstdin-secret-b\n\n");
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ registered: 3 });
    expect(result.stdout + result.stderr).not.toContain("stdin-secret-a");
    expect(masker.mask("arg-secret-one stdin-secret-a stdin-secret-b")).toBe("*** *** ***");
    const short = await cli(["ab", "long-enough"], { [SECRETS_SOCKET_ENV]: socket.path });
    expect(short.code).toBe(0);
    expect(short.stdout + short.stderr).toContain("1 value(s) shorter than 3 characters will not be masked");
  });

  test("outside a job it fails with a clear message", async () => {
    const result = await cli(["some-value"], {});
    expect(result.code).not.toBe(0);
    expect(result.stderr + result.stdout).toContain(`${SECRETS_SOCKET_ENV} is not set`);
    expect(result.stderr + result.stdout).not.toContain("some-value");
  });

  test("an unreachable socket is an error naming the path", async () => {
    const path = join(tempDir(), "missing.sock");
    const result = await cli(["some-value"], { [SECRETS_SOCKET_ENV]: path });
    expect(result.code).not.toBe(0);
    expect(result.stderr + result.stdout).toContain(path);
  });
});
