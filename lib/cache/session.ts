/**
 * The cache session: opened once per call (`assume`, `console`, each of `serve`'s refreshes) from the plan and
 * the options, by `roleProvider` (lib/cli/role.ts). What the cache does for that call is decided here, once:
 *
 * - the directory verdict ({@link judgeCacheDir}: a named path that is not a directory is bad input; a missing
 *   directory is created 0700; one that is not ours, or writable by others, is not used);
 * - the digest key (`digest.key`, read, or made on first use) and the keyed digest of the secret inputs;
 * - the mode ({@link CacheUse}: `use`, `refresh`, or `off` and why — `--no-cache`, no directory, a directory
 *   that cannot be used), said once under `--verbose`;
 * - the margin (`effectiveMarginMs` in store.ts is its rule for short-lived credentials), the lock wait, the
 *   uid and the clock;
 * - whether the fast path's memo is written, and if not why ({@link MemoDecision}).
 *
 * It hands out one decorator per entry kind (`entry("role" | "mfa-session", provider)`, see `EntryKind` in
 * store.ts) and writes the memo (`remember`). During a call it is the one part of the cache that touches the
 * directory: reading (store.ts), writing (write.ts), the lock (lock.ts), the marker and memo documents
 * (markers.ts, memo.ts) and the keys (key.ts) are each called from here; the decorator (decorator.ts) runs the
 * call over the entry's files it is given.
 */
import { cachedCall, type EntryFiles } from "./decorator.ts";
import { type DirInfo, joinPath, judgeDirSync } from "./dir.ts";
import {
  cacheKey,
  DIGEST_KEY_FILE,
  fileHmac,
  filePolicies,
  importDigestKey,
  inputsKey,
  mfaSessionKeyMaterial,
  newDigestKeyText,
  secretsDigest,
  sha256Hex,
} from "./key.ts";
import { acquireLock } from "./lock.ts";
import { failureFromMarker, failureMarkerText } from "./markers.ts";
import { changedJustNow, memoText, watchedFiles } from "./memo.ts";
import {
  DEFAULT_LOCK_WAIT_SECONDS,
  DEFAULT_REFRESH_MARGIN_SECONDS,
  entryFor,
  type EntryKind,
  type EntryMeta,
  readEntry,
  readTrusted,
  readTrustedSync,
  type WatchedFile,
} from "./store.ts";
import { linkNewFile, writeEntry, writeFileAtomic } from "./write.ts";
import { ConfigError, isNameTooLong } from "../errors.ts";
import type { ArgvScan } from "../argv.ts";
import type { Logger } from "../log.ts";
import { oneLine } from "../output.ts";
import {
  type CacheDirPlan,
  type CacheMode,
  type CredentialProvider,
  type Plan,
  type PolicySource,
  type RawEnv,
  type RoleOptions,
  unhandled,
} from "../model.ts";

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
   * This invocation's raw inputs, for the fast path's memo; only a command that prints the credential
   * document passes them (`assume`): a repeated `console` must not be answered with credentials.
   */
  readonly memoInputs?: MemoInputs;
  readonly loadPolicy: (source: PolicySource) => Promise<string>;
  /**
   * The secret inputs (source secret key and session token, web identity tokens, the SSO access token), for
   * the keys' keyed digest; read once by the caller and shared with the call itself.
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
  readonly cwd: string;
  /** The values of `INPUT_ENV_NAMES`. */
  readonly env: RawEnv;
  /** The secret values the fast path digests (`inputSecretValues`), read with the rest of the snapshot. */
  readonly secretValues: readonly (string | undefined)[];
  /** The shared config and credentials files, the SSO token cache file (policy and token files are added). */
  readonly files: readonly string[];
}

/** What {@link judgeCacheDir} found. */
export type CacheDirVerdict =
  /** No directory is known (no HOME and none named). */
  | { readonly state: "none" }
  | { readonly state: "usable"; readonly path: string; readonly info: DirInfo }
  /** Not there (only when not asked to create it: `cache list`). */
  | { readonly state: "missing"; readonly path: string }
  | { readonly state: "unusable"; readonly path: string; readonly problem: string; readonly info?: DirInfo };

