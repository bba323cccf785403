import { defineCommand } from "citty";
import { consola } from "consola";
import { ApiClient } from "../client/api-client.ts";
import { saveConfig } from "../client/config.ts";

export default defineCommand({
  meta: { name: "login", description: "Store the coordinator URL and a token (checked first) in ~/.config/reactorcide" },
  args: {
    url: { type: "string", description: "coordinator URL, e.g. http://127.0.0.1:8080", required: true },
    token: { type: "string", description: "API token (default: $REACTORCIDE_TOKEN, else read from stdin)" },
  },
  async run({ args }) {
    if (!/^https?:\/\/[^\s]+$/.test(args.url)) {
      consola.error(`--url must be an http:// or https:// URL, got ${JSON.stringify(args.url)}`);
      process.exit(2);
    }
    const token = (args.token || process.env.REACTORCIDE_TOKEN || (await Bun.stdin.text())).trim();
    if (!token) {
      consola.error("--token is required (or $REACTORCIDE_TOKEN, or the token on stdin)");
      process.exit(2);
    }
    try {
      await new ApiClient({ url: args.url, token }).json("GET", "/api/v1/tokens");
    } catch (error) {
      consola.error(`login failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
    const file = await saveConfig({ url: args.url, token });
    consola.success(`logged in to ${args.url} (saved in ${file})`);
  },
});
