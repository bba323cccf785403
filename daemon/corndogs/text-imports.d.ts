// Files imported `with { type: "text" }` (embedded by `bun build --compile`) arrive as strings.
declare module "*.proto" {
  const text: string;
  export default text;
}
declare module "*.sql" {
  const text: string;
  export default text;
}
