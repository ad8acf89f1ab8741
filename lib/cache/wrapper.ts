/**
 * The credential cache: a wrapper around ANY credential provider that reuses credentials across processes.
 *
 * - One JSON file per key, `<dir>/<key>.json`, in a 0700 directory, mode 0600, written atomically
 *   (a new temp file in the same directory, fsync, rename): a reader sees the old file or the new, never half.
 * - A file is trusted only if it is a regular file (not a symlink), owned by this user, mode 0600, small,
 *   parses, has the right shape and key, and expires more than the refresh margin from now. Anything else is
 *   ignored (said under `--verbose`) and replaced by the next write.
 * - A miss takes the per-key lock (`<dir>/<key>.lock`, see `lock.ts`), reads the file again, and only then
 *   calls the provider: N processes started together make one call; the others wait and reuse its result.
 * - A directory that cannot be created or written never fails the call: credentials are fetched and
 *   returned, and one warning goes to stderr.
 * - Secrets live only in the files; the log gets paths, hit/miss and reasons, never content.
 *
 * Nothing here imports the SDK or any other heavy module: a hit costs a stat, a read and a JSON parse.
 */
import { joinPath } from "./dir.ts";
import {
  CACHE_FORMAT_VERSION,
  type CacheEntry,
  DEFAULT_LOCK_WAIT_SECONDS,
  DEFAULT_REFRESH_MARGIN_SECONDS,
  ENTRY_FILE,
  entryFor,
  type EntryMeta,
  FAILURE_FILE,
  fileHash,
  type InputsMemo,
  LOCK_FILE,
  MEMO_FILE,
  readDigestKey,
  readEntry,
  readTrusted,
  readTrustedSync,
  TEMP_FILE,
} from "./store.ts";
import {
  cacheKey,
  DIGEST_KEY_FILE,
  filePolicies,
  inputsKey,
  mfaSessionKeyMaterial,
  secretsDigest,
  sha256Hex,
} from "./key.ts";
import { ConfigError, CredprocError, isNameTooLong } from "../errors.ts";
import { acquireLock, type Locker, type LockHandle, LockTimeoutError, removeLockIfFree } from "./lock.ts";
import type { Logger } from "../log.ts";
import { oneLine, outputErrorReason, writeAll } from "../output.ts";
import type {
  CacheDirPlan,
  CacheMode,
  CredentialProvider,
  Credentials,
  Format,
  Plan,
  PolicySource,
  RawEnv,
} from "../model.ts";

/** Options of {@link withFileCache}. */
export interface FileCacheOptions {
  /** The cache directory; `undefined` when none is known (then the cache is off, with a warning). */
  readonly dir: string | undefined;
  /** The hex key from `key.ts`. */
  readonly key: string;
  /** Reuse only while more than this remains (halved lifetime for shorter-lived credentials). */
  readonly marginMs: number;
  /** Wall clock in epoch ms (a fake in tests). */
  readonly clock: () => number;
  /** Takes the per-key lock. */
  readonly lock: Locker;
  readonly log: Logger;
  /** One line to stderr, whatever `--verbose` says. */
  readonly warn: (message: string) => void;
  readonly mode: CacheMode;
  /** This process's uid, or null where unknown (Windows); files owned by anyone else are ignored. */
  readonly uid: number | null;
  /** What the entry is for, written beside the credentials for `credproc cache list` (no secret). */
  readonly meta?: EntryMeta;
  /**
   * A caller that lives on and calls again (`credproc serve`): a failure recorded before this call started
   * is history, as for a new process; otherwise the process's launch is the line.
   */
  readonly longRunning?: boolean;
}

/**
 * Makes the directory (0700, parents too) if it does not exist, and checks that it is one credproc may use:
 * ours, and not writable by anyone else (who could remove or replace entries). An existing directory's mode
 * is never changed — `--cache-dir /tmp` must not chmod /tmp. Returns why not, or undefined.
 */
export async function prepareDir(dir: string, uid: number | null): Promise<string | undefined> {
  try {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(dir);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      st = await Deno.stat(dir);
    }
    if (!st.isDirectory) return "it is not a directory";
    if (uid !== null && st.uid !== null && st.uid !== uid) return `it is owned by uid ${st.uid}, not ${uid}`;
    if (st.mode !== null && (st.mode & 0o022) !== 0) {
      return `it is writable by others (mode ${
        (st.mode & 0o7777).toString(8).padStart(4, "0")
      }); use a 0700 directory`;
    }
    return undefined;
  } catch (e) {
    return oneLine(e);
  }
}

