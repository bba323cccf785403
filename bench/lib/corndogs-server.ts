#!/usr/bin/env bun
/**
 * The Corndogs server in a process of its own for bench/queue.bench.ts, as it runs in a real
 * deployment (inside `reactorcide serve`, with workers in other processes). Usage:
 * bun bench/lib/corndogs-server.ts <database-url> <pool-size>; prints the bound address on its
 * first stdout line and shuts down when stdin closes.
 */
import { startCorndogsServer } from "../../daemon/corndogs/server.ts";

const [databaseUrl, pool] = process.argv.slice(2);
if (!databaseUrl || !pool || !/^\d+$/.test(pool)) {
  console.error("usage: corndogs-server.ts <database-url> <pool-size>");
  process.exit(2);
}
const server = await startCorndogsServer({ databaseUrl, listen: "127.0.0.1:0", poolSize: Number(pool) });
console.log(server.address);
for await (const _ of Bun.stdin.stream());
await server.close();
process.exit(0);
