/**
 * What a run will do, decided before anything happens: where sources go, where the command runs,
 * and (with an image) the exact container command. `--dry-run` prints this and stops.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pullRequestNumber, type ResolvedConfig } from "../config/resolve.ts";
import { CONTAINER_USER, containerRunArgs } from "../container/command.ts";
import { displayUrl } from "../source/url-credentials.ts";
import { hostPath, JOB_ROOT } from "../workspace/paths.ts";

export const CI_DIR = `${JOB_ROOT}/ci`;

export interface SourceStep {
  which: "ci_source" | "source";
  spec: { type: string; url?: string; ref?: string };
  jobDir: string;
  hostDir: string;
  /** The source only (the job code is trusted and never comes from a pull request). */
  prNumber?: string;
  /** Where the number came from (--pr-number, REACTORCIDE_PR_NUMBER...), for errors. */
  prField?: string;
}

export interface RunPlan {
  sources: SourceStep[];
  /** Host directory the command runs in (in place) or the /job path (container). */
  jobDir: string;
  hostJobDir: string;
  container?: { name: string; envFile: string; argv: string[] };
}

/**
 * The env file the container CLI reads: one private directory per container, outside the
 * workspace, so parallel steps never share one and a job cannot plant links where the runner
 * (maybe root) writes it.
 */
export const envFileFor = (containerName: string) => join(tmpdir(), containerName, "job.env");

function sourceSpec(type: string, url: string, ref: string) {
  return { type, ...(url ? { url } : {}), ...(ref ? { ref } : {}) };
}

/**
 * As root the workspace is handed to the image's runner user; otherwise the job runs as the
 * caller, who owns the workspace already (never as root either way).
 */
function containerUser(): string {
  const uid = process.getuid?.() ?? 0;
  return uid === 0 ? CONTAINER_USER : `${uid}:${process.getgid?.() ?? uid}`;
}

export function buildPlan(r: ResolvedConfig): RunPlan {
  const { config, labels } = r;
  const sources: SourceStep[] = [];
  if (config.ci_source_type !== "none") {
    sources.push({ which: "ci_source", spec: sourceSpec(config.ci_source_type, config.ci_source_url, config.ci_source_ref), jobDir: CI_DIR, hostDir: hostPath(config.workspace, CI_DIR, "ci_source") });
  }
  if (config.source_type !== "none") {
    const pr = config.source_type === "git" ? pullRequestNumber(r) : undefined;
    sources.push({
      which: "source", spec: sourceSpec(config.source_type, config.source_url, config.source_ref), jobDir: config.code_dir, hostDir: hostPath(config.workspace, config.code_dir, labels.code_dir),
      ...(pr ? { prNumber: pr.value, prField: pr.field } : {}),
    });
  }
  const plan: RunPlan = { sources, jobDir: config.job_dir, hostJobDir: hostPath(config.workspace, config.job_dir, labels.job_dir) };
  if (config.image) {
    // Web Crypto, not node:crypto: loading that module cost every run (container or not) ~2 ms.
    const name = `reactorcide-${config.name}-${Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString("hex")}`;
    const envFile = envFileFor(name);
    const argv = containerRunArgs({
      runtime: config.runtime, image: config.image, command: config.job_command, name,
      workspace: config.workspace, workdir: config.job_dir, envFile, user: containerUser(),
      cpu: config.cpu, memory: config.memory, pids: config.pids,
      labels: { "io.reactorcide.job": config.name },
    });
    plan.container = { name, envFile, argv };
  }
  return plan;
}

/**
 * Quotes an argument only when the shell would need it, so the printed command reads plainly.
 * Bun.$ is read here, not imported: importing it builds Bun's shell at every start (~1.4M instructions).
 */
const shellWord = (arg: string) => (/^[\w\/.,:=@%+-]+$/.test(arg) ? arg : Bun.$.escape(arg));

export function formatPlan(r: ResolvedConfig, plan: RunPlan): string {
  const lines: string[] = [];
  let n = 1;
  for (const s of plan.sources) {
    lines.push(`${n++}. prepare ${s.which === "ci_source" ? "job code" : "source"}: ${s.spec.type}${s.spec.url ? ` ${displayUrl(s.spec.url)}` : ""}${s.spec.ref ? ` @ ${s.spec.ref}` : ""}${s.prNumber ? ` (pull request ${s.prNumber})` : ""} → ${s.jobDir} (${s.hostDir})`);
  }
  const limit = r.config.timeout > 0 ? `, timeout ${r.config.timeout} s` : "";
  if (plan.container) {
    lines.push(`${n++}. run in a container of ${r.config.image} (${r.config.runtime}) in ${plan.jobDir}${limit}, grace ${r.config.grace_period} s: ${r.config.job_command}`);
  } else {
    lines.push(`${n++}. run in place in ${plan.jobDir} (${plan.hostJobDir})${limit}, grace ${r.config.grace_period} s: ${r.config.job_command}`);
  }
  let text = `Plan:\n${lines.map((l) => `  ${l}`).join("\n")}\n`;
  if (plan.container) text += `Container command:\n  ${plan.container.argv.map(shellWord).join(" ")}\n`;
  return text;
}
