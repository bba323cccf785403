/**
 * The runner's consola reporter: the lines consola's fancy reporter prints (an icon before
 * info/start/success, an ` ERROR ` / ` WARN ` badge on its own line for errors and warnings, on
 * stderr), without loading it. The fancy reporter comes with node:util, node:tty and a Unicode
 * width table, and its module creates a consola on process.stdout when loaded: most of a trivial
 * run's start-up. Colours only on a terminal, and never under NO_COLOR.
 */
import type { ConsolaReporter, LogObject } from "consola/core";

export interface ReporterStream {
  write(text: string): void;
}

const ICONS: Record<string, string> = {
  info: "ℹ", start: "◐", success: "✔", ready: "✔", fail: "✖", error: "✖", fatal: "✖", warn: "⚠", debug: "⚙", trace: "→", log: "",
};
const TYPE_COLOURS: Record<string, number> = { info: 36, fail: 31, success: 32, ready: 32, start: 35 };
/** Foreground codes by level for the rest (0 error/fatal red, 1 warn yellow). */
const LEVEL_COLOURS: Record<number, number> = { 0: 31, 1: 33 };

function formatArg(arg: unknown): string {
  if (typeof arg === "string") return arg;
  if (arg instanceof Error) return arg.stack ?? arg.message;
  return Bun.inspect(arg);
}

export function lineReporter(streams: { stdout: ReporterStream; stderr: ReporterStream }, colours: boolean): ConsolaReporter {
  const paint = (code: number, text: string) => (colours && text ? `\x1b[${code}m${text}\x1b[${code >= 40 ? 49 : 39}m` : text);
  // As the fancy reporter: `code` is shown in cyan (the backticks go).
  const characters = (text: string) => text.replace(/`([^`]+)`/gm, (_, m: string) => paint(36, m));
  return {
    log(logObj: LogObject) {
      const [message = "", ...more] = logObj.args.map(formatArg).join(" ").split("\n");
      const colour = TYPE_COLOURS[logObj.type] ?? LEVEL_COLOURS[logObj.level] ?? 90;
      const badge = logObj.level < 2;
      let line: string;
      if (badge) {
        const label = ` ${logObj.type.toUpperCase()} `;
        line = `${colours ? `\x1b[${colour + 10}m\x1b[30m${label}\x1b[39m\x1b[49m` : label} ${characters(message)}`;
      } else {
        const icon = ICONS[logObj.type] ?? logObj.type;
        line = icon ? `${paint(colour, icon)} ${characters(message)}` : characters(message);
      }
      if (more.length > 0) line += characters(`\n${more.join("\n")}`);
      (badge ? streams.stderr : streams.stdout).write(badge ? `\n${line}\n\n` : `${line}\n`);
    },
  };
}
