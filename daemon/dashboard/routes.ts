import { createHash } from "node:crypto";
import { router } from "../api/router.ts";
import { notFound } from "../api/errors.ts";
import { dashboardAssets } from "./assets.ts";
import { requestUrl } from "../api/request-url.ts";

/**
 * Scripts and styles only from this origin, no inline script or style, no plugins, no framing:
 * whatever a job prints or a user names can never run as code here.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "x-frame-options": "DENY",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reactorcide</title>
<link rel="stylesheet" href="/assets/main.css">
<script type="module" src="/assets/main.js"></script>
</head>
<body><div id="app"></div></body>
</html>
`;

/** Paths the page itself never owns: the API and the daemon's own endpoints answer their 404 shape. */
const NOT_PAGES = /^\/(api|healthz|readyz|metrics)(\/|$)/;

/** The dashboard at `/`: one page whose script draws every view, and its assets under /assets/. */
export function dashboardRoutes() {
  return router()
    .get(
      "/assets/:name",
      async ({ params, request }) => {
        const file = (await dashboardAssets()).files[params.name];
        if (!file) throw notFound(`asset ${params.name}`);
        const etag = `"${createHash("sha256").update(file.body).digest("base64url").slice(0, 22)}"`;
        const headers = { ...SECURITY_HEADERS, "content-type": file.type, etag, "cache-control": "no-cache" };
        if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
        return new Response(file.body, { headers });
      },
      { detail: { hide: true } },
    )
    .get(
      "/*",
      ({ request }) => {
        if (NOT_PAGES.test(requestUrl(request).pathname)) throw notFound("route");
        return new Response(PAGE, { headers: { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" } });
      },
      { detail: { hide: true } },
    );
}
