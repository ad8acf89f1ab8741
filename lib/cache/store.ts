/**
 * Cache files on disk — entries, the fast path's input memos, any file read under the trust rules — and the
 * rules for trusting them: the part of the cache a hit needs, kept apart from the writing (write.ts) and
 * locking (lock.ts) so that the fast path loads nothing else. Never throws on a bad file: it says why the file
 * is not trusted.
 */
import { type Credentials, type Format, isFormat } from "../model.ts";
import { oneLine } from "../output.ts";

/** Version of the file format; files of another version are ignored. */
export const CACHE_FORMAT_VERSION = 1;
/** botocore refreshes when fewer than 15 minutes remain (advisory) and blocks under 10 (mandatory). */
export const DEFAULT_REFRESH_MARGIN_SECONDS = 15 * 60;
/** How long a miss waits for another process's lock, on top of the MFA prompt timeout. */
export const DEFAULT_LOCK_WAIT_SECONDS = 60;
/** Cache files are a few KiB; anything larger is not ours. */
export const MAX_ENTRY_BYTES = 64 * 1024;

/** Names of the files credproc creates in the cache directory (and that `cache clear` may remove). */
export const ENTRY_FILE = /^[0-9a-f]{64}\.json$/;
export const LOCK_FILE = /^[0-9a-f]{64}\.lock$/;
/** The fast path's memo of an invocation's inputs (see {@link InputsMemo}). */
export const MEMO_FILE = /^[0-9a-f]{64}\.inputs\.json$/;
export const TEMP_FILE = /^(?:[0-9a-f]{64}\.(?:inputs\.|failure\.)?json|digest\.key)\.[0-9a-z]+\.tmp$/;
/** A failed lock holder's short-lived record, reported by the callers that waited for it (no secrets). */
export const FAILURE_FILE = /^[0-9a-f]{64}\.failure\.json$/;

/** The on-disk document. Field names of `credentials` follow the credential_process output. */
export interface CacheEntry {
  readonly credproc: typeof CACHE_FORMAT_VERSION;
  readonly key: string;
  /** When the credentials were received (ISO 8601); with Expiration it gives their lifetime. */
  readonly issuedAt: string;
  readonly credentials: {
    readonly AccessKeyId: string;
    readonly SecretAccessKey: string;
    readonly SessionToken?: string;
    readonly Expiration: string;
    /** The assumed role's account (entries written with `--include-account-id`). */
    readonly AccountId?: string;
  };
  /** What the entry is for, for `credproc cache list` (no secret; absent in entries of older versions). */
  readonly meta?: EntryMeta;
}

/**
 * The kinds of entry: `role` (a role chain's final credentials) and `mfa-session` (a `--mfa-session`
 * GetSessionToken). A new kind is one name here; the compiler then asks for its key and description in
 * session.ts (`entrySpec`) and for its line in `credproc cache list` (list.ts).
 */
export const ENTRY_KINDS = ["role", "mfa-session"] as const;
/** One of {@link ENTRY_KINDS}. */
export type EntryKind = typeof ENTRY_KINDS[number];

/** Whether a value read from a file names an entry kind. */
export function isEntryKind(value: unknown): value is EntryKind {
  return (ENTRY_KINDS as readonly unknown[]).includes(value);
}

/** The non-secret description `credproc cache list` shows; see lib/cache/list.ts. */
export interface EntryMeta {
  readonly kind: EntryKind;
  /** The role ARNs in order (empty for an MFA session). */
  readonly roles: readonly string[];
  readonly sessionName?: string;
  readonly profile?: string;
  /** The source's kind (`default-chain`, `static`, `sso`, …). */
  readonly source: string;
  readonly region: string;
  readonly endpointUrl?: string;
  /** The MFA device (the session's, or the first hop's). */
  readonly mfaSerial?: string;
  /** The refresh margin the writer used, in seconds. */
  readonly marginSeconds: number;
}

/** What a cache file's `lstat`/`fstat` must show; a subset of `Deno.FileInfo` so tests can fake it. */
export interface FileFacts {
  readonly isFile: boolean;
  readonly isSymlink: boolean;
  /** null on Windows. */
  readonly mode: number | null;
  readonly uid: number | null;
  readonly size: number;
}

/** The outcome of checking one cache file. */
export type Verdict =
  | {
    readonly ok: true;
    readonly credentials: Credentials;
    readonly issuedAt: number;
    readonly remainingMs: number;
  }
  | { readonly ok: false; readonly reason: string };

/**
 * Reuse credentials only while more than the margin remains; when the credentials live no longer than the
 * margin (e.g. a 900 s session with the default 15-minute margin), the margin is half their lifetime.
 */
export function effectiveMarginMs(marginMs: number, lifetimeMs: number): number {
  return lifetimeMs <= marginMs ? Math.max(0, lifetimeMs) / 2 : marginMs;
}

