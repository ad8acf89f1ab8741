/**
 * `credproc cache clear`: removes credproc's own files from the cache directory (entries, memos, failure
 * markers, the failure record, temp files, the digest key, and lock files nobody holds); anything else there
 * is left alone.
 */
import { joinPath } from "./dir.ts";
import { ENTRY_FILE, FAILURE_FILE, LOCK_FILE, MEMO_FILE, TEMP_FILE } from "./store.ts";
import { DIGEST_KEY_FILE } from "./digests.ts";
import { FAILURES_FILE, FAILURES_LOCK } from "./failures.ts";
import { CredprocError } from "../errors.ts";
import { removeLockIfFree } from "./lock.ts";
import type { Logger } from "../log.ts";
import { escapeControls, oneLine, outputErrorReason } from "../output.ts";

/** What {@link clearCache} did. */
export interface ClearResult {
  /** Entries removed. */
  readonly removed: number;
  /** Whether the failure record (`failures.json`, what `cache list` shows) was there and was removed. */
  readonly failureRecord: boolean;
  /** Lock files left because a running credproc holds them. */
  readonly inUse: number;
  /** The directory does not exist (nothing to clear). */
  readonly missing: boolean;
  /** The files that could not be removed, with why (a few words, no path). */
  readonly failed: readonly { readonly name: string; readonly reason: string }[];
}

/**
 * `credproc cache clear`: removes credproc's own files from the cache directory; returns what it did. A file
 * that cannot be removed (a read-only file system, a directory in its place, no permission) is noted and
 * the others are still removed; only a directory that cannot be read at all throws.
 */
export async function clearCache(dir: string, log: Logger): Promise<ClearResult> {
  let removed = 0;
  let failureRecord = false;
  let inUse = 0;
  const failed: { name: string; reason: string }[] = [];
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { removed, failureRecord, inUse, missing: true, failed };
    throw new CredprocError("cache clear", `cannot read ${dir}: ${outputErrorReason(e)}`, 1, { cause: e });
  }
  for (const name of names.sort()) {
    const path = joinPath(dir, name);
    try {
      if (
        ENTRY_FILE.test(name) || MEMO_FILE.test(name) || TEMP_FILE.test(name) || FAILURE_FILE.test(name) ||
        name === DIGEST_KEY_FILE || name === FAILURES_FILE
      ) {
        await Deno.remove(path).catch((e) => {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
        });
        log.debug(`cache clear: removed ${path}`);
        if (ENTRY_FILE.test(name)) removed++;
        if (name === FAILURES_FILE) failureRecord = true;
      } else if (LOCK_FILE.test(name) || name === FAILURES_LOCK) {
        if (await removeLockIfFree(path)) {
          log.debug(`cache clear: removed ${path}`);
        } else {
          log.debug(`cache clear: ${path} is held by a running credproc; left in place`);
          inUse++;
        }
      }
    } catch (e) {
      const reason = fsReason(e);
      log.debug(`cache clear: cannot remove ${path}: ${reason}`);
      failed.push({ name, reason });
    }
  }
  return { removed, failureRecord, inUse, missing: false, failed };
}

/** How many of the files not removed are named in the error line (the rest are counted). */
const NAMED_FAILURES = 3;

/**
 * The command's answer: the stdout line when everything credproc owns is gone (or held by a running
 * credproc), else one `cache clear` error (exit 1) that says what was removed and what could not be.
 */
export function clearReport(dir: string, r: ClearResult): string {
  const entries = `${r.removed} cache entr${r.removed === 1 ? "y" : "ies"}${
    r.failureRecord ? " and the failure record" : ""
  }`;
  const held = r.inUse ? ` (${r.inUse} lock${r.inUse === 1 ? "" : "s"} in use left)` : "";
  if (r.failed.length === 0) return `credproc: removed ${entries} from ${escapeControls(dir)}${held}\n`;
  const named = r.failed.slice(0, NAMED_FAILURES).map((f) => `${f.name} (${f.reason})`).join(", ");
  const more = r.failed.length > NAMED_FAILURES ? ` and ${r.failed.length - NAMED_FAILURES} more` : "";
  const files = `${r.failed.length} file${r.failed.length === 1 ? "" : "s"}`;
  throw new CredprocError(
    "cache clear",
    `removed ${entries} from ${dir}${held}; could not remove ${files}: ${named}${more}`,
    1,
    { hint: "run with --verbose for every path; remove them by hand once the file system allows it" },
  );
}

/** A file-system error in a few words, without the path Deno appends (`Directory not empty`). */
function fsReason(e: unknown): string {
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  return oneLine(e).replace(/ \(os error \d+\).*$/, "").replace(/: .*$/, "").slice(0, 100) || "unknown error";
}
