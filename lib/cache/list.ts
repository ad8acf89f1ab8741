/**
 * `credproc cache list`: what the cache directory holds — one row per entry (what it is for, how long it
 * lives, whether the next call refreshes it), whether the directory is usable, and the newest failures.
 * Never a secret: entries are read only to describe them; access key ids are masked, and an EKS token entry
 * is described by its kind, cluster and expiry (and the role it was signed with), never its token.
 *
 * The JSON form (`--json`) is for scripts and keeps its shape: every field is always present (`null` when not
 * known), and `schema` changes only when a field changes meaning.
 */
import { joinPath, octal } from "./dir.ts";
import {
  DEFAULT_REFRESH_MARGIN_SECONDS,
  effectiveMarginMs,
  ENTRY_FILE,
  ENTRY_PAYLOAD,
  type EntryKind,
  type EntryMeta,
  isEntryKind,
  parseEntry,
  parseTokenEntry,
  readTrusted,
} from "./store.ts";
import type { CacheDirVerdict } from "./verdict.ts";
import { unhandled } from "../model.ts";
import { type Failure, readFailureRecord } from "./failures.ts";
import { maskKeyId } from "../log.ts";
import { escapeControls, unicodeEscape } from "../output.ts";

/** The version of the JSON document below. */
export const CACHE_LIST_SCHEMA = 1;
/** How many failures the listing shows (the record keeps more). */
export const LISTED_FAILURES = 5;

/** The cache directory's state. */
export interface DirStatus {
  readonly path: string;
  readonly exists: boolean;
  /** Whether credproc can keep entries there (a missing directory is created on first use). */
  readonly usable: boolean;
  /** Why not, when not usable. */
  readonly problem: string | null;
  readonly ownerUid: number | null;
  /** Octal, e.g. "0700". */
  readonly mode: string | null;
}

/** One entry as listed. */
export interface ListedEntry {
  /** The file's key (its name without `.json`). */
  readonly key: string;
  /** `role`, `mfa-session`, `eks-token`, or null for an entry written before credproc recorded it. */
  readonly kind: EntryMeta["kind"] | null;
  /** The EKS cluster of an `eks-token` entry (null for the other kinds). */
  readonly cluster: string | null;
  readonly roles: readonly string[];
  readonly sessionName: string | null;
  readonly profile: string | null;
  readonly source: string | null;
  readonly region: string | null;
  readonly endpointUrl: string | null;
  readonly mfaSerial: string | null;
  /** Masked: `ASIA…WXYZ` (null for an EKS token: it shows no key id). */
  readonly accessKeyId: string | null;
  readonly accountId: string | null;
  readonly issuedAt: string | null;
  readonly expiration: string | null;
  /** Seconds until expiration (negative once expired). */
  readonly remainingSeconds: number | null;
  /** The margin this entry is judged with: reused only while more than this remains. */
  readonly refreshMarginSeconds: number | null;
  /**
   * `valid`: the next call is served from it; `refresh`: the next call fetches new credentials (within the
   * margin); `expired`; `unusable`: credproc will not trust the file (`problem` says why).
   */
  readonly status: "valid" | "refresh" | "expired" | "unusable";
  readonly problem: string | null;
}

/** The whole listing. */
export interface CacheListing {
  readonly schema: typeof CACHE_LIST_SCHEMA;
  readonly now: string;
  readonly cacheDir: DirStatus;
  readonly entries: readonly ListedEntry[];
  /** The newest failures, oldest first (at most {@link LISTED_FAILURES}). */
  readonly failures: readonly Failure[];
}

/** The directory's state from the verdict a call would get (`judgeCacheDir`): the listing never disagrees. */
function dirStatus(verdict: ListedDir): DirStatus {
  const { path } = verdict;
  if (verdict.state === "missing") {
    return { path, exists: false, usable: true, problem: null, ownerUid: null, mode: null };
  }
  const info = verdict.info;
  return {
    path,
    exists: info !== undefined,
    usable: verdict.state === "usable",
    problem: verdict.state === "unusable" ? verdict.problem : null,
    ownerUid: info?.uid ?? null,
    mode: info?.mode == null ? null : octal(info.mode),
  };
}

/** A directory verdict for a known directory (a listing needs one). */
export type ListedDir = Exclude<CacheDirVerdict, { state: "none" }>;

const UNKNOWN = {
  kind: null,
  cluster: null,
  roles: [],
  sessionName: null,
  profile: null,
  source: null,
  region: null,
  endpointUrl: null,
  mfaSerial: null,
  accessKeyId: null,
  accountId: null,
  issuedAt: null,
  expiration: null,
  remainingSeconds: null,
  refreshMarginSeconds: null,
} as const;

