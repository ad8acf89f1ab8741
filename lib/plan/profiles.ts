/**
 * The profile-chain walk: a profile's settings → where the chain's first credentials come from and the roles
 * assumed after them. Pure: the shared files arrive loaded (shared_config.ts), so every rule is unit-tested with
 * plain objects. The rules are the AWS CLI's (botocore's `AssumeRoleProvider`):
 * - a profile with `role_arn` is assumed with the credentials of its `source_profile` (a chain of any depth), of
 *   its `credential_source`, or — with web identity ({@link webIdentityRule}) — with AssumeRoleWithWebIdentity;
 * - in a *source* profile, static keys win over its own `role_arn`: the chain ends at the first source profile
 *   with keys; a profile may name itself as `source_profile` to use its own keys;
 * - a profile without `role_arn` supplies credentials itself: keys, SSO or an `aws login` session
 *   (sign_in_sources.ts); `credential_process` cannot run in credproc's sandbox and is refused with a message
 *   naming the profile.
 * Every profile visited is kept in an immutable list that error messages quote, so a loop such as `a → b → a` is
 * reported with its whole path.
 */
import { ConfigError } from "../errors.ts";
import {
  type Env,
  type HopPlan,
  type RoleOptions,
  type SourcePlan,
  type TokenSource,
  unhandled,
} from "../model.ts";
import { suggestName } from "../suggest.ts";
import { ifSet, ROLE_ARN, ROLE_ARN_EXPECTED, wholeNumberExpected, wholeNumberIn } from "../validate.ts";
import { getProfile, type ProfileSettings, type SharedConfig } from "./shared_config.ts";
import { isLogin, isSso, loginSource, ssoSource } from "./sign_in_sources.ts";

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

/** What the walk reads: the files, the command, the environment, and the session name it defaults to. */
export interface Context {
  readonly config: SharedConfig;
  readonly options: RoleOptions;
  readonly env: Env;
  readonly defaultName: string;
}

/** A profile's contribution: where the first credentials come from and the roles assumed after them. */
export interface Resolved {
  readonly source: SourcePlan;
  readonly hops: readonly HopPlan[];
  readonly sourceIsRole: boolean;
  /** The profiles visited, from the one named down to the one that supplied the first credentials. */
  readonly visited: readonly string[];
  /** Whether `--web-identity-token-*` was used to start the chain. */
  readonly usedTokenOverride?: boolean;
  /** Whether the `--role-arn` flags and the per-hop flags are in `hops` already (web identity, no profile). */
  readonly flagsApplied?: boolean;
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

/**
 * Resolves profile `name`. `visited` holds the profiles above it (never mutated: each level passes a new
 * list down). `asSource` is true when `name` was reached through `source_profile`: then its static keys,
 * if any, end the chain.
 */
export function resolveProfile(
  ctx: Context,
  name: string,
  visited: readonly string[],
  asSource: boolean,
): Resolved {
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

  const isTop = visited.length === 0;
  const web = webIdentityRule(ctx.options, ctx.env, s);
  if (web !== undefined) {
    // AssumeRoleWithWebIdentity takes no MFA, external id or source identity: the AWS CLI ignores them here.
    const hop = {
      ...profileHop(ctx, name, s, path),
      serialNumber: undefined,
      externalId: undefined,
      sourceIdentity: undefined,
    };
    return { ...webIdentityChain([hop], web.token, path), usedTokenOverride: web.viaFlag };
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
    return { source: ssoSource(ctx.config, name, s), hops: [], sourceIsRole: true, visited: path };
  }
  // After keys and SSO, before credential_process: botocore's order for a profile's own credentials.
  if (isLogin(s)) {
    const source = loginSource(ctx.config, ctx.env, name, s);
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

/** Where a web identity token comes from, when web identity applies. */
export interface WebIdentity {
  readonly token: TokenSource;
  /** From `--web-identity-token-file|env`; else a profile's `web_identity_token_file` or the environment's. */
  readonly viaFlag: boolean;
}

/**
 * The web-identity rule, answered here for every caller (the walk, for each profile with `role_arn`; the
 * planner, for a chain without a profile):
 * - a profile with `role_arn`: the `--web-identity-token-*` token when the profile has `web_identity_token_file`
 *   (the flag replaces it) or names no other source (no `source_profile`, no `credential_source`: the flag
 *   completes it); else its own `web_identity_token_file`; else no web identity;
 * - no profile: the `--web-identity-token-*` token; else `AWS_WEB_IDENTITY_TOKEN_FILE` when `AWS_ROLE_ARN` is set
 *   too (the AWS CLI's pair); else no web identity.
 * Which role the token is for, and where this comes in the order of sources, is the caller's.
 */
export function webIdentityRule(
  options: Pick<RoleOptions, "webIdentity">,
  env: Env,
  profile?: ProfileSettings,
): WebIdentity | undefined {
  const flag = options.webIdentity;
  if (profile !== undefined) {
    if (profile.role_arn === undefined) return undefined;
    const file = profile.web_identity_token_file;
    if (flag !== undefined && (file !== undefined || !hasRoleSource(profile))) {
      return { token: flag, viaFlag: true };
    }
    return file === undefined ? undefined : { token: { kind: "file", path: file }, viaFlag: false };
  }
  if (flag !== undefined) return { token: flag, viaFlag: true };
  const file = ifSet(env.AWS_WEB_IDENTITY_TOKEN_FILE);
  return file !== undefined && ifSet(env.AWS_ROLE_ARN) !== undefined
    ? { token: { kind: "file", path: file }, viaFlag: false }
    : undefined;
}

/** A chain with no source: its first hop is AssumeRoleWithWebIdentity with `token`, the rest AssumeRole. */
export function webIdentityChain(
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

/** What a chain's first credentials are, for messages. */
export function describeSource(r: Resolved): string {
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

/** A profile that is not there, with the nearest name defined (`did you mean`). */
export function profileNotFound(ctx: Context, name: string, from: string): ConfigError {
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
