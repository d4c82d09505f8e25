import { Global, Module } from "@nestjs/common";

import { APP_CONFIG } from "../config/config.module";
import { AppConfig } from "../config/config.schema";
import { KeyRing } from "./key-ring";
import { loadSecretMaterial, SecretMaterial } from "./secrets-file";

/** Injection token for the {@link SecretMaterial}: master keys and the token pepper. */
export const SECRET_MATERIAL = Symbol("SECRET_MATERIAL");

/** Loads the server's secrets once and provides the key ring built from them. */
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
      provide: KeyRing,
      inject: [SECRET_MATERIAL],
      useFactory: (secrets: SecretMaterial) =>
        KeyRing.create(secrets.masterKeys),
    },
  ],
  exports: [SECRET_MATERIAL, KeyRing],
})
export class CryptoModule {}
