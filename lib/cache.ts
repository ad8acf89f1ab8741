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
import type { CacheMode, PolicySource } from "./args.ts";
import { joinPath, type OsName, resolveCacheDir } from "./cache_dir.ts";
import { cacheKey, filePolicies, inputsKey, sha256Hex } from "./cache_key.ts";
import type { CredentialProvider, Credentials } from "./credentials.ts";
import { ConfigError } from "./errors.ts";
import { acquireLock, type Locker, type LockHandle, LockTimeoutError, removeLockIfFree } from "./lock.ts";
import type { Logger } from "./log.ts";
import type { Env, Plan } from "./plan.ts";

/** Version of the file format; files of another version are ignored. */
export const CACHE_FORMAT_VERSION = 1;
/** botocore refreshes when fewer than 15 minutes remain (advisory) and blocks under 10 (mandatory). */
export const DEFAULT_REFRESH_MARGIN_SECONDS = 15 * 60;
/** How long a miss waits for another process's lock, on top of the MFA prompt timeout. */
export const DEFAULT_LOCK_WAIT_SECONDS = 60;
/** Cache files are a few KiB; anything larger is not ours. */
export const MAX_ENTRY_BYTES = 64 * 1024;

/** Names of the files credproc creates in the cache directory (and that `cache clear` may remove). */
export const ENTRY_FILE = /^[0-9a-f]{64}\.json$/;
export const LOCK_FILE = /^[0-9a-f]{64}\.lock$/;
/** The fast path's memo of an invocation's inputs (see {@link InputsMemo}). */
export const MEMO_FILE = /^[0-9a-f]{64}\.inputs\.json$/;
export const TEMP_FILE = /^[0-9a-f]{64}\.(?:inputs\.)?json\.[0-9a-z]+\.tmp$/;

/** The on-disk document. Field names of `credentials` follow the credential_process output. */
export interface CacheEntry {
  readonly credproc: typeof CACHE_FORMAT_VERSION;
  readonly key: string;
  /** When the credentials were received (ISO 8601); with Expiration it gives their lifetime. */
  readonly issuedAt: string;
  readonly credentials: {
    readonly AccessKeyId: string;
    readonly SecretAccessKey: string;
    readonly SessionToken?: string;
    readonly Expiration: string;
  };
}

/** What a cache file's `lstat`/`fstat` must show; a subset of `Deno.FileInfo` so tests can fake it. */
export interface FileFacts {
  readonly isFile: boolean;
  readonly isSymlink: boolean;
  /** null on Windows. */
  readonly mode: number | null;
  readonly uid: number | null;
  readonly size: number;
}

/** The outcome of checking one cache file. */
export type Verdict =
  | {
    readonly ok: true;
    readonly credentials: Credentials;
    readonly issuedAt: number;
    readonly remainingMs: number;
  }
  | { readonly ok: false; readonly reason: string };

/** Options of {@link withFileCache}. */
export interface FileCacheOptions {
  /** The cache directory; `undefined` when none is known (then the cache is off, with a warning). */
  readonly dir: string | undefined;
  /** The hex key from `cache_key.ts`. */
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
}

/**
 * Reuse credentials only while more than the margin remains; when the credentials live no longer than the
 * margin (e.g. a 900 s session with the default 15-minute margin), the margin is half their lifetime.
 */
export function effectiveMarginMs(marginMs: number, lifetimeMs: number): number {
  return lifetimeMs <= marginMs ? Math.max(0, lifetimeMs) / 2 : marginMs;
}

/** Checks a cache file's metadata: returns why it is not trusted, or undefined. */
export function judgeFacts(facts: FileFacts, uid: number | null): string | undefined {
  if (facts.isSymlink) return "it is a symbolic link";
  if (!facts.isFile) return "it is not a regular file";
  if (uid !== null && facts.uid !== null && facts.uid !== uid) {
    return `it is owned by uid ${facts.uid}, not ${uid}`;
  }
  if (facts.mode !== null && (facts.mode & 0o777) !== 0o600) {
    return `its mode is ${(facts.mode & 0o777).toString(8).padStart(4, "0")}, not 0600`;
  }
  if (facts.size > MAX_ENTRY_BYTES) return `it is too large (${facts.size} bytes)`;
  return undefined;
}

