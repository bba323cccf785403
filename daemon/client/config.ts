import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** Where `login` keeps the coordinator URL and token (mode 0600). */
export function configFile(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(base, "reactorcide", "config.json");
}

export interface ClientConfig {
  url: string;
  token: string;
}

export async function saveConfig(config: ClientConfig): Promise<string> {
  const file = configFile();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
  // writeFile keeps the mode of an existing file; the token must never be world-readable.
  await chmod(file, 0o600);
  return file;
}

/** REACTORCIDE_URL / REACTORCIDE_TOKEN win over the saved login; undefined when neither is set. */
export async function loadConfig(): Promise<ClientConfig | undefined> {
  let saved: Partial<ClientConfig> = {};
  const file = configFile();
  if (existsSync(file)) {
    try {
      saved = JSON.parse(await readFile(file, "utf8"));
    } catch {
      throw new Error(`${file} is not valid JSON; run \`reactorcide login\` again`);
    }
  }
  const url = process.env.REACTORCIDE_URL || saved.url;
  const token = process.env.REACTORCIDE_TOKEN || saved.token;
  return url && token ? { url, token } : undefined;
}
