import { Algorithm, hash, verify } from "@node-rs/argon2";

/** Shortest password accepted for a local account, in characters. */
export const MIN_PASSWORD_LENGTH = 12;

/** Longest password accepted, in characters; bounds the hashing work one request can cause. */
export const MAX_PASSWORD_LENGTH = 1024;

/**
 * argon2id with the OWASP minimum parameters (19 MiB, 2 passes, 1 lane), which the PHC string records, so
 * stronger settings later still verify old hashes.
 */
const OPTIONS = {
  algorithm: Algorithm.Argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

/** Hashes a password into a PHC string. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/**
 * Checks a password against a PHC string in constant time. Without a stored hash (unknown user, SSO-only
 * account) it verifies against a throwaway hash, so the answer takes as long as for a real account.
 */
export async function verifyPassword(
  storedHash: string | null,
  password: string,
): Promise<boolean> {
  const matches = await verify(storedHash ?? (await decoyHash()), password);
  return storedHash !== null && matches;
}

let decoy: Promise<string> | null = null;

/** Computes the throwaway hash ahead of time, so that the first unknown user does not pay for it. */
export async function prepareDecoyHash(): Promise<void> {
  await decoyHash();
}

function decoyHash(): Promise<string> {
  decoy ??= hash(`decoy-${Math.random()}`, OPTIONS);
  return decoy;
}
