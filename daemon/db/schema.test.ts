import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { JOB_STATUSES, JOB_TRANSITIONS } from "../../runner/protocol/index.ts";
import { authenticate, hashToken } from "../auth/tokens.ts";
import { testApi } from "../testing/api.ts";
import { chunkText, packChunk } from "../storage/log-chunk-codec.ts";

/**
 * The data model of issue 4, table by table, on a freshly migrated database: the columns each
 * table must have and the rules Postgres itself enforces (not only the API).
 */

let api: Awaited<ReturnType<typeof testApi>>;
let projectId: string;
let userId: string;

beforeAll(async () => {
  api = await testApi();
  const created = await api.call("POST", "/api/v1/projects", { body: { name: "model", default_image: "busybox" } });
  projectId = created.json.id;
  userId = (await api.sql`SELECT id FROM users WHERE name = 'admin'`)[0]!.id;
});
afterAll(() => api?.close());

async function columns(table: string): Promise<string[]> {
  const rows = await api.sql`SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ${table}`;
  return rows.map((r) => r.column_name as string);
}

/** A job row in `status`, inserted directly (the guard watches updates, not inserts). */
async function jobIn(status: string): Promise<string> {
  const [row] = await api.sql`
    INSERT INTO jobs (project_id, name, image, command, status) VALUES (${projectId}, 'direct', 'busybox', 'true', ${status}) RETURNING id`;
  return row!.id;
}

