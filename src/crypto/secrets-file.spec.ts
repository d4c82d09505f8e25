import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import * as privateFile from "./private-file";
import { addMasterKey, loadSecretMaterial } from "./secrets-file";

const KEY_A = randomBytes(32).toString("base64");
const KEY_B = randomBytes(32).toString("base64");
const PEPPER = randomBytes(32).toString("base64");

const isWindows = process.platform === "win32";

let folder: string;

beforeEach(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), "llm-proxy-secrets-"));
});

afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(folder, { recursive: true, force: true });
});

function writeSecrets(name: string, document: unknown, mode = 0o600): string {
  const file = path.join(folder, name);
  const text =
    typeof document === "string" ? document : JSON.stringify(document);
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
  return file;
}

function permissionBits(file: string): number {
  return fs.statSync(file).mode & 0o777;
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

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10).replaceAll("-", "");
}

describe("loadSecretMaterial first run", () => {
  it("creates the file and folder", () => {
    const file = path.join(folder, "data", "nested", "secrets.json");

    const material = loadSecretMaterial({ file });

    expect(fs.existsSync(file)).toBe(true);
    expect(material.masterKeys).toHaveLength(1);
    expect(material.masterKeys[0].key).toHaveLength(32);
    expect(material.tokenPepper).toHaveLength(32);
    expect(material.masterKeys[0].id).toMatch(/^k\d{8}[0-9a-f]{4}$/);
    expect(material.masterKeys[0].id.slice(1, 9)).toBe(todayUtc());
  });

  (isWindows ? it.skip : it)("sets modes 0600 and 0700", () => {
    const file = path.join(folder, "data", "secrets.json");

    loadSecretMaterial({ file });

    expect(permissionBits(file)).toBe(0o600);
    expect(permissionBits(path.dirname(file))).toBe(0o700);
  });

  it("writes the documented JSON layout", () => {
    const file = path.join(folder, "secrets.json");

    const material = loadSecretMaterial({ file });
    const document = JSON.parse(fs.readFileSync(file, "utf8"));

    expect(Object.keys(document).sort()).toEqual(["masterKeys", "tokenPepper"]);
    expect(document.masterKeys).toEqual([
      {
        id: material.masterKeys[0].id,
        key: material.masterKeys[0].key.toString("base64"),
      },
    ]);
    expect(document.tokenPepper).toBe(material.tokenPepper.toString("base64"));
  });

  it("returns the same material on reload", () => {
    const file = path.join(folder, "secrets.json");

    const first = loadSecretMaterial({ file });
    const second = loadSecretMaterial({ file });

    expect(second.masterKeys[0].id).toBe(first.masterKeys[0].id);
    expect(second.masterKeys[0].key.equals(first.masterKeys[0].key)).toBe(true);
    expect(second.tokenPepper.equals(first.tokenPepper)).toBe(true);
  });

  it("leaves no temporary files", () => {
    const file = path.join(folder, "secrets.json");

    loadSecretMaterial({ file });

    expect(fs.readdirSync(folder)).toEqual(["secrets.json"]);
  });

  it("uses a file created concurrently", () => {
    const file = writeSecrets("secrets.json", {
      masterKeys: [{ id: "k-winner", key: KEY_A }],
      tokenPepper: PEPPER,
    });
    const read = jest
      .spyOn(privateFile, "readPrivateFile")
      .mockReturnValueOnce(undefined);

    const material = loadSecretMaterial({ file });

    expect(read).toHaveBeenCalledTimes(2);
    expect(material.masterKeys.map((key) => key.id)).toEqual(["k-winner"]);
    expect(material.tokenPepper.toString("base64")).toBe(PEPPER);
    expect(JSON.parse(fs.readFileSync(file, "utf8")).masterKeys).toEqual([
      { id: "k-winner", key: KEY_A },
    ]);
    expect(fs.readdirSync(folder)).toEqual(["secrets.json"]);
  });

  it("generates different keys per file", () => {
    const first = loadSecretMaterial({ file: path.join(folder, "a.json") });
    const second = loadSecretMaterial({ file: path.join(folder, "b.json") });

    expect(first.masterKeys[0].key.equals(second.masterKeys[0].key)).toBe(
      false,
    );
    expect(first.tokenPepper.equals(second.tokenPepper)).toBe(false);
  });
});

