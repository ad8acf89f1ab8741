/**
 * Credentials × format → the text credproc prints (pure), and the few text and byte helpers every layer shares:
 * one-line errors, escaped diagnostics, hex, and whole writes and bounded reads of a file or stream.
 */
import type { Credentials, Format } from "./model.ts";

/**
 * RFC 3339 UTC with a literal `Z` and whole seconds, rounded down so it is never later than the instant STS
 * gave (`2026-11-25T19:45:12Z`): Go rejects zone-less values, JS reads them as local time, Java is fragile
 * with offsets; `Z` works everywhere.
 */
export function formatExpiration(expiration: Date): string {
  return expiration.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The credential_process document, byte-identical to `jq ".Credentials + {Version: 1}"`. */
export function processDocument(credentials: Credentials, includeAccountId = false): string {
  const doc: Record<string, string | number> = {
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
  };
  if (credentials.sessionToken !== undefined) doc.SessionToken = credentials.sessionToken;
  if (credentials.expiration !== undefined) doc.Expiration = formatExpiration(credentials.expiration);
  doc.Version = 1;
  // Last, after Version: without the flag the document stays byte-identical to the jq pipeline's.
  if (includeAccountId && credentials.accountId !== undefined) doc.AccountId = credentials.accountId;
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Renders credentials in `format`; the shell formats match `aws configure export-credentials --format`.
 * With `includeAccountId`, the account id is the last key (`AccountId`) or line (`AWS_ACCOUNT_ID`, the
 * variable botocore ≥ 1.37 and the other SDKs read).
 */
export function render(credentials: Credentials, format: Format, includeAccountId = false): string {
  if (format === "process") return processDocument(credentials, includeAccountId);
  const vars: [string, string][] = [
    ["AWS_ACCESS_KEY_ID", credentials.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey],
  ];
  if (credentials.sessionToken !== undefined) vars.push(["AWS_SESSION_TOKEN", credentials.sessionToken]);
  if (credentials.expiration !== undefined) {
    // The AWS CLI writes the offset as +00:00 here; match it line for line.
    vars.push([
      "AWS_CREDENTIAL_EXPIRATION",
      formatExpiration(credentials.expiration).replace(/Z$/, "+00:00"),
    ]);
  }
  if (includeAccountId && credentials.accountId !== undefined) {
    vars.push(["AWS_ACCOUNT_ID", credentials.accountId]);
  }
  const line = LINE[format];
  return vars.map(([name, value]) => `${line(name, value)}\n`).join("");
}

/**
 * Characters no shell treats specially, and all that valid credentials contain (base64 and the expiration):
 * such values are printed exactly as `aws configure export-credentials` prints them (unquoted, or in
 * PowerShell's and fish's double quotes). Anything else — which STS answers are checked never to hold — is
 * quoted for the shell it is meant for, so `eval "$(credproc --format env)"` can only ever set variables.
 */
const SAFE = /^[A-Za-z0-9+/=:._-]*$/;

const LINE: Record<Exclude<Format, "process">, (name: string, value: string) => string> = {
  "env": (n, v) => `export ${n}=${shellWord(v)}`,
  "env-no-export": (n, v) => `${n}=${shellWord(v)}`,
  "powershell": (n, v) =>
    SAFE.test(v) ? `$Env:${n}="${v}"` : `$Env:${n}='${v.replace(/['\u2018\u2019\u201a\u201b]/g, "$&$&")}'`,
  "windows-cmd": (n, v) => {
    if (SAFE.test(v)) return `set ${n}=${v}`;
    // cmd.exe expands %…% and !…! even inside quotes and has no escape for a line break: refuse.
    if (/[%!"^\p{Cc}\u2028\u2029]/u.test(v)) {
      throw new Error(`${n} holds characters windows-cmd cannot quote; use another --format`);
    }
    return `set "${n}=${v}"`;
  },
  // The AWS CLI's FishShellFormatter writes `set -gx NAME "VALUE"`; `set` takes no options after the name.
  "fish": (n, v) => {
    if (SAFE.test(v)) return `set -gx ${n} "${v}"`;
    // fish cannot read a script holding a NUL byte (it drops the rest of the input): refuse.
    if (v.includes("\0")) {
      throw new Error(`${n} holds characters fish cannot quote; use another --format`);
    }
    return `set -gx ${n} ${fishQuote(v)}`;
  },
};

/** `v` as one POSIX shell word: as it is when every character is safe, else in single quotes. */
export function shellWord(v: string): string {
  return SAFE.test(v) ? v : shQuote(v);
}

/** POSIX single quotes: nothing inside is special; a single quote is closed, escaped and reopened. */
function shQuote(v: string): string {
  return `'${v.replace(/'/g, `'\\''`)}'`;
}

/**
 * fish single quotes: unlike POSIX, `\'` and `\\` are escapes inside them (and nothing else is: no
 * expansion, line breaks kept), so a backslash and a single quote each get a backslash.
 */
function fishQuote(v: string): string {
  return `'${v.replace(/[\\']/g, "\\$&")}'`;
}

/** Writes all of `text` (one write may take only part of it): stdout, stderr, the terminal. */
export function writeAllSync(to: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = new TextEncoder().encode(text);
  for (let off = 0; off < bytes.length;) off += to.writeSync(bytes.subarray(off));
}

/** {@link writeAllSync} for an asynchronous writer (stdout on the full path, a cache file). */
export async function writeAll(to: { write(p: Uint8Array): Promise<number> }, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let off = 0; off < bytes.length;) off += await to.write(bytes.subarray(off));
}

/**
 * Reads `from` until its end or `limit` bytes, whichever comes first (one read may return only part): callers
 * ask one byte more than they accept, so that memory stays bounded and "too large" is seen.
 */
export async function readUpTo(
  from: { read(p: Uint8Array): Promise<number | null> },
  limit: number,
): Promise<Uint8Array> {
  const buf = new Uint8Array(limit);
  let off = 0;
  while (off < buf.length) {
    const n = await from.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/**
 * An error (or any text) as one line: line breaks and runs of blanks become one space. Every diagnostic
 * quotes an error this way, so a message can never spill onto a second stderr line.
 */
export function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim();
}

/** Why stdout could not be written, in a few words (no stack, no path): shared by main.ts and the full path. */
export function outputErrorReason(e: unknown): string {
  if (e instanceof Deno.errors.BrokenPipe) return "the reader closed the pipe";
  return oneLine(e).replace(/ \(os error \d+\)$/, "").slice(0, 200);
}

/** Control, format (bidi) and line-separator characters: never printed raw (no line breaks, no terminal tricks). */
const UNPRINTABLE_TEXT = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
const TEXT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** `text` with every control, bidi and line-separator character shown as an escape (`\n`, `\u001b`). */
export function escapeControls(text: string): string {
  return text.replace(
    UNPRINTABLE_TEXT,
    (c) => TEXT_ESCAPES[c] ?? unicodeEscape(c),
  );
}

/** A character as `\\u` and its code point in hex, at least four digits (`\\u202e`). */
export function unicodeEscape(c: string): string {
  return `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`;
}

/** Bytes as lowercase hex, two digits each: digests, keys, random names (the one hex encoding in lib/). */
export function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
