/**
 * What `credproc serve` answers, composed of small checks the way aws-vault's ECS server reads
 * (`withLogging(withAuthorizationCheck(router))`):
 *
 * ```
 * withLogging(withHostCheck(withRoute(withNoBody(withTokenCheck(withConcurrencyLimit(credentialsRoute))))))
 * ```
 *
 * Each check is a function from the next handler to a handler, testable alone with a parsed request head
 * (lib/serve/http.ts) and no socket. What the parser already refused (414, 431, 400, 505) is logged by the
 * same logging. Refusals are logged at most once a second, with a count of the rest (any local process can
 * send them), and `-v` says why each was refused. Imports only the leaves and this folder.
 */
import { CredprocError } from "../errors.ts";
import type { Credentials } from "../model.ts";
import { formatExpiration, oneLine } from "../output.ts";
import { type Answer, headerValue, type Malformed, type RequestHead } from "./http.ts";
import { sameToken, type TokenState } from "./token.ts";

/** The one path served. Fixed: the token is the secret, and a fixed path keeps logs and docs plain. */
export const CREDENTIALS_PATH = "/credentials";
/** Requests answered at once; more are told 503 (the SDKs retry), so memory and sockets stay bounded. */
export const MAX_IN_FLIGHT = 64;
/** Longer `Authorization` values are refused without comparing them. */
export const MAX_AUTHORIZATION_CHARS = 4096;
/** Refusals logged in full at most once per this period; the others are counted in one line. */
export const REFUSAL_LOG_PERIOD_MS = 1000;

/** A check's view of the next step: a parsed request in, an answer out. */
export type Handler = (head: RequestHead) => Answer | Promise<Answer>;

const encoder = new TextEncoder();

/** A JSON refusal `{"Code","Message"}` (the names the JS SDK reads), with the reason `-v` logs. */
export function refusal(
  status: number,
  code: string,
  message: string,
  why: string,
  extra: { readonly headers?: readonly (readonly [string, string])[]; readonly close?: boolean } = {},
): Answer {
  return {
    status,
    body: encoder.encode(JSON.stringify({ Code: code, Message: message })),
    why,
    ...extra,
  };
}

/** The answer to a request the parser refused; the connection ends after it (the framing is unknown). */
export function malformedAnswer(m: Malformed): Answer {
  const [code, message] = m.status === 414
    ? ["URITooLong", "request target too long"]
    : m.status === 431
    ? ["HeadersTooLarge", "request header section too large"]
    : m.status === 505
    ? ["VersionNotSupported", "only HTTP/1.1 is served"]
    : ["BadRequest", "malformed request"];
  return refusal(m.status, code, message, m.why, { close: true });
}

/** Cut an outside value for a log line (the sink escapes control characters). */
const shown = (v: string) => JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);

/**
 * The Host rule: `127.0.0.1` or `localhost` (any case), with the port listened on or with none. A browser
 * always sends the port of a non-default port, so a port-less Host cannot come from a DNS-rebinding page;
 * the AWS CRT (aws-c-auth) sends `Host: 127.0.0.1` without it. Everything else is refused: other names, a
 * trailing dot, `127.1`, user info and lists (400: not a valid Host), other ports (403).
 */
export function hostProblem(value: string, port: number): { status: 400 | 403; why: string } | undefined {
  const h = value.toLowerCase();
  if (h === "127.0.0.1" || h === "localhost" || h === `127.0.0.1:${port}` || h === `localhost:${port}`) {
    return undefined;
  }
  if (h === "") return { status: 400, why: "empty" };
  if (h.includes(",")) return { status: 400, why: `${shown(value)} is a list` };
  if (h.includes("@")) return { status: 400, why: `${shown(value)} has user info` };
  if (/\s/.test(h)) return { status: 400, why: `${shown(value)} has white space` };
  return { status: 403, why: `${shown(value)} is not 127.0.0.1 or localhost, with port ${port} or none` };
}

const HOST_MESSAGE = "the Host header must be 127.0.0.1:PORT or localhost:PORT";

