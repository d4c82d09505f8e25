import { Inject, Injectable } from "@nestjs/common";
import { EntityManager } from "@mikro-orm/core";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { KeyRing } from "../crypto/key-ring";
import { addMasterKey, loadSecretMaterial } from "../crypto/secrets-file";
import { Provider } from "../providers/entities/provider.entity";
import { providerKeyContext } from "../providers/providers.service";

/** Re-encrypts every provider key under the newest master key. */
@Injectable()
export class KeyRotationService {
  constructor(
    private readonly em: EntityManager,
    private readonly keyRing: KeyRing,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Adds a new master key to the secrets file, then re-seals every provider key with it in one transaction.
   * Older keys stay in the file so replicas that have not restarted can still open the rows they read.
   */
  async rotate(): Promise<{ keyId: string; providers: number }> {
    const keyId = addMasterKey(this.config.secrets.file);
    const ring = await KeyRing.create(
      loadSecretMaterial({ file: this.config.secrets.file }).masterKeys,
    );

    const em = this.em.fork();
    const providers = await em.transactional(async (tx) => {
      const rows = await tx.find(Provider, { apiKeyCiphertext: { $ne: null } });
      for (const provider of rows) {
        const context = providerKeyContext(provider.id);
        const plaintext = this.keyRing.open(
          {
            ciphertext: provider.apiKeyCiphertext!,
            nonce: provider.apiKeyNonce!,
            keyId: provider.apiKeyKeyId!,
          },
          context,
        );
        const sealed = ring.seal(plaintext, context);
        provider.apiKeyCiphertext = sealed.ciphertext;
        provider.apiKeyNonce = sealed.nonce;
        provider.apiKeyKeyId = sealed.keyId;
      }
      return rows.length;
    });

    return { keyId, providers };
  }
}
