import { describe, expect, test } from "bun:test";
import { GroupCommit } from "./group-commit.ts";

describe("GroupCommit", () => {
  test("calls that arrive while a batch is in flight go together; each gets its own answer; a lone call goes at once", async () => {
    const batches: number[][] = [];
    const b = new GroupCommit(async (items: number[]) => {
      batches.push(items);
      await Bun.sleep(20);
      return items.map((i) => i * 10);
    }, { inFlight: 1 });
    expect(await b.add(1)).toBe(10);
    expect(batches).toEqual([[1]]);
    const outs = await Promise.all(Array.from({ length: 16 }, (_, i) => b.add(i)));
    expect(outs).toEqual(Array.from({ length: 16 }, (_, i) => i * 10));
    // The first of the burst went alone; the other 15 waited for it and went as one.
    expect(batches.slice(1)).toEqual([[0], Array.from({ length: 15 }, (_, i) => i + 1)]);
  });

  test("a batch that fails is run again one item at a time: only the bad item's caller gets the error", async () => {
    const b = new GroupCommit(async (items: string[]) => {
      await Bun.sleep(5);
      if (items.includes("bad")) throw new Error("bad item in batch");
      return items.map((s) => s.toUpperCase());
    }, { inFlight: 1 });
    const results = await Promise.allSettled(["a", "b", "bad", "c"].map((s) => b.add(s)));
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual(["A", "B", "bad item in batch", "C"]);
  });
});
