/**
 * Source preparation against the plain tools in the same run: git (prepareSource shallow branch
 * and short-SHA fetches vs `git clone --depth 1` and a full `git clone`), copy (vs `cp -a`) and
 * tarball (vs `tar -xzf`, our run including the full-listing safety check).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "tar";
import { commit, sh, workRepo } from "../runner/git/fixtures.ts";
import { prepareSource } from "../runner/source/prepare.ts";
import { percentile, writeBenchResult } from "./lib/results.ts";

const RUNS = 5;
const FILES = 1000;
const COMMITS = 40;
const root = mkdtempSync(join(tmpdir(), "rc-bench-source-"));

function run(argv: string[], cwd = root): void {
  const proc = Bun.spawnSync(argv, { cwd, stdout: "ignore", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${proc.stderr.toString()}`);
}

async function measure(fn: (target: string) => Promise<unknown> | unknown): Promise<{ p50_ms: number; min_ms: number }> {
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const target = join(root, `t-${crypto.randomUUID()}`);
    const started = performance.now();
    await fn(target);
    samples.push(performance.now() - started);
    rmSync(target, { recursive: true, force: true });
  }
  return { p50_ms: Math.round(percentile(samples, 50) * 10) / 10, min_ms: Math.round(Math.min(...samples) * 10) / 10 };
}

// A tree of FILES small files in 100 directories, and a history of COMMITS commits over it.
const tree = join(root, "tree");
for (let i = 0; i < FILES; i++) {
  const dir = join(tree, `dir-${i % 100}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `file-${i}.txt`), `${"line of text\n".repeat(40)}${i}\n`);
}
const repo = workRepo(join(root, "work"));
run(["cp", "-a", `${tree}/.`, repo]);
const first = commit(repo, "initial", {});
for (let i = 1; i < COMMITS; i++) commit(repo, `change ${i}`, { [`dir-${i % 100}/file-${i}.txt`]: `changed ${i}\n`.repeat(200) });
const remote = join(root, "remote.git");
sh(repo, "clone", "-q", "--bare", repo, remote);
const archive = join(root, "tree.tgz");
await create({ gzip: true, file: archive, cwd: tree }, ["."]);

const results = {
  files: FILES,
  commits: COMMITS,
  runs: RUNS,
  git: {
    prepare_branch_shallow: await measure((t) => prepareSource({ type: "git", url: remote, ref: "main" }, t)),
    baseline_git_clone_depth_1: await measure((t) => run(["git", "clone", "-q", "--depth", "1", "--branch", "main", `file://${remote}`, t])),
    prepare_short_sha_full_history: await measure((t) => prepareSource({ type: "git", url: remote, ref: first.slice(0, 10) }, t)),
    baseline_git_clone_full: await measure((t) => run(["git", "clone", "-q", `file://${remote}`, t])),
  },
  copy: {
    prepare_copy: await measure((t) => prepareSource({ type: "copy", url: tree }, t)),
    baseline_cp_a: await measure((t) => run(["cp", "-a", tree, t])),
  },
  tarball: {
    prepare_tarball: await measure((t) => prepareSource({ type: "tarball", url: archive }, t)),
    baseline_tar_xzf: await measure((t) => {
      mkdirSync(t);
      run(["tar", "-xzf", archive, "-C", t]);
    }),
  },
};
rmSync(root, { recursive: true, force: true });
console.log(JSON.stringify(results, null, 2));
console.log(writeBenchResult({ name: "source", results, notes: "times in ms per preparation into an empty directory, local file:// remote" }));
