/**
 * Real peers for notification tests: an SMTP server (the smtp-server package, offering STARTTLS
 * and AUTH) whose messages are parsed by mailparser, and an HTTP receiver that checks GitHub-style
 * signatures with @octokit/webhooks-methods (an independent implementation of the scheme).
 */
import { verify } from "@octokit/webhooks-methods";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";
import { freePort } from "../../db/free-port.ts";

export interface ReceivedMail {
  mail: ParsedMail;
  /** The envelope's recipients, as the server saw them. */
  rcpt: string[];
  /** The session had upgraded with STARTTLS before the message. */
  secure: boolean;
  user: string | undefined;
}

export async function startSmtpReceiver(auth = { user: "ci", pass: "smtp-pass-123" }) {
  const received: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  const server = new SMTPServer({
    // smtp-server's built-in self-signed certificate; the client is told to accept it.
    authOptional: false,
    disabledCommands: [],
    logger: false,
    onAuth(a, _session, callback) {
      if (a.username === auth.user && a.password === auth.pass) return callback(null, { user: a.username });
      callback(new Error("bad credentials"));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({ mail, rcpt: session.envelope.rcptTo.map((r) => r.address), secure: session.secure, user: session.user as string | undefined });
          for (const w of waiters.splice(0)) w();
          callback();
        })
        .catch(callback);
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    received,
    url: `smtp://${auth.user}:${auth.pass}@127.0.0.1:${port}?tls.rejectUnauthorized=false&requireTLS=true`,
    async next(count = received.length + 1, timeoutMs = 15_000): Promise<ReceivedMail> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`no mail arrived (have ${received.length}, want ${count})`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
      return received[count - 1]!;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ReceivedHook {
  headers: Headers;
  body: string;
  json: any;
  /** The signature verified under the receiver's secret. */
  verified: boolean;
}

/**
 * An HTTP receiver on `port` (a free one by default), listening unless `down`. `failNext(n)` answers 503 to the next n
 * requests; `stop()` closes the port and `listen()` opens it again, as a receiver that is down.
 */
export async function startHookReceiver(secret: string, options: { port?: number; down?: boolean } = {}) {
  const received: ReceivedHook[] = [];
  const chosen = options.port ?? (await freePort());
  let failures = 0;
  let server: ReturnType<typeof Bun.serve> | undefined;
  const listen = () => {
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: chosen,
      async fetch(request) {
        const body = await request.text();
        if (failures > 0) {
          failures--;
          return new Response("receiver is busy", { status: 503 });
        }
        const signature = request.headers.get("x-reactorcide-signature-256") ?? "";
        const verified = signature !== "" && (await verify(secret, body, signature));
        received.push({ headers: request.headers, body, json: JSON.parse(body), verified });
        return new Response("ok");
      },
    });
  };
  if (!options.down) listen();
  return {
    port: chosen,
    url: `http://127.0.0.1:${chosen}/hook`,
    received,
    listen,
    failNext(n: number) {
      failures = n;
    },
    async stop() {
      await server?.stop(true);
      server = undefined;
    },
    async waitFor(count: number, timeoutMs = 30_000): Promise<ReceivedHook[]> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${received.length} of ${count} webhook deliveries arrived`);
        await Bun.sleep(50);
      }
      return received;
    },
  };
}
