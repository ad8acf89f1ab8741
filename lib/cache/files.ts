/**
 * The files a cache session works on in the directory it has judged (verdict.ts): the digest key
 * (`digest.key`), each entry's files (`<key>.json`, `<key>.lock`, `<key>.failure.json`), the fast path's memo
 * (`<inputs key>.inputs.json`) and the locks the session hands out. Every read and write of a call goes through
 * here: read and judged under the trust rules (store.ts, by the rules of the entry's payload: credentials or an
 * EKS token, the value registered with the logger as a secret; memo.ts for the memo), locked (lock.ts), failure
 * markers (markers.ts), written atomically (write.ts). The session decides, this module touches the
 * directory, and the decorator (decorator.ts) runs a call over the entry's files it is handed.
 */
import type { EntryFiles, EntryRead, Expiring } from "./decorator.ts";
import { joinPath } from "./dir.ts";
import { DIGEST_KEY_FILE, fileHmacs, importDigestKey, newDigestKeyText } from "./digests.ts";
import { acquireLock, type LockHandle } from "./lock.ts";
import { failureFromMarker, failureMarkerText } from "./markers.ts";
import {
  changedJustNow,
  type InputsMemo,
  type MemoFields,
  memoText,
  parseMemo,
  type WatchedFile,
  watchedFiles,
} from "./memo.ts";
import {
  type CacheEntry,
  type EntryExpect,
  entryFor,
  type EntryMeta,
  readEntry,
  readTokenEntry,
  readTrustedSync,
  type TokenEntry,
  tokenEntryFor,
} from "./store.ts";
import { linkNewFile, writeEntry, writeFileAtomic } from "./write.ts";
import { LockTimeoutError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { oneLine } from "../output.ts";
import type { Credentials, EksToken, Plan } from "../model.ts";

/**
 * Reads the directory's digest key (`digest.key`: 32 random bytes as hex, 0600, ours), creating it on first
 * use without ever replacing a good one (`linkNewFile`: a parallel first run keeps the winner's key); a file
 * there that is not a trusted key (wrong mode or owner, not a key) is replaced.
 */
export async function openDigestKey(dir: string, uid: number | null): Promise<CryptoKey> {
  const path = joinPath(dir, DIGEST_KEY_FILE);
  const read = async () => {
    const file = readTrustedSync(path, uid);
    return "text" in file ? await importDigestKey(file.text) : undefined;
  };
  const existing = await read();
  if (existing !== undefined) return existing;
  const text = newDigestKeyText();
  if (!(await linkNewFile(path, text)) && await read() === undefined) {
    await writeFileAtomic(path, text);
  }
  const key = await read();
  if (key === undefined) throw new Error(`${path} cannot be read back`);
  return key;
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
 * The files of credentials entry `key` in the judged directory `dir` — `<key>.json`, `<key>.lock`,
 * `<key>.failure.json` — read, locked and written under the cache's rules: what the decorator works on
 * (exported for its tests).
 */
export function entryFiles(o: EntryFilesOptions): EntryFiles<Credentials> {
  return payloadFiles(o, {
    read: readEntry,
    value: (verdict) => verdict.credentials,
    secrets: (credentials) => [credentials.secretAccessKey, credentials.sessionToken],
    document: entryFor,
  });
}

/** The files of token entry `key` (see {@link entryFiles}): the token is judged by its own rules (store.ts). */
export function tokenFiles(o: EntryFilesOptions): EntryFiles<EksToken> {
  return payloadFiles(o, {
    read: readTokenEntry,
    value: (verdict) => verdict.token,
    secrets: (token) => [token.token],
    document: tokenEntryFor,
  });
}

/** What a trusted entry's verdict says besides its value. */
interface Trusted {
  readonly ok: true;
  readonly issuedAt: number;
  readonly remainingMs: number;
}

/** An entry's payload: how its file is read and judged, its value and secrets taken out, its document made. */
interface Payload<T, V extends Trusted> {
  read(
    path: string,
    expect: EntryExpect,
  ): Promise<
    { readonly verdict: V | { readonly ok: false; readonly reason: string } } | { readonly missing: true }
  >;
  value(verdict: V): T;
  /** What the logger must scrub once the value is read. */
  secrets(value: T): readonly (string | undefined)[];
  document(key: string, value: T, issuedAt: number, meta?: EntryMeta): CacheEntry | TokenEntry;
}

function payloadFiles<T extends Expiring, V extends Trusted>(
  o: EntryFilesOptions,
  payload: Payload<T, V>,
): EntryFiles<T> {
  const { key, log } = o;
  const base = joinPath(o.dir, key);
  const path = `${base}.json`;
  const lockPath = `${base}.lock`;
  const failurePath = `${base}.failure.json`;
  return {
    path,
    lockPath,
    failurePath,
    async read(now): Promise<EntryRead<T>> {
      const r = await payload.read(path, { key, now, marginMs: o.marginMs, uid: o.uid });
      if ("missing" in r) return r;
      if (!r.verdict.ok) return { untrusted: r.verdict.reason };
      const value = payload.value(r.verdict);
      payload.secrets(value).forEach((s) => log.secret(s));
      return { value, issuedAt: r.verdict.issuedAt, remainingMs: r.verdict.remainingMs };
    },
    lock: (ready) =>
      acquireLock(lockPath, {
        timeoutMs: o.lockWaitMs,
        ready,
        onWait: () => log.debug(`cache: waiting for lock ${lockPath}`),
      }),
    readFailureMarker(launchedAt) {
      const read = readTrustedSync(failurePath, o.uid);
      if ("missing" in read) return { present: false };
      const failure = "text" in read ? failureFromMarker(read.text, key, o.clock(), launchedAt) : undefined;
      return failure === undefined ? { present: true } : { failure, present: true };
    },
    async writeFailureMarker(e) {
      try {
        await writeFileAtomic(failurePath, failureMarkerText(key, o.clock(), e, log.scrub));
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
    write: (value, issuedAt) => writeEntry(path, payload.document(key, value, issuedAt, o.meta)),
  };
}

/** The memo of inputs key `inputs` in `dir` when there is a trusted, well-formed one. Never throws. */
export function readMemo(dir: string, inputs: string, uid: number | null): InputsMemo | undefined {
  const read = readTrustedSync(memoPath(dir, inputs), uid);
  if (!("text" in read)) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(read.text);
  } catch {
    return undefined;
  }
  const memo = parseMemo(doc, inputs);
  return typeof memo === "string" ? undefined : memo;
}

/**
 * Writes the memo of inputs key `inputs` in `dir` for a call of `plan`: the files it watches
 * (`watchedFiles`, memo.ts: the ones the plan was read from, `read`, and the ones it names), each with its keyed
 * digest, in the document `fields` makes. Not when a watched file changed just now (the plan may be built from
 * its old content: `changedJustNow`, memo.ts), nor when the same text is there already (the full path runs
 * whenever the fast path cannot answer). Best effort: a failure is only said under `--verbose`.
 */
export async function writeMemo(
  dir: string,
  inputs: string,
  fields: (files: readonly WatchedFile[]) => MemoFields,
  o: {
    readonly plan: Plan;
    readonly read: readonly string[];
    readonly digestKey: CryptoKey;
    /** When this process started. */
    readonly startedAt: number;
    readonly uid: number | null;
    readonly log: Logger;
  },
): Promise<void> {
  const path = memoPath(dir, inputs);
  try {
    const watched = watchedFiles(o.plan, o.read);
    for (const file of watched) {
      const mtime = (await Deno.stat(file).catch(() => undefined))?.mtime?.getTime();
      if (mtime !== undefined && changedJustNow(mtime, o.startedAt, Date.now())) {
        o.log.debug(`cache: ${file} changed just now; not remembering these inputs`);
        return;
      }
    }
    const text = memoText(fields(await fileHmacs(watched, o.digestKey)));
    const old = readTrustedSync(path, o.uid);
    if ("text" in old && old.text === text) return;
    await writeFileAtomic(path, text);
    o.log.debug(`cache: remembered these inputs in ${path}`);
  } catch (e) {
    o.log.debug(`cache: could not remember these inputs in ${path}: ${oneLine(e)}`);
  }
}

function memoPath(dir: string, inputs: string): string {
  return joinPath(dir, `${inputs}.inputs.json`);
}

/**
 * Runs `work` under the lock `<key>.lock` in `dir` (a lock the session hands out: `kind` names it in the log),
 * waiting at most `timeoutMs`; a lock that cannot be taken (but for a wait that timed out) lets the work go on
 * without it, said under `--verbose`.
 */
export async function underLock<T>(
  dir: string,
  key: string,
  kind: string,
  o: { readonly timeoutMs: number; readonly log: Logger },
  work: () => Promise<T>,
): Promise<T> {
  const { log } = o;
  const path = joinPath(dir, `${key}.lock`);
  let held: LockHandle | undefined;
  try {
    held = await acquireLock(path, {
      timeoutMs: o.timeoutMs,
      onWait: () => log.debug(`cache: waiting for the ${kind} lock ${path}`),
    });
    log.debug(`cache: ${kind} lock ${path} acquired`);
  } catch (e) {
    if (e instanceof LockTimeoutError) throw e;
    log.debug(`cache: ${kind} lock unavailable, going on without it: ${path}: ${oneLine(e)}`);
  }
  try {
    return await work();
  } finally {
    held?.release();
  }
}
