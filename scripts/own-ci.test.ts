/**
 * The project's own CI (.reactorcide/ at the repository root): our `eval` on this repository
 * chooses the right jobs for a push, a pull request and a tag; and the pull-request workflow's
 * typecheck job runs through `reactorcide serve` in its container (reactorcide/daemon:dev, the
 * worker on the host's Docker), on this repository served over git's protocol, and succeeds.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chownSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../daemon/db/free-port.ts";
import type { TriggerJob } from "../runner/protocol/trigger.ts";
import { runCli } from "../runner/testing/cli.ts";
import { startServe, type Served } from "../daemon/testing/serve-process.ts";
import { serveRepository } from "./testing/git-daemon.ts";
import { dockerGateway, ensureImages } from "./testing/images.ts";

const root = join(import.meta.dir, "..");

interface Decision {
  name: string;
  selected: boolean;
  reason?: string;
}

async function evalOwnCi(args: string[]): Promise<{ decisions: Decision[]; triggers: TriggerJob[] }> {
  const r = await runCli(["eval", "--ci-dir", root, "--source-dir", root, "--dry-run", "--json", ...args]);
  if (r.code !== 0) throw new Error(`eval ${args.join(" ")} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout);
}
const chosen = (result: { decisions: Decision[] }) => result.decisions.filter((d) => d.selected).map((d) => d.name);

describe("own CI: eval on this repository", () => {
  test("a push that changes code: typecheck and unit tests, then the build after both, in the CI image", async () => {
    const result = await evalOwnCi(["--event-type", "push", "--branch", "main", "--changed-file", "runner/main.ts"]);
    expect(chosen(result)).toEqual(["typecheck", "unit-tests", "build"]);
    const byName = Object.fromEntries(result.triggers.map((t) => [t.job_name, t]));
    expect(byName.build!.depends_on).toEqual(["typecheck", "unit-tests"]);
    expect(byName.typecheck!.container_image).toBe("reactorcide/ci-node:dev");
    expect(byName.typecheck!.job_command).toContain("npm run typecheck");
    expect(byName.typecheck!.env).toMatchObject({ REACTORCIDE_EVENT_TYPE: "push", REACTORCIDE_BRANCH: "main" });
    expect(result.decisions.find((d) => d.name === "release")!.reason).toContain("event push not in [tag_created]");
  });

  test("a pull request: the same jobs; one touching only documentation runs none; one touching k8s/ also validates the manifests", async () => {
    for (const event of ["pull_request_opened", "pull_request_updated"]) {
      const code = await evalOwnCi(["--event-type", event, "--branch", "main", "--pr-number", "12", "--changed-file", "daemon/main.ts"]);
      expect([event, chosen(code)]).toEqual([event, ["typecheck", "unit-tests", "build"]]);
      expect(code.triggers[0]!.env?.REACTORCIDE_PR_NUMBER).toBe("12");
    }
    const docs = await evalOwnCi(["--event-type", "pull_request_opened", "--branch", "main", "--changed-file", "README.md", "--changed-file", "docs/x.md"]);
    expect(chosen(docs)).toEqual([]);
    const k8s = await evalOwnCi(["--event-type", "pull_request_updated", "--branch", "main", "--changed-file", "k8s/worker/role.yaml"]);
    expect(chosen(k8s)).toEqual(["typecheck", "unit-tests", "build", "manifests"]);
  });

  test("a tag v*: only the release job, which builds the release binaries and checks their sums; other tags: nothing", async () => {
    const release = await evalOwnCi(["--event-type", "tag_created", "--tag", "v1.4.0"]);
    expect(chosen(release)).toEqual(["release"]);
    expect(release.triggers[0]!.job_command).toContain("npm run build -- --release --out ../artifacts/release");
    expect(release.triggers[0]!.job_command).toContain("sha256sum -c SHA256SUMS");
    expect(release.triggers[0]!.env?.REACTORCIDE_TAG).toBe("v1.4.0");
    expect(chosen(await evalOwnCi(["--event-type", "tag_created", "--tag", "nightly-2026"]))).toEqual([]);
  });
});

describe("own CI: the pull-request workflow's typecheck job through serve in a container", () => {
  const cleanups: (() => void)[] = [];
  afterAll(() => {
    for (const c of cleanups.reverse()) c();
  });

  test("reactorcide/daemon:dev serves, its worker runs the job in reactorcide/ci-node:dev, and it succeeds", async () => {
    const images = await ensureImages(["daemon", "ci-node"]);
    const gateway = dockerGateway();
    const git = await serveRepository(root, gateway);
    cleanups.push(() => git.stop());

    // Job workspaces: the host's Docker mounts them, so the same path on both sides.
    const workspaces = mkdtempSync(join(tmpdir(), "rc-own-ci-ws-"));
    chownSync(workspaces, 1001, 1001);
    cleanups.push(() => rmSync(workspaces, { recursive: true, force: true }));
    const name = `rc-own-ci-${process.pid}-${Date.now()}`;
    cleanups.push(() => void Bun.spawnSync(["docker", "rm", "-f", "-v", name], { stdout: "ignore", stderr: "ignore" }));
    const port = await freePort();
    const socketGroup = String(statSync("/var/run/docker.sock").gid);
    const served: Served = await startServe(
      [
        "docker", "run", "--rm", "--name", name, "--label", "io.reactorcide.test=own-ci",
        "-p", `127.0.0.1:${port}:8080`,
        "-v", "/var/run/docker.sock:/var/run/docker.sock", "--group-add", socketGroup,
        "-v", `${workspaces}:${workspaces}`,
        images.daemon!,
        "serve", "--host", "0.0.0.0", "--runtime", "docker", "--workspace-root", workspaces, "--concurrency", "1",
      ],
      {},
    );
    const url = `http://127.0.0.1:${port}`;
    const token = served.adminToken!;
    expect(token).toMatch(/^rcd_/);
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, body: r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text() };
    };
    expect((await api("POST", "/api/v1/projects", { name: "reactorcide" })).status).toBe(201);

    // The job exactly as our eval chooses it for a pull request.
    const pr = await evalOwnCi(["--event-type", "pull_request_opened", "--branch", "main", "--changed-file", "daemon/main.ts", "--sha", git.sha]);
    const typecheck = pr.triggers.find((t) => t.job_name === "typecheck")!;
    const submitted = await api("POST", "/api/v1/jobs", {
      name: typecheck.job_name,
      project: "reactorcide",
      command: typecheck.job_command,
      image: typecheck.container_image,
      env: typecheck.env,
      timeout: typecheck.timeout,
      source: { type: "git", url: git.url, ref: git.sha },
      resources: { memory: "3g" },
    });
    expect(submitted.status).toBe(201);
    const id = (submitted.body as { id: string }).id;
    let job: { status: string; reason?: string } = { status: "queued" };
    const deadline = Date.now() + 600_000;
    while (!["success", "failure", "error", "timed_out", "cancelled"].includes(job.status) && Date.now() < deadline) {
      await Bun.sleep(1000);
      job = (await api("GET", `/api/v1/jobs/${id}`)).body as typeof job;
    }
    const log = (await api("GET", `/api/v1/jobs/${id}/logs`)).body as string;
    expect({ status: job.status, reason: job.reason, tail: job.status === "success" ? "" : log.slice(-3000) }).toEqual({ status: "success", reason: job.reason, tail: "" });
    expect(log).toContain("tsc --noEmit -p .");
    expect(log).toContain("typecheck ok");
    expect(await served.stop()).toBe(0);
  }, 900_000);
});
