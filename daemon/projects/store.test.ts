import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Sql } from "postgres";
import { ensureUser } from "../auth/users.ts";
import { connect, openDb, type Db } from "../db/client.ts";
import { migrateApp } from "../db/migrate.ts";
import { testDatabase } from "../testing/postgres.ts";
import { createProject, deleteProject, findProject, listMembers, listProjects, memberProjectIds, projectRoles, removeMember, roleOf, setMember, updateProject } from "./store.ts";

let sql: Sql;
let db: Db;
beforeAll(async () => {
  sql = connect((await testDatabase("projects")).url, 3);
  await migrateApp(sql);
  db = openDb(sql);
});
afterAll(() => sql?.end());

describe("projects store (real Postgres)", () => {
  test("a created project has its creator as admin; a taken name creates nothing", async () => {
    const ada = await ensureUser(db, "ada");
    const p = await createProject(db, "alpha", { defaultImage: "busybox:1", targetBranches: ["main"] }, ada.id);
    expect(p).toMatchObject({ name: "alpha", defaultImage: "busybox:1", targetBranches: ["main"], forkPrPolicy: "approval" });
    expect(await roleOf(db, ada.id, p!.id)).toBe("admin");

    const bob = await ensureUser(db, "bob");
    expect(await createProject(db, "alpha", {}, bob.id)).toBeUndefined();
    // The refused create left no membership behind.
    expect(await memberProjectIds(db, bob.id)).toEqual([]);
    expect((await listMembers(db, p!.id)).map((m) => m.user)).toEqual(["ada"]);
  });

  test("found by id or by name; listed by name, limited to the ids given", async () => {
    const owner = await ensureUser(db, "lister");
    const b = (await createProject(db, "list-b", {}, owner.id))!;
    const a = (await createProject(db, "list-a", {}, owner.id))!;
    expect((await findProject(db, b.id))?.name).toBe("list-b");
    expect((await findProject(db, "list-a"))?.id).toBe(a.id);
    expect(await findProject(db, "no-such")).toBeUndefined();
    expect(await findProject(db, crypto.randomUUID())).toBeUndefined();
    expect((await listProjects(db, [b.id, a.id])).map((p) => p.name)).toEqual(["list-a", "list-b"]);
    expect(await listProjects(db, [])).toEqual([]);
    expect((await listProjects(db)).map((p) => p.name)).toContain("alpha");
  });

  test("an update changes the given columns and the time; a delete takes the members with it", async () => {
    const owner = await ensureUser(db, "changer");
    const p = (await createProject(db, "changing", { defaultBranch: "main" }, owner.id))!;
    const changed = await updateProject(db, p.id, { defaultBranch: "trunk", forkPrPolicy: "never" });
    expect(changed).toMatchObject({ defaultBranch: "trunk", forkPrPolicy: "never", name: "changing" });
    expect(changed!.updatedAt.getTime()).toBeGreaterThanOrEqual(p.updatedAt.getTime());
    expect(await updateProject(db, crypto.randomUUID(), { defaultBranch: "x" })).toBeUndefined();

    expect(await deleteProject(db, p.id)).toBe(true);
    expect(await deleteProject(db, p.id)).toBe(false);
    expect(await findProject(db, "changing")).toBeUndefined();
    expect(await memberProjectIds(db, owner.id)).toEqual([]);
  });

  test("members: set, change, remove; the roles a user sees", async () => {
    const owner = await ensureUser(db, "own");
    const carol = await ensureUser(db, "carol");
    const p = (await createProject(db, "team", {}, owner.id))!;
    await setMember(db, p.id, carol.id, "read");
    await setMember(db, p.id, carol.id, "write");
    expect(await listMembers(db, p.id)).toEqual([
      { user: "carol", role: "write" },
      { user: "own", role: "admin" },
    ]);
    expect(await projectRoles(db, carol.id, false)).toEqual([{ id: p.id, name: "team", role: "write" }]);
    // An administrator reads every project, as admin.
    const all = await projectRoles(db, carol.id, true);
    expect(all.map((r) => r.name)).toEqual((await listProjects(db)).map((x) => x.name));
    expect(all.every((r) => r.role === "admin")).toBe(true);

    expect(await removeMember(db, p.id, carol.id)).toBe(true);
    expect(await removeMember(db, p.id, carol.id)).toBe(false);
    expect(await roleOf(db, carol.id, p.id)).toBeUndefined();
  });
});
