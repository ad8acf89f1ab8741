/**
 * The cache session: opened once per call (`assume`, `eks-token`, `console`, each of `serve`'s refreshes) from
 * the plan and the options, by `roleProvider` (lib/cli/role.ts). What the cache does for that call is decided
 * here, once:
 *
 * - the directory verdict ({@link judgeCacheDir}: a named path that is not a directory is bad input; a missing
 *   directory is created 0700; one that is not ours, or writable by others, is not used);
 * - the digest key (`digest.key`, read, or made on first use) and every key of the call — the keyed digest of
 *   the secret inputs, the role's, the MFA session's, the inputs key (computed together when the first entry
 *   asks, once);
 * - the mode ({@link CacheUse}: `use`, `refresh`, or `off` and why — `--no-cache`, no directory, a directory
 *   that cannot be used), said once under `--verbose`;
 * - the margin (`effectiveMarginMs` in store.ts is its rule for short-lived credentials), the lock wait, the
 *   uid and the clock;
 * - whether the fast path's memo is written, and if not why ({@link MemoDecision}).
 *
 * It hands out one decorator per entry kind (`entry("role" | "mfa-session", provider)`,
 * `entry("eks-token", signer, token)`; see `EntryKind` in store.ts), the locks that serialize work outside
 * the cache (`lock("login-token", file)`), and writes the memo (`remember`). It decides; it touches no file
 * itself. A call goes from here to each module in one step: at open to verdict.ts (`openCacheDir`: the
 * directory verdict, the mode, the digest key) and memo.ts (the memo decision); at the first entry to key.ts
 * (`sessionKeys`: every key at once); for each entry to files.ts (the entry's files: every read, lock,
 * failure marker and write of the cache goes through there) and decorator.ts (the call over those files);
 * after the call to files.ts (the memo written).
 */
import { cachedCall, type EntryFiles, type Expiring } from "./decorator.ts";
import { entryFiles, readMemo, tokenFiles, underLock, writeMemo } from "./files.ts";
import { eksTokenKey, lockKey, sessionKeys } from "./key.ts";
import type { Where } from "./digests.ts";
import { type CacheDirVerdict, type CacheUse, judgeCacheDir, openCacheDir } from "./verdict.ts";
import { decideMemo, type MemoDecision, type MemoFields, type MemoKind } from "./memo.ts";
import {
  DEFAULT_LOCK_WAIT_SECONDS,
  DEFAULT_REFRESH_MARGIN_SECONDS,
  EKS_TOKEN_MARGIN_SECONDS,
  type EntryKind,
  type EntryMeta,
} from "./store.ts";
import type { Logger } from "../log.ts";
import type { ArgvScan } from "../argv.ts";
import {
  type CredentialProvider,
  type EksToken,
  type Plan,
  type PolicySource,
  type RawEnv,
  type RoleOptions,
  unhandled,
} from "../model.ts";

// The directory verdict and the mode are verdict.ts's, the memo decision memo.ts's; named here too, where a
// call's cache is opened (cli.ts's cache commands and the tests ask the session for the verdict).
export { type CacheDirVerdict, type CacheUse, judgeCacheDir, type MemoDecision };

/** What a cache session is opened from (one object, built by `roleProvider`). */
export interface CacheSessionOptions {
  readonly plan: Plan;
  /** The options that concern the cache. */
  readonly options: Pick<
    RoleOptions,
    "cacheMode" | "refreshMarginSeconds" | "mfaTimeoutSeconds" | "roleSessionName" | "verbose"
  >;
  /** Whether the `--verbose` lines also go to a log file (`--log-file`, `CREDPROC_LOG_FILE`). */
  readonly logsToFile: boolean;
  /**
   * This invocation's raw inputs, for the fast path's memo; only a command whose output the fast path can print
   * passes them (`assume`, `eks-token`): a repeated `console` must not be answered with credentials.
   */
  readonly memoInputs?: MemoInputs;
  /** What the invocation prints, which its memo records (default `assume`; see `MemoKind` in memo.ts). */
  readonly memoKind?: MemoKind;
  readonly loadPolicy: (source: PolicySource) => Promise<string>;
  /**
   * The secret inputs (source secret key and session token, web identity tokens, the SSO access token), for
   * the keys' keyed digest; read once, when the first entry needs its key, by the caller and shared with the
   * call itself.
   */
  readonly secretValues: () => Promise<readonly (string | undefined)[]>;
  readonly log: Logger;
  /** Cache trouble that does not fail the call (see `CachedCallOptions.warn` in decorator.ts). */
  readonly warn: (message: string) => void;
  /** This process's uid, or null where unknown (Windows); files owned by anyone else are ignored. */
  readonly uid: number | null;
  /** Wall clock in epoch ms. */
  readonly clock: () => number;
  /** `credproc serve`: a failure another call recorded before this one started is history. */
  readonly longRunning?: boolean;
}

