#!/usr/bin/env bun
/**
 * Builds the local runner image (reactorcide/runner:dev) without any registry:
 *  1. a base image from a Debian root file system made by debootstrap (minbase + git +
 *     ca-certificates + a "runner" user, uid 1001), imported with `docker import` and cached by a
 *     tag derived from its recipe (and as a tarball in .image-cache/);
 *  2. a thin layer on top holding the compiled runner, labelled with the binary's SHA-256, rebuilt
 *     only when that hash (or the base) changes.
 * Usage: bun run image [--binary PATH] [--tag TAG] [--json]
 * Without --binary it compiles dist/reactorcide-runner first (scripts/build.ts).
 */
import { defineCommand, runMain } from "citty";
import { consola } from "consola";
import { createHash } from "node:crypto";
import { appendFileSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DEFAULT_IMAGE } from "../runner/protocol/job.ts";

const root = join(import.meta.dir, "..");
const cacheDir = join(root, ".image-cache");

export const RUNNER_IMAGE = DEFAULT_IMAGE;
export const RUNNER_UID = 1001;
const SUITE = "bookworm";
const MIRROR = "http://deb.debian.org/debian";
const PACKAGES = ["git", "ca-certificates"];
// Bump when the rootfs recipe below changes, so the cached base is rebuilt.
const RECIPE_VERSION = 2;
const BINARY_LABEL = "io.reactorcide.runner.sha256";
const BASE_LABEL = "io.reactorcide.runner.base";

type Log = (message: string) => void;

function run(argv: string[], opts: { cwd?: string; input?: Uint8Array } = {}): string {
  const proc = Bun.spawnSync(argv, { cwd: opts.cwd, stdin: opts.input, stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) {
    throw new Error(`${argv.join(" ")} failed (exit ${proc.exitCode}):\n${proc.stderr.toString()}${proc.stdout.toString()}`);
  }
  return proc.stdout.toString();
}

function imageLabels(tag: string): Record<string, string> | undefined {
  const proc = Bun.spawnSync(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", tag], { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) return undefined;
  return (JSON.parse(proc.stdout.toString()) as Record<string, string> | null) ?? {};
}

function baseTag(): string {
  const key = createHash("sha256").update(JSON.stringify({ SUITE, MIRROR, PACKAGES, RECIPE_VERSION, RUNNER_UID })).digest("hex").slice(0, 12);
  return `reactorcide/runner-base:${SUITE}-${key}`;
}

/** Makes the Debian root file system and returns it as a tarball path (cached in .image-cache/). */
function buildRootfsTarball(tag: string, log: Log): string {
  const tarball = join(cacheDir, `${tag.replace(/[/:]/g, "_")}.tar`);
  if (existsSync(tarball)) return tarball;
  mkdirSync(cacheDir, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "reactorcide-rootfs-"));
  try {
    log(`debootstrap ${SUITE} (${PACKAGES.join(", ")}) from ${MIRROR}; this takes a few minutes once`);
    run(["debootstrap", "--variant=minbase", `--include=${PACKAGES.join(",")}`, SUITE, dir, MIRROR]);
    // The job user, written directly so the recipe does not depend on passwd tools in minbase.
    appendFileSync(join(dir, "etc/passwd"), `runner:x:${RUNNER_UID}:${RUNNER_UID}:Reactorcide runner:/home/runner:/bin/sh\n`);
    appendFileSync(join(dir, "etc/group"), `runner:x:${RUNNER_UID}:\n`);
    appendFileSync(join(dir, "etc/shadow"), `runner:!:19000:0:99999:7:::\n`);
    for (const d of ["home/runner", "job"]) {
      mkdirSync(join(dir, d), { recursive: true });
      chownSync(join(dir, d), RUNNER_UID, RUNNER_UID);
    }
    rmSync(join(dir, "var/cache/apt/archives"), { recursive: true, force: true });
    rmSync(join(dir, "var/lib/apt/lists"), { recursive: true, force: true });
    mkdirSync(join(dir, "var/lib/apt/lists/partial"), { recursive: true });
    mkdirSync(join(dir, "var/cache/apt/archives/partial"), { recursive: true });
    const partial = `${tarball}.partial`;
    run(["tar", "--numeric-owner", "-C", dir, "-cf", partial, "."]);
    renameSync(partial, tarball);
    return tarball;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ensureBase(log: Log): string {
  const tag = baseTag();
  if (imageLabels(tag)) return tag;
  const tarball = buildRootfsTarball(tag, log);
  log(`importing base image ${tag}`);
  run([
    "docker", "import",
    "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "--change", "ENV LANG=C.UTF-8",
    tarball, tag,
  ]);
  return tag;
}

export interface ImageResult {
  tag: string;
  base: string;
  binarySha256: string;
  rebuilt: boolean;
}

/** Builds (or confirms up to date) the runner image holding `binary`. Safe to call repeatedly. */
export function buildRunnerImage(opts: { binary: string; tag?: string; log?: Log }): ImageResult {
  const tag = opts.tag ?? RUNNER_IMAGE;
  const log = opts.log ?? (() => {});
  const binary = resolve(opts.binary);
  if (!existsSync(binary)) throw new Error(`runner binary not found at ${binary}; run \`npm run build runner\` first`);
  const binarySha256 = createHash("sha256").update(readFileSync(binary)).digest("hex");
  const base = ensureBase(log);
  const labels = imageLabels(tag);
  if (labels?.[BINARY_LABEL] === binarySha256 && labels[BASE_LABEL] === base) {
    return { tag, base, binarySha256, rebuilt: false };
  }
  const context = mkdtempSync(join(tmpdir(), "reactorcide-image-"));
  try {
    copyFileSync(binary, join(context, "reactorcide-runner"));
    writeFileSync(
      join(context, "Dockerfile"),
      [
        `FROM ${base}`,
        `COPY reactorcide-runner /usr/local/bin/reactorcide-runner`,
        `LABEL ${BINARY_LABEL}="${binarySha256}" ${BASE_LABEL}="${base}"`,
        `ENV HOME=/home/runner`,
        `USER ${RUNNER_UID}:${RUNNER_UID}`,
        `WORKDIR /job`,
        `CMD ["reactorcide-runner", "--help"]`,
        "",
      ].join("\n"),
    );
    log(`building ${tag} (runner ${binarySha256.slice(0, 12)})`);
    run(["docker", "build", "--quiet", "--tag", tag, context]);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return { tag, base, binarySha256, rebuilt: true };
}

const main = defineCommand({
  meta: { name: "image", description: "Build the local runner image without any registry" },
  args: {
    binary: { type: "string", description: "Use this compiled runner instead of building dist/reactorcide-runner" },
    tag: { type: "string", description: "Image tag", default: RUNNER_IMAGE },
    json: { type: "boolean", description: "Print the result as JSON" },
  },
  run({ args }) {
    let binary = args.binary;
    if (!binary) {
      const build = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts"), "runner"], { stdout: "inherit", stderr: "inherit" });
      if (build.exitCode !== 0) process.exit(build.exitCode ?? 1);
      binary = join(root, "dist/reactorcide-runner");
    }
    const started = performance.now();
    try {
      const result = buildRunnerImage({ binary, tag: args.tag, log: (m) => consola.start(m) });
      if (args.json) console.log(JSON.stringify(result));
      else consola.success(`${result.tag} ${result.rebuilt ? "built" : "up to date"} in ${Math.round(performance.now() - started)} ms (base ${result.base})`);
    } catch (error) {
      consola.error((error as Error).message);
      process.exit(1);
    }
  },
});

if (import.meta.main) await runMain(main);
