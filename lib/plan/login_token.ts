/**
 * The token `aws login` caches for a `login_session` profile, as `@aws-sdk/credential-provider-login` reads it:
 * `<AWS_LOGIN_CACHE_DIRECTORY or ~/.aws/login/cache>/<hex SHA-256 of login_session>.json`. credproc judges the
 * file before the SDK reads it (owner, mode, size: the rule of lib/plan/token_file.ts, shared with the SSO token;
 * then its shape) and takes from it what the cache key and the refresh need; the SDK does the reading,
 * refreshing and rewriting itself.
 */
import type { LoginToken } from "../model.ts";
import { hex } from "../output.ts";
import { readTokenFile, textField, TOKEN_REGION, TokenFileError, type TokenFileJudge } from "./token_file.ts";

/** The token file is a few KiB (keys, a JWT, a PEM key); anything larger is not one. */
export const MAX_LOGIN_TOKEN_BYTES = 64 * 1024;

/** The `aws login` token file as a kind of token file: who writes it, its bound, how its errors read. */
const LOGIN_TOKEN_FILE = {
  writer: "aws login",
  maxBytes: MAX_LOGIN_TOKEN_BYTES,
  what: (profile: string) => `aws login session of profile ${profile}`,
  signIn: (profile: string) => `aws login --profile ${profile}`,
};

/** The file the SDK reads for a session: `<dir>/<hex SHA-256 of the session>.json`. */
export async function loginTokenFile(source: {
  readonly session: string;
  readonly tokenCacheDir?: string;
}): Promise<string | undefined> {
  if (source.tokenCacheDir === undefined) return undefined;
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(source.session)),
  );
  return `${source.tokenCacheDir.replace(/[\\/]+$/, "")}/${hex(digest)}.json`;
}

/** Why the token file cannot be used; `kind` says whether reading again under the lock may help. */
export class LoginTokenError extends TokenFileError {}

/**
 * Reads and judges the token file: the token-file rule (lib/plan/token_file.ts: a regular file of this user,
 * writable by no one else, at most {@link MAX_LOGIN_TOKEN_BYTES}, a JSON object), then every field the SDK
 * requires and a sign-in region of region shape (it becomes a host name). Anything else is a
 * {@link LoginTokenError}: exit 1, with the `aws login --profile` to run.
 */
export async function readLoginToken(
  path: string,
  profile: string,
  judge: TokenFileJudge,
): Promise<LoginToken> {
  const { doc: t, refuse } = await readTokenFile(path, profile, judge, LOGIN_TOKEN_FILE, LoginTokenError);
  const problem = (why: string) => refuse("malformed", why);
  const access = typeof t.accessToken === "object" && t.accessToken !== null
    ? t.accessToken as Record<string, unknown>
    : {};
  const text1 = textField;
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
  if (typeof signInRegion === "string" && signInRegion !== "" && !TOKEN_REGION.test(signInRegion)) {
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
