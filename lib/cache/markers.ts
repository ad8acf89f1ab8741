/**
 * Failure markers: `<dir>/<key>.failure.json`, left by a lock holder whose call failed, so that the callers
 * that were waiting for it report its failure instead of each retrying (a crowd makes one failed call, not
 * N). Short-lived by design: only a marker recorded after the reader was launched counts. Already scrubbed
 * of every registered secret. Written and trusted under the cache's file rules.
 */
import { CACHE_FORMAT_VERSION, readTrustedSync } from "./store.ts";
import { CredprocError } from "../errors.ts";
import { oneLine } from "../output.ts";
import type { Logger } from "../log.ts";
import { writeFileAtomic } from "./write.ts";

/** What writing and reading a marker needs from the decorator's options. */
export interface MarkerOptions {
  readonly key: string;
  readonly clock: () => number;
  readonly log: Logger;
  readonly uid: number | null;
}

/** The longest text kept in a failure record's fields. */
const MAX_FAILURE_TEXT = 2000;

/**
 * Writes `<key>.failure.json` (0600, atomic): the failed step, its one-line reason and hint, and when —
 * already scrubbed of every registered secret, so the record holds none. Best effort.
 */
export async function writeFailure(path: string, opts: MarkerOptions, e: CredprocError): Promise<void> {
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
export function readFailure(
  path: string,
  opts: MarkerOptions,
  launchedAt: number,
): CredprocError | undefined {
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

/** Removes the marker after a successful call for its key; best effort (a problem is only logged). */
export async function removeFailure(path: string, opts: MarkerOptions): Promise<void> {
  try {
    await Deno.remove(path);
    opts.log.debug(`cache: removed the earlier failure's marker ${path}`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      opts.log.debug(`cache: could not remove ${path}: ${oneLine(e)}`);
    }
  }
}