/** Writes the entry atomically: temp file (0600, exclusive create) in the same directory, fsync, rename. */
export async function writeEntry(path: string, entry: CacheEntry): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(entry)}\n`, true);
}

/** Writes `text` to `path` atomically and 0600 (temp file in the same directory + rename), `sync`ed first. */
export async function writeFileAtomic(path: string, text: string, sync: boolean): Promise<void> {
  const suffix = crypto.getRandomValues(new Uint32Array(2)).reduce((s, n) => s + n.toString(36), "");
  const temp = `${path}.${suffix}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      await writeAll(file, text);
      if (sync) await file.syncData();
    } finally {
      file.close();
    }
    // The umask can only remove bits; make sure the mode is exactly 0600 (no-op on Windows).
    if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

/** Wraps `provider` with the file cache and the cross-process lock. */
export function withFileCache(provider: CredentialProvider, opts: FileCacheOptions): CredentialProvider {
  const { log } = opts;
  return async () => {
    if (opts.mode === "off") {
      log.debug("cache: off (--no-cache)");
      return await provider();
    }
    if (opts.dir === undefined) {
      // A service started without HOME (systemd, cron, `env -i`): no cache, and no noise on stderr either.
      log.debug(
        "cache: off: no cache directory (set HOME, XDG_CACHE_HOME, CREDPROC_CACHE_DIR or --cache-dir)",
      );
      return await provider();
    }
    const path = joinPath(opts.dir, `${opts.key}.json`);
    const startedAt = opts.clock();
    // When this process was launched: a failure recorded after that is one this call was racing with (a crowd
    // started together); one recorded before it is history, and a new call (a retry) must try for itself.
    const launchedAt = opts.longRunning ? startedAt : startedAt - performance.now();
    if (opts.mode === "use") {
      const hit = await lookup(path, opts, "hit");
      if (hit) return hit;
    } else {
      log.debug(`cache: refresh requested (--refresh), ignoring ${path}`);
    }

    let warned = false;
    const warnOnce = (message: string) => {
      if (!warned) opts.warn(message);
      warned = true;
    };
    const dirProblem = await prepareDir(opts.dir, opts.uid);
    if (dirProblem !== undefined) {
      warnOnce(`cache disabled: cannot use ${opts.dir}: ${dirProblem}`);
      return await provider();
    }

    // With --refresh, only an entry written after this process started counts (a parallel refresh's).
    const notBefore = opts.mode === "refresh" ? startedAt : undefined;
    const lockPath = joinPath(opts.dir, `${opts.key}.lock`);
    // While another process holds the lock, its result can be read without the lock (writes are atomic):
    // waiters return as soon as the entry appears instead of queueing for the lock one by one.
    let early: Credentials | undefined;
    // A holder that failed leaves a short-lived failure record: waiters report it instead of retrying.
    const failurePath = joinPath(opts.dir, `${opts.key}.failure.json`);
    let shared: CredprocError | undefined;
    const ready = async () =>
      (early = await lookup(path, opts, "hit while waiting", notBefore, true)) !== undefined ||
      (shared = readFailure(failurePath, opts, launchedAt)) !== undefined;
    let lock: LockHandle | undefined;
    try {
      lock = await opts.lock(lockPath, ready);
    } catch (e) {
      if (e instanceof LockTimeoutError) throw e;
      warnOnce(`cache lock unavailable, fetching without it: ${lockPath}: ${oneLine(e)}`);
    }
    if (lock === undefined && early !== undefined) return early;
    if (lock === undefined && shared !== undefined) {
      log.debug(`cache: another credproc failed just now (${failurePath}); reporting its failure`);
      throw shared;
    }
    try {
      if (lock) {
        log.debug(
          `cache: lock ${lockPath} acquired${
            lock.waitedMs > 0 ? ` after ${Math.round(lock.waitedMs)} ms` : ""
          }`,
        );
        // Another process may have written the entry just before we got the lock: look again.
        const again = await lookup(path, opts, "hit after waiting", notBefore);
        if (again) return again;
        const failed = readFailure(failurePath, opts, launchedAt);
        if (failed) {
          log.debug(`cache: another credproc failed just now (${failurePath}); reporting its failure`);
          throw failed;
        }
      }
      let credentials: Credentials;
      try {
        credentials = await provider();
      } catch (e) {
        if (lock && e instanceof CredprocError && e.exitCode === 1 && !(e instanceof LockTimeoutError)) {
          await writeFailure(failurePath, opts, e);
        }
        throw e;
      }
      const issuedAt = opts.clock();
      if (credentials.expiration === undefined || credentials.expiration.getTime() <= issuedAt) {
        log.debug("cache: not storing credentials without a future expiration");
        return credentials;
      }
      try {
        await writeEntry(path, entryFor(opts.key, credentials, issuedAt, opts.meta));
        log.debug(`cache: stored ${path} (expires ${credentials.expiration.toISOString()})`);
      } catch (e) {
        warnOnce(`cache not written: ${path}: ${oneLine(e)}`);
      }
      return credentials;
    } finally {
      lock?.release();
    }
  };
}