/**
 * DNS rebinding: the Host header, once, and an absolute-form target's authority (RFC 9112 §3.2.2: the
 * request's host) must each pass {@link hostProblem}.
 */
export function withHostCheck(port: () => number): (next: Handler) => Handler {
  return (next) => (head) => {
    const host = headerValue(head, "host");
    if (host === undefined) return refusal(400, "BadRequest", HOST_MESSAGE, "no Host header");
    if (host === null) return refusal(400, "BadRequest", HOST_MESSAGE, "more than one Host header");
    const p = port();
    const problem = hostProblem(host, p);
    if (problem !== undefined) {
      return refusal(
        problem.status,
        problem.status === 403 ? "Forbidden" : "BadRequest",
        HOST_MESSAGE,
        `Host ${problem.why}`,
      );
    }
    if (head.authority !== undefined) {
      const target = hostProblem(head.authority, p);
      if (target !== undefined) {
        return refusal(
          target.status,
          target.status === 403 ? "Forbidden" : "BadRequest",
          HOST_MESSAGE,
          `the target's host ${target.why}`,
        );
      }
    }
    return next(head);
  };
}

/** Only `GET /credentials`, with no query string: 404 for another path or any query, 405 for another method. */
export function withRoute(next: Handler): Handler {
  return (head) => {
    if (head.path !== CREDENTIALS_PATH || head.query !== undefined) {
      return refusal(404, "NotFound", `only GET ${CREDENTIALS_PATH} is served`, "another path, or a query");
    }
    if (head.method !== "GET") {
      return refusal(405, "MethodNotAllowed", "only GET is served", `method ${head.method}`, {
        headers: [["allow", "GET"]],
      });
    }
    return next(head);
  };
}

/**
 * No request body: `Content-Length` other than 0, twice, or `Transfer-Encoding` is refused (413, or 400 for a
 * length that is not one number), and the connection ends — the body is never read, so the next request's
 * start is unknown.
 */
export function withNoBody(next: Handler): Handler {
  return (head) => {
    const length = headerValue(head, "content-length");
    if (length === null || (length !== undefined && !/^\d+$/.test(length))) {
      return refusal(400, "BadRequest", "malformed request", "a Content-Length that is not one number", {
        close: true,
      });
    }
    if (
      (length !== undefined && Number(length) !== 0) || headerValue(head, "transfer-encoding") !== undefined
    ) {
      return refusal(413, "PayloadTooLarge", "a request body is not accepted", "a request body", {
        close: true,
      });
    }
    return next(head);
  };
}

const TOKEN_MESSAGE = "the Authorization header is missing or wrong";

/**
 * The `Authorization` header must be the token, once, compared in constant time. While a `--token-file` is
 * unusable every request is refused (503): fail closed, never the old token.
 */
export function withTokenCheck(token: () => TokenState): (next: Handler) => Handler {
  return (next) => (head) => {
    const auth = headerValue(head, "authorization");
    if (auth === undefined) return refusal(401, "Unauthorized", TOKEN_MESSAGE, "no Authorization header");
    if (auth === null) {
      return refusal(401, "Unauthorized", TOKEN_MESSAGE, "more than one Authorization header");
    }
    const state = token();
    if ("problem" in state) {
      return refusal(503, "TokenFileUnusable", "the server's token file cannot be used", state.problem, {
        headers: [["retry-after", "1"]],
      });
    }
    if (auth.length > MAX_AUTHORIZATION_CHARS || !sameToken(auth, state.token)) {
      return refusal(401, "Unauthorized", TOKEN_MESSAGE, "not the token");
    }
    return next(head);
  };
}

/** At most `max` requests waiting for credentials at once; more are told 503 with `retry-after`. */
export function withConcurrencyLimit(max: number): (next: Handler) => Handler {
  let inFlight = 0;
  return (next) => (head) => {
    if (inFlight >= max) {
      return refusal(503, "TooManyRequests", "too many requests at once", `${max} requests in progress`, {
        headers: [["retry-after", "1"]],
      });
    }
    const answer = next(head);
    if (!(answer instanceof Promise)) return answer;
    inFlight++;
    return answer.finally(() => inFlight--);
  };
}

