/**
 * Profile resolution: the loaded shared config + the command + the environment snapshot → {@link Plan}. Pure:
 * the files are read by `shared_config.ts`, so every rule here is unit-tested with plain objects.
 *
 * The rules are the AWS CLI's (botocore's `AssumeRoleProvider`):
 * - a profile with `role_arn` is assumed with the credentials of its `source_profile` (a chain of any depth),
 *   of its `credential_source`, or — with `web_identity_token_file` — with AssumeRoleWithWebIdentity;
 * - in a *source* profile, static keys win over its own `role_arn`: the chain ends at the first source
 *   profile with keys; a profile may name itself as `source_profile` to use its own keys;
 * - a profile without `role_arn` supplies credentials itself: keys, SSO or an `aws login` session
 *   (`login_session`); `credential_process` cannot run in credproc's sandbox and is refused with a message
 *   naming the profile. A `login_session` profile is the one source that may also be printed as it is, with no
 *   role on top (`credproc --profile P` where P has no `role_arn`).
 * Every profile visited is kept in an immutable list that error messages quote, so a loop such as
 * `a → b → a` is reported with its whole path.
 */
import { ConfigError, UsageError } from "../errors.ts";
import {
  type AssumeOptions,
  type Env,
  type EnvName,
  type HopPlan,
  type OsName,
  type Plan,
  type SourceEnv,
  type SourcePlan,
  type TokenSource,
  unhandled,
} from "../model.ts";
import { planCacheDir } from "../cache/dir.ts";
import { endpointProblem, signinTokenEndpointProblem } from "../sandbox.ts";
import { suggestName } from "../suggest.ts";
import {
  hasControlCharacter,
  ifSet,
  ROLE_ARN,
  ROLE_ARN_EXPECTED,
  wholeNumberExpected,
  wholeNumberIn,
} from "../validate.ts";
import { type ProfileEndpointSettings, resolveEndpoint, resolveRetry } from "./endpoint.ts";
import { checkPlan, defaultSessionName, hopsFromFlags, mfaSessionPlan } from "./hops.ts";

/** One section's settings (`key = value`), as the SDK's loader returns them. */
export type ProfileSettings = Readonly<Record<string, string | undefined>>;

/**
 * The shared files as `@smithy/shared-ini-file-loader` loads them: config-file `[profile x]` and `[default]`
 * sections appear as `x` and `default`, `[sso-session s]` as `sso-session.s`; credentials-file sections by name.
 */
export interface SharedConfig {
  readonly configFile: Readonly<Record<string, ProfileSettings>>;
  readonly credentialsFile: Readonly<Record<string, ProfileSettings>>;
  /** Where the files are (they may not exist), for messages. */
  readonly configPath: string;
  readonly credentialsPath: string;
  /** The home directory the paths were found from (the SSO token cache is under it). */
  readonly home?: string;
}

/** A config with no profiles (no files), for callers and tests that have none. */
export function emptySharedConfig(
  configPath = "~/.aws/config",
  credentialsPath = "~/.aws/credentials",
): SharedConfig {
  return { configFile: {}, credentialsFile: {}, configPath, credentialsPath };
}

/** A profile's settings with the credentials file's values winning over the config file's, as in the SDK. */
export function getProfile(config: SharedConfig, name: string): ProfileSettings | undefined {
  const fromConfig = Object.hasOwn(config.configFile, name) ? config.configFile[name] : undefined;
  const fromCredentials = Object.hasOwn(config.credentialsFile, name)
    ? config.credentialsFile[name]
    : undefined;
  if (fromConfig === undefined && fromCredentials === undefined) return undefined;
  return { ...fromConfig, ...fromCredentials };
}

/** `credential_source` values the AWS CLI accepts, and the source each one means. */
const CREDENTIAL_SOURCES = {
  Environment: "environment",
  Ec2InstanceMetadata: "instance-metadata",
  EcsContainer: "container",
} as const satisfies Readonly<Record<string, SourcePlan["kind"]>>;

