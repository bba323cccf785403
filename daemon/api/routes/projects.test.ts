import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApi } from "../../testing/api.ts";

let api: Awaited<ReturnType<typeof testApi>>;
beforeAll(async () => {
  api = await testApi();
});
afterAll(() => api?.close());

describe("projects", () => {
  test("CRUD: create, get by id and by name, update, list, delete", async () => {
    const created = await api.call("POST", "/api/v1/projects", {
      body: { name: "web", repo_url: "https://example.com/web.git", default_image: "node:22", fork_pr_policy: "never", target_branches: ["main"] },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ name: "web", default_branch: "main", default_image: "node:22", fork_pr_policy: "never" });
    const id = created.json.id;
    expect((await api.call("GET", `/api/v1/projects/${id}`)).json.name).toBe("web");
    expect((await api.call("GET", "/api/v1/projects/web")).json.id).toBe(id);
    const updated = await api.call("PATCH", "/api/v1/projects/web", { body: { default_branch: "trunk" } });
    expect(updated.status).toBe(200);
    expect(updated.json.default_branch).toBe("trunk");
    expect(updated.json.default_image).toBe("node:22");
    const list = await api.call("GET", "/api/v1/projects");
    expect(list.json.projects.map((p: { name: string }) => p.name)).toContain("web");
    expect((await api.call("DELETE", `/api/v1/projects/${id}`)).status).toBe(200);
    expect((await api.call("GET", `/api/v1/projects/${id}`)).status).toBe(404);
  });

  test("webhook secret and VCS token are stored encrypted and never returned", async () => {
    const r = await api.call("POST", "/api/v1/projects", {
      body: { name: "vcs", webhook_secret: "hook-secret-value", vcs_token: "ghp_supersecretvalue" },
    });
    expect(r.status).toBe(201);
    expect(r.json.has_webhook_secret).toBe(true);
    expect(r.json.has_vcs_token).toBe(true);
    expect(r.text).not.toContain("hook-secret-value");
    const rows = await api.sql`SELECT * FROM projects WHERE name = 'vcs'`;
    const raw = Buffer.concat([rows[0]!.webhook_secret_enc, rows[0]!.vcs_token_enc]).toString("latin1");
    expect(raw).not.toContain("hook-secret-value");
    expect(raw).not.toContain("ghp_supersecretvalue");
  });

  test("vcs_provider and vcs_api_url: GitHub's public API by default, GitLab's for a gitlab project, a self-managed one when set", async () => {
    const gh = await api.call("POST", "/api/v1/projects", { body: { name: "forge-gh" } });
    expect(gh.json).toMatchObject({ vcs_provider: "github", vcs_api_url: "https://api.github.com" });
    const gl = await api.call("POST", "/api/v1/projects", { body: { name: "forge-gl", vcs_provider: "gitlab" } });
    expect(gl.json).toMatchObject({ vcs_provider: "gitlab", vcs_api_url: "https://gitlab.com/api/v4" });
    const own = await api.call("PATCH", "/api/v1/projects/forge-gl", { body: { vcs_api_url: "https://git.example.com/api/v4/" } });
    expect(own.json.vcs_api_url).toBe("https://git.example.com/api/v4");
  });

  test("a duplicate name is 409 naming the field; bad names and unknown fields are 400", async () => {
    await api.call("POST", "/api/v1/projects", { body: { name: "dup" } });
    const again = await api.call("POST", "/api/v1/projects", { body: { name: "dup" } });
    expect(again.status).toBe(409);
    expect(again.json.error.field).toBe("name");
    // Another user learns only that the (global) name is taken, as the README says; the project stays invisible to them.
    const eve = await api.tokenFor("eve-names");
    const taken = await api.call("POST", "/api/v1/projects", { token: eve, body: { name: "dup" } });
    expect(taken.status).toBe(409);
    expect(taken.json.error.message).toBe('the project name "dup" is not available; project names are unique on this server');
    expect((await api.call("GET", "/api/v1/projects/dup", { token: eve })).status).toBe(404);
    const bad = await api.call("POST", "/api/v1/projects", { body: { name: "../etc" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe("name");
    const policy = await api.call("POST", "/api/v1/projects", { body: { name: "ok", fork_pr_policy: "yolo" } });
    expect(policy.status).toBe(400);
    expect(policy.json.error.field).toBe("fork_pr_policy");
    const extra = await api.call("PATCH", "/api/v1/projects/dup", { body: { name: "renamed" } });
    expect(extra.status).toBe(400);
    expect(extra.json.error.field).toBe("name");
    const malformed = await api.call("POST", "/api/v1/projects", { body: "{nope" });
    expect(malformed.status).toBe(400);
  });

  test("roles: non-members get 404, readers read but cannot change (403), admins manage members", async () => {
    await api.call("POST", "/api/v1/projects", { body: { name: "team" } });
    const carol = await api.tokenFor("carol");
    const dave = await api.tokenFor("dave");
    expect((await api.call("GET", "/api/v1/projects/team", { token: carol })).status).toBe(404);
    expect((await api.call("GET", "/api/v1/projects", { token: carol })).json.projects).toEqual([]);

    expect((await api.call("PUT", "/api/v1/projects/team/members/carol", { body: { role: "read" } })).status).toBe(200);
    expect((await api.call("GET", "/api/v1/projects/team", { token: carol })).status).toBe(200);
    const patch = await api.call("PATCH", "/api/v1/projects/team", { token: carol, body: { default_branch: "x" } });
    expect(patch.status).toBe(403);
    expect(patch.json.error.code).toBe("forbidden");
    expect((await api.call("DELETE", "/api/v1/projects/team", { token: carol })).status).toBe(403);
    expect((await api.call("PUT", "/api/v1/projects/team/members/dave", { token: carol, body: { role: "admin" } })).status).toBe(403);

    await api.call("PUT", "/api/v1/projects/team/members/carol", { body: { role: "admin" } });
    expect((await api.call("PUT", "/api/v1/projects/team/members/dave", { token: carol, body: { role: "write" } })).status).toBe(200);
    const members = await api.call("GET", "/api/v1/projects/team/members", { token: dave });
    expect(members.json.members).toContainEqual({ user: "dave", role: "write" });
    expect((await api.call("DELETE", "/api/v1/projects/team/members/dave", { token: carol })).status).toBe(200);
    expect((await api.call("GET", "/api/v1/projects/team", { token: dave })).status).toBe(404);
  });

  test("members: a bad role is 400, an unknown user or member is 404, no token is 401", async () => {
    await api.call("POST", "/api/v1/projects", { body: { name: "m" } });
    const role = await api.call("PUT", "/api/v1/projects/m/members/admin", { body: { role: "owner" } });
    expect(role.status).toBe(400);
    expect(role.json.error.field).toBe("role");
    expect((await api.call("PUT", "/api/v1/projects/m/members/nobody", { body: { role: "read" } })).status).toBe(404);
    expect((await api.call("DELETE", "/api/v1/projects/m/members/nobody")).status).toBe(404);
    expect((await api.call("GET", "/api/v1/projects/m/members", { token: null })).status).toBe(401);
    expect((await api.call("POST", "/api/v1/projects", { token: null, body: { name: "z" } })).status).toBe(401);
  });

  test("a body over the limit is 413", async () => {
    const r = await api.call("POST", "/api/v1/projects", { body: { name: "big", repo_url: "x".repeat(1_100_000) } });
    expect(r.status).toBe(413);
  });
});