/** The JSON document a container-credentials endpoint answers with. */
export function credentialsDocument(c: Credentials, includeAccountId: boolean): string {
  const doc: Record<string, string> = {
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
    Token: c.sessionToken ?? "",
    Expiration: c.expiration === undefined ? "" : formatExpiration(c.expiration),
  };
  if (includeAccountId && c.accountId !== undefined) doc.AccountId = c.accountId;
  return JSON.stringify(doc);
}

/** Where {@link credentialsRoute} gets credentials: held ones at once, else a (shared) call. */
export interface CredentialsSource {
  /** The credentials held in memory while they are fresh, else undefined. */
  held(): Credentials | undefined;
  /** Fresh credentials (one call shared by every request that asks meanwhile). */
  get(): Promise<Credentials>;
}

/** What {@link credentialsRoute} needs. */
export interface CredentialsRouteOptions {
  readonly credentials: CredentialsSource;
  readonly includeAccountId: boolean;
  /** How long one request may wait for credentials before it is told 504 (the call itself goes on). */
  readonly timeoutMs: number;
  /** Scrubs registered secrets from an error message before it leaves the process. */
  readonly scrub: (text: string) => string;
  /** Called once per failed credentials call with the error (the CLI says it on stderr). */
  readonly onFailure?: (e: unknown) => void;
}

/** The error kind a consumer sees: credproc's class name (`StsError`, `NetworkError`, …). */
function errorKind(e: unknown): string {
  return e instanceof CredprocError ? e.name : "InternalError";
}

/**
 * The credentials: held ones answered at once (the document encoded once per credentials), else the shared
 * call, within `timeoutMs` (504), or a 500 naming the kind of failure with credproc's scrubbed message.
 */
export function credentialsRoute(o: CredentialsRouteOptions): Handler {
  let encodedFor: Credentials | undefined;
  let encoded: Answer | undefined;
  const ok = (c: Credentials): Answer => {
    if (c !== encodedFor || encoded === undefined) {
      encoded = { status: 200, body: encoder.encode(credentialsDocument(c, o.includeAccountId)) };
      encodedFor = c;
    }
    return encoded;
  };
  let lastFailure: unknown;
  return (_head) => {
    const held = o.credentials.held();
    if (held !== undefined) return ok(held);
    return (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const call = o.credentials.get();
        const timeout = new Promise<"timeout">((resolve) =>
          timer = setTimeout(() => resolve("timeout"), o.timeoutMs)
        );
        const got = await Promise.race([call, timeout]);
        if (got === "timeout") {
          call.catch(() => {}); // its failure, if any, is reported by the request that sees it
          return refusal(504, "Timeout", `no credentials within ${o.timeoutMs / 1000} s`, "timeout");
        }
        return ok(got);
      } catch (e) {
        const message = o.scrub(e instanceof CredprocError ? `${e.what}: ${e.message}` : oneLine(e));
        if (e !== lastFailure) {
          lastFailure = e; // every request that shared the failed call gets the same error: report it once
          o.onFailure?.(e);
        }
        return refusal(500, errorKind(e), message.slice(0, 1000), errorKind(e));
      } finally {
        clearTimeout(timer);
      }
    })();
  };
}

/** Request logging: every 200 in full; refusals at most once per period in full, the rest as one count. */
export interface RequestLog {
  /** False when nothing is logged (no `-v`, no log file): then no line, nor its timing, is made. */
  readonly enabled: boolean;
  /** One line for an answered request (`ms` since its head arrived); `method`/`path` undefined if unparsed. */
  answered(method: string | undefined, path: string | undefined, answer: Answer, ms: number): void;
  /** Writes the count of refusals not yet said (on stop). */
  flush(): void;
}

