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
 * call). The digests they are made with, the digest key and the fast path's inputs key are digests.ts's.
 */
import {
  type HopPlan,
  type MfaSessionPlan,
  noOtherFields,
  type Plan,
  type PolicySource,
  type RawEnv,
  unhandled,
} from "../model.ts";
import type { ArgvScan } from "../argv.ts";
import {
  CACHE_KEY_VERSION,
  canonicalJson,
  inputSecretValues,
  inputsKey,
  type Json,
  secretsDigest,
  sha256Hex,
  type Where,
} from "./digests.ts";

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
