/**
 * A request's URL. An HTTP/1.0 request may come without a Host header (a load balancer's health
 * check, `printf 'GET /healthz HTTP/1.0\r\n\r\n' | nc`), and then Bun gives only its path, which
 * `new URL` refuses: it is read against a placeholder origin instead, so it is served like any other.
 */
const NO_HOST = "http://host.invalid";

export function requestUrl(request: Request): URL {
  return URL.canParse(request.url) ? new URL(request.url) : new URL(request.url, NO_HOST);
}
