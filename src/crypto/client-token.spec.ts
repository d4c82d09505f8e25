import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

import {
  clientTokenDisplayPrefix,
  generateClientToken,
  hashClientToken,
  hashesEqual,
  isWellFormedClientToken,
  TOKEN_PEPPER_MIN_BYTES,
} from "./client-token";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Builds a token from a chosen 43-character body with a correct checksum. */
function tokenWithBody(body: string): string {
  let checksum = crc32(body);
  let encoded = "";
  for (let i = 0; i < 6; i++) {
    encoded = BASE62[checksum % 62] + encoded;
    checksum = Math.floor(checksum / 62);
  }
  return `lpx_${body}${encoded}`;
}

/** Replaces the character at `index` with a different Base62 character. */
function withCharacterChanged(token: string, index: number): string {
  const current = token[index];
  const replacement = current === "A" ? "B" : "A";
  return token.slice(0, index) + replacement + token.slice(index + 1);
}

describe("generateClientToken", () => {
  it("returns well-formed tokens", () => {
    for (let i = 0; i < 200; i++) {
      const token = generateClientToken();

      expect(token).toMatch(/^lpx_[0-9A-Za-z]{49}$/);
      expect(token).toHaveLength(53);
      expect(isWellFormedClientToken(token)).toBe(true);
    }
  });

  it("returns distinct tokens", () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      tokens.add(generateClientToken());
    }

    expect(tokens.size).toBe(1000);
  });

  it("pads small values to full width", () => {
    const zeroBody = "0".repeat(43);
    const token = tokenWithBody(zeroBody);

    expect(token).toHaveLength(53);
    expect(isWellFormedClientToken(token)).toBe(true);
  });
});

describe("isWellFormedClientToken", () => {
  it("rejects every single changed character", () => {
    const token = generateClientToken();

    for (let index = 4; index < token.length; index++) {
      const changed = withCharacterChanged(token, index);

      expect(changed).not.toBe(token);
      expect(isWellFormedClientToken(changed)).toBe(false);
    }
  });

  it("rejects swapped adjacent characters", () => {
    const token = tokenWithBody("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg");
    const swapped =
      token.slice(0, 10) + token[11] + token[10] + token.slice(12);

    expect(isWellFormedClientToken(token)).toBe(true);
    expect(isWellFormedClientToken(swapped)).toBe(false);
  });

  it("rejects a wrong prefix", () => {
    const body = generateClientToken().slice(4);

    expect(isWellFormedClientToken(`sk-_${body}`)).toBe(false);
    expect(isWellFormedClientToken(`LPX_${body}`)).toBe(false);
    expect(isWellFormedClientToken(`lpx-${body}`)).toBe(false);
  });

  it("rejects a wrong length", () => {
    const token = generateClientToken();

    expect(isWellFormedClientToken("")).toBe(false);
    expect(isWellFormedClientToken("lpx_")).toBe(false);
    expect(isWellFormedClientToken(token.slice(0, -1))).toBe(false);
    expect(isWellFormedClientToken(`${token}0`)).toBe(false);
    expect(isWellFormedClientToken(` ${token}`)).toBe(false);
    expect(isWellFormedClientToken(`${token}\n`)).toBe(false);
  });

  it("rejects characters outside Base62", () => {
    const token = generateClientToken();

    for (const character of ["-", "_", "+", "/", "=", " ", "é", "\0"]) {
      const inBody = token.slice(0, 20) + character + token.slice(21);
      const inChecksum = token.slice(0, 50) + character + token.slice(51);

      expect(isWellFormedClientToken(inBody)).toBe(false);
      expect(isWellFormedClientToken(inChecksum)).toBe(false);
    }
  });

  it("rejects a checksum beyond 32 bits", () => {
    const token = generateClientToken();
    const maxChecksum = `${token.slice(0, -6)}zzzzzz`;

    expect(isWellFormedClientToken(maxChecksum)).toBe(false);
  });

  it("rejects non-string values", () => {
    expect(isWellFormedClientToken(undefined as unknown as string)).toBe(false);
    expect(isWellFormedClientToken(42 as unknown as string)).toBe(false);
  });
});

describe("clientTokenDisplayPrefix", () => {
  it("returns the first 12 characters", () => {
    const token = generateClientToken();
    const prefix = clientTokenDisplayPrefix(token);

    expect(prefix).toHaveLength(12);
    expect(prefix.startsWith("lpx_")).toBe(true);
    expect(token.startsWith(prefix)).toBe(true);
  });

  it("rejects a malformed token", () => {
    const notAToken = "sk-live-0123456789abcdefghijklmnopqrstuvwxyz";

    expect(() => clientTokenDisplayPrefix(notAToken)).toThrow(
      /not a well-formed client token/,
    );
  });

  it("keeps secrets out of the error", () => {
    const notAToken = "sk-live-0123456789abcdefghijklmnopqrstuvwxyz";

    expect(() => clientTokenDisplayPrefix(notAToken)).not.toThrow(/sk-live/);
  });
});

describe("hashClientToken", () => {
  const pepper = randomBytes(32);

  it("returns a 32-byte digest", () => {
    const digest = hashClientToken(generateClientToken(), pepper);

    expect(digest).toBeInstanceOf(Buffer);
    expect(digest).toHaveLength(32);
  });

  it("is deterministic for one pepper", () => {
    const token = generateClientToken();

    const first = hashClientToken(token, pepper);
    const second = hashClientToken(token, Buffer.from(pepper));

    expect(first.equals(second)).toBe(true);
  });

  it("depends on the pepper", () => {
    const token = generateClientToken();
    const otherPepper = Buffer.from(pepper);
    otherPepper[0] ^= 1;

    const first = hashClientToken(token, pepper);
    const second = hashClientToken(token, otherPepper);

    expect(first.equals(second)).toBe(false);
  });

  it("depends on the token", () => {
    const first = hashClientToken(generateClientToken(), pepper);
    const second = hashClientToken(generateClientToken(), pepper);

    expect(first.equals(second)).toBe(false);
  });

  it("rejects a short pepper", () => {
    const shortPepper = randomBytes(TOKEN_PEPPER_MIN_BYTES - 1);

    expect(() => hashClientToken(generateClientToken(), shortPepper)).toThrow(
      "Token pepper is 31 bytes; expected at least 32.",
    );
    expect(() => hashClientToken("x", Buffer.alloc(0))).toThrow(
      /expected at least 32/,
    );
  });
});

describe("hashesEqual", () => {
  it("compares equal digests", () => {
    const digest = randomBytes(32);

    expect(hashesEqual(digest, Buffer.from(digest))).toBe(true);
  });

  it("detects a one-bit difference", () => {
    const digest = randomBytes(32);
    const other = Buffer.from(digest);
    other[31] ^= 1;

    expect(hashesEqual(digest, other)).toBe(false);
  });

  it("returns false on length mismatch", () => {
    const digest = randomBytes(32);

    expect(hashesEqual(digest, digest.subarray(0, 31))).toBe(false);
    expect(hashesEqual(Buffer.alloc(0), digest)).toBe(false);
  });
});
