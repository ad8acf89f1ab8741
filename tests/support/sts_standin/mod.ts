/**
 * STS stand-in: a local server that speaks the STS AWS Query protocol closely enough for the AWS JS SDK v3,
 * the AWS CLI (v1 and v2) and boto3, used by credproc's end-to-end tests, demo and benchmark.
 *
 * - Listens on 127.0.0.1 only (optionally over TLS), never talks to anything else.
 * - Verifies SigV4 on its own (canonical request, string to sign and the HMAC chain written here with Web
 *   Crypto, no SDK signer), so a passing test really proves that the client signed what it sent.
 * - Answers `AssumeRole`, `AssumeRoleWithWebIdentity`, `GetSessionToken` and `GetCallerIdentity` with XML
 *   shaped like real STS, remembers the credentials it issues so chained calls verify too.
 * - Records every request and injects faults (STS errors, delays, hangs, broken bodies, HTML proxy pages).
 * - Can be driven over HTTP (`/__standin/...`) when started as a separate process.
 *
 * CLI: `deno run -P=dev tests/support/sts_standin/mod.ts [--port N]` prints one JSON line
 * `{"url":…,"accessKeyId":…,"secretAccessKey":…}` and serves until SIGINT/SIGTERM.
 *
 * @module
 */

import { parseArgs } from "node:util";

// ---------------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------------

/** The XML namespace of every STS response. */
export const STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";
/** The account of the stand-in's base IAM user. */
export const STANDIN_ACCOUNT = "123456789012";
/** The name of the stand-in's base IAM user. */
export const STANDIN_USER_NAME = "standin";
/** The ARN `GetCallerIdentity` returns for the base keys (and for `GetSessionToken` credentials). */
export const STANDIN_USER_ARN = `arn:aws:iam::${STANDIN_ACCOUNT}:user/${STANDIN_USER_NAME}`;
/** The default base access key id. */
export const STANDIN_ACCESS_KEY_ID = "AKIDSTANDINEXAMPLE01";
/** The default base secret access key. */
export const STANDIN_SECRET_ACCESS_KEY = "standin/secret/key/EXAMPLEKEY0000000000001";
/** The default known base keys: access key id → secret access key. */
export const STANDIN_KEYS: Readonly<Record<string, string>> = Object.freeze({
  [STANDIN_ACCESS_KEY_ID]: STANDIN_SECRET_ACCESS_KEY,
});
/** Path prefix of the control endpoints; requests under it are never STS. */
export const CONTROL_PREFIX = "/__standin/";

// ---------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------

/** STS error codes that `{kind: "deny"}` knows the HTTP status and usual message of. */
export type DenyCode =
  | "AccessDenied"
  | "ExpiredToken"
  | "Throttling"
  | "RegionDisabledException"
  | "InvalidClientTokenId"
  | "SignatureDoesNotMatch"
  | "MissingAuthenticationToken"
  | "IncompleteSignature"
  | "MalformedPolicyDocument"
  | "PackedPolicyTooLarge"
  | "ValidationError"
  | "InvalidIdentityToken"
  | "ExpiredTokenException"
  | "IDPRejectedClaim"
  | "IDPCommunicationError"
  | "InvalidAction"
  | "OptInRequired"
  | "RequestExpired"
  | "InternalFailure"
  | "ServiceUnavailable";

/** One injected fault; consumed by exactly one incoming STS request. */
export type Fault =
  /** An STS XML error with this status and code (`Retry-After` header when `retryAfter` is given). */
  | { kind: "error"; status: number; code: string; message?: string; retryAfter?: number }
  /** A common STS error by code, with its real status and message. */
  | { kind: "deny"; code: DenyCode | string; message?: string; retryAfter?: number }
  /** Wait `ms`, then answer normally. */
  | { kind: "delay"; ms: number }
  /** Accept the request and never answer (until the stand-in stops). */
  | { kind: "hang" }
  /** Send 200 headers and part of the body, then abort the connection. */
  | { kind: "close-mid-body" }
  /** 200 with a complete HTTP body holding only a prefix of the XML the action would have answered. */
  | { kind: "truncated-xml" }
  /** 200 `text/xml` whose body is not XML at all. */
  | { kind: "malformed-xml" }
  /** An HTML error page like a proxy's (`text/html`), default status 502. */
  | { kind: "html"; status?: number };

/** Options of {@link startStandin}. */
export interface StandinOptions {
  /** Port to listen on; 0 (default) picks a free one. The host is always 127.0.0.1. */
  port?: number;
  /** Serve HTTPS with these PEM strings. */
  tls?: { cert: string; key: string };
  /** Known base keys (access key id → secret); default {@link STANDIN_KEYS}. */
  keys?: Record<string, string>;
  /** Reject requests whose SigV4 does not verify (default true). Signatures are checked and recorded anyway. */
  verifySignatures?: boolean;
  /** Require this MFA device and code for `AssumeRole` and `GetSessionToken` (unless the caller's credentials came from an MFA-authenticated call). */
  mfa?: { serial: string; code: string } | null;
  /** Accept only this token for `AssumeRoleWithWebIdentity` (otherwise 400 InvalidIdentityToken). */
  webIdentityToken?: string | null;
  /** Give every issued credential exactly this expiration (epoch ms) instead of now + DurationSeconds. */
  expirationMs?: number | null;
  /** The roles' MaxSessionDuration in seconds (default 43200). */
  maxSessionDurationSeconds?: number;
  /** Allowed difference between X-Amz-Date and the stand-in's clock (default 15 minutes). */
  maxClockSkewMs?: number;
}

/** Settings that can be changed on a running stand-in ({@link Standin.configure}, `POST /__standin/config`). */
export type StandinConfig = Pick<
  StandinOptions,
  | "verifySignatures"
  | "mfa"
  | "webIdentityToken"
  | "expirationMs"
  | "maxSessionDurationSeconds"
  | "maxClockSkewMs"
>;

/** One request the stand-in received (control requests are not recorded). */
export interface RecordedRequest {
  /** The `Action` parameter ("" when missing). */
  action: string;
  /** Every form (and query) parameter as received, `Action` and `Version` included. */
  params: Record<string, string>;
  /** The access key id from the SigV4 credential scope, when signed. */
  accessKeyId?: string;
  /** The region from the SigV4 credential scope, when signed. */
  region?: string;
  /** The SigV4 check: true/false when the request was signed, null when it was not (or could not be parsed). */
  signatureValid: boolean | null;
  /** Why the signature check failed, when it did. */
  signatureError?: string;
  /** Whether an `x-amz-security-token` header came along. */
  hasSessionToken: boolean;
  /** `SerialNumber` / `TokenCode` received, when any. */
  mfa?: { serial?: string; code?: string };
  /** Epoch ms when the request arrived. */
  time: number;
  method: string;
  path: string;
  userAgent?: string;
  /** The fault this request consumed, if any. */
  fault?: Fault;
  /** The HTTP status answered (absent while pending, and for `hang`/`close-mid-body` faults it is the status of the headers sent, if any). */
  status?: number;
  /** The STS error code answered, if any. */
  errorCode?: string;
}

