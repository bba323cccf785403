import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testApi } from "../../testing/api.ts";

let api: Awaited<ReturnType<typeof testApi>>;
beforeAll(async () => {
  api = await testApi();
});
afterAll(() => api?.close());

describe("health and metrics", () => {
  test("/healthz answers ok without a token", async () => {
    const r = await api.call("GET", "/healthz", { token: null });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: "ok" });
  });

  test("/readyz is ready while the database answers", async () => {
    const r = await api.call("GET", "/readyz", { token: null });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe("ready");
  });

  test("/readyz answers 503 when the database is gone", async () => {
    const broken = await testApi();
    await broken.sql.end();
    const r = await broken.call("GET", "/readyz", { token: null });
    expect(r.status).toBe(503);
    expect(r.json.error.code).toBe("unavailable");
  });

  test("/metrics reports jobs by status, queue depth and request durations", async () => {
    await api.call("POST", "/api/v1/projects", { body: { name: "metered", default_image: "busybox" } });
    for (let i = 0; i < 3; i++) await api.call("POST", "/api/v1/jobs", { body: { name: "m", command: "true", project: "metered" } });
    await Bun.sleep(50); // durations are recorded just after each response is sent
    const r = await api.call("GET", "/metrics", { token: null });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/plain");
    expect(r.text).toContain('reactorcide_jobs{status="queued"} 3');
    expect(r.text).toContain('reactorcide_jobs{status="success"} 0');
    expect(r.text).toContain("reactorcide_queue_depth 3");
    expect(r.text).toContain('reactorcide_http_request_duration_seconds_count{method="POST",route="/api/v1/jobs/",status="201"} 3');
    expect(r.text).toContain("reactorcide_job_duration_seconds");
  });

  test("the OpenAPI page lists the job routes", async () => {
    const page = await api.call("GET", "/api/docs", { token: null });
    expect(page.status).toBe(200);
    const spec = await api.call("GET", "/api/docs/json", { token: null });
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.json.paths)).toContain("/api/v1/jobs/{id}/cancel");
  });

  test("an unknown route is a JSON 404", async () => {
    const r = await api.call("GET", "/api/v1/nothing-here");
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe("not_found");
  });
});
