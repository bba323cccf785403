/**
 * The systemd units in scripts/systemd/: systemd's own checker accepts them, and every flag
 * their ExecStart passes is one the daemon's command defines.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ArgsDef, CommandDef } from "citty";
import serve from "../daemon/commands/serve.ts";
import worker from "../daemon/commands/worker.ts";
import { useTempDirs } from "../runner/testing/temp-dirs.ts";

const unitsDir = join(import.meta.dir, "systemd");
const tempDir = useTempDirs("rc-systemd");
const units = { "reactorcide.service": serve, "reactorcide-worker.service": worker } as Record<string, CommandDef<ArgsDef>>;

function execStart(unit: string): string[] {
  const line = readFileSync(join(unitsDir, unit), "utf8").split("\n").find((l) => l.startsWith("ExecStart="));
  if (!line) throw new Error(`${unit}: no ExecStart`);
  return line.slice("ExecStart=".length).trim().split(/\s+/);
}

describe("systemd units", () => {
  test("systemd-analyze verify accepts both units", () => {
    const dir = tempDir();
    // verify checks that ExecStart's program exists; a stand-in program at a path that does.
    const program = join(dir, "reactorcide");
    writeFileSync(program, "#!/bin/sh\n");
    chmodSync(program, 0o755);
    for (const unit of Object.keys(units)) {
      writeFileSync(join(dir, unit), readFileSync(join(unitsDir, unit), "utf8").replaceAll("/usr/local/bin/reactorcide", program));
    }
    const r = Bun.spawnSync(["systemd-analyze", "verify", ...Object.keys(units).map((u) => join(dir, u))], { stdout: "pipe", stderr: "pipe" });
    const out = r.stdout.toString() + r.stderr.toString();
    expect(out).toBe("");
    expect(r.exitCode).toBe(0);
  });

  test("ExecStart runs `reactorcide serve` and `reactorcide worker` with flags those commands define", () => {
    for (const [unit, command] of Object.entries(units)) {
      const [program, sub, ...rest] = execStart(unit);
      expect(program).toBe("/usr/local/bin/reactorcide");
      expect(sub).toBe(unit === "reactorcide.service" ? "serve" : "worker");
      const defined = Object.keys((command.args ?? {}) as ArgsDef);
      for (const flag of rest.filter((a) => a.startsWith("--"))) {
        expect(`${unit}: ${flag}`).toBe(`${unit}: ${defined.includes(flag.slice(2)) ? flag : "(not a flag of reactorcide " + sub + ")"}`);
      }
    }
  });
});
