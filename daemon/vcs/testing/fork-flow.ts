/**
 * For tests of fork pull requests without containers (daemon/vcs/fork-pr.test.ts; the real-path
 * attack tests run containers instead): a signed delivery processed at once, and an eval job run
 * as a worker would run it (started, its triggers handed over, ended).
 */
import { randomUUID } from "node:crypto";
import type { TriggerJob } from "../../../runner/protocol/trigger.ts";
import { transitionJob } from "../../jobs/store.ts";
import { testApi } from "../../testing/api.ts";
import { startVcsServices, type VcsServices } from "../services.ts";
import { startGithubStandIn, type GithubStandIn } from "./github-standin.ts";
import { githubHeaders, gitlabHeaders } from "./payloads.ts";

type Api = Awaited<ReturnType<typeof testApi>>;

/**
 * The app on a fresh database with the VCS services wired as serve wires them (deliveries
 * processed, statuses followed from the runs) and a GitHub stand-in taking `token`. `stop` first
 * lets the statuses subscriber finish the runs' last events, so nothing queries a closed database.
 */
export async function testApiWithGithub(token: string, log: (line: string) => void = () => {}) {
  let kick = () => {};
  const api = await testApi({ vcs: { deliveryRecorded: () => kick() } });
  const gh: GithubStandIn = startGithubStandIn({ token });
  const vcs = await startVcsServices({ db: api.db, sql: api.sql, queue: api.deps.queue, keys: [api.deps.key], publicUrl: "https://ci.example", baseBackoffMs: 50, log });
  kick = () => vcs.deliveryRecorded();
  vcs.sync.followRuns(api.workflows.events);
  vcs.useWorkflows(api.workflows);
  const stop = async () => {
    for (let i = 0; i < 100; i++) {
      const [r] = await api.sql`SELECT (SELECT coalesce(max(id), 0) FROM workflow_run_events) <= (SELECT coalesce(min(last_event_id), 0) FROM workflow_event_cursors) AS done`;
      if (r!.done) break;
      await Bun.sleep(50);
    }
    await vcs.stop();
    gh.stop();
    await api.close();
  };
  return { api, gh, vcs, stop };
}

/** POSTs a GitHub (HMAC-signed) or GitLab (token) delivery and processes it; the delivery's row. */
export async function deliverAndProcess(api: Api, vcs: VcsServices, o: { provider: "github" | "gitlab"; secret: string; event: string; payload: unknown }) {
  const body = JSON.stringify(o.payload);
  const headers = o.provider === "github" ? await githubHeaders(o.secret, o.event, body) : gitlabHeaders(o.secret, o.event);
  const r = await api.call("POST", `/api/v1/webhooks/${o.provider}`, { body, headers, token: null });
  if (r.status !== 202) throw new Error(`delivery answered ${r.status}: ${JSON.stringify(r.json)}`);
  await vcs.processor.drain();
  return (await api.sql`SELECT * FROM webhook_deliveries WHERE id = ${r.json.id}`)[0]!;
}

/** What a worker does with a job: start it, hand over its triggers (eval: with `workflow` names), end it. */
export async function runJobAsWorker(api: Api, id: string, status: "success" | "failure", triggers?: TriggerJob[]) {
  if (!(await transitionJob(api.db, id, "running", { workerId: "w" })).ok) throw new Error(`job ${id} did not start`);
  if (triggers) await api.workflows.extendFromTrigger(id, { type: "trigger_job", operation_id: randomUUID(), jobs: triggers }, "file");
  if (!(await transitionJob(api.db, id, status, { exitCode: status === "success" ? 0 : 1 })).ok) throw new Error(`job ${id} did not end`);
  await api.workflows.jobEnded(id);
}
