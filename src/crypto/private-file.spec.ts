// The default import is the `fs` module object itself, so jest.spyOn also
// affects the functions that private-file.ts calls.
import fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { readPrivateFile, writePrivateFileAtomically } from "./private-file";

const isWindows = process.platform === "win32";

let folder: string;

beforeEach(() => {
  folder = fs.mkdtempSync(path.join(os.tmpdir(), "llm-proxy-private-file-"));
});

afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(folder, { recursive: true, force: true });
});

function permissionBits(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe("readPrivateFile", () => {
  it("returns undefined for a missing file", () => {
    expect(readPrivateFile(path.join(folder, "missing.json"))).toBeUndefined();
  });

  it("reads an owner-only file", () => {
    const file = path.join(folder, "secret.txt");
    fs.writeFileSync(file, "contents", { mode: 0o600 });

    expect(readPrivateFile(file)).toBe("contents");
  });

  (isWindows ? it.skip : it)("accepts a read-only owner file", () => {
    const file = path.join(folder, "secret.txt");
    fs.writeFileSync(file, "contents", { mode: 0o400 });

    expect(readPrivateFile(file)).toBe("contents");
  });

  (isWindows ? it.skip : it)("rejects group or other bits", () => {
    const file = path.join(folder, "secret.txt");
    fs.writeFileSync(file, "contents");
    fs.chmodSync(file, 0o640);

    expect(() => readPrivateFile(file)).toThrow(
      `${file} has mode 0640, so group or others can access it. ` +
        `Run "chmod 600 ${file}" to make it private to its owner.`,
    );
  });

  it("rejects a folder", () => {
    expect(() => readPrivateFile(folder)).toThrow(
      `${folder} is not a regular file.`,
    );
  });

  it("names the path when opening fails", () => {
    const file = path.join(folder, "not-a-folder", "secret.txt");
    fs.writeFileSync(path.join(folder, "not-a-folder"), "");

    expect(() => readPrivateFile(file)).toThrow(`Cannot open ${file}: `);
  });
});

describe("writePrivateFileAtomically", () => {
  it("creates a new file", () => {
    const file = path.join(folder, "secret.txt");

    const written = writePrivateFileAtomically(file, "first", "create");

    expect(written).toBe(true);
    expect(fs.readFileSync(file, "utf8")).toBe("first");
    expect(fs.readdirSync(folder)).toEqual(["secret.txt"]);
  });

  it("keeps an existing file on create", () => {
    const file = path.join(folder, "secret.txt");
    fs.writeFileSync(file, "winner", { mode: 0o600 });

    const written = writePrivateFileAtomically(file, "loser", "create");

    expect(written).toBe(false);
    expect(fs.readFileSync(file, "utf8")).toBe("winner");
    expect(fs.readdirSync(folder)).toEqual(["secret.txt"]);
  });

  it("replaces an existing file", () => {
    const file = path.join(folder, "secret.txt");
    fs.writeFileSync(file, "old", { mode: 0o600 });

    const written = writePrivateFileAtomically(file, "new", "replace");

    expect(written).toBe(true);
    expect(fs.readFileSync(file, "utf8")).toBe("new");
    expect(fs.readdirSync(folder)).toEqual(["secret.txt"]);
  });

  (isWindows ? it.skip : it)("sets modes 0600 and 0700", () => {
    const file = path.join(folder, "a", "b", "secret.txt");

    writePrivateFileAtomically(file, "contents", "create");

    expect(permissionBits(file)).toBe(0o600);
    expect(permissionBits(path.join(folder, "a", "b"))).toBe(0o700);
  });

  (isWindows ? it.skip : it)("tightens a replaced file's mode", () => {
    const file = path.join(folder, "secret.txt");
    fs.writeFileSync(file, "old");
    fs.chmodSync(file, 0o644);

    writePrivateFileAtomically(file, "new", "replace");

    expect(permissionBits(file)).toBe(0o600);
  });

  (isWindows ? it.skip : it)("keeps an existing folder's mode", () => {
    fs.chmodSync(folder, 0o755);

    writePrivateFileAtomically(path.join(folder, "x"), "contents", "create");

    expect(permissionBits(folder)).toBe(0o755);
  });

  it("falls back to rename without hard links", () => {
    const file = path.join(folder, "secret.txt");
    const unsupported = Object.assign(new Error("operation not permitted"), {
      code: "EPERM",
    });
    const link = jest.spyOn(fs, "linkSync").mockImplementation(() => {
      throw unsupported;
    });

    const written = writePrivateFileAtomically(file, "contents", "create");

    expect(link).toHaveBeenCalledTimes(1);
    expect(written).toBe(true);
    expect(fs.readFileSync(file, "utf8")).toBe("contents");
    expect(fs.readdirSync(folder)).toEqual(["secret.txt"]);
  });

  it("removes the temporary file on failure", () => {
    const file = path.join(folder, "secret.txt");
    const failure = Object.assign(new Error("no space left on device"), {
      code: "ENOSPC",
    });
    jest.spyOn(fs, "linkSync").mockImplementation(() => {
      throw failure;
    });

    expect(() =>
      writePrivateFileAtomically(file, "contents", "create"),
    ).toThrow("no space left on device");
    expect(fs.readdirSync(folder)).toEqual([]);
  });
});
