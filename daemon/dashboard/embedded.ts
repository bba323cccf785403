import type { DashboardAssets } from "./assets.ts";

/**
 * The dashboard as built into the compiled daemon. scripts/build.ts replaces this module with one
 * holding the bundled files; from source it is null and the assets are built on first use.
 */
export const embeddedAssets: DashboardAssets | null = null;
