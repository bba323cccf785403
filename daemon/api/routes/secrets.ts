import { router } from "../router.ts";
import { SECRET_KEY_PATTERN, SecretDeletedSchema, SecretKeyListSchema, SecretSetSchema, SecretValueSchema } from "../../../runner/protocol/index.ts";
import { answers } from "../responses.ts";
import { deleteSecret, listSecretKeys, putSecret } from "../../secrets/store.ts";
import { requirePrincipal, requireProjectRole } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { badRequest, notFound } from "../errors.ts";

const keyPattern = new RegExp(SECRET_KEY_PATTERN);

function checkKey(key: string): string {
  if (!keyPattern.test(key)) throw badRequest("key: must be letters, digits and _, not starting with a digit, not __proto__ (up to 128)", "key");
  return key;
}

export function secretRoutes(deps: AppDeps) {
  const { db } = deps;
  return router("/api/v1/projects")
    .get(
      "/:id/secrets",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "write");
        const rows = await listSecretKeys(db, project.id);
        return {
          secrets: rows.map((r) => ({
            key: r.key,
            version: r.version,
            created_at: r.createdAt.toISOString(),
            updated_at: r.updatedAt.toISOString(),
          })),
        };
      },
      { response: answers({ 200: SecretKeyListSchema }, 404), detail: { summary: "Secret keys and timestamps (write role); never values" } },
    )
    .put(
      "/:id/secrets/:key",
      async ({ params, body, request, set }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const key = checkKey(params.key);
        const outcome = await putSecret(db, deps.key, project.id, key, body.value);
        await audit(db, me, `secret.${outcome === "created" ? "create" : "update"}`, "project", project.id, { key });
        set.status = outcome === "created" ? 201 : 200;
        return outcome === "created" ? { key, created: true as const } : { key, updated: true as const };
      },
      { body: SecretValueSchema, response: answers({ 200: SecretSetSchema, 201: SecretSetSchema }, 404), detail: { summary: "Set a secret (admin role)" } },
    )
    .delete(
      "/:id/secrets/:key",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const key = checkKey(params.key);
        if (!(await deleteSecret(db, project.id, key))) throw notFound(`secret ${key}`);
        await audit(db, me, "secret.delete", "project", project.id, { key });
        return { key, deleted: true as const };
      },
      { response: answers({ 200: SecretDeletedSchema }, 404), detail: { summary: "Delete a secret (admin role)" } },
    );
}
