import { and, desc, eq } from "drizzle-orm";
import { router } from "../router.ts";
import { apiTokens, users } from "../../../schema/app/index.ts";
import { issueToken, revokeTokens } from "../../auth/tokens.ts";
import { ensureUser } from "../../auth/users.ts";
import { audit } from "../audit.ts";
import { requireAdmin, requirePrincipal } from "../access.ts";
import type { AppDeps } from "../deps.ts";
import { notFound, uuidOr404 } from "../errors.ts";
import { answers } from "../responses.ts";
import { TokenCreatedSchema, TokenCreateSchema, TokenListSchema, TokenRevokedSchema } from "../../../runner/protocol/index.ts";

export function tokenRoutes({ db }: AppDeps) {
  return router("/api/v1/tokens")
    .post(
      "/",
      async ({ body, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        if (body.worker || body.user || body.admin) requireAdmin(me);
        const owner = body.user ? await ensureUser(db, body.user, body.admin ?? false) : { id: me.userId };
        const expiresAt = body.expires_in_days ? new Date(Date.now() + body.expires_in_days * 86_400_000) : null;
        const issued = await issueToken(db, { userId: owner.id, name: body.name, scopes: body.worker ? ["worker"] : ["api"], expiresAt });
        await audit(db, me, "token.create", "token", issued.id, { name: body.name, worker: body.worker ?? false, user: body.user });
        set.status = 201;
        return { id: issued.id, name: body.name, token: issued.token, expires_at: expiresAt?.toISOString() ?? null };
      },
      { body: TokenCreateSchema, response: answers({ 201: TokenCreatedSchema }), detail: { summary: "Create a token; the response is the only time it is shown" } },
    )
    .get(
      "/",
      async ({ request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const rows = await db
          .select({ token: apiTokens, user: users.name })
          .from(apiTokens)
          .innerJoin(users, eq(users.id, apiTokens.userId))
          .where(me.isAdmin ? undefined : eq(apiTokens.userId, me.userId))
          .orderBy(desc(apiTokens.createdAt));
        return {
          tokens: rows.map(({ token, user }) => ({
            id: token.id,
            name: token.name,
            user,
            scopes: token.scopes,
            created_at: token.createdAt.toISOString(),
            expires_at: token.expiresAt?.toISOString() ?? null,
            last_used_at: token.lastUsedAt?.toISOString() ?? null,
            revoked_at: token.revokedAt?.toISOString() ?? null,
          })),
        };
      },
      { response: answers({ 200: TokenListSchema }), detail: { summary: "List tokens (yours; all for administrators), never their values" } },
    )
    .delete(
      "/:id",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const id = uuidOr404(params.id, "token");
        const owner = me.isAdmin ? undefined : eq(apiTokens.userId, me.userId);
        const [revoked] = await revokeTokens(db, and(eq(apiTokens.id, id), owner));
        // Revoked before: still the caller's (or visible to an administrator), so answered the same.
        if (!revoked && !(await db.select({ id: apiTokens.id }).from(apiTokens).where(and(eq(apiTokens.id, id), owner)).limit(1)).length) throw notFound("token");
        await audit(db, me, "token.revoke", "token", id);
        return { id, revoked: true as const };
      },
      { response: answers({ 200: TokenRevokedSchema }, 404), detail: { summary: "Revoke a token" } },
    );
}
