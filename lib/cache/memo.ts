/**
 * The fast path's memo writer: after a hit or a fetch, the full path records which entry these raw inputs
 * lead to and the digests of the files the plan was read from (see `InputsMemo` in store.ts), so that the
 * next identical call is answered by lib/fast_path.ts without parsing or planning.
 */
import { joinPath } from "./dir.ts";
import { CACHE_FORMAT_VERSION, fileHash, type InputsMemo, judgeDirSync, readTrusted } from "./store.ts";
import type { Logger } from "../log.ts";
import { oneLine } from "../output.ts";
import { writeFileAtomic } from "./write.ts";

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
 * Records the memo for these inputs, unless one with the same content is there already, or one of the files
 * changed since this process started (the plan may have been built from the old content: then no memo, and
 * the next call takes the full path again). Best effort: failures are only logged.
 */
export async function rememberInputs(
  dir: string,
  memo: Omit<InputsMemo, "credproc" | "files"> & { readonly files: readonly string[] },
  o: {
    readonly uid: number | null;
    readonly startedAt: number;
    readonly log: Logger;
    readonly digestKey: CryptoKey;
  },
): Promise<void> {
  const path = joinPath(dir, `${memo.inputs}.inputs.json`);
  const verdict = judgeDirSync(dir, o.uid);
  if (!("ok" in verdict)) {
    o.log.debug(
      `cache: not remembering these inputs: cannot use ${dir}: ${
        "problem" in verdict ? verdict.problem : "it does not exist"
      }`,
    );
    return;
  }
  try {
    const files: { path: string; sha256: string | null }[] = [];
    for (const file of [...new Set(memo.files)]) {
      const mtime = (await Deno.stat(file).catch(() => undefined))?.mtime?.getTime();
      if (mtime !== undefined && changedJustNow(mtime, o.startedAt, Date.now())) {
        o.log.debug(`cache: ${file} changed just now; not remembering these inputs`);
        return;
      }
      files.push({ path: file, sha256: await fileHash(file, o.digestKey) });
    }
    const doc: InputsMemo = { credproc: CACHE_FORMAT_VERSION, ...memo, files };
    const text = `${JSON.stringify(doc)}\n`;
    const old = await readTrusted(path, o.uid);
    if ("text" in old && old.text === text) return;
    await writeFileAtomic(path, text, false);
    o.log.debug(`cache: remembered these inputs in ${path}`);
  } catch (e) {
    o.log.debug(`cache: could not remember these inputs in ${path}: ${oneLine(e)}`);
  }
}
