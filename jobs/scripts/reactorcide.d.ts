// Job scripts import the runner library as "reactorcide" (the script command provides it at run
// time); this tells the type checker that it is runner/lib.ts.
declare module "reactorcide" {
  const library: typeof import("../../runner/lib.ts");
  export = library;
}