/** Checks a cache file's metadata: returns why it is not trusted, or undefined. */
export function judgeFacts(facts: FileFacts, uid: number | null): string | undefined {
  if (facts.isSymlink) return "it is a symbolic link";
  if (!facts.isFile) return "it is not a regular file";
  if (uid !== null && facts.uid !== null && facts.uid !== uid) {
    return `it is owned by uid ${facts.uid}, not ${uid}`;
  }
  if (facts.mode !== null && (facts.mode & 0o777) !== 0o600) {
    return `its mode is ${(facts.mode & 0o777).toString(8).padStart(4, "0")}, not 0600`;
  }
  if (facts.size > MAX_ENTRY_BYTES) return `it is too large (${facts.size} bytes)`;
  return undefined;
}

/** Checks a cache file's metadata and text. Pure, so every rule is tested without a file system. */
export function judgeEntry(
  facts: FileFacts,
  text: string,
  expect: { key: string; now: number; marginMs: number; uid: number | null },
): Verdict {
  const bad = judgeFacts(facts, expect.uid);
  if (bad !== undefined) return { ok: false, reason: bad };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: "it is not valid JSON" };
  }
  const entry = parseEntry(doc);
  if (typeof entry === "string") return { ok: false, reason: entry };
  if (entry.key !== expect.key) return { ok: false, reason: "it belongs to another key" };
  const expiration = Date.parse(entry.credentials.Expiration);
  const issuedAt = Date.parse(entry.issuedAt);
  const remainingMs = expiration - expect.now;
  if (remainingMs <= 0) return { ok: false, reason: "the credentials have expired" };
  const margin = effectiveMarginMs(expect.marginMs, expiration - issuedAt);
  if (remainingMs <= margin) {
    return {
      ok: false,
      reason: `only ${Math.round(remainingMs / 1000)} s remain, within the refresh margin of ${
        Math.round(margin / 1000)
      } s`,
    };
  }
  const c = entry.credentials;
  return {
    ok: true,
    issuedAt,
    remainingMs,
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: new Date(expiration),
      ...(c.AccountId === undefined ? {} : { accountId: c.AccountId }),
      issuedAt: new Date(issuedAt),
    },
  };
}

/** An ISO 8601 UTC time as `toISOString` writes it (fractional seconds optional): how every cache file dates. */
export const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;
const KEY_ID = /^\w{16,128}$/;

/** Shape check: returns the entry, or why it is not one. */
export function parseEntry(doc: unknown): CacheEntry | string {
  if (!isObject(doc)) return "it is not a JSON object";
  if (doc.credproc !== CACHE_FORMAT_VERSION) return "it has another format version";
  if (typeof doc.key !== "string" || !/^[0-9a-f]{64}$/.test(doc.key)) return "it has no valid key";
  if (typeof doc.issuedAt !== "string" || !ISO_TIME.test(doc.issuedAt) || isNaN(Date.parse(doc.issuedAt))) {
    return "it has no valid issuedAt";
  }
  const c = doc.credentials;
  if (!isObject(c)) return "it has no credentials object";
  if (typeof c.AccessKeyId !== "string" || !KEY_ID.test(c.AccessKeyId)) return "its AccessKeyId is not valid";
  if (typeof c.SecretAccessKey !== "string" || c.SecretAccessKey === "") {
    return "its SecretAccessKey is not valid";
  }
  if (c.SessionToken !== undefined && (typeof c.SessionToken !== "string" || c.SessionToken === "")) {
    return "its SessionToken is not valid";
  }
  if (typeof c.Expiration !== "string" || !ISO_TIME.test(c.Expiration) || isNaN(Date.parse(c.Expiration))) {
    return "its Expiration is not valid";
  }
  if (c.AccountId !== undefined && (typeof c.AccountId !== "string" || !/^\d{12}$/.test(c.AccountId))) {
    return "its AccountId is not valid";
  }
  if (Date.parse(c.Expiration) < Date.parse(doc.issuedAt)) return "it expires before it was issued";
  return doc as unknown as CacheEntry;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The document written for fresh credentials. */
export function entryFor(
  key: string,
  credentials: Credentials,
  issuedAt: number,
  meta?: EntryMeta,
): CacheEntry {
  return {
    credproc: CACHE_FORMAT_VERSION,
    key,
    issuedAt: new Date(issuedAt).toISOString(),
    credentials: {
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken === undefined ? {} : { SessionToken: credentials.sessionToken }),
      Expiration: credentials.expiration!.toISOString(),
      ...(credentials.accountId === undefined ? {} : { AccountId: credentials.accountId }),
    },
    ...(meta === undefined ? {} : { meta }),
  };
}

type ReadResult = { readonly verdict: Verdict } | { readonly missing: true };

/** What {@link readTrusted} found. */
export type TrustedRead =
  | { readonly text: string; readonly facts: FileFacts }
  | { readonly missing: true }
  | { readonly problem: string };