/** Whether this call uses the cache, decided once when the session opens. */
export type CacheUse =
  | { readonly mode: "use" | "refresh"; readonly dir: string; readonly digestKey: CryptoKey }
  | { readonly mode: "off"; readonly why: "--no-cache" | "no cache directory" }
  | {
    readonly mode: "off";
    readonly why: "unusable directory";
    readonly dir: string;
    readonly problem: string;
  };

/** Whether this call leaves the fast path's memo, and if not why; decided once when the session opens. */
export type MemoDecision =
  | "write"
  | "skip: not asked (only assume prints what the fast path prints)"
  | "skip: cache off"
  | "skip: --refresh"
  | "skip: --verbose (the fast path logs nothing)"
  | "skip: logging to a file (the fast path logs nothing)";

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
  entry(kind: EntryKind, provider: CredentialProvider): CredentialProvider;
  /** Writes the fast path's memo for this call's inputs when {@link memo} is `write`. Best effort. */
  remember(): Promise<void>;
}

/** Opens the cache session of one call: see the module's comment. Throws only for a wrong named directory. */
export async function openCacheSession(o: CacheSessionOptions): Promise<CacheSession> {
  const { plan, options, log, uid, clock } = o;
  const marginMs = (options.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000;
  const lockWaitMs = (DEFAULT_LOCK_WAIT_SECONDS + options.mfaTimeoutSeconds) * 1000;
  // When this process started: a watched file changed after that may not be what the plan was built from.
  const startedAt = clock() - performance.now();
  const dir = options.cacheMode === "off"
    ? undefined
    : await judgeCacheDir(plan.cacheDir, uid, { create: true });
  const use = await decideUse(options.cacheMode, dir, uid);
  if (use.mode === "off") log.debug(offLine(use));
  const memo = decideMemo(o, use);
  // The secrets' keyed digest and the role entry's key: once, and only for a cache in use.
  const secrets = use.mode === "off" ? undefined : await secretsDigest(use.digestKey, await o.secretValues());
  const roleKey = use.mode === "off" ? "" : await cacheKey(plan, {
    sessionName: options.roleSessionName,
    policies: await filePolicies(plan, o.loadPolicy),
    secrets,
  });

  /** What an entry of each kind is keyed by and says of itself; a new kind is a compile error until decided. */
  const entrySpec = async (kind: EntryKind): Promise<{ key: string; meta: EntryMeta } | undefined> => {
    switch (kind) {
      case "role": {
        const last = plan.hops.at(-1);
        return {
          key: roleKey,
          meta: entryMeta(plan, kind, marginMs, {
            roles: plan.hops.map((h) => h.roleArn),
            sessionName: last?.roleSessionName,
            mfaSerial: plan.hops[0]?.serialNumber,
          }),
        };
      }
      case "mfa-session": {
        const material = mfaSessionKeyMaterial(plan, secrets);
        if (material === undefined) return undefined;
        log.debug("cache: MFA session entry");
        return {
          key: await sha256Hex(material),
          meta: entryMeta(plan, kind, marginMs, { roles: [], mfaSerial: plan.mfaSession?.serialNumber }),
        };
      }
      default:
        return unhandled(kind, "cache entry kind");
    }
  };

  return {
    dir,
    use,
    memo,
    marginMs,
    uid,
    clock,
    entry(kind, provider) {
      if (use.mode === "off") return provider;
      return async () => {
        const spec = await entrySpec(kind);
        if (spec === undefined) return await provider();
        const files = entryFiles({ dir: use.dir, ...spec, marginMs, uid, clock, lockWaitMs, log });
        const call = cachedCall(provider, {
          files,
          refresh: use.mode === "refresh",
          clock,
          log,
          warn: o.warn,
          longRunning: o.longRunning,
        });
        return await call();
      };
    },
    async remember() {
      if (memo !== "write" || use.mode === "off" || o.memoInputs === undefined) return;
      const inputs = o.memoInputs;
      const { dir, digestKey } = use;
      const key = await inputsKey(inputs.argv, inputs.env, inputs.cwd, {
        key: digestKey,
        secretValues: inputs.secretValues,
      });
      const path = joinPath(dir, `${key}.inputs.json`);
      try {
        const files: WatchedFile[] = [];
        for (const file of watchedFiles(plan, inputs.files)) {
          const mtime = (await Deno.stat(file).catch(() => undefined))?.mtime?.getTime();
          if (mtime !== undefined && changedJustNow(mtime, startedAt, Date.now())) {
            log.debug(`cache: ${file} changed just now; not remembering these inputs`);
            return;
          }
          files.push({ path: file, hmac: await fileHmac(file, digestKey) });
        }
        const text = memoText({
          inputs: key,
          key: roleKey,
          format: plan.format,
          marginMs,
          ...(plan.includeAccountId ? { accountId: true as const } : {}),
          files,
        });
        // The same memo is not written again (the full path runs whenever the fast path cannot answer).
        const old = await readTrusted(path, uid);
        if ("text" in old && old.text === text) return;
        await writeFileAtomic(path, text, false);
        log.debug(`cache: remembered these inputs in ${path}`);
      } catch (e) {
        log.debug(`cache: could not remember these inputs in ${path}: ${oneLine(e)}`);
      }
    },
  };
}

/**
 * The directory verdict, the one function a call (through its session), `cache list`, `cache clear` and the
 * failure record ask. A directory named explicitly (`--cache-dir`, else `CREDPROC_CACHE_DIR`) that exists but
 * is not a directory, or whose name no system could create, is bad input (exit 2): the wrong path was named.
 * Anything else is a verdict, never an error: `create` makes a missing directory (0700, with its parents) for
 * a call that will use it, and says how to fix one writable by others. One `stat` when the directory exists.
 */
export async function judgeCacheDir(
  dir: CacheDirPlan | undefined,
  uid: number | null,
  o: { readonly create: boolean },
): Promise<CacheDirVerdict> {
  if (dir === undefined) return { state: "none" };
  const { path } = dir;
  let verdict = judgeDirSync(path, uid);
  if (dir.namedBy !== undefined && "problem" in verdict) {
    const wrong = verdict.info?.isDirectory === false
      ? "not a directory"
      : isNameTooLong(verdict.error)
      ? "the path is too long"
      : undefined;
    if (wrong !== undefined) throw new ConfigError(`${dir.namedBy} ${path}`, wrong);
  }
  if ("missing" in verdict) {
    if (!o.create) return { state: "missing", path };
    try {
      await Deno.mkdir(path, { recursive: true, mode: 0o700 });
    } catch (e) {
      return { state: "unusable", path, problem: oneLine(e) };
    }
    verdict = judgeDirSync(path, uid);
    if ("missing" in verdict) {
      return { state: "unusable", path, problem: "it disappeared after it was created" };
    }
  }
  if ("ok" in verdict) return { state: "usable", path, info: verdict.info };
  const problem = o.create && /writable by others/.test(verdict.problem)
    ? `${verdict.problem}; use a 0700 directory`
    : verdict.problem;
  return { state: "unusable", path, problem, ...(verdict.info ? { info: verdict.info } : {}) };
}

/** The mode, from the flag and the directory verdict (and the digest key, which a usable directory must give). */
async function decideUse(
  mode: CacheMode,
  dir: CacheDirVerdict | undefined,
  uid: number | null,
): Promise<CacheUse> {
  if (mode === "off") return { mode, why: "--no-cache" };
  // A service started without HOME (systemd, cron, `env -i`): no cache, and no noise on stderr either.
  if (dir === undefined || dir.state === "none") return { mode: "off", why: "no cache directory" };
  if (dir.state !== "usable") {
    return {
      mode: "off",
      why: "unusable directory",
      dir: dir.path,
      problem: dir.state === "missing" ? "it does not exist" : dir.problem,
    };
  }
  try {
    return { mode, dir: dir.path, digestKey: await openDigestKey(dir.path, uid) };
  } catch (e) {
    return { mode: "off", why: "unusable directory", dir: dir.path, problem: oneLine(e) };
  }
}

/** The `--verbose` line that says why the cache is off. */
function offLine(use: Extract<CacheUse, { mode: "off" }>): string {
  switch (use.why) {
    case "--no-cache":
      return "cache: off (--no-cache)";
    case "no cache directory":
      return "cache: off: no cache directory (set HOME, XDG_CACHE_HOME, CREDPROC_CACHE_DIR or --cache-dir)";
    case "unusable directory":
      return `cache: off: cannot use ${use.dir}: ${use.problem}`;
    default:
      return unhandled(use, "reason");
  }
}

function decideMemo(o: CacheSessionOptions, use: CacheUse): MemoDecision {
  if (o.memoInputs === undefined) return "skip: not asked (only assume prints what the fast path prints)";
  if (use.mode === "off") return "skip: cache off";
  if (use.mode === "refresh") return "skip: --refresh";
  if (o.options.verbose) return "skip: --verbose (the fast path logs nothing)";
  if (o.logsToFile) return "skip: logging to a file (the fast path logs nothing)";
  return "write";
}

/**
 * Reads the directory's digest key (`digest.key`: 32 random bytes as hex, 0600, ours), creating it on first
 * use without ever replacing a good one (`linkNewFile`: a parallel first run keeps the winner's key); a file
 * there that is not a trusted key (wrong mode or owner, not a key) is replaced.
 */
async function openDigestKey(dir: string, uid: number | null): Promise<CryptoKey> {
  const path = joinPath(dir, DIGEST_KEY_FILE);
  const read = async () => {
    const file = readTrustedSync(path, uid);
    return "text" in file ? await importDigestKey(file.text) : undefined;
  };
  const existing = await read();
  if (existing !== undefined) return existing;
  const text = newDigestKeyText();
  if (!(await linkNewFile(path, text)) && await read() === undefined) {
    await writeFileAtomic(path, text, false);
  }
  const key = await read();
  if (key === undefined) throw new Error(`${path} cannot be read back`);
  return key;
}

/** The non-secret description of an entry (see `EntryMeta`), in the order it is written. */
function entryMeta(
  plan: Plan,
  kind: EntryKind,
  marginMs: number,
  of: { roles: readonly string[]; sessionName?: string; mfaSerial?: string },
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
  };
}

