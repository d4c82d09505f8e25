import { randomBytes } from "node:crypto";

import { KeyRing, SealedSecret } from "./key-ring";
import { MasterKey } from "./secrets-file";

const PLAINTEXT = "sk-test-7f3a9c1e5b2d4f6a8c0e";
const CONTEXT = "provider:42";

function masterKey(id: string): MasterKey {
  return { id, key: randomBytes(32) };
}

/**
 * Returns the message of the error that `action` throws, failing the test if it
 * does not throw.
 */
function errorMessageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("Expected the action to throw.");
}

describe("KeyRing", () => {
  const oldKey = masterKey("k20250101aaaa");
  const newKey = masterKey("k20250601bbbb");

  it("round-trips a secret", async () => {
    const ring = await KeyRing.create([oldKey]);

    const sealed = ring.seal(PLAINTEXT, CONTEXT);

    expect(ring.open(sealed, CONTEXT)).toBe(PLAINTEXT);
  });

  it("round-trips empty and non-ASCII text", async () => {
    const ring = await KeyRing.create([oldKey]);

    for (const text of ["", "clé-ключ-鍵-🔑", "a\0b"]) {
      expect(ring.open(ring.seal(text, CONTEXT), CONTEXT)).toBe(text);
    }
  });

  it("produces a fresh nonce per seal", async () => {
    const ring = await KeyRing.create([oldKey]);

    const first = ring.seal(PLAINTEXT, CONTEXT);
    const second = ring.seal(PLAINTEXT, CONTEXT);

    expect(first.nonce).toHaveLength(24);
    expect(first.ciphertext).toHaveLength(Buffer.byteLength(PLAINTEXT) + 16);
    expect(first.nonce.equals(second.nonce)).toBe(false);
    expect(first.ciphertext.equals(second.ciphertext)).toBe(false);
    expect(first.ciphertext.includes(Buffer.from(PLAINTEXT))).toBe(false);
  });

  it("rejects a wrong context", async () => {
    const ring = await KeyRing.create([oldKey]);
    const sealed = ring.seal(PLAINTEXT, CONTEXT);

    expect(() => ring.open(sealed, "provider:43")).toThrow(
      'Cannot open secret for context "provider:43" with key "k20250101aaaa": authentication failed.',
    );
  });

  it("rejects tampered ciphertext", async () => {
    const ring = await KeyRing.create([oldKey]);
    const sealed = ring.seal(PLAINTEXT, CONTEXT);

    for (let index = 0; index < sealed.ciphertext.length; index++) {
      const ciphertext = Buffer.from(sealed.ciphertext);
      ciphertext[index] ^= 0x01;

      expect(() => ring.open({ ...sealed, ciphertext }, CONTEXT)).toThrow(
        /authentication failed/,
      );
    }
  });

  it("rejects a tampered nonce", async () => {
    const ring = await KeyRing.create([oldKey]);
    const sealed = ring.seal(PLAINTEXT, CONTEXT);
    const nonce = Buffer.from(sealed.nonce);
    nonce[0] ^= 0x80;

    expect(() => ring.open({ ...sealed, nonce }, CONTEXT)).toThrow(
      /authentication failed/,
    );
  });

  it("rejects truncated input", async () => {
    const ring = await KeyRing.create([oldKey]);
    const sealed = ring.seal(PLAINTEXT, CONTEXT);

    expect(() =>
      ring.open({ ...sealed, nonce: sealed.nonce.subarray(0, 12) }, CONTEXT),
    ).toThrow(/the nonce is 12 bytes; expected 24/);
    expect(() =>
      ring.open(
        { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 15) },
        CONTEXT,
      ),
    ).toThrow(/ciphertext is 15 bytes, shorter than the 16-byte/);
    expect(() =>
      ring.open(
        { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 16) },
        CONTEXT,
      ),
    ).toThrow(/authentication failed/);
  });

  it("rejects an unknown key id", async () => {
    const ring = await KeyRing.create([oldKey]);
    const sealed = ring.seal(PLAINTEXT, CONTEXT);

    expect(() =>
      ring.open({ ...sealed, keyId: "k20991231ffff" }, CONTEXT),
    ).toThrow(
      'Cannot open secret for context "provider:42" with key "k20991231ffff": the key id is not in the key ring (known ids: k20250101aaaa).',
    );
  });

  it("rejects a relabelled key id", async () => {
    const sameBytesOtherId: MasterKey = { id: "k-copy", key: oldKey.key };
    const ring = await KeyRing.create([oldKey, sameBytesOtherId]);
    const sealed = ring.seal(PLAINTEXT, CONTEXT);

    expect(() => ring.open({ ...sealed, keyId: "k-copy" }, CONTEXT)).toThrow(
      /authentication failed/,
    );
  });

  it("rejects a secret from another ring", async () => {
    const sealed = (await KeyRing.create([oldKey])).seal(PLAINTEXT, CONTEXT);
    const sameIdOtherBytes = masterKey(oldKey.id);
    const otherRing = await KeyRing.create([sameIdOtherBytes]);

    expect(() => otherRing.open(sealed, CONTEXT)).toThrow(
      /authentication failed/,
    );
  });

  it("rotates to the newest key", async () => {
    const before = await KeyRing.create([oldKey]);
    const sealedBefore = before.seal(PLAINTEXT, CONTEXT);

    const after = await KeyRing.create([newKey, oldKey]);
    const sealedAfter = after.seal(PLAINTEXT, CONTEXT);

    expect(sealedBefore.keyId).toBe(oldKey.id);
    expect(after.currentKeyId).toBe(newKey.id);
    expect(sealedAfter.keyId).toBe(newKey.id);
    expect(after.open(sealedBefore, CONTEXT)).toBe(PLAINTEXT);
    expect(after.open(sealedAfter, CONTEXT)).toBe(PLAINTEXT);
    expect(() => before.open(sealedAfter, CONTEXT)).toThrow(
      /with key "k20250601bbbb": the key id is not in the key ring/,
    );
  });

  it("reports known key ids", async () => {
    const ring = await KeyRing.create([newKey, oldKey]);

    expect(ring.currentKeyId).toBe("k20250601bbbb");
    expect(ring.has("k20250601bbbb")).toBe(true);
    expect(ring.has("k20250101aaaa")).toBe(true);
    expect(ring.has("k20991231ffff")).toBe(false);
  });

  it("keeps plaintext out of errors", async () => {
    const ring = await KeyRing.create([oldKey]);
    const sealed = ring.seal(PLAINTEXT, CONTEXT);
    const tampered: SealedSecret = {
      ...sealed,
      ciphertext: Buffer.from(sealed.ciphertext),
    };
    tampered.ciphertext[0] ^= 0x01;

    const messages = [
      errorMessageOf(() => ring.open(sealed, "provider:43")),
      errorMessageOf(() => ring.open(tampered, CONTEXT)),
      errorMessageOf(() => ring.open({ ...sealed, keyId: "other" }, CONTEXT)),
    ];

    for (const message of messages) {
      expect(message).not.toContain(PLAINTEXT);
      expect(message).not.toContain(oldKey.key.toString("base64"));
      expect(message).not.toContain(oldKey.key.toString("hex"));
    }
  });

  it("copies key bytes on create", async () => {
    const key = masterKey("k-mutable");
    const ring = await KeyRing.create([key]);
    const sealed = ring.seal(PLAINTEXT, CONTEXT);

    key.key.fill(0);

    expect(ring.open(sealed, CONTEXT)).toBe(PLAINTEXT);
  });

  it("rejects an empty context", async () => {
    const ring = await KeyRing.create([oldKey]);
    const sealed = ring.seal(PLAINTEXT, CONTEXT);

    expect(() => ring.seal(PLAINTEXT, "")).toThrow(
      /Invalid AEAD context: it must not be empty/,
    );
    expect(() => ring.open(sealed, "")).toThrow(
      /Invalid AEAD context: it must not be empty/,
    );
  });

  it("rejects invalid master keys", async () => {
    await expect(KeyRing.create([])).rejects.toThrow(
      "Cannot create a key ring without master keys.",
    );
    await expect(
      KeyRing.create([{ id: "short", key: randomBytes(16) }]),
    ).rejects.toThrow('Master key "short" is 16 bytes; expected 32.');
    await expect(
      KeyRing.create([oldKey, masterKey(oldKey.id)]),
    ).rejects.toThrow(
      'Master key id "k20250101aaaa" appears more than once in the key ring.',
    );
    await expect(KeyRing.create([masterKey("")])).rejects.toThrow(
      /Master key at index 0 has an empty id/,
    );
    await expect(KeyRing.create([masterKey("a\0b")])).rejects.toThrow(
      /Master key at index 0 has an empty id or an id containing/,
    );
  });
});