/** Credentials the stand-in issued, with the identity they carry. */
export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  /** The action that issued them. */
  action: string;
  /** `GetCallerIdentity` Arn for these credentials. */
  arn: string;
  /** `GetCallerIdentity` UserId (`AROA…:session` for roles). */
  userId: string;
  account: string;
  /** True for role sessions (then chained AssumeRole is limited to one hour). */
  isRoleSession: boolean;
  /** Whether the call that issued them was MFA-authenticated (directly or through its own caller). */
  mfaAuthenticated: boolean;
}

/** A running stand-in. */
export interface Standin {
  /** `http://127.0.0.1:PORT/` (or `https://`). */
  readonly url: string;
  readonly hostname: "127.0.0.1";
  readonly port: number;
  /** The first base key, handy for clients. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Every STS request received, oldest first (cleared in place by {@link reset}). */
  readonly requests: RecordedRequest[];
  /** Pending faults, consumed one per incoming STS request. */
  readonly faults: Fault[];
  /** The fault used when the queue is empty. */
  readonly defaultFault: Fault | null;
  /** Credentials issued so far, by access key id. */
  readonly issued: ReadonlyMap<string, IssuedCredentials>;
  /** Number of recorded requests (of this action, when given). */
  count(action?: string): number;
  /** Clears the request log; with `{faults: true}` also the fault queue and default fault. */
  reset(options?: { faults?: boolean }): void;
  /** Appends faults to the queue. */
  pushFault(...faults: Fault[]): void;
  /** Sets (or clears, with null) the fault applied when the queue is empty. */
  setDefaultFault(fault: Fault | null): void;
  /** Changes settings of the running stand-in. */
  configure(config: StandinConfig): void;
  /** Stops listening, answers hanging requests by dropping them, and waits for the server to finish. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

const encoder = new TextEncoder();

function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const b of view) out += b.toString(16).padStart(2, "0");
  return out;
}

async function sha256Hex(data: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}

async function hmac(key: Uint8Array<ArrayBuffer>, data: string): Promise<Uint8Array<ArrayBuffer>> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, encoder.encode(data)));
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** RFC 3986 encoding as SigV4 wants it (unreserved characters stay, everything else %XX upper case). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function randomString(length: number, alphabet: string): string {
  const out: string[] = [];
  const bytes = new Uint8Array(length * 2);
  crypto.getRandomValues(bytes);
  // Rejection sampling keeps the characters uniform.
  const limit = 256 - (256 % alphabet.length);
  let i = 0;
  while (out.length < length) {
    if (i >= bytes.length) {
      crypto.getRandomValues(bytes);
      i = 0;
    }
    const b = bytes[i++];
    if (b < limit) out.push(alphabet[b % alphabet.length]);
  }
  return out.join("");
}

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Deterministic id from a string (FNV-1a driven), for stable AROA/AIDA ids. */
function stableId(prefix: string, seed: string, length = 17): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let out = prefix;
  for (let i = 0; i < length; i++) {
    h ^= h << 13;
    h >>>= 0;
    h ^= h >>> 17;
    h ^= h << 5;
    h >>>= 0;
    out += UPPER_ALNUM[h % UPPER_ALNUM.length];
  }
  return out;
}

function xmlEscape(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]!);
}

type XmlNode = [name: string, content: string | XmlNode[]];

function renderXml(node: XmlNode, indent = ""): string {
  const [name, content] = node;
  if (typeof content === "string") return `${indent}<${name}>${xmlEscape(content)}</${name}>\n`;
  return `${indent}<${name}>\n${
    content.map((c) => renderXml(c, indent + "  ")).join("")
  }${indent}</${name}>\n`;
}

function xmlDocument(rootName: string, children: XmlNode[]): string {
  const inner = children.map((c) => renderXml(c, "  ")).join("");
  return `<${rootName} xmlns="${STS_XMLNS}">\n${inner}</${rootName}>\n`;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** The error used to break a response body on purpose; the server's onError stays quiet about it. */
class DeliberateAbort extends Error {
  constructor(why: string) {
    super(`sts stand-in: ${why}`);
    this.name = "DeliberateAbort";
  }
}

// ---------------------------------------------------------------------------------------------------------
// STS errors
// ---------------------------------------------------------------------------------------------------------

/** An STS error answer. */
class StsFailure {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly retryAfter?: number,
  ) {}
}

const DENY_TABLE: Record<string, { status: number; message: string }> = {
  AccessDenied: {
    status: 403,
    message: "User: {caller} is not authorized to perform: sts:{action} on resource: {resource}",
  },
  ExpiredToken: { status: 400, message: "The security token included in the request is expired" },
  Throttling: { status: 400, message: "Rate exceeded" },
  RegionDisabledException: {
    status: 403,
    message:
      "STS is not activated in this region for account:{account}. Your account administrator can activate STS in this region using the IAM Console.",
  },
  InvalidClientTokenId: { status: 403, message: "The security token included in the request is invalid." },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
  },
  MissingAuthenticationToken: { status: 403, message: "Request is missing Authentication Token" },
  IncompleteSignature: { status: 400, message: "Request is missing Authentication Token" },
  MalformedPolicyDocument: { status: 400, message: "The policy is not in the valid JSON format." },
  PackedPolicyTooLarge: {
    status: 400,
    message: "Packed policy consumes 113% of allotted space, please use smaller policy for the session.",
  },
  ValidationError: { status: 400, message: "1 validation error detected" },
  InvalidIdentityToken: {
    status: 400,
    message:
      "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.",
  },
  ExpiredTokenException: {
    status: 400,
    message: "Token expired: current date/time must be before the expiration date/time",
  },
  IDPRejectedClaim: { status: 403, message: "Not authorized to perform sts:AssumeRoleWithWebIdentity" },
  IDPCommunicationError: {
    status: 400,
    message:
      "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
  },
  InvalidAction: { status: 400, message: "Could not find operation {action} for version 2011-06-15" },
  OptInRequired: { status: 403, message: "The AWS Access Key Id needs a subscription for the service" },
  RequestExpired: { status: 400, message: "Request has expired." },
  InternalFailure: { status: 500, message: "An internal error occurred." },
  ServiceUnavailable: { status: 503, message: "Service is unable to handle request." },
};

