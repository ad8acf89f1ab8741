/**
 * The planner: the loaded shared config + the command + the environment snapshot → {@link Plan}. Pure: the files
 * are read by `shared_config.ts`, so every rule here is unit-tested with plain objects. It decides where the
 * chain starts — in the order the AWS CLI looks (see {@link resolvePlan}) — and puts the `--role-arn` flags, the
 * MFA session, the endpoint and the environment's word on the source on top; the profile-chain walk itself is
 * profiles.ts. A `login_session` profile is the one source that may also be printed as it is, with no role on
 * top (`credproc --profile P` where P has no `role_arn`).
 */
import { ConfigError, UsageError } from "../errors.ts";
import type {
  Env,
  EnvName,
  HopPlan,
  Os,
  OutputOptions,
  Plan,
  RoleOptions,
  SourceEnv,
  SourcePlan,
} from "../model.ts";
import { planCacheDir } from "../cache/dir.ts";
import { endpointProblem } from "../sandbox.ts";
import { ifSet, ROLE_ARN } from "../validate.ts";
import { type ProfileEndpointSettings, resolveEndpoint, resolveRetry } from "./endpoint.ts";
import { checkPlan, defaultSessionName, hopsFromFlags, mfaSessionPlan } from "./hops.ts";
import {
  type Context,
  describeSource,
  hasOwnCredentials,
  profileNotFound,
  type Resolved,
  resolveProfile,
  type WebIdentity,
  webIdentityChain,
  webIdentityRule,
} from "./profiles.ts";
import { getProfile, type ProfileSettings, type SharedConfig } from "./shared_config.ts";

/**
 * The plan for an `assume` command:
 * - `--profile P`: P's chain; flags override the top hop, or with `--role-arn R…` P's credentials are the
 *   source and R… are assumed on top (like `aws --profile P sts assume-role --role-arn R`).
 * - `--web-identity-token-file|env`: AssumeRoleWithWebIdentity on the first `--role-arn` (or `AWS_ROLE_ARN`).
 * - otherwise, in the order the AWS CLI looks: keys in the environment; the profile named by `AWS_PROFILE`
 *   (or `[default]`) when it has `role_arn`; `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`; that profile's
 *   own credentials; else the SDK's default chain (container, instance metadata).
 * The endpoint settings (`region`, `sts_regional_endpoints`, FIPS, dual-stack) come from the profile used.
 * Without a role, only an `aws login` session is printed as it is; `sourceOnly` (`credproc eks-token`, which
 * signs with whatever the source gives, as `aws eks get-token --profile P`) accepts any source.
 */
export function resolvePlan(
  options: RoleOptions & Partial<OutputOptions>,
  env: Env,
  config: SharedConfig,
  now: Date,
  os: Os,
  { sourceOnly = false }: { readonly sourceOnly?: boolean } = {},
): Plan {
  const ctx: Context = { config, options, env, defaultName: defaultSessionName(now) };
  const explicit = options.profile;
  const fromEnv = explicit === undefined
    ? ifSet(env.AWS_PROFILE) ?? ifSet(env.AWS_DEFAULT_PROFILE)
    : undefined;
  const name = explicit ?? fromEnv ?? "default";
  const settings = getProfile(config, name);

  const base = startOfChain(ctx, name, fromEnv, settings);
  // The profile whose endpoint settings apply (and that the plan names): the one looked up, if it exists.
  const profile = settings === undefined ? undefined : name;

  const hops = options.roleArns.length > 0 && !base.flagsApplied
    ? [...base.hops, ...hopsFromFlags(options, options.roleArns, options.roleSessionName ?? ctx.defaultName)]
    : withTopFlags(base.hops, options, base, sourceOnly);

  const endpointSettings = settings === undefined ? {} : endpointFromProfile(config, settings);
  const mfaSession = mfaSessionPlan(options, topSerial(hops));
  const plan: Plan = {
    source: base.source,
    sourceIsRole: base.sourceIsRole,
    mfaSession,
    // One MFA session serves every role that asks for the same device.
    hops: mfaSession
      ? hops.map((h) =>
        h.serialNumber === mfaSession.serialNumber
          ? { ...h, serialNumber: undefined, tokenCode: undefined }
          : h
      )
      : hops,
    endpoint: resolveEndpoint(options, env, endpointSettings),
    retry: resolveRetry(env),
    cacheDir: planCacheDir(options.cacheDir, env, os),
    sourceEnv: sourceEnv(env),
    format: options.format ?? "process",
    ...(options.includeAccountId ? { includeAccountId: true } : {}),
    profile,
    profiles: base.visited.length > 0 ? base.visited : undefined,
  };
  checkPlan(plan, sourceOnly);
  checkSourceEndpoints(plan.source, env);
  return plan;
}

