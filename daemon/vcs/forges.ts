import type { VcsProvider } from "../../schema/app/vcs.ts";
import type { Forge } from "./forge.ts";
import { github } from "./github.ts";
import { gitlab } from "./gitlab.ts";

export const FORGES: Record<VcsProvider, Forge> = { github, gitlab };

/** The project's API root: its vcs_api_url, else the forge's public one; no trailing slash. */
export function apiUrlOf(forge: Forge, configured: string | null | undefined): string {
  return (configured || forge.defaultApiUrl).replace(/\/+$/, "");
}
