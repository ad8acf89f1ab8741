/**
 * Cache files on disk — entries, the fast path's input memos, any file read under the trust rules — and the
 * rules for trusting them: the part of the cache a hit needs, kept apart from the writing (write.ts) and
 * locking (lock.ts) so that the fast path loads nothing else. Never throws on a bad file: it says why the file
 * is not trusted.
 */
import { type Credentials, EKS_TOKEN_MAX_BYTES, type EksToken } from "../model.ts";
import { oneLine } from "../output.ts";

/** Version of the file format; files of another version are ignored. */
export const CACHE_FORMAT_VERSION = 1;
/** botocore refreshes when fewer than 15 minutes remain (advisory) and blocks under 10 (mandatory). */
export const DEFAULT_REFRESH_MARGIN_SECONDS = 15 * 60;
/**
 * An EKS token entry is reused while more than this remains before its `expirationTimestamp` (see
 * docs/cache.md "EKS tokens"): client-go keeps an ExecCredential until that time and runs the plugin again only
 * after it, and aws-iam-authenticator accepts the token until 15 minutes after signing (one minute past the
 * printed time), so a reused token is as good as a fresh one to kubectl; 5 minutes leaves a client that ignores
 * the timestamp at least 6 minutes of use, and a token signed 14 minutes ahead is reused for its first 9.
 */
export const EKS_TOKEN_MARGIN_SECONDS = 5 * 60;
/** How long a miss waits for another process's lock, on top of the MFA prompt timeout. */
export const DEFAULT_LOCK_WAIT_SECONDS = 60;
/** Cache files are a few KiB; anything larger is not ours. */
export const MAX_ENTRY_BYTES = 64 * 1024;

/** Names of the files credproc creates in the cache directory (and that `cache clear` may remove). */
export const ENTRY_FILE = /^[0-9a-f]{64}\.json$/;
export const LOCK_FILE = /^[0-9a-f]{64}\.lock$/;
/** The fast path's memo of an invocation's inputs (see {@link InputsMemo}). */
export const MEMO_FILE = /^[0-9a-f]{64}\.inputs\.json$/;
/** A temp file of an interrupted atomic write (`tempPath`, write.ts) of any of them, or of the failure record. */
export const TEMP_FILE =
  /^(?:[0-9a-f]{64}\.(?:inputs\.|failure\.)?json|digest\.key|failures\.json)\.[0-9a-z]+\.tmp$/;
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
 * The kinds of entry: `role` (a role chain's final credentials, or a source's own for a plan without a role),
 * `mfa-session` (a `--mfa-session` GetSessionToken) and `eks-token` (a token `credproc eks-token` signed with
 * the role's credentials). A new kind is one name here and its payload in {@link ENTRY_PAYLOAD}; the compiler
 * then asks for its key and description in session.ts (`entrySpec`) and for its line in `credproc cache list`
 * (list.ts).
 */
export const ENTRY_KINDS = ["role", "mfa-session", "eks-token"] as const;
/** One of {@link ENTRY_KINDS}. */
export type EntryKind = typeof ENTRY_KINDS[number];

/** What an entry holds: `credentials` ({@link CacheEntry}) or an EKS `token` ({@link TokenEntry}). */
export interface EntryPayloads {
  readonly credentials: Credentials;
  readonly token: EksToken;
}
/** The payload each kind of entry holds; the file says it by its member (`credentials` or `token`). */
export const ENTRY_PAYLOAD = {
  "role": "credentials",
  "mfa-session": "credentials",
  "eks-token": "token",
} as const satisfies Record<EntryKind, keyof EntryPayloads>;
/** The value an entry of kind `K` holds. */
export type EntryValue<K extends EntryKind> = EntryPayloads[typeof ENTRY_PAYLOAD[K]];

/**
 * An `eks-token` entry: the document of {@link CacheEntry} with `token` in place of `credentials` (the same
 * format version: role entries are untouched, and a credentials judge refuses a token entry as "no credentials
 * object", the reverse as "no token object"). `issuedAt` is when the token was signed (its `X-Amz-Date`).
 */
export interface TokenEntry {
  readonly credproc: typeof CACHE_FORMAT_VERSION;
  readonly key: string;
  readonly issuedAt: string;
  readonly token: {
    /** The bearer token, `k8s-aws-v1.…`. */
    readonly Token: string;
    /** The `expirationTimestamp` printed with it, as printed (whole seconds). */
    readonly Expiration: string;
  };
  readonly meta?: EntryMeta;
}

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
  /** `eks-token`: the cluster the token is for. */
  readonly cluster?: string;
  /** `eks-token`: the STS endpoint the token points at (scheme, host, path) and the region it is signed for. */
  readonly tokenEndpoint?: string;
  readonly signingRegion?: string;
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

/** What an entry is judged against: its key, the time, the margin, the uid its files must belong to. */
export interface EntryExpect {
  readonly key: string;
  readonly now: number;
  readonly marginMs: number;
  readonly uid: number | null;
}

/**
 * The checks every entry file passes whatever it holds: its metadata ({@link judgeFacts}), JSON, the shape
 * `parse` checks, the key. Returns the document with its issue and expiry times (epoch ms; `expiry` names the
 * payload's), or why it is not trusted.
 */
function judgeDocument<E extends { readonly key: string; readonly issuedAt: string }>(
  facts: FileFacts,
  text: string,
  expect: EntryExpect,
  parse: (doc: unknown) => E | string,
  expiry: (entry: E) => string,
):
  | { readonly entry: E; readonly issuedAt: number; readonly expiration: number }
  | { readonly ok: false; readonly reason: string } {
  const bad = judgeFacts(facts, expect.uid);
  if (bad !== undefined) return { ok: false, reason: bad };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: "it is not valid JSON" };
  }
  const entry = parse(doc);
  if (typeof entry === "string") return { ok: false, reason: entry };
  if (entry.key !== expect.key) return { ok: false, reason: "it belongs to another key" };
  return { entry, issuedAt: Date.parse(entry.issuedAt), expiration: Date.parse(expiry(entry)) };
}

