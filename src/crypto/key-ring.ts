// The default import matters: libsodium-wrappers fills in its functions only
// after `ready` resolves, and a namespace import would copy the export list
// before that.
import sodium from "libsodium-wrappers";

import { MasterKey } from "./secrets-file";

/**
 * A secret encrypted with XChaCha20-Poly1305, with the id of the master key
 * that encrypted it.
 */
export interface SealedSecret {
  /** Encrypted bytes followed by the 16-byte Poly1305 tag. */
  ciphertext: Buffer;
  /** Random 24-byte nonce. */
  nonce: Buffer;
  keyId: string;
}

/**
 * Master keys that encrypt secrets at rest with libsodium's XChaCha20-Poly1305
 * IETF AEAD.
 *
 * The first key seals new secrets, and every key in the ring can open what it
 * sealed. The additional data is `context + "\0" + keyId`, so a ciphertext
 * fails to open when it is copied to another context (such as another database
 * row) or relabelled with another key id.
 */
export class KeyRing {
  private constructor(
    private readonly keys: ReadonlyMap<string, Uint8Array>,
    private readonly newestKeyId: string,
    private readonly newestKey: Uint8Array,
  ) {}

  /**
   * Waits for libsodium to initialize and builds a ring from `keys`, newest
   * first. The ring keeps copies, so later changes to the callers' buffers do
   * not affect it.
   *
   * @throws Error when `keys` is empty, an id is empty, contains "\0" or
   *   repeats, or a key is not 32 bytes. Messages name the key id or position,
   *   never key bytes.
   */
  static async create(keys: MasterKey[]): Promise<KeyRing> {
    await sodium.ready;

    if (keys.length === 0) {
      throw new Error("Cannot create a key ring without master keys.");
    }

    const keyBytes = sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
    const ring = new Map<string, Uint8Array>();

    keys.forEach(({ id, key }, index) => {
      if (id === "" || id.includes("\0")) {
        throw new Error(
          `Master key at index ${index} has an empty id or an id containing "\\0".`,
        );
      }
      if (ring.has(id)) {
        throw new Error(
          `Master key id "${id}" appears more than once in the key ring.`,
        );
      }
      if (key.length !== keyBytes) {
        throw new Error(
          `Master key "${id}" is ${key.length} bytes; expected ${keyBytes}.`,
        );
      }
      ring.set(id, Uint8Array.from(key));
    });

    const newestKeyId = keys[0].id;
    return new KeyRing(ring, newestKeyId, ring.get(newestKeyId) as Uint8Array);
  }

  /** Id of the newest master key, which {@link seal} uses. */
  get currentKeyId(): string {
    return this.newestKeyId;
  }

  /** Returns whether a master key with this id is in the ring. */
  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /**
   * Encrypts the UTF-8 bytes of `plaintext` with the newest key and a random
   * 24-byte nonce, bound to `context`. The same `context` must be passed to
   * {@link open}.
   *
   * @throws Error when `context` is empty.
   */
  seal(plaintext: string, context: string): SealedSecret {
    assertContext(context);

    const nonce = sodium.randombytes_buf(
      sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
    );
    const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      sodium.from_string(plaintext),
      additionalData(context, this.newestKeyId),
      null,
      nonce,
      this.newestKey,
    );

    return {
      ciphertext: Buffer.from(ciphertext),
      nonce: Buffer.from(nonce),
      keyId: this.newestKeyId,
    };
  }

  /**
   * Decrypts a secret sealed under `context` with the key named by
   * `sealed.keyId`.
   *
   * @throws Error when `context` is empty, the key id is not in the ring, the
   *   nonce or ciphertext has the wrong size, or authentication fails. Messages
   *   name the context and key id, never the plaintext.
   */
  open(sealed: SealedSecret, context: string): string {
    assertContext(context);

    const failure = `Cannot open secret for context "${context}" with key "${sealed.keyId}"`;
    const key = this.keys.get(sealed.keyId);

    if (!key) {
      const knownIds = [...this.keys.keys()].join(", ");
      throw new Error(
        `${failure}: the key id is not in the key ring (known ids: ${knownIds}). ` +
          "Add the master key that sealed it back to the secrets file or the master keys environment variable.",
      );
    }
    assertSealedSizes(sealed, failure);

    let plaintext: Uint8Array;
    try {
      plaintext = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        null,
        sealed.ciphertext,
        additionalData(context, sealed.keyId),
        sealed.nonce,
        key,
      );
    } catch (error) {
      throw new Error(
        `${failure}: authentication failed. The ciphertext, nonce, key id or context ` +
          `differs from what was sealed, or the master key with this id has changed.`,
        { cause: error },
      );
    }

    return Buffer.from(plaintext).toString("utf8");
  }
}

/**
 * Builds the AEAD additional data. Key ids never contain "\0", so the last "\0"
 * separates the two parts.
 */
function additionalData(context: string, keyId: string): Uint8Array {
  return sodium.from_string(`${context}\0${keyId}`);
}

function assertSealedSizes(sealed: SealedSecret, failure: string): void {
  const nonceBytes = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  const tagBytes = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES;

  if (sealed.nonce.length !== nonceBytes) {
    throw new Error(
      `${failure}: the nonce is ${sealed.nonce.length} bytes; expected ${nonceBytes}.`,
    );
  }
  if (sealed.ciphertext.length < tagBytes) {
    throw new Error(
      `${failure}: the ciphertext is ${sealed.ciphertext.length} bytes, ` +
        `shorter than the ${tagBytes}-byte authentication tag.`,
    );
  }
}

function assertContext(context: string): void {
  if (context === "") {
    throw new Error(
      'Invalid AEAD context: it must not be empty. Pass a value that names the owner, such as "provider:42".',
    );
  }
}