/** An invocation's raw inputs, as the fast path digests them, and the files its plan was read from. */
export interface MemoInputs {
  /** argv as lib/argv.ts read it (the inputs key hashes it with the MFA code blanked). */
  readonly argv: ArgvScan;
  /** The working directory (an input only when a path among the inputs is relative: `cwdIsInput`, digests.ts). */
  readonly where: Where;
  /**
   * The values of `INPUT_ENV_NAMES`, and of the variable `--web-identity-token-env` names (the inputs key digests
   * it with the secret ones: `inputSecretValues` in digests.ts).
   */
  readonly env: RawEnv;
  /** The shared config and credentials files, the SSO token cache file (policy and token files are added). */
  readonly files: readonly string[];
}

/** Where an EKS token points: the STS endpoint (scheme, host, path) and the region its signature is scoped to. */
export interface TokenEndpoint {
  readonly url: string;
  readonly signingRegion: string;
}

/** What an `eks-token` entry needs besides its signer. */
export interface EksTokenEntry {
  readonly cluster: string;
  /**
   * The SDK's endpoint rules for the plan (they load the STS client): asked only when this call's memo does not
   * already name the endpoint the same role's token was signed for (a token miss with the role cached).
   */
  readonly resolveEndpoint: () => Promise<TokenEndpoint>;
}

/** Signs a token for the entry's cluster, pointing at `endpoint` (the caller gets the role's credentials). */
export type TokenSigner = (endpoint: TokenEndpoint) => Promise<EksToken>;

/**
 * The locks a session hands out besides each entry's own: `login-token` serializes the SDK's refreshes of an
 * `aws login` token file (its path is the lock's subject), so N credproc refresh it once.
 */
export const LOCK_KINDS = ["login-token"] as const;
/** One of {@link LOCK_KINDS}. */
export type LockKind = typeof LOCK_KINDS[number];

/** Runs `work` under a lock from {@link CacheSession.lock} (or without one, when there is no lock to take). */
export type Locked = <T>(work: () => Promise<T>) => Promise<T>;

/** One call's cache: see the module's comment. */
export interface CacheSession {
  /** The directory verdict, judged once; undefined under `--no-cache` (the directory is not looked at). */
  readonly dir: CacheDirVerdict | undefined;
  readonly use: CacheUse;
  readonly memo: MemoDecision;
  /** The refresh margin entries are judged and written with. */
  readonly marginMs: number;
  readonly uid: number | null;
  readonly clock: () => number;
  /**
   * `provider` behind its entry of `kind`: looked up, locked, called and written under this session's rules;
   * `provider` itself when the cache is off (or the plan has no such entry).
   */
  entry(kind: "role" | "mfa-session", provider: CredentialProvider): CredentialProvider;
  /**
   * A token for `token.cluster` behind its `eks-token` entry, keyed by the role entry's key, the cluster and the
   * endpoint; `sign` at the resolved endpoint when the cache is off.
   */
  entry(kind: "eks-token", sign: TokenSigner, token: EksTokenEntry): () => Promise<EksToken>;
  /**
   * The lock of `kind` on `subject` in this call's cache directory, waited for under the session's lock wait;
   * without a usable directory (or when the lock file cannot be made) the work runs unlocked, said under
   * `--verbose`. Under `--no-cache` the directory is judged for the lock alone (never created).
   */
  lock(kind: LockKind, subject: string): Locked;
  /** Writes the fast path's memo for this call's inputs when {@link memo} is `write`. Best effort. */
  remember(): Promise<void>;
}

