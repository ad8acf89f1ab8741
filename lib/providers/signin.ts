/**
 * `credproc console`: a console sign-in URL for a role session, the "custom identity broker" flow of the IAM
 * docs. GetSigninToken over the role's temporary credentials (`GET <federation>?Action=getSigninToken&Session=
 * {"sessionId","sessionKey","sessionToken"}`; no `SessionDuration`, which the endpoint refuses for role
 * credentials: the console session lasts as long as the credentials do), then the login URL
 * `<federation>?Action=login&Issuer=credproc&Destination=…&SigninToken=…`.
 *
 * The partition comes from the role's ARN (the credentials are valid there and nowhere else); the sign-in host
 * is that partition's ({@link SIGNIN_HOSTS}); `CREDPROC_SIGNIN_URL` may point at a loopback stand-in.
 * The sign-in token is a secret: registered with the logger, never cached, never in an error message.
 */
import { FailureError, InputError, NetworkError, SandboxError, UsageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { maskKeyId } from "../log.ts";
import type { CredentialProvider, Credentials, Plan } from "../model.ts";
import { oneLine } from "../output.ts";
import { SIGNIN_HOSTS, signinEndpointProblem } from "../sandbox.ts";
import type { Deadline } from "./deadline.ts";
import { explainTls } from "./tls_errors.ts";

/** The partitions with a console sign-in endpoint. */
export type ConsolePartition = "aws" | "aws-us-gov" | "aws-cn";

/** The variable that points `credproc console` at another federation endpoint (loopback, for tests). */
export const SIGNIN_URL_ENV = "CREDPROC_SIGNIN_URL";

/** Sign-in host and console domain per partition (the host list is the sandbox's, in the same order). */
const PARTITIONS: Record<ConsolePartition, { readonly signin: string; readonly console: string }> = {
  "aws": { signin: SIGNIN_HOSTS[0], console: "console.aws.amazon.com" },
  "aws-us-gov": { signin: SIGNIN_HOSTS[1], console: "console.amazonaws-us-gov.com" },
  "aws-cn": { signin: SIGNIN_HOSTS[2], console: "console.amazonaws.cn" },
};

/** The `Issuer` of the login URL. */
export const ISSUER = "credproc";
/** The longest `--destination` taken (console deep links are far shorter; the login URL must stay usable). */
export const MAX_DESTINATION_CHARS = 2048;
/** The largest answer read from the federation endpoint (a real one is a few KiB). */
export const MAX_SIGNIN_ANSWER_BYTES = 64 * 1024;
/** What a sign-in token may look like: URL-safe base64-like text of a sane length. */
const SIGNIN_TOKEN_SHAPE = /^[A-Za-z0-9_\-+/=.]{16,16384}$/;

function isConsolePartition(p: string): p is ConsolePartition {
  return Object.hasOwn(PARTITIONS, p);
}

/** The partition of an ARN (`arn:<partition>:…`). */
export function arnPartition(arn: string): string {
  return arn.split(":")[1] ?? "";
}

/** The partition a region belongs to, from its name (the prefixes of the SDK's partition table). */
export function regionPartition(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("us-isob-")) return "aws-iso-b";
  if (region.startsWith("us-isof-")) return "aws-iso-f";
  if (region.startsWith("us-iso-")) return "aws-iso";
  if (region.startsWith("eu-isoe-")) return "aws-iso-e";
  if (region.startsWith("eusc-")) return "aws-eusc";
  return "aws";
}

/**
 * The console partition of the role `roleArn` (the last hop), checked against the plan's region: a region of
 * another partition would send the credentials to the wrong STS and the user to the wrong console (exit 2).
 */
export function consolePartition(roleArn: string, region: string): ConsolePartition {
  const partition = arnPartition(roleArn);
  if (!isConsolePartition(partition)) {
    throw new InputError(
      "console",
      `the role ${roleArn} is in partition ${partition}, which has no console sign-in endpoint credproc knows`,
      { hint: "credproc console works for the aws, aws-us-gov and aws-cn partitions" },
    );
  }
  const ofRegion = regionPartition(region);
  if (ofRegion !== partition) {
    throw new InputError(
      "console",
      `the role ${roleArn} is in partition ${partition}, but the region ${region} is in ${ofRegion}`,
      { hint: "name a region of the role's partition with --region (or AWS_REGION, the profile's region)" },
    );
  }
  return partition;
}

