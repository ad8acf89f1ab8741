/**
 * The secrets a plan's credentials depend on, in one list: the source's secret key and session token (written
 * in a profile, or the environment's), each web identity token, the SSO sign-in's access token and the `aws
 * login` token's DPoP key. `lib/cli/role.ts` registers them with the logger (so no message can print them) and
 * hands them to the call's cache session, which keys the entry by their keyed digest (lib/cache/digests.ts
 * `secretsDigest`): another secret never gets this secret's credentials. The order is part of the cache key
 * (tests/unit/plan_secrets_test.ts pins it).
 */
import { type LoginToken, type Plan, type TokenSource, unhandled } from "../model.ts";

/**
 * The source's secret values the plan itself holds: keys written in the profile, or the environment's for the
 * sources that read it. Known without I/O, so they can be registered before anything can fail with them.
 */
export function sourceSecrets(plan: Pick<Plan, "source" | "sourceEnv">): (string | undefined)[] {
  const { source, sourceEnv } = plan;
  switch (source.kind) {
    case "static":
      return [source.secretAccessKey, source.sessionToken];
    case "environment":
    case "default-chain":
      return [sourceEnv.secretAccessKey, sourceEnv.sessionToken];
    case "sso":
    case "login":
    case "instance-metadata":
    case "container":
    case "none":
      return [];
    default:
      return unhandled(source, "source kind");
  }
}

/** Where {@link planSecrets} reads the secrets the plan only names. */
export interface SecretReaders {
  /** A web identity token's text (the caller reads each source once per call, for the key and the call). */
  readonly webIdentityToken: (token: TokenSource) => Promise<string>;
  /**
   * For an SSO source: its token, as read for the key (judged first: lib/plan/sso_token.ts); none without a
   * token file to read (no home directory).
   */
  readonly ssoToken?: () => Promise<{ readonly accessToken: string }>;
  /** For an `aws login` source: its token, as read for the key. */
  readonly loginToken?: () => Promise<LoginToken>;
}

/**
 * Every secret of the plan, in the cache key's order: {@link sourceSecrets}, then one value per hop (its web
 * identity token, or nothing), then the SSO access token (when there is a token file to read it from), then the
 * `aws login` DPoP key. Absent values stay in the list, so each keeps its place.
 */
export async function planSecrets(plan: Plan, readers: SecretReaders): Promise<(string | undefined)[]> {
  const tokens = await Promise.all(
    plan.hops.map((h) => h.webIdentity && readers.webIdentityToken(h.webIdentity)),
  );
  const sso = plan.source.kind !== "sso" || readers.ssoToken === undefined
    ? []
    : [(await readers.ssoToken()).accessToken];
  const signedIn = plan.source.kind !== "login" || readers.loginToken === undefined
    ? []
    : [(await readers.loginToken()).dpopKey];
  return [...sourceSecrets(plan), ...tokens, ...sso, ...signedIn];
}
