import { UserRole } from "./entities/user.entity";

/** Metadata key under which `AdminRoute` records the least role a route needs. */
export const ADMIN_MIN_ROLE = "llmp:admin-min-role";

const RANK: Record<UserRole, number> = {
  [UserRole.Viewer]: 1,
  [UserRole.Operator]: 2,
  [UserRole.Admin]: 3,
};

/** Whether `role` may do what `minimum` may: admin > operator > viewer. */
export function roleAtLeast(role: UserRole, minimum: UserRole): boolean {
  return RANK[role] >= RANK[minimum];
}