describe("loadSecretMaterial from file", () => {
  it("reads keys newest first", () => {
    const file = writeSecrets("secrets.json", {
      masterKeys: [
        { id: "k-new", key: KEY_A },
        { id: "k-old", key: KEY_B },
      ],
      tokenPepper: PEPPER,
    });

    const material = loadSecretMaterial({ file });

    expect(material.masterKeys.map((key) => key.id)).toEqual([
      "k-new",
      "k-old",
    ]);
    expect(material.masterKeys[0].key.toString("base64")).toBe(KEY_A);
    expect(material.masterKeys[1].key.toString("base64")).toBe(KEY_B);
    expect(material.tokenPepper.toString("base64")).toBe(PEPPER);
  });

  it("accepts a pepper longer than 32 bytes", () => {
    const longPepper = randomBytes(64).toString("base64");
    const file = writeSecrets("secrets.json", {
      masterKeys: [{ id: "k1", key: KEY_A }],
      tokenPepper: longPepper,
    });

    expect(loadSecretMaterial({ file }).tokenPepper).toHaveLength(64);
  });

  (isWindows ? it.skip : it)("rejects group or other access", () => {
    for (const mode of [0o640, 0o644, 0o604, 0o660, 0o620, 0o601]) {
      const file = writeSecrets(
        `secrets-${mode.toString(8)}.json`,
        { masterKeys: [{ id: "k1", key: KEY_A }], tokenPepper: PEPPER },
        mode,
      );

      const message = errorMessageOf(() => loadSecretMaterial({ file }));

      expect(message).toContain(`has mode 0${mode.toString(8)}`);
      expect(message).toContain(`chmod 600 ${file}`);
      expect(message).not.toContain(KEY_A);
    }
  });

  it("rejects a folder in place of the file", () => {
    const file = path.join(folder, "secrets.json");
    fs.mkdirSync(file, { mode: 0o700 });

    expect(() => loadSecretMaterial({ file })).toThrow(/is not a regular file/);
  });

  it("rejects invalid JSON without quoting it", () => {
    const file = writeSecrets(
      "secrets.json",
      `{"masterKeys":[{"id":"k1","key":"${KEY_A}"}],"tokenPepper":"${PEPPER}",}`,
    );

    const message = errorMessageOf(() => loadSecretMaterial({ file }));

    expect(message).toBe(`Invalid secrets file ${file}: it is not valid JSON.`);
    expect(message).not.toContain(KEY_A);
    expect(message).not.toContain(PEPPER);
  });

  it.each([
    [[], /expected a JSON object/],
    [{ tokenPepper: PEPPER }, /"masterKeys" is missing or not an array/],
    [{ masterKeys: [{ id: "k1", key: KEY_A }] }, /"tokenPepper" is missing/],
    [
      { masterKeys: [{ id: "k1", key: KEY_A }], tokenPepper: 7 },
      /"tokenPepper" is missing or not a string/,
    ],
    [
      { masterKeys: [{ id: "k1", key: KEY_A }, "k2"], tokenPepper: PEPPER },
      /masterKeys\[1\] must be an object with string fields "id" and "key"/,
    ],
    [
      { masterKeys: [{ id: 1, key: KEY_A }], tokenPepper: PEPPER },
      /masterKeys\[0\] must be an object/,
    ],
  ])("rejects the wrong shape %#", (document, expected) => {
    const file = writeSecrets("secrets.json", document);

    expect(() => loadSecretMaterial({ file })).toThrow(expected);
  });

  it("rejects an empty key list", () => {
    const file = writeSecrets("secrets.json", {
      masterKeys: [],
      tokenPepper: PEPPER,
    });

    expect(() => loadSecretMaterial({ file })).toThrow(
      `Invalid secrets file ${file}: the master key list is empty; expected at least one key.`,
    );
  });

  it("rejects duplicate ids", () => {
    const file = writeSecrets("secrets.json", {
      masterKeys: [
        { id: "k1", key: KEY_A },
        { id: "k1", key: KEY_B },
      ],
      tokenPepper: PEPPER,
    });

    const message = errorMessageOf(() => loadSecretMaterial({ file }));

    expect(message).toContain(
      'master key "k1" (masterKeys[1]) has a duplicate id',
    );
    expect(message).not.toContain(KEY_B);
  });

  it("rejects bad base64 by id", () => {
    const badKey = `${KEY_A.slice(0, -2)}!=`;
    const file = writeSecrets("secrets.json", {
      masterKeys: [
        { id: "k1", key: KEY_A },
        { id: "k2", key: badKey },
      ],
      tokenPepper: PEPPER,
    });

    const message = errorMessageOf(() => loadSecretMaterial({ file }));

    expect(message).toContain(
      'master key "k2" (masterKeys[1]) is not valid base64',
    );
    expect(message).not.toContain(badKey);
  });

  it("rejects base64 without padding", () => {
    const unpadded = KEY_A.replace(/=+$/, "");
    const file = writeSecrets("secrets.json", {
      masterKeys: [{ id: "k1", key: unpadded }],
      tokenPepper: PEPPER,
    });

    expect(() => loadSecretMaterial({ file })).toThrow(
      /master key "k1" \(masterKeys\[0\]\) is not valid base64/,
    );
  });

  it("rejects a wrong key length", () => {
    const shortKey = randomBytes(16).toString("base64");
    const file = writeSecrets("secrets.json", {
      masterKeys: [{ id: "k1", key: shortKey }],
      tokenPepper: PEPPER,
    });

    const message = errorMessageOf(() => loadSecretMaterial({ file }));

    expect(message).toBe(
      `Invalid secrets file ${file}: master key "k1" (masterKeys[0]) is 16 bytes; expected 32.`,
    );
  });

  it("rejects an invalid id without printing it", () => {
    const file = writeSecrets("secrets.json", {
      masterKeys: [{ id: KEY_B, key: KEY_A }],
      tokenPepper: PEPPER,
    });

    const message = errorMessageOf(() => loadSecretMaterial({ file }));

    expect(message).toContain("masterKeys[0] has an invalid key id");
    expect(message).not.toContain(KEY_B);
  });

  it("rejects a short or invalid pepper", () => {
    const shortPepper = randomBytes(31).toString("base64");
    const shortFile = writeSecrets("short.json", {
      masterKeys: [{ id: "k1", key: KEY_A }],
      tokenPepper: shortPepper,
    });
    const invalidFile = writeSecrets("invalid.json", {
      masterKeys: [{ id: "k1", key: KEY_A }],
      tokenPepper: "not base64!",
    });

    expect(() => loadSecretMaterial({ file: shortFile })).toThrow(
      "the token pepper is 31 bytes; expected at least 32.",
    );
    expect(() => loadSecretMaterial({ file: invalidFile })).toThrow(
      "the token pepper is not valid base64",
    );
  });
});