function errorXml(code: string, message: string, status: number, requestId: string): string {
  return xmlDocument("ErrorResponse", [
    ["Error", [["Type", status >= 500 ? "Receiver" : "Sender"], ["Code", code], ["Message", message]]],
    ["RequestId", requestId],
  ]);
}

function validation(field: string, value: string | undefined, constraint: string): StsFailure {
  const shown = value === undefined ? "null" : `'${value}'`;
  return new StsFailure(
    400,
    "ValidationError",
    `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// SigV4 verification (independent of any SDK signer)
// ---------------------------------------------------------------------------------------------------------

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string): ParsedAuthorization | string {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(header.trim());
  if (!m) return "Authorization header is not AWS4-HMAC-SHA256";
  const parts: Record<string, string> = {};
  for (const piece of m[1].split(",")) {
    const eq = piece.indexOf("=");
    if (eq < 0) continue;
    parts[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
  }
  const { Credential, SignedHeaders, Signature } = parts;
  if (!Credential || !SignedHeaders || !Signature) {
    return "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters";
  }
  const scope = Credential.split("/");
  if (scope.length !== 5) {
    return `Credential '${Credential}' is not of the form KEY/DATE/REGION/SERVICE/aws4_request`;
  }
  const [accessKeyId, date, region, service, terminator] = scope;
  return {
    accessKeyId,
    date,
    region,
    service,
    terminator,
    signedHeaders: SignedHeaders.split(";"),
    signature: Signature.toLowerCase(),
  };
}

/** The canonical URI of a non-S3 SigV4 request: normalized path, each segment encoded (again). */
function canonicalUri(pathname: string): string {
  const out: string[] = [];
  for (const segment of pathname.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      out.pop();
      continue;
    }
    out.push(uriEncode(segment));
  }
  const trailing = pathname.length > 1 && pathname.endsWith("/") ? "/" : "";
  return out.length === 0 ? "/" : `/${out.join("/")}${trailing}`;
}

function canonicalQuery(search: string): string {
  if (search.startsWith("?")) search = search.slice(1);
  if (search === "") return "";
  const pairs: [string, string][] = [];
  for (const piece of search.split("&")) {
    if (piece === "") continue;
    const eq = piece.indexOf("=");
    const rawKey = eq < 0 ? piece : piece.slice(0, eq);
    const rawValue = eq < 0 ? "" : piece.slice(eq + 1);
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    pairs.push([uriEncode(decode(rawKey)), uriEncode(decode(rawValue))]);
  }
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, " ");
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function parseAmzDate(s: string): number | undefined {
  const m = AMZ_DATE.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se] = m;
  const t = Date.UTC(+y, +mo - 1, +d, +h, +mi, +se);
  return Number.isNaN(t) ? undefined : t;
}

function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Result of checking a request's SigV4 signature. */
interface SignatureCheck {
  /** null: no Authorization header at all. */
  valid: boolean | null;
  accessKeyId?: string;
  region?: string;
  /** The STS error to answer when `valid` is false (or the key/token is wrong). */
  failure?: StsFailure;
  /** Why the check failed, for the request log. */
  reason?: string;
}

const signingKeyCache = new Map<string, Uint8Array<ArrayBuffer>>();

async function signingKey(secret: string, date: string, region: string, service: string) {
  const cacheKey = `${secret}\n${date}\n${region}\n${service}`;
  let key = signingKeyCache.get(cacheKey);
  if (!key) {
    const kDate = await hmac(encoder.encode(`AWS4${secret}`), date);
    const kRegion = await hmac(kDate, region);
    const kService = await hmac(kRegion, service);
    key = await hmac(kService, "aws4_request");
    if (signingKeyCache.size > 256) signingKeyCache.clear();
    signingKeyCache.set(cacheKey, key);
  }
  return key;
}

/**
 * Computes the SigV4 signature of a request: exported so tests (and other tools) can build raw signed requests
 * without an SDK. `headers` must hold every header named in `signedHeaders` (lower case names, sorted).
 */
export async function sigv4Signature(input: {
  method: string;
  url: string | URL;
  headers: Headers;
  signedHeaders: string[];
  body: Uint8Array<ArrayBuffer> | string;
  secretAccessKey: string;
  amzDate: string;
  region: string;
  service?: string;
}): Promise<{ signature: string; canonicalRequest: string; stringToSign: string }> {
  const url = new URL(input.url);
  const service = input.service ?? "sts";
  const date = input.amzDate.slice(0, 8);
  const payloadClaim = input.headers.get("x-amz-content-sha256");
  const payloadHash = payloadClaim === "UNSIGNED-PAYLOAD" ? payloadClaim : await sha256Hex(input.body);
  const canonicalHeaders = input.signedHeaders
    .map((name) => `${name}:${canonicalHeaderValue(input.headers.get(name) ?? "")}\n`)
    .join("");
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalUri(url.pathname),
    canonicalQuery(url.search),
    canonicalHeaders,
    input.signedHeaders.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${date}/${input.region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", input.amzDate, scope, await sha256Hex(canonicalRequest)].join(
    "\n",
  );
  const key = await signingKey(input.secretAccessKey, date, input.region, service);
  const signature = toHex(await hmac(key, stringToSign));
  return { signature, canonicalRequest, stringToSign };
}

/**
 * Signs a raw STS Query request for `fetch`: returns the headers to send (Authorization, X-Amz-Date, Host,
 * Content-Type, X-Amz-Security-Token when a session token is given). For tests and tools that want to speak to
 * the stand-in without an SDK.
 */
export async function signStsRequest(input: {
  url: string | URL;
  body: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region?: string;
  now?: number;
}): Promise<Headers> {
  const url = new URL(input.url);
  const region = input.region ?? "us-east-1";
  const amzDate = formatAmzDate(input.now ?? Date.now());
  const headers = new Headers({
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    host: url.host,
    "x-amz-date": amzDate,
  });
  if (input.sessionToken !== undefined) headers.set("x-amz-security-token", input.sessionToken);
  const signedHeaders = [...headers.keys()].sort();
  const { signature } = await sigv4Signature({
    method: "POST",
    url,
    headers,
    signedHeaders,
    body: input.body,
    secretAccessKey: input.secretAccessKey,
    amzDate,
    region,
  });
  headers.set(
    "authorization",
    `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${amzDate.slice(0, 8)}/${region}/sts/aws4_request, ` +
      `SignedHeaders=${signedHeaders.join(";")}, Signature=${signature}`,
  );
  headers.delete("host"); // fetch sets Host itself (to the same value)
  return headers;
}

// ---------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------

const ACTIONS = new Set(["AssumeRole", "AssumeRoleWithWebIdentity", "GetSessionToken", "GetCallerIdentity"]);
const FAULT_KINDS = new Set([
  "error",
  "deny",
  "delay",
  "hang",
  "close-mid-body",
  "truncated-xml",
  "malformed-xml",
  "html",
]);

/** Checks that a value is a {@link Fault}; throws a TypeError saying what is wrong otherwise. */
export function assertFault(value: unknown): asserts value is Fault {
  if (typeof value !== "object" || value === null) throw new TypeError("a fault must be an object");
  const f = value as Record<string, unknown>;
  if (typeof f.kind !== "string" || !FAULT_KINDS.has(f.kind)) {
    throw new TypeError(
      `unknown fault kind ${JSON.stringify(f.kind)}; use one of ${[...FAULT_KINDS].join(", ")}`,
    );
  }
  if (f.kind === "error" && (typeof f.status !== "number" || typeof f.code !== "string")) {
    throw new TypeError('an "error" fault needs a numeric status and a string code');
  }
  if (f.kind === "deny" && typeof f.code !== "string") {
    throw new TypeError('a "deny" fault needs a string code');
  }
  if (f.kind === "delay" && (typeof f.ms !== "number" || !(f.ms >= 0))) {
    throw new TypeError('a "delay" fault needs ms >= 0');
  }
  if (f.kind === "html" && f.status !== undefined && typeof f.status !== "number") {
    throw new TypeError('an "html" fault status must be a number');
  }
}

/** The live settings of a stand-in. */
interface ConfigState {
  verifySignatures: boolean;
  mfa: { serial: string; code: string } | null;
  webIdentityToken: string | null;
  expirationMs: number | null;
  maxSessionDurationSeconds: number;
  maxClockSkewMs: number;
}

/** Who signed a request. */
interface Caller {
  accessKeyId?: string;
  arn: string;
  userId: string;
  account: string;
  isRoleSession: boolean;
  mfaAuthenticated: boolean;
  /** Issued credentials were used (GetSessionToken refuses them). */
  temporary: boolean;
}

interface ActionResult {
  status: number;
  body: string;
  errorCode?: string;
  /** Where `truncated-xml` cuts the body. */
  cutAt?: number;
  retryAfter?: number;
}

const ROLE_ARN = /^arn:([a-z][a-z0-9-]*):iam::(\d{12}):role\/(?:[\x21-\x7e]*\/)?([\w+=,.@-]+)$/;
const SESSION_NAME = /^[\w+=,.@-]*$/;

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  407: "Proxy Authentication Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Temporarily Unavailable",
  504: "Gateway Time-out",
};

function htmlPage(status: number): string {
  const title = `${status} ${STATUS_TEXT[status] ?? "Error"}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n` +
    `<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

function decodeJwtClaims(token: string): Record<string, unknown> {
  const parts = token.split(".");
  if (parts.length !== 3) return {};
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    const claims = JSON.parse(json);
    return typeof claims === "object" && claims !== null ? claims : {};
  } catch {
    return {};
  }
}

/** Starts a stand-in; stop it with {@link Standin.stop} (or `await using`). */
export async function startStandin(opts: StandinOptions = {}): Promise<Standin> {
  const keys: Record<string, string> = { ...(opts.keys ?? STANDIN_KEYS) };
  const firstKey = Object.keys(keys)[0];
  if (firstKey === undefined) throw new TypeError("startStandin: keys must hold at least one access key");
  const config: ConfigState = {
    verifySignatures: opts.verifySignatures ?? true,
    mfa: opts.mfa ?? null,
    webIdentityToken: opts.webIdentityToken ?? null,
    expirationMs: opts.expirationMs ?? null,
    maxSessionDurationSeconds: opts.maxSessionDurationSeconds ?? 43200,
    maxClockSkewMs: opts.maxClockSkewMs ?? 15 * 60 * 1000,
  };

  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  let defaultFault: Fault | null = null;
  const issued = new Map<string, IssuedCredentials>();
  const stopping = new AbortController();
  const serverAbort = new AbortController();

  const configure = (c: StandinConfig) => {
    for (const k of Object.keys(c)) {
      if (!(k in config)) throw new TypeError(`configure: unknown setting ${JSON.stringify(k)}`);
    }
    if ("verifySignatures" in c) config.verifySignatures = c.verifySignatures ?? true;
    if ("mfa" in c) config.mfa = c.mfa ?? null;
    if ("webIdentityToken" in c) config.webIdentityToken = c.webIdentityToken ?? null;
    if ("expirationMs" in c) config.expirationMs = c.expirationMs ?? null;
    if ("maxSessionDurationSeconds" in c) {
      config.maxSessionDurationSeconds = c.maxSessionDurationSeconds ?? 43200;
    }
    if ("maxClockSkewMs" in c) config.maxClockSkewMs = c.maxClockSkewMs ?? 15 * 60 * 1000;
  };

  const baseCaller = (accessKeyId?: string): Caller => ({
    accessKeyId,
    arn: STANDIN_USER_ARN,
    userId: stableId("AIDA", STANDIN_USER_ARN),
    account: STANDIN_ACCOUNT,
    isRoleSession: false,
    mfaAuthenticated: false,
    temporary: false,
  });

  // --- signature & identity -----------------------------------------------------------------------------

  async function checkSignature(
    req: Request,
    url: URL,
    body: Uint8Array<ArrayBuffer>,
  ): Promise<SignatureCheck> {
    const header = req.headers.get("authorization");
    if (header === null) {
      return {
        valid: null,
        failure: new StsFailure(403, "MissingAuthenticationToken", "Request is missing Authentication Token"),
        reason: "no Authorization header",
      };
    }
    const auth = parseAuthorization(header);
    if (typeof auth === "string") {
      return { valid: null, failure: new StsFailure(400, "IncompleteSignature", auth), reason: auth };
    }
    const fail = (code: string, message: string, status = 403): SignatureCheck => ({
      valid: false,
      accessKeyId: auth.accessKeyId,
      region: auth.region,
      failure: new StsFailure(status, code, message),
      reason: message,
    });
    const amzDate = req.headers.get("x-amz-date");
    if (amzDate === null) {
      return fail(
        "IncompleteSignature",
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        400,
      );
    }
    const signedAt = parseAmzDate(amzDate);
    if (signedAt === undefined) return fail("IncompleteSignature", `Invalid X-Amz-Date '${amzDate}'`, 400);
    if (!auth.signedHeaders.includes("host")) {
      return fail("SignatureDoesNotMatch", "'Host' must be a signed header.");
    }
    if (auth.terminator !== "aws4_request") {
      return fail(
        "SignatureDoesNotMatch",
        "Credential should be scoped with a valid terminator: 'aws4_request'.",
      );
    }
    if (auth.service !== "sts") {
      return fail("SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'. ");
    }
    if (!/^[a-z]{2,}(-[a-z0-9]+)+$/.test(auth.region)) {
      return fail("SignatureDoesNotMatch", "Credential should be scoped to a valid region. ");
    }
    if (auth.date !== amzDate.slice(0, 8)) {
      return fail(
        "SignatureDoesNotMatch",
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${
          amzDate.slice(0, 8)
        }', from '${amzDate}'.`,
      );
    }
    // Which secret, and (for issued keys) which token.
    const base = keys[auth.accessKeyId];
    const temp = issued.get(auth.accessKeyId);
    const secret = base ?? temp?.secretAccessKey;
    if (secret === undefined) {
      return fail("InvalidClientTokenId", "The security token included in the request is invalid.");
    }
    const now = Date.now();
    const skew = config.maxClockSkewMs;
    if (signedAt < now - skew) {
      return fail(
        "SignatureDoesNotMatch",
        `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - skew)} (${
          formatAmzDate(now)
        } - ${Math.round(skew / 60000)} min.)`,
      );
    }
    if (signedAt > now + skew) {
      return fail(
        "SignatureDoesNotMatch",
        `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + skew)} (${
          formatAmzDate(now)
        } + ${Math.round(skew / 60000)} min.)`,
      );
    }
    // Over HTTP/2 the host travels as the :authority pseudo-header, which Deno leaves out of req.headers.
    let headers = req.headers;
    if (!headers.has("host")) {
      headers = new Headers(headers);
      headers.set("host", url.host);
    }
    const { signature } = await sigv4Signature({
      method: req.method,
      url,
      headers,
      signedHeaders: auth.signedHeaders,
      body,
      secretAccessKey: secret,
      amzDate,
      region: auth.region,
    });
    if (!timingSafeEqual(signature, auth.signature)) {
      return fail("SignatureDoesNotMatch", DENY_TABLE.SignatureDoesNotMatch.message);
    }
    // The signature is right; now the session token.
    const token = req.headers.get("x-amz-security-token");
    if (temp) {
      if (token === null || !timingSafeEqual(token, temp.sessionToken)) {
        return {
          valid: true,
          accessKeyId: auth.accessKeyId,
          region: auth.region,
          failure: new StsFailure(403, "InvalidClientTokenId", DENY_TABLE.InvalidClientTokenId.message),
          reason: token === null ? "session token missing" : "session token does not match",
        };
      }
      if (temp.expiration.getTime() <= now) {
        return {
          valid: true,
          accessKeyId: auth.accessKeyId,
          region: auth.region,
          failure: new StsFailure(400, "ExpiredToken", DENY_TABLE.ExpiredToken.message),
          reason: "credentials expired",
        };
      }
    } else if (token !== null) {
      return {
        valid: true,
        accessKeyId: auth.accessKeyId,
        region: auth.region,
        failure: new StsFailure(403, "InvalidClientTokenId", DENY_TABLE.InvalidClientTokenId.message),
        reason: "session token sent with long-term keys",
      };
    }
    return { valid: true, accessKeyId: auth.accessKeyId, region: auth.region };
  }

  function callerFor(accessKeyId: string | undefined): Caller {
    const temp = accessKeyId === undefined ? undefined : issued.get(accessKeyId);
    if (!temp) return baseCaller(accessKeyId);
    return {
      accessKeyId,
      arn: temp.arn,
      userId: temp.userId,
      account: temp.account,
      isRoleSession: temp.isRoleSession,
      mfaAuthenticated: temp.mfaAuthenticated,
      temporary: true,
    };
  }

  // --- actions ------------------------------------------------------------------------------------------

  function issue(
    action: string,
    durationSeconds: number,
    identity: {
      arn: string;
      userId: string;
      account: string;
      isRoleSession: boolean;
      mfaAuthenticated: boolean;
    },
  ): IssuedCredentials {
    let accessKeyId: string;
    do accessKeyId = `ASIA${randomString(16, UPPER_ALNUM)}`; while (
      issued.has(accessKeyId) || accessKeyId in keys
    );
    const tokenBytes = new Uint8Array(560);
    crypto.getRandomValues(tokenBytes);
    const creds: IssuedCredentials = {
      accessKeyId,
      secretAccessKey: randomString(40, SECRET_ALPHABET),
      sessionToken: `IQoJb3JpZ2luX2VjE${base64(tokenBytes)}`,
      expiration: new Date(config.expirationMs ?? Date.now() + durationSeconds * 1000),
      action,
      ...identity,
    };
    issued.set(accessKeyId, creds);
    return creds;
  }

  function credentialsXml(c: IssuedCredentials): XmlNode {
    return ["Credentials", [
      ["AccessKeyId", c.accessKeyId],
      ["SecretAccessKey", c.secretAccessKey],
      ["SessionToken", c.sessionToken],
      ["Expiration", c.expiration.toISOString()],
    ]];
  }

  function success(action: string, result: XmlNode[], requestId: string): ActionResult {
    const body = xmlDocument(`${action}Response`, [
      [`${action}Result`, result],
      ["ResponseMetadata", [["RequestId", requestId]]],
    ]);
    // Cut truncated-xml answers in the middle of the session token when there is one.
    const token = body.indexOf("<SessionToken>");
    const cutAt = token >= 0 ? token + "<SessionToken>".length + 40 : Math.floor(body.length / 2);
    return { status: 200, body, cutAt };
  }

  function parseDuration(
    params: Record<string, string>,
    field: string,
    min: number,
    max: number,
    fallback: number,
  ): number {
    const raw = params.DurationSeconds;
    if (raw === undefined) return fallback;
    if (!/^-?\d+$/.test(raw)) throw validation(field, raw, "Member must be an integer");
    const n = Number(raw);
    if (n < min) throw validation(field, raw, `Member must have value greater than or equal to ${min}`);
    if (n > max) throw validation(field, raw, `Member must have value less than or equal to ${max}`);
    return n;
  }

  function roleSession(params: Record<string, string>) {
    const roleArn = params.RoleArn;
    const session = params.RoleSessionName;
    if (roleArn === undefined) throw validation("roleArn", undefined, "Member must not be null");
    if (session === undefined) throw validation("roleSessionName", undefined, "Member must not be null");
    if (roleArn.length < 20 || roleArn.length > 2048) {
      throw validation("roleArn", roleArn, "Member must have length greater than or equal to 20");
    }
    if (session.length < 2 || session.length > 64) {
      throw validation(
        "roleSessionName",
        session,
        session.length < 2
          ? "Member must have length greater than or equal to 2"
          : "Member must have length less than or equal to 64",
      );
    }
    if (!SESSION_NAME.test(session)) {
      throw validation(
        "roleSessionName",
        session,
        "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
      );
    }
    const m = ROLE_ARN.exec(roleArn);
    if (!m) throw new StsFailure(400, "ValidationError", `${roleArn} is invalid`);
    const [, partition, account, roleName] = m;
    const arn = `arn:${partition}:sts::${account}:assumed-role/${roleName}/${session}`;
    const userId = `${stableId("AROA", roleArn)}:${session}`;
    return { roleArn, session, partition, account, roleName, arn, userId };
  }

  function sessionPolicies(params: Record<string, string>): number | undefined {
    const policy = params.Policy;
    const arns = Object.keys(params).filter((k) => /^PolicyArns\.member\.\d+\.arn$/.test(k)).length;
    const tags = Object.keys(params).filter((k) => /^Tags\.member\.\d+\.Key$/.test(k)).length;
    if (policy !== undefined) {
      if (policy.length > 2048) {
        throw validation("policy", policy, "Member must have length less than or equal to 2048");
      }
      try {
        const doc = JSON.parse(policy);
        if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new Error("not an object");
      } catch {
        throw new StsFailure(400, "MalformedPolicyDocument", "The policy is not in the valid JSON format.");
      }
    }
    if (arns > 10) {
      throw validation("policyArns", undefined, "Member must have length less than or equal to 10");
    }
    if (tags > 50) throw validation("tags", undefined, "Member must have length less than or equal to 50");
    if (policy === undefined && arns === 0 && tags === 0) return undefined;
    const packed = Math.ceil(
      ((policy?.replace(/\s+/g, "").length ?? 0) * 0.5 + arns * 40 + tags * 20) / 10.24,
    );
    const size = Math.max(1, packed);
    if (size > 100) {
      throw new StsFailure(
        400,
        "PackedPolicyTooLarge",
        `Packed policy consumes ${size}% of allotted space, please use smaller policy for the session.`,
      );
    }
    return size;
  }

  /** MFA check; returns whether this call is MFA-authenticated. */
  function checkMfa(
    params: Record<string, string>,
    caller: Caller,
    action: string,
    resource: string,
  ): boolean {
    const serial = params.SerialNumber;
    const code = params.TokenCode;
    if (
      serial !== undefined && (serial.length < 9 || serial.length > 256 || !/^[\w+=/:,.@-]*$/.test(serial))
    ) {
      throw validation(
        "serialNumber",
        serial,
        "Member must satisfy regular expression pattern: [\\w+=/:,.@-]*",
      );
    }
    if (code !== undefined && !/^\d{6}$/.test(code)) {
      throw validation(
        "tokenCode",
        code,
        code.length !== 6
          ? "Member must have length greater than or equal to 6"
          : "Member must satisfy regular expression pattern: [\\d]*",
      );
    }
    const mfa = config.mfa;
    if (!mfa) return false;
    if (serial === undefined && code === undefined) {
      if (caller.mfaAuthenticated) return true;
      if (action === "AssumeRole") {
        throw new StsFailure(
          403,
          "AccessDenied",
          `User: ${caller.arn} is not authorized to perform: sts:${action} on resource: ${resource}`,
        );
      }
      throw new StsFailure(
        403,
        "AccessDenied",
        "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.",
      );
    }
    if (serial !== mfa.serial) {
      throw new StsFailure(
        403,
        "AccessDenied",
        "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.",
      );
    }
    if (code !== mfa.code) {
      throw new StsFailure(
        403,
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
      );
    }
    return true;
  }

  function runAction(action: string, params: Record<string, string>, caller: Caller, requestId: string) {
    switch (action) {
      case "GetCallerIdentity":
        return success(
          action,
          [["Arn", caller.arn], ["UserId", caller.userId], ["Account", caller.account]],
          requestId,
        );
      case "GetSessionToken": {
        if (caller.temporary) {
          throw new StsFailure(403, "AccessDenied", "Cannot call GetSessionToken with session credentials");
        }
        const duration = parseDuration(params, "durationSeconds", 900, 129600, 43200);
        const mfaAuthenticated = checkMfa(params, caller, action, caller.arn);
        const creds = issue(action, duration, {
          arn: caller.arn,
          userId: caller.userId,
          account: caller.account,
          isRoleSession: false,
          mfaAuthenticated,
        });
        return success(action, [credentialsXml(creds)], requestId);
      }
      case "AssumeRole": {
        const role = roleSession(params);
        const maxDuration = config.maxSessionDurationSeconds;
        const duration = parseDuration(params, "durationSeconds", 900, 43200, 3600);
        if (caller.isRoleSession && params.DurationSeconds !== undefined && duration > 3600) {
          throw new StsFailure(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
          );
        }
        if (duration > maxDuration) {
          throw new StsFailure(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
          );
        }
        const packed = sessionPolicies(params);
        const mfaAuthenticated = checkMfa(params, caller, action, role.roleArn);
        const creds = issue(action, duration, {
          arn: role.arn,
          userId: role.userId,
          account: role.account,
          isRoleSession: true,
          mfaAuthenticated,
        });
        const result: XmlNode[] = [
          credentialsXml(creds),
          ["AssumedRoleUser", [["AssumedRoleId", role.userId], ["Arn", role.arn]]],
        ];
        if (packed !== undefined) result.push(["PackedPolicySize", String(packed)]);
        if (params.SourceIdentity !== undefined) result.push(["SourceIdentity", params.SourceIdentity]);
        return success(action, result, requestId);
      }
      case "AssumeRoleWithWebIdentity": {
        const role = roleSession(params);
        const token = params.WebIdentityToken;
        if (token === undefined) throw validation("webIdentityToken", undefined, "Member must not be null");
        if (token.length < 4) {
          throw validation("webIdentityToken", token, "Member must have length greater than or equal to 4");
        }
        const duration = parseDuration(params, "durationSeconds", 900, 43200, 3600);
        if (duration > config.maxSessionDurationSeconds) {
          throw new StsFailure(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
          );
        }
        if (config.webIdentityToken !== null && token !== config.webIdentityToken) {
          throw new StsFailure(400, "InvalidIdentityToken", DENY_TABLE.InvalidIdentityToken.message);
        }
        const packed = sessionPolicies(params);
        const claims = decodeJwtClaims(token);
        const sub = typeof claims.sub === "string" ? claims.sub : "standin-subject";
        const aud = typeof claims.aud === "string"
          ? claims.aud
          : Array.isArray(claims.aud) && typeof claims.aud[0] === "string"
          ? claims.aud[0]
          : "sts.amazonaws.com";
        const iss = typeof claims.iss === "string" ? claims.iss.replace(/^https:\/\//, "") : "standin.local";
        const creds = issue(action, duration, {
          arn: role.arn,
          userId: role.userId,
          account: role.account,
          isRoleSession: true,
          mfaAuthenticated: false,
        });
        const result: XmlNode[] = [
          credentialsXml(creds),
          ["SubjectFromWebIdentityToken", sub],
          ["AssumedRoleUser", [["AssumedRoleId", role.userId], ["Arn", role.arn]]],
          ["Provider", iss],
          ["Audience", aud],
        ];
        if (packed !== undefined) result.push(["PackedPolicySize", String(packed)]);
        if (params.SourceIdentity !== undefined) result.push(["SourceIdentity", params.SourceIdentity]);
        return success(action, result, requestId);
      }
    }
    throw new StsFailure(400, "InvalidAction", `Could not find operation ${action} for version 2011-06-15`);
  }

  function failureResult(f: StsFailure, requestId: string): ActionResult {
    const body = errorXml(f.code, f.message, f.status, requestId);
    return { status: f.status, body, errorCode: f.code, retryAfter: f.retryAfter };
  }

  function faultFailure(
    fault: Fault,
    action: string,
    params: Record<string, string>,
    caller: Caller,
  ): StsFailure {
    if (fault.kind === "error") {
      const message = fault.message ?? DENY_TABLE[fault.code]?.message ??
        `${fault.code} (injected by the stand-in)`;
      return new StsFailure(
        fault.status,
        fault.code,
        fillMessage(message, action, params, caller),
        fault.retryAfter,
      );
    }
    if (fault.kind !== "deny") throw new Error("unreachable");
    const known = DENY_TABLE[fault.code];
    const message = fault.message ?? known?.message ?? `${fault.code} (injected by the stand-in)`;
    return new StsFailure(
      known?.status ?? 400,
      fault.code,
      fillMessage(message, action, params, caller),
      fault.retryAfter,
    );
  }

  function fillMessage(
    message: string,
    action: string,
    params: Record<string, string>,
    caller: Caller,
  ): string {
    return message
      .replaceAll("{caller}", caller.arn)
      .replaceAll("{action}", action || "Unknown")
      .replaceAll("{resource}", params.RoleArn ?? caller.arn)
      .replaceAll("{account}", caller.account);
  }

  // --- HTTP ---------------------------------------------------------------------------------------------

  function xmlResponse(r: ActionResult, requestId: string): Response {
    const headers = new Headers({ "content-type": "text/xml", "x-amzn-requestid": requestId });
    if (r.retryAfter !== undefined) headers.set("retry-after", String(r.retryAfter));
    return new Response(r.body, { status: r.status, headers });
  }

  /** A response that sends its headers and `prefix`, then breaks the connection. */
  function brokenResponse(status: number, prefix: string, fullLength: number, requestId: string): Response {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent && prefix.length > 0) {
          sent = true;
          controller.enqueue(encoder.encode(prefix));
          return;
        }
        controller.error(new DeliberateAbort("connection closed mid-body"));
      },
    });
    return new Response(body, {
      status,
      headers: {
        "content-type": "text/xml",
        "content-length": String(fullLength),
        "x-amzn-requestid": requestId,
      },
    });
  }

  function json(value: unknown, status = 200): Response {
    return new Response(JSON.stringify(value, null, 2) + "\n", {
      status,
      headers: { "content-type": "application/json" },
    });
  }

  async function control(req: Request, url: URL): Promise<Response> {
    const route = `${req.method} ${url.pathname.replace(/\/+$/, "")}`;
    try {
      switch (route) {
        case "GET /__standin/requests":
          return json(requests);
        case "GET /__standin/faults":
          return json({ queue: faults, default: defaultFault });
        case "POST /__standin/faults": {
          const body = await readJson(req);
          const queue = body.queue ?? [];
          if (!Array.isArray(queue)) throw new TypeError("queue must be an array of faults");
          queue.forEach(assertFault);
          if (body.default !== undefined && body.default !== null) assertFault(body.default);
          if (body.clear === true) faults.length = 0;
          faults.push(...queue);
          if (body.default !== undefined) defaultFault = body.default;
          return json({ queue: faults, default: defaultFault });
        }
        case "POST /__standin/reset": {
          const body = await readJson(req);
          standin.reset({ faults: body.faults === true });
          return json({ ok: true });
        }
        case "POST /__standin/config": {
          const body = await readJson(req);
          configure(body as StandinConfig);
          return json({ ok: true });
        }
        case "GET /__standin/issued":
          return json([...issued.values()]);
      }
      return json({ error: `no control endpoint ${route}` }, 404);
    } catch (e) {
      return json({ error: e instanceof Error ? e.message : String(e) }, 400);
    }
  }

  async function readJson(req: Request): Promise<Record<string, unknown>> {
    const text = await req.text();
    if (text.trim() === "") return {};
    const value = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TypeError("body must be a JSON object");
    }
    return value;
  }

  async function handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname.startsWith(CONTROL_PREFIX)) return control(req, url);

    const time = Date.now();
    const body = new Uint8Array(await req.arrayBuffer());
    const params: Record<string, string> = {};
    for (const [k, v] of url.searchParams) params[k] = v;
    const contentType = req.headers.get("content-type") ?? "";
    if (
      req.method === "POST" &&
      (contentType === "" || contentType.startsWith("application/x-www-form-urlencoded"))
    ) {
      for (const [k, v] of new URLSearchParams(new TextDecoder().decode(body))) params[k] = v;
    }
    const action = params.Action ?? "";
    const requestId = crypto.randomUUID();
    const rec: RecordedRequest = {
      action,
      params,
      signatureValid: null,
      hasSessionToken: req.headers.has("x-amz-security-token"),
      time,
      method: req.method,
      path: url.pathname,
    };
    const ua = req.headers.get("user-agent");
    if (ua !== null) rec.userAgent = ua;
    if (params.SerialNumber !== undefined || params.TokenCode !== undefined) {
      rec.mfa = { serial: params.SerialNumber, code: params.TokenCode };
    }
    requests.push(rec);

    const fault = faults.shift() ?? defaultFault ?? undefined;
    if (fault) rec.fault = fault;

    // Signature: always checked and recorded; enforced when verifySignatures is on.
    const unsignedAction = action === "AssumeRoleWithWebIdentity";
    let authFailure: StsFailure | undefined;
    const sig = await checkSignature(req, url, body);
    rec.signatureValid = sig.valid;
    if (sig.accessKeyId !== undefined) rec.accessKeyId = sig.accessKeyId;
    if (sig.region !== undefined) rec.region = sig.region;
    if (sig.reason !== undefined && sig.valid !== null) rec.signatureError = sig.reason;
    if (sig.failure) {
      const noAuthAtAll = sig.valid === null && req.headers.get("authorization") === null;
      if (!(unsignedAction && noAuthAtAll) && config.verifySignatures) authFailure = sig.failure;
    }
    const caller = callerFor(sig.accessKeyId);

    const finish = (response: Response, status: number, errorCode?: string): Response => {
      rec.status = status;
      if (errorCode !== undefined) rec.errorCode = errorCode;
      return response;
    };

    if (fault) {
      switch (fault.kind) {
        case "delay":
          await delay(fault.ms, stopping.signal);
          break;
        case "hang":
          await untilAborted(stopping.signal);
          return finish(brokenResponse(503, "", 1, requestId), 503);
        case "error":
        case "deny": {
          const r = failureResult(faultFailure(fault, action, params, caller), requestId);
          return finish(xmlResponse(r, requestId), r.status, r.errorCode);
        }
        case "malformed-xml":
          return finish(
            new Response("\u0000\u0001}{ this is <<not xml>> at all &&& ]]> </Credentials\n", {
              status: 200,
              headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
            }),
            200,
          );
        case "html": {
          const status = fault.status ?? 502;
          return finish(
            new Response(htmlPage(status), { status, headers: { "content-type": "text/html" } }),
            status,
          );
        }
      }
    }

    let result: ActionResult;
    try {
      if (authFailure) throw authFailure;
      if (action === "") throw new StsFailure(400, "MissingAction", "Missing Action");
      if (!ACTIONS.has(action)) {
        throw new StsFailure(
          400,
          "InvalidAction",
          `Could not find operation ${action} for version 2011-06-15`,
        );
      }
      result = runAction(action, params, caller, requestId);
    } catch (e) {
      if (!(e instanceof StsFailure)) throw e;
      result = failureResult(e, requestId);
    }

    if (fault?.kind === "truncated-xml") {
      const cut = result.cutAt ?? Math.floor(result.body.length / 2);
      const prefix = result.body.slice(0, cut);
      return finish(
        new Response(prefix, {
          status: 200,
          headers: { "content-type": "text/xml", "x-amzn-requestid": requestId },
        }),
        200,
      );
    }
    if (fault?.kind === "close-mid-body") {
      const cut = result.cutAt ?? Math.floor(result.body.length / 2);
      return finish(
        brokenResponse(200, result.body.slice(0, cut), encoder.encode(result.body).length, requestId),
        200,
      );
    }
    return finish(xmlResponse(result, requestId), result.status, result.errorCode);
  }

  const serveOptions = {
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    signal: serverAbort.signal,
    onListen() {},
    onError(error: unknown): Response {
      if (!(error instanceof DeliberateAbort)) console.error("sts stand-in: handler error:", error);
      return new Response("internal stand-in error", { status: 500 });
    },
  };
  const server = opts.tls
    ? Deno.serve({ ...serveOptions, cert: opts.tls.cert, key: opts.tls.key }, handle)
    : Deno.serve(serveOptions, handle);
  const port = server.addr.port;
  const url = `${opts.tls ? "https" : "http"}://127.0.0.1:${port}/`;

  let stopped: Promise<void> | undefined;
  const standin: Standin = {
    url,
    hostname: "127.0.0.1",
    port,
    accessKeyId: firstKey,
    secretAccessKey: keys[firstKey],
    requests,
    faults,
    get defaultFault() {
      return defaultFault;
    },
    issued,
    count(action?: string) {
      return action === undefined ? requests.length : requests.filter((r) => r.action === action).length;
    },
    reset(options?: { faults?: boolean }) {
      requests.length = 0;
      if (options?.faults) {
        faults.length = 0;
        defaultFault = null;
      }
    },
    pushFault(...more: Fault[]) {
      more.forEach(assertFault);
      faults.push(...more);
    },
    setDefaultFault(fault: Fault | null) {
      if (fault !== null) assertFault(fault);
      defaultFault = fault;
    },
    configure,
    stop() {
      stopped ??= (async () => {
        stopping.abort(); // releases hanging and delayed handlers
        serverAbort.abort();
        await server.finished;
      })();
      return stopped;
    },
    [Symbol.asyncDispose]() {
      return standin.stop();
    },
  };
  // Deno.serve listens synchronously; the promise keeps room for asynchronous setup.
  return await Promise.resolve(standin);
}

