/**
 * Writing cache files: the directory (made 0700, checked to be ours and not writable by others) and atomic
 * 0600 files (a new temp file in the same directory, optionally fsync'd, then renamed): a reader sees the old
 * file or the new, never half. Entries, memos, failure markers and the failure record all go through here.
 */
import type { CacheEntry } from "./store.ts";
import { oneLine, writeAll } from "../output.ts";

/**
 * Makes the directory (0700, parents too) if it does not exist, and checks that it is one credproc may use:
 * ours, and not writable by anyone else (who could remove or replace entries). An existing directory's mode
 * is never changed — `--cache-dir /tmp` must not chmod /tmp. Returns why not, or undefined.
 */
export async function prepareDir(dir: string, uid: number | null): Promise<string | undefined> {
  try {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(dir);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      st = await Deno.stat(dir);
    }
    if (!st.isDirectory) return "it is not a directory";
    if (uid !== null && st.uid !== null && st.uid !== uid) return `it is owned by uid ${st.uid}, not ${uid}`;
    if (st.mode !== null && (st.mode & 0o022) !== 0) {
      return `it is writable by others (mode ${
        (st.mode & 0o7777).toString(8).padStart(4, "0")
      }); use a 0700 directory`;
    }
    return undefined;
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
