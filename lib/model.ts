/**
 * The domain's nouns: what a command asks for ({@link RoleOptions}), what the planner decides
 * ({@link Plan}), what a provider returns ({@link Credentials}), and the few constants every layer shares.
 * A leaf: it imports nothing, so any module may depend on it without pulling in a layer above.
 */

// ── the command ──────────────────────────────────────────────────────────────────────────────────────

/** Output formats; the names follow `aws configure export-credentials --format`. */
export const FORMATS = ["process", "env", "env-no-export", "powershell", "windows-cmd", "fish"] as const;
/** One of {@link FORMATS}. */
export type Format = typeof FORMATS[number];

/** Whether a string (a flag value, a memo field) names one of {@link FORMATS}. */
export function isFormat(value: string): value is Format {
  return (FORMATS as readonly string[]).includes(value);
}

/** A session tag from `--tag KEY=VALUE`. */
export interface Tag {
  readonly key: string;
  readonly value: string;
}

/** Where a session policy comes from: inline JSON (already validated) or a file (validated once read). */
export type PolicySource =
  | { readonly kind: "inline"; readonly json: string }
  | { readonly kind: "file"; readonly path: string };

/** Where a web identity (OIDC) token comes from. */
export type TokenSource =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "env"; readonly name: string };

/** Cache behaviour: use it, bypass it, or force a new call and rewrite it. */
export type CacheMode = "use" | "off" | "refresh";

/**
 * What every command that assumes a role takes (`assume`, `console`, `serve`, `eks-token`), validated: the
 * role chain and its parameters, where the source credentials come from, the endpoint, the cache, the
 * diagnostics. Each command adds its own (lib/cli/args.ts `Command`).
 */
export interface RoleOptions {
  /** `--role-arn`, in order: each hop is assumed with the previous hop's credentials. */
  readonly roleArns: readonly string[];
  readonly roleSessionName?: string;
  readonly durationSeconds?: number;
  readonly externalId?: string;
  readonly sourceIdentity?: string;
  readonly serialNumber?: string;
  readonly tokenCode?: string;
  readonly policy?: PolicySource;
  readonly policyArns: readonly string[];
  readonly tags: readonly Tag[];
  readonly transitiveTagKeys: readonly string[];
  readonly region?: string;
  readonly endpointUrl?: string;
  readonly verbose: boolean;
  /** `--log-file`: also append the `--verbose` lines to this file. */
  readonly logFile?: string;
  /** The longest one STS call may take, retries included. */
  readonly timeoutSeconds: number;
  readonly profile?: string;
  readonly webIdentity?: TokenSource;
  readonly mfaSession: boolean;
  readonly mfaSessionDurationSeconds?: number;
  /** How long the terminal prompt for an MFA code waits. */
  readonly mfaTimeoutSeconds: number;
  readonly cacheDir?: string;
  readonly cacheMode: CacheMode;
  readonly refreshMarginSeconds?: number;
}

/** What the credentials a command prints carry: `assume` takes both, `serve` the account id only. */
export interface OutputOptions {
  /** `--format`: how `assume` prints the credentials. */
  readonly format: Format;
  /** `--include-account-id`: add the role's account id to the output (`AccountId`, `AWS_ACCOUNT_ID`). */
  readonly includeAccountId?: boolean;
}

/** The `assume` command's options: a role, and how its credentials are printed. */
export interface AssumeOptions extends RoleOptions, OutputOptions {}

// ── the environment ──────────────────────────────────────────────────────────────────────────────────

/**
 * The variables of {@link INPUT_ENV_NAMES} whose value is a path (a file, or a directory something is found
 * in): a relative one resolves against the working directory, which then is one of the call's inputs (see
 * `cwdIsInput` in lib/cache/digests.ts). `HOMEPATH` is judged with `HOMEDRIVE` in front, as the SDK joins them.
 */
export const PATH_ENV_NAMES = [
  "AWS_CONFIG_FILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_WEB_IDENTITY_TOKEN_FILE",
  "AWS_LOGIN_CACHE_DIRECTORY",
  "CREDPROC_CACHE_DIR",
  // Not a plan input, but a call that logs must not be answered by the fast path (which logs nothing).
  "CREDPROC_LOG_FILE",
  "XDG_CACHE_HOME",
  "LOCALAPPDATA",
  "HOME",
  "USERPROFILE",
  "HOMEPATH",
] as const;

