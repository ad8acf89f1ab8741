/**
 * Writing cache files: atomic 0600 files (a new temp file in the same directory, then renamed: a reader sees the
 * old file or the new, never half), and a file created once without ever replacing one already there (the digest
 * key). Nothing is fsync'd: a cache file only saves a call. After a crash a file may be empty or torn (the rename
 * reached the disk before the data); every reader judges every file it reads (store.ts: JSON, shape, key, expiry;
 * the digest key's 64 hex digits) and a file that fails is not used — the entry is fetched again and replaced,
 * the digest key replaced (its entries then simply miss). Entries, memos, failure markers, the failure record and
 * the digest key all go through here, into a directory the caller has judged (`judgeCacheDir`, verdict.ts).
 */
import type { CacheEntry, TokenEntry } from "./store.ts";
import { writeAll } from "../output.ts";

/** A new temp file's name beside `path` (`<name>.<random>.tmp`, as `TEMP_FILE` in store.ts matches it). */
export function tempPath(path: string): string {
  const suffix = crypto.getRandomValues(new Uint32Array(2)).reduce((s, n) => s + n.toString(36), "");
  return `${path}.${suffix}.tmp`;
}

/** Writes the entry atomically: temp file (0600, exclusive create) in the same directory, rename. */
export async function writeEntry(path: string, entry: CacheEntry | TokenEntry): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(entry)}\n`);
}

/** Writes `text` to `path` atomically and 0600 (temp file in the same directory + rename). */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const temp = tempPath(path);
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      await writeAll(file, text);
    } finally {
      file.close();
    }
    await exactMode(temp);
    await Deno.rename(temp, path);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

/**
 * Creates `path` (0600) with `text` unless something is there already: written to a temp file, then
 * hard-linked into place, which never replaces a file (a parallel first run keeps the winner's). Returns
 * false when a file was there; the caller decides whether to trust it.
 */
export async function linkNewFile(path: string, text: string): Promise<boolean> {
  const temp = tempPath(path);
  try {
    await Deno.writeTextFile(temp, text, { createNew: true, mode: 0o600 });
    await exactMode(temp);
    try {
      await Deno.link(temp, path);
      return true;
    } catch (e) {
      if (e instanceof Deno.errors.AlreadyExists) return false;
      throw e;
    }
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}

/** The umask can only remove bits; make sure the mode is exactly 0600 (no-op on Windows). */
async function exactMode(path: string): Promise<void> {
  if (Deno.build.os !== "windows") await Deno.chmod(path, 0o600);
}
