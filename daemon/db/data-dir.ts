import { homedir, userInfo } from "node:os";
import { join, resolve } from "node:path";

/**
 * Where the daemon keeps its embedded Postgres, master key and archives. As root it is
 * /var/lib/reactorcide: Postgres then runs as user `postgres`, which cannot traverse /root.
 */
export function defaultDataDir(): string {
  if (userInfo().uid === 0) return "/var/lib/reactorcide";
  const base = process.env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(base, "reactorcide");
}

export function resolveDataDir(flag: string | undefined): string {
  return resolve(flag || defaultDataDir());
}
