#!/usr/bin/env bun
/**
 * Builds the local images without any registry:
 *  1. a base image from a Debian root file system made by debootstrap (minbase + git +
 *     ca-certificates + a "runner" user, uid 1001), imported with `docker import` and cached by a
 *     tag derived from its recipe (and as a tarball in .image-cache/);
 *  2. reactorcide/runner:dev, a thin layer on top holding the compiled runner, labelled with the
 *     binary's SHA-256, rebuilt only when that hash (or the base) changes;
 *  3. the others (`docker build` on the same base, Debian packages by apt-get), each labelled with
 *     a key of everything it is made from and rebuilt only when that key changes:
 *     reactorcide/daemon:dev (the compiled daemon, its Postgres, tini and the docker CLI, user
 *     reactorcide 1001); and, for the compose test and this project's CI, reactorcide/postgres:15
 *     (Debian's postgresql-15), reactorcide/s3rver:dev (scripts/s3-server.ts) and
 *     reactorcide/ci-node:dev (the runner image plus Debian's nodejs and npm and this lockfile's
 *     node_modules in /opt/deps).
 * Usage: bun run image [runner|daemon|postgres|s3rver|ci-node|all]... [--json]   (runner and daemon by default)
 *        bun run image runner --binary PATH [--tag TAG]
 */
