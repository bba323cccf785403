import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TempDirs } from "../git/fixtures.ts";
import { prepareSource, SourceError } from "./prepare.ts";
import { type FixtureEntry, tarBytes, writeTar } from "./tar-fixtures.ts";

const temp = new TempDirs();
let server: ReturnType<typeof Bun.serve>;
const served = new Map<string, Uint8Array>();
beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === "/redirect") return Response.redirect("/good.tgz", 302);
      const body = served.get(path);
      return body ? new Response(body) : new Response("not here", { status: 404 });
    },
  });
});
afterAll(() => {
  server.stop(true);
  temp.cleanup();
});

const GOOD: FixtureEntry[] = [
  { path: "project/", type: "Directory" },
  { path: "project/run.sh", content: "#!/bin/sh\n", mode: 0o755 },
  { path: "project/empty/", type: "Directory", mode: 0o700 },
  { path: "project/ünï code.txt", content: "unicode" },
  { path: "project/link", type: "SymbolicLink", linkpath: "run.sh" },
  { path: "project/up-link", type: "SymbolicLink", linkpath: "../project/run.sh" },
  { path: "project/hard", type: "Link", linkpath: "project/run.sh" },
];

/** A target holding a marker, to show a refused archive changes nothing. */
function markedTarget(): string {
  const target = join(temp.make("rc-tar-"), "src");
  mkdirSync(target);
  writeFileSync(join(target, "marker.txt"), "before");
  return target;
}

function expectUntouched(target: string): void {
  expect(readdirSync(target)).toEqual(["marker.txt"]);
  expect(readFileSync(join(target, "marker.txt"), "utf8")).toBe("before");
}

describe("tarball source", () => {
  test("a local .tar and .tgz extract exactly, replacing stale content", async () => {
    for (const name of ["a.tar", "a.tgz", "a.tar.gz"]) {
      const archive = writeTar(join(temp.make(), name), GOOD);
      const target = markedTarget();
      const lines: string[] = [];
      expect(await prepareSource({ type: "tarball", url: archive }, target, { log: (l) => lines.push(l) })).toEqual({ type: "tarball", dir: target });
      expect(readdirSync(target)).toEqual(["project"]);
      const p = join(target, "project");
      expect(statSync(join(p, "run.sh")).mode & 0o777).toBe(0o755);
      expect(statSync(join(p, "empty")).mode & 0o777).toBe(0o700);
      expect(readFileSync(join(p, "ünï code.txt"), "utf8")).toBe("unicode");
      expect(readlinkSync(join(p, "link"))).toBe("run.sh");
      expect(statSync(join(p, "hard")).ino).toBe(statSync(join(p, "run.sh")).ino);
      expect(lines).toContain(`tarball: extracting ${GOOD.length} entries from ${archive}`);
    }
  });

  test("an http URL is downloaded (redirects followed); HTTP errors and unreachable hosts are clear", async () => {
    served.set("/good.tgz", Bun.gzipSync(new Uint8Array(tarBytes(GOOD))));
    const base = `http://127.0.0.1:${server.port}`;
    const target = markedTarget();
    const lines: string[] = [];
    await prepareSource({ type: "tarball", url: `${base}/good.tgz` }, target, { log: (l) => lines.push(l) });
    expect(readFileSync(join(target, "project/run.sh"), "utf8")).toBe("#!/bin/sh\n");
    expect(lines[0]).toBe(`tarball: downloading ${base}/good.tgz`);

    const viaRedirect = markedTarget();
    await prepareSource({ type: "tarball", url: `${base}/redirect` }, viaRedirect);
    expect(existsSync(join(viaRedirect, "project/run.sh"))).toBe(true);

    const missing = markedTarget();
    await expect(prepareSource({ type: "tarball", url: `http://user:pw-secret@127.0.0.1:${server.port}/missing.tgz` }, missing)).rejects.toThrow(
      `source.url: downloading "http://***@127.0.0.1:${server.port}/missing.tgz" failed: HTTP 404`,
    );
    expectUntouched(missing);
    await expect(prepareSource({ type: "tarball", url: "http://127.0.0.1:9/x.tgz" }, missing)).rejects.toThrow("downloading");
  });

  test("a downloaded hostile archive is refused too", async () => {
    served.set("/evil.tar", tarBytes([{ path: "ok.txt", content: "ok" }, { path: "../escape.txt", content: "x" }]));
    const target = markedTarget();
    await expect(prepareSource({ type: "tarball", url: `http://127.0.0.1:${server.port}/evil.tar` }, target)).rejects.toThrow('"../escape.txt": ".." in the path');
    expectUntouched(target);
  });

  test("clear errors: missing URL, missing file, a directory, not an archive, bad scheme", async () => {
    const dir = temp.make();
    writeFileSync(join(dir, "notes.txt"), "this is not a tar archive at all, just words. ".repeat(30));
    const target = markedTarget();
    const cases: [string | undefined, string][] = [
      [undefined, "source.url: missing"],
      [join(dir, "nope.tgz"), "does not exist"],
      [dir, "is a directory, but an archive file"],
      [join(dir, "notes.txt"), "is not a readable tar archive"],
      ["ftp://127.0.0.1/x.tgz", 'unsupported URL scheme "ftp://"'],
    ];
    for (const [url, message] of cases) {
      const error = await prepareSource({ type: "tarball", url }, target).catch((e) => e);
      expect(error).toBeInstanceOf(SourceError);
      expect(error.field).toBe("source.url");
      expect(error.message).toContain(message);
    }
    expectUntouched(target);
  });
});

