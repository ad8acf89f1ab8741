/**
 * The cache decorator: one cached call of ANY provider of an expiring value — credentials, or an EKS token —
 * over one entry's files.
 *
 * - The entry is trusted only under store.ts's rules (a regular file, not a symlink, ours, mode 0600, small,
 *   well formed, the right key, and expiring more than the refresh margin from now). Anything else is ignored
 *   (said under `--verbose`) and replaced by the next write.
 * - A miss takes the entry's lock, reads the entry again, and only then calls the provider: N processes
 *   started together make one call; the others wait and reuse its result, or report the failure the holder
 *   left (a failure marker, markers.ts).
 * - A lock that cannot be taken or an entry that cannot be written never fails the call: credentials are
 *   fetched and returned, and one warning goes to the `warn` callback.
 * - Secrets live only in the files; the log gets paths, hit/miss and reasons, never content.
 *
 * The files come in as an {@link EntryFiles} that the cache session had made (files.ts `entryFiles`) for a
 * directory it has judged: this module imports no other part of the cache (but the lock handle's type), only
 * what it is given.
 */
import { CredprocError, LockTimeoutError } from "../errors.ts";
import type { LockHandle } from "./lock.ts";
import type { Logger } from "../log.ts";
import { oneLine } from "../output.ts";
import type { Credentials } from "../model.ts";

/** What an entry holds: something that expires (credentials, an EKS token). */
export interface Expiring {
  /** Absent: never stored (long-term keys). */
  readonly expiration?: Date;
}

/** What reading an entry found: nothing, a file not to be used and why, or its value and how long it has left. */
export type EntryRead<T> =
  | { readonly missing: true }
  | { readonly untrusted: string }
  | { readonly value: T; readonly issuedAt: number; readonly remainingMs: number };

/** One entry's files in a judged directory, bound to its key, margin and uid (see `entryFiles`, files.ts). */
export interface EntryFiles<T extends Expiring = Credentials> {
  /** `<dir>/<key>.json`, `<key>.lock` and `<key>.failure.json`: for log lines. */
  readonly path: string;
  readonly lockPath: string;
  readonly failurePath: string;
  /** Reads and judges the entry at `now` (a value read is registered with the logger as a secret). */
  read(now: number): Promise<EntryRead<T>>;
  /**
   * Takes the entry's lock; resolves `undefined` when `ready` ended the wait; rejects with a
   * {@link LockTimeoutError} when another process held it too long, or with another error when there is no
   * lock to take (the call then goes on without it).
   */
  lock(ready: () => Promise<boolean>): Promise<LockHandle | undefined>;
  /**
   * The failure another process left for this key since `launchedAt` (see markers.ts), if any, and whether a
   * marker file is there at all (an older one is history, but still there to remove).
   */
  readFailureMarker(launchedAt: number): { readonly failure?: CredprocError; readonly present: boolean };
  /** Leaves this call's failure for the callers waiting on the lock. Best effort. */
  writeFailureMarker(e: CredprocError): Promise<void>;
  /** Removes a failure an earlier call left. Best effort. */
  removeFailureMarker(): Promise<void>;
  /** Writes the value as the entry (atomically). */
  write(value: T, issuedAt: number): Promise<void>;
}

/** Options of {@link cachedCall}. */
export interface CachedCallOptions<T extends Expiring = Credentials> {
  readonly files: EntryFiles<T>;
  /** `--refresh`: skip the first lookup; only an entry written after this call started counts. */
  readonly refresh: boolean;
  /** Wall clock in epoch ms (a fake in tests). */
  readonly clock: () => number;
  readonly log: Logger;
  /** Cache trouble that does not fail the call (a lock not taken, an entry not written), at most once. */
  readonly warn: (message: string) => void;
  /**
   * A caller that lives on and calls again (`credproc serve`): a failure recorded before this call started
   * is history, as for a new process; otherwise the process's launch is the line.
   */
  readonly longRunning?: boolean;
}

