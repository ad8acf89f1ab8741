/**
 * Writing cache files: the directory (made 0700, checked to be ours and not writable by others) and atomic
 * 0600 files (a new temp file in the same directory, optionally fsync'd, then renamed): a reader sees the old
 * file or the new, never half. Entries, memos, failure markers and the failure record all go through here.
 */
import { type CacheEntry, judgeDirSync } from "./store.ts";
import { oneLine, writeAll } from "../output.ts";

/**
 * Makes the directory (0700, parents too) if it does not exist, and checks it under the cache's directory
 * rule (`judgeDirSync`: ours, not writable by anyone else). An existing directory's mode is never changed —
 * `--cache-dir /tmp` must not chmod /tmp. Returns why not, or undefined.
 */
export async function prepareDir(dir: string, uid: number | null): Promise<string | undefined> {
  try {
    let verdict = judgeDirSync(dir, uid);
    if ("missing" in verdict) {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      verdict = judgeDirSync(dir, uid);
    }
    if ("ok" in verdict) return undefined;
    if ("missing" in verdict) return "it disappeared after it was created";
    return /writable by others/.test(verdict.problem)
      ? `${verdict.problem}; use a 0700 directory`
      : verdict.problem;
  } catch (e) {
    return oneLine(e);
  }
}

/** Writes the entry atomically: temp file (0600, exclusive create) in the same directory, fsync, rename. */
export async function writeEntry(path: string, entry: CacheEntry): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(entry)}\n`, true);
}

/** Writes `text` to `path` atomically and 0600 (temp file in the same directory + rename), `sync`ed first. */
export async function writeFileAtomic(path: string, text: string, sync: boolean): Promise<void> {
  const suffix = crypto.getRandomValues(new Uint32Array(2)).reduce((s, n) => s + n.toString(36), "");
  const temp = `${path}.${suffix}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      await writeAll(file, text);
      if (sync) await file.syncData();
    } finally {
      file.close();
    }
    // The umask can only remove bits; make sure the mode is exactly 0600 (no-op on Windows).
    if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}
