/**
 * A repository URL reduced to what names the repository: no scheme, no credentials, host in lower
 * case, no trailing `/` or `.git`. `https://GitHub.com/o/r.git`, `git@github.com:o/r` and
 * `ssh://git@github.com/o/r/` all become `github.com/o/r`; the path keeps its case.
 */
export function repoKey(url: string): string | null {
  let rest = url.trim();
  if (rest === "") return null;
  let host: string;
  let path: string;
  const scp = /^(?:[^@/:]+@)?([^/:]+):(?!\/\/)(.*)$/.exec(rest);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(rest) && scp) {
    host = scp[1]!;
    path = scp[2]!;
  } else {
    rest = rest.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
    const slash = rest.indexOf("/");
    const authority = slash === -1 ? rest : rest.slice(0, slash);
    path = slash === -1 ? "" : rest.slice(slash + 1);
    host = authority.slice(authority.lastIndexOf("@") + 1);
    // The default port of a scheme names the same server.
    host = host.replace(/:(22|80|443|9418)$/, "");
  }
  path = path.replace(/[?#].*$/, "").replace(/\/+$/, "").replace(/\.git$/, "").replace(/\/+$/, "").replace(/^\/+/, "");
  if (!host || !path) return null;
  return `${host.toLowerCase()}/${path}`;
}

/** Whether two repository URLs name the same repository. */
export function sameRepo(a: string, b: string): boolean {
  const ka = repoKey(a);
  return ka !== null && ka === repoKey(b);
}
