/**
 * The cache key: a SHA-256 over a canonical, versioned JSON document of everything that determines the
 * credentials a plan produces — the role chain and each hop's parameters, the MFA devices, the STS endpoint,
 * the profile and an identity of the source credentials (a profile name or an access key id, never a secret).
 * Changing any of them gives another key. MFA codes, output format and verbosity are not part of it.
 *
 * Which field of each part of the plan enters a key, and why the others do not, is `KEYING` (keying.ts). Each
 * material function here destructures every field of its part and passes the rest to `noOtherFields`: the
 * compiler's half of that rule, so a field added to a plan type is an error here until it is used or named
 * (`_name`). The comments here say how a field enters; `KEYING` says whether and why.
 *
 * {@link cacheKeyMaterial} is pure (plan + environment snapshot + the text of file policies);
 * {@link cacheKey} hashes it with Web Crypto. Also here: every other key a cache session uses (the
 * `--mfa-session` entry's, an `eks-token` entry's, a lock's — {@link sessionKeys} computes a session's in one
 * call), the fast path's inputs key, the digest key's format and every keyed digest (secrets, watched files).
 * Nothing heavy is imported: this runs on the fast path.
 */
import {
  type HopPlan,
  INPUT_ENV_NAMES,
  isNullDevice,
  type MfaSessionPlan,
  noOtherFields,
  type Os,
  PATH_ENV_NAMES,
  type Plan,
  type PolicySource,
  type RawEnv,
  SECRET_ENV_NAMES,
  unhandled,
} from "../model.ts";
import { hex } from "../output.ts";
import { type ArgvScan, lastValue, takesPath } from "../argv.ts";

/** Bumped whenever the material's meaning changes, so old entries simply miss. */
export const CACHE_KEY_VERSION = 2;

/** A default session name as `defaultSessionName` in lib/plan/hops.ts makes it (`credproc-<unix seconds>`). */
const DEFAULT_SESSION_NAME = /^credproc-\d+$/;

/** What the key needs besides the plan and the environment. */
export interface KeyInputs {
  /** `--role-session-name` when given: a hop name equal to it always counts, even if it looks generated. */
  readonly sessionName?: string;
  /** The policy text of each hop (index-aligned with `plan.hops`), for policies read from files. */
  readonly policies?: readonly (string | undefined)[];
  /**
   * The keyed digest ({@link secretsDigest}) of the plan's secrets (`planSecrets`, lib/plan/secrets.ts: the
   * source's secret key and session token, each web identity token, the SSO access token, the `aws login` DPoP
   * key), so that another secret never gets this secret's credentials.
   */
  readonly secrets?: string;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json | undefined };

/**
 * The canonical document the key hashes, as a string. Exported for tests and `--verbose` reasoning; it holds
 * no secret (only access key ids and names), but callers should still not print it.
 */
export function cacheKeyMaterial(plan: Plan, inputs: KeyInputs = {}): string {
  // KEYING.plan
  const {
    source: _source, // with sourceEnv, through sourceIdentity
    sourceEnv: _sourceEnv,
    profile,
    mfaSession,
    hops,
    endpoint: _endpoint, // through endpointMaterial
    includeAccountId,
    retry: _retry,
    format: _format,
    cacheDir: _cacheDir,
    sourceIsRole: _sourceIsRole,
    profiles: _profiles,
    ...rest
  } = plan;
  noOtherFields(rest);
  const doc: Json = {
    v: CACHE_KEY_VERSION,
    source: sourceIdentity(plan),
    profile,
    mfaSession: mfaSession ? mfaSessionMaterial(mfaSession) : undefined,
    hops: hops.map((hop, i) => hopMaterial(hop, inputs, inputs.policies?.[i])),
    endpoint: endpointMaterial(plan),
    // Only when asked for: keys of calls without the flag stay as they were, and an entry stored without an
    // account id is never served to a call that must print one.
    accountId: includeAccountId ? true : undefined,
    secrets: inputs.secrets,
  };
  return canonicalJson(doc);
}

/**
 * The material of the `--mfa-session` step's own entry: who the source is, the MFA device, the session's
 * duration and the endpoint — no role, no profile of the role — so every role assumed from the same source
 * with the same device shares one session (and one MFA code). Undefined for a plan without an MFA session.
 */
