/**
 * Attack tests of issue #14: a hostile fork's pull requests, each through the real path — a
 * webhook signed with @octokit/webhooks-methods → `reactorcide serve` → the eval job in a runner
 * container on the base repository's job code → workflow runs → job containers cloning the fork
 * from `git daemon` — with the GitHub stand-in (checked against @octokit/openapi) receiving the
 * statuses and comments. One daemon, one image, one forge for all of them; the pull requests are
 * opened together and each test reads its own. Every test ends with the leak scan of ./leaks.ts
 * over every table, every stand-in call, every job log, every file the jobs left and the daemon's
 * output; the last test plants leaks and checks the scan finds each.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { githubHeaders } from "../testing/payloads.ts";
import { MARKS, definitionsAttack, pluginAttack, reachAttack, reachProbes, sourceAttack, triggersAttack } from "./attacks.ts";
import { BASE_REPO, HOOK_SECRET, OTHER_HOOK_SECRET, SECRET_VALUES, startHarness, type Harness, type Outcome } from "./harness.ts";
import { BASE_MARKS } from "./repos.ts";

let h: Harness;
type Pr = { number: number; branch: string; sha: string; delivery: string; payload: unknown; outcome?: Promise<Outcome> };
const prs: Record<string, Pr> = {};
const started = Date.now();

/** The outcome of a pull request opened in beforeAll (settled once, on first use). */
function outcomeOf(name: string): Promise<Outcome> {
  const pr = prs[name]!;
  pr.outcome ??= h.settle(pr.sha);
  return pr.outcome;
}

const allLogs = (o: Outcome) => Object.values(o.logs).join("\n");

async function expectNoLeaks() {
  const leaks = await h.leaks();
  expect(leaks).toEqual([]);
}

beforeAll(async () => {
  h = await startHarness();
  const pgPort = Number((await h.sql`SELECT current_setting('port') AS port`)[0]!.port);
  const corndogsPort = Number(/corndogs listening on [^:]+:(\d+)/.exec(h.daemon.output())?.[1] ?? 0);
  const open = async (name: string, branch: string, files: Parameters<Harness["forge"]["pushFork"]>[1], o: { sameRepo?: boolean; association?: string } = {}) => {
    const sha = o.sameRepo ? h.forge.pushBase(branch, files, name) : h.forge.pushFork(branch, files, name);
    const number = Object.keys(prs).length + 1;
    const answer = await h.pullRequest({ number, headRef: branch, headSha: sha, ...o });
    if (answer.status !== 202) throw new Error(`${name}: webhook answered ${answer.status} ${answer.text}`);
    prs[name] = { number, branch, sha, delivery: answer.delivery, payload: answer.payload };
  };
  // All at once: the worker's two slots take them in turn while the tests read the first ones.
  await open("definitions", "attack1-definitions", definitionsAttack(h.image));
  await open("plugins", "attack2-plugins", pluginAttack());
  await open("triggers", "attack3-triggers", triggersAttack(h.forge.forkUrl));
  await open("reach", "attack4-reach", reachAttack({ otherJobId: h.otherJobId, closedPorts: { postgres: pgPort, corndogs: corndogsPort } }));
  await open("source", "attack9-source", sourceAttack());
  await open("same-repo", "feature", { "scripts/test.sh": "echo 'a collaborator's change'\n" }, { sameRepo: true, association: "COLLABORATOR" });
  // The pull request event names head A; B is pushed to the branch before its jobs clone it.
  const a = h.forge.pushFork("pinned", { "scripts/test.sh": "echo 'head A: the commit of the event'\n" }, "head A");
  h.forge.pushFork("pinned", { "scripts/test.sh": `echo 'head B: pushed after the event'\nenv | rev\n` }, "head B");
  const answer = await h.pullRequest({ number: 50, headRef: "pinned", headSha: a });
  prs.pinned = { number: 50, branch: "pinned", sha: a, delivery: answer.delivery, payload: answer.payload };
}, 300_000);