/** What {@link entryFiles} needs: the judged directory, the entry's key and description, the session's rules. */
export interface EntryFilesOptions {
  readonly dir: string;
  readonly key: string;
  readonly meta?: EntryMeta;
  readonly marginMs: number;
  readonly uid: number | null;
  readonly clock: () => number;
  /** How long a miss waits for another process's lock. */
  readonly lockWaitMs: number;
  readonly log: Logger;
}

/**
 * The files of entry `key` in the judged directory `dir` — `<key>.json`, `<key>.lock`, `<key>.failure.json` —
 * read, locked and written under the cache's rules: what the decorator works on (exported for its tests).
 */
export function entryFiles(o: EntryFilesOptions): EntryFiles {
  const { key, log } = o;
  const path = joinPath(o.dir, `${key}.json`);
  const lockPath = joinPath(o.dir, `${key}.lock`);
  const failurePath = joinPath(o.dir, `${key}.failure.json`);
  return {
    path,
    lockPath,
    failurePath,
    read: (now) => readEntry(path, { key, now, marginMs: o.marginMs, uid: o.uid }),
    lock: (ready) =>
      acquireLock(lockPath, {
        timeoutMs: o.lockWaitMs,
        ready,
        onWait: () => log.debug(`cache: waiting for lock ${lockPath}`),
      }),
    readFailureMarker(launchedAt) {
      const read = readTrustedSync(failurePath, o.uid);
      return "text" in read ? failureFromMarker(read.text, key, o.clock(), launchedAt) : undefined;
    },
    async writeFailureMarker(e) {
      try {
        await writeFileAtomic(failurePath, failureMarkerText(key, o.clock(), e, log.scrub), false);
        log.debug(`cache: failure recorded in ${failurePath} for the callers waiting`);
      } catch (err) {
        log.debug(`cache: could not record the failure in ${failurePath}: ${oneLine(err)}`);
      }
    },
    async removeFailureMarker() {
      try {
        await Deno.remove(failurePath);
        log.debug(`cache: removed the earlier failure's marker ${failurePath}`);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) {
          log.debug(`cache: could not remove ${failurePath}: ${oneLine(e)}`);
        }
      }
    },
    write: (credentials, issuedAt) => writeEntry(path, entryFor(key, credentials, issuedAt, o.meta)),
  };
}
