import { randomBytes } from "node:crypto";
import * as path from "node:path";

import { Logger } from "@nestjs/common";

import { TOKEN_PEPPER_MIN_BYTES } from "./client-token";
import { readPrivateFile, writePrivateFileAtomically } from "./private-file";

/** A named 32-byte master key for sealing secrets at rest. */
export interface MasterKey {
  id: string;
  key: Buffer;
}

/**
 * The server's secret material. `masterKeys[0]` is the newest key and the only
 * one used to encrypt.
 */
export interface SecretMaterial {
  masterKeys: MasterKey[];
  tokenPepper: Buffer;
}

/** Sources of secret material. Blank environment values count as not given. */
export interface SecretMaterialOptions {
  /** Path of the JSON secrets file. */
  file: string;
  /**
   * Master keys as `id:base64key,id:base64key`, newest first, which replace the
   * file's keys.
   */
  masterKeysEnv?: string;
  /** Base64 token pepper of 32 bytes or more, which replaces the file's. */
  tokenPepperEnv?: string;
}

/** Master key size in bytes, the key size of XChaCha20-Poly1305. */
export const MASTER_KEY_BYTES = 32;

/** Size in bytes of the token pepper that a new secrets file gets. */
const NEW_TOKEN_PEPPER_BYTES = 32;

/**
 * Key ids become part of the AEAD additional data and a database column, so
 * they are short and plain ASCII.
 */
const KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const KEY_ID_RULE =
  'expected 1 to 64 characters from A-Z, a-z, 0-9, ".", "_" and "-", starting with a letter or digit';

const BASE64_HINT =
  'expected standard base64 with padding, such as the output of "openssl rand -base64 32"';

const MASTER_KEYS_ENV_SOURCE = "master keys environment variable";
const TOKEN_PEPPER_ENV_SOURCE = "token pepper environment variable";

/**
 * The JSON layout of the secrets file. Other top-level fields are kept
 * unchanged when a key is added.
 */
interface SecretsDocument {
  masterKeys: { id: string; key: string }[];
  tokenPepper: string;
  [field: string]: unknown;
}

/**
 * A master key entry before decoding, with its position for error messages,
 * e.g. `masterKeys[2]`.
 */
interface EncodedMasterKey {
  id: string;
  key: string;
  position: string;
}

/**
 * Loads the master keys and the token pepper.
 *
 * `masterKeysEnv` and `tokenPepperEnv` take precedence over the file, each for
 * its own part. The file is read only when one of them is missing. If it does
 * not exist, it is created with a new key and pepper, with mode 0600 and, if
 * the folder is missing, folder mode 0700. An existing file must not be
 * accessible by group or others.
 *
 * @throws Error on malformed input or a file that is accessible by group or
 *   others. The message names the source and the position or id of the bad
 *   value, and never contains key material.
 */
export function loadSecretMaterial(
  options: SecretMaterialOptions,
): SecretMaterial {
  const masterKeysEnv = options.masterKeysEnv?.trim();
  const tokenPepperEnv = options.tokenPepperEnv?.trim();

  const envMasterKeys = masterKeysEnv
    ? parseMasterKeysEnv(masterKeysEnv)
    : undefined;
  const envTokenPepper = tokenPepperEnv
    ? decodeTokenPepper(tokenPepperEnv, TOKEN_PEPPER_ENV_SOURCE)
    : undefined;

  if (envMasterKeys && envTokenPepper) {
    return { masterKeys: envMasterKeys, tokenPepper: envTokenPepper };
  }

  const fromFile = readOrCreateSecretsFile(path.resolve(options.file));

  return {
    masterKeys: envMasterKeys ?? fromFile.masterKeys,
    tokenPepper: envTokenPepper ?? fromFile.tokenPepper,
  };
}

