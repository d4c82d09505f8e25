import { createHash, randomBytes } from "node:crypto";

/** Prefix of admin session tokens, so secret scanners and log reviews can tell them from client tokens. */
export const SESSION_TOKEN_PREFIX = "lps_";

/** A new session token: the prefix and 256 random bits in base64url. */
export function generateSessionToken(): string {
  return SESSION_TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/**
 * Hex SHA-256 of a high-entropy secret (a session token or an OIDC flow id). A plain hash is enough because the
 * input has 256 random bits, so it cannot be guessed from the hash.
 */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Whether a string has the shape of a session token; anything else is refused without a database lookup. */
export function looksLikeSessionToken(value: string): boolean {
  return /^lps_[A-Za-z0-9_-]{43}$/.test(value);
}