export function mfaSessionKeyMaterial(plan: Plan, secrets?: string): string | undefined {
  if (!plan.mfaSession) return undefined;
  return canonicalJson({
    v: CACHE_KEY_VERSION,
    kind: "mfa-session",
    source: sourceIdentity(plan),
    ...mfaSessionMaterial(plan.mfaSession),
    endpoint: endpointMaterial(plan),
    secrets,
  });
}

/** What an `eks-token` entry is keyed by besides its role entry (see {@link eksTokenKeyMaterial}). */
export interface EksTokenKeyInputs {
  /** The key of the role entry whose credentials sign the token. */
  readonly role: string;
  readonly cluster: string;
  /** The endpoint the token points at, as resolved (scheme, host, path) and the region it is signed for. */
  readonly tokenEndpoint: string;
  readonly signingRegion: string;
  /** The credentials' refresh margin: the token's expiry is capped at their expiry less it. */
  readonly marginMs: number;
}

/**
 * The material of an `eks-token` entry: everything that changes the token. The role entry's key holds the
 * chain, the source and its secrets' digest, and the endpoint settings (region, FIPS, dual-stack, endpoint URL;
 * with the role ARNs they fix the partition); the cluster is signed into the token; the resolved endpoint and
 * signing region are its URL and scope; the margin caps its expiry.
 */
export function eksTokenKeyMaterial(o: EksTokenKeyInputs): string {
  return canonicalJson({
    v: CACHE_KEY_VERSION,
    kind: "eks-token",
    role: o.role,
    cluster: o.cluster,
    endpoint: o.tokenEndpoint,
    signingRegion: o.signingRegion,
    margin: o.marginMs,
  });
}

/** The MFA session's keyed fields (`KEYING.mfaSession`). */
function mfaSessionMaterial(mfaSession: MfaSessionPlan): { serial: string; duration: number | undefined } {
  const { serialNumber, durationSeconds, tokenCode: _tokenCode, ...rest } = mfaSession;
  noOtherFields(rest);
  return { serial: serialNumber, duration: durationSeconds };
}

function endpointMaterial(plan: Plan): Json {
  // KEYING.endpoint
  const { region, endpointUrl, useFips, useDualstack, useGlobalEndpoint, endpointFrom: _from, ...rest } =
    plan.endpoint;
  noOtherFields(rest);
  return { region, url: endpointUrl, fips: useFips, dualstack: useDualstack, global: useGlobalEndpoint };
}

/** The hex SHA-256 of {@link cacheKeyMaterial}. */
export async function cacheKey(plan: Plan, inputs: KeyInputs = {}): Promise<string> {
  return await sha256Hex(cacheKeyMaterial(plan, inputs));
}

/** What a cache session's entries are keyed by (see {@link sessionKeys}). */
export interface SessionKeys {
  /** The keyed digest of the plan's secrets ({@link secretsDigest}). */
  readonly secrets: string;
  /** The role entry's key ({@link cacheKey}). */
  readonly role: string;
  /** The `--mfa-session` entry's key ({@link mfaSessionKeyMaterial}); undefined for a plan without one. */
  readonly mfaSession?: string;
  /** This invocation's inputs key ({@link inputsKey}: the memo's name); undefined without `inputs`. */
  readonly inputs?: string;
}

/**
 * Every key a cache session needs before its first entry's call, in one call (session.ts asks once, when the
 * first entry needs its key): the secrets are read (`secretValues`: reading them may take the session's login
 * lock) and digested under the cache's `digestKey`, file policies loaded, and the role entry's, the
 * `--mfa-session` entry's and the invocation's inputs key made from them.
 */
export async function sessionKeys(plan: Plan, o: {
  readonly digestKey: CryptoKey;
  readonly secretValues: () => Promise<readonly (string | undefined)[]>;
  readonly loadPolicy: (source: PolicySource) => Promise<string>;
  /** `--role-session-name` when given (see {@link KeyInputs}). */
  readonly sessionName?: string;
  /** The invocation's raw inputs, when its memo is read or written. */
  readonly inputs?: { readonly argv: ArgvScan; readonly env: RawEnv; readonly where: Where };
}): Promise<SessionKeys> {
  const secrets = await secretsDigest(o.digestKey, await o.secretValues());
  const role = await cacheKey(plan, {
    sessionName: o.sessionName,
    policies: await filePolicies(plan, o.loadPolicy),
    secrets,
  });
  const mfaSession = mfaSessionKeyMaterial(plan, secrets);
  const i = o.inputs;
  return {
    secrets,
    role,
    ...(mfaSession === undefined ? {} : { mfaSession: await sha256Hex(mfaSession) }),
    ...(i === undefined ? {} : {
      inputs: await inputsKey(i.argv, i.env, i.where, {
        key: o.digestKey,
        secretValues: inputSecretValues(i.argv, (name) => i.env[name]),
      }),
    }),
  };
}

