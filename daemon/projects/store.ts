/**
 * Projects and their members in Postgres: the one place that queries them. Route handlers
 * validate and authorise (daemon/api/access.ts) and call these; nothing else writes projects.
 */
import { and, asc, eq, inArray, or } from "drizzle-orm";
import { isUuid } from "../../runner/protocol/index.ts";
import { projectMembers, projects, users, type ProjectRole } from "../../schema/app/index.ts";
import type { Db } from "../db/client.ts";

export type Project = typeof projects.$inferSelect;
/** What a create or an update may set (never the id, the name after creation, or the times). */
export type ProjectChanges = Partial<Omit<typeof projects.$inferInsert, "id" | "name" | "createdAt" | "updatedAt">>;
export interface Member {
  user: string;
  role: ProjectRole;
}

/** A project by id or by name (a name that looks like a UUID is looked up as an id). */
export async function findProject(db: Db, ref: string): Promise<Project | undefined> {
  const [row] = await db
    .select()
    .from(projects)
    .where(isUuid(ref) ? eq(projects.id, ref) : eq(projects.name, ref))
    .limit(1);
  return row;
}

/** One lookup of a project (by id or name, as findProject) and, unless `userId` is undefined, the user's role in it. */
export interface ProjectAsk {
  ref: string;
  userId: string | undefined;
}
export interface ProjectWithRole {
  project: Project;
  role: ProjectRole | undefined;
}

/**
 * findProject and roleOf for several asks in one statement, one answer per ask in order
 * (undefined: no such project). The API batches concurrent requests' lookups through this.
 */
export async function projectsWithRoles(db: Db, asks: readonly ProjectAsk[]): Promise<(ProjectWithRole | undefined)[]> {
  const ids = [...new Set(asks.filter((a) => isUuid(a.ref)).map((a) => a.ref))];
  const names = [...new Set(asks.filter((a) => !isUuid(a.ref)).map((a) => a.ref))];
  const userIds = [...new Set(asks.flatMap((a) => (a.userId === undefined ? [] : [a.userId])))];
  const match = or(ids.length ? inArray(projects.id, ids) : undefined, names.length ? inArray(projects.name, names) : undefined);
  const rows = userIds.length
    ? await db
        .select({ project: projects, userId: projectMembers.userId, role: projectMembers.role })
        .from(projects)
        .leftJoin(projectMembers, and(eq(projectMembers.projectId, projects.id), inArray(projectMembers.userId, userIds)))
        .where(match)
    : (await db.select().from(projects).where(match)).map((project) => ({ project, userId: null, role: null }));
  const byId = new Map<string, Project>();
  const byName = new Map<string, Project>();
  const roles = new Map<string, ProjectRole>();
  for (const row of rows) {
    byId.set(row.project.id, row.project);
    byName.set(row.project.name, row.project);
    if (row.userId !== null && row.role !== null) roles.set(`${row.project.id} ${row.userId}`, row.role);
  }
  return asks.map((ask) => {
    const project = isUuid(ask.ref) ? byId.get(ask.ref) : byName.get(ask.ref);
    if (!project) return undefined;
    return { project, role: ask.userId === undefined ? undefined : roles.get(`${project.id} ${ask.userId}`) };
  });
}

/** Projects by name; `ids` limits them (undefined: all). */
export async function listProjects(db: Db, ids?: readonly string[]): Promise<Project[]> {
  if (ids && ids.length === 0) return [];
  return db
    .select()
    .from(projects)
    .where(ids ? inArray(projects.id, [...ids]) : undefined)
    .orderBy(asc(projects.name));
}

/** A new project with its creator as admin, in one transaction; undefined when the name is taken. */
export async function createProject(db: Db, name: string, changes: ProjectChanges, creatorId: string): Promise<Project | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(projects)
      .values({ ...changes, name })
      .onConflictDoNothing({ target: projects.name })
      .returning();
    if (!row) return undefined;
    await tx.insert(projectMembers).values({ projectId: row.id, userId: creatorId, role: "admin" });
    return row;
  });
}

export async function updateProject(db: Db, id: string, changes: ProjectChanges): Promise<Project | undefined> {
  const [row] = await db
    .update(projects)
    .set({ ...changes, updatedAt: new Date() })
    .where(eq(projects.id, id))
    .returning();
  return row;
}

/** Deletes the project with its jobs, runs, secrets and members (the foreign keys cascade). */
export async function deleteProject(db: Db, id: string): Promise<boolean> {
  const rows = await db.delete(projects).where(eq(projects.id, id)).returning({ id: projects.id });
  return rows.length > 0;
}

export async function roleOf(db: Db, userId: string, projectId: string): Promise<ProjectRole | undefined> {
  const [row] = await db
    .select({ role: projectMembers.role })
    .from(projectMembers)
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)))
    .limit(1);
  return row?.role;
}

/** Ids of the projects the user is a member of. */
export async function memberProjectIds(db: Db, userId: string): Promise<string[]> {
  const rows = await db.select({ id: projectMembers.projectId }).from(projectMembers).where(eq(projectMembers.userId, userId));
  return rows.map((r) => r.id);
}

/** The projects a user can read with their role, by name; `admin` (an administrator) reads all as admin. */
export async function projectRoles(db: Db, userId: string, admin: boolean): Promise<{ id: string; name: string; role: ProjectRole }[]> {
  if (admin) return (await db.select({ id: projects.id, name: projects.name }).from(projects).orderBy(asc(projects.name))).map((p) => ({ ...p, role: "admin" as const }));
  return db
    .select({ id: projects.id, name: projects.name, role: projectMembers.role })
    .from(projectMembers)
    .innerJoin(projects, eq(projects.id, projectMembers.projectId))
    .where(eq(projectMembers.userId, userId))
    .orderBy(asc(projects.name));
}

export async function listMembers(db: Db, projectId: string): Promise<Member[]> {
  return db
    .select({ user: users.name, role: projectMembers.role })
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .where(eq(projectMembers.projectId, projectId))
    .orderBy(asc(users.name));
}

/** Gives the user `role` on the project (a member already: their role changes). */
export async function setMember(db: Db, projectId: string, userId: string, role: ProjectRole): Promise<void> {
  await db
    .insert(projectMembers)
    .values({ projectId, userId, role })
    .onConflictDoUpdate({ target: [projectMembers.projectId, projectMembers.userId], set: { role } });
}

/** False when the user was not a member. */
export async function removeMember(db: Db, projectId: string, userId: string): Promise<boolean> {
  const rows = await db
    .delete(projectMembers)
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)))
    .returning({ userId: projectMembers.userId });
  return rows.length > 0;
}
