/*
 * Client API tokens have the form `lpx_` + body + checksum, 53 characters in
 * all:
 * - body: 32 random bytes as a big-endian Base62 number, left-padded with "0"
 *   to 43 characters (62^43 > 2^256, so 43 characters fit every value);
 * - checksum: the CRC32 of the 43 body characters in Base62, left-padded to 6
 *   characters (62^6 > 2^32).
 *
 * The checksum lets the server reject mistyped or truncated tokens without a
 * database lookup. It is no security measure, since anyone can compute a CRC32.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
// zlib.crc32 exists since Node 20.15.0 (its @since tag in @types/node), and
// package.json requires Node 20.18.1 or later.
import { crc32 } from "node:zlib";

const CLIENT_TOKEN_PREFIX = "lpx_";
const BASE62_ALPHABET =
  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_BYTES = 32;
const BODY_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
const CLIENT_TOKEN_LENGTH =
  CLIENT_TOKEN_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH;

/**
 * Number of leading characters that are safe to show and log: `lpx_` and 8 body
 * characters, about 48 of the 256 random bits.
 */
const DISPLAY_PREFIX_LENGTH = CLIENT_TOKEN_PREFIX.length + 8;

/** Minimum token pepper size in bytes, the SHA-256 output size. */
export const TOKEN_PEPPER_MIN_BYTES = 32;

/**
 * Generates a new client token from 32 bytes of `crypto.randomBytes`. The
 * result passes {@link isWellFormedClientToken}.
 */
export function generateClientToken(): string {
  const random = randomBytes(RANDOM_BYTES);
  const body = encodeBase62(BigInt(`0x${random.toString("hex")}`), BODY_LENGTH);
  const checksum = encodeBase62(BigInt(crc32(body)), CHECKSUM_LENGTH);

  return CLIENT_TOKEN_PREFIX + body + checksum;
}

/**
 * Checks the prefix, the exact length, the Base62 alphabet and the CRC32
 * checksum of `value`. The only allocation is the 43-character body passed to
 * CRC32, so it is cheap enough to run on every request before any database
 * lookup. A `true` result does not show that the token was ever issued.
 */
export function isWellFormedClientToken(value: string): boolean {
  if (
    typeof value !== "string" ||
    value.length !== CLIENT_TOKEN_LENGTH ||
    !value.startsWith(CLIENT_TOKEN_PREFIX)
  ) {
    return false;
  }

  const checksumStart = CLIENT_TOKEN_LENGTH - CHECKSUM_LENGTH;
  for (let i = CLIENT_TOKEN_PREFIX.length; i < checksumStart; i++) {
    if (base62DigitValue(value.charCodeAt(i)) < 0) {
      return false;
    }
  }

  const checksum = decodeBase62Number(
    value,
    checksumStart,
    CLIENT_TOKEN_LENGTH,
  );
  if (checksum < 0) {
    return false;
  }

  return (
    checksum === crc32(value.slice(CLIENT_TOKEN_PREFIX.length, checksumStart))
  );
}

/**
 * Returns the first 12 characters of a client token (`lpx_` and 8 body
 * characters). They identify it to operators and are safe to store and log.
 *
 * @throws Error when `token` is not a well-formed client token, so that no part
 *   of another secret is logged by mistake.
 */
export function clientTokenDisplayPrefix(token: string): string {
  if (!isWellFormedClientToken(token)) {
    throw new Error(
      "Cannot build a display prefix: the value is not a well-formed client token (lpx_...).",
    );
  }

  return token.slice(0, DISPLAY_PREFIX_LENGTH);
}

/**
 * Computes HMAC-SHA256 of the token's UTF-8 bytes keyed with `pepper` and
 * returns the 32-byte digest. The database stores only this digest, so a leaked
 * table without the pepper does not reveal or verify tokens.
 *
 * @throws Error when `pepper` is shorter than {@link TOKEN_PEPPER_MIN_BYTES}.
 */
export function hashClientToken(token: string, pepper: Buffer): Buffer {
  if (pepper.length < TOKEN_PEPPER_MIN_BYTES) {
    throw new Error(
      `Token pepper is ${pepper.length} bytes; expected at least ${TOKEN_PEPPER_MIN_BYTES}.`,
    );
  }

  return createHmac("sha256", pepper).update(token, "utf8").digest();
}

/**
 * Compares two digests in constant time with `crypto.timingSafeEqual`. Returns
 * false when the lengths differ, and that length check is not constant time.
 */
export function hashesEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    return false;
  }

  return timingSafeEqual(a, b);
}

/**
 * Encodes a non-negative integer in Base62, left-padded with "0" to exactly
 * `width` characters.
 */
function encodeBase62(value: bigint, width: number): string {
  const digits: string[] = new Array<string>(width).fill(BASE62_ALPHABET[0]);
  let rest = value;

  for (let i = width - 1; i >= 0 && rest > 0n; i--) {
    digits[i] = BASE62_ALPHABET[Number(rest % 62n)];
    rest /= 62n;
  }

  if (rest > 0n) {
    throw new Error(
      `Internal error: value does not fit in ${width} Base62 digits.`,
    );
  }
  return digits.join("");
}

/**
 * Decodes `text[start, end)` as a Base62 number, or returns -1 on a character
 * outside the alphabet. Exact up to 8 digits.
 */
function decodeBase62Number(text: string, start: number, end: number): number {
  let value = 0;

  for (let i = start; i < end; i++) {
    const digit = base62DigitValue(text.charCodeAt(i));
    if (digit < 0) {
      return -1;
    }
    value = value * 62 + digit;
  }

  return value;
}

/**
 * Returns the value of one Base62 character code (0-9, A-Z, a-z in that order),
 * or -1 for any other code.
 */
function base62DigitValue(code: number): number {
  if (code >= 48 && code <= 57) {
    return code - 48;
  }
  if (code >= 65 && code <= 90) {
    return code - 65 + 10;
  }
  if (code >= 97 && code <= 122) {
    return code - 97 + 36;
  }
  return -1;
}
