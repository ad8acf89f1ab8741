/**
 * What a cache session decides about the directory when it opens (session.ts), in one call
 * ({@link openCacheDir}): the directory verdict ({@link judgeCacheDir}, which `cache list`, `cache clear` and
 * the failure record ask too), the mode ({@link CacheUse}: use, refresh, or off and why, said once under
 * `--verbose`) and the digest key that a usable directory must give (files.ts reads or makes it).
 */
import { type DirInfo, judgeDirSync } from "./dir.ts";
import { openDigestKey } from "./files.ts";
import { ConfigError, isNameTooLong } from "../errors.ts";
import type { Logger } from "../log.ts";
import { oneLine } from "../output.ts";
import { type CacheDirPlan, type CacheMode, unhandled } from "../model.ts";

/** What {@link judgeCacheDir} found. */
export type CacheDirVerdict =
  /** No directory is known (no HOME and none named). */
  | { readonly state: "none" }
  | { readonly state: "usable"; readonly path: string; readonly info: DirInfo }
  /** Not there (only when not asked to create it: `cache list`). */
  | { readonly state: "missing"; readonly path: string }
  | { readonly state: "unusable"; readonly path: string; readonly problem: string; readonly info?: DirInfo };

/** Whether this call uses the cache, decided once when the session opens. */
export type CacheUse =
  | { readonly mode: "use" | "refresh"; readonly dir: string; readonly digestKey: CryptoKey }
  | { readonly mode: "off"; readonly why: "--no-cache" | "no cache directory" }
  | {
    readonly mode: "off";
    readonly why: "unusable directory";
    readonly dir: string;
    readonly problem: string;
  };

/**
 * The directory verdict, the one function a call (through its session), `cache list`, `cache clear` and the
 * failure record ask. A directory named explicitly (`--cache-dir`, else `CREDPROC_CACHE_DIR`) that exists but
 * is not a directory, or whose name no system could create, is bad input (exit 2): the wrong path was named.
 * Anything else is a verdict, never an error: `create` makes a missing directory (0700, with its parents) for
 * a call that will use it, and says how to fix one writable by others. One `stat` when the directory exists.
 */
export async function judgeCacheDir(
  dir: CacheDirPlan | undefined,
  uid: number | null,
  o: { readonly create: boolean },
): Promise<CacheDirVerdict> {
  if (dir === undefined) return { state: "none" };
  const { path } = dir;
  let verdict = judgeDirSync(path, uid);
  if (dir.namedBy !== undefined && "problem" in verdict) {
    const wrong = verdict.info?.isDirectory === false
      ? "not a directory"
      : isNameTooLong(verdict.error)
      ? "the path is too long"
      : undefined;
    if (wrong !== undefined) throw new ConfigError(`${dir.namedBy} ${path}`, wrong);
  }
  if ("missing" in verdict) {
    if (!o.create) return { state: "missing", path };
    try {
      await Deno.mkdir(path, { recursive: true, mode: 0o700 });
    } catch (e) {
      return { state: "unusable", path, problem: oneLine(e) };
    }
    verdict = judgeDirSync(path, uid);
    if ("missing" in verdict) {
      return { state: "unusable", path, problem: "it disappeared after it was created" };
    }
  }
  if ("ok" in verdict) return { state: "usable", path, info: verdict.info };
  const problem = o.create && /writable by others/.test(verdict.problem)
    ? `${verdict.problem}; use a 0700 directory`
    : verdict.problem;
  return { state: "unusable", path, problem, ...(verdict.info ? { info: verdict.info } : {}) };
}

/**
 * What a session decides when it opens: the directory verdict (none under `--no-cache`: the directory is not
 * looked at; a missing one is created), then the mode, from the flag, the verdict and the digest key, which a
 * usable directory must give. Why the cache is off is said once under `--verbose`. Throws only for a wrong
 * named directory (see {@link judgeCacheDir}).
 */
export async function openCacheDir(
  mode: CacheMode,
  dirPlan: CacheDirPlan | undefined,
  uid: number | null,
  log: Logger,
): Promise<{ readonly dir: CacheDirVerdict | undefined; readonly use: CacheUse }> {
  const dir = mode === "off" ? undefined : await judgeCacheDir(dirPlan, uid, { create: true });
  const use = await decideUse(mode, dir, uid);
  if (use.mode === "off") log.debug(offLine(use));
  return { dir, use };
}

/** The mode, from the flag and the directory verdict (and the digest key, which a usable directory must give). */
async function decideUse(
  mode: CacheMode,
  dir: CacheDirVerdict | undefined,
  uid: number | null,
): Promise<CacheUse> {
  if (mode === "off") return { mode, why: "--no-cache" };
  // A service started without HOME (systemd, cron, `env -i`): no cache, and no noise on stderr either.
  if (dir === undefined || dir.state === "none") return { mode: "off", why: "no cache directory" };
  if (dir.state !== "usable") {
    return {
      mode: "off",
      why: "unusable directory",
      dir: dir.path,
      problem: dir.state === "missing" ? "it does not exist" : dir.problem,
    };
  }
  try {
    return { mode, dir: dir.path, digestKey: await openDigestKey(dir.path, uid) };
  } catch (e) {
    return { mode: "off", why: "unusable directory", dir: dir.path, problem: oneLine(e) };
  }
}

/** The `--verbose` line that says why the cache is off. */
function offLine(use: Extract<CacheUse, { mode: "off" }>): string {
  switch (use.why) {
    case "--no-cache":
      return "cache: off (--no-cache)";
    case "no cache directory":
      return "cache: off: no cache directory (set HOME, XDG_CACHE_HOME, CREDPROC_CACHE_DIR or --cache-dir)";
    case "unusable directory":
      return `cache: off: cannot use ${use.dir}: ${use.problem}`;
    default:
      return unhandled(use, "reason");
  }
}
