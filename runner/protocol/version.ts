import pkg from "../../package.json" with { type: "json" };

// Set by scripts/build.ts through `bun build --define`; absent when running from source.
declare const REACTORCIDE_BUILD_COMMIT: string | undefined;

export const VERSION: string = pkg.version;
export const COMMIT: string =
  typeof REACTORCIDE_BUILD_COMMIT === "string" ? REACTORCIDE_BUILD_COMMIT : "source";
/** What `--version` prints: the package version and the git commit it was built from. */
export const VERSION_LINE = `${VERSION} (${COMMIT})`;
