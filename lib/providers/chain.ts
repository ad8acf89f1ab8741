/**
 * Composes a plan into one provider: source → [MFA session] → hop 1 → hop 2 …, each step using the previous
 * step's credentials. Collaborators come in as arguments so tests run it with fakes and no network.
 */
import { type Logger, maskKeyId } from "../log.ts";
import { ConfigError, CredentialsError } from "../errors.ts";
import { CONTROL_CHARACTER_REASON, hasControlCharacter } from "../validate.ts";
import type { MfaCodeSource } from "./mfa.ts";
import type {
  CredentialProvider,
  Credentials,
  HopPlan,
  MfaSessionPlan,
  Plan,
  PolicySource,
  SourcePlan,
  TokenSource,
} from "../model.ts";
import type { StsCaller } from "./sts.ts";

/** What the chain needs from the outside world. */
export interface ChainDeps {
  readonly sts: StsCaller;
  /** The first credentials (unused when the first hop is web identity). */
  readonly source: CredentialProvider;
  readonly mfaCode: MfaCodeSource;
  readonly loadPolicy: (source: PolicySource) => Promise<string>;
  readonly loadToken: (source: TokenSource) => Promise<string>;
  readonly log: Logger;
  /**
   * Wraps the `--mfa-session` step (source → GetSessionToken) so it can be cached on its own: a hit then needs
   * neither the source credentials nor an MFA code, and one code serves every role assumed with the session.
   */
  readonly wrapMfaSession?: (session: CredentialProvider, plan: MfaSessionPlan) => CredentialProvider;
}

/** The provider for a whole plan. */
export function chainProvider(plan: Plan, deps: ChainDeps): CredentialProvider {
  return async () => {
    const { log } = deps;
    // Read policy files before anything is sent: a bad file must not cost an STS call or an MFA prompt.
    const policies = await Promise.all(
      plan.hops.map((h) => h.policy ? deps.loadPolicy(h.policy) : undefined),
    );
    const source = async () => {
      const c = await deps.source();
      log.secret(c.secretAccessKey);
      log.secret(c.sessionToken);
      checkSourceCredentials(c, plan.source);
      log.debug(`source credentials (${plan.source.kind}): ${maskKeyId(c.accessKeyId)}`);
      return c;
    };
    let current: Credentials | undefined;
    const mfaSession = plan.mfaSession;
    if (mfaSession && plan.source.kind !== "none") {
      const { serialNumber, durationSeconds } = mfaSession;
      const session: CredentialProvider = async () => {
        const from = await source();
        const tokenCode = mfaSession.tokenCode ?? await deps.mfaCode(serialNumber);
        const result = await deps.sts.getSessionToken(from, { serialNumber, tokenCode, durationSeconds });
        return result.credentials;
      };
      current = await (deps.wrapMfaSession ? deps.wrapMfaSession(session, mfaSession) : session)();
      log.secret(current.secretAccessKey);
      log.secret(current.sessionToken);
      log.debug(`MFA session ${maskKeyId(current.accessKeyId)} until ${current.expiration?.toISOString()}`);
    } else if (plan.source.kind !== "none") {
      current = await source();
    }
    for (const [i, hop] of plan.hops.entries()) {
      current = await runHop(hop, current, policies[i], deps);
    }
    return current!;
  };
}

async function runHop(
  hop: HopPlan,
  current: Credentials | undefined,
  policy: string | undefined,
  deps: ChainDeps,
): Promise<Credentials> {
  const base = {
    roleArn: hop.roleArn,
    roleSessionName: hop.roleSessionName,
    durationSeconds: hop.durationSeconds,
    policy,
    policyArns: hop.policyArns,
  };
  const result = hop.kind === "web-identity" || current === undefined
    ? await deps.sts.assumeRoleWithWebIdentity({ ...base, webIdentityToken: await token(hop, deps) })
    : await deps.sts.assumeRole(current, {
      ...base,
      externalId: hop.externalId,
      serialNumber: hop.serialNumber,
      tokenCode: hop.serialNumber === undefined
        ? undefined
        : hop.tokenCode ?? await deps.mfaCode(hop.serialNumber),
      tags: hop.tags,
      transitiveTagKeys: hop.transitiveTagKeys,
      sourceIdentity: hop.sourceIdentity,
    });
  deps.log.debug(
    `assumed ${result.assumedRoleArn ?? hop.roleArn} as ${
      maskKeyId(result.credentials.accessKeyId)
    } until ${result.credentials.expiration?.toISOString()}`,
  );
  return result.credentials;
}

async function token(hop: HopPlan, deps: ChainDeps): Promise<string> {
  if (!hop.webIdentity) throw new Error(`hop ${hop.roleArn} has no web identity token source`);
  const t = await deps.loadToken(hop.webIdentity);
  deps.log.secret(t);
  return t;
}

/**
 * Source credentials holding a control character are refused before any request (sent as a header, they
 * would fail with an error that quotes them): keys written in a profile are bad input (exit 2), keys an
 * endpoint or the SDK's chain gave are a failure (exit 1). The message names the field, never the value.
 */
function checkSourceCredentials(c: Credentials, source: SourcePlan): void {
  const fields: [string, string | undefined][] = [
    ["aws_access_key_id", c.accessKeyId],
    ["aws_secret_access_key", c.secretAccessKey],
    ["aws_session_token", c.sessionToken],
  ];
  const field = fields.find(([, v]) => v !== undefined && hasControlCharacter(v))?.[0];
  if (field === undefined) return;
  if (source.kind === "static") {
    throw new ConfigError(`profile ${source.profile}`, `${field} ${CONTROL_CHARACTER_REASON}`, {
      hint: "write the key on one line in the shared credentials file",
    });
  }
  throw new CredentialsError(
    `source credentials (${source.kind})`,
    `the ${field} ${CONTROL_CHARACTER_REASON}`,
  );
}
