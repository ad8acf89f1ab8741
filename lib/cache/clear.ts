/**
 * `credproc cache clear`: removes credproc's own files from the cache directory (entries, memos, failure
 * markers, temp files, the digest key, and lock files nobody holds); anything else there is left alone.
 */
import { joinPath } from "./dir.ts";
import { ENTRY_FILE, FAILURE_FILE, LOCK_FILE, MEMO_FILE, TEMP_FILE } from "./store.ts";
import { DIGEST_KEY_FILE } from "./key.ts";
import { CredprocError } from "../errors.ts";
import { removeLockIfFree } from "./lock.ts";
import type { Logger } from "../log.ts";
import { outputErrorReason } from "../output.ts";

/** `credproc cache clear`: removes credproc's own files from the cache directory; returns what it did. */
export async function clearCache(
  dir: string,
  log: Logger,
): Promise<{ removed: number; inUse: number; missing: boolean }> {
  let removed = 0;
  let inUse = 0;
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { removed, inUse, missing: true };
    throw new CredprocError("cache clear", `cannot read ${dir}: ${outputErrorReason(e)}`, 1, { cause: e });
  }
  for (const name of names.sort()) {
    const path = joinPath(dir, name);
    if (
      ENTRY_FILE.test(name) || MEMO_FILE.test(name) || TEMP_FILE.test(name) || FAILURE_FILE.test(name) ||
      name === DIGEST_KEY_FILE
    ) {
      await Deno.remove(path).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
      log.debug(`cache clear: removed ${path}`);
      if (ENTRY_FILE.test(name)) removed++;
    } else if (LOCK_FILE.test(name)) {
      if (await removeLockIfFree(path)) {
        log.debug(`cache clear: removed ${path}`);
      } else {
        log.debug(`cache clear: ${path} is held by a running credproc; left in place`);
        inUse++;
      }
    }
  }
  return { removed, inUse, missing: false };
}
