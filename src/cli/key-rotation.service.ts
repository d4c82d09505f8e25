import { Inject, Injectable } from "@nestjs/common";
import { EntityManager } from "@mikro-orm/core";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { KeyRingService } from "../crypto/key-ring.service";
import { addMasterKey } from "../crypto/secrets-file";
import { Provider } from "../providers/entities/provider.entity";
import { providerKeyContext } from "../providers/providers.service";

/** Adds master keys and re-encrypts provider keys under the newest one. */
@Injectable()
export class KeyRotationService {
  constructor(
    private readonly em: EntityManager,
    private readonly keyRing: KeyRingService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Adds a new master key to the secrets file, then re-seals every provider key with it. Older keys stay in the
   * file, and running servers reload the file when they meet the new key id, so none needs a restart.
   */
  async rotate(): Promise<{ keyId: string; providers: number }> {
    if (process.env.LLM_PROXY_MASTER_KEYS) {
      throw new Error(
        "Master keys come from LLM_PROXY_MASTER_KEYS, so the secrets file is not theirs to change. Put a new " +
          "id:base64key first in that variable on every server, restart them, then run `keys reseal`.",
      );
    }

    const keyId = addMasterKey(this.config.secrets.file);
    if (!(await this.keyRing.ensure(keyId))) {
      throw new Error(
        `The new master key ${keyId} could not be loaded from ${this.config.secrets.file}`,
      );
    }

    return { keyId, providers: await this.reseal() };
  }

  /** Re-seals every provider key under the newest master key in one transaction; returns how many. */
  async reseal(): Promise<number> {
    const em = this.em.fork();

    return em.transactional(async (tx) => {
      const rows = await tx.find(Provider, { apiKeyCiphertext: { $ne: null } });
      for (const provider of rows) {
        const context = providerKeyContext(provider.id);
        const plaintext = await this.keyRing.open(
          {
            ciphertext: provider.apiKeyCiphertext!,
            nonce: provider.apiKeyNonce!,
            keyId: provider.apiKeyKeyId!,
          },
          context,
        );
        const sealed = this.keyRing.seal(plaintext, context);
        provider.apiKeyCiphertext = sealed.ciphertext;
        provider.apiKeyNonce = sealed.nonce;
        provider.apiKeyKeyId = sealed.keyId;
      }
      return rows.length;
    });
  }
}
