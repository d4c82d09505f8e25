import { configSchema } from "../config/config.schema";
import { UserRole } from "./entities/user.entity";
import { groupsFromClaim, roleForGroups } from "./group-roles";

const auth = configSchema.shape.auth;

describe("auth settings", () => {
  it("needs issuer, client and redirect URL once OpenID Connect is on", () => {
    const result = auth.safeParse({ oidc: { enabled: true } });

    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join("."))).toEqual([
      "oidc.issuer",
      "oidc.clientId",
      "oidc.redirectUrl",
    ]);
  });

  it("needs a proxy address once trusted headers are on", () => {
    const result = auth.safeParse({ trustedHeader: { enabled: true } });

    expect(result.error?.issues[0].path.join(".")).toBe(
      "trustedHeader.proxies",
    );
  });

  it("accepts addresses and CIDR ranges of both families and refuses others", () => {
    const accepted = auth.safeParse({
      trustedHeader: {
        proxies: ["127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8"],
      },
    });
    const refused = auth.safeParse({
      trustedHeader: { proxies: ["10.0.0.0/33", "proxy.internal", "::1/129"] },
    });

    expect(accepted.success).toBe(true);
    expect(refused.error?.issues).toHaveLength(3);
  });

  it("refuses an initial administrator password under 12 characters", () => {
    const result = auth.safeParse({
      initialAdmin: { username: "root", password: "short" },
    });

    expect(result.error?.issues[0].path.join(".")).toBe(
      "initialAdmin.password",
    );
  });
});

describe("group to role mapping", () => {
  const mapping = {
    [UserRole.Admin]: ["admins"],
    [UserRole.Operator]: ["ops"],
    [UserRole.Viewer]: ["finance", "ops"],
  };

  it("gives the highest role any group grants", () => {
    expect(roleForGroups(["finance", "ops"], mapping)).toBe(UserRole.Operator);
    expect(roleForGroups(["admins", "finance"], mapping)).toBe(UserRole.Admin);
  });

  it("gives no role when no group is mapped", () => {
    expect(roleForGroups(["contractors"], mapping)).toBeNull();
    expect(roleForGroups([], mapping)).toBeNull();
  });

  it("reads a claim that is a string, a list or missing", () => {
    expect(groupsFromClaim("ops")).toEqual(["ops"]);
    expect(groupsFromClaim(["ops", 3, "admins"])).toEqual(["ops", "admins"]);
    expect(groupsFromClaim(undefined)).toEqual([]);
  });
});