// ---------------------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------------------

const USAGE = `usage: deno run -P=dev tests/support/sts_standin/mod.ts [options]

Starts the STS stand-in on 127.0.0.1, prints one JSON line {"url","accessKeyId","secretAccessKey"}
and serves until SIGINT or SIGTERM.

options:
  --port N                  port to listen on (default: a free one)
  --tls-cert FILE           serve HTTPS with this PEM certificate (needs --tls-key)
  --tls-key FILE            the PEM private key of --tls-cert
  --no-verify               do not reject requests whose signature does not verify
  --mfa-serial ARN          require this MFA device for AssumeRole and GetSessionToken (needs --mfa-code)
  --mfa-code CODE           the MFA code to accept
  --web-identity-token TOK  accept only this AssumeRoleWithWebIdentity token
  -h, --help                show this help
`;

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "no-verify": { type: "boolean" },
        "mfa-serial": { type: "string" },
        "mfa-code": { type: "string" },
        "web-identity-token": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    console.error(`sts_standin: ${e instanceof Error ? e.message : e}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const options: StandinOptions = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) {
      console.error(
        `sts_standin: --port must be a number from 0 to 65535, not ${JSON.stringify(values.port)}`,
      );
      return 2;
    }
    options.port = port;
  }
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    console.error("sts_standin: --tls-cert and --tls-key go together");
    return 2;
  }
  if (values["tls-cert"] !== undefined && values["tls-key"] !== undefined) {
    options.tls = {
      cert: await Deno.readTextFile(values["tls-cert"]),
      key: await Deno.readTextFile(values["tls-key"]),
    };
  }
  if ((values["mfa-serial"] === undefined) !== (values["mfa-code"] === undefined)) {
    console.error("sts_standin: --mfa-serial and --mfa-code go together");
    return 2;
  }
  if (values["mfa-serial"] !== undefined && values["mfa-code"] !== undefined) {
    options.mfa = { serial: values["mfa-serial"], code: values["mfa-code"] };
  }
  if (values["no-verify"]) options.verifySignatures = false;
  if (values["web-identity-token"] !== undefined) options.webIdentityToken = values["web-identity-token"];

  const standin = await startStandin(options);
  console.log(JSON.stringify({
    url: standin.url,
    accessKeyId: standin.accessKeyId,
    secretAccessKey: standin.secretAccessKey,
  }));
  await new Promise<void>((resolve) => {
    const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
    const onSignal = () => {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
      resolve();
    };
    for (const s of signals) Deno.addSignalListener(s, onSignal);
  });
  await standin.stop();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