/**
 * The console home of `region`: `https://<console domain>/console/home?region=<region>`. One host per
 * partition (the console itself moves the browser to its regional host), so it works for every region,
 * opt-in ones included.
 */
export function defaultDestination(partition: ConsolePartition, region: string): string {
  return `https://${PARTITIONS[partition].console}/console/home?region=${encodeURIComponent(region)}`;
}

/** The partition whose console serves `host` (`console.<domain>` or a subdomain of it), if any. */
function consoleHostPartition(host: string): ConsolePartition | undefined {
  for (const [partition, { console }] of Object.entries(PARTITIONS)) {
    if (host === console || (host.endsWith(`.${console}`) && /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(host))) {
      return partition as ConsolePartition;
    }
  }
  return undefined;
}

/**
 * Validates `--destination`: an https URL (at most {@link MAX_DESTINATION_CHARS} characters, no port, no user
 * info) on a console host of aws, aws-us-gov or aws-cn (`console.aws.amazon.com` or a subdomain such as
 * `eu-west-1.console.aws.amazon.com`). Returns the URL as the parser normalises it. Throws {@link UsageError}.
 */
export function validateDestination(value: string, what = "--destination"): string {
  if (value.length > MAX_DESTINATION_CHARS) {
    throw new UsageError(what, `longer than ${MAX_DESTINATION_CHARS} characters`);
  }
  // The URL parser would drop or encode them silently: the page opened would not be the one given.
  if (/[\s\p{Cc}\p{Cf}]/u.test(value)) {
    throw new UsageError(what, "must not contain spaces or control characters (percent-encode them)");
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(what, `${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== "https:") throw new UsageError(what, `${JSON.stringify(value)} must use https`);
  if (url.username !== "" || url.password !== "") throw new UsageError(what, "must not contain credentials");
  if (url.port !== "") throw new UsageError(what, "must not name a port");
  if (consoleHostPartition(url.hostname) === undefined) {
    throw new UsageError(what, `host ${url.hostname} is not an AWS console host`, {
      hint: `use a console URL such as ${defaultDestination("aws", "us-east-1")}`,
    });
  }
  return url.href;
}

/** Checks that a (validated) destination is a console of the role's partition (exit 2 otherwise). */
export function checkDestinationPartition(destination: string, partition: ConsolePartition): void {
  const host = new URL(destination).hostname;
  const of = consoleHostPartition(host);
  if (of !== partition) {
    throw new InputError(
      "--destination",
      `${host} is a console of partition ${of}, but the role is in ${partition}`,
      { hint: `use a console URL of ${partition}, e.g. ${defaultDestination(partition, "REGION")}` },
    );
  }
}

/**
 * The federation endpoint to use: the partition's, or `CREDPROC_SIGNIN_URL` when set (checked by the sandbox's
 * {@link signinEndpointProblem}: a sign-in host or loopback; anything else is bad input, exit 2).
 */
export function signinEndpoint(partition: ConsolePartition, override: string | undefined): URL {
  if (override === undefined || override === "") {
    return new URL(`https://${PARTITIONS[partition].signin}/federation`);
  }
  const problem = signinEndpointProblem(override);
  if (problem !== undefined) {
    throw new InputError(SIGNIN_URL_ENV, problem, {
      hint: `unset it: credproc then uses the partition's endpoint, https://${
        PARTITIONS[partition].signin
      }/federation`,
    });
  }
  return new URL(override);
}

/** The GetSigninToken request URL: the Session JSON of exactly the three keys, and nothing else. */
export function signinTokenUrl(endpoint: URL, credentials: Credentials): string {
  if (credentials.sessionToken === undefined) {
    throw new FailureError("console", "the role's credentials have no session token");
  }
  const session = JSON.stringify({
    sessionId: credentials.accessKeyId,
    sessionKey: credentials.secretAccessKey,
    sessionToken: credentials.sessionToken,
  });
  return `${endpoint.href}?Action=getSigninToken&Session=${encodeURIComponent(session)}`;
}

/** The login URL: `Issuer` credproc, the destination and the token, each percent-encoded. */
export function loginUrl(endpoint: URL, destination: string, token: string): string {
  return `${endpoint.href}?Action=login&Issuer=${encodeURIComponent(ISSUER)}&Destination=${
    encodeURIComponent(destination)
  }&SigninToken=${encodeURIComponent(token)}`;
}

/** The fetch credproc uses (Deno's, or a fake in tests). */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

const ANSWER_HINT =
  "the endpoint is not AWS sign-in, or something between rewrote its answer: check CREDPROC_SIGNIN_URL and HTTPS_PROXY";
const CONNECTION_HINT = "check the network and the proxy settings (HTTPS_PROXY, NO_PROXY), then retry";

/** The sign-in token in a federation answer: a JSON object with a `SigninToken` of the expected shape. */
export function parseSigninAnswer(text: string, status: number): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  const token = typeof doc === "object" && doc !== null && !Array.isArray(doc)
    ? (doc as Record<string, unknown>).SigninToken
    : undefined;
  if (typeof token !== "string") {
    throw new NetworkError("console", `the sign-in endpoint answered HTTP ${status} without a SigninToken`, {
      hint: ANSWER_HINT,
    });
  }
  // Never echo it: it is a secret, or text crafted for a terminal.
  if (!SIGNIN_TOKEN_SHAPE.test(token)) {
    throw new NetworkError(
      "console",
      "the SigninToken in the answer is not 16 to 16384 URL-safe characters; nothing was printed",
      { hint: ANSWER_HINT },
    );
  }
  return token;
}

