import { consola } from "consola";
import { ApiClient, ClientError } from "./api-client.ts";

/** Runs a client command; API and connection errors become one clear line and exit 1. */
export async function withClient(fn: (client: ApiClient) => Promise<void>): Promise<void> {
  try {
    await fn(await ApiClient.fromConfig());
  } catch (error) {
    if (error instanceof ClientError) {
      consola.error(error.field ? `${error.message} (field: ${error.field})` : error.message);
      process.exit(1);
    }
    throw error;
  }
}

/** Data for scripts: one JSON document on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export interface JobSummary {
  id: string;
  name: string;
  status: string;
  attempt: number;
  exit_code: number | null;
  reason: string | null;
  created_at: string;
}

export const TERMINAL = new Set(["success", "failure", "error", "cancelled", "timed_out"]);

export function describeJob(job: JobSummary): string {
  const exit = job.exit_code === null ? "" : ` exit ${job.exit_code}`;
  return `${job.id}  ${job.name}  ${job.status}${exit}${job.attempt > 1 ? `  attempt ${job.attempt}` : ""}`;
}
