import { UserRole } from "./entities/user.entity";

/** Groups that grant each role, as configured in `auth.oidc.roles` and `auth.trustedHeader.roles`. */
export type GroupRoleMapping = Record<UserRole, string[]>;

/** The highest role any of the groups grants, or null when none maps to a role. */
export function roleForGroups(
  groups: readonly string[],
  mapping: GroupRoleMapping,
): UserRole | null {
  for (const role of [UserRole.Admin, UserRole.Operator, UserRole.Viewer]) {
    if (mapping[role].some((group) => groups.includes(group))) {
      return role;
    }
  }
  return null;
}

/** Reads a groups claim that may be one string, a list of strings or absent. */
export function groupsFromClaim(value: unknown): string[] {
  if (typeof value === "string") {
    return [value];
  }
  if (Array.isArray(value)) {
    return value.filter((entry): entry is string => typeof entry === "string");
  }
  return [];
}
