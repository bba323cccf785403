import { mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

/**
 * Builds (or finds up to date) local images with scripts/image.ts, serialised across test
 * processes with flock(1) like the runner image. Returns the tags by name.
 */
export async function ensureImages(names: string[]): Promise<Record<string, string>> {
  mkdirSync(join(root, ".image-cache"), { recursive: true });
  const proc = Bun.spawn(["flock", join(root, ".image-cache", "build.lock"), process.execPath, join(root, "scripts", "image.ts"), ...names, "--json"], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, NODE_ENV: "production" },
  });
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`building images ${names.join(", ")} failed (exit ${code}):\n${err}${out}`);
  const results = JSON.parse(out.trim().split("\n").pop()!) as { tag: string }[];
  return Object.fromEntries(names.map((n, i) => [n, results[i]!.tag])) as Record<string, string>;
}

/**
 * The address job containers reach this machine at: the default Docker bridge's gateway, as its
 * IPAM names it or, when it names none, the subnet's first address (where Docker puts it).
 */
export function dockerGateway(): string {
  const r = Bun.spawnSync(["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`docker network inspect bridge: ${r.stderr.toString()}`);
  const config = (JSON.parse(r.stdout.toString()) as { Subnet?: string; Gateway?: string }[]).find((c) => c.Subnet && !c.Subnet.includes(":"));
  if (config?.Gateway) return config.Gateway;
  const network = config?.Subnet?.split("/")[0]?.split(".").map(Number);
  if (!network || network.length !== 4) throw new Error(`the Docker bridge has no IPv4 subnet: ${r.stdout.toString()}`);
  return [network[0], network[1], network[2], network[3]! + 1].join(".");
}
