import { Entity, Index, PrimaryKey, Property } from "@mikro-orm/core";

/**
 * An OpenID Connect sign-in between the redirect to the provider and its callback. The browser holds the flow
 * id in a short-lived cookie; the state, nonce and PKCE verifier stay here, so any replica can finish the flow
 * and none of them ever reaches the browser except the state.
 */
@Entity({ tableName: "oidc_flows" })
export class OidcFlow {
  /** Hex SHA-256 of the flow id in the browser's cookie. */
  @PrimaryKey({ type: "string", length: 64 })
  idHash!: string;

  @Property({ type: "string", length: 128 })
  state!: string;

  @Property({ type: "string", length: 128 })
  nonce!: string;

  @Property({ type: "string", length: 128 })
  codeVerifier!: string;

  @Property({ type: "datetime" })
  @Index()
  expiresAt!: Date;
}
