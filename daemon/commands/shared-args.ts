import { consola } from "consola";

export const dataDirArg = {
  type: "string",
  description: "data directory (embedded Postgres, master key); default ~/.local/share/reactorcide, /var/lib/reactorcide as root",
} as const;

/** A TCP port from a flag, or exit 2 naming the flag. */
export function parsePort(text: string, flag = "--port"): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    consola.error(`${flag} must be a whole number from 0 to 65535, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return port;
}
