/**
 * The fast path's memo: after a hit or a fetch, which entry these raw inputs lead to, what kind of output they
 * print, and the keyed digests of the files the plan was read from ({@link InputsMemo}), so that the next
 * identical call is answered by lib/fast_path.ts without parsing or planning. This module is the document —
 * its shape check (`parseMemo`, on the fast path) and the rules for writing one; the session decides when
 * (session.ts `remember`), files.ts reads and writes the file (`readMemo`, `writeMemo`), the fast path reads it
 * on its own.
 */
import { CACHE_FORMAT_VERSION, isObject } from "./store.ts";
import { type Format, isFormat, type Plan } from "../model.ts";
import { type ArgvScan, hasFlag } from "../argv.ts";

/**
 * `<dir>/<inputs key>.inputs.json`: for one invocation's raw inputs (argv, environment, the working directory
 * when a path among them is relative; see `inputsKey`), what that invocation printed — its {@link MemoKind} — the
 * entry key its plan gave, and the files the plan was built from, each with the keyed digest of its content.
 * Holds no secret. Written by the full path after a hit or a fetch in the default cache mode without `--verbose`
 * (session.ts, files.ts); trusted by the fast path under the same rules as an entry (regular file, owner, 0600,
 * shape), and only while every file still has the same digest.
 */
export type InputsMemo = AssumeMemo | EksTokenMemo;

/**
 * What a memo's invocation printed: `assume` the credential document (a `role` entry) in a format, `eks-token`
 * an ExecCredential (an `eks-token` entry). Memos written before the kind was recorded are `assume` memos.
 */
export const MEMO_KINDS = ["assume", "eks-token"] as const;
/** One of {@link MEMO_KINDS}. */
export type MemoKind = typeof MEMO_KINDS[number];

interface MemoCommon {
  readonly credproc: typeof CACHE_FORMAT_VERSION;
  readonly inputs: string;
  /** The entry printed: a role entry (`assume`) or a token entry (`eks-token`). */
  readonly key: string;
  readonly marginMs: number;
  readonly files: readonly WatchedFile[];
}

/** `credproc [role options]`: the role entry, printed in `format`. */
export interface AssumeMemo extends MemoCommon {
  readonly kind: "assume";
  readonly format: Format;
  /** `--include-account-id` was given (absent otherwise). */
  readonly accountId?: true;
}

/**
 * `credproc eks-token …`: the token entry, printed as the ExecCredential version `KUBERNETES_EXEC_INFO` asks for
 * at the time of the hit. It also records the role entry's key the token was signed from and the endpoint the
 * token points at, so that a token miss for the same role skips the SDK's endpoint rules (see the session's
 * `entry("eks-token", …)`); no `format`, so a credproc that predates the kind never reads it as an `assume` memo.
 */
export interface EksTokenMemo extends MemoCommon {
  readonly kind: "eks-token";
  readonly role: string;
  readonly cluster: string;
  readonly tokenEndpoint: string;
  readonly signingRegion: string;
}

/**
 * A file the plan was read from: the HMAC-SHA-256 of its content under the cache's digest key (`fileHmac` in
 * digests.ts), `null` when it did not exist. On disk the field is named `sha256` (the name format 1 has always
 * used; the value has always been the keyed digest): see {@link parseMemo} and {@link memoText}.
 */
export interface WatchedFile {
  readonly path: string;
  readonly hmac: string | null;
}

const HEX_KEY = /^[0-9a-f]{64}$/;
/** A memo's short text fields (cluster, endpoint, region): printable ASCII, bounded. */
const MEMO_TEXT = /^[\x21-\x7e]{1,2048}$/;

/** Shape check of a memo: returns it, or why it is not one. */
export function parseMemo(doc: unknown, inputs: string): InputsMemo | string {
  if (!isObject(doc)) return "it is not a JSON object";
  if (doc.credproc !== CACHE_FORMAT_VERSION) return "it has another format version";
  if (doc.inputs !== inputs) return "it belongs to other inputs";
  if (typeof doc.key !== "string" || !HEX_KEY.test(doc.key)) return "it has no valid key";
  if (typeof doc.marginMs !== "number" || !(doc.marginMs >= 0)) return "it has no valid margin";
  const files = doc.files;
  if (
    !Array.isArray(files) || files.length > 64 ||
    !files.every((f) =>
      isObject(f) && typeof f.path === "string" && f.path !== "" &&
      (f.sha256 === null || (typeof f.sha256 === "string" && HEX_KEY.test(f.sha256)))
    )
  ) {
    return "it has no valid file list";
  }
  const common = {
    credproc: CACHE_FORMAT_VERSION as typeof CACHE_FORMAT_VERSION,
    inputs,
    key: doc.key,
    marginMs: doc.marginMs,
    files: files.map((f) => ({ path: f.path as string, hmac: f.sha256 as string | null })),
  };
  const kind = doc.kind ?? "assume";
  switch (kind) {
    case "assume":
      if (typeof doc.format !== "string" || !isFormat(doc.format)) return "it has no valid format";
      if (doc.accountId !== undefined && doc.accountId !== true) return "it has no valid accountId";
      return {
        ...common,
        kind: "assume",
        format: doc.format,
        ...(doc.accountId === true ? { accountId: true as const } : {}),
      };
    case "eks-token": {
      if (doc.format !== undefined) return "an eks-token memo has no format";
      const { role, cluster, tokenEndpoint, signingRegion } = doc;
      if (typeof role !== "string" || !HEX_KEY.test(role)) return "it has no valid role key";
      for (const v of [cluster, tokenEndpoint, signingRegion]) {
        if (typeof v !== "string" || !MEMO_TEXT.test(v)) return "it has no valid token endpoint";
      }
      return {
        ...common,
        kind: "eks-token",
        role,
        cluster: cluster as string,
        tokenEndpoint: tokenEndpoint as string,
        signingRegion: signingRegion as string,
      };
    }
    default:
      return "it has no valid kind";
  }
}