afterAll(async () => {
  await h?.stop();
  console.log(`fork pull request attacks: ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
});

describe("fork pull request attacks (serve, Docker, git daemon, GitHub stand-in)", () => {
  test("1. a fork rewriting .reactorcide/workflows and jobs to print every secret: the base repository's definitions run", async () => {
    const o = await outcomeOf("definitions");
    // The base's two workflows ran, not the fork's new one nor its standalone job.
    expect(o.runs.map((r) => r.name)).toEqual(["ci", "release"]);
    expect(o.jobs.map((j) => j.name).filter((n) => n !== "publish")).toEqual(["test"]);
    const test = o.jobs.find((j) => j.name === "test")!;
    expect({ command: test.command, untrusted: test.untrusted, secrets: test.secret_refs }).toEqual({ command: "bash scripts/test.sh", untrusted: true, secrets: [] });
    // The job code is the base repository's at the pull request's base SHA; the source the fork's head.
    expect(test.ci_source).toEqual({ type: "git", url: h.forge.baseUrl, ref: h.forge.baseSha });
    expect(test.source).toEqual({ type: "git", url: h.forge.forkUrl, ref: prs.definitions!.sha });
    expect(o.logs.test).toContain(BASE_MARKS.test);
    for (const mark of [MARKS.workflowEdit, MARKS.jobEdit, MARKS.publishEdit, MARKS.newWorkflow, MARKS.looseJob]) expect(allLogs(o)).not.toContain(mark);
    expect(o.logs.eval).toContain("test (.reactorcide/workflows/ci.yaml)");
    expect(o.logs.eval).not.toContain("steal");
    expect(o.logs.eval).not.toContain("exfil");
    await expectNoLeaks();
  }, 300_000);

  test("2. a fork adding .reactorcide/plugins/steal.ts (and .js, and rewriting the base's plugin): never loaded; the base's plugin is", async () => {
    const o = await outcomeOf("plugins");
    for (const mark of [MARKS.plugin, MARKS.pluginEdit]) expect(allLogs(o)).not.toContain(mark);
    // Plugins are loaded, from the trusted checkout: the attack would have run had they come from /job/src.
    expect(o.logs.test).toContain(BASE_MARKS.plugin);
    expect(o.logs.eval).toContain(BASE_MARKS.plugin);
    await expectNoLeaks();
  }, 300_000);

  test("3. a fork's job writing /job/triggers.json and trigger lines for secrets, its own ci_source, trust, another workflow: refused, reasons in its log; its one plain child stays untrusted", async () => {
    const o = await outcomeOf("triggers");
    const log = o.logs.test!;
    expect(log).toContain(MARKS.triggers);
    // Each request refused, and why, where the pull request's author and the maintainers read it.
    expect(log).toMatch(/trigger refused \(file\): .*DEPLOY_TOKEN/);
    expect(log).toMatch(/trigger refused \(stdout\): .*DEPLOY_TOKEN, NPM_TOKEN/);
    expect(log).toMatch(/trigger refused \(stdout\): .*ci_source_\*: a job of untrusted source cannot choose the job code/);
    expect(log).toMatch(/invalid trigger line: .*untrusted/);
    expect(log).toMatch(/trigger refused \(stdout\): .*only an event's eval job starts workflow runs/);
    expect(log).toContain("probe api-trigger-secrets 422");
    // Only the plain child ran: untrusted, no secrets, the base's job code, the fork's head.
    const ci = o.runs.find((r) => r.name === "ci")!;
    const inCi = o.jobs.filter((j) => j.workflow_run_id === ci.id);
    expect(inCi.map((j) => j.name)).toEqual(["test", "child"]);
    const child = inCi[1]!;
    expect({ untrusted: child.untrusted, secrets: child.secret_refs, ci: child.ci_source, src: child.source }).toEqual({
      untrusted: true,
      secrets: [],
      ci: { type: "git", url: h.forge.baseUrl, ref: h.forge.baseSha },
      src: { type: "git", url: h.forge.forkUrl, ref: prs.triggers!.sha },
    });
    expect(o.logs.child).toContain(MARKS.child);
    expect(o.logs.child).toMatch(/trigger refused \(stdout\): .*DEPLOY_TOKEN/);
    const names = (await h.sql`SELECT name FROM jobs`).map((r) => r.name);
    for (const name of ["file-steal", "line-steal", "own-ci", "trusted", "hop", "api-steal", "grandchild-steal"]) expect(names).not.toContain(name);
    await expectNoLeaks();
  }, 300_000);

  test("4. a fork's job reading its env, /proc/*/environ, the workspace and the secrets socket, and using its job token everywhere: nothing secret; 401, 403 or 404 everywhere else", async () => {
    const o = await outcomeOf("reach");
    const log = o.logs.test!;
    expect(log).toContain(MARKS.reach);
    // It did read: its env, every process's environ, every file of its workspace (job.env too).
    expect(log).toContain("== /proc/*/environ");
    expect(log).toContain("-- /job/job.env");
    const probes = Object.fromEntries([...log.matchAll(/^probe (\S+) (\S+)/gm)].map((m) => [m[1]!, m[2]!]));
    // Its own job it may read; nothing else.
    expect(probes["own-job"]).toBe("200");
    const refused = Object.fromEntries(reachProbes({ otherJobId: h.otherJobId }).map(([name]) => [name, probes[name]]));
    for (const [name, status] of Object.entries(refused)) expect({ name, status: ["401", "403", "404"].includes(status ?? "") ? "refused" : status }).toEqual({ name, status: "refused" });
    expect({ postgres: probes.postgres, corndogs: probes.corndogs, docker: probes["docker-socket"] }).toEqual({ postgres: "closed", corndogs: "closed", docker: "absent" });
    // The secrets socket only takes values to mask: asking it for one gets an error.
    expect(log).toMatch(/socket-answer \{"action":"get","name":"DEPLOY_TOKEN"\} => .*:RORRE/);
    // Nothing changed: the secret is the project's, the policy as set, the other job as it was.
    expect((await h.api("GET", "/api/v1/projects/acme")).json.fork_pr_policy).toBe("always");
    const [other] = await h.sql`SELECT status, retries FROM jobs WHERE id = ${h.otherJobId}`;
    expect(other!.status).toBe("success");
    expect((await h.sql`SELECT count(*)::int AS n FROM jobs WHERE name = 'x'`)[0]!.n).toBe(0);
    await expectNoLeaks();
  }, 300_000);

  test("9. a fork changing the code the base job runs from /job/src: it runs, as designed, and still gets no secret", async () => {
    const o = await outcomeOf("source");
    expect(o.logs.test).toContain(MARKS.source);
    expect(o.logs.test).toContain("deploy token seen by the fork's tests: []");
    const test = o.jobs.find((j) => j.name === "test")!;
    expect({ untrusted: test.untrusted, secrets: test.secret_refs }).toEqual({ untrusted: true, secrets: [] });
    // The base's job that names a secret either runs without it or not at all: never with it.
    const publish = o.jobs.find((j) => j.name === "publish");
    if (publish) expect(o.logs.publish).toContain(`${BASE_MARKS.publish} ${createHash("sha256").update("").digest("hex")}`);
    else expect(o.runs.find((r) => r.name === "release")!.reason).toContain("DEPLOY_TOKEN");
    await expectNoLeaks();
  }, 300_000);

  test("5 (part). the event's head SHA, not the branch, is what runs: a commit pushed to the branch after the event does not slip in", async () => {
    const o = await outcomeOf("pinned");
    expect(o.logs.test).toContain("head A: the commit of the event");
    expect(allLogs(o)).not.toContain("head B");
    await expectNoLeaks();
  }, 300_000);

  test("8 (part). a same-repository pull request by a collaborator: runs trusted, with the secrets its jobs name", async () => {
    const o = await outcomeOf("same-repo");
    const publish = o.jobs.find((j) => j.name === "publish")!;
    expect({ untrusted: publish.untrusted, secrets: publish.secret_refs, status: publish.status }).toEqual({ untrusted: false, secrets: ["DEPLOY_TOKEN"], status: "success" });
    expect(o.logs.publish).toContain(`${BASE_MARKS.publish} ${createHash("sha256").update(SECRET_VALUES.DEPLOY_TOKEN).digest("hex")}`);
    await expectNoLeaks();
  }, 300_000);

  test("7. a forged signature, a replayed delivery, a payload naming this project's repository signed with another project's secret: refused or ignored", async () => {
    const pr = prs.source!;
    const body = JSON.stringify(pr.payload);
    const post = async (headers: Record<string, string>, b = body, query = "") => {
      const r = await fetch(`${h.url}/api/v1/webhooks/github${query}`, { method: "POST", headers, body: b });
      return { status: r.status, json: (await r.json()) as any };
    };
    const deliveries = async () => (await h.sql`SELECT count(*)::int AS n FROM webhook_deliveries`)[0]!.n as number;
    const evals = async () => (await h.sql`SELECT count(*)::int AS n FROM jobs WHERE name = 'eval'`)[0]!.n as number;
    const [d0, e0] = [await deliveries(), await evals()];
    const fresh = () => crypto.randomUUID();
    // Forged: another secret; no signature; GitHub's old SHA-1 header only; a body changed after signing.
    expect((await post(await githubHeaders("not-the-secret", "pull_request", body, fresh()))).status).toBe(401);
    const unsigned = await githubHeaders(HOOK_SECRET, "pull_request", body, fresh());
    delete unsigned["x-hub-signature-256"];
    expect((await post(unsigned)).status).toBe(401);
    expect((await post({ ...unsigned, "x-hub-signature": "sha1=0000000000000000000000000000000000000000" })).status).toBe(401);
    const tampered = body.replace(pr.sha, "f".repeat(40));
    expect(tampered).not.toBe(body);
    expect((await post(await githubHeaders(HOOK_SECRET, "pull_request", body, fresh()), tampered)).status).toBe(401);
    // Project acme's repository, signed with project other's secret: by repository, and naming acme.
    expect((await post(await githubHeaders(OTHER_HOOK_SECRET, "pull_request", body, fresh()))).status).toBe(401);
    expect((await post(await githubHeaders(OTHER_HOOK_SECRET, "pull_request", body, fresh()), body, "?project=acme")).status).toBe(401);
    expect(await deliveries()).toBe(d0);
    // Replayed: the same delivery again is a duplicate and starts nothing.
    const replay = await post(await githubHeaders(HOOK_SECRET, "pull_request", body, pr.delivery));
    expect({ status: replay.status, duplicate: replay.json.duplicate }).toEqual({ status: 200, duplicate: true });
    expect([await deliveries(), await evals()]).toEqual([d0, e0]);
    await expectNoLeaks();
  }, 300_000);

  test("the leak scan finds a planted leak in each place it reads: a job's log (reversed, hex), an artifact, a row, a commit status, a comment", async () => {
    const value = SECRET_VALUES.DEPLOY_TOKEN;
    // A trusted job that leaks on purpose, in forms the masker does not know.
    const submitted = await h.api("POST", "/api/v1/jobs", {
      project: "acme",
      name: "planted",
      command: `printf %s "$DEPLOY_TOKEN" | rev; echo; printf %s "$DEPLOY_TOKEN" | od -An -tx1; mkdir -p /job/artifacts; printf %s "$DEPLOY_TOKEN" > /job/artifacts/leak.txt`,
      secrets: ["DEPLOY_TOKEN"],
    });
    expect(submitted.status).toBe(201);
    const id = submitted.json.id as string;
    for (let i = 0; i < 600 && (await h.sql`SELECT status FROM jobs WHERE id = ${id}`)[0]!.status !== "success"; i++) await Bun.sleep(200);
    await h.sql`UPDATE projects SET default_branch = ${"x" + value} WHERE name = 'other'`;
    const sha = prs.source!.sha;
    const forge = (path: string, body: unknown) => fetch(h.gh.url + path, { method: "POST", headers: { authorization: "token ghp_hostileVcsToken4c1d9e", "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await forge(`/repos/${BASE_REPO}/statuses/${sha}`, { state: "failure", context: "planted", description: Buffer.from(value).toString("base64") })).status).toBe(201);
    expect((await forge(`/repos/${BASE_REPO}/issues/${prs.source!.number}/comments`, { body: `leaked: ${encodeURIComponent(value)}` })).status).toBe(201);
    const found = (await h.leaks()).filter((l) => l.secret === "DEPLOY_TOKEN").map((l) => `${l.form} @ ${l.where.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "ID").replace(/row \d+/, "row N").replace(/call \d+/, "call N")}`);
    expect(found).toEqual(
      expect.arrayContaining([
        "reversed @ log of job planted (ID)",
        "hex @ log of job planted (ID)",
        "plain @ file ID/artifacts/leak.txt",
        "plain @ public.projects row N",
        `base64 @ GitHub stand-in call N (POST /repos/${BASE_REPO}/statuses/${sha})`,
        `url-encoded @ GitHub stand-in call N (POST /repos/${BASE_REPO}/issues/${prs.source!.number}/comments)`,
      ]),
    );
  }, 120_000);
});