/** Reads at most {@link MAX_SIGNIN_ANSWER_BYTES} of a body (a larger one fails without reading on). */
async function readBounded(response: Response): Promise<string> {
  const tooLarge = () =>
    new NetworkError(
      "console",
      `the sign-in endpoint's answer is larger than ${MAX_SIGNIN_ANSWER_BYTES / 1024} KiB`,
      { hint: ANSWER_HINT },
    );
  if (Number(response.headers.get("content-length")) > MAX_SIGNIN_ANSWER_BYTES) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let seen = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value.byteLength;
    if (seen > MAX_SIGNIN_ANSWER_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(seen);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** What a failed HTTP exchange with the federation endpoint says, by status. */
function statusError(status: number): NetworkError {
  if (status >= 300 && status < 400) {
    return new NetworkError(
      "console",
      `the sign-in endpoint answered HTTP ${status} (a redirect, not followed)`,
      {
        hint: ANSWER_HINT,
      },
    );
  }
  if (status >= 500) {
    return new NetworkError("console", `the sign-in endpoint failed with HTTP ${status}`, {
      hint: "AWS sign-in is unavailable: retry in a moment",
    });
  }
  return new NetworkError("console", `the sign-in endpoint refused the role's credentials (HTTP ${status})`, {
    hint:
      "the credentials may have expired or been revoked (retry with --refresh), or belong to another partition",
  });
}

/** A fetch failure before any answer (sandbox, refused, DNS, TLS, reset), in plain words. */
function fetchError(e: unknown, endpoint: URL): FailureError {
  if (e instanceof FailureError) return e;
  const host = endpoint.host;
  const parts: string[] = [];
  for (let cur = e, depth = 0; cur && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof Deno.errors.NotCapable || cur instanceof Deno.errors.PermissionDenied) {
      return new SandboxError("console", `${endpoint.hostname} is outside the allowed endpoints`, {
        cause: e,
      });
    }
    parts.push(cur instanceof Error ? cur.message : String(cur));
  }
  const text = oneLine(parts.join(": "));
  const tls = explainTls(text, endpoint.protocol.replace(/:$/, ""), host);
  if (tls !== undefined) return new NetworkError("console", `TLS: ${tls.why}`, { hint: tls.hint, cause: e });
  if (/certificate|tls handshake|SSL/i.test(text)) {
    return new NetworkError("console", `TLS: the certificate of ${host} is not trusted`, {
      hint: CONNECTION_HINT,
      cause: e,
    });
  }
  // Never the error's own text: Deno's names the request URL, whose query holds the credentials.
  const port = /Requests to port (\d+) are blocked/.exec(text)?.[1];
  const why = port !== undefined
    ? `fetch refuses port ${port} (a port browsers block)`
    : /Connection refused/i.test(text)
    ? "connection refused"
    : /dns error|failed to lookup|Name or service not known|nodename nor servname/i.test(text)
    ? "cannot resolve the name"
    : /reset|broken pipe|connection closed|aborted/i.test(text)
    ? "the connection was closed before an answer came"
    : "no connection";
  return new NetworkError("console", `cannot reach ${host}: ${why}`, { hint: CONNECTION_HINT, cause: e });
}

/**
 * GetSigninToken for `credentials` at `endpoint`, within the call's `--timeout` budget: one GET, no retry, no
 * redirect followed, the answer bounded and validated. Returns the token (registered with `log` as a secret).
 */
export async function getSigninToken(
  endpoint: URL,
  credentials: Credentials,
  deps: { readonly fetch: Fetch; readonly deadline: Deadline; readonly log: Logger },
): Promise<string> {
  const { deadline, log } = deps;
  log.secret(credentials.secretAccessKey);
  log.secret(credentials.sessionToken);
  const url = signinTokenUrl(endpoint, credentials);
  const abort = new AbortController();
  log.debug(
    `console: GetSigninToken at ${endpoint.href} for ${
      maskKeyId(credentials.accessKeyId)
    } (no SessionDuration)`,
  );
  const exchange = async () => {
    let response: Response;
    try {
      response = await deps.fetch(url, {
        method: "GET",
        headers: { accept: "application/json" },
        redirect: "manual",
        signal: abort.signal,
      });
    } catch (e) {
      throw fetchError(e, endpoint);
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw statusError(response.status);
    }
    let text: string;
    try {
      text = await readBounded(response);
    } catch (e) {
      throw fetchError(e, endpoint);
    }
    const token = parseSigninAnswer(text, response.status);
    log.secret(token);
    return token;
  };
  try {
    const token = await deadline.race(
      "console",
      exchange(),
      "the sign-in endpoint is not answering: check the network and HTTPS_PROXY, or allow more time with --timeout",
    );
    log.debug(`console: sign-in token received (${token.length} characters, not shown)`);
    return token;
  } finally {
    abort.abort();
  }
}

/** What {@link consoleUrl} needs besides the plan and the provider. */
export interface ConsoleDeps {
  /** `--destination`, validated by {@link validateDestination}; else the console home of the region. */
  readonly destination?: string;
  /** `CREDPROC_SIGNIN_URL`, if set. */
  readonly signinUrl?: string;
  readonly fetch: Fetch;
  /** The call's `--timeout` budget, shared with the STS steps. */
  readonly deadline: Deadline;
  readonly log: Logger;
}

/**
 * The sign-in URL (one line) for the role the plan assumes: every input is checked first (partition,
 * destination, endpoint: exit 2 before any call), then the credentials come from `provider` (the cached one
 * `assume` uses: no STS call while the entry is fresh) and the token from the federation endpoint.
 */
export async function consoleUrl(
  plan: Plan,
  provider: CredentialProvider,
  deps: ConsoleDeps,
): Promise<string> {
  const { log } = deps;
  const top = plan.hops.at(-1);
  if (top === undefined) {
    // An aws login session printed as it is: its console session is the one it came from.
    throw new UsageError("console", "needs a role to sign in as; give --role-arn ARN");
  }
  const role = top.roleArn;
  const region = plan.endpoint.region;
  const partition = consolePartition(role, region);
  if (deps.destination !== undefined) checkDestinationPartition(deps.destination, partition);
  const destination = deps.destination ?? defaultDestination(partition, region);
  const endpoint = signinEndpoint(partition, deps.signinUrl);
  log.debug(
    `console: partition ${partition}, sign-in endpoint ${endpoint.href}${
      deps.signinUrl ? ` (from ${SIGNIN_URL_ENV})` : ""
    }, destination ${destination}`,
  );
  const credentials = await provider();
  const token = await getSigninToken(endpoint, credentials, deps);
  if (credentials.expiration !== undefined) {
    log.debug(
      `console: the console session ends with the credentials, ${credentials.expiration.toISOString()}`,
    );
  }
  return `${loginUrl(endpoint, destination, token)}\n`;
}