/** The source kinds a `credential_source` names. */
type CredentialSourceKind = typeof CREDENTIAL_SOURCES[keyof typeof CREDENTIAL_SOURCES];

/** The kind a `credential_source` value names (case-sensitive, as in the AWS CLI), if any. */
function credentialSourceKind(value: string): CredentialSourceKind | undefined {
  for (const [name, kind] of Object.entries(CREDENTIAL_SOURCES)) if (name === value) return kind;
  return undefined;
}

/**
 * The source a `credential_source` names, built per kind so the compiler checks each one's fields (a kind
 * added to CREDENTIAL_SOURCES is a compile error here until it is built).
 */
function credentialSource(kind: CredentialSourceKind, profile: string): SourcePlan {
  switch (kind) {
    case "environment":
      return { kind: "environment", profile };
    case "instance-metadata":
      return { kind: "instance-metadata", profile };
    case "container":
      return { kind: "container", profile };
    default:
      return unhandled(kind, "credential source");
  }
}

/** The longest `source_profile` chain credproc follows (the AWS CLI has no limit; real chains have 2–4). */
export const MAX_PROFILE_CHAIN = 32;

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
  options: AssumeOptions,
  env: Env,
  config: SharedConfig,
  now: Date,
  os: OsName,
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

  const hops = options.roleArns.length > 0 && !(options.webIdentity !== undefined && explicit === undefined)
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
    format: options.format,
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
  if (options.webIdentity !== undefined) return webIdentityStart(ctx, options.webIdentity, "--role-arn");
  // Keys in the environment win over AWS_PROFILE, as in the AWS CLI (the JS SDK skips them when a profile is
  // named, so the source is planned explicitly rather than left to the SDK's default chain).
  if (ifSet(env.AWS_ACCESS_KEY_ID) !== undefined) return { source: { kind: "environment" }, ...none };
  if (settings?.role_arn !== undefined) return resolveProfile(ctx, name, [], false);
  if (ifSet(env.AWS_WEB_IDENTITY_TOKEN_FILE) && ifSet(env.AWS_ROLE_ARN)) {
    return webIdentityStart(ctx, { kind: "file", path: env.AWS_WEB_IDENTITY_TOKEN_FILE! }, "AWS_ROLE_ARN");
  }
  if (settings !== undefined && hasOwnCredentials(settings)) return resolveProfile(ctx, name, [], false);
  if (fromEnv !== undefined && settings === undefined) {
    throw profileNotFound(ctx, fromEnv, env.AWS_PROFILE ? "AWS_PROFILE" : "AWS_DEFAULT_PROFILE");
  }
  return { source: { kind: "default-chain", profile: fromEnv }, ...none };
}

/**
 * Whether a profile without `role_arn` supplies credentials itself (keys, SSO, an `aws login` session, or a
 * process we refuse).
 */
export function hasOwnCredentials(s: ProfileSettings): boolean {
  return s.aws_access_key_id !== undefined || s.aws_secret_access_key !== undefined || isSso(s) ||
    isLogin(s) || s.credential_process !== undefined;
}

/** Whether a `credential_process` command runs credproc (by the program's file name). */
export function runsCredproc(command: string): boolean {
  const program = /^\s*(?:"([^"]*)"|'([^']*)'|(\S+))/.exec(command);
  const path = program?.[1] ?? program?.[2] ?? program?.[3] ?? "";
  return /^credproc(?:[-_.][\w.-]*)?(?:\.exe)?$/i.test(path.split(/[\\/]/).pop() ?? "");
}

interface Context {
  readonly config: SharedConfig;
  readonly options: AssumeOptions;
  readonly env: Env;
  readonly defaultName: string;
}

