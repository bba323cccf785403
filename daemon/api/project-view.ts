import type { ProjectView, VcsProvider } from "../../runner/protocol/index.ts";
import type { Project } from "../projects/store.ts";
import { FORGES } from "../vcs/forges.ts";

/** A project as the API shows it (snake_case, ISO times; sealed values only as has_*). */
export function projectView(p: Project): ProjectView {
  return {
    id: p.id,
    name: p.name,
    repo_url: p.repoUrl,
    default_branch: p.defaultBranch,
    default_image: p.defaultImage,
    allowed_events: p.allowedEvents,
    target_branches: p.targetBranches,
    ci_source_url: p.ciSourceUrl,
    ci_source_ref: p.ciSourceRef,
    fork_pr_policy: p.forkPrPolicy,
    fork_pr_trust_maintainers: p.forkPrTrustMaintainers,
    fork_pr_secrets: p.forkPrSecrets,
    fork_pr_network: p.forkPrNetwork,
    // The column's check constraint allows only these.
    vcs_provider: p.vcsProvider as VcsProvider,
    vcs_api_url: p.vcsApiUrl ?? FORGES[p.vcsProvider as keyof typeof FORGES]?.defaultApiUrl ?? null,
    has_webhook_secret: p.webhookSecretEnc !== null,
    has_vcs_token: p.vcsTokenEnc !== null,
    created_at: p.createdAt.toISOString(),
    updated_at: p.updatedAt.toISOString(),
  };
}
