/**
 * The sources a sign-in leaves behind, read from a profile as the SDK's providers will read them: IAM Identity
 * Center (`aws sso login`: `sso_session` or `sso_start_url`) and `aws login` (`login_session`). Each is checked
 * while planning — a missing setting, a token cache that cannot be named, an endpoint override outside the
 * sandbox — so a mistake is bad input, not a failed sign-in. The profile walk (profiles.ts) asks them for a
 * profile's own credentials; they are apart from it because they read what the walk does not (the token
 * caches, the sign-in endpoint, the region) and each mirrors one SDK provider.
 */
import { ConfigError } from "../errors.ts";
import type { Env, SourcePlan } from "../model.ts";
import { signinTokenEndpointProblem } from "../sandbox.ts";
import { hasControlCharacter, ifSet } from "../validate.ts";
import type { ProfileSettings, SharedConfig } from "./shared_config.ts";

/** A profile `aws configure sso` wrote: `sso_session`, or the legacy `sso_start_url`. */
export function isSso(s: ProfileSettings): boolean {
  return s.sso_session !== undefined || s.sso_start_url !== undefined;
}

/** A profile `aws login` wrote (AWS CLI >= 2.32): `login_session = <console session ARN>`. */
export function isLogin(s: ProfileSettings): boolean {
  return s.login_session !== undefined;
}

/** The longest `login_session` value accepted (an ARN is at most 2048 characters). */
const MAX_LOGIN_SESSION = 2048;

/**
 * An `aws login` source: the session, where the SDK finds its token (`AWS_LOGIN_CACHE_DIRECTORY`, else
 * `<home>/.aws/login/cache`, as `@aws-sdk/credential-provider-login` reads it) and the sign-in endpoint
 * override, checked here so a mistake is bad input, not a failed refresh.
 */
export function loginSource(
  config: SharedConfig,
  env: Env,
  name: string,
  s: ProfileSettings,
): Extract<SourcePlan, { kind: "login" }> {
  const session = (s.login_session ?? "").trim();
  if (session === "" || session.length > MAX_LOGIN_SESSION || hasControlCharacter(session)) {
    throw new ConfigError(
      `profile ${name}`,
      `login_session must be the console session's ARN (one line, at most ${MAX_LOGIN_SESSION} characters)`,
      { hint: `run aws login --profile ${name} to write it` },
    );
  }
  const dir = ifSet(env.AWS_LOGIN_CACHE_DIRECTORY);
  // The SDK takes the variable as it is (no ~ or $VAR expansion, unlike the AWS CLI), relative to a working
  // directory nobody chose: only an absolute path names the same file for both.
  if (dir !== undefined && !/^(?:\/|[A-Za-z]:[\\/]|\\\\)/.test(dir)) {
    throw new ConfigError(
      "AWS_LOGIN_CACHE_DIRECTORY",
      `${JSON.stringify(dir)} is not an absolute path (the SDK does not expand ~ or $VARIABLES)`,
    );
  }
  const endpointUrl = ifSet(env.AWS_ENDPOINT_URL_SIGNIN?.trim());
  const problem = endpointUrl === undefined ? undefined : signinTokenEndpointProblem(endpointUrl);
  if (problem !== undefined) {
    throw new ConfigError("AWS_ENDPOINT_URL_SIGNIN", problem, {
      hint:
        "credproc refreshes an aws login session only at its region's sign-in host (or loopback, for tests)",
    });
  }
  const tokenCacheDir = dir ??
    (config.home === undefined ? undefined : `${config.home}/.aws/login/cache`);
  const region = ifSet(s.region) ?? ifSet(env.AWS_REGION);
  return {
    kind: "login",
    profile: name,
    session,
    ...(tokenCacheDir === undefined ? {} : { tokenCacheDir }),
    // The SDK's order when the token names no sign-in region: the profile's region, then AWS_REGION.
    ...(region === undefined ? {} : { region }),
    ...(endpointUrl === undefined ? {} : { endpointUrl }),
  };
}

/**
 * The SSO settings the SDK will use, read as `@aws-sdk/credential-provider-sso` reads them; checked here so a
 * typo is a config error, not a failed login.
 */
export function ssoSource(config: SharedConfig, name: string, s: ProfileSettings): SourcePlan {
  let session: ProfileSettings = {};
  if (s.sso_session !== undefined) {
    const section = `sso-session.${s.sso_session}`;
    if (!Object.hasOwn(config.configFile, section)) {
      throw new ConfigError(
        `profile ${name}`,
        `sso_session ${
          JSON.stringify(s.sso_session)
        } has no [sso-session ${s.sso_session}] section in ${config.configPath}`,
      );
    }
    session = config.configFile[section];
  }
  // With a session, the SDK takes both from it (and refuses a profile that disagrees).
  const from = s.sso_session === undefined ? s : session;
  const startUrl = from.sso_start_url;
  const ssoRegion = from.sso_region;
  const accountId = s.sso_account_id;
  const roleName = s.sso_role_name;
  const missing = [
    ["sso_start_url", startUrl],
    ["sso_region", ssoRegion],
    ["sso_account_id", accountId],
    ["sso_role_name", roleName],
  ].filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length > 0) {
    throw new ConfigError(`profile ${name}`, `SSO profile is missing ${missing.join(", ")}`);
  }
  return {
    kind: "sso",
    profile: name,
    startUrl: startUrl!,
    ssoRegion: ssoRegion!,
    accountId: accountId!,
    roleName: roleName!,
    ...(s.sso_session === undefined ? {} : { session: s.sso_session }),
    ...(config.home === undefined ? {} : { tokenCacheDir: `${config.home}/.aws/sso/cache` }),
  };
}