/** The environment's word on the source credentials, read once here (see {@link SourceEnv}). */
function sourceEnv(env: Env): SourceEnv {
  // Every field named (a new one is a compile error until it is read here).
  const snapshot: Readonly<Record<keyof SourceEnv, string | undefined>> = {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    sessionToken: env.AWS_SESSION_TOKEN,
    profile: env.AWS_PROFILE,
    configFile: env.AWS_CONFIG_FILE,
    credentialsFile: env.AWS_SHARED_CREDENTIALS_FILE,
    roleArn: env.AWS_ROLE_ARN,
    containerFullUri: env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
    containerRelativeUri: env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
    imdsEndpoint: env.AWS_EC2_METADATA_SERVICE_ENDPOINT,
  };
  return snapshot;
}

/** Variables that point the SDK's source providers at an endpoint, and the sources that use them. */
const SOURCE_ENDPOINT_VARS: readonly [EnvName, readonly SourcePlan["kind"][]][] = [
  ["AWS_CONTAINER_CREDENTIALS_FULL_URI", ["default-chain", "container"]],
  ["AWS_EC2_METADATA_SERVICE_ENDPOINT", ["default-chain", "instance-metadata"]],
  ["AWS_ENDPOINT_URL_SSO", ["default-chain", "sso"]],
  ["AWS_ENDPOINT_URL_SSO_OIDC", ["default-chain", "sso"]],
];

/**
 * The endpoints the source providers would use must have an allowed shape too (loopback, a metadata address,
 * an SSO / SSO-OIDC endpoint): refused before anything is sent, naming the variable.
 */
function checkSourceEndpoints(source: SourcePlan, env: Env): void {
  for (const [name, kinds] of SOURCE_ENDPOINT_VARS) {
    const value = env[name]?.trim();
    if (value === undefined || value === "" || !kinds.includes(source.kind)) continue;
    const problem = endpointProblem(value);
    if (problem !== undefined) {
      throw new ConfigError(name, problem, {
        hint: "credproc only calls STS and SSO endpoints of AWS partitions, instance metadata and loopback",
      });
    }
  }
}

/** Where the chain starts: the source and the roles before any `--role-arn` (see {@link resolvePlan}). */
function startOfChain(
  ctx: Context,
  name: string,
  fromEnv: string | undefined,
  settings: ProfileSettings | undefined,
): Resolved {
  const { options, env } = ctx;
  const none = { hops: [], sourceIsRole: false, visited: [] };
  if (options.profile !== undefined) {
    if (settings === undefined) throw profileNotFound(ctx, name, "--profile");
    const base = resolveProfile(ctx, name, [], false);
    if (options.webIdentity !== undefined && !base.usedTokenOverride) {
      throw new UsageError(
        options.webIdentity.kind === "file" ? "--web-identity-token-file" : "--web-identity-token-env",
        `profile ${name} gets its first credentials from ${describeSource(base)}; a token only replaces ` +
          "web_identity_token_file (or completes a role_arn that has no source)",
      );
    }
    return base;
  }
  const web = webIdentityRule(options, env);
  if (web?.viaFlag) return webIdentityStart(ctx, web);
  // Keys in the environment win over AWS_PROFILE, as in the AWS CLI (the JS SDK skips them when a profile is
  // named, so the source is planned explicitly rather than left to the SDK's default chain).
  if (ifSet(env.AWS_ACCESS_KEY_ID) !== undefined) return { source: { kind: "environment" }, ...none };
  if (settings?.role_arn !== undefined) return resolveProfile(ctx, name, [], false);
  if (web !== undefined) return webIdentityStart(ctx, web);
  if (settings !== undefined && hasOwnCredentials(settings)) return resolveProfile(ctx, name, [], false);
  if (fromEnv !== undefined && settings === undefined) {
    throw profileNotFound(ctx, fromEnv, env.AWS_PROFILE ? "AWS_PROFILE" : "AWS_DEFAULT_PROFILE");
  }
  return { source: { kind: "default-chain", profile: fromEnv }, ...none };
}

/**
 * A chain without a profile that starts with web identity ({@link webIdentityRule} said it applies): with the
 * flag's token, the roles are the `--role-arn` flags (or `AWS_ROLE_ARN` when none is given) with the per-hop flags
 * applied here; with the environment's pair, the role is `AWS_ROLE_ARN`, and `--role-arn` flags go on top of it
 * ({@link resolvePlan}).
 */
