/**
 * E-mail delivery over SMTP with nodemailer. REACTORCIDE_SMTP_URL is nodemailer's connection URL:
 * `smtp://user:pass@host:587` upgrades with STARTTLS whenever the server offers it (add
 * `?requireTLS=true` to refuse a server that does not), `smtps://` is TLS from the start, and
 * `tls.*` query options pass through (`?tls.rejectUnauthorized=false` for a self-signed relay).
 */
import { hostname } from "node:os";
import nodemailer, { type Transporter } from "nodemailer";
import { renderHtml, renderText, subjectLine } from "./render.ts";
import type { RunSummary } from "./summary.ts";

export interface MailSettings {
  /** REACTORCIDE_SMTP_URL; unset means e-mail rules fail with a message saying so. */
  url?: string;
  /** REACTORCIDE_SMTP_FROM: the sender, e.g. `Reactorcide <ci@example.com>`. */
  from: string;
}

export function mailSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): MailSettings {
  return { url: env.REACTORCIDE_SMTP_URL || undefined, from: env.REACTORCIDE_SMTP_FROM || `Reactorcide <reactorcide@${hostname()}>` };
}

/** smtp(s)://host:port of the URL, never its password. */
export function describeSmtpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}${parsed.port ? `:${parsed.port}` : ""}`;
  } catch {
    return "(not a URL)";
  }
}

/** Why REACTORCIDE_SMTP_URL cannot be used, or undefined when it can. */
export function smtpUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "REACTORCIDE_SMTP_URL must be a URL like smtp://user:password@mail.example.com:587";
  }
  if (parsed.protocol !== "smtp:" && parsed.protocol !== "smtps:") return `REACTORCIDE_SMTP_URL must start with smtp:// or smtps://, not ${parsed.protocol}//`;
  if (!parsed.hostname) return "REACTORCIDE_SMTP_URL names no host";
  return undefined;
}

export class Mailer {
  private transport: Transporter | undefined;

  constructor(readonly settings: MailSettings) {}

  async send(to: string[], summary: RunSummary, deliveryId: string): Promise<void> {
    const { url, from } = this.settings;
    if (!url) throw new Error("e-mail is not configured: set REACTORCIDE_SMTP_URL (e.g. smtp://user:password@mail.example.com:587) and restart");
    this.transport ??= nodemailer.createTransport(url, { from });
    try {
      await this.transport.sendMail({
        to,
        subject: subjectLine(summary),
        text: renderText(summary),
        html: renderHtml(summary),
        // The same id on a retry, so a mail client shows a repeat (a crash after the server took it) once.
        messageId: `<${deliveryId}@reactorcide>`,
        headers: { "X-Reactorcide-Delivery": deliveryId, "X-Reactorcide-Event": summary.event },
      });
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).replaceAll(url, describeSmtpUrl(url));
      throw new Error(`SMTP ${describeSmtpUrl(url)}: ${reason}`);
    }
  }

  close(): void {
    this.transport?.close();
  }
}
