/**
 * Step `if:` expressions: a tokenizer and a recursive-descent parser into a small AST, evaluated
 * against the job's env and earlier step outcomes. Never eval.
 *
 *   expr    := or
 *   or      := and ("||" and)*
 *   and     := unary ("&&" unary)*
 *   unary   := "!" unary | compare
 *   compare := primary (("==" | "!=") primary)?
 *   primary := "(" expr ")" | STRING | "true" | "false" | FUNC "(" ")" | "env." NAME | "steps." NAME ".outcome"
 *
 * An expression without success(), failure() or always() only runs after success, like
 * `success() && (expr)`: a failure stops what follows unless the `if` says otherwise.
 */

export const STATUS_FUNCTIONS = ["success", "failure", "always"] as const;
type StatusFunction = (typeof STATUS_FUNCTIONS)[number];

export type Condition =
  | { kind: "literal"; value: string | boolean }
  | { kind: "env"; name: string }
  | { kind: "step"; name: string }
  | { kind: "call"; fn: StatusFunction }
  | { kind: "not"; operand: Condition }
  | { kind: "and" | "or"; left: Condition; right: Condition }
  | { kind: "compare"; op: "==" | "!="; left: Condition; right: Condition };

export interface ConditionContext {
  env: Record<string, string | undefined>;
  /** Outcome of each finished step: success, failure, skipped or cancelled. */
  steps: Record<string, string | undefined>;
  /** Whether a step this one waits on failed (continue_on_error failures do not count). */
  failed: boolean;
}

export class ConditionError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(`${message} at column ${column}`);
    this.name = "ConditionError";
  }
}

type Token =
  | { type: "string"; value: string; pos: number }
  | { type: "ident"; value: string; pos: number }
  | { type: "op"; value: "==" | "!=" | "&&" | "||" | "!" | "(" | ")" | "."; pos: number }
  | { type: "end"; pos: number };

const IDENT = /[A-Za-z0-9_-]/;

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const two = source.slice(i, i + 2);
    if (two === "==" || two === "!=" || two === "&&" || two === "||") {
      tokens.push({ type: "op", value: two, pos: i + 1 });
      i += 2;
      continue;
    }
    if (ch === "!" || ch === "(" || ch === ")" || ch === ".") {
      tokens.push({ type: "op", value: ch, pos: i + 1 });
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      // Quotes are doubled to escape them ('it''s'), as in YAML single-quoted strings.
      let value = "";
      let j = i + 1;
      for (;;) {
        if (j >= source.length) throw new ConditionError("unterminated string", i + 1);
        if (source[j] === ch) {
          if (source[j + 1] === ch) {
            value += ch;
            j += 2;
            continue;
          }
          break;
        }
        value += source[j];
        j++;
      }
      tokens.push({ type: "string", value, pos: i + 1 });
      i = j + 1;
      continue;
    }
    if (IDENT.test(ch)) {
      let j = i;
      while (j < source.length && IDENT.test(source[j]!)) j++;
      tokens.push({ type: "ident", value: source.slice(i, j), pos: i + 1 });
      i = j;
      continue;
    }
    throw new ConditionError(`unexpected character ${JSON.stringify(ch)}`, i + 1);
  }
  tokens.push({ type: "end", pos: source.length + 1 });
  return tokens;
}

function describeToken(token: Token): string {
  if (token.type === "end") return "end of expression";
  if (token.type === "string") return `string ${JSON.stringify(token.value)}`;
  return `'${token.value}'`;
}