/** A profile's contribution: where the first credentials come from and the roles assumed after them. */
interface Resolved {
  readonly source: SourcePlan;
  readonly hops: readonly HopPlan[];
  readonly sourceIsRole: boolean;
  /** The profiles visited, from the one named down to the one that supplied the first credentials. */
  readonly visited: readonly string[];
  /** Whether `--web-identity-token-*` was used to start the chain. */
  readonly usedTokenOverride?: boolean;
}

/**
 * Resolves profile `name`. `visited` holds the profiles above it (never mutated: each level passes a new
 * list down). `asSource` is true when `name` was reached through `source_profile`: then its static keys,
 * if any, end the chain.
 */
function resolveProfile(ctx: Context, name: string, visited: readonly string[], asSource: boolean): Resolved {
  const s = getProfile(ctx.config, name)!;
  const path = [...visited, name];
  // Bounds the recursion by a constant, not by the input: a generated chain of thousands of profiles is
  // refused with a message instead of exhausting the stack.
  if (path.length > MAX_PROFILE_CHAIN) {
    throw new ConfigError(
      `profile ${path[0]}`,
      `its source_profile chain is longer than ${MAX_PROFILE_CHAIN} profiles (${
        chain(path.slice(0, 3))
      } → …)`,
    );
  }
  const keys = staticKeys(name, s, path);
  if (asSource && keys !== undefined) return { source: keys, hops: [], sourceIsRole: false, visited: path };

  if (s.role_arn === undefined) return ownCredentials(ctx, name, s, path);

  const token = ctx.options.webIdentity;
  const isTop = visited.length === 0;
  if (s.web_identity_token_file !== undefined || (token !== undefined && !hasRoleSource(s))) {
    const tokenSource: TokenSource = token ?? { kind: "file", path: s.web_identity_token_file! };
    // AssumeRoleWithWebIdentity takes no MFA, external id or source identity: the AWS CLI ignores them here.
    const hop = {
      ...profileHop(ctx, name, s, path),
      serialNumber: undefined,
      externalId: undefined,
      sourceIdentity: undefined,
    };
    return {
      ...webIdentityChain([hop], tokenSource, path),
      usedTokenOverride: token !== undefined,
    };
  }
  if (s.source_profile !== undefined && s.credential_source !== undefined) {
    throw new ConfigError(
      `profile ${name}`,
      `has both source_profile and credential_source; keep one (profiles visited: ${chain(path)})`,
    );
  }
  if (s.credential_source !== undefined) {
    const kind = credentialSourceKind(s.credential_source);
    if (kind === undefined) {
      throw new ConfigError(
        `profile ${name}`,
        `credential_source ${JSON.stringify(s.credential_source)} is not one of ${
          Object.keys(CREDENTIAL_SOURCES).join(", ")
        }`,
      );
    }
    return {
      source: credentialSource(kind, name),
      hops: [profileHop(ctx, name, s, path)],
      sourceIsRole: false,
      visited: path,
    };
  }
  if (s.source_profile !== undefined) {
    const next = s.source_profile;
    let below: Resolved;
    if (next === name) {
      // A profile may name itself to use its own keys for its own role (only ever at the top of a chain:
      // lower down its keys would already have won).
      if (keys === undefined) {
        throw new ConfigError(
          `profiles ${chain([...path, next])}`,
          "source_profile loop (a profile can be its own source only when it holds keys)",
        );
      }
      below = { source: keys, hops: [], sourceIsRole: false, visited: path };
    } else {
      if (path.includes(next)) {
        throw new ConfigError(`profiles ${chain([...path, next])}`, "source_profile loop");
      }
      if (getProfile(ctx.config, next) === undefined) {
        throw new ConfigError(
          `profile ${name}`,
          `source_profile ${JSON.stringify(next)} does not exist (profiles visited: ${chain(path)})`,
          {
            hint:
              `define [profile ${next}] in ${ctx.config.configPath} or [${next}] in ${ctx.config.credentialsPath}`,
          },
        );
      }
      below = resolveProfile(ctx, next, path, true);
    }
    return { ...below, hops: [...below.hops, profileHop(ctx, name, s, path)] };
  }
  throw new ConfigError(
    `profile ${name}`,
    `has role_arn but no source_profile, credential_source or web_identity_token_file (profiles visited: ${
      chain(path)
    })`,
    {
      hint: isTop
        ? "add source_profile = NAME (a profile with keys or SSO) or credential_source = Environment|Ec2InstanceMetadata|EcsContainer"
        : undefined,
    },
  );
}

