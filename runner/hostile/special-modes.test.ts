/**
 * Review finding: a tarball (or copied directory) with setuid/setgid/sticky modes kept them when
 * prepared; as root that made a setuid-root program out of a file the archive's author wrote.
 * Prepared sources keep the permission bits only.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { prepareSource } from "../source/prepare.ts";
import { writeTar } from "../source/tar-fixtures.ts";
import { useTempDirs } from "../testing/temp-dirs.ts";

const tempDir = useTempDirs("rc-hostile-modes");
const special = (path: string) => lstatSync(path).mode & 0o7777;

describe("special mode bits in prepared sources", () => {
  test("a tarball's setuid, setgid and sticky bits are dropped, permissions kept", async () => {
    const dir = tempDir();
    const archive = writeTar(join(dir, "a.tar"), [
      { path: "bin", type: "Directory", mode: 0o3775 },
      { path: "bin/tool", content: "#!/bin/sh\n", mode: 0o6755 },
      { path: "plain", content: "x", mode: 0o640 },
    ]);
    const target = join(dir, "src");
    await prepareSource({ type: "tarball", url: archive }, target);
    expect(special(join(target, "bin", "tool"))).toBe(0o755);
    expect(special(join(target, "bin")) & 0o7000).toBe(0); // its permissions are the umask's
    expect(special(join(target, "plain"))).toBe(0o640);
  });

  test("a copied directory's setuid bit is dropped", async () => {
    const dir = tempDir();
    const from = join(dir, "from");
    mkdirSync(join(from, "bin"), { recursive: true });
    writeFileSync(join(from, "bin", "tool"), "#!/bin/sh\n");
    chmodSync(join(from, "bin", "tool"), 0o4755);
    const target = join(dir, "src");
    await prepareSource({ type: "copy", url: from }, target);
    expect(special(join(target, "bin", "tool"))).toBe(0o755);
  });
});
