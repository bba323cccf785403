/**
 * One job, end to end, on one worker slot: take it (queued → running), resolve its secrets, start
 * the runner in the runtime (which makes and removes the workspace and delivers the env and
 * secrets its own way), ship masked logs while enforcing the timeout and watching for a cancel,
 * then report exactly one terminal status.
 */
import { parseTriggerLine, type TriggerPayload } from "../../runner/protocol/trigger.ts";
import type { Coordinator, FinishReport, JobAccess, StartAnswer, WorkerJob } from "./coordinator.ts";
import { LogShipper, type LineMasker } from "./logs/shipper.ts";
import { TriggerLineScanner } from "./logs/trigger-line-scanner.ts";
import { InfrastructureError, RefusedError, type Exit, type FoundSteps, type FoundTriggers, type Runtime, type RunSpec } from "./runtimes/runtime.ts";
import { parseMemory, type WorkerSettings } from "./settings.ts";
import { JobSpans } from "./spans.ts";
import { JOB_ROOT, RUNNER_ENV, toJobStepResults, type JobStepResult } from "../../runner/protocol/index.ts";

export interface SecretMasker extends LineMasker {
  register(values: Iterable<string>): number;
}

export interface JobRunDeps {
  coordinator: Coordinator;
  runtime: Runtime;
  settings: WorkerSettings;
  newMasker: () => SecretMasker;
  /** Called while the job runs (e.g. to extend the queue lease); errors are the caller's to log. */
  onProgress?: () => void;
  /** Phase timings of this job (see spans.ts); marks go nowhere unless spans are on. */
  spans?: JobSpans;
}

export type JobRunOutcome =
  | { kind: "finished"; report: FinishReport; recorded: boolean }
  /** Nothing to run: the job is gone, already terminal, or not ours to take. */
  | { kind: "skipped"; reason: string };

/** Values that cannot be written to env files; caught before anything starts. */
function checkEnv(env: Record<string, string>): void {
  for (const [key, value] of Object.entries(env)) {
    if (value.includes("\0")) throw new RefusedError(`env.${key}: values cannot contain a NUL byte`);
  }
}

const LINE_BREAK = /[\r\n]/;
/** Longest command sent as an env-file line: Docker's --env-file reader refuses lines over 64 KiB ("token too long"). */
const ENV_LINE_COMMAND_BYTES = 16 * 1024;

/** A command an env file cannot carry (a line break, or longer than its line limit) goes as --job-command instead. */
const commandNeedsArgv = (command: string) => LINE_BREAK.test(command) || Buffer.byteLength(command) > ENV_LINE_COMMAND_BYTES;

/**
 * Plain http carries the job token in the clear, so it is allowed (and the runner told so) only
 * to this machine or across the container bridge: loopback, 172.16.0.0/12 (Docker's bridges),
 * 10.88.0.0/16 (podman's). Anything else must be https, or the job gets no address at all.
 */
export function insecureTransportAllowed(url: string): boolean | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol === "https:") return false;
  if (parsed.protocol !== "http:") return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host === "::1" || /^127\./.test(host)) return true;
  const m = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (m && ((m[1] === "172" && Number(m[2]) >= 16 && Number(m[2]) <= 31) || (m[1] === "10" && m[2] === "88"))) return true;
  return null;
}

/**
 * REACTORCIDE_* configuration for `reactorcide-runner run` inside the job. REACTORCIDE_JOB_ENV is
 * the runtime's to set: it knows where it put the job's variables.
 */
