/**
 * The one request shape `credproc serve` reads, parsed strictly from bytes: an HTTP/1.x request line and
 * header section, bounded in size, with no body. Anything else is a refusal with its status, decided here
 * before any check looks at the request: 414 for a request target over {@link MAX_TARGET_CHARS} (measured
 * on the target itself, as it came), 431 for a header section over {@link MAX_HEAD_BYTES} or
 * {@link MAX_HEADER_LINES} lines, 505 for another HTTP version, 400 for anything malformed (a bare LF or CR,
 * a control character, obsolete line folding, white space before a colon, a fragment). The absolute form of
 * the target (`GET http://host/path`) is split into its authority and path, so the Host rule can be applied
 * to the authority as RFC 9112 §3.2.2 asks. Responses are written here too: Content-Length always,
 * `Connection: close` when the connection ends after them.
 */

/** Longer request targets are refused (414) before anything else is looked at. */
export const MAX_TARGET_CHARS = 2048;
/** A request line and header section larger than this is refused (431): the SDKs send well under 2 KiB. */
export const MAX_HEAD_BYTES = 8192;
/** At most this many header lines (431 beyond): the SDKs send fewer than 10. */
export const MAX_HEADER_LINES = 64;
/** Longest method read; longer ones are malformed (400). */
const MAX_METHOD_CHARS = 16;
/** The longest request line a {@link MAX_TARGET_CHARS} target allows: method, target, version, spaces, CRLF. */
const MAX_REQUEST_LINE = MAX_METHOD_CHARS + 1 + MAX_TARGET_CHARS + 1 + "HTTP/1.1".length + 2;

/** A refusal decided before the checks: status, the JSON `Code`, and the reason `-v` logs. */
export interface Malformed {
  readonly status: 400 | 414 | 431 | 505;
  readonly why: string;
}

/** A parsed request head: what the checks see. */
export interface RequestHead {
  readonly method: string;
  /** The request target exactly as sent. */
  readonly target: string;
  /** The target's path (origin form, or the path of the absolute form; another form is kept whole). */
  readonly path: string;
  /** The query after `?`, or undefined without one (an empty query is `""`). */
  readonly query: string | undefined;
  /** The authority of an absolute-form target (`http://AUTHORITY/path`); undefined in origin form. */
  readonly authority: string | undefined;
  /** `1.1` or `1.0`. */
  readonly version: "1.0" | "1.1";
  /** Header lines in order, names in lower case, values without surrounding white space. */
  readonly headers: readonly (readonly [string, string])[];
}

/** What {@link parseHead} found at the start of a buffer. */
export type ParseResult =
  | { readonly kind: "incomplete" }
  | { readonly kind: "head"; readonly head: RequestHead; readonly length: number }
  | { readonly kind: "malformed"; readonly malformed: Malformed };

const CR = 13;
const LF = 10;
/** Characters of a method or header name (RFC 9110 `tchar`), by char code. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}
/** Visible ASCII, for the request target. */
const TARGET_CHARS = /^[\x21-\x7e]+$/;
/** A control character other than tab (CR and LF are looked at apart). */
// deno-lint-ignore no-control-regex -- finding control characters is the point
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
/** A CR not followed by LF. */
const BARE_CR = /\r(?!\n)/;
/** ASCII decodes on a fast path; other bytes (obs-text, allowed in values) become U+FFFD, refused elsewhere. */
const decoder = new TextDecoder();

