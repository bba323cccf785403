/**
 * `npm run build -- --release`: both executables for linux-x64 and linux-arm64 (Bun's
 * cross-compile), the daemon's Postgres for each, and SHA256SUMS that `sha256sum -c` accepts.
 */
import { describe, expect, test } from "bun:test";
import { openSync, readSync, closeSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { useTempDirs } from "../runner/testing/temp-dirs.ts";

const root = join(import.meta.dir, "..");
const tempDir = useTempDirs("rc-release");
const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;

/** ELF e_machine: 0x3e x86-64, 0xb7 AArch64. */
function elfMachine(path: string): number {
  const fd = openSync(path, "r");
  try {
    const header = Buffer.alloc(20);
    readSync(fd, header, 0, 20, 0);
    expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
    return header.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

function sh(argv: string[], cwd: string) {
  // Not NODE_ENV=test (bun test's), under which consola prints nothing.
  const r = Bun.spawnSync(argv, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, NODE_ENV: "production" } });
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

describe("release build", () => {
  test("linux-x64 and linux-arm64 binaries of both executables, their Postgres, and SHA-256 sums", async () => {
    const out = tempDir();
    const build = sh([process.execPath, "scripts/build.ts", "--release", "--out", out], root);
    expect(build.out).toContain("SHA256SUMS");
    expect(build.code).toBe(0);

    const sums = readFileSync(join(out, "SHA256SUMS"), "utf8");
    const names = sums.trim().split("\n").map((l) => l.split(/\s+/)[1]).sort();
    expect(names).toEqual(
      ["linux-arm64", "linux-x64"].flatMap((t) => [`reactorcide-${t}`, `reactorcide-pg-${t}.tar.gz`, `reactorcide-runner-${t}`]).sort(),
    );
    expect(sh(["sha256sum", "-c", "SHA256SUMS"], out)).toMatchObject({ code: 0 });

    const machine = { "linux-x64": 0x3e, "linux-arm64": 0xb7 };
    for (const [target, expected] of Object.entries(machine)) {
      expect([target, elfMachine(join(out, `reactorcide-${target}`))]).toEqual([target, expected]);
      expect([target, elfMachine(join(out, `reactorcide-runner-${target}`))]).toEqual([target, expected]);
      const pg = join(out, `pg-${target}`);
      expect(sh(["sh", "-c", `mkdir -p ${pg} && tar -xzf reactorcide-pg-${target}.tar.gz -C ${pg}`], out).code).toBe(0);
      expect([target, elfMachine(join(pg, "pg", "bin", "postgres"))]).toEqual([target, expected]);
    }
    // This machine's build runs: both print their version; its Postgres starts as a program.
    for (const exe of ["reactorcide-linux-x64", "reactorcide-runner-linux-x64"]) {
      const r = sh([join(out, exe), "--version"], out);
      expect([exe, r.code, r.out]).toEqual([exe, 0, expect.stringContaining(version)]);
    }
    expect(sh([join(out, "pg-linux-x64", "pg", "bin", "postgres"), "--version"], out).out).toMatch(/postgres \(PostgreSQL\) \d+/);
    // A tampered file fails the check.
    await Bun.write(join(out, "reactorcide-runner-linux-arm64"), "tampered");
    expect(sh(["sha256sum", "-c", "SHA256SUMS"], out).code).not.toBe(0);
  }, 300_000);

  test("an unknown target is refused naming the allowed ones, nothing built", () => {
    const out = tempDir();
    const r = sh([process.execPath, "scripts/build.ts", "--release", "--out", out, "linux-mips"], root);
    expect(r.code).toBe(2);
    expect(r.out).toContain('unknown release target "linux-mips"; allowed: linux-x64, linux-arm64');
  });
});