export function runnerEnv(job: WorkerJob, secretNames: readonly string[] = []): Record<string, string> {
  const env: Record<string, string> = {
    [RUNNER_ENV.workspace]: JOB_ROOT,
    [RUNNER_ENV.jobName]: job.name,
    [RUNNER_ENV.jobId]: job.id,
    // Exactly the injected secrets are secret; the job's plain env stays readable in its log.
    [RUNNER_ENV.secretEnvNames]: secretNames.join(","),
  };
  // A job of steps: the steps as one line of JSON (every runtime passes it the same way).
  if (job.steps?.length) env.REACTORCIDE_JOB_STEPS = JSON.stringify(job.steps);
  // A command with a line break cannot go through an env file; runnerArgv passes it as a flag instead.
  else if (job.command && !commandNeedsArgv(job.command)) env[RUNNER_ENV.jobCommand] = job.command;
  const source = (names: { type: string; url: string; ref: string }, s: WorkerJob["source"]) => {
    if (!s) return;
    env[names.type] = s.type;
    if (s.url) env[names.url] = s.url;
    if (s.ref) env[names.ref] = s.ref;
  };
  source({ type: RUNNER_ENV.sourceType, url: RUNNER_ENV.sourceUrl, ref: RUNNER_ENV.sourceRef }, job.source);
  source({ type: RUNNER_ENV.ciSourceType, url: RUNNER_ENV.ciSourceUrl, ref: RUNNER_ENV.ciSourceRef }, job.ci_source);
  return env;
}

