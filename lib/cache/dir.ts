/**
 * Where the credential cache lives, and the rule a directory must pass before anything in it is read or
 * written. {@link planCacheDir} is pure: the flag, an environment snapshot and the OS name in, a path out.
 *
 * Order: `--cache-dir`, then `CREDPROC_CACHE_DIR`, then the platform's cache directory:
 * - Linux and other Unix: `$XDG_CACHE_HOME/credproc` (only when absolute, as the XDG spec says), else
 *   `$HOME/.cache/credproc`;
 * - macOS: `$HOME/Library/Caches/credproc`;
 * - Windows: `%LOCALAPPDATA%\credproc`, else `%USERPROFILE%\AppData\Local\credproc`.
 *
 * {@link judgeDirSync} is the rule itself (one `stat`), synchronous for the fast path; a call judges its
 * directory once, through `judgeCacheDir` (verdict.ts), which also creates a missing one.
 */
import type { CacheDirPlan, Env, Os } from "../model.ts";
import { oneLine } from "../output.ts";

/** The subdirectory name under the platform cache directory. */
export const CACHE_SUBDIR = "credproc";

/**
 * The cache directory and who named it, or `undefined` when no home or cache directory is known. The one
 * resolution: the planner, the cache commands, the failure record and the fast path all call it.
 */
export function planCacheDir(flag: string | undefined, env: Env, os: Os): CacheDirPlan | undefined {
  if (flag !== undefined && flag !== "") return { path: flag, namedBy: "--cache-dir" };
  const explicit = env.CREDPROC_CACHE_DIR;
  if (explicit !== undefined && explicit !== "") return { path: explicit, namedBy: "CREDPROC_CACHE_DIR" };
  const path = platformCacheDir(env, os);
  return path === undefined ? undefined : { path };
}

/** The platform's own cache directory with `credproc` appended. */
export function platformCacheDir(env: Env, os: Os): string | undefined {
  const set = (v: string | undefined): v is string => v !== undefined && v !== "";
  if (os === "windows") {
    if (set(env.LOCALAPPDATA)) return `${trimSep(env.LOCALAPPDATA, "\\")}\\${CACHE_SUBDIR}`;
    if (set(env.USERPROFILE)) return `${trimSep(env.USERPROFILE, "\\")}\\AppData\\Local\\${CACHE_SUBDIR}`;
    return undefined;
  }
  if (os === "darwin") {
    return set(env.HOME) ? `${trimSep(env.HOME, "/")}/Library/Caches/${CACHE_SUBDIR}` : undefined;
  }
  if (set(env.XDG_CACHE_HOME) && env.XDG_CACHE_HOME.startsWith("/")) {
    return `${trimSep(env.XDG_CACHE_HOME, "/")}/${CACHE_SUBDIR}`;
  }
  return set(env.HOME) ? `${trimSep(env.HOME, "/")}/.cache/${CACHE_SUBDIR}` : undefined;
}

/**
 * This process's uid, which every ownership rule compares against (the cache's files, the serve token file);
 * null on Windows or where the sandbox refuses `sys: uid`. Here, in the fast path's graph, so main.ts and the
 * full program share one.
 */
export function currentUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

/** Joins a directory and a file name with the separator the directory already uses. */
export function joinPath(dir: string, name: string): string {
  const sep = /\\/.test(dir) && !dir.includes("/") ? "\\" : "/";
  return `${trimSep(dir, sep)}${sep}${name}`;
}

function trimSep(path: string, sep: string): string {
  let end = path.length;
  while (end > 1 && (path[end - 1] === sep || path[end - 1] === "/")) end--;
  return path.slice(0, end);
}

/** What `stat` showed of the directory's path (for `cache list`, and to tell a file from a directory). */
export interface DirInfo {
  readonly isDirectory: boolean;
  /** null on Windows. */
  readonly uid: number | null;
  readonly mode: number | null;
}

/** What {@link judgeDirSync} found. */
export type DirVerdict =
  | { readonly ok: true; readonly info: DirInfo }
  | { readonly missing: true }
  /** `info` when the path could be examined; `error` (the failed `stat`'s) when it could not. */
  | { readonly problem: string; readonly info?: DirInfo; readonly error?: unknown };

/**
 * The cache directory's safety rule, the one every path applies before it reads or writes anything there
 * (a call, through the session; the fast path; the failure record; `cache list`): a directory, ours, and not
 * writable by group or others (who could plant or replace entries and memos). It follows symlinks, as the
 * directory's path may well go through one (`~/.cache` on another disk). One `stat`; never throws.
 */
export function judgeDirSync(dir: string, uid: number | null): DirVerdict {
  let st: Deno.FileInfo;
  try {
    st = Deno.statSync(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { missing: true };
    return { problem: `it cannot be examined (${oneLine(e)})`, error: e };
  }
  const info: DirInfo = { isDirectory: st.isDirectory, uid: st.uid, mode: st.mode };
  if (!st.isDirectory) return { problem: "it is not a directory", info };
  if (uid !== null && st.uid !== null && st.uid !== uid) {
    return { problem: `it is owned by uid ${st.uid}, not ${uid}`, info };
  }
  if (st.mode !== null && (st.mode & 0o022) !== 0) {
    return { problem: `it is writable by others (mode ${octal(st.mode)})`, info };
  }
  return { ok: true, info };
}

/** A mode as four octal digits (`0700`). */
export function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}