function webIdentityStart(ctx: Context, web: WebIdentity): Resolved {
  const { options, env } = ctx;
  const sessionName = options.roleSessionName ?? ifSet(env.AWS_ROLE_SESSION_NAME) ?? ctx.defaultName;
  const fromEnv = ifSet(env.AWS_ROLE_ARN);
  const roleArns = web.viaFlag && options.roleArns.length > 0
    ? options.roleArns
    : fromEnv === undefined
    ? []
    : [fromEnv];
  if (roleArns.length === 0) {
    throw new UsageError(
      web.token.kind === "file" ? "--web-identity-token-file" : "--web-identity-token-env",
      "needs --role-arn (or AWS_ROLE_ARN)",
    );
  }
  const first = roleArns[0];
  if (!ROLE_ARN.test(first)) {
    throw new ConfigError("AWS_ROLE_ARN", `${JSON.stringify(first)} is not an IAM role ARN`);
  }
  if (!web.viaFlag) {
    const hop: HopPlan = { kind: "assume-role", roleArn: first, roleSessionName: sessionName };
    return webIdentityChain([hop], web.token, []);
  }
  return {
    ...webIdentityChain(hopsFromFlags(options, roleArns, sessionName), web.token, []),
    flagsApplied: true,
  };
}

/**
 * Without `--role-arn`, the per-hop flags override the top hop's profile values (policies and tags included:
 * the top hop is the session the user receives). With `--web-identity-token-*` and no profile, the flags were
 * already applied by {@link webIdentityStart} (`flagsApplied`).
 */
function withTopFlags(
  hops: readonly HopPlan[],
  options: RoleOptions,
  base: Resolved,
  sourceOnly: boolean,
): HopPlan[] {
  if (hops.length === 0 && (base.source.kind === "login" || (sourceOnly && base.source.kind !== "none"))) {
    // The one source printed as it is: an `aws login` session for tools that cannot read its token; and any
    // source an EKS token is signed with as it is.
    const roleFlag = roleOnlyFlag(options);
    if (roleFlag !== undefined) {
      const holder = base.visited[0] === undefined ? "the source" : `profile ${base.visited[0]}`;
      throw new UsageError(
        roleFlag,
        sourceOnly
          ? `applies to a role, and ${holder} has none (eks-token signs with its credentials as they are); give --role-arn ARN`
          : `applies to a role, and ${holder} has none (its aws login session is printed as it is); give --role-arn ARN`,
      );
    }
    return [];
  }
  if (hops.length === 0) {
    throw new UsageError(
      "--role-arn",
      base.visited.length > 0
        ? `profile ${base.visited[0]} has no role_arn: nothing to assume (give --role-arn ARN)`
        : "required (or --profile NAME with role_arn in the shared config)",
    );
  }
  if (base.flagsApplied) return [...hops];
  const top = hops[hops.length - 1];
  return [
    ...hops.slice(0, -1),
    {
      ...top,
      roleSessionName: options.roleSessionName ?? top.roleSessionName,
      durationSeconds: options.durationSeconds ?? top.durationSeconds,
      externalId: options.externalId ?? top.externalId,
      serialNumber: options.serialNumber ?? top.serialNumber,
      sourceIdentity: options.sourceIdentity ?? top.sourceIdentity,
      policy: options.policy ?? top.policy,
      policyArns: options.policyArns.length > 0 ? options.policyArns : top.policyArns,
      tags: options.tags.length > 0 ? options.tags : top.tags,
      transitiveTagKeys: options.transitiveTagKeys.length > 0
        ? options.transitiveTagKeys
        : top.transitiveTagKeys,
    },
  ];
}

/** The first flag given that only a role takes (for a login source printed without one), if any. */
function roleOnlyFlag(options: RoleOptions): string | undefined {
  const given: [string, boolean][] = [
    ["--role-session-name", options.roleSessionName !== undefined],
    ["--duration-seconds", options.durationSeconds !== undefined],
    ["--external-id", options.externalId !== undefined],
    ["--serial-number", options.serialNumber !== undefined],
    ["--token-code", options.tokenCode !== undefined],
    ["--source-identity", options.sourceIdentity !== undefined],
    [options.policy?.kind === "file" ? "--policy-file" : "--policy", options.policy !== undefined],
    ["--policy-arn", options.policyArns.length > 0],
    ["--tag", options.tags.length > 0],
    ["--transitive-tag-key", options.transitiveTagKeys.length > 0],
    ["--mfa-session", options.mfaSession],
  ];
  return given.find(([, set]) => set)?.[0];
}

/** The MFA device `--mfa-session` uses when `--serial-number` is not given: the top-most hop's. */
function topSerial(hops: readonly HopPlan[]): string | undefined {
  return hops.findLast((h) => h.serialNumber !== undefined)?.serialNumber;
}

function endpointFromProfile(config: SharedConfig, s: ProfileSettings): ProfileEndpointSettings {
  const services = s.services;
  const section = services === undefined ? undefined : config.configFile[`services.${services}`];
  return {
    region: s.region,
    useFips: s.use_fips_endpoint,
    useDualstack: s.use_dualstack_endpoint,
    stsRegionalEndpoints: s.sts_regional_endpoints,
    endpointUrl: s.endpoint_url,
    servicesEndpointUrl: section && Object.hasOwn(section, "sts.endpoint_url")
      ? section["sts.endpoint_url"]
      : undefined,
    services,
    ignoreConfiguredEndpointUrls: s.ignore_configured_endpoint_urls,
  };
}
