/**
 * What a cache session decides about the directory when it opens (session.ts): the directory verdict
 * ({@link judgeCacheDir}, which `cache list`, `cache clear` and the failure record ask too), the mode
 * ({@link CacheUse}: use, refresh, or off and why) and the digest key that a usable directory must give.
 */
import { type DirInfo, joinPath, judgeDirSync } from "./dir.ts";
import { DIGEST_KEY_FILE, importDigestKey, newDigestKeyText } from "./key.ts";
import { readTrustedSync } from "./store.ts";
import { linkNewFile, writeFileAtomic } from "./write.ts";
import { ConfigError, isNameTooLong } from "../errors.ts";
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

/** The mode, from the flag and the directory verdict (and the digest key, which a usable directory must give). */
export async function decideUse(
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
export function offLine(use: Extract<CacheUse, { mode: "off" }>): string {
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

/**
 * Reads the directory's digest key (`digest.key`: 32 random bytes as hex, 0600, ours), creating it on first
 * use without ever replacing a good one (`linkNewFile`: a parallel first run keeps the winner's key); a file
 * there that is not a trusted key (wrong mode or owner, not a key) is replaced.
 */
async function openDigestKey(dir: string, uid: number | null): Promise<CryptoKey> {
  const path = joinPath(dir, DIGEST_KEY_FILE);
  const read = async () => {
    const file = readTrustedSync(path, uid);
    return "text" in file ? await importDigestKey(file.text) : undefined;
  };
  const existing = await read();
  if (existing !== undefined) return existing;
  const text = newDigestKeyText();
  if (!(await linkNewFile(path, text)) && await read() === undefined) {
    await writeFileAtomic(path, text, false);
  }
  const key = await read();
  if (key === undefined) throw new Error(`${path} cannot be read back`);
  return key;
}
