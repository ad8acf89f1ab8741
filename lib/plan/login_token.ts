/**
 * The token `aws login` caches for a `login_session` profile, as `@aws-sdk/credential-provider-login` reads it:
 * `<AWS_LOGIN_CACHE_DIRECTORY or ~/.aws/login/cache>/<hex SHA-256 of login_session>.json`. credproc judges the
 * file before the SDK reads it (its owner, its mode, its shape) and takes from it what the cache key and the
 * refresh need; the SDK does the reading, refreshing and rewriting itself.
 */
import { CredentialsError } from "../errors.ts";
import type { LoginToken } from "../model.ts";
import { fileErrorReason, readRegularFile } from "./referenced_files.ts";

/** A region as the sign-in token names it (it becomes a host name): `us-east-1`, `eusc-de-east-1`. */
const SIGN_IN_REGION = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;

/** The token file is a few KiB (keys, a JWT, a PEM key); anything larger is not one. */
export const MAX_LOGIN_TOKEN_BYTES = 64 * 1024;

/** The file the SDK reads for a session: `<dir>/<hex SHA-256 of the session>.json`. */
export async function loginTokenFile(source: {
  readonly session: string;
  readonly tokenCacheDir?: string;
}): Promise<string | undefined> {
  if (source.tokenCacheDir === undefined) return undefined;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(source.session)),
  );
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${source.tokenCacheDir.replace(/[\\/]+$/, "")}/${hex}.json`;
}

/** Who may be trusted to have written the file: this user, where the OS says who that is. */
export interface TokenFileJudge {
  /** This process's uid; null where unknown (Windows): then owner and mode are not checked. */
  readonly uid: number | null;
  readonly stat?: (path: string) => Promise<Deno.FileInfo>;
  readonly read?: (path: string, maxBytes: number) => Promise<string>;
}

/** Why the token file cannot be used; `kind` says whether reading again under the lock may help. */
export class LoginTokenError extends CredentialsError {
  constructor(
    readonly kind: "missing" | "untrusted" | "malformed",
    profile: string,
    path: string,
    reason: string,
    cause?: unknown,
  ) {
    super(`aws login session of profile ${profile}`, `${path}: ${reason}`, {
      hint: kind === "untrusted"
        ? `only you may write it: run aws login --profile ${profile} to write it anew (mode 0600)`
        : `run aws login --profile ${profile}, then retry`,
      cause,
    });
  }
}

/**
 * Reads and judges the token file: a regular file (symlinks followed, as the SDK does), of this user and
 * writable by no one else (the same rule as credproc's own cache files: whoever can write it decides whose
 * credentials come back), at most {@link MAX_LOGIN_TOKEN_BYTES}, JSON with every field the SDK requires and a
 * sign-in region of region shape (it becomes a host name). Anything else is a {@link LoginTokenError}: exit 1,
 * with the `aws login --profile` to run.
 */
export async function readLoginToken(
  path: string,
  profile: string,
  judge: TokenFileJudge,
): Promise<LoginToken> {
  const stat = judge.stat ?? Deno.stat;
  const read = judge.read ?? readRegularFile;
  let info: Deno.FileInfo;
  try {
    info = await stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new LoginTokenError("missing", profile, path, "not signed in (no such file)", e);
    }
    throw new LoginTokenError("malformed", profile, path, fileErrorReason(e), e);
  }
  if (!info.isFile) {
    throw new LoginTokenError("malformed", profile, path, "not a regular file", undefined);
  }
  if (judge.uid !== null && info.uid !== null && info.uid !== judge.uid) {
    throw new LoginTokenError("untrusted", profile, path, `owned by uid ${info.uid}, not by you`);
  }
  if (judge.uid !== null && info.mode !== null && (info.mode & 0o022) !== 0) {
    throw new LoginTokenError(
      "untrusted",
      profile,
      path,
      `mode ${(info.mode & 0o777).toString(8).padStart(4, "0")}: others may write it`,
    );
  }
  let text: string;
  try {
    text = await read(path, MAX_LOGIN_TOKEN_BYTES);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new LoginTokenError("missing", profile, path, "not signed in (no such file)", e);
    }
    throw new LoginTokenError("malformed", profile, path, fileErrorReason(e), e);
  }
  const problem = (why: string) => new LoginTokenError("malformed", profile, path, why);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw problem("not a token aws login wrote (not JSON)");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw problem("not a token aws login wrote (not a JSON object)");
  }
  const t = doc as Record<string, unknown>;
  const access = typeof t.accessToken === "object" && t.accessToken !== null
    ? t.accessToken as Record<string, unknown>
    : {};
  const text1 = (v: unknown) => typeof v === "string" && v !== "" ? v : undefined;
  const missing = [
    ["accessToken.accessKeyId", text1(access.accessKeyId)],
    ["accessToken.secretAccessKey", text1(access.secretAccessKey)],
    ["accessToken.sessionToken", text1(access.sessionToken)],
    ["accessToken.accountId", text1(access.accountId)],
    ["accessToken.expiresAt", text1(access.expiresAt)],
    ["clientId", text1(t.clientId)],
    ["refreshToken", text1(t.refreshToken)],
    ["dpopKey", text1(t.dpopKey)],
  ].filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length > 0) throw problem(`missing ${missing.join(", ")}`);
  const accountId = access.accountId as string;
  if (!/^\d{12}$/.test(accountId)) throw problem("accessToken.accountId is not a 12-digit account");
  const expiresAt = new Date(access.expiresAt as string);
  if (Number.isNaN(expiresAt.getTime())) throw problem("accessToken.expiresAt is not a date");
  const signInRegion = t.signInRegion;
  if (signInRegion !== undefined && signInRegion !== "" && typeof signInRegion !== "string") {
    throw problem("signInRegion is not a region");
  }
  if (typeof signInRegion === "string" && signInRegion !== "" && !SIGN_IN_REGION.test(signInRegion)) {
    throw problem("signInRegion is not a region");
  }
  if (
    !/^-----BEGIN EC PRIVATE KEY-----[A-Za-z0-9+/=\s]+-----END EC PRIVATE KEY-----\s*$/.test(
      t.dpopKey as string,
    )
  ) {
    throw problem("dpopKey is not a PEM EC private key");
  }
  return {
    path,
    dpopKey: t.dpopKey as string,
    refreshToken: t.refreshToken as string,
    accountId,
    expiresAt,
    ...(typeof signInRegion === "string" && signInRegion !== "" ? { signInRegion } : {}),
  };
}