/**
 * Reads a cache file only if its metadata passes {@link judgeFacts}, both on the path (`lstat`: a symlink is
 * never opened) and on the opened file (`fstat`, same inode: not swapped in between). Never throws.
 * Synchronous on purpose: it is on the fast path, where each async file operation costs more than the read.
 */
export function readTrustedSync(path: string, uid: number | null): TrustedRead {
  let named: Deno.FileInfo;
  try {
    named = Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { missing: true };
    return { problem: `it cannot be examined (${oneLine(e)})` };
  }
  const bad = judgeFacts(named, uid);
  if (bad !== undefined) return { problem: bad };
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path, { read: true });
    const opened = file.statSync();
    if (named.ino !== null && (opened.ino !== named.ino || opened.dev !== named.dev)) {
      return { problem: "it was replaced while being read" };
    }
    const changed = judgeFacts(opened, uid);
    if (changed !== undefined) return { problem: changed };
    const bytes = new Uint8Array(opened.size);
    let off = 0;
    while (off < bytes.length) {
      const n = file.readSync(bytes.subarray(off));
      if (n === null) break;
      off += n;
    }
    return { text: new TextDecoder().decode(bytes.subarray(0, off)), facts: opened };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { missing: true };
    return { problem: `it cannot be read (${oneLine(e)})` };
  } finally {
    file?.close();
  }
}

/** {@link readTrustedSync} for async callers. */
export function readTrusted(path: string, uid: number | null): Promise<TrustedRead> {
  return Promise.resolve(readTrustedSync(path, uid));
}

/** Reads and judges a credentials entry; never throws. */
export async function readEntry(
  path: string,
  expect: { key: string; now: number; marginMs: number; uid: number | null },
): Promise<ReadResult> {
  const read = await readTrusted(path, expect.uid);
  if ("missing" in read) return read;
  if ("problem" in read) return { verdict: { ok: false, reason: read.problem } };
  return { verdict: judgeEntry(read.facts, read.text, expect) };
}

// ---------------------------------------------------------------------------------------------------------
// The inputs memo: lets the fast path find the entry without parsing flags or loading the shared config
// ---------------------------------------------------------------------------------------------------------

/**
 * `<dir>/<inputs key>.inputs.json`: for one invocation's raw inputs (argv, environment, working directory;
 * see `inputsKey`), the entry key its plan gave, how to print it, and the files the plan was built from, each
 * with the keyed digest of its content. Holds no secret. Written by the full path after a hit or a fetch in
 * the default cache mode without `--verbose` (memo.ts, session.ts); trusted by the fast path under the same
 * rules as an entry (regular file, owner, 0600, shape), and only while every file still has the same digest.
 */
export interface InputsMemo {
  readonly credproc: typeof CACHE_FORMAT_VERSION;
  readonly inputs: string;
  readonly key: string;
  readonly format: Format;
  readonly marginMs: number;
  /** `--include-account-id` was given (absent otherwise). */
  readonly accountId?: true;
  readonly files: readonly WatchedFile[];
}

/**
 * A file the plan was read from: the HMAC-SHA-256 of its content under the cache's digest key (`fileHmac`
 * in key.ts), `null` when it did not exist. On disk the field is named `sha256` (the name format 1 has always
 * used; the value has always been the keyed digest): see {@link parseMemo} and `memoText` (memo.ts).
 */
export interface WatchedFile {
  readonly path: string;
  readonly hmac: string | null;
}

/** Shape check of a memo: returns it, or why it is not one. */
export function parseMemo(doc: unknown, inputs: string): InputsMemo | string {
  if (!isObject(doc)) return "it is not a JSON object";
  if (doc.credproc !== CACHE_FORMAT_VERSION) return "it has another format version";
  if (doc.inputs !== inputs) return "it belongs to other inputs";
  if (typeof doc.key !== "string" || !/^[0-9a-f]{64}$/.test(doc.key)) return "it has no valid key";
  if (typeof doc.format !== "string" || !isFormat(doc.format)) return "it has no valid format";
  if (typeof doc.marginMs !== "number" || !(doc.marginMs >= 0)) return "it has no valid margin";
  if (doc.accountId !== undefined && doc.accountId !== true) return "it has no valid accountId";
  const files = doc.files;
  if (
    !Array.isArray(files) || files.length > 64 ||
    !files.every((f) =>
      isObject(f) && typeof f.path === "string" && f.path !== "" &&
      (f.sha256 === null || (typeof f.sha256 === "string" && /^[0-9a-f]{64}$/.test(f.sha256)))
    )
  ) {
    return "it has no valid file list";
  }
  return {
    credproc: CACHE_FORMAT_VERSION,
    inputs,
    key: doc.key,
    format: doc.format,
    marginMs: doc.marginMs,
    ...(doc.accountId === true ? { accountId: true as const } : {}),
    files: files.map((f) => ({ path: f.path as string, hmac: f.sha256 as string | null })),
  };
}