/** Checks a cache file's metadata and text. Pure, so every rule is tested without a file system. */
export function judgeEntry(
  facts: FileFacts,
  text: string,
  expect: { key: string; now: number; marginMs: number; uid: number | null },
): Verdict {
  const bad = judgeFacts(facts, expect.uid);
  if (bad !== undefined) return { ok: false, reason: bad };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: "it is not valid JSON" };
  }
  const entry = parseEntry(doc);
  if (typeof entry === "string") return { ok: false, reason: entry };
  if (entry.key !== expect.key) return { ok: false, reason: "it belongs to another key" };
  const expiration = Date.parse(entry.credentials.Expiration);
  const issuedAt = Date.parse(entry.issuedAt);
  const remainingMs = expiration - expect.now;
  if (remainingMs <= 0) return { ok: false, reason: "the credentials have expired" };
  const margin = effectiveMarginMs(expect.marginMs, expiration - issuedAt);
  if (remainingMs <= margin) {
    return {
      ok: false,
      reason: `only ${Math.round(remainingMs / 1000)} s remain, within the refresh margin of ${
        Math.round(margin / 1000)
      } s`,
    };
  }
  const c = entry.credentials;
  return {
    ok: true,
    issuedAt,
    remainingMs,
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: new Date(expiration),
    },
  };
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;
const KEY_ID = /^\w{16,128}$/;

/** Shape check: returns the entry, or why it is not one. */
export function parseEntry(doc: unknown): CacheEntry | string {
  if (!isObject(doc)) return "it is not a JSON object";
  if (doc.credproc !== CACHE_FORMAT_VERSION) return "it has another format version";
  if (typeof doc.key !== "string" || !/^[0-9a-f]{64}$/.test(doc.key)) return "it has no valid key";
  if (typeof doc.issuedAt !== "string" || !ISO_TIME.test(doc.issuedAt) || isNaN(Date.parse(doc.issuedAt))) {
    return "it has no valid issuedAt";
  }
  const c = doc.credentials;
  if (!isObject(c)) return "it has no credentials object";
  if (typeof c.AccessKeyId !== "string" || !KEY_ID.test(c.AccessKeyId)) return "its AccessKeyId is not valid";
  if (typeof c.SecretAccessKey !== "string" || c.SecretAccessKey === "") {
    return "its SecretAccessKey is not valid";
  }
  if (c.SessionToken !== undefined && (typeof c.SessionToken !== "string" || c.SessionToken === "")) {
    return "its SessionToken is not valid";
  }
  if (typeof c.Expiration !== "string" || !ISO_TIME.test(c.Expiration) || isNaN(Date.parse(c.Expiration))) {
    return "its Expiration is not valid";
  }
  if (Date.parse(c.Expiration) < Date.parse(doc.issuedAt)) return "it expires before it was issued";
  return doc as unknown as CacheEntry;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The document written for fresh credentials. */
export function entryFor(key: string, credentials: Credentials, issuedAt: number): CacheEntry {
  return {
    credproc: CACHE_FORMAT_VERSION,
    key,
    issuedAt: new Date(issuedAt).toISOString(),
    credentials: {
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken === undefined ? {} : { SessionToken: credentials.sessionToken }),
      Expiration: credentials.expiration!.toISOString(),
    },
  };
}

type ReadResult = { readonly verdict: Verdict } | { readonly missing: true };

/** What {@link readTrusted} found. */
export type TrustedRead =
  | { readonly text: string; readonly facts: FileFacts }
  | { readonly missing: true }
  | { readonly problem: string };

