/** Reads the files and variables that flags and profiles point at, and validates their contents. */
import { ConfigError, CredprocError } from "../errors.ts";
import type { Env, PolicySource, TokenSource } from "../model.ts";
import { validatePolicy } from "../validate.ts";

/** Reads a text file; tests pass a fake. */
export type ReadTextFile = (path: string) => Promise<string>;

/** Policies larger than this are refused before reading the whole file (STS allows 2048 characters). */
const MAX_POLICY_FILE_BYTES = 256 * 1024;
/** OIDC tokens are a few KiB; refuse anything absurd rather than sending it. */
const MAX_TOKEN_BYTES = 64 * 1024;

/** A session policy as the minified JSON text to send. */
export async function loadPolicy(source: PolicySource, read: ReadTextFile): Promise<string> {
  if (source.kind === "inline") return source.json;
  const text = await readFileChecked(source.path, "--policy-file", read, MAX_POLICY_FILE_BYTES);
  try {
    return validatePolicy(text, `--policy-file ${source.path}`);
  } catch (e) {
    // Bad contents of a file are a config problem, not a flag problem: no "--help" hint.
    if (e instanceof CredprocError) throw new ConfigError(e.what, e.message);
    throw e;
  }
}

/** A web identity token, read when it is needed (tokens rotate, so never cached). */
export async function loadToken(source: TokenSource, read: ReadTextFile, env: Env): Promise<string> {
  const token = source.kind === "file"
    ? await readFileChecked(source.path, "web identity token file", read, MAX_TOKEN_BYTES)
    : env[source.name];
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
    text = await read(path);
  } catch (e) {
    throw new ConfigError(`${what} ${path}`, fileErrorReason(e), { cause: e });
  }
  if (text.length > maxBytes) throw new ConfigError(`${what} ${path}`, `larger than ${maxBytes} bytes`);
  return text;
}

/** A short reason for a failed file read. */
export function fileErrorReason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory, not a file";
  if (e instanceof Deno.errors.NotADirectory) return "a parent of the path is not a directory";
  const message = e instanceof Error ? e.message : String(e);
  if (/is a directory|EISDIR/i.test(message)) return "is a directory, not a file";
  if (/invalid data|stream did not contain valid UTF-8/i.test(message)) return "not a text file";
  return message.replace(/\s+/g, " ");
}
