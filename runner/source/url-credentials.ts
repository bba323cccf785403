/**
 * Credentials in source URLs, for logs and for the remote a checkout keeps. Its own module, without
 * location.ts's checks (and node:url): every run's plan and config view show URLs through it.
 */

/** Replaces the password or token in a URL's user-info with `***` for logs and errors. */
export function displayUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^@/]*@/, "$1***@");
}

/**
 * The URL a checkout keeps as its remote: without the user-info's secret, which was for the
 * runner's fetch only (the job can read .git/config). http(s) user-info is all credential
 * (`https://TOKEN@host`); elsewhere (`ssh://git@host`) the user name stays, a password goes.
 */
export function urlWithoutCredentials(url: string): string {
  const match = url.match(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^@/]*)@/);
  if (!match) return url;
  const [whole, scheme, userInfo] = match as unknown as [string, string, string];
  const rest = url.slice(whole.length);
  if (/^https?:\/\//i.test(scheme)) return `${scheme}${rest}`;
  const user = userInfo.split(":")[0]!;
  return user ? `${scheme}${user}@${rest}` : `${scheme}${rest}`;
}
