/**
 * The cache decorator: wraps ANY credential provider with the file cache and the cross-process lock.
 *
 * - One JSON file per key, `<dir>/<key>.json` (see write.ts for how it is written, store.ts for when it is
 *   trusted: a regular file, not a symlink, ours, mode 0600, small, well formed, the right key, and expiring
 *   more than the refresh margin from now). Anything else is ignored (said under `--verbose`) and replaced by
 *   the next write.
 * - A miss takes the per-key lock (`<dir>/<key>.lock`, see `lock.ts`), reads the file again, and only then
 *   calls the provider: N processes started together make one call; the others wait and reuse its result,
 *   or report the failure the holder left (markers.ts).
 * - A directory that cannot be created or written never fails the call: credentials are fetched and
 *   returned, and one warning goes to the `warn` callback.
 * - Secrets live only in the files; the log gets paths, hit/miss and reasons, never content.
 *
 * Nothing here imports the SDK or any other heavy module: a hit costs a stat, a read and a JSON parse.
 */
import { joinPath } from "./dir.ts";
import { entryFor, type EntryMeta, readEntry } from "./store.ts";
import { CredprocError } from "../errors.ts";
import { type Locker, type LockHandle, LockTimeoutError } from "./lock.ts";
import type { Logger } from "../log.ts";
import { oneLine } from "../output.ts";
import type { CacheMode, CredentialProvider, Credentials } from "../model.ts";
import { prepareDir, writeEntry } from "./write.ts";
import { readFailure, removeFailure, writeFailure } from "./markers.ts";

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
    let warned = false;
    const warnOnce = (message: string) => {
      if (!warned) opts.warn(message);
      warned = true;
    };
    // The directory first: nothing is read from (or written to) one anyone else could write to.
    const dirProblem = await prepareDir(opts.dir, opts.uid);
    if (dirProblem !== undefined) {
      warnOnce(`cache disabled: cannot use ${opts.dir}: ${dirProblem}`);
      return await provider();
    }
    if (opts.mode === "use") {
      const hit = await lookup(path, opts, "hit");
      if (hit) return hit;
    } else {
      log.debug(`cache: refresh requested (--refresh), ignoring ${path}`);
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
      // This key works again: a failure an earlier call left is history (and markers must not pile up).
      await removeFailure(failurePath, opts);
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
      // As a hit returns them: with the entry's issuedAt (the session's lifetime, for `serve`'s margin).
      return { ...credentials, issuedAt: new Date(issuedAt) };
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
