/**
 * The failure record: `<cache dir>/failures.json`, the last {@link MAX_FAILURES} failed calls, each the
 * `credproc:` line (and hint) exactly as printed on stderr — already scrubbed of secrets — with its time.
 * For consumers that swallow credential_process's stderr (the JS SDK v2, the AWS CRT): `credproc cache list`
 * shows it. Trusted and written under the cache's rules (regular file, owner, 0600, atomic rename); it never
 * grows past the bound. Recording is best effort: a problem is only said under `--verbose`. Not to be
 * confused with a failure marker (`<key>.failure.json`, markers.ts), which a lock holder leaves for the
 * callers waiting on it.
 */
import { joinPath } from "./dir.ts";
import { ISO_TIME, MAX_ENTRY_BYTES, readTrusted } from "./store.ts";
import { oneLine } from "../output.ts";
import { writeFileAtomic } from "./write.ts";
import { acquireLock } from "./lock.ts";
import { judgeCacheDir } from "./verdict.ts";

/** The record's file name in the cache directory. */
export const FAILURES_FILE = "failures.json";
/** How many failures are kept (the oldest go first). */
export const MAX_FAILURES = 20;
/** Held while the record is read, extended and replaced, so failures recorded together are all kept. */
export const FAILURES_LOCK = "failures.json.lock";
/** A writer holds the lock for a few ms; past this, the failure is not recorded (best effort). */
const LOCK_WAIT_MS = 2000;
/** Longest line kept; longer ones are cut. The file also stays under the cache's size limit for files. */
const MAX_LINE = 1000;

/** One recorded failure. */
export interface Failure {
  /** ISO 8601 UTC. */
  readonly time: string;
  /** The `credproc: <what>: <why>` line. */
  readonly line: string;
  /** The `hint:` line's text, if there was one. */
  readonly hint: string | null;
}

/** The file's document. */
interface FailuresDoc {
  readonly credproc: 1;
  readonly failures: readonly Failure[];
}

function cut(text: string): string {
  return text.length > MAX_LINE ? `${text.slice(0, MAX_LINE - 1)}…` : text;
}

/** Reads the record; a missing, untrusted or malformed file reads as empty. Never throws. */
export async function readFailureRecord(dir: string, uid: number | null): Promise<Failure[]> {
  const read = await readTrusted(joinPath(dir, FAILURES_FILE), uid);
  if (!("text" in read)) return [];
  try {
    const doc = JSON.parse(read.text) as Partial<FailuresDoc>;
    if (doc?.credproc !== 1 || !Array.isArray(doc.failures)) return [];
    return doc.failures.filter((f): f is Failure =>
      f !== null && typeof f === "object" && typeof f.time === "string" && ISO_TIME.test(f.time) &&
      typeof f.line === "string" && (f.hint === null || typeof f.hint === "string")
    ).slice(-MAX_FAILURES).map((f) => ({ time: f.time, line: cut(f.line), hint: f.hint && cut(f.hint) }));
  } catch {
    return [];
  }
}

/**
 * Appends one failure, keeping the newest {@link MAX_FAILURES}; creates the directory (0700) if needed.
 * Returns why nothing was recorded, or undefined. Never throws.
 */
export async function appendFailureRecord(
  dir: string,
  failure: Failure,
  uid: number | null,
): Promise<string | undefined> {
  try {
    const verdict = await judgeCacheDir({ path: dir }, uid, { create: true });
    if (verdict.state === "unusable") return `cannot use ${dir}: ${verdict.problem}`;
    const lock = await acquireLock(joinPath(dir, FAILURES_LOCK), { timeoutMs: LOCK_WAIT_MS });
    try {
      let failures = [...await readFailureRecord(dir, uid), {
        time: failure.time,
        line: cut(failure.line),
        hint: failure.hint === null ? null : cut(failure.hint),
      }].slice(-MAX_FAILURES);
      const encode = () => `${JSON.stringify({ credproc: 1, failures } satisfies FailuresDoc, null, 1)}\n`;
      let text = encode();
      // Readers refuse larger files: drop the oldest until it fits (only long non-ASCII lines get here).
      while (new TextEncoder().encode(text).length > MAX_ENTRY_BYTES && failures.length > 1) {
        failures = failures.slice(1);
        text = encode();
      }
      await writeFileAtomic(joinPath(dir, FAILURES_FILE), text);
    } finally {
      lock.release();
    }
    return undefined;
  } catch (e) {
    return oneLine(e);
  }
}