class Parser {
  private index = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index]!;
  }
  private next(): Token {
    return this.tokens[this.index++]!;
  }
  private isOp(value: string): boolean {
    const token = this.peek();
    return token.type === "op" && token.value === value;
  }
  private expectOp(value: string, after: string): void {
    const token = this.next();
    if (token.type !== "op" || token.value !== value) {
      throw new ConditionError(`expected '${value}' ${after}, found ${describeToken(token)}`, token.pos);
    }
  }
  private expectIdent(what: string): string {
    const token = this.next();
    if (token.type !== "ident") throw new ConditionError(`expected ${what}, found ${describeToken(token)}`, token.pos);
    return token.value;
  }

  parseAll(): Condition {
    const expr = this.or();
    const rest = this.peek();
    if (rest.type !== "end") throw new ConditionError(`unexpected ${describeToken(rest)}`, rest.pos);
    return expr;
  }
  private or(): Condition {
    let left = this.and();
    while (this.isOp("||")) {
      this.next();
      left = { kind: "or", left, right: this.and() };
    }
    return left;
  }
  private and(): Condition {
    let left = this.unary();
    while (this.isOp("&&")) {
      this.next();
      left = { kind: "and", left, right: this.unary() };
    }
    return left;
  }
  private unary(): Condition {
    if (this.isOp("!")) {
      this.next();
      return { kind: "not", operand: this.unary() };
    }
    return this.compare();
  }
  private compare(): Condition {
    const left = this.primary();
    if (this.isOp("==") || this.isOp("!=")) {
      const op = (this.next() as { value: "==" | "!=" }).value;
      return { kind: "compare", op, left, right: this.primary() };
    }
    return left;
  }
  private primary(): Condition {
    const token = this.next();
    if (token.type === "op" && token.value === "(") {
      const inner = this.or();
      this.expectOp(")", "to close '('");
      return inner;
    }
    if (token.type === "string") return { kind: "literal", value: token.value };
    if (token.type !== "ident") throw new ConditionError(`expected a value, found ${describeToken(token)}`, token.pos);
    switch (token.value) {
      case "true":
      case "false":
        return { kind: "literal", value: token.value === "true" };
      case "env": {
        this.expectOp(".", "after 'env'");
        const name = this.expectIdent("a variable name after 'env.'");
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ConditionError(`invalid variable name '${name}'`, token.pos);
        return { kind: "env", name };
      }
      case "steps": {
        this.expectOp(".", "after 'steps'");
        const name = this.expectIdent("a step name after 'steps.'");
        this.expectOp(".", `after 'steps.${name}'`);
        const field = this.next();
        if (field.type !== "ident" || field.value !== "outcome") {
          throw new ConditionError(`expected 'outcome' after 'steps.${name}.', found ${describeToken(field)}`, field.pos);
        }
        return { kind: "step", name };
      }
      default: {
        if ((STATUS_FUNCTIONS as readonly string[]).includes(token.value)) {
          this.expectOp("(", `after '${token.value}'`);
          this.expectOp(")", `in '${token.value}()' (it takes no arguments)`);
          return { kind: "call", fn: token.value as StatusFunction };
        }
        throw new ConditionError(
          `unknown name '${token.value}'; allowed: success(), failure(), always(), env.NAME, steps.NAME.outcome, 'strings', true, false`,
          token.pos,
        );
      }
    }
  }
}

/** Parses an `if:` expression; throws ConditionError with the column of the problem. */
export function parseCondition(source: string): Condition {
  if (!source.trim()) throw new ConditionError("empty expression", 1);
  return new Parser(tokenize(source)).parseAll();
}

function walk(node: Condition, visit: (node: Condition) => void): void {
  visit(node);
  if (node.kind === "not") walk(node.operand, visit);
  else if (node.kind === "and" || node.kind === "or" || node.kind === "compare") {
    walk(node.left, visit);
    walk(node.right, visit);
  }
}

/** Step names the expression reads (`steps.NAME.outcome`), to check they exist earlier. */
export function referencedSteps(node: Condition): string[] {
  const names: string[] = [];
  walk(node, (n) => n.kind === "step" && names.push(n.name));
  return names;
}

function usesStatusFunction(node: Condition): boolean {
  let found = false;
  walk(node, (n) => {
    if (n.kind === "call") found = true;
  });
  return found;
}

function value(node: Condition, ctx: ConditionContext): string | boolean {
  switch (node.kind) {
    case "literal":
      return node.value;
    case "env":
      return ctx.env[node.name] ?? "";
    case "step":
      return ctx.steps[node.name] ?? "";
    case "call":
      return node.fn === "always" ? true : node.fn === "failure" ? ctx.failed : !ctx.failed;
    case "not":
      return !truthy(value(node.operand, ctx));
    case "and":
      return truthy(value(node.left, ctx)) && truthy(value(node.right, ctx));
    case "or":
      return truthy(value(node.left, ctx)) || truthy(value(node.right, ctx));
    case "compare": {
      const equal = String(value(node.left, ctx)) === String(value(node.right, ctx));
      return node.op === "==" ? equal : !equal;
    }
  }
}

function truthy(v: string | boolean): boolean {
  return typeof v === "boolean" ? v : v !== "";
}

/** Whether a step with this condition runs (no condition: only after success). */
export function shouldRun(condition: Condition | null, ctx: ConditionContext): boolean {
  if (!condition) return !ctx.failed;
  const result = truthy(value(condition, ctx));
  return usesStatusFunction(condition) ? result : !ctx.failed && result;
}
