import { defineCommand } from "citty";
import { consola } from "consola";
import { resolveDataDir } from "../db/data-dir.ts";
import { startCoordinator } from "../server/coordinator.ts";
import { dataDirArg, parsePort } from "./shared-args.ts";

export default defineCommand({
  meta: { name: "serve", description: "Run the coordinator: HTTP API on Postgres (embedded unless DATABASE_URL is set)" },
  args: {
    "data-dir": dataDirArg,
    host: { type: "string", description: "address to listen on", default: "127.0.0.1" },
    port: { type: "string", description: "TCP port (0 picks a free one)", default: "8080" },
  },
  async run({ args }) {
    const dataDir = resolveDataDir(args["data-dir"]);
    const port = parsePort(args.port);
    const coordinator = await startCoordinator({
      dataDir,
      databaseUrl: process.env.DATABASE_URL,
      host: args.host,
      port,
      onPostgresLog: (line) => consola.debug(`postgres: ${line}`),
    }).catch((error: unknown) => {
      consola.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    });
    if (coordinator.generatedKeyFile) {
      consola.warn(`REACTORCIDE_MASTER_KEY is not set: generated a master key in ${coordinator.generatedKeyFile}; back it up, secrets cannot be read without it`);
    }
    if (coordinator.adminToken) {
      consola.info("first start: created user admin; its token is shown only this once");
      // Alone on its line so scripts can read it.
      console.log(`admin token: ${coordinator.adminToken}`);
    }
    consola.info(`database: ${coordinator.database.kind}${coordinator.database.kind === "external" ? "" : ` in ${dataDir}`}`);
    console.log(`listening on ${coordinator.url}`);

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      consola.info(`${signal}: stopping`);
      await coordinator.stop();
      process.exit(0);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
  },
});