/**
 * Why a value with `remainingMs` left is not reused under a margin of `marginMs` (`margin` names it), or
 * undefined; `expired` is the words for nothing left.
 */
function tooLate(remainingMs: number, marginMs: number, expired: string, margin: string): string | undefined {
  if (remainingMs <= 0) return expired;
  if (remainingMs <= marginMs) {
    return `only ${Math.round(remainingMs / 1000)} s remain, within ${margin} of ${
      Math.round(marginMs / 1000)
    } s`;
  }
  return undefined;
}

/** Checks a cache file's metadata and text. Pure, so every rule is tested without a file system. */
export function judgeEntry(facts: FileFacts, text: string, expect: EntryExpect): Verdict {
  const judged = judgeDocument(facts, text, expect, parseEntry, (e) => e.credentials.Expiration);
  if (!("entry" in judged)) return judged;
  const { entry, issuedAt, expiration } = judged;
  const remainingMs = expiration - expect.now;
  const margin = effectiveMarginMs(expect.marginMs, expiration - issuedAt);
  const late = tooLate(remainingMs, margin, "the credentials have expired", "the refresh margin");
  if (late !== undefined) return { ok: false, reason: late };
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

/** The outcome of checking one token entry (see {@link judgeTokenEntry}). */
export type TokenVerdict =
  | {
    readonly ok: true;
    readonly token: EksToken;
    readonly issuedAt: number;
    readonly remainingMs: number;
  }
  | { readonly ok: false; readonly reason: string };

/** How far ahead of the clock a token's signing time may be (clocks of one machine, read a moment apart). */
const SIGNED_AHEAD_MS = 60_000;
/** The longest a token can be good for: STS honours a presigned GetCallerIdentity 15 minutes after signing. */
export const MAX_TOKEN_LIFETIME_MS = 15 * 60_000;

/**
 * Checks a token entry's metadata and text, as {@link judgeEntry} checks a credentials entry, with the token's
 * own rules: reused only while more than `marginMs` is left before its expiration (no halving: a token is
 * never worth keeping for less), and never when it was signed later than now (a clock set back: STS would call
 * its signature not yet current, and the printed expiry would be too far ahead).
 */
export function judgeTokenEntry(facts: FileFacts, text: string, expect: EntryExpect): TokenVerdict {
  const judged = judgeDocument(facts, text, expect, parseTokenEntry, (e) => e.token.Expiration);
  if (!("entry" in judged)) return judged;
  const { entry, issuedAt, expiration } = judged;
  if (issuedAt > expect.now + SIGNED_AHEAD_MS) {
    return { ok: false, reason: "it was signed later than now (the clock went back)" };
  }
  const remainingMs = expiration - expect.now;
  const late = tooLate(remainingMs, expect.marginMs, "the token has expired", "the token's margin");
  if (late !== undefined) return { ok: false, reason: late };
  return {
    ok: true,
    issuedAt,
    remainingMs,
    token: { token: entry.token.Token, expiration: new Date(expiration) },
  };
}

/** A token as credproc signs it: the v1 prefix and base64url, at most {@link EKS_TOKEN_MAX_BYTES}. */
const TOKEN_TEXT = /^k8s-aws-v1\.[A-Za-z0-9_-]+$/;

/** Shape check of a token entry: returns it, or why it is not one. */
export function parseTokenEntry(value: unknown): TokenEntry | string {
  const doc = entryHead(value);
  if (typeof doc === "string") return doc;
  const t = doc.token;
  if (!isObject(t)) return "it has no token object";
  if (typeof t.Token !== "string" || t.Token.length > EKS_TOKEN_MAX_BYTES || !TOKEN_TEXT.test(t.Token)) {
    return "its Token is not valid";
  }
  if (!isTime(t.Expiration)) return "its Expiration is not valid";
  const lifetime = Date.parse(t.Expiration) - Date.parse(doc.issuedAt as string);
  if (lifetime < 0) return "it expires before it was issued";
  if (lifetime > MAX_TOKEN_LIFETIME_MS) return "it expires more than 15 minutes after it was signed";
  return doc as unknown as TokenEntry;
}

/** The document written for a token signed at `issuedAt`. */
export function tokenEntryFor(key: string, token: EksToken, issuedAt: number, meta?: EntryMeta): TokenEntry {
  return {
    credproc: CACHE_FORMAT_VERSION,
    key,
    issuedAt: new Date(issuedAt).toISOString(),
    token: { Token: token.token, Expiration: token.expiration.toISOString() },
    ...(meta === undefined ? {} : { meta }),
  };
}

/** Reads and judges a token entry; never throws. */
export function readTokenEntry(path: string, expect: EntryExpect): Promise<ReadResult<TokenVerdict>> {
  return readJudged(path, expect, judgeTokenEntry);
}

/** The members every entry document starts with (format version, key, issue time): the document, or why not. */
function entryHead(doc: unknown): Record<string, unknown> | string {
  if (!isObject(doc)) return "it is not a JSON object";
  if (doc.credproc !== CACHE_FORMAT_VERSION) return "it has another format version";
  if (typeof doc.key !== "string" || !/^[0-9a-f]{64}$/.test(doc.key)) return "it has no valid key";
  if (!isTime(doc.issuedAt)) return "it has no valid issuedAt";
  return doc;
}

/** A time as every cache file writes it ({@link ISO_TIME}) that is a real date. */
export function isTime(v: unknown): v is string {
  return typeof v === "string" && ISO_TIME.test(v) && !isNaN(Date.parse(v));
}

/** An ISO 8601 UTC time as `toISOString` writes it (fractional seconds optional): how every cache file dates. */
export const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/;
const KEY_ID = /^\w{16,128}$/;

/** Shape check: returns the entry, or why it is not one. */
export function parseEntry(value: unknown): CacheEntry | string {
  const doc = entryHead(value);
  if (typeof doc === "string") return doc;
  const c = doc.credentials;
  if (!isObject(c)) return "it has no credentials object";
  if (typeof c.AccessKeyId !== "string" || !KEY_ID.test(c.AccessKeyId)) return "its AccessKeyId is not valid";
  if (typeof c.SecretAccessKey !== "string" || c.SecretAccessKey === "") {
    return "its SecretAccessKey is not valid";
  }
  if (c.SessionToken !== undefined && (typeof c.SessionToken !== "string" || c.SessionToken === "")) {
    return "its SessionToken is not valid";
  }
  if (!isTime(c.Expiration)) return "its Expiration is not valid";
  if (c.AccountId !== undefined && (typeof c.AccountId !== "string" || !/^\d{12}$/.test(c.AccountId))) {
    return "its AccountId is not valid";
  }
  if (Date.parse(c.Expiration) < Date.parse(doc.issuedAt as string)) return "it expires before it was issued";
  return doc as unknown as CacheEntry;
}

/** A JSON object (not null, not an array): what every cache document is at the top. */
export function isObject(v: unknown): v is Record<string, unknown> {
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

/** What reading and judging an entry found: its verdict, or no file. */
type ReadResult<V> = { readonly verdict: V } | { readonly missing: true };

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
export function readEntry(path: string, expect: EntryExpect): Promise<ReadResult<Verdict>> {
  return readJudged(path, expect, judgeEntry);
}

/** Reads an entry file under the trust rules ({@link readTrusted}) and judges what it holds with `judge`. */
async function readJudged<V>(
  path: string,
  expect: EntryExpect,
  judge: (facts: FileFacts, text: string, expect: EntryExpect) => V,
): Promise<ReadResult<V | { readonly ok: false; readonly reason: string }>> {
  const read = await readTrusted(path, expect.uid);
  if ("missing" in read) return read;
  if ("problem" in read) return { verdict: { ok: false, reason: read.problem } };
  return { verdict: judge(read.facts, read.text, expect) };
}