/**
 * Reads a cache file only if its metadata passes {@link judgeFacts}, both on the path (`lstat`: a symlink is
 * never opened) and on the opened file (`fstat`, same inode: not swapped in between). Never throws.
 * Synchronous on purpose: it is on the fast path, where each async file operation costs more than the read.
 */
export function readTrustedSync(path: string, uid: number | null): TrustedRead {
  let named: Deno.FileInfo;
  try {
    named = Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { missing: true };
    return { problem: `it cannot be examined (${errorText(e)})` };
  }
  const bad = judgeFacts(named, uid);
  if (bad !== undefined) return { problem: bad };
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path, { read: true });
    const opened = file.statSync();
    if (named.ino !== null && (opened.ino !== named.ino || opened.dev !== named.dev)) {
      return { problem: "it was replaced while being read" };
    }
    const changed = judgeFacts(opened, uid);
    if (changed !== undefined) return { problem: changed };
    const bytes = new Uint8Array(opened.size);
    let off = 0;
    while (off < bytes.length) {
      const n = file.readSync(bytes.subarray(off));
      if (n === null) break;
      off += n;
    }
    return { text: new TextDecoder().decode(bytes.subarray(0, off)), facts: opened };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { missing: true };
    return { problem: `it cannot be read (${errorText(e)})` };
  } finally {
    file?.close();
  }
}

/** {@link readTrustedSync} for async callers. */
export function readTrusted(path: string, uid: number | null): Promise<TrustedRead> {
  return Promise.resolve(readTrustedSync(path, uid));
}

/** Reads and judges a credentials entry; never throws. */
export async function readEntry(
  path: string,
  expect: { key: string; now: number; marginMs: number; uid: number | null },
): Promise<ReadResult> {
  const read = await readTrusted(path, expect.uid);
  if ("missing" in read) return read;
  if ("problem" in read) return { verdict: { ok: false, reason: read.problem } };
  return { verdict: judgeEntry(read.facts, read.text, expect) };
}

/**
 * Makes the directory (0700, parents too) if it does not exist, and checks that it is one credproc may use:
 * ours, and not writable by anyone else (who could remove or replace entries). An existing directory's mode
 * is never changed — `--cache-dir /tmp` must not chmod /tmp. Returns why not, or undefined.
 */
async function prepareDir(dir: string, uid: number | null): Promise<string | undefined> {
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
    return errorText(e);
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
  const bytes = new TextEncoder().encode(text);
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
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
      opts.warn("cache disabled: no cache directory (set HOME, CREDPROC_CACHE_DIR or --cache-dir)");
      return await provider();
    }
    const path = joinPath(opts.dir, `${opts.key}.json`);
    const startedAt = opts.clock();
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
    const ready = async () =>
      (early = await lookup(path, opts, "hit while waiting", notBefore, true)) !== undefined;
    let lock: LockHandle | undefined;
    try {
      lock = await opts.lock(lockPath, ready);
    } catch (e) {
      if (e instanceof LockTimeoutError) throw e;
      warnOnce(`cache lock unavailable, fetching without it: ${lockPath}: ${errorText(e)}`);
    }
    if (lock === undefined && early !== undefined) return early;
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
      }
      const credentials = await provider();
      const issuedAt = opts.clock();
      if (credentials.expiration === undefined || credentials.expiration.getTime() <= issuedAt) {
        log.debug("cache: not storing credentials without a future expiration");
        return credentials;
      }
      try {
        await writeEntry(path, entryFor(opts.key, credentials, issuedAt));
        log.debug(`cache: stored ${path} (expires ${credentials.expiration.toISOString()})`);
      } catch (e) {
        warnOnce(`cache not written: ${path}: ${errorText(e)}`);
      }
      return credentials;
    } finally {
      lock?.release();
    }
  };
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

// ---------------------------------------------------------------------------------------------------------
// The inputs memo: lets the fast path find the entry without parsing flags or loading the shared config
// ---------------------------------------------------------------------------------------------------------

