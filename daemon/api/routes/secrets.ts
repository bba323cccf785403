import { t } from "elysia";
import { MIN_SECRET_LENGTH } from "../../../runner/secrets/encodings.ts";
import { router } from "../router.ts";
import { SECRET_KEY_PATTERN } from "../../../runner/protocol/index.ts";
import { deleteSecret, listSecretKeys, putSecret } from "../../secrets/store.ts";
import { requirePrincipal, requireProjectRole } from "../access.ts";
import { audit } from "../audit.ts";
import type { AppDeps } from "../deps.ts";
import { badRequest, notFound } from "../errors.ts";

const SecretValue = t.Object(
  {
    value: t.String({
      // Shorter values cannot be masked in logs (runner/secrets: MIN_SECRET_LENGTH); NUL cannot reach a process environment.
      minLength: MIN_SECRET_LENGTH,
      maxLength: 65536,
      pattern: "^[^\\u0000]*$",
      description: `at least ${MIN_SECRET_LENGTH} characters (shorter values cannot be masked in logs), up to 65536, no NUL; stored encrypted, never returned by the API`,
    }),
  },
  { additionalProperties: false },
);
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
      { detail: { summary: "Secret keys and timestamps (write role); never values" } },
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
        return { key, [outcome]: true };
      },
      { body: SecretValue, detail: { summary: "Set a secret (admin role)" } },
    )
    .delete(
      "/:id/secrets/:key",
      async ({ params, request }) => {
        const me = await requirePrincipal(db, request.headers, "api");
        const project = await requireProjectRole(db, me, params.id, "admin");
        const key = checkKey(params.key);
        if (!(await deleteSecret(db, project.id, key))) throw notFound(`secret ${key}`);
        await audit(db, me, "secret.delete", "project", project.id, { key });
        return { key, deleted: true };
      },
      { detail: { summary: "Delete a secret (admin role)" } },
    );
}
