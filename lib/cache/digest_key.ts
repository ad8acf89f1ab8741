/**
 * The cache directory's digest key (`digest.key`): the HMAC key of every keyed digest (secrets in the cache
 * key, the files and secrets of the fast path's memo). Made on first use, never replaced while good.
 */
import { joinPath } from "./dir.ts";
import { readDigestKey } from "./store.ts";
import { DIGEST_KEY_FILE } from "./key.ts";
import type { Logger } from "../log.ts";
import { oneLine } from "../output.ts";
import { prepareDir } from "./write.ts";

/** The cache's digest key, made on first use; undefined (cache off, said under `--verbose`) when impossible. */
export async function digestKeyOrNone(
  dir: string,
  uid: number | null,
  log: Logger,
): Promise<CryptoKey | undefined> {
  try {
    return await ensureDigestKey(dir, uid);
  } catch (e) {
    log.debug(`cache: off: cannot use ${dir}: ${oneLine(e)}`);
    return undefined;
  }
}

/**
 * Reads the cache directory's digest key (`digest.key`: 32 random bytes as hex, 0600, ours), creating it on
 * first use. Created without ever replacing a good one: written to a temp file, then hard-linked into place
 * (a parallel first run keeps the winner's key); an untrusted file there (wrong mode or owner) is replaced.
 */
export async function ensureDigestKey(dir: string, uid: number | null): Promise<CryptoKey> {
  // The directory first: a key planted in a directory anyone else can write is never read.
  const problem = await prepareDir(dir, uid);
  if (problem !== undefined) throw new Error(problem);
  const existing = await readDigestKey(dir, uid);
  if (existing) return existing;
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const path = joinPath(dir, DIGEST_KEY_FILE);
  const suffix = crypto.getRandomValues(new Uint32Array(2)).reduce((a, n) => a + n.toString(36), "");
  const temp = `${path}.${suffix}.tmp`;
  try {
    await Deno.writeTextFile(temp, `${hex}\n`, { createNew: true, mode: 0o600 });
    if (Deno.build.os !== "windows") await Deno.chmod(temp, 0o600);
    try {
      await Deno.link(temp, path);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      if (await readDigestKey(dir, uid) === undefined) await Deno.rename(temp, path);
    }
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
  const key = await readDigestKey(dir, uid);
  if (key === undefined) throw new Error(`${path} cannot be read back`);
  return key;
}
