/**
 * The federation endpoint of `credproc console`, the "custom identity broker" flow of the IAM docs:
 * GetSigninToken over the role's temporary credentials (`GET <federation>?Action=getSigninToken&Session=
 * {"sessionId","sessionKey","sessionToken"}`; no `SessionDuration`, which the endpoint refuses for role
 * credentials: the console session lasts as long as the credentials do), then the login URL
 * `<federation>?Action=login&Issuer=credproc&Destination=…&SigninToken=…`.
 *
 * The endpoint is the partition's sign-in host (lib/partitions.ts); `CREDPROC_SIGNIN_URL` may point at a
 * loopback stand-in. The sign-in token is a secret: registered with the logger, never cached, never in an
 * error message. A failure before any answer is named by `classifyNetworkError` (lib/net_errors.ts).
 */
import { readCapped } from "../capped_read.ts";
import { FailureError, InputError, NetworkError, SandboxError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { maskKeyId } from "../log.ts";
import { type Credentials, unhandled } from "../model.ts";
import { classifyNetworkError } from "../net_errors.ts";
import { consoleOf, type ConsolePartition } from "../partitions.ts";
import type { Deadline } from "../providers/deadline.ts";
import { signinEndpointProblem } from "../sandbox.ts";

/** The variable that points `credproc console` at another federation endpoint (loopback, for tests). */
export const SIGNIN_URL_ENV = "CREDPROC_SIGNIN_URL";

/** The `Issuer` of the login URL. */
export const ISSUER = "credproc";
/** The largest answer read from the federation endpoint (a real one is a few KiB). */
export const MAX_SIGNIN_ANSWER_BYTES = 64 * 1024;
/** What a sign-in token may look like: URL-safe base64-like text of a sane length. */
const SIGNIN_TOKEN_SHAPE = /^[A-Za-z0-9_\-+/=.]{16,16384}$/;

/** The partition's federation endpoint, `https://<sign-in host>/federation`. */
function federationOf(partition: ConsolePartition): string {
  return `https://${consoleOf(partition)!.signinHost}/federation`;
}

/**
 * The federation endpoint to use: the partition's, or `CREDPROC_SIGNIN_URL` when set (checked by the sandbox's
 * {@link signinEndpointProblem}: a sign-in host or loopback; anything else is bad input, exit 2).
 */
export function signinEndpoint(partition: ConsolePartition, override: string | undefined): URL {
  if (override === undefined || override === "") {
    return new URL(federationOf(partition));
  }
  const problem = signinEndpointProblem(override);
  if (problem !== undefined) {
    throw new InputError(SIGNIN_URL_ENV, problem, {
      hint: `unset it: credproc then uses the partition's endpoint, ${federationOf(partition)}`,
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
  return new TextDecoder().decode(await readCapped(response.body, MAX_SIGNIN_ANSWER_BYTES, tooLarge));
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
  const failure = classifyNetworkError(e, { scheme: endpoint.protocol.replace(/:$/, ""), host });
  // Never the error's own text: Deno's names the request URL, whose query holds the credentials.
  let why: string;
  switch (failure.kind) {
    case "sandbox":
      return new SandboxError("console", `${endpoint.hostname} is outside the allowed endpoints`, {
        cause: e,
      });
    case "tls":
      if (failure.explained !== undefined) {
        return new NetworkError("console", `TLS: ${failure.explained.why}`, {
          hint: failure.explained.hint,
          cause: e,
        });
      }
      return new NetworkError("console", `TLS: the certificate of ${host} is not trusted`, {
        hint: CONNECTION_HINT,
        cause: e,
      });
    case "blocked-port":
      why = `fetch refuses port ${failure.port} (a port browsers block)`;
      break;
    case "refused":
      why = "connection refused";
      break;
    case "dns":
      why = "cannot resolve the name";
      break;
    case "proxy":
      why = "the proxy refused to connect";
      break;
    case "timeout":
    case "closed":
      why = "the connection was closed before an answer came";
      break;
    case "other":
      why = "no connection";
      break;
    default:
      return unhandled(failure, "network failure");
  }
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