/** `reactorcide-runner run`, with the command as --job-command when runnerEnv could not carry it. */
export function runnerArgv(job: WorkerJob): string[] {
  return !job.steps?.length && job.command && commandNeedsArgv(job.command) ? ["reactorcide-runner", "run", "--job-command", job.command] : ["reactorcide-runner", "run"];
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The job's way back to the coordinator: an address to use its token at, a note why there is none, or nothing. */
type JobAddress = { url: string; insecure: boolean } | { url: null; note?: string };

export class JobRun {
  /** What the job asked for: its triggers file (read by the runtime) and its stdout trigger lines. */
  private found: { file?: FoundTriggers; lines: TriggerPayload[]; steps?: FoundSteps } = { lines: [] };

  private readonly spans: JobSpans;
  /** What the runtime still removes after a run's exit (its container, workspace, env files). */
  private removals: Promise<void>[] = [];

  constructor(
    private readonly jobId: string,
    private readonly deps: JobRunDeps,
  ) {
    this.spans = deps.spans ?? new JobSpans();
  }

  async run(): Promise<JobRunOutcome> {
    const { coordinator, settings } = this.deps;
    const address = this.jobAddress();
    // One round trip takes the job and brings what running it needs (the job, its secrets, a token).
    const started = await coordinator.start(this.jobId, { workerId: settings.workerId, image: settings.defaultImage, token: address.url !== null });
    this.spans.mark("start");
    if (started.kind === "gone") return { kind: "skipped", reason: "job not found" };
    if (started.kind === "not_queued") return this.notQueued();
    const { job } = started;

    const masker = this.deps.newMasker();
    const shipper = new LogShipper({ masker, maxTotalBytes: settings.maxLogBytes, send: (chunk) => coordinator.appendLogChunk(job.id, chunk) });
    let report: FinishReport;
    try {
      report = await this.execute(job, masker, shipper, started, address);
    } catch (error) {
      report = { status: "error", exitCode: null, reason: masker.mask(errorMessage(error)) };
    }
    // Before the end is reported: follow-up jobs join the run while their parent still runs.
    if (report.status !== "cancelled") await this.submitTriggers(job, shipper, masker);
    this.spans.mark("triggers");
    const stepResults = this.stepResults(job, shipper, masker);
    if (stepResults) report = { ...report, stepResults };
    shipper.system(`${report.status}${report.exitCode === null ? "" : ` (exit ${report.exitCode})`}: ${report.reason}`);
    try {
      await shipper.close();
      this.spans.mark("log_close");
    } catch (error) {
      // Lines are missing from the log: whatever the command did, the run cannot count as a success.
      report = { ...report, status: report.status === "success" ? "error" : report.status, reason: `${report.reason}; ${errorMessage(error)}` };
    }
    try {
      return await this.finish(job, report);
    } finally {
      // The end is reported (or could not be); the slot is taken until what the job had is gone.
      await this.removed();
    }
  }

  /** Waits for the runtime's removals of every attempt so far. */
  private async removed(): Promise<void> {
    await Promise.all(this.removals);
    this.removals = [];
    this.spans.mark("removal");
  }

  /**
   * The job was not queued when we asked for it. Running means our task came back after its lease
   * expired: the worker that had it is gone. Its container may outlive it (and its workspace and
   * secrets); remove them first so the job cannot write after its end is recorded.
   */
  private async notQueued(): Promise<JobRunOutcome> {
    const { coordinator } = this.deps;
    const job = await coordinator.getJob(this.jobId);
    if (!job) return { kind: "skipped", reason: "job not found" };
    if (job.status !== "running") return { kind: "skipped", reason: `job is already ${job.status}` };
    await this.deps.runtime.remove(job.id);
    const report: FinishReport = { status: "error", exitCode: null, reason: "the worker running this job stopped responding (its queue lease expired); the job did not finish" };
    // The kept log says why it stops here, as the log of any other ending does.
    await coordinator.appendLogs(job.id, [{ stream: "system", line: `${report.status}: ${report.reason}` }]).catch(() => {});
    return this.finish(job, report);
  }

  /**
   * Hands the coordinator what the job asked for: triggers.json (the whole, unmasked record of its
   * operation), then stdout lines of other operations. The coordinator creates each
   * (operation_id, job name) once, so a request that also came by POST or both ways runs once.
   */
  private async submitTriggers(job: WorkerJob, shipper: LogShipper, masker: SecretMasker): Promise<void> {
    const { file, lines } = this.found;
    const batches: { via: "file" | "stdout"; payload: TriggerPayload }[] = [];
    if (file && "error" in file) shipper.system(`triggers.json ignored: ${masker.mask(file.error)}`);
    const fromFile = file && "payload" in file ? file.payload : null;
    if (fromFile?.jobs.length) batches.push({ via: "file", payload: fromFile });
    const byOperation = new Map<string, TriggerPayload>();
    for (const line of lines) {
      // A line of the file's operation may have had a secret in its env masked: the file has it whole.
      if (line.operation_id === fromFile?.operation_id) continue;
      const merged = byOperation.get(line.operation_id);
      if (merged) merged.jobs.push(...line.jobs);
      else byOperation.set(line.operation_id, { ...line, jobs: [...line.jobs] });
    }
    for (const payload of byOperation.values()) batches.push({ via: "stdout", payload });
    for (const { via, payload } of batches) {
      try {
        const result = await this.deps.coordinator.submitTriggers(job.id, via, payload);
        if ("refused" in result) shipper.system(`trigger refused (${via}): ${masker.mask(result.refused)}`);
        else if (result.created.length) shipper.system(`triggered ${result.created.join(", ")} (${via})`);
      } catch (error) {
        shipper.system(`triggers (${via}) could not be submitted: ${masker.mask(errorMessage(error))}`);
      }
    }
  }

  /**
   * The runner's steps.json, masked as the log is (a step's reason may quote what it ran). Only
   * for a job of steps, and only its own steps: a plain command could write the file itself.
   */
  private stepResults(job: WorkerJob, shipper: LogShipper, masker: SecretMasker): JobStepResult[] | undefined {
    const found = this.found.steps;
    const names = new Set(job.steps?.map((s) => s.name));
    if (!found || names.size === 0) return undefined;
    if ("error" in found) {
      shipper.system(`steps.json ignored: ${masker.mask(found.error)}`);
      return undefined;
    }
    if (!found.report) return undefined;
    return toJobStepResults(found.report)
      .filter((s) => names.has(s.name))
      .map((s) => ({ ...s, reason: s.reason === null ? null : masker.mask(s.reason) }));
  }

  private async finish(job: WorkerJob, report: FinishReport): Promise<JobRunOutcome> {
    const recorded = await this.deps.coordinator.finish(job.id, report);
    this.spans.mark("set_finished");
    return { kind: "finished", report, recorded };
  }

  /** Runs the job, retrying infrastructure errors `job.retries` times with backoff. */
  private async execute(job: WorkerJob, masker: SecretMasker, shipper: LogShipper, started: StartAnswer & { kind: "started" }, address: JobAddress): Promise<FinishReport> {
    const { secrets } = started;
    if (address.url === null && address.note) shipper.system(address.note);
    if (started.secretsError !== undefined) throw new Error(`resolving the secrets of job ${job.id}: ${started.secretsError}`);
    const access = address.url !== null && started.access ? { token: started.access.token, url: address.url, insecure: address.insecure } : null;
    if (address.url !== null && !access) shipper.system("no job token (the coordinator gave none); triggers go by triggers.json and stdout lines");
    masker.register(Object.values(secrets));
    // Values a trigger passed on may be its parent's secrets: masked here as in the runner.
    masker.register(job.secret_env.map((name) => job.env[name]).filter((v): v is string => !!v));
    if (access) masker.register([access.token]);
    const spec = this.prepare(job, secrets, access);
    this.spans.mark("prepare");
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.runtime.preflight(spec);
        this.spans.mark("preflight");
        return await this.attempt(job, spec, shipper);
      } catch (error) {
        if (error instanceof RefusedError) return { status: "error", exitCode: null, reason: masker.mask(error.message) };
        if (!(error instanceof InfrastructureError)) throw error;
        if (attempt >= job.retries) {
          const tries = attempt + 1;
          return { status: "error", exitCode: null, reason: masker.mask(`${error.message}${tries > 1 ? ` (after ${tries} attempts)` : ""}`) };
        }
        // The next attempt makes a fresh workspace where this one's is being removed.
        await this.removed();
        const delay = this.deps.settings.retryBaseMs * 2 ** attempt;
        shipper.system(`infrastructure error: ${error.message}; retrying in ${Math.round(delay / 100) / 10} s (${attempt + 1} of ${job.retries})`);
        await Bun.sleep(delay);
      }
    }
  }

  /**
   * Where the job reaches the coordinator with its token, when the worker has an address for jobs
   * and may hand it out; otherwise a note for the log (or nothing, when there is no address).
   */
  private jobAddress(): JobAddress {
    const url = this.deps.settings.jobCoordinatorUrl;
    if (!url) return { url: null };
    const insecure = insecureTransportAllowed(url);
    if (insecure === null) {
      return { url: null, note: `no coordinator address for the job: ${url} is neither https nor a loopback or container-bridge address; triggers go by triggers.json and stdout lines` };
    }
    return { url, insecure };
  }

  private prepare(job: WorkerJob, secrets: Record<string, string>, access: (JobAccess & { url: string; insecure: boolean }) | null = null): RunSpec {
    const { settings } = this.deps;
    // The job's way back to the coordinator: its own token, for its own triggers only.
    const coordinatorEnv: Record<string, string> = access
      ? {
          REACTORCIDE_COORDINATOR_URL: access.url,
          REACTORCIDE_API_TOKEN: access.token,
          REACTORCIDE_JOB_ID: job.id,
          ...(access.insecure ? { REACTORCIDE_ALLOW_INSECURE_TRANSPORT: "true" } : {}),
        }
      : {};
    // The runner hands exactly these variables to the job's command.
    const jobEnv = { ...job.env, ...secrets, ...coordinatorEnv };
    checkEnv(jobEnv);
    const r = job.resources ?? {};
    const limits = {
      memoryBytes: r.memory ? parseMemory(r.memory) : settings.limits.memoryBytes,
      cpus: r.cpu ?? settings.limits.cpus,
      pids: r.pids ?? settings.limits.pids,
    };
    const image = job.image ?? settings.defaultImage;
    if (image !== settings.defaultImage && settings.allowedImages.length && !settings.allowedImages.some((p) => new Bun.Glob(p).match(image))) {
      throw new RefusedError(`image: ${image} is not an image this worker runs (allowed: ${[settings.defaultImage, ...settings.allowedImages].join(", ")})`);
    }
    const max = settings.maxLimits;
    // Only what the job asked for: the worker's own defaults are the operator's choice.
    if (r.memory && limits.memoryBytes > max.memoryBytes) throw new RefusedError(`resources.memory: ${r.memory} is more than this worker allows (${Math.floor(max.memoryBytes / 2 ** 20)}m)`);
    if (r.cpu !== undefined && limits.cpus > max.cpus) throw new RefusedError(`resources.cpu: ${limits.cpus} is more than this worker allows (${max.cpus})`);
    if (r.pids !== undefined && limits.pids > max.pids) throw new RefusedError(`resources.pids: ${limits.pids} is more than this worker allows (${max.pids})`);
    return {
      jobId: job.id,
      image,
      argv: runnerArgv(job),
      env: runnerEnv(job, [...Object.keys(secrets), ...job.secret_env, ...(access ? ["REACTORCIDE_API_TOKEN"] : [])]),
      jobEnv,
      limits,
      timeoutSeconds: job.timeout ?? settings.defaultTimeout,
      graceSeconds: settings.gracePeriod,
      network: job.network,
      readOnlyRoot: settings.readOnlyRoot,
      untrusted: job.untrusted,
    };
  }

  private async attempt(job: WorkerJob, spec: RunSpec, shipper: LogShipper): Promise<FinishReport> {
    const { runtime, settings, coordinator } = this.deps;
    const running = await runtime.start(spec);
    if (running.removed) this.removals.push(running.removed);
    this.spans.mark("runtime_start");
    const timeout = spec.timeoutSeconds;
    let ending: { status: "timed_out" | "cancelled"; reason: string } | undefined;
    const stopFor = (status: "timed_out" | "cancelled", reason: string) => {
      if (ending) return;
      ending = { status, reason };
      shipper.system(`${reason}; stopping (grace period ${settings.gracePeriod} s)`);
      void running.stop(settings.gracePeriod);
    };
    const timer = setTimeout(() => stopFor("timed_out", `timed out after ${timeout} s`), timeout * 1000);
    let watching = true;
    let wakeWatch = () => {};
    const watch = (async () => {
      while (watching) {
        // Woken early when the job exits, so a finished job never waits out a poll interval.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, settings.cancelPollMs);
          wakeWatch = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (!watching) break;
        this.deps.onProgress?.();
        const now = await coordinator.getJob(job.id).catch(() => undefined);
        if (now && now.status === "cancelled") stopFor("cancelled", "cancelled through the API");
      }
    })();
    let exit: Exit;
    const triggerLines = new TriggerLineScanner((line) => this.takeTriggerLine(line, shipper));
    try {
      // The job's clock stops when its process does: shipping what it printed is the worker's time, not the job's.
      const exited = running.exited.then((e) => {
        clearTimeout(timer);
        this.spans.mark("run_and_remove");
        return e;
      });
      [exit] = await Promise.all([
        exited,
        shipper.pump("stdout", running.stdout, (chunk) => triggerLines.write(chunk)),
        shipper.pump("stderr", running.stderr),
      ]);
      triggerLines.end();
      this.found.file = exit.triggers;
      this.found.steps = exit.steps;
    } finally {
      clearTimeout(timer);
      watching = false;
      wakeWatch();
    }
    this.spans.mark("output_drain");
    await watch;
    this.spans.mark("cancel_watch");
    if (ending) return { status: ending.status, exitCode: exit.code, reason: ending.reason };
    if (exit.deadlineExceeded) return { status: "timed_out", exitCode: exit.code, reason: `timed out after ${timeout} s (stopped by ${runtime.name})` };
    if (exit.oomKilled) {
      return { status: "failure", exitCode: exit.code, reason: `killed by the kernel: the job exceeded its memory limit (${Math.round(spec.limits.memoryBytes / 2 ** 20)} MiB)` };
    }
    if (exit.code === 0) return { status: "success", exitCode: 0, reason: "the job's command exited 0" };
    return { status: "failure", exitCode: exit.code, reason: `the job's command exited ${exit.code}` };
  }

  /** A `::reactorcide::trigger::` line at the start of a stdout line, read unmasked (the log gets the masked copy). */
  private takeTriggerLine(line: string, shipper: LogShipper): void {
    try {
      const payload = parseTriggerLine(line);
      if (payload) this.found.lines.push(payload);
    } catch (error) {
      shipper.system(`invalid trigger line: ${errorMessage(error)}`);
    }
  }
}
