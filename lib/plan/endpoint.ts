/**
 * How STS is reached: the region, the endpoint variant (FIPS, dual-stack, global) and the retry settings,
 * resolved from flags, the environment snapshot and the profile's values. Garbage is bad input (exit 2).
 */
import { ConfigError, UsageError } from "../errors.ts";
import { endpointProblem } from "../sandbox.ts";
import type { EndpointPlan, Env, RetryPlan, RoleOptions } from "../model.ts";
import { REGION, wholeNumberExpected, wholeNumberIn } from "../validate.ts";

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
    const n = wholeNumberIn(attempts, 1, MAX_MAX_ATTEMPTS);
    if (n === undefined) {
      throw new ConfigError(
        "AWS_MAX_ATTEMPTS",
        `${JSON.stringify(env.AWS_MAX_ATTEMPTS)} is not ${wholeNumberExpected(1, MAX_MAX_ATTEMPTS)}`,
      );
    }
    maxAttempts = n;
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

/** The profile values endpoint resolution reads. */
export interface ProfileEndpointSettings {
  region?: string;
  useFips?: string;
  useDualstack?: string;
  stsRegionalEndpoints?: string;
  /** `endpoint_url` in the profile. */
  endpointUrl?: string;
  /** `sts = \n endpoint_url = …` in the profile's `[services NAME]` section. */
  servicesEndpointUrl?: string;
  /** The `services` section's name, for messages. */
  services?: string;
  ignoreConfiguredEndpointUrls?: string;
}

/**
 * The STS endpoint URL, in the AWS CLI's order: `--endpoint-url`; then, unless
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (or the profile's `ignore_configured_endpoint_urls`) is true,
 * `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, the profile's `[services]` section (`sts = endpoint_url = …`),
 * the profile's `endpoint_url`. Whatever wins must have the shape of an STS endpoint, a metadata address or
 * loopback (exit 2, naming where it came from). `undefined`: the SDK's endpoint rules pick the URL from the
 * region and the FIPS / dual-stack / global settings.
 */
export function resolveEndpointUrl(
  flag: string | undefined,
  env: Env,
  profile: ProfileEndpointSettings = {},
): { url?: string; from?: string } {
  const candidates: [string | undefined, string][] = [[flag, "--endpoint-url"]];
  const ignore = parseBool(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") ??
    parseBool(profile.ignoreConfiguredEndpointUrls, "ignore_configured_endpoint_urls") ?? false;
  if (!ignore) {
    candidates.push(
      [env.AWS_ENDPOINT_URL_STS, "AWS_ENDPOINT_URL_STS"],
      [env.AWS_ENDPOINT_URL, "AWS_ENDPOINT_URL"],
      [profile.servicesEndpointUrl, `sts endpoint_url in [services ${profile.services ?? ""}]`],
      [profile.endpointUrl, "endpoint_url in the profile"],
    );
  }
  for (const [value, from] of candidates) {
    const url = value?.trim();
    if (url === undefined || url === "") continue;
    const problem = endpointProblem(url);
    if (problem !== undefined) {
      // The same hint whichever setting named the endpoint: the fix is the same.
      const hint = "credproc only calls STS endpoints of AWS partitions, instance metadata and loopback";
      if (from === "--endpoint-url") throw new UsageError(from, problem, { hint });
      throw new ConfigError(from, problem, { hint });
    }
    return { url, from };
  }
  return {};
}

/** Endpoint settings from flags, the environment and (optionally) profile values. */
export function resolveEndpoint(
  options: Pick<RoleOptions, "region" | "endpointUrl">,
  env: Env,
  profile: ProfileEndpointSettings = {},
): EndpointPlan {
  const configured = resolveEndpointUrl(options.endpointUrl, env, profile);
  const regional = env.AWS_STS_REGIONAL_ENDPOINTS ?? profile.stsRegionalEndpoints;
  if (regional !== undefined && regional !== "" && regional !== "regional" && regional !== "legacy") {
    throw new ConfigError("sts_regional_endpoints", `${JSON.stringify(regional)} is not regional or legacy`);
  }
  return {
    region: resolveRegion(options.region, env, profile.region),
    endpointUrl: configured.url,
    endpointFrom: configured.from,
    useFips: parseBool(env.AWS_USE_FIPS_ENDPOINT, "AWS_USE_FIPS_ENDPOINT") ??
      parseBool(profile.useFips, "use_fips_endpoint") ?? false,
    useDualstack: parseBool(env.AWS_USE_DUALSTACK_ENDPOINT, "AWS_USE_DUALSTACK_ENDPOINT") ??
      parseBool(profile.useDualstack, "use_dualstack_endpoint") ?? false,
    useGlobalEndpoint: regional === "legacy",
  };
}