import { defineCommand, runMain } from "citty";
import { consola } from "consola";
import { createHash } from "node:crypto";
import { appendFileSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from "node:fs";
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


// ---- images built on the base with `docker build` ------------------------------------------

export const DAEMON_IMAGE = "reactorcide/daemon:dev";
export const POSTGRES_IMAGE = "reactorcide/postgres:15";
export const S3_IMAGE = "reactorcide/s3rver:dev";
export const CI_NODE_IMAGE = "reactorcide/ci-node:dev";
const KEY_LABEL = "io.reactorcide.image.key";
/** Bump when a recipe below changes in a way its key does not see. */
const LAYER_RECIPE_VERSION = 1;

/** SHA-256 of a file or a directory tree (paths, modes, contents, link targets), sorted. */
function contentHash(path: string): string {
  const hash = createHash("sha256");
  const walk = (p: string, rel: string) => {
    const st = lstatSync(p);
    hash.update(`${rel}\0${st.mode}\0`);
    if (st.isSymbolicLink()) hash.update(readlinkSync(p));
    else if (st.isDirectory()) for (const name of readdirSync(p).sort()) walk(join(p, name), `${rel}/${name}`);
    else hash.update(readFileSync(p));
  };
  walk(path, ".");
  return hash.digest("hex");
}

interface LayerRecipe {
  tag: string;
  from: string;
  /** Dockerfile lines after FROM. */
  lines: string[];
  /** Context entries: name -> path on this machine (files copied, directories hard-linked). */
  context?: Record<string, string>;
  /** Hashes standing for large inputs (e.g. a lockfile for node_modules) instead of their content. */
  keyParts?: Record<string, string>;
}

/** `docker build` of a recipe, skipped when the image's key label already matches. */
function buildLayer(recipe: LayerRecipe, log: Log): ImageResult & { key: string } {
  const parts: Record<string, string> = { from: recipe.from, lines: recipe.lines.join("\n"), version: String(LAYER_RECIPE_VERSION), ...recipe.keyParts };
  for (const [name, path] of Object.entries(recipe.context ?? {})) {
    if (!existsSync(path)) throw new Error(`${recipe.tag}: ${path} not found`);
    parts[`file:${name}`] ??= contentHash(path);
  }
  const key = createHash("sha256").update(JSON.stringify(parts)).digest("hex");
  const base = recipe.from;
  if (imageLabels(recipe.tag)?.[KEY_LABEL] === key) return { tag: recipe.tag, base, binarySha256: "", rebuilt: false, key };
  mkdirSync(cacheDir, { recursive: true });
  // Inside the repository's .image-cache/ so directories can be hard-linked, not copied.
  const context = mkdtempSync(join(cacheDir, "context-"));
  try {
    for (const [name, path] of Object.entries(recipe.context ?? {})) {
      if (lstatSync(path).isDirectory()) run(["cp", "-al", path, join(context, name)]);
      else copyFileSync(path, join(context, name));
    }
    writeFileSync(join(context, "Dockerfile"), [`FROM ${recipe.from}`, ...recipe.lines, `LABEL ${KEY_LABEL}="${key}"`, ""].join("\n"));
    log(`building ${recipe.tag}`);
    run(["docker", "build", "--quiet", "--tag", recipe.tag, context]);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  return { tag: recipe.tag, base, binarySha256: "", rebuilt: true, key };
}

const aptInstall = (packages: string[]) =>
  `RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages.join(" ")} >/dev/null && rm -rf /var/lib/apt/lists/*`;

/**
 * reactorcide/daemon:dev: the compiled daemon with its Postgres binaries in /opt/reactorcide, run
 * by tini as user reactorcide (uid 1001, the base's job user renamed), data in the volume
 * /var/lib/reactorcide (XDG_DATA_HOME=/var/lib makes it the default data directory). The docker
 * CLI (from Debian's docker.io, the client alone) is there for workers on the docker runtime.
 */
export function buildDaemonImage(opts: { binary: string; pgDir: string; tag?: string; log?: Log }): ImageResult {
  const log = opts.log ?? (() => {});
  const result = buildLayer(
    {
      tag: opts.tag ?? DAEMON_IMAGE,
      from: ensureBase(log),
      context: { reactorcide: resolve(opts.binary), pg: resolve(opts.pgDir) },
      lines: [
        "USER 0",
        // Only the client out of docker.io: the daemon, containerd and runc are not needed here.
        `RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tini >/dev/null \\
 && cd /tmp && apt-get download -qq docker.io && dpkg-deb -x docker.io_*.deb docker && install -m 0755 docker/usr/bin/docker /usr/local/bin/docker \\
 && rm -rf /tmp/docker /tmp/docker.io_*.deb /var/lib/apt/lists/*`,
        `RUN groupmod -n reactorcide runner && usermod -l reactorcide -d /var/lib/reactorcide runner \\
 && install -d -o ${RUNNER_UID} -g ${RUNNER_UID} -m 0711 /var/lib/reactorcide`,
        "COPY pg /opt/reactorcide/pg",
        "COPY reactorcide /opt/reactorcide/reactorcide",
        "RUN ln -s /opt/reactorcide/reactorcide /usr/local/bin/reactorcide",
        "ENV XDG_DATA_HOME=/var/lib HOME=/var/lib/reactorcide",
        "VOLUME /var/lib/reactorcide",
        `USER ${RUNNER_UID}:${RUNNER_UID}`,
        "WORKDIR /var/lib/reactorcide",
        "EXPOSE 8080 5080",
        `ENTRYPOINT ["/usr/bin/tini", "--", "/opt/reactorcide/reactorcide"]`,
        `CMD ["serve", "--host", "0.0.0.0"]`,
      ],
    },
    log,
  );
  return { ...result, binarySha256: createHash("sha256").update(readFileSync(opts.binary)).digest("hex") };
}

/**
 * reactorcide/postgres:15: Debian's postgresql-15 with an entrypoint that initialises the cluster
 * on first start from POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB (like the usual Postgres
 * images) and listens on every address with scram-sha-256 passwords. For the compose test, where
 * no registry offers the official image.
 */
export function buildPostgresImage(log: Log): ImageResult {
  const entrypoint = join(cacheDir, "postgres-entrypoint.sh");
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(
    entrypoint,
    `#!/bin/sh
set -eu
PGDATA=\${PGDATA:-/var/lib/postgresql/data}
BIN=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "\${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
  USER_NAME=\${POSTGRES_USER:-postgres}
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  "$BIN/initdb" -D "$PGDATA" -U "$USER_NAME" --pwfile="$pwfile" --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ -n "\${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    "$BIN/postgres" --single -D "$PGDATA" postgres <<SQL >/dev/null
CREATE DATABASE "$POSTGRES_DB" OWNER "$USER_NAME";
SQL
  fi
fi
exec "$BIN/postgres" -D "$PGDATA" -k /var/run/postgresql
`,
  );
  return buildLayer(
    {
      tag: POSTGRES_IMAGE,
      from: ensureBase(log),
      context: { "entrypoint.sh": entrypoint },
      lines: [
        "USER 0",
        aptInstall(["postgresql-15"]),
        "RUN install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data && install -d -o postgres -g postgres /var/run/postgresql",
        "COPY entrypoint.sh /usr/local/bin/postgres-entrypoint",
        "RUN chmod 0755 /usr/local/bin/postgres-entrypoint",
        "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data",
        "VOLUME /var/lib/postgresql/data",
        "USER postgres",
        "EXPOSE 5432",
        `ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]`,
      ],
    },
    log,
  );
}

/** reactorcide/s3rver:dev: scripts/s3-server.ts (the s3rver package) compiled into one executable. */
export function buildS3Image(log: Log): ImageResult {
  const binary = join(cacheDir, "s3-server");
  mkdirSync(cacheDir, { recursive: true });
  run([process.execPath, "build", "--compile", "--minify", join(root, "scripts", "s3-server.ts"), "--outfile", binary], { cwd: root });
  return buildLayer(
    {
      tag: S3_IMAGE,
      from: ensureBase(log),
      context: { "s3-server": binary },
      lines: [
        "USER 0",
        "COPY s3-server /usr/local/bin/s3-server",
        `RUN install -d -o ${RUNNER_UID} -g ${RUNNER_UID} /data`,
        "VOLUME /data",
        `USER ${RUNNER_UID}:${RUNNER_UID}`,
        "EXPOSE 9000",
        `ENTRYPOINT ["/usr/local/bin/s3-server"]`,
      ],
    },
    log,
  );
}

/**
 * reactorcide/ci-node:dev, the image this project's own CI jobs run in: Debian's nodejs and npm,
 * in /opt/deps the node_modules of this package-lock.json, and the runner. Two layers so the
 * heavy one is made once per lockfile (reactorcide/ci-node-deps:<its hash>) and a new runner only
 * adds the thin one. A job on the same lockfile links /opt/deps/node_modules instead of
 * downloading (`npm ci` otherwise).
 */
export function buildCiNodeImage(opts: { binary: string; log?: Log }): ImageResult {
  const log = opts.log ?? (() => {});
  const lock = join(root, "package-lock.json");
  const lockHash = createHash("sha256").update(readFileSync(lock)).digest("hex");
  const deps = buildLayer(
    {
      tag: `reactorcide/ci-node-deps:${lockHash.slice(0, 12)}`,
      from: ensureBase(log),
      context: { "package-lock.json": lock, node_modules: join(root, "node_modules") },
      // The lockfile stands for node_modules: hashing 800 MB on every run would take longer than the build.
      keyParts: { "file:node_modules": lockHash },
      lines: [
        "USER 0",
        aptInstall(["nodejs", "npm"]),
        "COPY package-lock.json /opt/deps/package-lock.json",
        "COPY node_modules /opt/deps/node_modules",
      ],
    },
    log,
  );
  return buildLayer(
    {
      tag: CI_NODE_IMAGE,
      from: deps.tag,
      context: { "reactorcide-runner": resolve(opts.binary) },
      keyParts: { deps: deps.key },
      lines: [
        "COPY reactorcide-runner /usr/local/bin/reactorcide-runner",
        `ENV HOME=/home/runner`,
        `USER ${RUNNER_UID}:${RUNNER_UID}`,
        `WORKDIR /job`,
      ],
    },
    log,
  );
}


const IMAGE_NAMES = ["runner", "daemon", "postgres", "s3rver", "ci-node"] as const;
type ImageName = (typeof IMAGE_NAMES)[number];

function compile(target: "runner" | "daemon"): void {
  mkdirSync(join(root, "dist"), { recursive: true });
  const build = Bun.spawnSync(["flock", join(root, "dist", ".build.lock"), process.execPath, join(root, "scripts/build.ts"), target], { stdout: "inherit", stderr: "inherit" });
  if (build.exitCode !== 0) process.exit(build.exitCode ?? 1);
}

const main = defineCommand({
  meta: { name: "image", description: "Build the local images without any registry" },
  args: {
    images: { type: "positional", description: `which: ${IMAGE_NAMES.join(", ")}, all (default: runner daemon)`, required: false },
    binary: { type: "string", description: "runner: use this compiled runner instead of building dist/reactorcide-runner" },
    tag: { type: "string", description: "runner: image tag", default: RUNNER_IMAGE },
    json: { type: "boolean", description: "Print the results as JSON" },
  },
  run({ args }) {
    const asked = args._.length ? args._ : ["runner", "daemon"];
    const names = (asked.includes("all") ? [...IMAGE_NAMES] : asked) as ImageName[];
    for (const name of names) {
      if (!IMAGE_NAMES.includes(name)) {
        consola.error(`unknown image "${name}"; allowed: ${IMAGE_NAMES.join(", ")}, all`);
        process.exit(2);
      }
    }
    const log: Log = (m) => consola.start(m);
    const results: ImageResult[] = [];
    try {
      for (const name of IMAGE_NAMES.filter((n) => names.includes(n))) {
        const started = performance.now();
        let result: ImageResult;
        if (name === "runner" || name === "ci-node") {
          let binary = args.binary;
          if (!binary) {
            compile("runner");
            binary = join(root, "dist/reactorcide-runner");
          }
          result = name === "runner" ? buildRunnerImage({ binary, tag: args.tag, log }) : buildCiNodeImage({ binary, log });
        } else if (name === "daemon") {
          compile("daemon");
          result = buildDaemonImage({ binary: join(root, "dist/reactorcide"), pgDir: join(root, "dist/pg"), log });
        } else if (name === "postgres") result = buildPostgresImage(log);
        else result = buildS3Image(log);
        results.push(result);
        if (!args.json) consola.success(`${result.tag} ${result.rebuilt ? "built" : "up to date"} in ${Math.round(performance.now() - started)} ms`);
      }
      if (args.json) console.log(JSON.stringify(results));
    } catch (error) {
      consola.error((error as Error).message);
      process.exit(1);
    }
  },
});

if (import.meta.main) await runMain(main);