/**
 * The environment variables whose values decide the plan: the planner reads them, and the cache's inputs key
 * (which the fast path computes without planning) hashes exactly these, so a variable that shapes the plan
 * also changes the key. Those that hold a path are {@link PATH_ENV_NAMES}.
 */
export const INPUT_ENV_NAMES = [
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_PROFILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_USE_FIPS_ENDPOINT",
  "AWS_USE_DUALSTACK_ENDPOINT",
  "AWS_STS_REGIONAL_ENDPOINTS",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_STS",
  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_EC2_METADATA_SERVICE_ENDPOINT",
  "AWS_ENDPOINT_URL_SSO",
  "AWS_ENDPOINT_URL_SSO_OIDC",
  "AWS_ENDPOINT_URL_SIGNIN",
  "AWS_MAX_ATTEMPTS",
  "AWS_RETRY_MODE",
  "AWS_ACCESS_KEY_ID",
  "AWS_ROLE_ARN",
  "AWS_ROLE_SESSION_NAME",
  "HOMEDRIVE",
  ...PATH_ENV_NAMES,
] as const;

/** The variable that can carry an MFA code: snapshotted with the rest, but no key hashes it (it changes every 30 s). */
export const MFA_ENV = "CREDPROC_MFA_TOKEN_CODE";

/**
 * Names the full program snapshots (the token variable named by `--web-identity-token-env` is added to these):
 * the ones that decide the plan plus the MFA code.
 */
export const ENV_NAMES = [...INPUT_ENV_NAMES, MFA_ENV, "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] as const;

/**
 * Secret variables: snapshotted so the cache key can hold their keyed digest (never their value); the
 * fast path digests the same ones (plus the variable `--web-identity-token-env` names).
 */
export const SECRET_ENV_NAMES = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] as const;

/** The name of a variable credproc reads (see {@link ENV_NAMES}). */
export type EnvName = typeof ENV_NAMES[number];

/**
 * The environment variables credproc reads, snapshotted once by the full program (`lib/cli/role.ts`). Typed
 * by name: reading a variable that is not in {@link ENV_NAMES} (so neither snapshotted nor hashed into the
 * fast path's inputs key) is a compile error.
 */
export type Env = Readonly<Partial<Record<EnvName, string>>>;

/** Raw environment values by any name (what the fast path hashes, the variable `--web-identity-token-env` names). */
export type RawEnv = Readonly<Record<string, string | undefined>>;

/** The operating system, as `Deno.build.os` names it (the cache directory and the null device depend on it). */
export type Os = typeof Deno.build.os;

// ── the plan ─────────────────────────────────────────────────────────────────────────────────────────

/** Where the first credentials come from. */
export type SourcePlan =
  /** The SDK's default chain (env, shared files, SSO, web identity, container, instance metadata). */
  | { readonly kind: "default-chain"; readonly profile?: string }
  /** Keys written in a profile. */
  | {
    readonly kind: "static";
    readonly profile: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  }
  /** `credential_source = Environment | Ec2InstanceMetadata | EcsContainer`. */
  | { readonly kind: "environment" | "instance-metadata" | "container"; readonly profile?: string }
  /**
   * A profile with SSO settings; the SDK reads the SSO token cache. The settings are here (resolved from the
   * profile and its `[sso-session]`) because they decide whose credentials come back: they are keyed.
   */
  | {
    readonly kind: "sso";
    readonly profile: string;
    readonly startUrl: string;
    readonly ssoRegion: string;
    readonly accountId: string;
    readonly roleName: string;
    /** `sso_session`: the token cache is named after it (else after the start URL). */
    readonly session?: string;
    /** `<home>/.aws/sso/cache`, where `aws sso login` leaves the token (none without a home directory). */
    readonly tokenCacheDir?: string;
  }
  /**
   * A profile with `login_session` (`aws login`, AWS CLI >= 2.32): the SDK reads, refreshes and rewrites the
   * token `aws login` cached. The session and the token file are here because they decide whose credentials
   * come back (keyed, with the token's key as a secret input).
   */
  | {
    readonly kind: "login";
    readonly profile: string;
    /** `login_session`: the console session's ARN; the token file is named after its SHA-256. */
    readonly session: string;
    /** `AWS_LOGIN_CACHE_DIRECTORY`, else `<home>/.aws/login/cache` (none without a home directory). */
    readonly tokenCacheDir?: string;
    /** The profile's `region`: where the token is refreshed when it does not name its sign-in region. */
    readonly region?: string;
    /** `AWS_ENDPOINT_URL_SIGNIN` (checked: loopback or a sign-in token host), for a local stand-in. */
    readonly endpointUrl?: string;
  }
  /** No source: the first hop is AssumeRoleWithWebIdentity. */
  | { readonly kind: "none" };

