/**
 * The roles of a plan: the default session name, the hops that `--role-arn` flags add, the `--mfa-session`
 * step, and the rules that span hops, checked before any call. The planner (`planner.ts`) composes them.
 */
import { ConfigError, UsageError } from "../errors.ts";
import {
  type HopPlan,
  type MfaSessionPlan,
  type Plan,
  type RoleOptions,
  type SourcePlan,
  unhandled,
} from "../model.ts";

/** AWS caps a session assumed with role-session credentials ("role chaining") at one hour. */
export const ROLE_CHAINING_MAX_SECONDS = 3600;

/** The default session name: `credproc-<unix seconds>`. */
export function defaultSessionName(now: Date): string {
  return `credproc-${Math.floor(now.getTime() / 1000)}`;
}

/**
 * Applies the per-hop flags to a list of role ARNs: MFA, external id, source identity and session tags go to
 * the first hop (tags marked transitive carry on); the session policies go to the last hop, the session the
 * user receives; session name and duration go to every hop.
 */
export function hopsFromFlags(
  options: RoleOptions,
  roleArns: readonly string[],
  sessionName: string,
): HopPlan[] {
  return roleArns.map((roleArn, i) => {
    const first = i === 0;
    const last = i === roleArns.length - 1;
    return {
      kind: "assume-role",
      roleArn,
      roleSessionName: sessionName,
      durationSeconds: options.durationSeconds,
      externalId: first ? options.externalId : undefined,
      serialNumber: first && !options.mfaSession ? options.serialNumber : undefined,
      tokenCode: first && !options.mfaSession ? options.tokenCode : undefined,
      sourceIdentity: first ? options.sourceIdentity : undefined,
      tags: first ? options.tags : undefined,
      transitiveTagKeys: first ? options.transitiveTagKeys : undefined,
      policy: last ? options.policy : undefined,
      policyArns: last ? options.policyArns : undefined,
    };
  });
}

/** The `--mfa-session` part of a plan, if asked for. */
export function mfaSessionPlan(options: RoleOptions, profileSerial?: string): MfaSessionPlan | undefined {
  if (!options.mfaSession) return undefined;
  const serialNumber = options.serialNumber ?? profileSerial;
  if (serialNumber === undefined) {
    throw new UsageError("--mfa-session", "needs --serial-number (or mfa_serial in the profile)");
  }
  return { serialNumber, tokenCode: options.tokenCode, durationSeconds: options.mfaSessionDurationSeconds };
}

/** Whether a source can only give role credentials (so GetSessionToken, `--mfa-session`, cannot use them). */
function givesRoleCredentials(source: SourcePlan): boolean {
  switch (source.kind) {
    case "sso":
    case "login":
    case "instance-metadata":
    case "container":
      return true;
    case "static":
    case "environment":
    case "default-chain":
    case "none":
      return false;
    default:
      return unhandled(source, "source kind");
  }
}

/** Checks rules that span hops, before any call is made. */
export function checkPlan(plan: Plan, sourceOnly = false): void {
  // An `aws login` session is the one source printed without a role (see withTopFlags in planner.ts); an EKS
  // token is signed with any source's credentials.
  if (
    plan.hops.length === 0 && plan.source.kind !== "login" && !(sourceOnly && plan.source.kind !== "none")
  ) {
    throw new UsageError("--role-arn", "no role to assume");
  }
  if (plan.mfaSession && givesRoleCredentials(plan.source)) {
    throw new UsageError(
      "--mfa-session",
      `needs long-term IAM user keys as the source: GetSessionToken does not accept the role credentials that ${plan.source.kind} gives`,
    );
  }
  if (plan.mfaSession && plan.source.kind === "none") {
    throw new UsageError(
      "--mfa-session",
      "cannot be combined with web identity (AssumeRoleWithWebIdentity takes no MFA)",
    );
  }
  plan.hops.forEach((hop, i) => {
    if (hop.kind === "web-identity" && i > 0) {
      throw new ConfigError(
        hop.profile ?? "--web-identity-token-file",
        "web identity can only start a chain",
      );
    }
    if (hop.kind === "web-identity") {
      const unsupported = hop.serialNumber !== undefined
        ? "--serial-number (MFA)"
        : hop.externalId !== undefined
        ? "--external-id"
        : hop.sourceIdentity !== undefined
        ? "--source-identity"
        : hop.tags?.length
        ? "--tag"
        : undefined;
      if (unsupported !== undefined) {
        throw new UsageError(
          unsupported.split(" ")[0],
          `AssumeRoleWithWebIdentity (${hop.roleArn}) takes no ${unsupported}${
            hop.profile ? ` (profile ${hop.profile})` : ""
          }`,
        );
      }
    }
    // The first hop is chained too when its source is itself a role session (SSO).
    const chained = i > 0 || (plan.sourceIsRole === true && plan.mfaSession === undefined);
    if (chained && hop.durationSeconds !== undefined && hop.durationSeconds > ROLE_CHAINING_MAX_SECONDS) {
      throw new UsageError(
        hop.profile ? `duration for ${hop.roleArn} (profile ${hop.profile})` : "--duration-seconds",
        `${hop.durationSeconds} s is too long for ${hop.roleArn}: AWS caps role chaining (assuming a role with another role's credentials) at ${ROLE_CHAINING_MAX_SECONDS} s`,
      );
    }
  });
}
