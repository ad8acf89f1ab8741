/** Reads the files and variables that flags and profiles point at, and validates their contents. */
import { ConfigError, CredprocError, isNameTooLong } from "../errors.ts";
import { isNullDevice, type PolicySource, type RawEnv, type TokenSource } from "../model.ts";
import { validatePolicy } from "../validate.ts";
import { oneLine, readUpTo } from "../output.ts";

/** Reads a text file of at most `maxBytes`; tests pass a fake. */
export type ReadTextFile = (path: string, maxBytes: number) => Promise<string>;

/** Policies larger than this are refused before reading the whole file (STS allows 2048 characters). */
export const MAX_POLICY_FILE_BYTES = 256 * 1024;
/** OIDC tokens are a few KiB; refuse anything absurd rather than sending it. */
export const MAX_TOKEN_BYTES = 64 * 1024;
/** Shared config and credentials files: large organisations have thousands of profiles, not megabytes. */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

/** The file is not a regular file (a FIFO, a device, a socket, a directory): refused before it is opened. */
export class NotRegularFileError extends Error {}
/** The file is larger than the cap for its kind. */
export class FileTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`larger than ${maxBytes} bytes`);
  }
}

/**
 * Reads a regular file of at most `maxBytes` as UTF-8 (the null device reads as empty, see `isNullDevice`):
 * `stat` first (a FIFO would block the open, a device such as /dev/zero never ends), then reads at most
 * `maxBytes + 1` bytes (`readUpTo`), so memory stays bounded even if the file grows or is swapped in between.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<string> {
  // The null device reads as empty (never opened: nothing to block on); other devices stay refused.
  if (isNullDevice(path, Deno.build.os)) return "";
  const info = await Deno.stat(path);
  if (info.isDirectory) throw new Deno.errors.IsADirectory(path);
  if (isNullDevice(path, Deno.build.os, info)) return "";
  if (!info.isFile) throw new NotRegularFileError("not a regular file (a FIFO, device or socket)");
  if (info.size > maxBytes) throw new FileTooLargeError(maxBytes);
  const file = await Deno.open(path, { read: true });
  try {
    if (!(await file.stat()).isFile) {
      throw new NotRegularFileError("not a regular file (a FIFO, device or socket)");
    }
    const bytes = await readUpTo(file, maxBytes + 1);
    if (bytes.length > maxBytes) throw new FileTooLargeError(maxBytes);
    // Lossy on purpose: invalid UTF-8 becomes U+FFFD, which the token and policy checks refuse by name.
    return new TextDecoder().decode(bytes);
  } finally {
    file.close();
  }
}

/** A session policy as the minified JSON text to send. */
export async function loadPolicy(source: PolicySource, read: ReadTextFile): Promise<string> {
  if (source.kind === "inline") return source.json;
  const text = await readFileChecked(source.path, "--policy-file", read, MAX_POLICY_FILE_BYTES);
  // As the AWS CLI (`--policy file:///dev/null` fails its parameter check): an empty policy is no policy.
  if (text.trim() === "") {
    throw new ConfigError(
      `--policy-file ${source.path}`,
      "the file is empty; leave the flag out for no policy",
    );
  }
  try {
    return validatePolicy(text, `--policy-file ${source.path}`);
  } catch (e) {
    // Bad contents of a file are a config problem, not a flag problem: no "--help" hint.
    if (e instanceof CredprocError) throw new ConfigError(e.what, e.message);
    throw e;
  }
}

/** A web identity token, read when it is needed (tokens rotate, so never cached). */
export async function loadToken(source: TokenSource, read: ReadTextFile, env: RawEnv): Promise<string> {
  const token = source.kind === "file"
    ? await readFileChecked(source.path, "web identity token file", read, MAX_TOKEN_BYTES)
    : env[source.name];
  if (source.kind === "env" && token !== undefined && token.length > MAX_TOKEN_BYTES) {
    throw new ConfigError(`web identity token in ${source.name}`, `larger than ${MAX_TOKEN_BYTES} bytes`);
  }
  const what = source.kind === "file"
    ? `web identity token file ${source.path}`
    : `web identity token in ${source.name}`;
  if (token === undefined) throw new ConfigError(what, "the variable is not set");
  const trimmed = token.trim();
  if (trimmed === "") throw new ConfigError(what, "the token is empty");
  if (/\s/.test(trimmed)) throw new ConfigError(what, "the token contains white space; expected one JWT");
  // A JWT is printable ASCII; binary data (invalid UTF-8 decodes to U+FFFD) must not be sent as one.
  if (/[^!-~]/.test(trimmed)) {
    throw new ConfigError(what, "the token is not text (binary data or non-ASCII); expected one JWT");
  }
  return trimmed;
}

async function readFileChecked(
  path: string,
  what: string,
  read: ReadTextFile,
  maxBytes: number,
): Promise<string> {
  let text: string;
  try {
    text = await read(path, maxBytes);
  } catch (e) {
    throw new ConfigError(`${what} ${path}`, fileErrorReason(e), { cause: e });
  }
  if (text.length > maxBytes) throw new ConfigError(`${what} ${path}`, `larger than ${maxBytes} bytes`);
  return text;
}

/** A short reason for a failed file read. */
export function fileErrorReason(e: unknown): string {
  if (e instanceof NotRegularFileError || e instanceof FileTooLargeError) return e.message;
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory, not a file";
  if (e instanceof Deno.errors.NotADirectory) return "a parent of the path is not a directory";
  if (isNameTooLong(e)) return "the path is too long";
  const message = oneLine(e);
  if (/is a directory|EISDIR/i.test(message)) return "is a directory, not a file";
  if (/invalid data|stream did not contain valid UTF-8/i.test(message)) return "not a text file";
  return message;
}