/**
 * `<dir>/<inputs key>.inputs.json`: for one invocation's raw inputs (argv, environment, working directory;
 * see `inputsKey`), the entry key its plan gave, how to print it, and the files the plan was built from with
 * their SHA-256 (`null`: the file did not exist). Holds no secret. Written by the full path after a hit or a
 * fetch in the default cache mode without `--verbose`; trusted by the fast path under the same rules as an
 * entry (regular file, owner, 0600, shape), and only while every file still hashes the same.
 */
export interface InputsMemo {
  readonly credproc: typeof CACHE_FORMAT_VERSION;
  readonly inputs: string;
  readonly key: string;
  readonly format: string;
  readonly marginMs: number;
  readonly files: readonly { readonly path: string; readonly sha256: string | null }[];
}

/** Output formats the memo may name (`FORMATS` in args.ts, which is too heavy for the fast path). */
export const MEMO_FORMATS: readonly string[] = [
  "process",
  "env",
  "env-no-export",
  "powershell",
  "windows-cmd",
];

/** Shape check of a memo: returns it, or why it is not one. */
export function parseMemo(doc: unknown, inputs: string): InputsMemo | string {
  if (!isObject(doc)) return "it is not a JSON object";
  if (doc.credproc !== CACHE_FORMAT_VERSION) return "it has another format version";
  if (doc.inputs !== inputs) return "it belongs to other inputs";
  if (typeof doc.key !== "string" || !/^[0-9a-f]{64}$/.test(doc.key)) return "it has no valid key";
  if (typeof doc.format !== "string" || !MEMO_FORMATS.includes(doc.format)) return "it has no valid format";
  if (typeof doc.marginMs !== "number" || !(doc.marginMs >= 0)) return "it has no valid margin";
  const files = doc.files;
  if (
    !Array.isArray(files) || files.length > 64 ||
    !files.every((f) =>
      isObject(f) && typeof f.path === "string" && f.path !== "" &&
      (f.sha256 === null || (typeof f.sha256 === "string" && /^[0-9a-f]{64}$/.test(f.sha256)))
    )
  ) {
    return "it has no valid file list";
  }
  return doc as unknown as InputsMemo;
}

/** The SHA-256 of a file's content, `null` if it does not exist; throws if it cannot be read. */
export async function fileHash(path: string): Promise<string | null> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw e;
  }
  return await sha256Hex(bytes);
}

/**
 * Records the memo for these inputs, unless one with the same content is there already, or one of the files
 * changed since this process started (the plan may have been built from the old content: then no memo, and
 * the next call takes the full path again). Best effort: failures are only logged.
 */
export async function rememberInputs(
  dir: string,
  memo: Omit<InputsMemo, "credproc" | "files"> & { readonly files: readonly string[] },
  o: { readonly uid: number | null; readonly startedAt: number; readonly log: Logger },
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
      files.push({ path: file, sha256: await fileHash(file) });
    }
    const doc: InputsMemo = { credproc: CACHE_FORMAT_VERSION, ...memo, files };
    const text = `${JSON.stringify(doc)}\n`;
    const old = await readTrusted(path, o.uid);
    if ("text" in old && old.text === text) return;
    await writeFileAtomic(path, text, false);
    o.log.debug(`cache: remembered these inputs in ${path}`);
  } catch (e) {
    o.log.debug(`cache: could not remember these inputs in ${path}: ${errorText(e)}`);
  }
}

