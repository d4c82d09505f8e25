import { Logger } from "@nestjs/common";

import { AppConfig } from "../config/config.schema";
import { KeyRing, SealedSecret } from "./key-ring";
import { loadSecretMaterial, MasterKey } from "./secrets-file";

/** Shortest time between two reloads of the secrets file, in milliseconds. */
const RELOAD_INTERVAL_MS = 5_000;

/**
 * The server's current key ring. When a ciphertext names a key id the ring lacks, the secrets are read again
 * (at most every five seconds), so a key added by `keys rotate` reaches running servers without a restart.
 * Keys given in LLM_PROXY_MASTER_KEYS are fixed for the life of the process.
 */
export class KeyRingService {
  private readonly logger = new Logger(KeyRingService.name);
  private lastReload = 0;

  private constructor(
    private ring: KeyRing,
    private readonly config: AppConfig,
  ) {}

  /** Builds the service from the loaded master keys; used as the Nest provider factory. */
  static async create(
    keys: MasterKey[],
    config: AppConfig,
  ): Promise<KeyRingService> {
    return new KeyRingService(await KeyRing.create(keys), config);
  }

  get currentKeyId(): string {
    return this.ring.currentKeyId;
  }

  seal(plaintext: string, context: string): SealedSecret {
    return this.ring.seal(plaintext, context);
  }

  /** Opens a sealed secret, reloading the secrets once if its key id is unknown. */
  async open(sealed: SealedSecret, context: string): Promise<string> {
    await this.ensure(sealed.keyId);
    return this.ring.open(sealed, context);
  }

  /** Returns whether the ring has the key id, after reloading the secrets if it did not. */
  async ensure(keyId: string): Promise<boolean> {
    if (this.ring.has(keyId)) {
      return true;
    }
    if (Date.now() - this.lastReload < RELOAD_INTERVAL_MS) {
      return false;
    }

    this.lastReload = Date.now();
    const secrets = loadSecretMaterial({
      file: this.config.secrets.file,
      masterKeysEnv: process.env.LLM_PROXY_MASTER_KEYS,
      tokenPepperEnv: process.env.LLM_PROXY_TOKEN_PEPPER,
    });
    this.ring = await KeyRing.create(secrets.masterKeys);
    this.logger.log({
      msg: "reloaded master keys",
      keyIds: secrets.masterKeys.map((key) => key.id),
      wanted: keyId,
    });

    return this.ring.has(keyId);
  }
}