describe("data model", () => {
  test("users: unique names, an admin flag", async () => {
    expect(await columns("users")).toEqual(expect.arrayContaining(["id", "name", "email", "is_admin", "created_at"]));
    await expect(api.sql`INSERT INTO users (name) VALUES ('admin')`).rejects.toThrow(/users_name_unique/);
  });

  test("api_tokens: only the SHA-256 is stored, with name, scopes, expiry and last use", async () => {
    const cols = await columns("api_tokens");
    expect(cols).toEqual(expect.arrayContaining(["token_hash", "name", "scopes", "expires_at", "last_used_at", "revoked_at", "user_id"]));
    expect(cols).not.toContain("token");
    const [row] = await api.sql`SELECT token_hash, scopes, last_used_at FROM api_tokens WHERE token_hash = ${hashToken(api.admin)}`;
    expect(row!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.scopes).toEqual(["api"]);
    // Using the token records when.
    await api.sql`UPDATE api_tokens SET last_used_at = NULL WHERE token_hash = ${hashToken(api.admin)}`;
    expect(await authenticate(api.db, api.admin)).toBeDefined();
    const [used] = await api.sql`SELECT last_used_at FROM api_tokens WHERE token_hash = ${hashToken(api.admin)}`;
    expect(used!.last_used_at).not.toBeNull();
    const all = JSON.stringify(await api.sql`SELECT * FROM api_tokens`);
    expect(all).not.toContain(api.admin);
    await expect(api.sql`INSERT INTO api_tokens (user_id, name, token_hash) VALUES (${userId}, 'dup', ${hashToken(api.admin)})`).rejects.toThrow(
      /api_tokens_token_hash_unique/,
    );
    for (const scopes of [[], ["root"], ["api", "everything"]]) {
      await expect(
        api.sql`INSERT INTO api_tokens (user_id, name, token_hash, scopes) VALUES (${userId}, 's', ${hashToken(String(scopes))}, ${JSON.stringify(scopes)}::jsonb)`,
      ).rejects.toThrow(/api_tokens_scopes_check/);
    }
  });

  test("projects: repo, branch, image, events, target branches, CI source, fork policy, encrypted webhook secret and VCS token", async () => {
    expect(await columns("projects")).toEqual(
      expect.arrayContaining([
        "name",
        "repo_url",
        "default_branch",
        "default_image",
        "allowed_events",
        "target_branches",
        "ci_source_url",
        "ci_source_ref",
        "fork_pr_policy",
        "webhook_secret_enc",
        "vcs_token_enc",
        "enc_key_id",
      ]),
    );
    const r = await api.call("PATCH", "/api/v1/projects/model", {
      body: { webhook_secret: "hook-value-123", vcs_token: "vcs-value-456", allowed_events: ["push"], ci_source_url: "https://example.com/ci.git" },
    });
    expect(r.status).toBe(200);
    const [row] = await api.sql`SELECT webhook_secret_enc, vcs_token_enc, enc_key_id, allowed_events FROM projects WHERE id = ${projectId}`;
    expect(row!.enc_key_id).toBe(api.deps.key.id);
    expect(row!.allowed_events).toEqual(["push"]);
    expect(Buffer.from(row!.webhook_secret_enc).toString("latin1")).not.toContain("hook-value");
    expect(Buffer.from(row!.vcs_token_enc).toString("latin1")).not.toContain("vcs-value");
    await expect(api.sql`UPDATE projects SET fork_pr_policy = 'whenever' WHERE id = ${projectId}`).rejects.toThrow(/projects_fork_pr_policy_check/);
  });

  test("project_members: one role per user and project, only read, write or admin", async () => {
    const [u] = await api.sql`INSERT INTO users (name) VALUES ('member-x') RETURNING id`;
    await api.sql`INSERT INTO project_members (project_id, user_id, role) VALUES (${projectId}, ${u!.id}, 'write')`;
    await expect(api.sql`INSERT INTO project_members (project_id, user_id, role) VALUES (${projectId}, ${u!.id}, 'read')`).rejects.toThrow(
      /project_members_project_id_user_id_pk/,
    );
    const [v] = await api.sql`INSERT INTO users (name) VALUES ('member-y') RETURNING id`;
    await expect(api.sql`INSERT INTO project_members (project_id, user_id, role) VALUES (${projectId}, ${v!.id}, 'owner')`).rejects.toThrow(
      /project_members_role_check/,
    );
  });

  test("jobs: every field of the issue, an unknown status refused", async () => {
    expect(await columns("jobs")).toEqual(
      expect.arrayContaining([
        "status",
        "priority",
        "timeout_seconds",
        "attempt",
        "source",
        "ci_source",
        "image",
        "command",
        "env",
        "secret_refs",
        "resources",
        "exit_code",
        "reason",
        "created_at",
        "started_at",
        "finished_at",
        "parent_job_id",
        "workflow_run_id",
        "retry_of",
      ]),
    );
    await expect(jobIn("done")).rejects.toThrow(/jobs_status_check/);
  });

  test("jobs: Postgres refuses every status move outside queued → running → an end, and allows the rest", async () => {
    const outcomes: string[] = [];
    for (const from of JOB_STATUSES) {
      for (const to of JOB_STATUSES) {
        if (from === to) continue;
        const id = await jobIn(from);
        const allowed = JOB_TRANSITIONS[from].includes(to);
        const moved = await api.sql`UPDATE jobs SET status = ${to} WHERE id = ${id}`.then(
          () => true,
          (error: Error) => {
            expect(error.message).toContain(`cannot move from ${from} to ${to}`);
            return false;
          },
        );
        if (moved !== allowed) outcomes.push(`${from} → ${to}: ${moved ? "allowed" : "refused"}`);
      }
    }
    expect(outcomes).toEqual([]);
    // Other columns of an ended job can still change (a late exit code, the archive's bookkeeping).
    const ended = await jobIn("success");
    await api.sql`UPDATE jobs SET reason = 'late note' WHERE id = ${ended}`;
  });

  test("workflow_runs: jobs belong to a run; deleting the run keeps the job", async () => {
    expect(await columns("workflow_runs")).toEqual(expect.arrayContaining(["project_id", "name", "status", "event", "ref", "commit_sha", "finished_at"]));
    const [run] = await api.sql`INSERT INTO workflow_runs (project_id, name, event) VALUES (${projectId}, 'ci', 'push') RETURNING id`;
    const job = await jobIn("queued");
    await api.sql`UPDATE jobs SET workflow_run_id = ${run!.id} WHERE id = ${job}`;
    await api.sql`DELETE FROM workflow_runs WHERE id = ${run!.id}`;
    const [row] = await api.sql`SELECT workflow_run_id FROM jobs WHERE id = ${job}`;
    expect(row!.workflow_run_id).toBeNull();
  });

  test("secrets: per project, path and key; nonce, ciphertext and key id; the same key may live under another path", async () => {
    expect(await columns("secrets")).toEqual(expect.arrayContaining(["project_id", "path", "key", "nonce", "ciphertext", "key_id", "version"]));
    const insert = (path: string) =>
      api.sql`INSERT INTO secrets (project_id, path, key, nonce, ciphertext, key_id) VALUES (${projectId}, ${path}, 'K', ${Buffer.alloc(12)}, ${Buffer.alloc(20)}, 'k1')`;
    await insert("");
    await insert("deploy");
    await expect(insert("deploy")).rejects.toThrow(/secrets_project_path_key/);
    await expect(
      api.sql`INSERT INTO secrets (project_id, key, nonce, ciphertext) VALUES (${projectId}, 'NO_KEY_ID', ${Buffer.alloc(12)}, ${Buffer.alloc(20)})`,
    ).rejects.toThrow(/key_id/);
  });

  test("job_log_chunks: numbered runs of lines, each first number once per job, ranges well formed, removed with the job", async () => {
    const job = await jobIn("running");
    await api.sql`INSERT INTO job_log_chunks (job_id, first_seq, last_seq, body) VALUES (${job}, 1, 2, ${"oa\nob\n"})`;
    await expect(api.sql`INSERT INTO job_log_chunks (job_id, first_seq, last_seq, body) VALUES (${job}, 1, 1, ${"oc\n"})`).rejects.toThrow(/job_log_chunks_job_id_first_seq_pk/);
    await expect(api.sql`INSERT INTO job_log_chunks (job_id, first_seq, last_seq, body) VALUES (${job}, 5, 4, ${"oc\n"})`).rejects.toThrow(/job_log_chunks_range_check/);
    // Text in one column: the zstd-packed form, or the plain text of rows from before it.
    await api.sql`INSERT INTO job_log_chunks (job_id, first_seq, last_seq, packed) VALUES (${job}, 3, 3, ${packChunk("oc\n")})`;
    await expect(api.sql`INSERT INTO job_log_chunks (job_id, first_seq, last_seq, body, packed) VALUES (${job}, 4, 4, ${"od\n"}, ${packChunk("od\n")})`).rejects.toThrow(/job_log_chunks_body_check/);
    await expect(api.sql`INSERT INTO job_log_chunks (job_id, first_seq, last_seq) VALUES (${job}, 4, 4)`).rejects.toThrow(/job_log_chunks_body_check/);
    const rows = await api.sql<{ body: string | null; packed: Uint8Array | null }[]>`SELECT body, packed FROM job_log_chunks WHERE job_id = ${job} ORDER BY first_seq`;
    expect(rows.map(chunkText)).toEqual(["oa\nob\n", "oc\n"]);
    await api.sql`DELETE FROM jobs WHERE id = ${job}`;
    expect((await api.sql`SELECT count(*)::int AS n FROM job_log_chunks WHERE job_id = ${job}`)[0]!.n).toBe(0);
  });

  test("webhook_deliveries: one row per provider delivery id", async () => {
    const insert = () =>
      api.sql`INSERT INTO webhook_deliveries (project_id, provider, delivery_id, event) VALUES (${projectId}, 'github', 'd-1', 'push')`;
    await insert();
    await expect(insert()).rejects.toThrow(/webhook_deliveries_provider_delivery/);
  });

  test("workers: id, slots, labels, last seen", async () => {
    expect(await columns("workers")).toEqual(expect.arrayContaining(["id", "name", "labels", "slots", "registered_at", "last_seen_at"]));
  });

  test("audit_log: who did what, never a secret value", async () => {
    expect(await columns("audit_log")).toEqual(expect.arrayContaining(["at", "user_id", "token_id", "action", "target_type", "target_id", "details"]));
    const values = ["audit-secret-value-1", "audit-hook-value-2", "audit-vcs-value-3"];
    await api.call("PUT", "/api/v1/projects/model/secrets/AUDITED", { body: { value: values[0] } });
    await api.call("PUT", "/api/v1/projects/model/secrets/AUDITED", { body: { value: values[0] + "b" } });
    await api.call("PATCH", "/api/v1/projects/model", { body: { webhook_secret: values[1], vcs_token: values[2] } });
    const worker = await api.tokenFor("audit-worker", { worker: true });
    const job = (await api.call("POST", "/api/v1/jobs", { body: { name: "a", command: "true", project: "model", secrets: ["AUDITED"] } })).json;
    await api.call("POST", `/api/v1/internal/jobs/${job.id}/status`, { token: worker, body: { status: "running" } });
    expect((await api.call("GET", `/api/v1/internal/jobs/${job.id}/secrets`, { token: worker })).json.secrets.AUDITED).toBe(values[0] + "b");
    await api.call("DELETE", "/api/v1/projects/model/secrets/AUDITED");
    const rows = await api.sql`SELECT action, user_id, token_id, details FROM audit_log`;
    expect(rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(["secret.create", "secret.update", "project.update", "secret.resolve", "secret.delete"]),
    );
    expect(rows.every((r) => r.user_id && r.token_id)).toBe(true);
    const dump = JSON.stringify(rows);
    for (const value of values) expect(dump).not.toContain(value);
  });
});
