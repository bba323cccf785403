import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { roleAtLeast } from "../../../runner/protocol/api/projects.ts";
import type { ProjectRole, SessionInfo } from "./api.ts";

export interface SessionState {
  info: SessionInfo;
  signOut(): void;
}

export const SessionContext = createContext<SessionState | null>(null);

export function useSession(): SessionState {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in page");
  return session;
}

/** Whether the signed-in user holds at least `min` on the project (by id or name): buttons they cannot use are not drawn. */
export function can(info: SessionInfo, project: string, min: ProjectRole): boolean {
  if (info.is_admin) return true;
  const p = info.projects.find((x) => x.id === project || x.name === project);
  return p !== undefined && roleAtLeast(p.role, min);
}

export function projectName(info: SessionInfo, id: string): string {
  return info.projects.find((p) => p.id === id)?.name ?? id.slice(0, 8);
}