/**
 * Prepends a newly generated master key to an existing secrets file and returns
 * its id. New secrets are sealed with this key once the server reloads the
 * file. Older keys stay in the file so that existing ciphertexts still open.
 * The file is validated first and replaced atomically with mode 0600.
 *
 * NOTE: two concurrent calls on the same file can lose one of the new keys,
 * because nothing locks the file between the read and the rename.
 *
 * @throws Error when the file does not exist, is accessible by group or others,
 *   or is malformed.
 */
export function addMasterKey(file: string): string {
  const resolved = path.resolve(file);
  const document = readSecretsDocument(resolved);

  if (!document) {
    throw new Error(
      `Secrets file ${resolved} not found. Start the server once to create it, or check the path.`,
    );
  }

  const knownIds = new Set(
    parseSecretsDocument(document, resolved).masterKeys.map((key) => key.id),
  );
  const newKey = generateMasterKey(knownIds);
  const updated: SecretsDocument = {
    ...document,
    masterKeys: [
      { id: newKey.id, key: newKey.key.toString("base64") },
      ...document.masterKeys,
    ],
  };

  writePrivateFileAtomically(
    resolved,
    serializeSecretsDocument(updated),
    "replace",
  );

  return newKey.id;
}

function parseMasterKeysEnv(value: string): MasterKey[] {
  const entries: EncodedMasterKey[] = value.split(",").map((entry, index) => {
    const trimmed = entry.trim();
    const position = `entry ${index + 1}`;
    const separator = trimmed.indexOf(":");

    if (trimmed === "") {
      throw invalid(
        MASTER_KEYS_ENV_SOURCE,
        `${position} is empty; expected id:base64key,id:base64key`,
      );
    }
    if (separator < 0) {
      throw invalid(
        MASTER_KEYS_ENV_SOURCE,
        `${position} has no key id; expected id:base64key`,
      );
    }

    return {
      id: trimmed.slice(0, separator).trim(),
      key: trimmed.slice(separator + 1).trim(),
      position,
    };
  });

  return decodeMasterKeys(entries, MASTER_KEYS_ENV_SOURCE);
}

/**
 * Decodes and validates a list of master keys: at least one, valid unique ids,
 * 32-byte keys.
 */
function decodeMasterKeys(
  entries: EncodedMasterKey[],
  source: string,
): MasterKey[] {
  if (entries.length === 0) {
    throw invalid(
      source,
      "the master key list is empty; expected at least one key",
    );
  }

  const seenIds = new Set<string>();

  return entries.map((entry) => {
    if (!KEY_ID_PATTERN.test(entry.id)) {
      // The id is not printed: a malformed entry may have key material where
      // the id belongs.
      throw invalid(
        source,
        `${entry.position} has an invalid key id; ${KEY_ID_RULE}`,
      );
    }

    const label = `master key "${entry.id}" (${entry.position})`;
    if (seenIds.has(entry.id)) {
      throw invalid(
        source,
        `${label} has a duplicate id; every key id must be unique`,
      );
    }
    seenIds.add(entry.id);

    const key = decodeBase64(entry.key);
    if (!key) {
      throw invalid(source, `${label} is not valid base64; ${BASE64_HINT}`);
    }
    if (key.length !== MASTER_KEY_BYTES) {
      throw invalid(
        source,
        `${label} is ${key.length} bytes; expected ${MASTER_KEY_BYTES}`,
      );
    }

    return { id: entry.id, key };
  });
}

function decodeTokenPepper(value: string, source: string): Buffer {
  const pepper = decodeBase64(value);

  if (!pepper) {
    throw invalid(
      source,
      `the token pepper is not valid base64; ${BASE64_HINT}`,
    );
  }
  if (pepper.length < TOKEN_PEPPER_MIN_BYTES) {
    throw invalid(
      source,
      `the token pepper is ${pepper.length} bytes; expected at least ${TOKEN_PEPPER_MIN_BYTES}`,
    );
  }

  return pepper;
}

/**
 * Decodes standard padded base64, or returns undefined for anything else.
 * `Buffer.from` alone skips invalid characters, so the result must encode back
 * to the same text.
 */
function decodeBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, "base64");

  if (bytes.length === 0 || bytes.toString("base64") !== text) {
    return undefined;
  }
  return bytes;
}

function invalid(source: string, problem: string): Error {
  return new Error(`Invalid ${source}: ${problem}.`);
}

function readOrCreateSecretsFile(file: string): SecretMaterial {
  const existing = readSecretsDocument(file);
  if (existing) {
    return parseSecretsDocument(existing, file);
  }

  const created = newSecretsDocument();
  const written = writePrivateFileAtomically(
    file,
    serializeSecretsDocument(created),
    "create",
  );
  if (written) {
    // A new pepper makes every client token issued before it unusable, so a lost file must not go unnoticed.
    new Logger("Secrets").warn({
      msg: "created a new secrets file with a new master key and token pepper; if this database already has tokens or provider keys, stop and restore the previous file",
      file,
    });
    return parseSecretsDocument(created, file);
  }

  // Another process created the file between the read and the write, so its
  // keys are the ones in use.
  const concurrent = readSecretsDocument(file);
  if (!concurrent) {
    throw new Error(
      `Secrets file ${file} disappeared while it was being created. Start the server again.`,
    );
  }
  return parseSecretsDocument(concurrent, file);
}

function newSecretsDocument(): SecretsDocument {
  const key = generateMasterKey(new Set());

  return {
    masterKeys: [{ id: key.id, key: key.key.toString("base64") }],
    tokenPepper: randomBytes(NEW_TOKEN_PEPPER_BYTES).toString("base64"),
  };
}

/**
 * Generates a random master key with an id like `k20250114a3f9`: "k", the UTC
 * date and 4 random hex digits.
 */
function generateMasterKey(takenIds: ReadonlySet<string>): MasterKey {
  const date = new Date().toISOString().slice(0, 10).replaceAll("-", "");
  let id: string;

  do {
    id = `k${date}${randomBytes(2).toString("hex")}`;
  } while (takenIds.has(id));

  return { id, key: randomBytes(MASTER_KEY_BYTES) };
}

function serializeSecretsDocument(document: SecretsDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Reads and checks the secrets file, or returns undefined if it is missing. */
function readSecretsDocument(file: string): SecretsDocument | undefined {
  const text = readPrivateFile(file);
  if (text === undefined) {
    return undefined;
  }

  return checkDocumentShape(parseJson(text, file), file);
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // The parser's message quotes the surrounding text, which may be key
    // material, so it is dropped.
    throw new Error(`Invalid secrets file ${file}: it is not valid JSON.`);
  }
}

/** Checks the JSON types of the fields, without decoding them. */
function checkDocumentShape(value: unknown, file: string): SecretsDocument {
  const source = `secrets file ${file}`;

  if (!isPlainObject(value)) {
    throw invalid(
      source,
      'expected a JSON object with "masterKeys" and "tokenPepper"',
    );
  }
  if (!Array.isArray(value.masterKeys)) {
    throw invalid(source, '"masterKeys" is missing or not an array');
  }
  if (typeof value.tokenPepper !== "string") {
    throw invalid(source, '"tokenPepper" is missing or not a string');
  }

  value.masterKeys.forEach((entry: unknown, index) => {
    if (
      !isPlainObject(entry) ||
      typeof entry.id !== "string" ||
      typeof entry.key !== "string"
    ) {
      throw invalid(
        source,
        `masterKeys[${index}] must be an object with string fields "id" and "key"`,
      );
    }
  });

  return value as SecretsDocument;
}

function parseSecretsDocument(
  document: SecretsDocument,
  file: string,
): SecretMaterial {
  const source = `secrets file ${file}`;
  const entries = document.masterKeys.map((entry, index) => ({
    id: entry.id,
    key: entry.key,
    position: `masterKeys[${index}]`,
  }));

  return {
    masterKeys: decodeMasterKeys(entries, source),
    tokenPepper: decodeTokenPepper(document.tokenPepper, source),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