/** Wraps `provider` with its entry: lookup, lock, look again, call, write. */
export function cachedCall<T extends Expiring>(
  provider: () => Promise<T>,
  o: CachedCallOptions<T>,
): () => Promise<T & { readonly issuedAt?: Date }> {
  const { files, log } = o;
  return async () => {
    const startedAt = o.clock();
    // When this process was launched: a failure recorded after that is one this call was racing with (a crowd
    // started together); one recorded before it is history, and a new call (a retry) must try for itself.
    const launchedAt = o.longRunning ? startedAt : startedAt - performance.now();
    let warned = false;
    const warnOnce = (message: string) => {
      if (!warned) o.warn(message);
      warned = true;
    };
    if (!o.refresh) {
      const hit = await lookup(o, "hit");
      if (hit) return hit;
    } else {
      log.debug(`cache: refresh requested (--refresh), ignoring ${files.path}`);
    }

    // With --refresh, only an entry written after this call started counts (a parallel refresh's).
    const notBefore = o.refresh ? startedAt : undefined;
    // While another process holds the lock, its result can be read without the lock (writes are atomic):
    // waiters return as soon as the entry appears instead of queueing for the lock one by one.
    let early: T | undefined;
    // A holder that failed leaves a short-lived failure marker: waiters report it instead of retrying.
    let shared: CredprocError | undefined;
    const ready = async () =>
      (early = await lookup(o, "hit while waiting", notBefore, true)) !== undefined ||
      (shared = files.readFailureMarker(launchedAt).failure) !== undefined;
    let lock: LockHandle | undefined;
    try {
      lock = await files.lock(ready);
    } catch (e) {
      if (e instanceof LockTimeoutError) throw e;
      warnOnce(`cache lock unavailable, fetching without it: ${files.lockPath}: ${oneLine(e)}`);
    }
    if (lock === undefined && early !== undefined) return early;
    // Whether a failure marker may be there to remove after a success: unknown (so yes) unless read under the
    // lock, where none can appear (only a lock holder writes one).
    let markerPresent = true;
    if (lock === undefined && shared !== undefined) {
      log.debug(`cache: another credproc failed just now (${files.failurePath}); reporting its failure`);
      throw shared;
    }
    try {
      if (lock) {
        log.debug(
          `cache: lock ${files.lockPath} acquired${
            lock.waitedMs > 0 ? ` after ${Math.round(lock.waitedMs)} ms` : ""
          }`,
        );
        // Another process may have written the entry just before we got the lock: look again. Quietly: the
        // first lookup (or --refresh) already said why there was nothing to use.
        const again = await lookup(o, "hit after waiting", notBefore, true);
        if (again) return again;
        const marker = files.readFailureMarker(launchedAt);
        markerPresent = marker.present;
        const failed = marker.failure;
        if (failed) {
          log.debug(`cache: another credproc failed just now (${files.failurePath}); reporting its failure`);
          throw failed;
        }
      }
      let value: T;
      try {
        value = await provider();
      } catch (e) {
        if (lock && e instanceof CredprocError && e.exitCode === 1 && !(e instanceof LockTimeoutError)) {
          await files.writeFailureMarker(e);
        }
        throw e;
      }
      // This key works again: a failure an earlier call left is history (and markers must not pile up).
      if (markerPresent) await files.removeFailureMarker();
      const issuedAt = o.clock();
      if (value.expiration === undefined || value.expiration.getTime() <= issuedAt) {
        log.debug("cache: not storing credentials without a future expiration");
        return value;
      }
      try {
        await files.write(value, issuedAt);
        log.debug(`cache: stored ${files.path} (expires ${value.expiration.toISOString()})`);
      } catch (e) {
        warnOnce(`cache not written: ${files.path}: ${oneLine(e)}`);
      }
      // As a hit returns them: with the entry's issuedAt (the session's lifetime, for `serve`'s margin).
      return { ...value, issuedAt: new Date(issuedAt) };
    } finally {
      lock?.release();
    }
  };
}

/**
 * Reads the entry and returns its credentials when usable. A hit is always logged; a miss, an entry not
 * trusted or one older than this `--refresh` only when not `quiet`.
 */
async function lookup<T extends Expiring>(
  o: CachedCallOptions<T>,
  what: string,
  notBefore?: number,
  quiet = false,
): Promise<T | undefined> {
  const { files, log } = o;
  const debug = quiet ? () => {} : (message: string) => log.debug(message);
  const result = await files.read(o.clock());
  if ("missing" in result) {
    debug(`cache: miss ${files.path} (no entry)`);
    return undefined;
  }
  if ("untrusted" in result) {
    debug(`cache: ignoring ${files.path}: ${result.untrusted}; it will be replaced`);
    return undefined;
  }
  if (notBefore !== undefined && result.issuedAt <= notBefore) {
    debug(`cache: ${files.path} predates this --refresh; fetching`);
    return undefined;
  }
  log.debug(`cache: ${what} ${files.path} (${Math.floor(result.remainingMs / 60000)} min left)`);
  return result.value;
}
