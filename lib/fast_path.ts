/**
 * The fast path: answers a repeated call from the cache before anything heavy is loaded — no flag parser
 * (`node:util`), no shared-config loader, no SDK. It hashes the raw inputs (argv, the environment variables that
 * decide the plan, the working directory when a path among them is relative), finds the memo the full path left
 * for exactly those inputs (`<dir>/<inputs>.inputs.json`, see `InputsMemo` in lib/cache/memo.ts), checks that the
 * memo's kind is what argv asks for (`assume` prints credentials, `eks-token` an ExecCredential), that the files
 * the plan was read from (the shared config and credentials files, policy files, SSO and login token files) still
 * hash the same, then reads and judges the entry under the same rules as the full path — a credentials entry for
 * `assume`, a token entry for `eks-token`, whose ExecCredential version `KUBERNETES_EXEC_INFO` decides now, by
 * the full path's rule. Any doubt — no memo, another kind, a changed file, an entry inside its margin, a refused
 * `KUBERNETES_EXEC_INFO`, anything unreadable — answers `undefined`, and the caller takes the full path, which
 * parses, plans, locks and calls STS as usual (and writes the memo for next time, or prints the error).
 *
 * Imports only light modules (lib/cache/ store.ts, memo.ts, digests.ts and dir.ts, the argv pre-scan argv.ts,
 * lib/eks/exec_credential.ts, output.ts and the type-and-constant leaf model.ts); tests/unit/fast_path_test.ts
 * keeps it that way.
 */
import { readEntry, readTokenEntry, readTrusted, readTrustedSync } from "./cache/store.ts";
import { leavesNoMemo, type MemoKind, parseMemo } from "./cache/memo.ts";
import { joinPath, judgeDirSync, planCacheDir } from "./cache/dir.ts";
import { DIGEST_KEY_FILE, fileHmac, importDigestKey, inputSecretValues, inputsKey } from "./cache/digests.ts";
import { type ArgvScan, lastValue, scanArgv } from "./argv.ts";
import { EXEC_INFO_ENV, execCredentialJson, execInfoVersion } from "./eks/exec_credential.ts";
import { type Env, INPUT_ENV_NAMES, type Os } from "./model.ts";
import { render } from "./output.ts";

/** What the fast path reads from the outside world (main.ts passes the real ones, tests fakes). */
export interface FastPathIo {
  /** argv as given (read through lib/argv.ts, as the full program reads it). */
  readonly argv: readonly string[];
  /** Reads one environment variable; `undefined` when unset or refused by the sandbox. */
  readonly getEnv: (name: string) => string | undefined;
  readonly cwd: string;
  readonly os: Os;
  readonly uid: number | null;
  /** Wall clock, epoch ms. */
  readonly now: number;
}

/**
 * The memo kind argv asks for, by the pre-scan's reading of the words (the parser reads the same): `eks-token`
 * prints an ExecCredential, `assume` the credentials; any other command leaves no memo. A memo of another kind
 * is never used.
 */
export function argvKind(argv: ArgvScan): MemoKind | undefined {
  return argv.command === "eks-token" || argv.command === "assume" ? argv.command : undefined;
}

/** The text to print for a cache hit, or `undefined` to take the full path. Never throws. */
export async function fastPath(io: FastPathIo): Promise<string | undefined> {
  try {
    const argv = scanArgv(io.argv);
    // Argv that was not valid UTF-8 (Deno.args decodes it lossily) is refused by the full program, so it never
    // leaves a memo; it is not even looked up, whatever an older version may have left.
    if (argv.lossy !== undefined) return undefined;
    const kind = argvKind(argv);
    // No arguments at all prints the short usage (the full program's), whatever a memo may say.
    if (kind === undefined || io.argv.length === 0) return undefined;
    const env: Record<string, string | undefined> = {};
    for (const name of INPUT_ENV_NAMES) env[name] = io.getEnv(name);
    if (leavesNoMemo(argv, env.CREDPROC_LOG_FILE)) return undefined;
    const dir = planCacheDir(lastValue(argv, "cache-dir"), env as Env, io.os)?.path;
    if (dir === undefined) return undefined;
    // A directory anyone else could write to is never read: its files could have been planted.
    if (!("ok" in judgeDirSync(dir, io.uid))) return undefined;
    // Secrets (source keys, web identity tokens) are part of the inputs, as a keyed digest: no key, no hit.
    const keyFile = readTrustedSync(joinPath(dir, DIGEST_KEY_FILE), io.uid);
    const digestKey = "text" in keyFile ? await importDigestKey(keyFile.text) : undefined;
    if (digestKey === undefined) return undefined;
    const inputs = await inputsKey(argv, env, { cwd: io.cwd, os: io.os }, {
      key: digestKey,
      secretValues: inputSecretValues(argv, io.getEnv),
    });
    const read = await readTrusted(joinPath(dir, `${inputs}.inputs.json`), io.uid);
    if (!("text" in read)) return undefined;
    const memo = parseMemo(JSON.parse(read.text), inputs);
    if (typeof memo === "string" || memo.kind !== kind) return undefined;
    // Decided before any file is hashed: a refused KUBERNETES_EXEC_INFO is the full path's error to print.
    const version = memo.kind === "eks-token" ? execInfoVersion(io.getEnv(EXEC_INFO_ENV)) : undefined;
    if (typeof version === "object") return undefined;
    for (const file of memo.files) {
      if (await fileHmac(file.path, digestKey) !== file.hmac) return undefined;
    }
    const path = joinPath(dir, `${memo.key}.json`);
    const expect = { key: memo.key, now: io.now, marginMs: memo.marginMs, uid: io.uid };
    if (memo.kind === "eks-token") {
      const entry = await readTokenEntry(path, expect);
      if (!("verdict" in entry) || !entry.verdict.ok || version === undefined) return undefined;
      return execCredentialJson(version, entry.verdict.token.token, entry.verdict.token.expiration);
    }
    const entry = await readEntry(path, expect);
    if (!("verdict" in entry) || !entry.verdict.ok) return undefined;
    return render(entry.verdict.credentials, memo.format, memo.accountId === true);
  } catch {
    return undefined;
  }
}