/** The longest text kept in a failure record's fields. */
const MAX_FAILURE_TEXT = 2000;

/**
 * Writes `<key>.failure.json` (0600, atomic): the failed step, its one-line reason and hint, and when —
 * already scrubbed of every registered secret, so the record holds none. Best effort.
 */
async function writeFailure(path: string, opts: FileCacheOptions, e: CredprocError): Promise<void> {
  const scrub = (t: string | undefined) =>
    t === undefined ? undefined : opts.log.scrub(t).slice(0, MAX_FAILURE_TEXT);
  const doc = {
    credproc: CACHE_FORMAT_VERSION,
    key: opts.key,
    at: opts.clock(),
    what: scrub(e.what),
    message: scrub(e.message),
    hint: scrub(e.hint),
  };
  try {
    await writeFileAtomic(path, `${JSON.stringify(doc)}\n`, false);
    opts.log.debug(`cache: failure recorded in ${path} for the callers waiting`);
  } catch (err) {
    opts.log.debug(`cache: could not record the failure in ${path}: ${oneLine(err)}`);
  }
}

/**
 * The failure another credproc recorded for this key, as the error to report — only when it was recorded
 * after this process was launched (`launchedAt`): the callers of a crowd share the holder's failure, while a
 * call made after a failure (a retry once the cause is fixed) never gets the old answer. Any doubt: undefined
 * (call STS).
 */
function readFailure(path: string, opts: FileCacheOptions, launchedAt: number): CredprocError | undefined {
  const read = readTrustedSync(path, opts.uid);
  if (!("text" in read)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(read.text);
  } catch {
    return undefined;
  }
  const d = doc as Record<string, unknown>;
  const text = (v: unknown) => typeof v === "string" && v !== "" && v.length <= MAX_FAILURE_TEXT;
  if (
    d === null || typeof d !== "object" || d.credproc !== CACHE_FORMAT_VERSION || d.key !== opts.key ||
    typeof d.at !== "number" || !text(d.what) || !text(d.message) || (d.hint !== undefined && !text(d.hint))
  ) {
    return undefined;
  }
  const now = opts.clock();
  const at = d.at;
  if (at > now + 1000) return undefined;
  if (at < launchedAt) return undefined;
  return new CredprocError(d.what as string, d.message as string, 1, { hint: d.hint as string | undefined });
}

/** Reads the entry and returns its credentials when usable; logs the outcome. */
async function lookup(
  path: string,
  opts: FileCacheOptions,
  what: string,
  notBefore?: number,
  quiet = false,
): Promise<Credentials | undefined> {
  const { log } = opts;
  const debug = quiet ? () => {} : (message: string) => log.debug(message);
  const result = await readEntry(path, {
    key: opts.key,
    now: opts.clock(),
    marginMs: opts.marginMs,
    uid: opts.uid,
  });
  if ("missing" in result) {
    debug(`cache: miss ${path} (no entry)`);
    return undefined;
  }
  const { verdict } = result;
  if (!verdict.ok) {
    debug(`cache: ignoring ${path}: ${verdict.reason}; it will be replaced`);
    return undefined;
  }
  if (notBefore !== undefined && verdict.issuedAt <= notBefore) {
    debug(`cache: ${path} predates this --refresh; fetching`);
    return undefined;
  }
  log.secret(verdict.credentials.secretAccessKey);
  log.secret(verdict.credentials.sessionToken);
  log.debug(`cache: ${what} ${path} (${Math.floor(verdict.remainingMs / 60000)} min left)`);
  return verdict.credentials;
}

