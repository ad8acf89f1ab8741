/**
 * Where the credential cache lives. Pure: the flag, an environment snapshot and the OS name in, a path out.
 *
 * Order: `--cache-dir`, then `CREDPROC_CACHE_DIR`, then the platform's cache directory:
 * - Linux and other Unix: `$XDG_CACHE_HOME/credproc` (only when absolute, as the XDG spec says), else
 *   `$HOME/.cache/credproc`;
 * - macOS: `$HOME/Library/Caches/credproc`;
 * - Windows: `%LOCALAPPDATA%\credproc`, else `%USERPROFILE%\AppData\Local\credproc`.
 */
import type { CacheDirPlan, Env, OsName } from "../model.ts";

/** The subdirectory name under the platform cache directory. */
export const CACHE_SUBDIR = "credproc";

/**
 * The cache directory and who named it, or `undefined` when no home or cache directory is known. The one
 * resolution: the planner, the cache commands, the failure record and the fast path all call it.
 */
export function planCacheDir(flag: string | undefined, env: Env, os: OsName): CacheDirPlan | undefined {
  if (flag !== undefined && flag !== "") return { path: flag, namedBy: "--cache-dir" };
  const explicit = env.CREDPROC_CACHE_DIR;
  if (explicit !== undefined && explicit !== "") return { path: explicit, namedBy: "CREDPROC_CACHE_DIR" };
  const path = platformCacheDir(env, os);
  return path === undefined ? undefined : { path };
}

/** The path of {@link planCacheDir}. */
export function resolveCacheDir(flag: string | undefined, env: Env, os: OsName): string | undefined {
  return planCacheDir(flag, env, os)?.path;
}

/** The platform's own cache directory with `credproc` appended. */
export function platformCacheDir(env: Env, os: OsName): string | undefined {
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