describe("loadSecretMaterial from environment", () => {
  it("uses both values without a file", () => {
    const file = path.join(folder, "secrets.json");

    const material = loadSecretMaterial({
      file,
      masterKeysEnv: `k-new:${KEY_A},k-old:${KEY_B}`,
      tokenPepperEnv: PEPPER,
    });

    expect(material.masterKeys.map((key) => key.id)).toEqual([
      "k-new",
      "k-old",
    ]);
    expect(material.masterKeys[0].key.toString("base64")).toBe(KEY_A);
    expect(material.masterKeys[1].key.toString("base64")).toBe(KEY_B);
    expect(material.tokenPepper.toString("base64")).toBe(PEPPER);
    expect(fs.existsSync(file)).toBe(false);
  });

  it("overrides only the given part", () => {
    const filePepper = randomBytes(32).toString("base64");
    const file = writeSecrets("secrets.json", {
      masterKeys: [{ id: "k-file", key: KEY_B }],
      tokenPepper: filePepper,
    });

    const keysFromEnv = loadSecretMaterial({
      file,
      masterKeysEnv: `k-env:${KEY_A}`,
    });
    const pepperFromEnv = loadSecretMaterial({ file, tokenPepperEnv: PEPPER });

    expect(keysFromEnv.masterKeys.map((key) => key.id)).toEqual(["k-env"]);
    expect(keysFromEnv.tokenPepper.toString("base64")).toBe(filePepper);
    expect(pepperFromEnv.masterKeys.map((key) => key.id)).toEqual(["k-file"]);
    expect(pepperFromEnv.tokenPepper.toString("base64")).toBe(PEPPER);
  });

  it("treats blank values as not given", () => {
    const file = writeSecrets("secrets.json", {
      masterKeys: [{ id: "k-file", key: KEY_B }],
      tokenPepper: PEPPER,
    });

    const material = loadSecretMaterial({
      file,
      masterKeysEnv: "",
      tokenPepperEnv: "  ",
    });

    expect(material.masterKeys.map((key) => key.id)).toEqual(["k-file"]);
  });

  it("tolerates spaces around entries", () => {
    const material = loadSecretMaterial({
      file: path.join(folder, "secrets.json"),
      masterKeysEnv: ` k1 : ${KEY_A} ,  k2:${KEY_B}\n`,
      tokenPepperEnv: `${PEPPER}\n`,
    });

    expect(material.masterKeys.map((key) => key.id)).toEqual(["k1", "k2"]);
  });

  it("validates before creating the file", () => {
    const file = path.join(folder, "secrets.json");

    expect(() =>
      loadSecretMaterial({ file, masterKeysEnv: "k1:not-base64" }),
    ).toThrow(/master key "k1" \(entry 1\) is not valid base64/);
    expect(fs.existsSync(file)).toBe(false);
  });

  it.each([
    [`k1:${KEY_A},`, "entry 2 is empty"],
    [`k1:${KEY_A},${KEY_B}`, "entry 2 has no key id; expected id:base64key"],
    [`:${KEY_A}`, "entry 1 has an invalid key id"],
    [`k1:${KEY_A},k1:${KEY_B}`, 'master key "k1" (entry 2) has a duplicate id'],
    [
      `k1:${KEY_A},k2:${KEY_B.slice(1)}`,
      'master key "k2" (entry 2) is not valid base64',
    ],
    [
      `k1:${randomBytes(33).toString("base64")}`,
      'master key "k1" (entry 1) is 33 bytes; expected 32',
    ],
    [`bad id:${KEY_A}`, "entry 1 has an invalid key id"],
  ])("rejects malformed keys %#", (masterKeysEnv, expected) => {
    const message = errorMessageOf(() =>
      loadSecretMaterial({
        file: path.join(folder, "secrets.json"),
        masterKeysEnv,
        tokenPepperEnv: PEPPER,
      }),
    );

    expect(message).toContain("Invalid master keys environment variable: ");
    expect(message).toContain(expected);
    expect(message).not.toContain(KEY_A);
    expect(message).not.toContain(KEY_B);
    expect(message).not.toContain(KEY_B.slice(1));
  });

  it("rejects a short pepper", () => {
    const shortPepper = randomBytes(16).toString("base64");

    const message = errorMessageOf(() =>
      loadSecretMaterial({
        file: path.join(folder, "secrets.json"),
        masterKeysEnv: `k1:${KEY_A}`,
        tokenPepperEnv: shortPepper,
      }),
    );

    expect(message).toBe(
      "Invalid token pepper environment variable: the token pepper is 16 bytes; expected at least 32.",
    );
  });
});

