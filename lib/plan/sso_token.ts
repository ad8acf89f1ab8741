/**
 * The token `aws sso login` caches for an SSO source (`~/.aws/sso/cache/<hex SHA-1>.json`, see `ssoTokenFile`
 * in lib/plan/shared_config.ts), judged before the SDK's SSO provider reads it by the same rule as the `aws
 * login` token (lib/plan/token_file.ts: a regular file of this user, writable by no one else, bounded, a JSON
 * object), then its shape: the access token and its expiry the SDK requires, and a region of region shape
 * when one is named (the SDK refreshes the token there). Which sign-in it holds (the access token) is a secret
 * input of the cache key.
 */
import { readTokenFile, textField, TOKEN_REGION, TokenFileError, type TokenFileJudge } from "./token_file.ts";

/** The SSO token file holds a few tokens and ids (KiB); anything larger is not one. */
export const MAX_SSO_TOKEN_BYTES = 64 * 1024;

/**
 * The SSO token file as a kind of token file: its errors in the same words as the SDK's sign-in errors (the step
 * the SDK's own failures are reported under, lib/providers/sources.ts), with the same hint.
 */
const SSO_TOKEN_FILE = {
  writer: "aws sso login",
  maxBytes: MAX_SSO_TOKEN_BYTES,
  what: (profile: string) => `source credentials (sso from profile ${profile})`,
  signIn: (profile: string) => `aws sso login --profile ${profile}`,
};

/** What credproc takes from the SSO token file: the sign-in (a secret) and when it ends. */
export interface SsoToken {
  readonly accessToken: string;
  readonly expiresAt: Date;
}

/** Why the SSO token file cannot be used (see `SSO_TOKEN_FILE`). */
export class SsoTokenError extends TokenFileError {}

/** Reads and judges the SSO token file of `profile` (see the module's comment); throws an {@link SsoTokenError}. */
export async function readSsoToken(path: string, profile: string, judge: TokenFileJudge): Promise<SsoToken> {
  const { doc: t, refuse } = await readTokenFile(path, profile, judge, SSO_TOKEN_FILE, SsoTokenError);
  const missing = [["accessToken", textField(t.accessToken)], ["expiresAt", textField(t.expiresAt)]]
    .filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length > 0) throw refuse("malformed", `missing ${missing.join(", ")}`);
  const expiresAt = new Date(t.expiresAt as string);
  if (Number.isNaN(expiresAt.getTime())) throw refuse("malformed", "expiresAt is not a date");
  for (const field of ["refreshToken", "clientId", "clientSecret", "startUrl"] as const) {
    if (t[field] !== undefined && typeof t[field] !== "string") {
      throw refuse("malformed", `${field} is not text`);
    }
  }
  if (t.region !== undefined && (typeof t.region !== "string" || !TOKEN_REGION.test(t.region))) {
    throw refuse("malformed", "region is not a region");
  }
  return { accessToken: t.accessToken as string, expiresAt };
}