/** An `eks-token` entry's key: the hex SHA-256 of {@link eksTokenKeyMaterial}. */
export async function eksTokenKey(o: EksTokenKeyInputs): Promise<string> {
  return await sha256Hex(eksTokenKeyMaterial(o));
}

/**
 * A lock's key (its file is `<key>.lock`): of what it serializes, by `kind` and its `subject` (for the
 * `login-token` lock, an `aws login` token file's path) — never a secret.
 */
export async function lockKey(kind: string, subject: string): Promise<string> {
  return await sha256Hex(canonicalJson({ v: CACHE_KEY_VERSION, kind, file: subject }));
}

/** Reads the text of every file policy in the plan (inline ones are already in it). */
export async function filePolicies(
  plan: Plan,
  load: (source: PolicySource) => Promise<string>,
): Promise<(string | undefined)[]> {
  return await Promise.all(plan.hops.map((h) => h.policy?.kind === "file" ? load(h.policy) : undefined));
}

/**
 * Who the first credentials belong to, without any secret: an access key id when one is known without
 * I/O, else the profile (and the files it is read from) or the kind of source.
 */
export function sourceIdentity(plan: Pick<Plan, "source" | "sourceEnv">): Json {
  const { source } = plan;
  // KEYING.sourceEnv
  const {
    accessKeyId,
    profile: envProfile,
    configFile,
    credentialsFile,
    roleArn,
    containerFullUri,
    containerRelativeUri,
    imdsEndpoint,
    secretAccessKey: _secretAccessKey, // through the keyed digest of the plan's secrets (lib/plan/secrets.ts)
    sessionToken: _sessionToken,
    ...rest
  } = plan.sourceEnv;
  noOtherFields(rest);
  const files = { config: configFile, credentials: credentialsFile };
  // Another metadata or container endpoint is another source.
  const endpoints = {
    container: containerFullUri || containerRelativeUri || undefined,
    imds: imdsEndpoint || undefined,
  };
  switch (source.kind) {
    case "default-chain": {
      if (accessKeyId !== undefined && accessKeyId !== "") return { kind: source.kind, accessKeyId };
      return {
        kind: source.kind,
        profile: source.profile ?? (envProfile || "default"),
        ...files,
        // The default chain falls back to web identity from these variables.
        webIdentityRole: roleArn || undefined,
        ...endpoints,
      };
    }
    case "static":
      return { kind: source.kind, profile: source.profile, accessKeyId: source.accessKeyId };
    case "environment":
      return { kind: source.kind, profile: source.profile, accessKeyId: accessKeyId || undefined };
    case "instance-metadata":
    case "container":
      return { kind: source.kind, profile: source.profile, ...endpoints };
    case "sso":
      // Whose credentials: the account and role, and the portal and session that sign them in (the token
      // itself is a secret input, see ssoTokenFile in lib/plan/shared_config.ts).
      return {
        kind: source.kind,
        profile: source.profile,
        ...files,
        startUrl: source.startUrl,
        ssoRegion: source.ssoRegion,
        accountId: source.accountId,
        roleName: source.roleName,
        session: source.session,
      };
    case "login":
      // Whose credentials: the console session and the token file the SDK reads and rotates (which sign-in
      // it holds is a secret input: the token's DPoP key, see readLoginToken in lib/plan/login_token.ts), and
      // where it is refreshed.
      return {
        kind: source.kind,
        profile: source.profile,
        ...files,
        session: source.session,
        tokenCacheDir: source.tokenCacheDir,
        region: source.region,
        endpointUrl: source.endpointUrl,
      };
    case "none":
      return { kind: source.kind };
    default:
      return unhandled(source, "source kind");
  }
}

