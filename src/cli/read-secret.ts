/**
 * Reads a secret without it passing through argv: from the named environment variable when given, else from
 * standard input (all of it when piped; one line, not echoed, at a terminal).
 */
export async function readSecret(
  prompt: string,
  envName?: string,
  what = "API key",
): Promise<string> {
  if (envName) {
    const value = process.env[envName];
    if (!value) {
      throw new Error(`Environment variable ${envName} is empty or not set`);
    }
    return value.trim();
  }

  const value = process.stdin.isTTY
    ? await readHiddenLine(prompt)
    : await readAll();
  if (value.trim() === "") {
    throw new Error(`No ${what} given on standard input`);
  }
  return value.trim();
}

async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function readHiddenLine(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();

  return new Promise((resolve, reject) => {
    let value = "";
    const onData = (data: Buffer) => {
      for (const char of data.toString("utf8")) {
        if (char === "\r" || char === "\n") {
          finish();
          resolve(value);
          return;
        }
        if (char === "\u0003") {
          finish();
          reject(new Error("Cancelled"));
          return;
        }
        value = char === "\u007f" ? value.slice(0, -1) : value + char;
      }
    };
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    stdin.on("data", onData);
  });
}