/**
 * Records the memo for these inputs, unless one with the same content is there already, or one of the files
 * changed since this process started (the plan may have been built from the old content: then no memo, and
 * the next call takes the full path again). Best effort: failures are only logged.
 */
export async function rememberInputs(
  dir: string,
  memo: Omit<InputsMemo, "credproc" | "files"> & { readonly files: readonly string[] },
  o: {
    readonly uid: number | null;
    readonly startedAt: number;
    readonly log: Logger;
    readonly digestKey: CryptoKey;
  },
): Promise<void> {
  const path = joinPath(dir, `${memo.inputs}.inputs.json`);
  try {
    const files: { path: string; sha256: string | null }[] = [];
    for (const file of [...new Set(memo.files)]) {
      const mtime = (await Deno.stat(file).catch(() => undefined))?.mtime?.getTime();
      // Coarse timestamps (FAT: 2 s) must not hide an edit made while the plan was being built.
      if (mtime !== undefined && mtime > o.startedAt - 2000) {
        o.log.debug(`cache: ${file} changed just now; not remembering these inputs`);
        return;
      }
      files.push({ path: file, sha256: await fileHash(file, o.digestKey) });
    }
    const doc: InputsMemo = { credproc: CACHE_FORMAT_VERSION, ...memo, files };
    const text = `${JSON.stringify(doc)}\n`;
    const old = await readTrusted(path, o.uid);
    if ("text" in old && old.text === text) return;
    await writeFileAtomic(path, text, false);
    o.log.debug(`cache: remembered these inputs in ${path}`);
  } catch (e) {
    o.log.debug(`cache: could not remember these inputs in ${path}: ${oneLine(e)}`);
  }
}

/** Everything `lib/cli/cli.ts` hands over to cache one plan's provider. */
export interface PlanCacheOptions {
  readonly plan: Plan;
  /** The assume options that concern the cache. */
  readonly options: {
    readonly cacheMode: CacheMode;
    readonly refreshMarginSeconds?: number;
    readonly mfaTimeoutSeconds: number;
    readonly roleSessionName?: string;
    readonly verbose: boolean;
    readonly format: Format;
  };
  /**
   * This invocation's raw inputs and the files its plan was read from, for the fast path's memo
   * (see {@link InputsMemo}); without them no memo is written.
   */
  readonly inputs?: {
    readonly argv: readonly string[];
    readonly cwd: string;
    /** The values of `INPUT_ENV_NAMES`, as the fast path hashes them. */
    readonly env: RawEnv;
    /** The secret values the fast path digests (`inputSecretValues`), read with the rest of the snapshot. */
    readonly secretValues: readonly (string | undefined)[];
    readonly files: readonly string[];
  };
  readonly loadPolicy: (source: PolicySource) => Promise<string>;
  /**
   * The secret inputs (source secret key and session token, web identity tokens), for the key's keyed
   * digest; read once by the caller and shared with the call itself.
   */
  readonly secretValues?: () => Promise<readonly (string | undefined)[]>;
  readonly log: Logger;
  readonly warn: (message: string) => void;
  /** This process's uid, or null where unknown (Windows); files owned by anyone else are ignored. */
  readonly uid: number | null;
  /** Wall clock in epoch ms. */
  readonly clock: () => number;
  /** See {@link FileCacheOptions.longRunning}. */
  readonly longRunning?: boolean;
}