/** A hop's material (`KEYING.hop`). */
function hopMaterial(hop: HopPlan, inputs: KeyInputs, policyText: string | undefined): Json {
  const {
    kind,
    roleArn,
    roleSessionName,
    durationSeconds,
    externalId,
    serialNumber,
    policy,
    policyArns,
    tags,
    transitiveTagKeys,
    sourceIdentity,
    webIdentity,
    tokenCode: _tokenCode,
    profile: _profile,
    ...rest
  } = hop;
  noOtherFields(rest);
  const named = roleSessionName === inputs.sessionName || !DEFAULT_SESSION_NAME.test(roleSessionName);
  return {
    kind,
    role: roleArn,
    // A generated name changes every second; keying on it would never hit.
    session: named ? roleSessionName : undefined,
    duration: durationSeconds,
    externalId,
    serial: serialNumber,
    policy: policy === undefined
      ? undefined
      : policy.kind === "inline"
      ? policy.json
      : { file: policy.path, text: policyText },
    policyArns: policyArns?.length ? [...policyArns] : undefined,
    // Keys are case-insensitive in STS, but values are not: keep them as given, in the order given.
    tags: tags?.length ? tags.map((t) => [t.key, t.value]) : undefined,
    transitiveTagKeys: transitiveTagKeys?.length ? [...transitiveTagKeys] : undefined,
    sourceIdentity,
    webIdentity: webIdentity
      ? webIdentity.kind === "file" ? { file: webIdentity.path } : { env: webIdentity.name }
      : undefined,
  };
}

