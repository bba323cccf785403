import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * One temporary directory for a whole test file (removed after its last test), and a maker of
 * fresh, not yet created workspace paths inside it.
 */
export function useScratchDir(prefix: string): { dir: string; freshWorkspace: () => string } {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let counter = 0;
  return { dir, freshWorkspace: () => join(dir, `ws-${++counter}`) };
}
