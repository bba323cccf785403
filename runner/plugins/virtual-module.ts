/**
 * Makes `import ... from "reactorcide"` work in job scripts and plugin files loaded at run time,
 * also from the compiled runner, whose own modules have no file on disk: the specifier is
 * served from the already-loaded library object through a Bun runtime plugin.
 */
let registered = false;

export async function provideLibraryModule(): Promise<void> {
  if (registered) return;
  registered = true;
  const lib = await import("../lib.ts");
  Bun.plugin({
    name: "reactorcide-library",
    setup(build) {
      build.module("reactorcide", () => ({ exports: { ...lib }, loader: "object" }));
    },
  });
}
