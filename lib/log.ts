/**
 * The `--verbose` logger. It writes lines to a sink passed in (stderr in `lib/cli/cli.ts`, a buffer in tests).
 * It has no way to print a secret: every secret the program handles is registered with {@link Logger.secret}
 * and scrubbed from every line, and anything shaped like an access key id is masked.
 *
 * A secret can reach text in another shape than it was registered in: split at a line break (a token pasted
 * with a stray `\n`), folded onto one line (`oneLine` turns a break into a space), escaped (`\n` as two
 * characters), or with the break dropped. So each secret is also matched with anything of that kind at its
 * breaks, and every piece between breaks long enough to be told from ordinary text is scrubbed on its own.
 * Errors that quote a header (Deno's `Invalid header value: "…"`) are cut to their kind first.
 */
/** Diagnostics for `--verbose`. */
export interface Logger {
  /** Writes one diagnostic line (when verbose). */
  debug(message: string): void;
  /** Registers a value that must never appear in output (secret key, session token, MFA code, OIDC token). */
  secret(value: string | undefined): void;
  /** Scrubs registered secrets and masks key ids in `text` (used for error messages too). */
  scrub(text: string): string;
}

const KEY_ID = /\b(?:AKIA|ASIA|AIDA|AROA|ABIA|ACCA)[A-Z0-9]{8,}\b/g;

/** The shortest secret (or piece of one) scrubbed: shorter ones would scrub innocent text; real secrets are long. */
const MIN_SECRET = 6;

/** Where a secret may be cut: control characters, white space, the Unicode line and paragraph separators. */
const BREAK = /[\p{Cc}\s\u2028\u2029]+/u;

/** What a break may have become in text: itself, other blanks, an escape (`\n`, `\u0001`), or nothing. */
const BREAK_IN_TEXT = String.raw`(?:[\p{Cc}\s\u2028\u2029]|\\[nrtbf0]|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2})*`;

/**
 * Deno's and fetch's words for a header they refuse (`Invalid header value: "<the value>"`) quote the value —
 * a session token, an Authorization header: only the kind is kept, the rest of the text is dropped.
 */
const QUOTED_HEADER = /\b(invalid header (?:value|name))\b[\s\S]*$/i;

/** `text` with any quoted header value cut off after its kind ("invalid header value"). */
export function withoutQuotedHeader(text: string): string {
  return text.replace(QUOTED_HEADER, (_, kind: string) => kind.toLowerCase());
}

/** Masks an access key id for logs: the 4-char prefix and last 4 chars stay (`ASIA…WXYZ`). */
export function maskKeyId(accessKeyId: string): string {
  if (accessKeyId.length <= 8) return "****";
  return `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`;
}

/** The pattern for a secret with breaks in any of the shapes above; undefined for one without breaks. */
function brokenSecretPattern(pieces: readonly string[]): RegExp | undefined {
  if (pieces.length < 2) return undefined;
  // Only the syntax characters and `/`: in `u` mode any other escaped character (`\-`, `\'`) is an error.
  const escaped = pieces.map((p) => p.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&"));
  return new RegExp(escaped.join(BREAK_IN_TEXT), "gu");
}

/** Creates a logger; `write` receives whole lines without the trailing newline. */
export function createLogger(verbose: boolean, write: (line: string) => void): Logger {
  const secrets = new Set<string>();
  const patterns = new Map<string, RegExp>();
  const scrub = (text: string): string => {
    let out = withoutQuotedHeader(text);
    for (const pattern of patterns.values()) out = out.replace(pattern, "[redacted]");
    // Longest first, so a piece that is part of a longer secret does not leave the rest of it behind.
    for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join("[redacted]");
    return out.replace(KEY_ID, (id) => maskKeyId(id));
  };
  return {
    debug(message) {
      if (verbose) write(`credproc: ${scrub(message)}`);
    },
    secret(value) {
      if (value === undefined || value.length < MIN_SECRET || secrets.has(value)) return;
      secrets.add(value);
      const pieces = value.split(BREAK).filter((p) => p !== "");
      for (const piece of pieces) if (piece.length >= MIN_SECRET) secrets.add(piece);
      const pattern = brokenSecretPattern(pieces);
      if (pattern !== undefined) patterns.set(value, pattern);
    },
    scrub,
  };
}