/** One role to assume. */
export interface HopPlan {
  readonly kind: "assume-role" | "web-identity";
  readonly roleArn: string;
  readonly roleSessionName: string;
  readonly durationSeconds?: number;
  readonly externalId?: string;
  /** MFA device; the code comes from `tokenCode` or the MFA code source. */
  readonly serialNumber?: string;
  readonly tokenCode?: string;
  readonly policy?: PolicySource;
  readonly policyArns?: readonly string[];
  readonly tags?: readonly Tag[];
  readonly transitiveTagKeys?: readonly string[];
  readonly sourceIdentity?: string;
  /** For `web-identity` hops. */
  readonly webIdentity?: TokenSource;
  /** The profile that defined this hop, for messages. */
  readonly profile?: string;
}

/** aws-vault style: one GetSessionToken with MFA, then roles assumed with that session. */
export interface MfaSessionPlan {
  readonly serialNumber: string;
  readonly tokenCode?: string;
  readonly durationSeconds?: number;
}

/** STS endpoint settings. */
export interface EndpointPlan {
  readonly region: string;
  /** The configured endpoint (flag, environment or profile; see `resolveEndpointUrl`), if any. */
  readonly endpointUrl?: string;
  /** Where {@link EndpointPlan.endpointUrl} came from, for `--verbose` and messages. */
  readonly endpointFrom?: string;
  readonly useFips: boolean;
  readonly useDualstack: boolean;
  readonly useGlobalEndpoint: boolean;
}

/** Everything needed to produce credentials. */
export interface Plan {
  readonly source: SourcePlan;
  readonly mfaSession?: MfaSessionPlan;
  readonly hops: readonly HopPlan[];
  readonly endpoint: EndpointPlan;
  /** Retries of each STS call (from AWS_MAX_ATTEMPTS / AWS_RETRY_MODE), decided once. */
  readonly retry: RetryPlan;
  /** Where the cache lives; `undefined` when no directory is known (then the cache is off, with a warning). */
  readonly cacheDir?: CacheDirPlan;
  /** What the environment says about the source credentials, read once (the cache key's source identity). */
  readonly sourceEnv: SourceEnv;
  readonly format: Format;
  /** Whether the output carries the account id (`--include-account-id`); part of the cache key when set. */
  readonly includeAccountId?: boolean;
  /** The profile whose settings were used (`--profile`, else `AWS_PROFILE` or `[default]`), if any. */
  readonly profile?: string;
  /**
   * Whether the source credentials are themselves a role session (SSO): then the first hop is role chaining
   * too. Credentials from GetSessionToken (`--mfa-session`) are not a role session.
   */
  readonly sourceIsRole?: boolean;
  /** The profiles visited to build the plan, from the one named down to the source (for messages). */
  readonly profiles?: readonly string[];
}

/** The cache directory and who named it. */
export interface CacheDirPlan {
  readonly path: string;
  /**
   * `--cache-dir` or `CREDPROC_CACHE_DIR` when named explicitly (a file there is then bad input, exit 2);
   * `undefined` for the platform's own cache directory.
   */
  readonly namedBy?: "--cache-dir" | "CREDPROC_CACHE_DIR";
}

/**
 * The environment's raw values that identify the source credentials (and, for the key's keyed digest only,
 * their secrets). The SDK's providers read the same variables themselves when they run.
 */
export interface SourceEnv {
  /** `AWS_ACCESS_KEY_ID` */
  readonly accessKeyId?: string;
  /** `AWS_SECRET_ACCESS_KEY`: never printed; only its keyed digest enters a cache key. */
  readonly secretAccessKey?: string;
  /** `AWS_SESSION_TOKEN`: as the secret key. */
  readonly sessionToken?: string;
  /** `AWS_PROFILE` */
  readonly profile?: string;
  /** `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE` */
  readonly configFile?: string;
  readonly credentialsFile?: string;
  /** `AWS_ROLE_ARN` (the default chain falls back to web identity with it) */
  readonly roleArn?: string;
  /** `AWS_CONTAINER_CREDENTIALS_FULL_URI`, `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` */
  readonly containerFullUri?: string;
  readonly containerRelativeUri?: string;
  /** `AWS_EC2_METADATA_SERVICE_ENDPOINT` */
  readonly imdsEndpoint?: string;
}