/**
 * A {@link RequestLog} writing to `write` (nothing at all when `enabled` is false, so a quiet server builds
 * no lines): `serve: GET /credentials 200 3 ms`, `serve: GET /credentials 401 0 ms (not the token)`, and
 * under a flood of refusals one line per `periodMs`: `serve: refused 4123 more requests in 1 s (401: 4000,
 * 403: 123)`.
 */
export function requestLog(
  enabled: boolean,
  write: (line: string) => void,
  now: () => number = () => performance.now(),
  periodMs = REFUSAL_LOG_PERIOD_MS,
): RequestLog {
  if (!enabled) return { enabled, answered: () => {}, flush: () => {} };
  let windowEnd = -Infinity;
  let counts = new Map<number, number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const summary = () => {
    if (counts.size === 0) return;
    let total = 0;
    for (const n of counts.values()) total += n;
    const parts = [...counts].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(", ");
    write(`serve: refused ${total} more requests in ${periodMs / 1000} s (${parts})`);
    counts = new Map();
  };
  return {
    enabled,
    answered(method, path, answer, ms) {
      const line = `serve: ${method ?? "?"} ${path?.slice(0, 100) ?? "?"} ${answer.status} ${
        Math.round(ms)
      } ms${answer.why === undefined ? "" : ` (${answer.why})`}`;
      if (answer.status === 200) return write(line);
      const t = now();
      if (t >= windowEnd) {
        summary();
        write(line);
        windowEnd = t + periodMs;
        return;
      }
      counts.set(answer.status, (counts.get(answer.status) ?? 0) + 1);
      if (timer === undefined) {
        timer = setTimeout(() => {
          timer = undefined;
          summary();
          // Under a steady flood the next refusal is counted too: one line per period, not two.
          windowEnd = now() + periodMs;
        }, Math.max(0, windowEnd - t));
        Deno.unrefTimer(timer);
      }
    },
    flush() {
      clearTimeout(timer);
      timer = undefined;
      summary();
    },
  };
}

/** A handler and the logging around it, as the connection layer calls them. */
export interface Endpoint {
  /** Answers a parsed request (logged). */
  handle(head: RequestHead): Answer | Promise<Answer>;
  /** Answers a request the parser refused (logged like any refusal). */
  malformed(m: Malformed): Answer;
  /** Says what the log still holds back (on stop). */
  flush(): void;
}

/** Logs every answer through `log` (the time is from the head's arrival to the answer). */
export function withLogging(log: RequestLog, next: Handler): Endpoint {
  return {
    handle(head) {
      if (!log.enabled) return next(head);
      const started = performance.now();
      const answer = next(head);
      if (!(answer instanceof Promise)) {
        log.answered(head.method, head.path, answer, performance.now() - started);
        return answer;
      }
      return answer.then((a) => {
        log.answered(head.method, head.path, a, performance.now() - started);
        return a;
      });
    },
    malformed(m) {
      const answer = malformedAnswer(m);
      log.answered(undefined, undefined, answer, 0);
      return answer;
    },
    flush: () => log.flush(),
  };
}

/** What {@link createEndpoint} needs besides the request. */
export interface EndpointOptions extends CredentialsRouteOptions {
  /** The token every request's `Authorization` header must equal (read per request: it may rotate). */
  readonly token: () => TokenState;
  /** The port listened on (for the Host check); known once listening. */
  readonly port: () => number;
  readonly log: RequestLog;
  readonly maxInFlight?: number;
}

/**
 * The endpoint: Host (DNS rebinding), path and method, no body, token, concurrency — in that order, each
 * refused with its own status — then the credentials; every answer logged.
 */
export function createEndpoint(o: EndpointOptions): Endpoint {
  return withLogging(
    o.log,
    withHostCheck(o.port)(
      withRoute(
        withNoBody(
          withTokenCheck(o.token)(
            withConcurrencyLimit(o.maxInFlight ?? MAX_IN_FLIGHT)(
              credentialsRoute(o),
            ),
          ),
        ),
      ),
    ),
  );
}
