/**
 * The plan: what credproc will do, as plain data — where the first credentials come from, which roles are
 * assumed in order, and how STS is reached. Built by pure functions from the command, the environment snapshot
 * and (for `--profile`) the loaded shared config; the cache key is derived from it.
 */
import { ConfigError, UsageError } from "../errors.ts";
import type {
  AssumeOptions,
  EndpointPlan,
  Env,
  HopPlan,
  MfaSessionPlan,
  Plan,
  RetryPlan,
  SourcePlan,
} from "../model.ts";
import { REGION } from "../validate.ts";

/** AWS caps a session assumed with role-session credentials ("role chaining") at one hour. */
export const ROLE_CHAINING_MAX_SECONDS = 3600;

/** The default session name: `credproc-<unix seconds>`. */
export function defaultSessionName(now: Date): string {
  return `credproc-${Math.floor(now.getTime() / 1000)}`;
}

/** Region: flag, then AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1. */
export function resolveRegion(flag: string | undefined, env: Env, profileRegion?: string): string {
  if (flag !== undefined) return flag;
  for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION"] as const) {
    const value = env[name];
    if (value !== undefined && value !== "") return configRegion(value, name);
  }
  if (profileRegion !== undefined) return configRegion(profileRegion, "region in the profile");
  return "us-east-1";
}

/** A region from the environment or a profile: bad input, but not a flag, so no `--help` hint. */
function configRegion(value: string, what: string): string {
  if (REGION.test(value)) return value;
  throw new ConfigError(what, `${JSON.stringify(value)} is not an AWS region such as us-east-1`);
}

/** Parses a boolean setting the way the SDK does (`true`/`false`, case-insensitive). */
export function parseBool(value: string | undefined, what: string): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  const v = value.toLowerCase();
  if (v === "true") return true;
  if (v === "false") return false;
  throw new ConfigError(what, `${JSON.stringify(value)} is not true or false`);
}

/** Attempts per STS call when `AWS_MAX_ATTEMPTS` is unset (the SDK's standard mode default). */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** The most attempts credproc allows: `--timeout` is split between them. */
export const MAX_MAX_ATTEMPTS = 10;

/**
 * Retries from `AWS_MAX_ATTEMPTS` (1–10, default 3) and `AWS_RETRY_MODE` (`standard`, `adaptive`; `legacy`,
 * which SDK v3 no longer has, counts as `standard`). Garbage is bad input (exit 2), not silently ignored.
 */
export function resolveRetry(env: Env): RetryPlan {
  const attempts = env.AWS_MAX_ATTEMPTS?.trim();
  let maxAttempts = DEFAULT_MAX_ATTEMPTS;
  if (attempts !== undefined && attempts !== "") {
    if (!/^\d{1,3}$/.test(attempts) || Number(attempts) < 1 || Number(attempts) > MAX_MAX_ATTEMPTS) {
      throw new ConfigError(
        "AWS_MAX_ATTEMPTS",
        `${JSON.stringify(env.AWS_MAX_ATTEMPTS)} is not a whole number from 1 to ${MAX_MAX_ATTEMPTS}`,
      );
    }
    maxAttempts = Number(attempts);
  }
  const mode = env.AWS_RETRY_MODE?.trim().toLowerCase();
  if (mode === undefined || mode === "" || mode === "standard" || mode === "legacy") {
    return { maxAttempts, retryMode: "standard" };
  }
  if (mode === "adaptive") return { maxAttempts, retryMode: "adaptive" };
  throw new ConfigError(
    "AWS_RETRY_MODE",
    `${JSON.stringify(env.AWS_RETRY_MODE)} is not standard, adaptive or legacy`,
  );
}

/** Endpoint settings from flags, the environment and (optionally) profile values. */
export function resolveEndpoint(
  options: Pick<AssumeOptions, "region" | "endpointUrl">,
  env: Env,
  profile: { region?: string; useFips?: string; useDualstack?: string; stsRegionalEndpoints?: string } = {},
): EndpointPlan {
  const regional = env.AWS_STS_REGIONAL_ENDPOINTS ?? profile.stsRegionalEndpoints;
  if (regional !== undefined && regional !== "" && regional !== "regional" && regional !== "legacy") {
    throw new ConfigError("sts_regional_endpoints", `${JSON.stringify(regional)} is not regional or legacy`);
  }
  return {
    region: resolveRegion(options.region, env, profile.region),
    endpointUrl: options.endpointUrl,
    useFips: parseBool(env.AWS_USE_FIPS_ENDPOINT, "AWS_USE_FIPS_ENDPOINT") ??
      parseBool(profile.useFips, "use_fips_endpoint") ?? false,
    useDualstack: parseBool(env.AWS_USE_DUALSTACK_ENDPOINT, "AWS_USE_DUALSTACK_ENDPOINT") ??
      parseBool(profile.useDualstack, "use_dualstack_endpoint") ?? false,
    useGlobalEndpoint: regional === "legacy",
  };
}

/**
 * Applies the per-hop flags to a list of role ARNs: MFA, external id, source identity and session tags go to
 * the first hop (tags marked transitive carry on); the session policies go to the last hop, the session the
 * user receives; session name and duration go to every hop.
 */
export function hopsFromFlags(
  options: AssumeOptions,
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

/**
 * Plan for the flag-only case (no `--profile`): the SDK's default chain (or web identity) supplies the first
 * credentials, then each `--role-arn` is assumed in order.
 */
export function planFromFlags(options: AssumeOptions, env: Env, now: Date): Plan {
  const sessionName = options.roleSessionName ?? defaultSessionName(now);
  let hops = hopsFromFlags(options, options.roleArns, sessionName);
  let source: SourcePlan = { kind: "default-chain", profile: env.AWS_PROFILE || undefined };
  if (options.webIdentity !== undefined) {
    if (hops.length === 0) throw new UsageError("--web-identity-token-file", "needs --role-arn");
    hops = [
      { ...hops[0], kind: "web-identity", webIdentity: options.webIdentity, externalId: undefined },
      ...hops.slice(1),
    ];
    source = { kind: "none" };
  }
  const plan: Plan = {
    source,
    mfaSession: mfaSessionPlan(options),
    hops,
    endpoint: resolveEndpoint(options, env),
    format: options.format,
  };
  checkPlan(plan);
  return plan;
}

/** The `--mfa-session` part of a plan, if asked for. */
export function mfaSessionPlan(options: AssumeOptions, profileSerial?: string): MfaSessionPlan | undefined {
  if (!options.mfaSession) return undefined;
  const serialNumber = options.serialNumber ?? profileSerial;
  if (serialNumber === undefined) {
    throw new UsageError("--mfa-session", "needs --serial-number (or mfa_serial in the profile)");
  }
  return { serialNumber, tokenCode: options.tokenCode, durationSeconds: options.mfaSessionDurationSeconds };
}

/** Checks rules that span hops, before any call is made. */
export function checkPlan(plan: Plan): void {
  if (plan.hops.length === 0) throw new UsageError("--role-arn", "no role to assume");
  if (plan.mfaSession && ["sso", "instance-metadata", "container"].includes(plan.source.kind)) {
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