describe("addMasterKey", () => {
  it("prepends a new key", () => {
    const file = writeSecrets("secrets.json", {
      masterKeys: [{ id: "k-old", key: KEY_A }],
      tokenPepper: PEPPER,
    });

    const newId = addMasterKey(file);
    const material = loadSecretMaterial({ file });

    expect(newId).toMatch(/^k\d{8}[0-9a-f]{4}$/);
    expect(newId.slice(1, 9)).toBe(todayUtc());
    expect(material.masterKeys.map((key) => key.id)).toEqual([newId, "k-old"]);
    expect(material.masterKeys[0].key).toHaveLength(32);
    expect(material.masterKeys[1].key.toString("base64")).toBe(KEY_A);
    expect(material.tokenPepper.toString("base64")).toBe(PEPPER);
  });

  it("returns distinct ids", () => {
    const file = path.join(folder, "secrets.json");
    const firstId = loadSecretMaterial({ file }).masterKeys[0].id;

    const ids = [firstId];
    for (let i = 0; i < 20; i++) {
      ids.push(addMasterKey(file));
    }

    expect(new Set(ids).size).toBe(21);
    expect(
      loadSecretMaterial({ file }).masterKeys.map((key) => key.id),
    ).toEqual(ids.reverse());
  });

  it("keeps unknown fields", () => {
    const file = writeSecrets("secrets.json", {
      comment: "rotated yearly",
      masterKeys: [{ id: "k-old", key: KEY_A, createdAt: "2025-01-01" }],
      tokenPepper: PEPPER,
    });

    addMasterKey(file);
    const document = JSON.parse(fs.readFileSync(file, "utf8"));

    expect(document.comment).toBe("rotated yearly");
    expect(document.masterKeys[1]).toEqual({
      id: "k-old",
      key: KEY_A,
      createdAt: "2025-01-01",
    });
  });

  (isWindows ? it.skip : it)("keeps mode 0600", () => {
    const file = writeSecrets("secrets.json", {
      masterKeys: [{ id: "k-old", key: KEY_A }],
      tokenPepper: PEPPER,
    });

    addMasterKey(file);

    expect(permissionBits(file)).toBe(0o600);
    expect(fs.readdirSync(folder)).toEqual(["secrets.json"]);
  });

  it("rejects a missing file", () => {
    const file = path.join(folder, "missing.json");

    expect(() => addMasterKey(file)).toThrow(`Secrets file ${file} not found.`);
    expect(fs.existsSync(file)).toBe(false);
  });

  it("leaves a malformed file unchanged", () => {
    const original = {
      masterKeys: [{ id: "k1", key: "short" }],
      tokenPepper: PEPPER,
    };
    const file = writeSecrets("secrets.json", original);

    expect(() => addMasterKey(file)).toThrow(/not valid base64/);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual(original);
  });

  (isWindows ? it.skip : it)("rejects a readable file", () => {
    const file = writeSecrets(
      "secrets.json",
      { masterKeys: [{ id: "k1", key: KEY_A }], tokenPepper: PEPPER },
      0o644,
    );

    expect(() => addMasterKey(file)).toThrow(/chmod 600/);
  });
});