/** Everything `main.ts` hands over to cache one plan's provider. */
export interface PlanCacheOptions {
  readonly plan: Plan;
  readonly env: Env;
  /** The assume options that concern the cache. */
  readonly options: {
    readonly cacheDir?: string;
    readonly cacheMode: CacheMode;
    readonly refreshMarginSeconds?: number;
    readonly mfaTimeoutSeconds: number;
    readonly roleSessionName?: string;
    readonly verbose: boolean;
    readonly format: string;
  };
  /**
   * This invocation's raw inputs and the files its plan was read from, for the fast path's memo
   * (see {@link InputsMemo}); without them no memo is written.
   */
  readonly inputs?: {
    readonly argv: readonly string[];
    readonly cwd: string;
    readonly files: readonly string[];
  };
  readonly loadPolicy: (source: PolicySource) => Promise<string>;
  readonly log: Logger;
  readonly warn: (message: string) => void;
  readonly os?: OsName;
  readonly uid?: number | null;
  readonly clock?: () => number;
}

/** The wiring `main.ts` uses: resolves directory, key, margin and lock wait, then {@link withFileCache}. */
export async function cachePlanProvider(
  provider: CredentialProvider,
  o: PlanCacheOptions,
): Promise<CredentialProvider> {
  const { options } = o;
  if (options.cacheMode === "off") {
    return withFileCache(provider, { ...baseOptions(o), dir: undefined, key: "" });
  }
  const key = await cacheKey(o.plan, o.env, {
    sessionName: options.roleSessionName,
    policies: await filePolicies(o.plan, o.loadPolicy),
  });
  await checkNamedCacheDir(options.cacheDir, o.env);
  const dir = resolveCacheDir(options.cacheDir, o.env, o.os ?? Deno.build.os);
  const base = baseOptions(o);
  const cached = withFileCache(provider, { ...base, dir, key });
  const { inputs } = o;
  if (inputs === undefined || dir === undefined || options.cacheMode !== "use" || options.verbose) {
    return cached;
  }
  const startedAt = base.clock() - performance.now();
  return async () => {
    const credentials = await cached();
    await rememberInputs(dir, {
      inputs: await inputsKey(inputs.argv, o.env, inputs.cwd),
      key,
      format: options.format,
      marginMs: base.marginMs,
      files: [
        ...inputs.files,
        ...o.plan.hops.flatMap((h) => h.policy?.kind === "file" ? [h.policy.path] : []),
      ],
    }, { uid: base.uid, startedAt, log: o.log });
    return credentials;
  };
}

/**
 * A cache directory named explicitly (`--cache-dir`, else `CREDPROC_CACHE_DIR`) that exists but is not a
 * directory is bad input (exit 2): the wrong path was named. A directory that merely cannot be created or
 * written stays a warning (see {@link withFileCache}).
 */
export async function checkNamedCacheDir(flag: string | undefined, env: Env): Promise<void> {
  const named = flag
    ? ["--cache-dir", flag]
    : env.CREDPROC_CACHE_DIR
    ? ["CREDPROC_CACHE_DIR", env.CREDPROC_CACHE_DIR]
    : [];
  const [what, dir] = named;
  if (dir === undefined) return;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch {
    return;
  }
  if (!info.isDirectory) throw new ConfigError(`${what} ${dir}`, "not a directory");
}

function baseOptions(o: PlanCacheOptions): Omit<FileCacheOptions, "dir" | "key"> {
  const { options, log } = o;
  const timeoutMs = (DEFAULT_LOCK_WAIT_SECONDS + options.mfaTimeoutSeconds) * 1000;
  return {
    marginMs: (options.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000,
    clock: o.clock ?? Date.now,
    lock: (path, ready) =>
      acquireLock(path, { timeoutMs, ready, onWait: () => log.debug(`cache: waiting for lock ${path}`) }),
    log,
    warn: o.warn,
    mode: options.cacheMode,
    uid: o.uid !== undefined ? o.uid : currentUid(),
  };
}

/** This process's uid; null on Windows or where the sandbox refuses `sys: uid`. */
export function currentUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
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
    throw e;
  }
  for (const name of names.sort()) {
    const path = joinPath(dir, name);
    if (ENTRY_FILE.test(name) || MEMO_FILE.test(name) || TEMP_FILE.test(name)) {
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

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim();
}
