import { consola } from "consola";
import type { Job } from "../../runner/protocol/index.ts";
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

/** What the client shows of a job: the contract's job (runner/protocol/job.ts). */
export type JobSummary = Pick<Job, "id" | "name" | "status" | "attempt" | "exit_code">;

export function describeJob(job: JobSummary): string {
  const exit = job.exit_code === null ? "" : ` exit ${job.exit_code}`;
  return `${job.id}  ${job.name}  ${job.status}${exit}${job.attempt > 1 ? `  attempt ${job.attempt}` : ""}`;
}
