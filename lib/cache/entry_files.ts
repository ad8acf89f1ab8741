/**
 * The files of one entry in a directory the cache session has judged — `<key>.json`, `<key>.lock`,
 * `<key>.failure.json` — bound to its key, margin, uid and clock, for the decorator (decorator.ts) to run a
 * call over: read and judged (store.ts, by the rules of the entry's payload: credentials or an EKS token, the
 * value registered with the logger as a secret), locked (lock.ts), failure markers (markers.ts), written
 * atomically (write.ts). Made by the session (session.ts `entry`) and by the decorator's tests.
 */
import type { EntryFiles, EntryRead, Expiring } from "./decorator.ts";
import { joinPath } from "./dir.ts";
import { acquireLock } from "./lock.ts";
import { failureFromMarker, failureMarkerText } from "./markers.ts";
import {
  entryFor,
  type EntryMeta,
  readEntry,
  readTokenEntry,
  readTrustedSync,
  tokenEntryFor,
} from "./store.ts";
import { writeEntry, writeFileAtomic } from "./write.ts";
import type { Logger } from "../log.ts";
import { oneLine } from "../output.ts";
import type { Credentials, EksToken } from "../model.ts";

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
  const { key, log } = o;
  return payloadFiles<Credentials>(o, {
    async read(path, now) {
      const r = await readEntry(path, { key, now, marginMs: o.marginMs, uid: o.uid });
      if ("missing" in r) return r;
      if (!r.verdict.ok) return { untrusted: r.verdict.reason };
      const { credentials, issuedAt, remainingMs } = r.verdict;
      log.secret(credentials.secretAccessKey);
      log.secret(credentials.sessionToken);
      return { value: credentials, issuedAt, remainingMs };
    },
    write: (path, credentials, issuedAt) => writeEntry(path, entryFor(key, credentials, issuedAt, o.meta)),
  });
}

/** The files of token entry `key` (see {@link entryFiles}): the token is judged by its own rules (store.ts). */
export function tokenFiles(o: EntryFilesOptions): EntryFiles<EksToken> {
  const { key, log } = o;
  return payloadFiles<EksToken>(o, {
    async read(path, now) {
      const r = await readTokenEntry(path, { key, now, marginMs: o.marginMs, uid: o.uid });
      if ("missing" in r) return r;
      if (!r.verdict.ok) return { untrusted: r.verdict.reason };
      const { token, issuedAt, remainingMs } = r.verdict;
      log.secret(token.token);
      return { value: token, issuedAt, remainingMs };
    },
    write: (path, token, issuedAt) => writeEntry(path, tokenEntryFor(key, token, issuedAt, o.meta)),
  });
}

/** How an entry's payload is read (registered as a secret) and written. */
interface PayloadIo<T> {
  read(path: string, now: number): Promise<EntryRead<T>>;
  write(path: string, value: T, issuedAt: number): Promise<void>;
}

function payloadFiles<T extends Expiring>(o: EntryFilesOptions, payload: PayloadIo<T>): EntryFiles<T> {
  const { key, log } = o;
  const path = joinPath(o.dir, `${key}.json`);
  const lockPath = joinPath(o.dir, `${key}.lock`);
  const failurePath = joinPath(o.dir, `${key}.failure.json`);
  return {
    path,
    lockPath,
    failurePath,
    read: (now) => payload.read(path, now),
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
    write: (value, issuedAt) => payload.write(path, value, issuedAt),
  };
}