/** Whether `s[from, to)` is a non-empty run of `tchar`. */
function isToken(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** The header's value when it occurs once; undefined when absent; `null` when it occurs more than once. */
export function headerValue(head: RequestHead, name: string): string | undefined | null {
  let found: string | undefined;
  for (const [n, v] of head.headers) {
    if (n !== name) continue;
    if (found !== undefined) return null;
    found = v;
  }
  return found;
}

/**
 * Parses the request head at the start of `buf[0..length)`. `incomplete` until the blank line arrives (the
 * caller reads more, up to {@link MAX_HEAD_BYTES}, and passes how far it had looked as `scanFrom`); the bytes
 * after the head (a pipelined request) are not looked at. Never throws.
 */
export function parseHead(buf: Uint8Array, length: number, scanFrom = 0): ParseResult {
  const view = buf.subarray(0, length);
  // The end of the request line first: an over-long target is a 414 even before the headers arrive.
  const lineEnd = view.indexOf(LF);
  if (lineEnd < 0) {
    return length > MAX_REQUEST_LINE
      ? bad(414, `the request line is over ${MAX_REQUEST_LINE} bytes`)
      : INCOMPLETE;
  }
  if (lineEnd === 0 || view[lineEnd - 1] !== CR) return bad(400, "a line ends in a bare LF");
  // Then the blank line that ends the header section, looking only at bytes not looked at before
  // (`scanFrom`): a client sending its head a byte at a time costs each byte once, not the whole head.
  let end = -1;
  for (let i = Math.max(lineEnd + 1, scanFrom - 3);;) {
    const lf = view.indexOf(LF, i);
    if (lf < 0) break;
    if (view[lf - 1] !== CR) return bad(400, "a line ends in a bare LF");
    if (view[lf - 2] === LF) {
      end = lf + 1;
      break;
    }
    i = lf + 1;
  }
  if (end < 0) {
    if (length >= MAX_HEAD_BYTES) return bad(431, `the request head is larger than ${MAX_HEAD_BYTES} bytes`);
    return INCOMPLETE;
  }
  if (end > MAX_HEAD_BYTES) return bad(431, `the request head is larger than ${MAX_HEAD_BYTES} bytes`);
  const text = decoder.decode(view.subarray(0, end - 4));
  if (CONTROL.test(text)) return bad(400, "a control character in the request head");
  if (BARE_CR.test(text)) return bad(400, "a bare CR in the request head");
  const head = parseLines(text.split("\r\n"));
  return "status" in head ? { kind: "malformed", malformed: head } : { kind: "head", head, length: end };
}

const INCOMPLETE: ParseResult = { kind: "incomplete" };

function bad(status: Malformed["status"], why: string): ParseResult {
  return { kind: "malformed", malformed: { status, why } };
}

function parseLines(lines: string[]): RequestHead | Malformed {
  const parts = lines[0].split(" ");
  if (parts.length !== 3) return { status: 400, why: "the request line is not METHOD TARGET VERSION" };
  const [method, target, version] = parts;
  if (method.length > MAX_METHOD_CHARS || !isToken(method, 0, method.length)) {
    return { status: 400, why: "not a method" };
  }
  if (target.length > MAX_TARGET_CHARS) {
    return {
      status: 414,
      why: `the request target is ${target.length} characters, over ${MAX_TARGET_CHARS}`,
    };
  }
  if (!TARGET_CHARS.test(target)) return { status: 400, why: "the request target is not visible ASCII" };
  if (target.includes("#")) return { status: 400, why: "the request target has a fragment" };
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    return /^HTTP\/\d\.\d$/.test(version)
      ? { status: 505, why: `${version} is not served (HTTP/1.1 only)` }
      : { status: 400, why: "the request line has no HTTP version" };
  }
  if (lines.length - 1 > MAX_HEADER_LINES) {
    return { status: 431, why: `more than ${MAX_HEADER_LINES} header lines` };
  }
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) return { status: 400, why: "a folded header line" };
    const colon = line.indexOf(":");
    if (colon <= 0) return { status: 400, why: "a header line without a name and a colon" };
    if (!isToken(line, 0, colon)) {
      return { status: 400, why: "a header name with a space or control character" };
    }
    let from = colon + 1;
    let to = line.length;
    while (from < to && (line.charCodeAt(from) === 0x20 || line.charCodeAt(from) === 0x09)) from++;
    while (to > from && (line.charCodeAt(to - 1) === 0x20 || line.charCodeAt(to - 1) === 0x09)) to--;
    headers.push([line.slice(0, colon).toLowerCase(), line.slice(from, to)]);
  }
  let path = target;
  let authority: string | undefined;
  if (target.charCodeAt(0) !== 0x2f /* / */) {
    const absolute = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?]*)(.*)$/.exec(target);
    if (absolute !== null) {
      if (absolute[1].toLowerCase() !== "http") {
        return { status: 400, why: `an absolute-form target with scheme ${absolute[1]}, not http` };
      }
      authority = absolute[2];
      path = absolute[3] === "" ? "/" : absolute[3];
    }
  }
  const q = path.indexOf("?");
  return {
    method,
    target,
    path: q < 0 ? path : path.slice(0, q),
    query: q < 0 ? undefined : path.slice(q + 1),
    authority,
    version: version === "HTTP/1.1" ? "1.1" : "1.0",
    headers,
  };
}

/** A response as the checks build it; {@link responseBytes} writes it. */
export interface Answer {
  readonly status: number;
  /** The JSON body, already encoded (the credentials document is encoded once per credentials). */
  readonly body: Uint8Array;
  /** Extra headers (`allow`, `retry-after`), lower case. */
  readonly headers?: readonly (readonly [string, string])[];
  /** Why a request was refused, for `-v` (never sent to the client, never a secret). */
  readonly why?: string;
  /** The connection ends after this answer (a body was announced, or the request could not be framed). */
  readonly close?: boolean;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

const encoder = new TextEncoder();

/**
 * The bytes of `answer` on the wire: status line, `content-type`, `cache-control: no-store`, the extra
 * headers, `date`, `content-length`, `connection: close` when `close`, then the body, in one buffer (one
 * write).
 */
export function responseBytes(answer: Answer, date: string, close: boolean): Uint8Array {
  let head = `HTTP/1.1 ${answer.status} ${REASONS[answer.status] ?? "Error"}\r\n` +
    "content-type: application/json\r\ncache-control: no-store\r\n";
  for (const [name, value] of answer.headers ?? []) head += `${name}: ${value}\r\n`;
  head += `date: ${date}\r\ncontent-length: ${answer.body.length}\r\n`;
  if (close) head += "connection: close\r\n";
  head += "\r\n";
  const bytes = new Uint8Array(head.length + answer.body.length);
  encoder.encodeInto(head, bytes);
  bytes.set(answer.body, head.length);
  return bytes;
}

/** Whether the client asked for the connection to end after this request (`Connection: close`, HTTP/1.0). */
export function wantsClose(head: RequestHead): boolean {
  if (head.version === "1.0") return true;
  for (const [n, v] of head.headers) {
    if (n === "connection" && v.toLowerCase().split(",").some((t) => t.trim() === "close")) return true;
  }
  return false;
}
