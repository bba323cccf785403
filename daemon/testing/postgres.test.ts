import { describe, expect, test } from "bun:test";
import postgres from "postgres";
import { testDatabase } from "./postgres.ts";

describe("test databases on the embedded cluster", () => {
  test("each caller gets its own empty database", async () => {
    const a = await testDatabase();
    const b = await testDatabase();
    expect(a.name).not.toBe(b.name);
    const sqlA = postgres(a.url, { onnotice: () => {} });
    const sqlB = postgres(b.url, { onnotice: () => {} });
    try {
      await sqlA`create table only_in_a (id int)`;
      const [row] = await sqlB`select count(*)::int as n from pg_tables where tablename = 'only_in_a'`;
      expect(row?.n).toBe(0);
    } finally {
      await sqlA.end();
      await sqlB.end();
    }
  });
});
