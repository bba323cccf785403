import { defineCommand } from "citty";
import { consola } from "consola";
import { printJson, withClient } from "../client/run.ts";

const path = (project: string, key?: string) =>
  `/api/v1/projects/${encodeURIComponent(project)}/secrets${key === undefined ? "" : `/${encodeURIComponent(key)}`}`;

const set = defineCommand({
  meta: { name: "set", description: "Set a project secret; the value comes from --value or stdin (keeps it out of shell history)" },
  args: {
    project: { type: "positional", description: "project id or name", required: true },
    key: { type: "positional", description: "secret name (letters, digits, _)", required: true },
    value: { type: "string", description: "the value (default: read from stdin)" },
  },
  async run({ args }) {
    const value = args.value ?? (await Bun.stdin.text()).replace(/\r?\n$/, "");
    if (!value) {
      consola.error("the secret value is empty: pass --value or pipe it on stdin");
      process.exit(2);
    }
    await withClient(async (client) => {
      await client.json("PUT", path(args.project, args.key), { value });
      consola.success(`set ${args.key} on ${args.project}`);
    });
  },
});

const list = defineCommand({
  meta: { name: "list", description: "List a project's secret names (never values)" },
  args: {
    project: { type: "positional", description: "project id or name", required: true },
    json: { type: "boolean", description: "print JSON" },
  },
  async run({ args }) {
    await withClient(async (client) => {
      const result = await client.json<{ secrets: { key: string; updated_at: string }[] }>("GET", path(args.project));
      if (args.json) return printJson(result);
      if (result.secrets.length === 0) consola.info(`no secrets in ${args.project}`);
      for (const s of result.secrets) console.log(`${s.key}  updated ${s.updated_at}`);
    });
  },
});

const remove = defineCommand({
  meta: { name: "delete", description: "Delete a project secret" },
  args: {
    project: { type: "positional", description: "project id or name", required: true },
    key: { type: "positional", description: "secret name", required: true },
  },
  async run({ args }) {
    await withClient(async (client) => {
      await client.json("DELETE", path(args.project, args.key));
      consola.success(`deleted ${args.key} from ${args.project}`);
    });
  },
});

export default defineCommand({
  meta: { name: "secrets", description: "Project secrets: set, list, delete" },
  subCommands: { set, list, delete: remove },
});
