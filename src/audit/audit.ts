import { isWellFormedClientToken } from "../crypto/client-token";

/** Who makes a change. */
export interface AuditActor {
  /** The dashboard user's id; null outside a session. */
  userId: number | null;
  username: string;
  /** Request id of the admin call, when the change comes from one. */
  requestId?: string | null;
}

/** What changed: the action, the entity, and snapshots of it before and after (null when it did not exist). */
export interface AuditChange {
  action: string;
  entityType: string;
  entityId: string | number;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

/** Keys whose values are secrets, or derived from one, and never enter an audit entry. */
const SECRET_KEY =
  /api_?key$|apikey(ciphertext|nonce|keyid)?$|^token$|tokenhash|secret|password|ciphertext|nonce|pepper/i;

export const MASKED = "[masked]";

/**
 * Replaces secret values in a snapshot, at any depth: values under secret-looking keys, and any string that is
 * a client token. Snapshots are built from explicit views without secrets; this is the second line of defence.
 */
export function maskSecrets(value: unknown): unknown {
  if (typeof value === "string") {
    return isWellFormedClientToken(value) ? MASKED : value;
  }
  if (typeof value === "bigint") {
    return value.toString();
  }
  if (value instanceof Date) {
    return value.toISOString();
  }
  if (Array.isArray(value)) {
    return value.map(maskSecrets);
  }
  if (typeof value !== "object" || value === null) {
    return value;
  }

  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      SECRET_KEY.test(key) ? MASKED : maskSecrets(inner),
    ]),
  );
}