describe("tarball source: hostile archives are refused whole, nothing extracted", () => {
  const outside = () => {
    const dir = temp.make("rc-outside-");
    writeFileSync(join(dir, "victim.txt"), "original");
    return dir;
  };
  const cases: [string, (victimDir: string) => FixtureEntry[], string][] = [
    ["absolute path", (v) => [{ path: "fine.txt", content: "ok" }, { path: join(v, "victim.txt"), content: "overwritten" }], "absolute path"],
    ["../escape", () => [{ path: "fine.txt", content: "ok" }, { path: "a/../../escape.txt", content: "x" }], '".." in the path'],
    [
      "symlink to /etc/passwd, then a file written through it",
      () => [{ path: "passwd", type: "SymbolicLink", linkpath: "/etc/passwd" }, { path: "passwd", content: "root::0:0::/:/bin/sh\n" }],
      'symbolic link to "/etc/passwd" points outside the target',
    ],
    [
      "symlinked directory out, then a file through it",
      (v) => [{ path: "d", type: "SymbolicLink", linkpath: v }, { path: "d/victim.txt", content: "overwritten" }],
      'written through the symbolic link "d"',
    ],
    ["relative symlink climbing out", () => [{ path: "sub/up", type: "SymbolicLink", linkpath: "../../etc" }], "points outside the target"],
    [
      "symlink chain escaping through another link",
      () => [{ path: "a", type: "SymbolicLink", linkpath: "." }, { path: "b", type: "SymbolicLink", linkpath: "a/.." }],
      '"b": symbolic link to "a/.." points outside the target',
    ],
    ["a FIFO", () => [{ path: "fine.txt", content: "ok" }, { path: "pipe", type: "FIFO" }], "entry type FIFO is not allowed"],
    ["a device", () => [{ path: "null", type: "CharacterDevice" }], "entry type CharacterDevice is not allowed"],
    ["hard link to an absolute path", () => [{ path: "h", type: "Link", linkpath: "/etc/passwd" }], 'hard link to "/etc/passwd" points outside'],
    ["hard link outside by ..", (v) => [{ path: "h", type: "Link", linkpath: `../${v.split("/").pop()}/victim.txt` }], "hard link to"],
  ];
  for (const [name, entries, message] of cases) {
    test(name, async () => {
      const victimDir = outside();
      const passwd = readFileSync("/etc/passwd", "utf8");
      const archive = writeTar(join(temp.make(), "evil.tar"), entries(victimDir));
      const target = markedTarget();
      const error = await prepareSource({ type: "tarball", url: archive }, target).catch((e) => e);
      expect(error).toBeInstanceOf(SourceError);
      expect(error.message).toContain("refused, nothing extracted");
      expect(error.message).toContain(message);
      expectUntouched(target);
      expect(readFileSync(join(victimDir, "victim.txt"), "utf8")).toBe("original");
      expect(readFileSync("/etc/passwd", "utf8")).toBe(passwd);
      expect(existsSync(join(target, "..", "escape.txt"))).toBe(false);
    });
  }

  test("every problem is listed, not just the first", async () => {
    const archive = writeTar(join(temp.make(), "evil.tar"), [
      { path: "/abs.txt", content: "x" },
      { path: "../up.txt", content: "x" },
      { path: "l", type: "SymbolicLink", linkpath: "/etc" },
    ]);
    const error = await prepareSource({ type: "tarball", url: archive }, markedTarget()).catch((e) => e);
    expect(error.message).toContain('"/abs.txt": absolute path');
    expect(error.message).toContain('"../up.txt": ".." in the path');
    expect(error.message).toContain('"l": symbolic link to "/etc" points outside the target');
  });

  test("links that stay inside are kept as links", async () => {
    const archive = writeTar(join(temp.make(), "ok.tar"), [
      { path: "dir/", type: "Directory" },
      { path: "dir/f.txt", content: "f" },
      { path: "dir/sibling", type: "SymbolicLink", linkpath: "../dir/f.txt" },
      { path: "top", type: "SymbolicLink", linkpath: "dir" },
    ]);
    const target = markedTarget();
    await prepareSource({ type: "tarball", url: archive }, target);
    expect(lstatSync(join(target, "top")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(target, "dir/sibling"), "utf8")).toBe("f");
  });
});
