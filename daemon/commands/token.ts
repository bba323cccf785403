import { defineCommand } from "citty";
import { consola } from "consola";
import { issueToken } from "../auth/tokens.ts";
import { ensureUser } from "../auth/users.ts";
import { loadConfig } from "../client/config.ts";
import { printJson, withClient } from "../client/run.ts";
import { resolveDataDir } from "../db/data-dir.ts";
import { openDatabase } from "../db/database.ts";
import { dataDirArg } from "./shared-args.ts";
import { USER_NAME_PATTERN } from "../../runner/protocol/index.ts";

const NAME = new RegExp(USER_NAME_PATTERN);

/**
 * Straight on the database (DATABASE_URL or the data directory's embedded Postgres, joined if a
 * `serve` runs it, started briefly if not). This is how a first or lost admin token is made.
 */
async function createLocally(args: { name: string; user?: string; admin?: boolean; worker?: boolean; "data-dir"?: string }) {
  const database = await openDatabase({ dataDir: resolveDataDir(args["data-dir"]), databaseUrl: process.env.DATABASE_URL, poolSize: 2 });
  try {
    const user = await ensureUser(database.db, args.user ?? args.name, args.admin ?? false);
    const issued = await issueToken(database.db, { userId: user.id, name: args.name, scopes: args.worker ? ["worker"] : ["api"] });
    return issued.token;
  } finally {
    await database.close();
  }
}

const create = defineCommand({
  meta: {
    name: "create",
    description: "Create a token and print it alone on stdout. With --data-dir or DATABASE_URL (or when not logged in) it works on the database directly",
  },
  args: {
    name: { type: "string", description: "what the token is for", required: true },
    user: { type: "string", description: "owner (created if missing); default: the token name locally, yourself over the API" },
    admin: { type: "boolean", description: "the owner is an administrator" },
    worker: { type: "boolean", description: "a worker token (internal endpoints only)" },
    "data-dir": dataDirArg,
  },
  async run({ args }) {
    for (const [flag, value] of [["--name", args.name], ["--user", args.user]] as const) {
      if (value !== undefined && !NAME.test(value)) {
        consola.error(`${flag} must be letters, digits, . _ - (up to 64, not starting with . _ -), got ${JSON.stringify(value)}`);
        process.exit(2);
      }
    }
    const local = args["data-dir"] !== undefined || !!process.env.DATABASE_URL || !(await loadConfig());
    if (local) {
      let token: string;
      try {
        token = await createLocally(args);
      } catch (error) {
        consola.error(`token create: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      }
      console.log(token);
      return;
    }
    await withClient(async (client) => {
      const body = { name: args.name, ...(args.user && { user: args.user }), ...(args.admin && { admin: true }), ...(args.worker && { worker: true }) };
      const created = await client.json<{ token: string }>("POST", "/api/v1/tokens", body);
      console.log(created.token);
    });
  },
});

const list = defineCommand({
  meta: { name: "list", description: "List tokens (never their values)" },
  args: { json: { type: "boolean", description: "print JSON" } },
  async run({ args }) {
    await withClient(async (client) => {
      const result = await client.json<{ tokens: { id: string; name: string; user: string; scopes: string[]; revoked_at: string | null; last_used_at: string | null }[] }>(
        "GET",
        "/api/v1/tokens",
      );
      if (args.json) return printJson(result);
      for (const t of result.tokens) {
        const state = t.revoked_at ? "revoked" : `last used ${t.last_used_at ?? "never"}`;
        console.log(`${t.id}  ${t.name}  ${t.user}  ${t.scopes.join(",")}  ${state}`);
      }
    });
  },
});

const revoke = defineCommand({
  meta: { name: "revoke", description: "Revoke a token by id" },
  args: { id: { type: "positional", description: "token id (from token list)", required: true } },
  async run({ args }) {
    await withClient(async (client) => {
      await client.json("DELETE", `/api/v1/tokens/${encodeURIComponent(args.id)}`);
      consola.success(`revoked ${args.id}`);
    });
  },
});

export default defineCommand({
  meta: { name: "token", description: "API tokens: create, list, revoke" },
  subCommands: { create, list, revoke },
});
