/**
 * SigV4, verified on its own: canonical request, string to sign and the HMAC chain written here with Web Crypto,
 * no SDK signer, so a passing test really proves that the client signed what it sent. Also signs raw requests
 * for tests that speak to the stand-in without an SDK.
 *
 * @module
 */

import type { StandinState } from "./types.ts";
import { DENY_TABLE, StsFailure } from "./render.ts";
import { encoder, hmac, sha256Hex, timingSafeEqual, toHex, uriEncode } from "./util.ts";

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
export interface SignatureCheck {
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

/** Checks what can be checked before the secret is known: the date header and the credential scope. */
function checkScope(
  auth: ParsedAuthorization,
  amzDate: string | null,
): [code: string, message: string, status?: number] | undefined {
  if (amzDate === null) {
    return [
      "IncompleteSignature",
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
      400,
    ];
  }
  if (parseAmzDate(amzDate) === undefined) {
    return ["IncompleteSignature", `Invalid X-Amz-Date '${amzDate}'`, 400];
  }
  if (!auth.signedHeaders.includes("host")) {
    return ["SignatureDoesNotMatch", "'Host' must be a signed header."];
  }
  if (auth.terminator !== "aws4_request") {
    return ["SignatureDoesNotMatch", "Credential should be scoped with a valid terminator: 'aws4_request'."];
  }
  if (auth.service !== "sts") {
    return ["SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'. "];
  }
  if (!/^[a-z]{2,}(-[a-z0-9]+)+$/.test(auth.region)) {
    return ["SignatureDoesNotMatch", "Credential should be scoped to a valid region. "];
  }
  if (auth.date !== amzDate.slice(0, 8)) {
    return [
      "SignatureDoesNotMatch",
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${
        amzDate.slice(0, 8)
      }', from '${amzDate}'.`,
    ];
  }
  return undefined;
}

/** The clock-skew message when `signedAt` is outside ±`skew` of `now`. */
function checkSkew(amzDate: string, signedAt: number, now: number, skew: number): string | undefined {
  if (signedAt < now - skew) {
    return `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - skew)} (${
      formatAmzDate(now)
    } - ${Math.round(skew / 60000)} min.)`;
  }
  if (signedAt > now + skew) {
    return `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + skew)} (${
      formatAmzDate(now)
    } + ${Math.round(skew / 60000)} min.)`;
  }
  return undefined;
}

/**
 * Checks the session token that came with a valid signature (the `X-Amz-Security-Token` header, or the query
 * parameter of a presigned URL): issued keys need theirs, base keys none.
 */
function checkSessionToken(
  state: StandinState,
  token: string | null,
  accessKeyId: string,
  now: number,
): { failure: StsFailure; reason: string } | undefined {
  const temp = state.issued.get(accessKeyId);
  const invalid = () => new StsFailure(403, "InvalidClientTokenId", DENY_TABLE.InvalidClientTokenId.message);
  if (temp) {
    if (token === null || !timingSafeEqual(token, temp.sessionToken)) {
      return {
        failure: invalid(),
        reason: token === null ? "session token missing" : "session token does not match",
      };
    }
    if (temp.expiration.getTime() <= now) {
      return {
        failure: new StsFailure(400, "ExpiredToken", DENY_TABLE.ExpiredToken.message),
        reason: "credentials expired",
      };
    }
  } else if (token !== null) {
    return { failure: invalid(), reason: "session token sent with long-term keys" };
  }
  return undefined;
}

/** Verifies a request's SigV4 signature and session token against the state's base and issued keys. */
export async function checkSignature(
  state: StandinState,
  req: Request,
  url: URL,
  body: Uint8Array<ArrayBuffer>,
): Promise<SignatureCheck> {
  const header = req.headers.get("authorization");
  if (header === null && url.searchParams.has("X-Amz-Algorithm")) {
    return await checkPresigned(state, req, url, body);
  }
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
  const scopeError = checkScope(auth, amzDate);
  if (scopeError !== undefined || amzDate === null) return fail(...scopeError!);
  // Which secret, and (for issued keys) which token.
  const secret = state.keys[auth.accessKeyId] ?? state.issued.get(auth.accessKeyId)?.secretAccessKey;
  if (secret === undefined) {
    return fail("InvalidClientTokenId", "The security token included in the request is invalid.");
  }
  const now = Date.now();
  const skewError = checkSkew(amzDate, parseAmzDate(amzDate)!, now, state.config.maxClockSkewMs);
  if (skewError !== undefined) return fail("SignatureDoesNotMatch", skewError);
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
  const valid = { valid: true, accessKeyId: auth.accessKeyId, region: auth.region };
  return {
    ...valid,
    ...checkSessionToken(state, req.headers.get("x-amz-security-token"), auth.accessKeyId, now),
  };
}

/**
 * Verifies a presigned (query-string) SigV4 request, such as the `GetCallerIdentity` GET inside an EKS token:
 * the `X-Amz-*` parameters in place of the Authorization header, the canonical query without
 * `X-Amz-Signature`, the session token from `X-Amz-Security-Token`. Like STS, the URL is good for 15 minutes
 * (the clock-skew window) after `X-Amz-Date` whatever `X-Amz-Expires` says, once that is a valid number.
 */
async function checkPresigned(
  state: StandinState,
  req: Request,
  url: URL,
  body: Uint8Array<ArrayBuffer>,
): Promise<SignatureCheck> {
  const q = url.searchParams;
  const incomplete = (message: string): SignatureCheck => ({
    valid: null,
    failure: new StsFailure(400, "IncompleteSignature", message),
    reason: message,
  });
  if (q.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") {
    return incomplete("X-Amz-Algorithm is not AWS4-HMAC-SHA256");
  }
  for (
    const name of [
      "X-Amz-Credential",
      "X-Amz-Date",
      "X-Amz-Expires",
      "X-Amz-SignedHeaders",
      "X-Amz-Signature",
    ]
  ) {
    if (q.getAll(name).length !== 1) return incomplete(`presigned URL needs exactly one ${name}`);
  }
  const parsed = parseAuthorization(
    `AWS4-HMAC-SHA256 Credential=${q.get("X-Amz-Credential")}, SignedHeaders=${
      q.get("X-Amz-SignedHeaders")
    }, ` +
      `Signature=${q.get("X-Amz-Signature")}`,
  );
  if (typeof parsed === "string") return incomplete(parsed);
  const fail = (code: string, message: string, status = 403): SignatureCheck => ({
    valid: false,
    accessKeyId: parsed.accessKeyId,
    region: parsed.region,
    failure: new StsFailure(status, code, message),
    reason: message,
  });
  const amzDate = q.get("X-Amz-Date")!;
  const scopeError = checkScope(parsed, amzDate);
  if (scopeError !== undefined) return fail(...scopeError);
  const expires = q.get("X-Amz-Expires")!;
  if (!/^\d{1,6}$/.test(expires) || Number(expires) < 1 || Number(expires) > 604800) {
    return fail("AuthorizationQueryParametersError", "X-Amz-Expires must be a number from 1 to 604800", 400);
  }
  const secret = state.keys[parsed.accessKeyId] ?? state.issued.get(parsed.accessKeyId)?.secretAccessKey;
  if (secret === undefined) {
    return fail("InvalidClientTokenId", "The security token included in the request is invalid.");
  }
  const now = Date.now();
  const skewError = checkSkew(amzDate, parseAmzDate(amzDate)!, now, state.config.maxClockSkewMs);
  if (skewError !== undefined) return fail("SignatureDoesNotMatch", skewError);
  let headers = req.headers;
  if (!headers.has("host")) {
    headers = new Headers(headers);
    headers.set("host", url.host);
  }
  // The raw query without the signature (no re-encoding: the canonical query is made from what was sent).
  const unsigned = new URL(url);
  unsigned.search = url.search.slice(1).split("&").filter((p) => !p.startsWith("X-Amz-Signature=")).join("&");
  const { signature } = await sigv4Signature({
    method: req.method,
    url: unsigned,
    headers,
    signedHeaders: parsed.signedHeaders,
    body,
    secretAccessKey: secret,
    amzDate,
    region: parsed.region,
  });
  if (!timingSafeEqual(signature, parsed.signature)) {
    return fail("SignatureDoesNotMatch", DENY_TABLE.SignatureDoesNotMatch.message);
  }
  const valid = { valid: true, accessKeyId: parsed.accessKeyId, region: parsed.region };
  return { ...valid, ...checkSessionToken(state, q.get("X-Amz-Security-Token"), parsed.accessKeyId, now) };
}
