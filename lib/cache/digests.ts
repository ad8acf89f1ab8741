/**
 * Digests every cache key is made with, and the fast path's own: canonical JSON, SHA-256, the digest key (its
 * file, format and import) and HMACs under it — of secret values, of watched files' contents — and the inputs
 * key, the digest of one invocation's raw inputs that the fast path looks up before parsing anything. The
 * entry keys themselves (what of a plan enters them) are key.ts's. Nothing heavy is imported: this runs on the
 * fast path.
 */
import {
  INPUT_ENV_NAMES,
  isNullDevice,
  type Os,
  PATH_ENV_NAMES,
  type RawEnv,
  SECRET_ENV_NAMES,
} from "../model.ts";
import { hex } from "../output.ts";
import { type ArgvScan, lastValue, takesPath } from "../argv.ts";

/** Bumped whenever the material's meaning changes, so old entries (and memos) simply miss. */
export const CACHE_KEY_VERSION = 2;

/** A JSON value, as {@link canonicalJson} writes it. */
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json | undefined };

/** JSON with object keys sorted and `undefined` members dropped, so equal documents give equal text. */
export function canonicalJson(value: Json | undefined): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  const members = Object.keys(value).sort()
    .filter((k) => value[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
  return `{${members.join(",")}}`;
}

/** Hex SHA-256 of a string (UTF-8) or bytes. */
export async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

// ---------------------------------------------------------------------------------------------------------
// The inputs key: what the fast path looks up before parsing anything
// ---------------------------------------------------------------------------------------------------------

/**
 * The version of the inputs key's material. 2: the working directory is in it only when {@link cwdIsInput}
 * (1 always held it). Memos are named by the key, so a memo of another version is simply never found.
 */
export const INPUTS_KEY_VERSION = 2;

/** Where an invocation runs: its working directory, and the OS that says which paths are relative. */
export interface Where {
  readonly cwd: string;
  readonly os: Os;
}

/** Whether `path` resolves against the working directory: not `/…` (Windows: not `C:\…`, `C:/…` or `\\…`). */
export function isRelativePath(path: string, os: Os): boolean {
  return os === "windows" ? !/^(?:[A-Za-z]:[\\/]|[\\/]{2})/.test(path) : !path.startsWith("/");
}

/**
 * Whether the working directory is one of an invocation's inputs: an option that takes a path (`path` in
 * `OPTIONS`, lib/argv.ts) or a variable that holds one ({@link PATH_ENV_NAMES}) holds a relative path, which
 * resolves against it. Otherwise every file the plan is built from is named by an absolute path (a path a
 * profile names is watched as written, and re-read where the call runs), so the working directory changes
 * nothing: `credential_process` runs from whatever directory the tool is in, and hits from any of them.
 */
export function cwdIsInput(argv: ArgvScan, env: RawEnv, os: Os): boolean {
  const relative = (v: string | true | undefined) =>
    typeof v === "string" && v !== "" && isRelativePath(v, os);
  for (const [name, values] of argv.options) {
    if (takesPath(name) && values.some(relative)) return true;
  }
  // The SDK's home directory without HOME or USERPROFILE: HOMEDRIVE and HOMEPATH joined.
  const joined = (name: string) =>
    name === "HOMEPATH" && env.HOMEPATH ? `${env.HOMEDRIVE ?? ""}${env.HOMEPATH}` : env[name];
  return PATH_ENV_NAMES.some((name) => relative(joined(name)));
}

/**
 * The digest of the raw inputs of one invocation — argv (the MFA code blanked: `ArgvScan.redacted`), the values of
 * {@link INPUT_ENV_NAMES} and, when a path among them is relative ({@link cwdIsInput}), the working directory —
 * and, with `keyed`, the secret values too: then the whole is one HMAC under the cache's digest key (one
 * WebCrypto call on the fast path, not a keyed digest of the secrets plus a hash of the rest); without it, a
 * plain SHA-256. Pure but for the hash. Together with the contents of the files the plan was built from (checked
 * separately), it determines the plan, so it can stand for the plan's `cacheKey` (key.ts) without parsing flags or
 * loading the shared config.
 */
export async function inputsKey(
  argv: ArgvScan,
  env: RawEnv,
  where: Where,
  keyed?: { readonly key: CryptoKey; readonly secretValues: readonly (string | undefined)[] },
): Promise<string> {
  const vars: Record<string, string | undefined> = {};
  for (const name of INPUT_ENV_NAMES) vars[name] = env[name];
  const material = {
    v: CACHE_KEY_VERSION,
    inputs: INPUTS_KEY_VERSION,
    argv: [...argv.redacted],
    env: vars,
    cwd: cwdIsInput(argv, env, where.os) ? where.cwd : undefined,
  };
  if (keyed === undefined) return await sha256Hex(canonicalJson({ ...material, secrets: "" }));
  const secrets = keyed.secretValues.map((v) => v ?? null);
  return await hmacHex(keyed.key, canonicalJson({ ...material, secrets }));
}

// ---------------------------------------------------------------------------------------------------------
// Secrets in keys: only as a keyed digest
// ---------------------------------------------------------------------------------------------------------

/** The file in the cache directory that holds the random digest key (64 hex characters, mode 0600). */
export const DIGEST_KEY_FILE = "digest.key";

/** The text of a new `digest.key`: 32 random bytes as hex, one line. */
export function newDigestKeyText(): string {
  return `${hex(crypto.getRandomValues(new Uint8Array(32)))}\n`;
}

/** Imports a digest key from its file's text (64 hex characters); undefined if it is not one. */
export async function importDigestKey(text: string): Promise<CryptoKey | undefined> {
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** Hex HMAC-SHA-256 of a string (UTF-8) or bytes. */
export async function hmacHex(key: CryptoKey, data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return hex(new Uint8Array(await crypto.subtle.sign("HMAC", key, bytes)));
}

/** The most a watched file may hold (the shared config's cap): anything larger sends the call to the full path. */
const MAX_WATCHED_FILE_BYTES = 4 * 1024 * 1024;

/**
 * The keyed digest (HMAC-SHA-256 under the cache's digest key) of a file's content, for the fast path's memo:
 * `null` if it does not exist (the null device digests as an empty file); throws if it cannot be read, is not
 * a regular file (a FIFO would block) or is too large. Keyed, because some of these files hold secrets (the
 * credentials file, a web identity token).
 */
export async function fileHmac(path: string, digestKey: CryptoKey): Promise<string | null> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    const info = isNullDevice(path, Deno.build.os) ? undefined : Deno.statSync(path);
    // The null device is watched as the empty file it reads as (the full path reads it so too).
    if (info === undefined || isNullDevice(path, Deno.build.os, info)) {
      return await hmacHex(digestKey, new Uint8Array());
    }
    if (!info.isFile) throw new Error(`${path} is not a regular file`);
    if (info.size > MAX_WATCHED_FILE_BYTES) throw new Error(`${path} is too large`);
    bytes = Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
  return await hmacHex(digestKey, bytes);
}

/** {@link fileHmac} of each file, in order: the digests a memo records (see `WatchedFile` in memo.ts). */
export async function fileHmacs(
  paths: readonly string[],
  digestKey: CryptoKey,
): Promise<{ readonly path: string; readonly hmac: string | null }[]> {
  const files = [];
  for (const path of paths) files.push({ path, hmac: await fileHmac(path, digestKey) });
  return files;
}

/**
 * The keyed digest of a list of secret values (absent ones count as absent): what a key holds instead of
 * the secrets. Without the per-cache key the digest cannot be tested against guesses.
 */
export async function secretsDigest(
  key: CryptoKey,
  values: readonly (string | undefined)[],
): Promise<string> {
  return await hmacHex(key, canonicalJson(values.map((v) => v ?? null)));
}

/** The secret environment values an invocation's inputs key digests (see `SECRET_ENV_NAMES`). */
export function inputSecretValues(argv: ArgvScan, getEnv: (name: string) => string | undefined) {
  // The variable `--web-identity-token-env` names: its token decides the credentials as much as a secret key.
  const tokenEnv = lastValue(argv, "web-identity-token-env");
  return [
    ...SECRET_ENV_NAMES.map((n) => getEnv(n)),
    tokenEnv === undefined ? undefined : getEnv(tokenEnv),
  ];
}
