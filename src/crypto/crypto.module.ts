import { Global, Module } from "@nestjs/common";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { KeyRingService } from "./key-ring.service";
import { loadSecretMaterial, SecretMaterial } from "./secrets-file";

/** Injection token for the {@link SecretMaterial}: master keys and the token pepper. */
export const SECRET_MATERIAL = Symbol("SECRET_MATERIAL");

/** Loads the server's secrets and provides the key ring built from them. */
@Global()
@Module({
  providers: [
    {
      provide: SECRET_MATERIAL,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): SecretMaterial =>
        loadSecretMaterial({
          file: config.secrets.file,
          masterKeysEnv: process.env.LLM_PROXY_MASTER_KEYS,
          tokenPepperEnv: process.env.LLM_PROXY_TOKEN_PEPPER,
        }),
    },
    {
      provide: KeyRingService,
      inject: [SECRET_MATERIAL, APP_CONFIG],
      useFactory: (secrets: SecretMaterial, config: AppConfig) =>
        KeyRingService.create(secrets.masterKeys, config),
    },
  ],
  exports: [SECRET_MATERIAL, KeyRingService],
})
export class CryptoModule {}