/** The wiring `lib/cli/cli.ts` uses: resolves directory, key, margin and lock wait, then {@link withFileCache}. */
export async function cachePlanProvider(
  provider: CredentialProvider,
  o: PlanCacheOptions,
): Promise<CredentialProvider> {
  const { options } = o;
  if (options.cacheMode === "off") {
    return withFileCache(provider, { ...baseOptions(o), dir: undefined, key: "" });
  }
  await checkNamedCacheDir(o.plan.cacheDir);
  const base = baseOptions(o);
  const named = o.plan.cacheDir?.path;
  const digestKey = named === undefined ? undefined : await digestKeyOrNone(named, base.uid, o.log);
  if (digestKey === undefined) {
    // No directory at all is said by the wrapper; an unusable one was just said by digestKeyOrNone.
    return named === undefined ? withFileCache(provider, { ...base, dir: undefined, key: "" }) : provider;
  }
  const dir = named!;
  const key = await cacheKey(o.plan, {
    sessionName: options.roleSessionName,
    policies: await filePolicies(o.plan, o.loadPolicy),
    secrets: await secretsDigest(digestKey, await (o.secretValues?.() ?? [])),
  });
  const cached = withFileCache(provider, {
    ...base,
    dir,
    key,
    meta: entryMeta(o.plan, "role", base.marginMs),
  });
  const { inputs } = o;
  if (inputs === undefined || options.cacheMode !== "use" || options.verbose) {
    return cached;
  }
  const startedAt = base.clock() - performance.now();
  return async () => {
    const credentials = await cached();
    await rememberInputs(dir, {
      inputs: await inputsKey(inputs.argv, inputs.env, inputs.cwd, {
        key: digestKey,
        secretValues: inputs.secretValues,
      }),
      key,
      format: options.format,
      marginMs: base.marginMs,
      ...(o.plan.includeAccountId ? { accountId: true as const } : {}),
      files: [
        ...inputs.files,
        ...o.plan.hops.flatMap((h) => h.policy?.kind === "file" ? [h.policy.path] : []),
        ...o.plan.hops.flatMap((h) => h.webIdentity?.kind === "file" ? [h.webIdentity.path] : []),
      ],
    }, { uid: base.uid, startedAt, log: o.log, digestKey });
    return credentials;
  };
}

/** The cache's digest key, made on first use; undefined (cache off, said under `--verbose`) when impossible. */
async function digestKeyOrNone(dir: string, uid: number | null, log: Logger): Promise<CryptoKey | undefined> {
  try {
    return await ensureDigestKey(dir, uid);
  } catch (e) {
    log.debug(`cache: off: cannot use ${dir}: ${oneLine(e)}`);
    return undefined;
  }
}

/**
 * Reads the cache directory's digest key (`digest.key`: 32 random bytes as hex, 0600, ours), creating it on
 * first use. Created without ever replacing a good one: written to a temp file, then hard-linked into place
 * (a parallel first run keeps the winner's key); an untrusted file there (wrong mode or owner) is replaced.
 */
