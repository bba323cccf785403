/** The daemon's notification settings from its environment; a bad value stops the start naming the variable. */
import { mailSettingsFromEnv, smtpUrlProblem, type MailSettings } from "./email.ts";

export interface NotificationSettings {
  /** REACTORCIDE_PUBLIC_URL; unset: the API's own address. */
  publicUrl?: string;
  mail: MailSettings;
}

export function notificationSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): NotificationSettings {
  const mail = mailSettingsFromEnv(env);
  const problem = mail.url && smtpUrlProblem(mail.url);
  if (problem) throw new Error(problem);
  const publicUrl = env.REACTORCIDE_PUBLIC_URL || undefined;
  if (publicUrl) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(publicUrl);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
      throw new Error("REACTORCIDE_PUBLIC_URL must be the http(s):// address people use to reach this daemon, e.g. https://ci.example.com");
    }
  }
  return { publicUrl, mail };
}
