/**
 * The fast path: answers a repeated call from the cache before anything heavy is loaded — no flag parser
 * (`node:util`), no shared-config loader, no SDK. It hashes the raw inputs (argv, the environment variables
 * that decide the plan, the working directory), finds the memo the full path left for exactly those inputs
 * (`<dir>/<inputs>.inputs.json`, see `InputsMemo` in lib/cache/memo.ts), checks that the memo's kind is what
 * argv asks for (`assume` prints credentials, `eks-token` an ExecCredential), that the files the plan was read
 * from (the shared config and credentials files, policy files, SSO and login token files) still hash the same,
 * then reads and judges the entry under the same rules as the full path — a credentials entry for `assume`, a
 * token entry for `eks-token`, whose ExecCredential version `KUBERNETES_EXEC_INFO` decides now, by the full
 * path's rule. Any doubt — no memo, another kind, a changed file, an entry inside its margin, a refused
 * `KUBERNETES_EXEC_INFO`, anything unreadable — answers `undefined`, and the caller takes the full path, which
 * parses, plans, locks and calls STS as usual (and writes the memo for next time, or prints the error).
 *
 * Imports only light modules (lib/cache/ store.ts, memo.ts, key.ts and dir.ts, lib/eks/exec_credential.ts, output.ts and
 * the type-and-constant leaf model.ts); tests/unit/fast_path_test.ts keeps it that way.
 */
import { readEntry, readTokenEntry, readTrusted, readTrustedSync } from "./cache/store.ts";
import { type MemoKind, parseMemo } from "./cache/memo.ts";
import { joinPath, judgeDirSync, planCacheDir } from "./cache/dir.ts";
import {
  DIGEST_KEY_FILE,
  fileHmac,
  importDigestKey,
  inputSecretValues,
  inputsKey,
  scanFlag,
} from "./cache/key.ts";
import { EXEC_INFO_ENV, execCredentialJson, execInfoVersion } from "./eks/exec_credential.ts";
import { type Env, INPUT_ENV_NAMES, type OsName } from "./model.ts";
import { render } from "./output.ts";

/** What the fast path reads from the outside world (main.ts passes the real ones, tests fakes). */
export interface FastPathIo {
  readonly argv: readonly string[];
  /** Reads one environment variable; `undefined` when unset or refused by the sandbox. */
  readonly getEnv: (name: string) => string | undefined;
  readonly cwd: string;
  readonly os: OsName;
  readonly uid: number | null;
  /** Wall clock, epoch ms. */
  readonly now: number;
}

/** `--cache-dir DIR` / `--cache-dir=DIR` from raw argv (the last one wins; args.ts refuses repeats anyway). */
export function scanCacheDir(argv: readonly string[]): string | undefined {
  return scanFlag(argv, "--cache-dir");
}

/**
 * What argv prints, as far as raw argv tells without the parser: `eks-token` when that word stands where a
 * command stands (first, or after a value or an option written `--flag=value`; not right after an option that
 * may take it as its value, as in `--profile eks-token`), else `assume`. A memo of the other kind is never
 * used. The memo was written by the full program for exactly this argv, so the two agree unless the file is
 * wrong; where this guess is wrong (`--mfa-session eks-token …`), the call only takes the full path.
 */
export function argvKind(argv: readonly string[]): MemoKind {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") break;
    const prev = argv[i - 1];
    if (argv[i] === "eks-token" && (prev === undefined || !prev.startsWith("-") || prev.includes("="))) {
      return "eks-token";
    }
  }
  return "assume";
}

/** The text to print for a cache hit, or `undefined` to take the full path. Never throws. */
export async function fastPath(io: FastPathIo): Promise<string | undefined> {
  try {
    const env: Record<string, string | undefined> = {};
    for (const name of INPUT_ENV_NAMES) env[name] = io.getEnv(name);
    const dir = planCacheDir(scanCacheDir(io.argv), env as Env, io.os)?.path;
    if (dir === undefined) return undefined;
    // A directory anyone else could write to is never read: its files could have been planted.
    if (!("ok" in judgeDirSync(dir, io.uid))) return undefined;
    // Secrets (source keys, web identity tokens) are part of the inputs, as a keyed digest: no key, no hit.
    const keyFile = readTrustedSync(joinPath(dir, DIGEST_KEY_FILE), io.uid);
    const digestKey = "text" in keyFile ? await importDigestKey(keyFile.text) : undefined;
    if (digestKey === undefined) return undefined;
    const inputs = await inputsKey(io.argv, env, io.cwd, {
      key: digestKey,
      secretValues: inputSecretValues(io.argv, io.getEnv),
    });
    const read = await readTrusted(joinPath(dir, `${inputs}.inputs.json`), io.uid);
    if (!("text" in read)) return undefined;
    const memo = parseMemo(JSON.parse(read.text), inputs);
    if (typeof memo === "string" || memo.kind !== argvKind(io.argv)) return undefined;
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
