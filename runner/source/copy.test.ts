import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TempDirs } from "../git/fixtures.ts";
import { prepareSource, SourceError } from "./prepare.ts";

const temp = new TempDirs();
afterAll(() => temp.cleanup());

/** Every path under `dir` with its kind, mode and content or link text. */
function tree(dir: string, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const rel = prefix + name;
    const st = lstatSync(path);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out[rel] = `link -> ${readlinkSync(path)}`;
    else if (st.isDirectory()) {
      out[rel] = `dir ${mode}`;
      Object.assign(out, tree(path, `${rel}/`));
    } else out[rel] = `file ${mode} ${readFileSync(path, "utf8")}`;
  }
  return out;
}

function sourceTree(): { root: string; source: string; secret: string } {
  const root = temp.make("rc-copy-");
  const source = join(root, "source");
  mkdirSync(join(source, "empty dir"), { recursive: true });
  mkdirSync(join(source, "sub/ünïcødé 目录"), { recursive: true });
  writeFileSync(join(source, "script.sh"), "#!/bin/sh\necho hi\n");
  chmodSync(join(source, "script.sh"), 0o755);
  writeFileSync(join(source, "private.key"), "k");
  chmodSync(join(source, "private.key"), 0o600);
  writeFileSync(join(source, "sub/ünïcødé 目录/file with spaces.txt"), "spaces");
  chmodSync(join(source, "sub/ünïcødé 目录/file with spaces.txt"), 0o644);
  chmodSync(join(source, "empty dir"), 0o755);
  mkdirSync(join(source, "locked"));
  chmodSync(join(source, "locked"), 0o700);
  const secret = join(root, "outside-secret.txt");
  writeFileSync(secret, "TOP SECRET");
  mkdirSync(join(root, "outside-dir"));
  writeFileSync(join(root, "outside-dir/inner.txt"), "outside dir content");
  symlinkSync("../outside-secret.txt", join(source, "relative-out"));
  symlinkSync(secret, join(source, "absolute-out"));
  symlinkSync(join(root, "outside-dir"), join(source, "dir-out"));
  symlinkSync("script.sh", join(source, "inside-link"));
  symlinkSync("/nonexistent/target", join(source, "dangling"));
  return { root, source, secret };
}

describe("copy source", () => {
  test("copies the exact tree: empty dirs, modes, odd names; links stay links, none followed out", async () => {
    const { root, source } = sourceTree();
    const target = join(root, "job", "src");
    const lines: string[] = [];
    const prepared = await prepareSource({ type: "copy", url: source }, target, { log: (l) => lines.push(l) });
    expect(prepared).toEqual({ type: "copy", dir: target });
    expect(tree(target)).toEqual(tree(source));
    expect(tree(target)).toMatchObject({
      "script.sh": "file 755 #!/bin/sh\necho hi\n",
      "private.key": "file 600 k",
      "empty dir": "dir 755",
      locked: "dir 700",
      "relative-out": "link -> ../outside-secret.txt",
      "dir-out": `link -> ${join(root, "outside-dir")}`,
      dangling: "link -> /nonexistent/target",
      "sub/ünïcødé 目录/file with spaces.txt": "file 644 spaces",
    });
    expect(lstatSync(join(target, "dir-out")).isSymbolicLink()).toBe(true);
    expect(lines[0]).toContain(`copy: ${source} -> ${target}`);
  });

  test("a file:// URL works, and stale content in the target is replaced", async () => {
    const { root, source } = sourceTree();
    const target = join(root, "target");
    mkdirSync(join(target, "stale-dir"), { recursive: true });
    writeFileSync(join(target, "stale.txt"), "old");
    writeFileSync(join(target, "script.sh"), "old content");
    await prepareSource({ type: "copy", url: `file://${source}` }, target);
    expect(tree(target)).toEqual(tree(source));
    expect(existsSync(join(target, "stale.txt"))).toBe(false);
  });

  test("clear errors: missing URL, missing directory, a file, overlapping target, a file as target", async () => {
    const { root, source } = sourceTree();
    const target = join(root, "t");
    const cases: [Parameters<typeof prepareSource>[0], string, string][] = [
      [{ type: "copy" }, target, "source.url: missing"],
      [{ type: "copy", url: join(root, "nope") }, target, "does not exist"],
      [{ type: "copy", url: join(source, "script.sh") }, target, "is a file, but a directory is expected"],
      [{ type: "copy", url: source }, join(source, "sub", "inner"), "overlap"],
      [{ type: "copy", url: join(source, "sub") }, source, "overlap"],
      [{ type: "copy", url: source }, join(root, "outside-secret.txt"), "target: "],
      [{ type: "copy", url: source, ref: "main" }, target, "source.ref: a ref applies only to git sources"],
    ];
    for (const [spec, dir, message] of cases) {
      const error = await prepareSource(spec, dir).catch((e) => e);
      expect(error).toBeInstanceOf(SourceError);
      expect(error.message).toContain(message);
    }
    expect(existsSync(join(source, "sub", "inner"))).toBe(false);
    expect(readFileSync(join(root, "outside-secret.txt"), "utf8")).toBe("TOP SECRET");
  });
});

describe("prepareSource", () => {
  test("an unknown type is refused, listing the supported ones", async () => {
    const error = await prepareSource({ type: "svn" } as never, temp.make()).catch((e) => e);
    expect(error).toBeInstanceOf(SourceError);
    expect(error.field).toBe("source.type");
    expect(error.message).toBe('source.type: unknown source type "svn"; supported: git, copy, tarball, none');
  });

  test("none leaves a pre-mounted directory as it is, or creates an empty one", async () => {
    const mounted = temp.make();
    writeFileSync(join(mounted, "already-here.txt"), "x");
    expect(await prepareSource({ type: "none" }, mounted)).toEqual({ type: "none", dir: mounted });
    expect(readdirSync(mounted)).toEqual(["already-here.txt"]);
    const fresh = join(temp.make(), "src");
    await prepareSource({ type: "none" }, fresh);
    expect(statSync(fresh).isDirectory()).toBe(true);
    expect(readdirSync(fresh)).toEqual([]);
  });
});
