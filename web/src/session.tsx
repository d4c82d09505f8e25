import { createContext, useContext } from "react";

import { Me, Role } from "./api";

/** The signed-in user and the role checks the screens use to hide what the API would reject anyway. */
export interface Session {
  me: Me;
  canOperate: boolean;
  isAdmin: boolean;
  signOut: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) {
    throw new Error("useSession() used outside a signed-in layout");
  }
  return session;
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** Checks whether `role` may do what `minimum` may, as the server does: admin > operator > viewer. */
export function roleAtLeast(role: Role, minimum: Role): boolean {
  return RANK[role] >= RANK[minimum];
}