/** Opens the cache session of one call: see the module's comment. Throws only for a wrong named directory. */
export async function openCacheSession(o: CacheSessionOptions): Promise<CacheSession> {
  const { plan, options, log, uid, clock } = o;
  const marginMs = (options.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000;
  const tokenMarginMs = EKS_TOKEN_MARGIN_SECONDS * 1000;
  const lockWaitMs = (DEFAULT_LOCK_WAIT_SECONDS + options.mfaTimeoutSeconds) * 1000;
  const memoKind = o.memoKind ?? "assume";
  // When this process started: a watched file changed after that may not be what the plan was built from.
  const startedAt = clock() - performance.now();
  const { dir, use } = await openCacheDir(options.cacheMode, plan.cacheDir, uid, log);
  const memo = decideMemo({
    asked: o.memoInputs !== undefined,
    mode: use.mode,
    verbose: options.verbose,
    logsToFile: o.logsToFile,
  });
  // Every key of this call (the secrets' keyed digest, the role's, the MFA session's, the inputs key that
  // names the memo): once, when the first entry asks (reading the secrets may need a lock this session hands
  // out: the aws login token's), and only for a cache in use.
  const keys = once(async () => {
    if (use.mode === "off") throw new Error("unreachable: no keys when the cache is off");
    return await sessionKeys(plan, {
      digestKey: use.digestKey,
      secretValues: o.secretValues,
      loadPolicy: o.loadPolicy,
      sessionName: options.roleSessionName,
      inputs: o.memoInputs,
    });
  });
  /** The token this call's `eks-token` entry was keyed for: what its memo records. */
  let tokenSpec: (EksTokenMemoFields & { key: string }) | undefined;

  const roles = plan.hops.map((h) => h.roleArn);
  const sessionName = plan.hops.at(-1)?.roleSessionName;

  /**
   * The endpoint this invocation's memo recorded for the same role's token, if any: the memo's role key equal to
   * this plan's means the same region, FIPS, dual-stack and endpoint settings, which are all the rules read.
   */
  const recalledEndpoint = async (cluster: string): Promise<TokenEndpoint | undefined> => {
    const { inputs, role } = await keys();
    if (inputs === undefined || use.mode === "off") return undefined;
    const m = readMemo(use.dir, inputs, uid);
    if (m === undefined || m.kind !== "eks-token" || m.role !== role || m.cluster !== cluster) {
      return undefined;
    }
    log.debug(
      `cache: token endpoint ${m.tokenEndpoint} (signing region ${m.signingRegion}) from this call's memo`,
    );
    return { url: m.tokenEndpoint, signingRegion: m.signingRegion };
  };

  /** What an entry of each kind is keyed by and says of itself; a new kind is a compile error until decided. */
  const entrySpec = async (
    kind: EntryKind,
    token?: EksTokenEntry,
  ): Promise<{ key: string; meta: EntryMeta; endpoint?: TokenEndpoint } | undefined> => {
    switch (kind) {
      case "role":
        return {
          key: (await keys()).role,
          meta: entryMeta(plan, kind, marginMs, {
            roles,
            sessionName,
            mfaSerial: plan.hops[0]?.serialNumber,
          }),
        };
      case "mfa-session": {
        const key = (await keys()).mfaSession;
        if (key === undefined) return undefined;
        log.debug("cache: MFA session entry");
        return {
          key,
          meta: entryMeta(plan, kind, marginMs, { roles: [], mfaSerial: plan.mfaSession?.serialNumber }),
        };
      }
      case "eks-token": {
        if (token === undefined) return undefined;
        const { role } = await keys();
        const endpoint = await recalledEndpoint(token.cluster) ?? await token.resolveEndpoint();
        const key = await eksTokenKey({
          role,
          cluster: token.cluster,
          tokenEndpoint: endpoint.url,
          signingRegion: endpoint.signingRegion,
          marginMs,
        });
        tokenSpec = {
          key,
          role,
          cluster: token.cluster,
          tokenEndpoint: endpoint.url,
          signingRegion: endpoint.signingRegion,
        };
        return {
          key,
          endpoint,
          meta: entryMeta(plan, kind, tokenMarginMs, {
            roles,
            sessionName,
            token: { cluster: token.cluster, endpoint },
          }),
        };
      }
      default:
        return unhandled(kind, "cache entry kind");
    }
  };

  /** `provider` behind the entry `spec` names, with the files of its payload. */
  const cached = <T extends Expiring>(
    provider: () => Promise<T>,
    files: EntryFiles<T>,
  ) =>
    cachedCall(provider, {
      files,
      refresh: use.mode === "refresh",
      clock,
      log,
      warn: o.warn,
      longRunning: o.longRunning,
    });

  function entry(kind: "role" | "mfa-session", provider: CredentialProvider): CredentialProvider;
  function entry(kind: "eks-token", sign: TokenSigner, token: EksTokenEntry): () => Promise<EksToken>;
  function entry(
    kind: EntryKind,
    provider: CredentialProvider | TokenSigner,
    token?: EksTokenEntry,
  ): CredentialProvider | (() => Promise<EksToken>) {
    if (kind === "eks-token") {
      const sign = provider as TokenSigner;
      if (use.mode === "off") return async () => await sign(await token!.resolveEndpoint());
      return async () => {
        const spec = (await entrySpec(kind, token))!;
        const files = tokenFiles({
          dir: use.dir,
          ...spec,
          marginMs: tokenMarginMs,
          uid,
          clock,
          lockWaitMs,
          log,
        });
        // The token and its expiry, as a hit and a miss alike return them.
        const { token: bearer, expiration } = await cached(() => sign(spec.endpoint!), files)();
        return { token: bearer, expiration };
      };
    }
    const credentials = provider as CredentialProvider;
    if (use.mode === "off") return credentials;
    return async () => {
      const spec = await entrySpec(kind);
      if (spec === undefined) return await credentials();
      const files = entryFiles({ dir: use.dir, ...spec, marginMs, uid, clock, lockWaitMs, log });
      return await cached(credentials, files)();
    };
  }

  /** The directory a lock may be taken in: the session's own, or under --no-cache one judged for the lock. */
  const lockDir = once(async (): Promise<string | undefined> => {
    if (use.mode !== "off") return use.dir;
    if (use.why === "--no-cache") {
      try {
        const judged = await judgeCacheDir(plan.cacheDir, uid, { create: false });
        if (judged.state === "usable") return judged.path;
      } catch { /* a named path that is not a directory: no lock, as for any directory not usable */ }
    }
    return undefined;
  });

  return {
    dir,
    use,
    memo,
    marginMs,
    uid,
    clock,
    entry,
    lock(kind, subject) {
      return async (work) => {
        const dir = await lockDir();
        if (dir === undefined) {
          log.debug(`cache: no usable cache directory: the ${kind} lock is not taken`);
          return await work();
        }
        return await underLock(dir, await lockKey(kind, subject), kind, { timeoutMs: lockWaitMs, log }, work);
      };
    },
    async remember() {
      if (memo !== "write" || use.mode === "off" || o.memoInputs === undefined) return;
      const { dir, digestKey } = use;
      const { inputs, role } = await keys();
      /** The memo's fields, given the watched files' digests. */
      let fields: (files: MemoFields["files"]) => MemoFields;
      switch (memoKind) {
        case "assume":
          fields = (files) => ({
            kind: memoKind,
            inputs: inputs!,
            key: role,
            format: plan.format,
            marginMs,
            ...(plan.includeAccountId ? { accountId: true as const } : {}),
            files,
          });
          break;
        case "eks-token": {
          const spec = tokenSpec;
          if (spec === undefined) return;
          fields = (files) => ({ kind: memoKind, inputs: inputs!, ...spec, marginMs: tokenMarginMs, files });
          break;
        }
        default:
          return unhandled(memoKind, "memo kind");
      }
      await writeMemo(dir, inputs!, fields, {
        plan,
        read: o.memoInputs.files,
        digestKey,
        startedAt,
        uid,
        log,
      });
    },
  };
}

/** The fields of an `eks-token` memo besides the common ones (see `EksTokenMemo` in memo.ts). */
type EksTokenMemoFields = Pick<
  Extract<MemoFields, { kind: "eks-token" }>,
  "role" | "cluster" | "tokenEndpoint" | "signingRegion"
>;

/** The non-secret description of an entry (see `EntryMeta`), in the order it is written. */
function entryMeta(
  plan: Plan,
  kind: EntryKind,
  marginMs: number,
  of: {
    roles: readonly string[];
    sessionName?: string;
    mfaSerial?: string;
    token?: { cluster: string; endpoint: { readonly url: string; readonly signingRegion: string } };
  },
): EntryMeta {
  return {
    kind,
    roles: of.roles,
    ...(of.sessionName === undefined ? {} : { sessionName: of.sessionName }),
    ...(plan.profile === undefined ? {} : { profile: plan.profile }),
    source: plan.source.kind,
    region: plan.endpoint.region,
    ...(plan.endpoint.endpointUrl === undefined ? {} : { endpointUrl: plan.endpoint.endpointUrl }),
    ...(of.mfaSerial === undefined ? {} : { mfaSerial: of.mfaSerial }),
    marginSeconds: Math.round(marginMs / 1000),
    ...(of.token === undefined ? {} : {
      cluster: of.token.cluster,
      tokenEndpoint: of.token.endpoint.url,
      signingRegion: of.token.endpoint.signingRegion,
    }),
  };
}

/** A function of no arguments that runs `f` once and shares its promise. */
function once<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => p ??= f();
}
