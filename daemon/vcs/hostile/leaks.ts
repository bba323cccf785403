/**
 * The check every attack test ends with: no secret value anywhere a person or another job could
 * read it. An attacker who got a value would print it so the masker does not recognise it, so
 * each value is looked for as is and in the forms a script makes with one command: reversed
 * (`rev`), hex (`od`, and Postgres's bytea text), base64, URL-encoded and JSON-escaped.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type postgres from "postgres";

/** One place a value could have landed: where (for the message) and what it holds. */
export interface Place {
  where: string;
  text: string;
}

export interface Leak {
  secret: string;
  form: string;
  where: string;
}

/** A value and its forms; each at least 6 characters, so a short form cannot match by chance. */
export function forms(value: string): [form: string, text: string][] {
  const out: [string, string][] = [
    ["plain", value],
    ["reversed", [...value].reverse().join("")],
    ["hex", Buffer.from(value).toString("hex")],
    ["base64", Buffer.from(value).toString("base64").replace(/=+$/, "")],
    ["url-encoded", encodeURIComponent(value)],
    ["json-escaped", JSON.stringify(value).slice(1, -1)],
  ];
  return out.filter(([, text], i, all) => text.length >= 6 && all.findIndex(([, t]) => t === text) === i);
}

/** Every (secret, form, place) where a value is found; `od -tx1`'s spaced hex is read too. */
export function findLeaks(secrets: Record<string, string>, places: Iterable<Place>): Leak[] {
  const leaks: Leak[] = [];
  const wanted = Object.entries(secrets).flatMap(([name, value]) => forms(value).map(([form, text]) => ({ name, form, text })));
  for (const place of places) {
    const dense = place.text.replace(/[ \t\r\n]+/g, "");
    for (const w of wanted) {
      if (place.text.includes(w.text) || (w.form === "hex" && dense.includes(w.text))) leaks.push({ secret: w.name, form: w.form, where: place.where });
    }
  }
  return leaks;
}

/** Every row of every table (all schemas but Postgres's own), as JSON text. */
export async function databasePlaces(sql: postgres.Sql): Promise<Place[]> {
  const tables = await sql<{ schema: string; table: string }[]>`
    SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`;
  const places: Place[] = [];
  for (const { schema, table } of tables) {
    const rows = await sql.unsafe<{ row: string }[]>(`SELECT row_to_json(t)::text AS row FROM "${schema}"."${table}" t`);
    rows.forEach((r, i) => places.push({ where: `${schema}.${table} row ${i}`, text: r.row }));
  }
  return places;
}

/** Every file under a directory (a job's workspace, artifacts, the log archive), except what `skip` names. */
export function filePlaces(root: string, skip: (path: string) => boolean = () => false): Place[] {
  const places: Place[] = [];
  if (!existsSync(root)) return places;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const stat = statSync(path, { throwIfNoEntry: false });
      if (!stat || skip(path)) continue;
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile() && stat.size < 32 << 20) places.push({ where: `file ${relative(root, path)}`, text: readFileSync(path).toString("latin1") });
    }
  };
  walk(root);
  return places;
}
