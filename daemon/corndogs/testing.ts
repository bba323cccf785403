import { testDatabase } from "../testing/postgres.ts";
import { CorndogsClient } from "./client.ts";
import { startCorndogsServer, type CorndogsServer, type CorndogsServerOptions } from "./server.ts";

export interface QueueFixture {
  server: CorndogsServer;
  client: CorndogsClient;
  databaseUrl: string;
  close(): Promise<void>;
}

/** A real Corndogs server on a fresh test database, listening on 127.0.0.1 at a free port. */
export async function startTestQueue(options: Partial<CorndogsServerOptions> = {}): Promise<QueueFixture> {
  const db = await testDatabase("corndogs");
  const server = await startCorndogsServer({ databaseUrl: db.url, listen: "127.0.0.1:0", ...options });
  const client = new CorndogsClient(server.address, { token: options.token });
  return {
    server,
    client,
    databaseUrl: db.url,
    async close() {
      client.close();
      await server.close();
    },
  };
}