/** A profile without `role_arn`: its keys, its SSO settings, or a clear refusal. */
function ownCredentials(ctx: Context, name: string, s: ProfileSettings, path: readonly string[]): Resolved {
  const keys = staticKeys(name, s, path);
  if (keys !== undefined) return { source: keys, hops: [], sourceIsRole: false, visited: path };
  if (isSso(s)) {
    // SSO credentials are a role session (the permission set's role): a role assumed with them is chained.
    return { source: ssoSource(ctx, name, s), hops: [], sourceIsRole: true, visited: path };
  }
  // After keys and SSO, before credential_process: botocore's order for a profile's own credentials.
  if (isLogin(s)) {
    const source = loginSource(ctx, name, s);
    // A console session of a role (federation, IAM Identity Center) gives role-session credentials.
    return { source, hops: [], sourceIsRole: /:assumed-role\//.test(source.session), visited: path };
  }
  if (s.credential_process !== undefined) {
    const self = runsCredproc(s.credential_process);
    throw new ConfigError(
      `profile ${name}`,
      self
        ? `its credential_process runs credproc itself, so it cannot be credproc's source (profiles visited: ${
          chain(path)
        })`
        : `gets its credentials from credential_process, which cannot run inside credproc's sandbox (profiles visited: ${
          chain(path)
        })`,
      {
        hint: self
          ? "name the profile that holds the source credentials: credential_process = credproc --profile SOURCE ... (AWS_PROFILE is passed down to credential_process, so it names the calling profile)"
          : "use a source credproc can read itself: keys (aws_access_key_id), SSO (sso_session), credential_source, or web_identity_token_file with role_arn",
      },
    );
  }
  if (s.web_identity_token_file !== undefined) {
    throw new ConfigError(`profile ${name}`, "has web_identity_token_file but no role_arn");
  }
  throw new ConfigError(
    `profile ${name}`,
    `has no credentials: no keys, role_arn, SSO settings or credential_source (profiles visited: ${
      chain(path)
    })`,
  );
}

function staticKeys(name: string, s: ProfileSettings, path: readonly string[]): SourcePlan | undefined {
  const id = s.aws_access_key_id;
  const secret = s.aws_secret_access_key;
  if (id === undefined && secret === undefined) return undefined;
  if (id === undefined || secret === undefined) {
    throw new ConfigError(
      `profile ${name}`,
      `partial credentials: ${
        id === undefined ? "aws_access_key_id" : "aws_secret_access_key"
      } is missing (profiles visited: ${chain(path)})`,
    );
  }
  return {
    kind: "static",
    profile: name,
    accessKeyId: id,
    secretAccessKey: secret,
    sessionToken: s.aws_session_token,
  };
}

function isSso(s: ProfileSettings): boolean {
  return s.sso_session !== undefined || s.sso_start_url !== undefined;
}

/** A profile `aws login` wrote (AWS CLI >= 2.32): `login_session = <console session ARN>`. */
function isLogin(s: ProfileSettings): boolean {
  return s.login_session !== undefined;
}

/** The longest `login_session` value accepted (an ARN is at most 2048 characters). */
const MAX_LOGIN_SESSION = 2048;

/**
 * An `aws login` source: the session, where the SDK finds its token (`AWS_LOGIN_CACHE_DIRECTORY`, else
 * `<home>/.aws/login/cache`, as `@aws-sdk/credential-provider-login` reads it) and the sign-in endpoint
 * override, checked here so a mistake is bad input, not a failed refresh.
 */
function loginSource(
  ctx: Context,
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
  const dir = ifSet(ctx.env.AWS_LOGIN_CACHE_DIRECTORY);
  // The SDK takes the variable as it is (no ~ or $VAR expansion, unlike the AWS CLI), relative to a working
  // directory nobody chose: only an absolute path names the same file for both.
  if (dir !== undefined && !/^(?:\/|[A-Za-z]:[\\/]|\\\\)/.test(dir)) {
    throw new ConfigError(
      "AWS_LOGIN_CACHE_DIRECTORY",
      `${JSON.stringify(dir)} is not an absolute path (the SDK does not expand ~ or $VARIABLES)`,
    );
  }
  const endpointUrl = ifSet(ctx.env.AWS_ENDPOINT_URL_SIGNIN?.trim());
  const problem = endpointUrl === undefined ? undefined : signinTokenEndpointProblem(endpointUrl);
  if (problem !== undefined) {
    throw new ConfigError("AWS_ENDPOINT_URL_SIGNIN", problem, {
      hint:
        "credproc refreshes an aws login session only at its region's sign-in host (or loopback, for tests)",
    });
  }
  const tokenCacheDir = dir ??
    (ctx.config.home === undefined ? undefined : `${ctx.config.home}/.aws/login/cache`);
  const region = ifSet(s.region) ?? ifSet(ctx.env.AWS_REGION);
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
 * The SSO settings the SDK will use, read as `@aws-sdk/credential-provider-sso` reads them; checked here so a typo is a config error, not a failed login.
 */
function ssoSource(ctx: Context, name: string, s: ProfileSettings): SourcePlan {
  let session: ProfileSettings = {};
  if (s.sso_session !== undefined) {
    const section = `sso-session.${s.sso_session}`;
    if (!Object.hasOwn(ctx.config.configFile, section)) {
      throw new ConfigError(
        `profile ${name}`,
        `sso_session ${
          JSON.stringify(s.sso_session)
        } has no [sso-session ${s.sso_session}] section in ${ctx.config.configPath}`,
      );
    }
    session = ctx.config.configFile[section];
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
    ...(ctx.config.home === undefined ? {} : { tokenCacheDir: `${ctx.config.home}/.aws/sso/cache` }),
  };
}

function hasRoleSource(s: ProfileSettings): boolean {
  return s.source_profile !== undefined || s.credential_source !== undefined;
}

/** The hop a profile with `role_arn` defines. */
function profileHop(ctx: Context, name: string, s: ProfileSettings, path: readonly string[]): HopPlan {
  const roleArn = s.role_arn!;
  if (!ROLE_ARN.test(roleArn)) {
    throw new ConfigError(
      `profile ${name}`,
      `role_arn ${JSON.stringify(roleArn)} is not ${ROLE_ARN_EXPECTED} (profiles visited: ${chain(path)})`,
    );
  }
  return {
    kind: "assume-role",
    roleArn,
    roleSessionName: s.role_session_name ?? ctx.options.roleSessionName ?? ctx.defaultName,
    durationSeconds: duration(name, s.duration_seconds),
    externalId: s.external_id,
    serialNumber: s.mfa_serial,
    sourceIdentity: s.source_identity,
    profile: name,
  };
}

function duration(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = wholeNumberIn(value, 900, 43200);
  if (seconds === undefined) {
    throw new ConfigError(
      `profile ${name}`,
      `duration_seconds ${JSON.stringify(value)} is not ${wholeNumberExpected(900, 43200)}`,
    );
  }
  return seconds;
}

/** Web identity without a profile: the first `--role-arn`, else `AWS_ROLE_ARN`, with the token given. */
function webIdentityStart(
  ctx: Context,
  token: TokenSource,
  roleFrom: "--role-arn" | "AWS_ROLE_ARN",
): Resolved {
  const { options, env } = ctx;
  const sessionName = options.roleSessionName ?? ifSet(env.AWS_ROLE_SESSION_NAME) ?? ctx.defaultName;
  let roleArns = options.roleArns;
  if (roleFrom === "--role-arn" && roleArns.length === 0) {
    const fromEnv = ifSet(env.AWS_ROLE_ARN);
    if (fromEnv === undefined) {
      throw new UsageError(
        token.kind === "file" ? "--web-identity-token-file" : "--web-identity-token-env",
        "needs --role-arn (or AWS_ROLE_ARN)",
      );
    }
    roleArns = [fromEnv];
  } else if (roleFrom === "AWS_ROLE_ARN") {
    roleArns = [env.AWS_ROLE_ARN!];
  }
  if (!ROLE_ARN.test(roleArns[0])) {
    throw new ConfigError("AWS_ROLE_ARN", `${JSON.stringify(roleArns[0])} is not an IAM role ARN`);
  }
  if (roleFrom === "AWS_ROLE_ARN") {
    // The environment's role is the source; --role-arn flags (if any) are assumed on top by the caller.
    const hop: HopPlan = { kind: "assume-role", roleArn: roleArns[0], roleSessionName: sessionName };
    return webIdentityChain([hop], token, []);
  }
  return webIdentityChain(hopsFromFlags(options, roleArns, sessionName), token, []);
}

/** A chain with no source: its first hop is AssumeRoleWithWebIdentity with `token`, the rest AssumeRole. */
function webIdentityChain(
  hops: readonly HopPlan[],
  token: TokenSource,
  visited: readonly string[],
): Resolved {
  const [first, ...rest] = hops;
  return {
    source: { kind: "none" },
    hops: [{ ...first, kind: "web-identity", webIdentity: token }, ...rest],
    sourceIsRole: false,
    visited,
  };
}

/**
 * Without `--role-arn`, the per-hop flags override the top hop's profile values (policies and tags included:
 * the top hop is the session the user receives). With `--web-identity-token-*` and no profile, the flags were
 * already applied by {@link webIdentityStart}.
 */
function withTopFlags(
  hops: readonly HopPlan[],
  options: AssumeOptions,
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
  if (options.webIdentity !== undefined && options.profile === undefined) return [...hops];
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
function roleOnlyFlag(options: AssumeOptions): string | undefined {
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

function describeSource(r: Resolved): string {
  const holder = r.visited[r.visited.length - 1];
  switch (r.source.kind) {
    case "static":
      return `the keys in profile ${holder}`;
    case "sso":
      return `SSO (profile ${holder})`;
    case "login":
      return `the aws login session of profile ${holder}`;
    case "none":
      return "web identity";
    case "environment":
    case "instance-metadata":
    case "container":
    case "default-chain":
      return `credential_source (profile ${holder})`;
    default:
      return unhandled(r.source, "source kind");
  }
}

/** The profiles the shared files define (config-file `[sso-session]` and `[services]` sections are not). */
function profileNames(config: SharedConfig): Set<string> {
  const fromConfig = Object.keys(config.configFile).filter((k) => !/^(?:sso-session|services)\./.test(k));
  return new Set([...fromConfig, ...Object.keys(config.credentialsFile)]);
}

function profileNotFound(ctx: Context, name: string, from: string): ConfigError {
  const near = suggestName(name, profileNames(ctx.config));
  return new ConfigError(
    `profile ${name}`,
    `not found in ${ctx.config.configPath} or ${ctx.config.credentialsPath}${
      from === "--profile" ? "" : ` (named by ${from})`
    }`,
    {
      hint: near === undefined
        ? "check the name, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE"
        : `did you mean ${from === "--profile" ? `--profile ${near}` : `${from}=${near}`}?`,
    },
  );
}

function chain(path: readonly string[]): string {
  return path.join(" → ");
}