export async function ensureDigestKey(dir: string, uid: number | null): Promise<CryptoKey> {
  const existing = await readDigestKey(dir, uid);
  if (existing) return existing;
  const problem = await prepareDir(dir, uid);
  if (problem !== undefined) throw new Error(problem);
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const path = joinPath(dir, DIGEST_KEY_FILE);
  const suffix = crypto.getRandomValues(new Uint32Array(2)).reduce((a, n) => a + n.toString(36), "");
  const temp = `${path}.${suffix}.tmp`;
  try {
    await Deno.writeTextFile(temp, `${hex}\n`, { createNew: true, mode: 0o600 });
    if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
    try {
      await Deno.link(temp, path);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      if (await readDigestKey(dir, uid) === undefined) await Deno.rename(temp, path);
    }
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
  const key = await readDigestKey(dir, uid);
  if (key === undefined) throw new Error(`${path} cannot be read back`);
  return key;
}

/**
 * The `--mfa-session` step's own cache entry, for `ChainDeps.wrapMfaSession`: keyed by the source's
 * identity, the MFA device, the session duration and the endpoint (see `mfaSessionKeyMaterial`), not by
 * role, so one MFA code serves every role assumed with that session until it nears its end. Same
 * directory, modes (`--no-cache`, `--refresh`), margin and lock as the role entries. The role entry's lock
 * is held while this one is taken, never the other way round: no lock-order cycle.
 */
export function mfaSessionCache(o: PlanCacheOptions): (session: CredentialProvider) => CredentialProvider {
  return (session) => async () => {
    if (!o.plan.mfaSession || o.options.cacheMode === "off") return await session();
    const named = o.plan.cacheDir?.path;
    const digestKey = named === undefined ? undefined : await digestKeyOrNone(named, o.uid, o.log);
    const secrets = digestKey && await secretsDigest(digestKey, await (o.secretValues?.() ?? []));
    const material = mfaSessionKeyMaterial(o.plan, secrets);
    if (material === undefined) return await session();
    const key = await sha256Hex(material);
    const dir = digestKey === undefined ? undefined : named;
    o.log.debug("cache: MFA session entry");
    const base = baseOptions(o);
    return await withFileCache(session, {
      ...base,
      dir,
      key,
      meta: entryMeta(o.plan, "mfa-session", base.marginMs),
    })();
  };
}

/** The non-secret description of what an entry is for (see `EntryMeta`). */
export function entryMeta(plan: Plan, kind: EntryMeta["kind"], marginMs: number): EntryMeta {
  const last = plan.hops.at(-1);
  const serial = kind === "mfa-session" ? plan.mfaSession?.serialNumber : plan.hops[0]?.serialNumber;
  return {
    kind,
    roles: kind === "role" ? plan.hops.map((h) => h.roleArn) : [],
    ...(kind === "role" && last ? { sessionName: last.roleSessionName } : {}),
    ...(plan.profile === undefined ? {} : { profile: plan.profile }),
    source: plan.source.kind,
    region: plan.endpoint.region,
    ...(plan.endpoint.endpointUrl === undefined ? {} : { endpointUrl: plan.endpoint.endpointUrl }),
    ...(serial === undefined ? {} : { mfaSerial: serial }),
    marginSeconds: Math.round(marginMs / 1000),
  };
}

/**
 * A cache directory named explicitly (`--cache-dir`, else `CREDPROC_CACHE_DIR`) that exists but is not a
 * directory is bad input (exit 2): the wrong path was named. A directory that merely cannot be created or
 * written stays a warning (see {@link withFileCache}).
 */
export async function checkNamedCacheDir(dir: CacheDirPlan | undefined): Promise<void> {
  if (dir?.namedBy === undefined) return;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir.path);
  } catch (e) {
    // A name the system can never create is the wrong path named, like a file in the directory's place.
    if (isNameTooLong(e)) throw new ConfigError(`${dir.namedBy} ${dir.path}`, "the path is too long");
    return;
  }
  if (!info.isDirectory) throw new ConfigError(`${dir.namedBy} ${dir.path}`, "not a directory");
}

function baseOptions(o: PlanCacheOptions): Omit<FileCacheOptions, "dir" | "key"> {
  const { options, log } = o;
  const timeoutMs = (DEFAULT_LOCK_WAIT_SECONDS + options.mfaTimeoutSeconds) * 1000;
  return {
    marginMs: (options.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000,
    clock: o.clock,
    lock: (path, ready) =>
      acquireLock(path, { timeoutMs, ready, onWait: () => log.debug(`cache: waiting for lock ${path}`) }),
    log,
    warn: o.warn,
    mode: options.cacheMode,
    uid: o.uid,
    longRunning: o.longRunning,
  };
}

/** `credproc cache clear`: removes credproc's own files from the cache directory; returns what it did. */
export async function clearCache(
  dir: string,
  log: Logger,
): Promise<{ removed: number; inUse: number; missing: boolean }> {
  let removed = 0;
  let inUse = 0;
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { removed, inUse, missing: true };
    throw new CredprocError("cache clear", `cannot read ${dir}: ${outputErrorReason(e)}`, 1, { cause: e });
  }
  for (const name of names.sort()) {
    const path = joinPath(dir, name);
    if (
      ENTRY_FILE.test(name) || MEMO_FILE.test(name) || TEMP_FILE.test(name) || FAILURE_FILE.test(name) ||
      name === DIGEST_KEY_FILE
    ) {
      await Deno.remove(path).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
      log.debug(`cache clear: removed ${path}`);
      if (ENTRY_FILE.test(name)) removed++;
    } else if (LOCK_FILE.test(name)) {
      if (await removeLockIfFree(path)) {
        log.debug(`cache clear: removed ${path}`);
      } else {
        log.debug(`cache clear: ${path} is held by a running credproc; left in place`);
        inUse++;
      }
    }
  }
  return { removed, inUse, missing: false };
}
