/**
 * Failure markers: `<dir>/<key>.failure.json`, left by a lock holder whose call failed, so that the callers
 * that were waiting for it report its failure instead of each retrying (a crowd makes one failed call, not
 * N). Short-lived by design: only a marker recorded after the reader was launched counts. Already scrubbed
 * of every registered secret. This module is the marker's document, both ways; files.ts (`entryFiles`) reads
 * and writes the file under the cache's file rules. Not to be confused with the failure record (`failures.json`,
 * failures.ts), which keeps the last failures for `credproc cache list`.
 */
import { CACHE_FORMAT_VERSION } from "./store.ts";
import { CredprocError } from "../errors.ts";

/** The longest text kept in a marker's fields. */
const MAX_MARKER_TEXT = 2000;

/**
 * The marker's text for failure `e` of the call for `key` at `at` (epoch ms): the failed step, its one-line
 * reason and hint, each passed through `scrub` (the logger's), so the marker holds no secret.
 */
export function failureMarkerText(
  key: string,
  at: number,
  e: CredprocError,
  scrub: (text: string) => string,
): string {
  const cut = (t: string | undefined) => t === undefined ? undefined : scrub(t).slice(0, MAX_MARKER_TEXT);
  const doc = {
    credproc: CACHE_FORMAT_VERSION,
    key,
    at,
    what: cut(e.what),
    message: cut(e.message),
    hint: cut(e.hint),
  };
  return `${JSON.stringify(doc)}\n`;
}

/**
 * The failure a marker's `text` records for `key`, as the error to report — only when it was recorded after
 * this process was launched (`launchedAt`) and not in the future (`now`, with a second's slack): the callers
 * of a crowd share the holder's failure, while a call made after a failure (a retry once the cause is fixed)
 * never gets the old answer. Any doubt: undefined (call STS).
 */
export function failureFromMarker(
  text: string,
  key: string,
  now: number,
  launchedAt: number,
): CredprocError | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const d = doc as Record<string, unknown>;
  const ok = (v: unknown) => typeof v === "string" && v !== "" && v.length <= MAX_MARKER_TEXT;
  if (
    d === null || typeof d !== "object" || d.credproc !== CACHE_FORMAT_VERSION || d.key !== key ||
    typeof d.at !== "number" || !ok(d.what) || !ok(d.message) || (d.hint !== undefined && !ok(d.hint))
  ) {
    return undefined;
  }
  if (d.at > now + 1000 || d.at < launchedAt) return undefined;
  return new CredprocError(d.what as string, d.message as string, 1, { hint: d.hint as string | undefined });
}