/** Retry settings for STS calls. */
export interface RetryPlan {
  readonly maxAttempts: number;
  readonly retryMode: "standard" | "adaptive";
}

// ── credentials ──────────────────────────────────────────────────────────────────────────────────────

/** The credentials shape used everywhere inside credproc (the SDK's `AwsCredentialIdentity`). */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** When the credentials stop working; absent for long-term keys. */
  readonly expiration?: Date;
  /** The 12-digit account of the assumed role, when STS named it (printed only with `--include-account-id`). */
  readonly accountId?: string;
  /**
   * When they were received from STS, when known (credentials read from the cache carry the entry's
   * `issuedAt`): with `expiration` it gives the session's lifetime, which the refresh margin is judged by.
   */
  readonly issuedAt?: Date;
}

/**
 * What credproc takes from the token `aws login` cached, once judged (lib/plan/login_token.ts); the SDK reads
 * the rest itself.
 */
export interface LoginToken {
  readonly path: string;
  /**
   * The DPoP private key (PEM): made by `aws login`, kept across refreshes, so it names the sign-in itself —
   * another `aws login` is another key. A secret: it enters the cache key only as a keyed digest.
   */
  readonly dpopKey: string;
  /** The rotating refresh token (a secret): tells whether someone else refreshed the session meanwhile. */
  readonly refreshToken: string;
  readonly accountId: string;
  readonly expiresAt: Date;
  /** Where the session was signed in (the SDK refreshes there), if the file says. */
  readonly signInRegion?: string;
}

/** A credential provider in the AWS SDK's style: call it to get credentials. */
export type CredentialProvider = () => Promise<Credentials>;

/**
 * An EKS bearer token (`k8s-aws-v1.` + a presigned GetCallerIdentity URL, lib/eks/token.ts) and the
 * `expirationTimestamp` printed with it. A secret: whoever holds it is the role on the cluster until it expires.
 */
export interface EksToken {
  readonly token: string;
  /** Whole seconds; at most 14 minutes after signing, never after the signing credentials' expiry less the margin. */
  readonly expiration: Date;
}

/** The longest token aws-iam-authenticator accepts (its `maxTokenLenBytes`, 4 KiB); credproc never prints a longer one. */
export const EKS_TOKEN_MAX_BYTES = 4096;

// ── exhaustiveness ───────────────────────────────────────────────────────────────────────────────────

/**
 * The `default:` of a `switch` over a union (a source kind, a command, a format): a case left out is a
 * compile error here, and a loud internal error should a value ever get through at run time.
 */
export function unhandled(value: never, what: string): never {
  throw new Error(`unhandled ${what} ${JSON.stringify(value)}`);
}

/**
 * Names the fields a function deliberately leaves out: `rest` must be empty, so a field added to the type
 * later is a compile error where it is destructured until it is handled or named here.
 */
export function noOtherFields(_rest: Record<string, never>): void {}

// ── the null device ──────────────────────────────────────────────────────────────────────────────────

/** The null device's number, fixed by the kernel: `makedev(1, 3)` on Linux, `makedev(3, 2)` on macOS. */
const NULL_DEVICE_RDEV: Readonly<Record<string, number>> = { linux: 0x103, darwin: 0x03000002 };

/**
 * Whether `path` is the null device, which credproc reads as an empty file, as the AWS CLI and the SDKs do
 * (`AWS_CONFIG_FILE=/dev/null` is how CI images and Dockerfiles say "no file"). The rule: on Windows, the name
 * `NUL` (any case, or `\\.\NUL`); elsewhere a character device (`info` from a `stat` that follows symlinks)
 * whose device number is the null device's on Linux and macOS — so `/dev/stdin` pointing at it counts, and
 * `/dev/zero`, `/dev/tty` or a node named `/dev/null` with other numbers do not —, and on other systems a
 * character device at the literal path `/dev/null`. Without `info`, only the Windows name can match.
 */
export function isNullDevice(
  path: string,
  os: Os,
  info?: { readonly isCharDevice: boolean | null; readonly rdev: number | null },
): boolean {
  if (os === "windows") return /^(?:\\\\[.?]\\)?nul$/i.test(path);
  if (info?.isCharDevice !== true) return false;
  const rdev = Object.hasOwn(NULL_DEVICE_RDEV, os) ? NULL_DEVICE_RDEV[os] : undefined;
  return rdev === undefined ? path === "/dev/null" : info.rdev === rdev;
}