/** JSON with object keys sorted and `undefined` members dropped, so equal documents give equal text. */
export function canonicalJson(value: Json | undefined): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  const members = Object.keys(value).sort()
    .filter((k) => value[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
  return `{${members.join(",")}}`;
}

/** Hex SHA-256 of a string (UTF-8) or bytes. */
export async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

// ---------------------------------------------------------------------------------------------------------
// The inputs key: what the fast path looks up before parsing anything
// ---------------------------------------------------------------------------------------------------------

/**
 * The version of the inputs key's material. 2: the working directory is in it only when {@link cwdIsInput}
 * (1 always held it). Memos are named by the key, so a memo of another version is simply never found.
 */
export const INPUTS_KEY_VERSION = 2;

/** Where an invocation runs: its working directory, and the OS that says which paths are relative. */
export interface Where {
  readonly cwd: string;
  readonly os: Os;
}

/** Whether `path` resolves against the working directory: not `/…` (Windows: not `C:\…`, `C:/…` or `\\…`). */
export function isRelativePath(path: string, os: Os): boolean {
  return os === "windows" ? !/^(?:[A-Za-z]:[\\/]|[\\/]{2})/.test(path) : !path.startsWith("/");
}

/**
 * Whether the working directory is one of an invocation's inputs: an option that takes a path (`path` in
 * `OPTIONS`, lib/argv.ts) or a variable that holds one ({@link PATH_ENV_NAMES}) holds a relative path, which
 * resolves against it. Otherwise every file the plan is built from is named by an absolute path (a path a
 * profile names is watched as written, and re-read where the call runs), so the working directory changes
 * nothing: `credential_process` runs from whatever directory the tool is in, and hits from any of them.
 */
export function cwdIsInput(argv: ArgvScan, env: RawEnv, os: Os): boolean {
  const relative = (v: string | true | undefined) =>
    typeof v === "string" && v !== "" && isRelativePath(v, os);
  for (const [name, values] of argv.options) {
    if (takesPath(name) && values.some(relative)) return true;
  }
  // The SDK's home directory without HOME or USERPROFILE: HOMEDRIVE and HOMEPATH joined.
  const joined = (name: string) =>
    name === "HOMEPATH" && env.HOMEPATH ? `${env.HOMEDRIVE ?? ""}${env.HOMEPATH}` : env[name];
  return PATH_ENV_NAMES.some((name) => relative(joined(name)));
}

/**
 * The digest of the raw inputs of one invocation — argv (the MFA code blanked: `ArgvScan.redacted`), the values of
 * {@link INPUT_ENV_NAMES} and, when a path among them is relative ({@link cwdIsInput}), the working directory —
 * and, with `keyed`, the secret values too: then the whole is one HMAC under the cache's digest key (one
 * WebCrypto call on the fast path, not a keyed digest of the secrets plus a hash of the rest); without it, a
 * plain SHA-256. Pure but for the hash. Together with the contents of the files the plan was built from (checked
 * separately), it determines the plan, so it can stand for the plan's {@link cacheKey} without parsing flags or
 * loading the shared config.
 */
export async function inputsKey(
  argv: ArgvScan,
  env: RawEnv,
  where: Where,
  keyed?: { readonly key: CryptoKey; readonly secretValues: readonly (string | undefined)[] },
): Promise<string> {
  const vars: Record<string, string | undefined> = {};
  for (const name of INPUT_ENV_NAMES) vars[name] = env[name];
  const material = {
    v: CACHE_KEY_VERSION,
    inputs: INPUTS_KEY_VERSION,
    argv: [...argv.redacted],
    env: vars,
    cwd: cwdIsInput(argv, env, where.os) ? where.cwd : undefined,
  };
  if (keyed === undefined) return await sha256Hex(canonicalJson({ ...material, secrets: "" }));
  const secrets = keyed.secretValues.map((v) => v ?? null);
  return await hmacHex(keyed.key, canonicalJson({ ...material, secrets }));
}

// ---------------------------------------------------------------------------------------------------------
// Secrets in keys: only as a keyed digest
// ---------------------------------------------------------------------------------------------------------

/** The file in the cache directory that holds the random digest key (64 hex characters, mode 0600). */
export const DIGEST_KEY_FILE = "digest.key";

/** The text of a new `digest.key`: 32 random bytes as hex, one line. */
export function newDigestKeyText(): string {
  return `${hex(crypto.getRandomValues(new Uint8Array(32)))}\n`;
}

/** Imports a digest key from its file's text (64 hex characters); undefined if it is not one. */
export async function importDigestKey(text: string): Promise<CryptoKey | undefined> {
  const hex = text.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) return undefined;
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** Hex HMAC-SHA-256 of a string (UTF-8) or bytes. */
export async function hmacHex(key: CryptoKey, data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return hex(new Uint8Array(await crypto.subtle.sign("HMAC", key, bytes)));
}

/** The most a watched file may hold (the shared config's cap): anything larger sends the call to the full path. */
const MAX_WATCHED_FILE_BYTES = 4 * 1024 * 1024;

/**
 * The keyed digest (HMAC-SHA-256 under the cache's digest key) of a file's content, for the fast path's memo:
 * `null` if it does not exist (the null device digests as an empty file); throws if it cannot be read, is not
 * a regular file (a FIFO would block) or is too large. Keyed, because some of these files hold secrets (the
 * credentials file, a web identity token).
 */
export async function fileHmac(path: string, digestKey: CryptoKey): Promise<string | null> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    const info = isNullDevice(path, Deno.build.os) ? undefined : Deno.statSync(path);
    // The null device is watched as the empty file it reads as (the full path reads it so too).
    if (info === undefined || isNullDevice(path, Deno.build.os, info)) {
      return await hmacHex(digestKey, new Uint8Array());
    }
    if (!info.isFile) throw new Error(`${path} is not a regular file`);
    if (info.size > MAX_WATCHED_FILE_BYTES) throw new Error(`${path} is too large`);
    bytes = Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
  return await hmacHex(digestKey, bytes);
}

/** {@link fileHmac} of each file, in order: the digests a memo records (see `WatchedFile` in memo.ts). */
export async function fileHmacs(
  paths: readonly string[],
  digestKey: CryptoKey,
): Promise<{ readonly path: string; readonly hmac: string | null }[]> {
  const files = [];
  for (const path of paths) files.push({ path, hmac: await fileHmac(path, digestKey) });
  return files;
}

/**
 * The keyed digest of a list of secret values (absent ones count as absent): what a key holds instead of
 * the secrets. Without the per-cache key the digest cannot be tested against guesses.
 */
export async function secretsDigest(
  key: CryptoKey,
  values: readonly (string | undefined)[],
): Promise<string> {
  return await hmacHex(key, canonicalJson(values.map((v) => v ?? null)));
}

/** The secret environment values an invocation's inputs key digests (see `SECRET_ENV_NAMES`). */
export function inputSecretValues(argv: ArgvScan, getEnv: (name: string) => string | undefined) {
  // The variable `--web-identity-token-env` names: its token decides the credentials as much as a secret key.
  const tokenEnv = lastValue(argv, "web-identity-token-env");
  return [
    ...SECRET_ENV_NAMES.map((n) => getEnv(n)),
    tokenEnv === undefined ? undefined : getEnv(tokenEnv),
  ];
}
