import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** Whether {@link writePrivateFileAtomically} may replace an existing file. */
export type PrivateWriteMode = "create" | "replace";

/**
 * Reads a UTF-8 file that only its owner may access, or returns undefined when
 * it does not exist. The mode check uses the open descriptor, so the file that
 * was checked is the file that is read.
 *
 * @throws Error when the path is not a regular file, when group or others have
 *   any permission bit, or when the file cannot be opened or read. The mode
 *   error suggests `chmod 600`. Windows has no such permission bits, so the
 *   mode check is skipped there.
 */
export function readPrivateFile(file: string): string | undefined {
  let descriptor: number;
  try {
    descriptor = fs.openSync(file, "r");
  } catch (error) {
    if (isErrnoException(error) && error.code === "ENOENT") {
      return undefined;
    }
    throw new Error(`Cannot open ${file}: ${describeError(error)}`, {
      cause: error,
    });
  }

  try {
    assertPrivateRegularFile(file, fs.fstatSync(descriptor));
    return fs.readFileSync(descriptor, "utf8");
  } finally {
    fs.closeSync(descriptor);
  }
}

/**
 * Writes `contents` to a temporary file with mode 0600 in the target folder,
 * flushes it and then moves it into place, so readers see either no file, the
 * old file or the whole new one. The folder is created with mode 0700 if
 * missing, and an existing folder keeps its mode.
 *
 * In "create" mode the move is a hard link, which fails instead of replacing a
 * file that another process created meanwhile. The function then returns false
 * and leaves that file alone. Filesystems without hard links fall back to a
 * rename, which does replace it. In "replace" mode the move is a rename and the
 * function always returns true.
 */
export function writePrivateFileAtomically(
  file: string,
  contents: string,
  mode: PrivateWriteMode,
): boolean {
  const folder = path.dirname(file);
  fs.mkdirSync(folder, { recursive: true, mode: 0o700 });

  const suffix = randomBytes(6).toString("hex");
  const temporary = path.join(folder, `.${path.basename(file)}.${suffix}.tmp`);
  writeNewPrivateFile(temporary, contents);

  let written = true;
  try {
    if (mode === "create") {
      written = linkUnlessExists(temporary, file);
    } else {
      fs.renameSync(temporary, file);
    }
  } finally {
    fs.rmSync(temporary, { force: true });
  }

  fsyncFolder(folder);
  return written;
}

function assertPrivateRegularFile(file: string, stats: fs.Stats): void {
  if (!stats.isFile()) {
    throw new Error(`${file} is not a regular file.`);
  }

  const groupAndOtherBits = stats.mode & 0o077;
  if (process.platform !== "win32" && groupAndOtherBits !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, "0");
    throw new Error(
      `${file} has mode ${mode}, so group or others can access it. ` +
        `Run "chmod 600 ${file}" to make it private to its owner.`,
    );
  }
}

/**
 * Creates `file` with mode 0600, writes `contents` and flushes it to disk.
 * Fails if `file` exists.
 */
function writeNewPrivateFile(file: string, contents: string): void {
  const descriptor = fs.openSync(file, "wx", 0o600);

  try {
    // The umask also applies to openSync's mode, so set the mode explicitly.
    fs.fchmodSync(descriptor, 0o600);
    fs.writeFileSync(descriptor, contents, "utf8");
    fs.fsyncSync(descriptor);
  } catch (error) {
    fs.closeSync(descriptor);
    fs.rmSync(file, { force: true });
    throw error;
  }

  fs.closeSync(descriptor);
}

/**
 * Links `source` to `target` and returns true, or returns false when `target`
 * already exists.
 */
function linkUnlessExists(source: string, target: string): boolean {
  try {
    fs.linkSync(source, target);
    return true;
  } catch (error) {
    if (!isErrnoException(error)) {
      throw error;
    }
    if (error.code === "EEXIST") {
      return false;
    }
    if (["EPERM", "ENOTSUP", "ENOSYS"].includes(error.code ?? "")) {
      fs.renameSync(source, target);
      return true;
    }
    throw error;
  }
}

/** Flushes the folder so that a renamed or linked file survives power loss. */
function fsyncFolder(folder: string): void {
  // Windows cannot open a folder as a file.
  if (process.platform === "win32") {
    return;
  }

  const descriptor = fs.openSync(folder, "r");
  try {
    fs.fsyncSync(descriptor);
  } finally {
    fs.closeSync(descriptor);
  }
}

// These checks test the shape, not `instanceof Error`, because errors from
// Node's own modules come from another realm when the caller runs under Jest.
function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return typeof error === "object" && error !== null && "code" in error;
}

function describeError(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error) {
    return String(error.message);
  }
  return String(error);
}