// ---------------------------------------------------------------------------------------------------------
// Writing one (the full path)
// ---------------------------------------------------------------------------------------------------------

/** Whether this call leaves the fast path's memo, and if not why; decided once when the session opens. */
export type MemoDecision =
  | "write"
  | "skip: not asked (only assume and eks-token print what the fast path prints)"
  | "skip: cache off"
  | "skip: --refresh"
  | "skip: --verbose (the fast path logs nothing)"
  | "skip: logging to a file (the fast path logs nothing)";

/**
 * Whether a call leaves the memo: only a command whose output the fast path prints (`asked`), with the cache in
 * use, not refreshing, and logging nothing (the fast path logs nothing, so a call that must log never hits).
 */
export function decideMemo(o: {
  readonly asked: boolean;
  readonly mode: "use" | "refresh" | "off";
  readonly verbose: boolean;
  readonly logsToFile: boolean;
}): MemoDecision {
  if (!o.asked) return "skip: not asked (only assume and eks-token print what the fast path prints)";
  if (o.mode === "off") return "skip: cache off";
  if (o.mode === "refresh") return "skip: --refresh";
  if (o.verbose) return "skip: --verbose (the fast path logs nothing)";
  if (o.logsToFile) return "skip: logging to a file (the fast path logs nothing)";
  return "write";
}

/**
 * Whether argv (and the log file variable, `CREDPROC_LOG_FILE`) already say that a call leaves no memo, by the
 * reasons of {@link decideMemo} that show before parsing — `--refresh`, `--no-cache`, `--verbose` (`-v`), a log
 * file: the fast path does not look such a call up (no memo can answer it; reading the digest key and hashing
 * the inputs would only delay the full program).
 */
export function leavesNoMemo(argv: ArgvScan, logFileEnv: string | undefined): boolean {
  return hasFlag(argv, "refresh") || hasFlag(argv, "no-cache") || hasFlag(argv, "verbose") ||
    argv.options.has("log-file") || (logFileEnv !== undefined && logFileEnv !== "");
}

/** How far back before the process started an mtime still counts: coarse timestamps (FAT: 2 s). */
const COARSE_MTIME_MS = 2000;
/** How far ahead of the clock an mtime still counts: a network file system's clock a little ahead. */
const AHEAD_MTIME_MS = 5000;

/**
 * Whether a file may have been edited while this process read it: then the plan may be built from the old
 * content while the memo would record the new one's digest, and the fast path would serve the old plan's
 * entry for the new content. Such an edit carries the current time, give or take the file system's
 * granularity and a few seconds of clock skew. An mtime further ahead was not written by an edit just now
 * (a clock that was ahead: an unpacked archive, a restored backup, a machine whose clock was set back): it
 * must not switch the memo off until the clock catches up — the digest still notices any later edit.
 */
export function changedJustNow(mtime: number, startedAt: number, now: number): boolean {
  return mtime > startedAt - COARSE_MTIME_MS && mtime <= now + AHEAD_MTIME_MS;
}

/**
 * The files a memo watches: the ones the plan was read from (`read`: the shared config and credentials
 * files, the SSO token cache file) and the ones it names (policy and web identity token files), once each.
 */
export function watchedFiles(plan: Plan, read: readonly string[]): string[] {
  return [
    ...new Set([
      ...read,
      ...plan.hops.flatMap((h) => h.policy?.kind === "file" ? [h.policy.path] : []),
      ...plan.hops.flatMap((h) => h.webIdentity?.kind === "file" ? [h.webIdentity.path] : []),
    ]),
  ];
}

/** A memo as written: every kind's fields but the format version, which is added. */
export type MemoFields = InputsMemo extends infer M ? M extends InputsMemo ? Omit<M, "credproc"> : never
  : never;

/**
 * The memo's file text (one line), its kind included ({@link parseMemo} reads a memo without one as an
 * `assume` memo, as every memo was before `eks-token`). Each watched file's digest goes on disk as `sha256`
 * (see `WatchedFile`).
 */
export function memoText(memo: MemoFields): string {
  const { files, ...rest } = memo;
  const doc = {
    credproc: CACHE_FORMAT_VERSION,
    ...rest,
    files: files.map((f) => ({ path: f.path, sha256: f.hmac })),
  };
  return `${JSON.stringify(doc)}\n`;
}
