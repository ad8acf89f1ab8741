/**
 * Composes a plan into one provider: source → [MFA session] → hop 1 → hop 2 …, each step using the previous
 * step's credentials. Collaborators come in as arguments so tests run it with fakes and no network.
 */
import { type Logger, maskKeyId } from "../log.ts";
import type { MfaCodeSource } from "./mfa.ts";
import type {
  CredentialProvider,
  Credentials,
  HopPlan,
  MfaSessionPlan,
  Plan,
  PolicySource,
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
