/**
 * The fast path's memo, as the full path writes it: after a hit or a fetch, which entry these raw inputs lead
 * to and the keyed digests of the files the plan was read from (`InputsMemo` in store.ts, where the fast path
 * reads it), so that the next identical call is answered by lib/fast_path.ts without parsing or planning.
 * This module is the document and the rules for writing one; the session does the file work
 * (session.ts `remember`).
 */
import { CACHE_FORMAT_VERSION, type InputsMemo } from "./store.ts";
import type { Plan } from "../model.ts";

/** How far back before the process started an mtime still counts: coarse timestamps (FAT: 2 s). */
const COARSE_MTIME_MS = 2000;
/** How far ahead of the clock an mtime still counts: a network file system's clock a little ahead. */
const AHEAD_MTIME_MS = 5000;

/**
 * Whether a file may have been edited while this process read it: then the plan may be built from the old
 * content while the memo would record the new one's digest, and the fast path would serve the old plan's
 * entry for the new content. Such an edit carries the current time, give or take the file system's
 * granularity and a few seconds of clock skew. An mtime further ahead was not written by an edit just now
 * (a clock that was ahead: an unpacked archive, a restored backup, a machine whose clock was set back): it
 * must not switch the memo off until the clock catches up — the digest still notices any later edit.
 */
export function changedJustNow(mtime: number, startedAt: number, now: number): boolean {
  return mtime > startedAt - COARSE_MTIME_MS && mtime <= now + AHEAD_MTIME_MS;
}

/**
 * The files a memo watches: the ones the plan was read from (`read`: the shared config and credentials
 * files, the SSO token cache file) and the ones it names (policy and web identity token files), once each.
 */
export function watchedFiles(plan: Plan, read: readonly string[]): string[] {
  return [
    ...new Set([
      ...read,
      ...plan.hops.flatMap((h) => h.policy?.kind === "file" ? [h.policy.path] : []),
      ...plan.hops.flatMap((h) => h.webIdentity?.kind === "file" ? [h.webIdentity.path] : []),
    ]),
  ];
}

/** A memo as written: every kind's fields but the format version, which is added. */
export type MemoFields = InputsMemo extends infer M ? M extends InputsMemo ? Omit<M, "credproc"> : never
  : never;

/**
 * The memo's file text (one line), its kind included (`parseMemo` in store.ts reads a memo without one as an
 * `assume` memo, as every memo was before `eks-token`). Each watched file's digest goes on disk as `sha256`
 * (see `WatchedFile`).
 */
export function memoText(memo: MemoFields): string {
  const { files, ...rest } = memo;
  const doc = {
    credproc: CACHE_FORMAT_VERSION,
    ...rest,
    files: files.map((f) => ({ path: f.path, sha256: f.hmac })),
  };
  return `${JSON.stringify(doc)}\n`;
}
