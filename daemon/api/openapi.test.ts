import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApi } from "../testing/api.ts";
import { API_ERROR_STATUSES } from "../../runner/protocol/index.ts";

let api: Awaited<ReturnType<typeof testApi>>;
beforeAll(async () => {
  api = await testApi();
});
afterAll(() => api?.close());

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }> };

const schemaOf = (op: Operation, status: string) => Object.values(op.responses?.[status]?.content ?? {})[0]?.schema;
/** The API's error shape: {"error":{"code","message","field"?}}. */
function isErrorShape(schema: Record<string, any> | undefined): boolean {
  const inner = schema?.properties?.error;
  return !!inner && schema?.required?.includes("error") && inner.required?.includes("code") && inner.required?.includes("message") && "field" in (inner.properties ?? {});
}

describe("the OpenAPI document (/api/docs/json)", () => {
  test("every route documents its success answer and the error shape", async () => {
    const spec = await api.call("GET", "/api/docs/json", { token: null });
    expect(spec.status).toBe(200);
    const missing: string[] = [];
    let checked = 0;
    for (const [path, operations] of Object.entries(spec.json.paths as Record<string, Record<string, Operation>>)) {
      for (const [method, op] of Object.entries(operations)) {
        checked++;
        const where = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(op.responses ?? {});
        const success = statuses.filter((s) => /^2\d\d$/.test(s));
        if (success.length === 0) missing.push(`${where}: no 2xx response`);
        for (const s of success) if (!schemaOf(op, s)) missing.push(`${where}: ${s} has no schema`);
        const errors = statuses.filter((s) => (API_ERROR_STATUSES as readonly number[]).includes(Number(s)));
        if (errors.length === 0) missing.push(`${where}: no error response`);
        for (const s of errors) if (!isErrorShape(schemaOf(op, s))) missing.push(`${where}: ${s} is not the API's error shape`);
        // Every token-authenticated route can answer 401.
        if (path.startsWith("/api/v1/") && !path.startsWith("/api/v1/webhooks/") && !statuses.includes("401")) missing.push(`${where}: no 401`);
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(5);
  });

  test("the check itself fails on a route without a response schema", () => {
    expect(isErrorShape({ type: "object", properties: { message: { type: "string" } } })).toBe(false);
  });
});
