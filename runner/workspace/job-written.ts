import { constants, existsSync, lstatSync, readFileSync } from "node:fs";

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * A JSON file in the job's workspace (triggers.json, steps.json), read by the runner or by the
 * worker on the host; null when there is none. The job owns the workspace and the reader may be
 * root: a link could make it read any file, a FIFO would block it forever, a huge file would fill
 * its memory. All three are refused, with the path in the message.
 */
export function readJobWrittenJson(path: string, maxBytes: number): unknown {
  if (!existsSync(path) && !isLink(path)) return null;
  const stat = lstatSync(path);
  if (!stat.isFile()) throw new Error(`${path} is not a regular file (a link, directory or pipe); refused`);
  if (stat.size > maxBytes) throw new Error(`${path} is larger than ${maxBytes >> 20} MiB; refused`);
  try {
    return JSON.parse(readFileSync(path, { encoding: "utf8", flag: constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK }));
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}
