import { expect, test } from "bun:test";
import postgres from "postgres";
import { testDatabase } from "../testing/postgres.ts";
import { migrateQueue } from "./migrate.ts";
import { TaskStore } from "./store.ts";

test("a claim walks the claim index instead of reading and sorting the whole queue", async () => {
  const db = await testDatabase("corndogs_plan");
  // postgres.js's debug hook hands over each statement as sent, with its parameters.
  const sent: { query: string; parameters: unknown[] }[] = [];
  const sql = postgres(db.url, { max: 2, onnotice: () => {}, debug: (_c, query, parameters) => sent.push({ query, parameters }) });
  try {
    await migrateQueue(sql);
    const store = new TaskStore(sql);
    const task = { queue: "deep", currentState: "submitted", autoTargetState: "submitted-working", timeout: 0n, payload: Buffer.from("x"), priority: 0n };
    for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 300 }, () => store.submit(task)));
    await sql`ANALYZE corndogs_tasks`;
    sent.length = 0;
    expect(await store.claim({ queue: "deep", currentState: "submitted", overrideTimeout: 0n, overrideCurrentState: "", overrideAutoTargetState: "" })).toBeDefined();
    const claim = sent.find((s) => s.query.includes("SKIP LOCKED"));
    expect(claim).toBeDefined();
    const plan = (await sql.unsafe(`EXPLAIN ${claim!.query}`, claim!.parameters as string[])).map((r) => String(r["QUERY PLAN"])).join("\n");
    // With 3,000 waiting tasks a plan without the index reads them all and sorts them (a Sort node) on every claim.
    expect(plan).toContain("Index Scan using corndogs_tasks_claim_idx");
    expect(plan).not.toMatch(/\bSort\b/);
  } finally {
    await sql.end();
  }
});
