/**
 * A per-key, cross-process exclusive lock on a file, with a bounded wait.
 *
 * It is an advisory `flock` (`Deno.FsFile.tryLock`): held by an open file description, so two opens in one
 * process exclude each other too, and released by the kernel when the holder's process dies (kill -9
 * included) — a crashed holder never leaves a stale lock behind.
 *
 * Waiting polls the non-blocking `tryLock` with a short back-off (5 ms doubling to 50 ms) until a deadline,
 * instead of racing a blocking `lock()` against a timer: a blocking `lock()` sits on a worker thread that
 * nothing can cancel, which would keep the process (or a test) alive after giving up.
 *
 * The lock file is never removed by its holder. `credproc cache clear` may remove it; a waiter that then
 * acquires the lock on the removed inode notices (the path no longer names its file) and starts over, so
 * two processes never both think they hold the lock.
 */
import { CredprocError, LockTimeoutError } from "../errors.ts";

/** A held lock. */
export interface LockHandle {
  /** The lock file. */
  readonly path: string;
  /** How long acquiring it waited, in ms (0 when it was free). */
  readonly waitedMs: number;
  /** Releases the lock (idempotent). */
  release(): void;
}

/** Options of {@link acquireLock}. */
export interface LockOptions {
  /** Give up after this many ms of waiting. */
  readonly timeoutMs: number;
  /** Called once, when the lock is found held and the wait begins. */
  readonly onWait?: () => void;
  /** First and longest pause between attempts (default 5 and 50 ms). */
  readonly minPollMs?: number;
  readonly maxPollMs?: number;
  /** Checked between attempts while waiting; true ends the wait without the lock. */
  readonly ready?: () => Promise<boolean>;
}

/** How many times the lock file may be found replaced under us before giving up (it never should be). */
const MAX_REOPENS = 20;

/**
 * Acquires an exclusive lock on `path` (created 0600 if missing), waiting at most `timeoutMs`. Resolves
 * `undefined` only when `options.ready` ended the wait.
 */
export function acquireLock(path: string, options: LockOptions & { ready?: undefined }): Promise<LockHandle>;
export function acquireLock(path: string, options: LockOptions): Promise<LockHandle | undefined>;
export async function acquireLock(path: string, options: LockOptions): Promise<LockHandle | undefined> {
  const started = performance.now();
  let pause = options.minPollMs ?? 5;
  const maxPause = options.maxPollMs ?? 50;
  let waiting = false;
  for (let reopen = 0; reopen < MAX_REOPENS; reopen++) {
    await prepareLockPath(path);
    const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
    try {
      while (!(await file.tryLock(true))) {
        const elapsed = performance.now() - started;
        if (elapsed >= options.timeoutMs) throw new LockTimeoutError(path, elapsed);
        if (!waiting) {
          waiting = true;
          options.onWait?.();
        }
        await sleep(Math.min(pause, options.timeoutMs - elapsed));
        pause = Math.min(pause * 2, maxPause);
        if (options.ready && await options.ready()) {
          file.close();
          return undefined;
        }
      }
      if (await stillNamedBy(file, path)) {
        const waitedMs = waiting ? performance.now() - started : 0;
        return handle(file, path, waitedMs);
      }
    } catch (e) {
      file.close();
      throw e;
    }
    // Locked a file that `cache clear` removed (or replaced) meanwhile: try again with the current one.
    file.close();
  }
  throw new CredprocError("cache lock", `${path} keeps being replaced`, 1);
}

function handle(file: Deno.FsFile, path: string, waitedMs: number): LockHandle {
  let held = true;
  return {
    path,
    waitedMs,
    release() {
      if (!held) return;
      held = false;
      // Closing the last descriptor releases the flock.
      file.close();
    },
  };
}

/** Whether `path` still names the open file (same device and inode), i.e. our lock is the real one. */
async function stillNamedBy(file: Deno.FsFile, path: string): Promise<boolean> {
  const [open, named] = await Promise.all([file.stat(), Deno.lstat(path).catch(() => undefined)]);
  if (named === undefined || !named.isFile) return false;
  // Windows has no inode numbers in Deno: there the path cannot be swapped while open anyway.
  if (open.ino === null || named.ino === null) return true;
  return open.ino === named.ino && open.dev === named.dev;
}

/**
 * Before the open: a symlink is removed (the lock is recreated in place); any other file that is not a regular
 * file (a FIFO, a socket, a device, a directory) is refused, never opened — a FIFO could block the open, a
 * device be written to — and the caller goes on without the lock.
 */
async function prepareLockPath(path: string): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (st.isSymlink) await Deno.remove(path);
  else if (!st.isFile) throw new Error(`${path} is not a regular file`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/**
 * Removes a lock file if nobody holds it (for `cache clear`). Returns false when it is in use.
 * The removal happens while holding the lock, so a waiter that opened the old file starts over.
 */
export async function removeLockIfFree(path: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    const st = await Deno.lstat(path);
    if (!st.isFile) {
      await Deno.remove(path);
      return true;
    }
    file = await Deno.open(path, { read: true, write: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
  try {
    if (!(await file.tryLock(true))) return false;
    await Deno.remove(path);
    return true;
  } finally {
    file.close();
  }
}