async function describeEntry(
  dir: string,
  name: string,
  now: number,
  uid: number | null,
): Promise<ListedEntry> {
  const key = name.slice(0, -".json".length);
  const unusable = (problem: string): ListedEntry => ({ key, ...UNKNOWN, status: "unusable", problem });
  const read = await readTrusted(joinPath(dir, name), uid);
  if ("missing" in read) return unusable("it disappeared while being listed");
  if ("problem" in read) return unusable(read.problem);
  let doc: unknown;
  try {
    doc = JSON.parse(read.text);
  } catch {
    return unusable("it is not valid JSON");
  }
  // The member that holds the payload says what the file is: `token` for an EKS token, else credentials.
  const isToken = typeof doc === "object" && doc !== null && "token" in doc;
  const entry = isToken ? parseTokenEntry(doc) : parseEntry(doc);
  if (typeof entry === "string") return unusable(entry);
  if (entry.key !== key) return unusable("it belongs to another key");
  const meta = parseMeta(entry.meta);
  if (meta !== undefined && (ENTRY_PAYLOAD[meta.kind] === "token") !== isToken) {
    return unusable(`a ${meta.kind} entry that holds ${isToken ? "a token" : "credentials"}`);
  }
  const expiration = Date.parse("token" in entry ? entry.token.Expiration : entry.credentials.Expiration);
  const issuedAt = Date.parse(entry.issuedAt);
  const configured = (meta?.marginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000;
  // A token's margin is its own (EKS_TOKEN_MARGIN_SECONDS, never halved: judgeTokenEntry in store.ts).
  const marginMs = "token" in entry ? configured : effectiveMarginMs(configured, expiration - issuedAt);
  const remainingMs = expiration - now;
  return {
    key,
    kind: meta?.kind ?? null,
    cluster: meta?.cluster ?? null,
    roles: meta?.roles ?? [],
    sessionName: meta?.sessionName ?? null,
    profile: meta?.profile ?? null,
    source: meta?.source ?? null,
    region: meta?.region ?? null,
    endpointUrl: meta?.endpointUrl ?? null,
    mfaSerial: meta?.mfaSerial ?? null,
    accessKeyId: "token" in entry ? null : maskKeyId(entry.credentials.AccessKeyId),
    accountId: "token" in entry ? null : entry.credentials.AccountId ?? null,
    issuedAt: entry.issuedAt,
    expiration: "token" in entry ? entry.token.Expiration : entry.credentials.Expiration,
    remainingSeconds: Math.floor(remainingMs / 1000),
    refreshMarginSeconds: Math.round(marginMs / 1000),
    status: remainingMs <= 0 ? "expired" : remainingMs <= marginMs ? "refresh" : "valid",
    problem: null,
  };
}

const TEXT = /^[\x21-\x7e]{1,2048}$/;

/** The entry's `meta`, if well formed (a damaged one only loses the description, not the entry). */
function parseMeta(meta: unknown): EntryMeta | undefined {
  if (meta === null || typeof meta !== "object") return undefined;
  const m = meta as Record<string, unknown>;
  const optional = (v: unknown) => v === undefined || (typeof v === "string" && TEXT.test(v));
  if (
    !isEntryKind(m.kind) ||
    !Array.isArray(m.roles) || m.roles.length > 64 ||
    !m.roles.every((r) => typeof r === "string" && TEXT.test(r)) ||
    !optional(m.sessionName) || !optional(m.profile) || !optional(m.endpointUrl) || !optional(m.mfaSerial) ||
    !optional(m.cluster) || !optional(m.tokenEndpoint) || !optional(m.signingRegion) ||
    typeof m.source !== "string" || !TEXT.test(m.source) || typeof m.region !== "string" ||
    !TEXT.test(m.region) || typeof m.marginSeconds !== "number" || !(m.marginSeconds >= 0)
  ) {
    return undefined;
  }
  return m as unknown as EntryMeta;
}

/**
 * Builds the listing of the directory `judgeCacheDir` judged (`create: false`: nothing is created or
 * changed).
 */
export async function listCache(verdict: ListedDir, now: number, uid: number | null): Promise<CacheListing> {
  const dir = verdict.path;
  const status = dirStatus(verdict);
  const names: string[] = [];
  // A directory credproc refuses is not read at all: what is in it never reaches a call either.
  if (status.usable && status.exists) {
    try {
      for await (const e of Deno.readDir(dir)) if (ENTRY_FILE.test(e.name)) names.push(e.name);
    } catch { /* unreadable: the status says enough */ }
  }
  const entries = await Promise.all(names.map((n) => describeEntry(dir, n, now, uid)));
  entries.sort((a, b) => sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0);
  const failures = status.usable && status.exists ? await readFailureRecord(dir, uid) : [];
  return {
    schema: CACHE_LIST_SCHEMA,
    now: new Date(now).toISOString(),
    cacheDir: status,
    entries,
    failures: failures.slice(-LISTED_FAILURES),
  };
}

/** MFA sessions first, then roles by what they are for, then EKS tokens; unusable files last. */
function sortKey(e: ListedEntry): string {
  const rank = e.status === "unusable"
    ? "9"
    : e.kind === "mfa-session"
    ? "0"
    : e.kind === "eks-token"
    ? "2"
    : "1";
  return `${rank} ${forDisplay(e)}\u0000${e.sessionName ?? ""}\u0000${e.key}`;
}

/** What an entry is for, in one word or ARN chain. */
function forText(e: ListedEntry): string {
  if (e.kind === null) return e.status === "unusable" ? "-" : "(written by an older credproc)";
  return kindText(e.kind, e);
}

/** What an entry of each kind is for; a new kind is a compile error here until it has its words. */
function kindText(kind: EntryKind, e: ListedEntry): string {
  switch (kind) {
    case "mfa-session":
      return `MFA session ${e.mfaSerial ?? ""}`.trim();
    case "role":
      return roleText(e);
    case "eks-token":
      // The cluster and the credentials that signed it; the token itself is never shown.
      return `EKS token for ${e.cluster ?? "?"} (${roleText(e)})`;
    default:
      return unhandled(kind, "cache entry kind");
  }
}

/** The role chain an entry is for, or the source whose own credentials it holds (a plan without a role). */
function roleText(e: ListedEntry): string {
  if (e.roles.length > 0) return e.roles.join(" → ");
  if (e.source === "login") return "aws login session (no role)";
  return e.source === null ? "(written by an older credproc)" : `${e.source} credentials (no role)`;
}

/** What an entry is for, with the profile it came from. */
function forDisplay(e: ListedEntry): string {
  return `${forText(e)}${e.profile ? ` (profile ${e.profile})` : ""}`;
}

/** Seconds as `1h02m`, `14m05s`, `45s`; `expired` below zero. */
export function duration(seconds: number): string {
  if (seconds <= 0) return "expired";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

const NEXT: Record<ListedEntry["status"], string> = {
  valid: "served from cache",
  refresh: "refreshes (within margin)",
  expired: "refreshes (expired)",
  unusable: "replaced",
};

/** The listing as text for people. */
export function formatListing(l: CacheListing): string {
  const d = l.cacheDir;
  const state = !d.exists && d.problem === null
    ? "does not exist yet (created on first use)"
    : d.usable
    ? `usable (owner uid ${d.ownerUid ?? "?"}, mode ${d.mode ?? "?"})`
    : `NOT usable: ${d.problem}`;
  const out = [`cache directory: ${escapeControls(d.path)}`, `  ${escapeControls(state)}`];
  if (!d.usable) out.push("  credproc neither reads nor writes it: every call fetches new credentials");
  out.push("", ...section(d.usable, "entries", l.entries, "no cached entries", entryLines));
  out.push("", ...section(d.usable, "failures", l.failures, "no recorded failures", failureLines));
  return `${out.join("\n")}\n`;
}

/** A part of the listing: not read (an unusable directory), `none` for no items, else the items' lines. */
function section<T>(
  usable: boolean,
  what: string,
  items: readonly T[],
  none: string,
  lines: (items: readonly T[]) => string[],
): string[] {
  if (!usable) return [`${what} not read (the directory is not usable)`];
  return items.length === 0 ? [none] : lines(items);
}

/** The entries as a table, one row per line, columns padded. */
function entryLines(entries: readonly ListedEntry[]): string[] {
  const rows = [["FOR", "SESSION", "SOURCE", "REGION", "KEY ID", "LEFT", "NEXT CALL"]];
  for (const e of entries) {
    const region = e.endpointUrl ? `${e.region ?? "-"} ${e.endpointUrl}` : e.region ?? "-";
    rows.push([
      forDisplay(e),
      e.sessionName ?? "-",
      e.source ?? "-",
      region,
      e.accessKeyId ?? "-",
      e.remainingSeconds === null ? "-" : duration(e.remainingSeconds),
      e.status === "unusable" ? `${NEXT.unusable}: ${e.problem}` : NEXT[e.status],
    ]);
  }
  // Every cell escaped before the widths are measured: one row per line, whatever a file held.
  const cells = rows.map((r) => r.map(escapeControls));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  "));
}

/** The recorded failures, newest last, each with its hint. */
function failureLines(failures: readonly Failure[]): string[] {
  const out = [`recent failures (newest last):`];
  for (const f of failures) {
    out.push(`${f.time}  ${escapeControls(f.line)}`);
    if (f.hint) out.push(`${" ".repeat(f.time.length)}  hint: ${escapeControls(f.hint)}`);
  }
  return out;
}

/** The listing as JSON for scripts (stable shape; see {@link CacheListing}). */
export function listingJson(l: CacheListing): string {
  // JSON escapes control characters itself; bidi and line-separator characters are escaped too (the same
  // values, as \uXXXX), so that the document is safe to show on a terminal.
  return `${JSON.stringify(l, null, 2).replace(/[\p{Cf}\u2028\u2029]/gu, unicodeEscape)}\n`;
}
