// The application's tables (the queue's live in schema/queue with their own migrations).
export * from "./users.ts";
export * from "./projects.ts";
export * from "./jobs.ts";
export * from "./operations.ts";
export * from "./notifications.ts";
export * from "./workflows.ts";
export * from "./vcs.ts";
export * from "./sessions.ts";
export * from "./job-events.ts";
