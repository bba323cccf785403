import { closeSync, openSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readJobWrittenJson } from "../workspace/job-written.ts";
import { parseTriggerPayload, TRIGGERS_FILE, type TriggerJob, type TriggerPayload } from "../protocol/trigger.ts";

const LOCK_STALE_MS = 10_000;
const MAX_TRIGGERS_BYTES = 16 << 20;

/** Where triggers for this workspace live. */
export function triggersFilePath(workspace: string): string {
  return join(workspace, TRIGGERS_FILE);
}

/** Reads and validates the pending triggers; null when there are none. */
export function readTriggersFile(workspace: string): TriggerPayload | null {
  const json = readJobWrittenJson(triggersFilePath(workspace), MAX_TRIGGERS_BYTES);
  return json === null ? null : parseTriggerPayload(json);
}

/**
 * Parallel steps may trigger at the same moment from separate processes, so appends are
 * serialised with an exclusive lock file (O_EXCL), and the file is replaced atomically (rename)
 * so a reader never sees half a document.
 */
async function withLock<T>(path: string, fn: () => T): Promise<T> {
  const lock = `${path}.lock`;
  for (let attempt = 0; ; attempt++) {
    try {
      closeSync(openSync(lock, "wx"));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
      } catch {
        // the holder released it between our two calls
      }
      await Bun.sleep(Math.min(5 + attempt * 5, 50));
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/**
 * Appends jobs to the workspace's triggers file (creating it with a fresh operation id) and
 * returns the whole pending payload after the append.
 */
export function appendTriggers(workspace: string, jobs: TriggerJob[]): Promise<TriggerPayload> {
  const path = triggersFilePath(workspace);
  return withLock(path, () => {
    const existing = readTriggersFile(workspace);
    const payload: TriggerPayload = existing ?? { type: "trigger_job", operation_id: crypto.randomUUID(), jobs: [] };
    payload.jobs.push(...jobs);
    const temp = `${path}.${process.pid}.tmp`;
    // Never through a link left at the temporary name.
    rmSync(temp, { force: true, recursive: true });
    writeFileSync(temp, `${JSON.stringify(payload, null, 2)}\n`, { flag: "wx" });
    renameSync(temp, path);
    return payload;
  });
}

/** Removes the file once its triggers were accepted elsewhere, unless it changed meanwhile. */
export function removeTriggersFile(workspace: string, operationId: string, jobCount: number): Promise<boolean> {
  const path = triggersFilePath(workspace);
  return withLock(path, () => {
    const current = readTriggersFile(workspace);
    // Another process appended after our POST: keep the file, its new jobs are not submitted yet.
    if (!current || current.operation_id !== operationId || current.jobs.length !== jobCount) return false;
    rmSync(path, { force: true });
    return true;
  });
}
