import { defineCommand } from "citty";
import { consola } from "consola";
import { MIN_SECRET_LENGTH } from "../secrets/masker.ts";
import { registerSecrets } from "../secrets/socket-client.ts";
import { SECRETS_SOCKET_ENV } from "../secrets/socket-protocol.ts";

async function stdinLines(): Promise<string[]> {
  const text = await new Response(Bun.stdin.stream()).text();
  return text.split(/\r?\n/).filter((line) => line.length > 0);
}

export default defineCommand({
  meta: {
    name: "register-secret",
    description: `Mask values in all later output of the running job (through $${SECRETS_SOCKET_ENV}); "-" reads one value per line from stdin`,
  },
  args: {
    value: { type: "positional", description: 'Values to mask; "-" reads them from stdin, one per line (keeps them off the command line)', required: true },
    socket: { type: "string", description: `Socket path (default $${SECRETS_SOCKET_ENV})` },
    json: { type: "boolean", description: "Print {\"registered\":N} on stdout", default: false },
  },
  async run({ args }) {
    try {
      const given = [args.value, ...args._.slice(1)];
      const values: string[] = [];
      for (const v of given) {
        if (v === "-") values.push(...(await stdinLines()));
        else values.push(v);
      }
      // The runner counts them but cannot mask them without hiding ordinary text; say so.
      const short = values.filter((v) => v.length > 0 && v.length < MIN_SECRET_LENGTH).length;
      if (short > 0) consola.warn(`${short} value(s) shorter than ${MIN_SECRET_LENGTH} characters will not be masked`);
      const registered = await registerSecrets(values, { socketPath: args.socket });
      if (args.json) console.log(JSON.stringify({ registered }));
      else consola.success(`registered ${registered} secret value(s)`);
    } catch (error) {
      consola.error((error as Error).message);
      process.exitCode = 1;
    }
  },
});
