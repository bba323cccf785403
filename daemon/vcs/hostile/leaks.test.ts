/** The leak scan itself: each form of a value is found wherever it sits, and nothing else is. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { testDatabase } from "../../testing/postgres.ts";
import { databasePlaces, filePlaces, findLeaks, forms } from "./leaks.ts";

const SECRET = 'tok/3n+"v4lue=9';
const secrets = { TOKEN: SECRET };
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("the leak scan of the attack tests", () => {
  test("finds the value as is, reversed, in hex (od's spaced output too), base64, URL-encoded and JSON-escaped", () => {
    const hex = Buffer.from(SECRET).toString("hex");
    const spaced = hex.match(/../g)!.join(" ").replace(/(.{24})/g, "$1\n");
    const places = [
      { where: "plain", text: `x ${SECRET} y` },
      { where: "reversed", text: [...SECRET].reverse().join("") },
      { where: "hex", text: `0${hex}0` },
      { where: "od", text: ` ${spaced}\n` },
      { where: "base64", text: Buffer.from(SECRET).toString("base64") },
      { where: "url", text: `?v=${encodeURIComponent(SECRET)}` },
      { where: "json", text: JSON.stringify({ v: `"${SECRET}"` }) },
    ];
    expect(findLeaks(secrets, places).map((l) => `${l.where}:${l.form}`)).toEqual(["plain:plain", "reversed:reversed", "hex:hex", "od:hex", "base64:base64", "url:url-encoded", "json:json-escaped"]);
  });

  test("finds nothing in text that only resembles it, or holds its masked form", () => {
    const places = [{ where: "masked", text: `TOKEN=*** tok/3n+v4lue tok3nv4lue9 ${"ab ".repeat(100)}` }];
    expect(findLeaks(secrets, places)).toEqual([]);
    expect(forms("abc").map(([form]) => form)).toEqual(["hex"]);
  });

  test("reads every row of every table and every file under a directory", async () => {
    const db = await testDatabase("leaks");
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    cleanups.push(() => sql.end());
    await sql`CREATE SCHEMA queue`;
    await sql`CREATE TABLE queue.tasks (id int, payload jsonb, raw bytea)`;
    await sql`INSERT INTO queue.tasks VALUES (1, ${sql.json({ env: { A: "fine" } })}, ${Buffer.from("fine")}), (2, '{}', ${Buffer.from(`x${SECRET}x`)})`;
    expect(findLeaks(secrets, await databasePlaces(sql)).map((l) => `${l.where}:${l.form}`)).toEqual(["queue.tasks row 1:hex"]);
    const dir = mkdtempSync(join(tmpdir(), "rc-leaks-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, "job", "artifacts"), { recursive: true });
    writeFileSync(join(dir, "job", "artifacts", "out.txt"), `got ${[...SECRET].reverse().join("")}`);
    writeFileSync(join(dir, "job", "clean.txt"), "nothing");
    expect(findLeaks(secrets, filePlaces(dir)).map((l) => `${l.where}:${l.form}`)).toEqual(["file job/artifacts/out.txt:reversed"]);
    expect(findLeaks(secrets, filePlaces(dir, (p) => p.endsWith("artifacts")))).toEqual([]);
  });
});
