/**
 * `credproc serve`: a container-credentials endpoint on 127.0.0.1, the protocol the AWS SDKs speak to
 * `AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN` (or `…_TOKEN_FILE`): a `GET`
 * whose `Authorization` header is the token, answered with JSON `AccessKeyId`, `SecretAccessKey`, `Token`,
 * `Expiration` (RFC 3339) and, when asked for, `AccountId` (botocore reads it; the JS SDK ignores it).
 *
 * The request handling ({@link createHandler}) is a plain `Request → Response` function, tested without
 * sockets; {@link listen} puts it on a socket; {@link sharedCredentials} makes every request of one process
 * share the credentials it holds and the one provider call in flight, and the provider (credproc's cache and
 * lock) makes processes share one STS call. Imports only the leaves.
 */
import { CredprocError, InputError } from "../errors.ts";
import type { Credentials } from "../model.ts";
import { formatExpiration, oneLine, shellWord } from "../output.ts";

/** The one path served. Fixed: the token is the secret, and a fixed path keeps logs and docs plain. */
export const CREDENTIALS_PATH = "/credentials";
/** Requests answered at once; more are told 503 (the SDKs retry), so memory and sockets stay bounded. */
export const MAX_IN_FLIGHT = 64;
/** Longer request targets are refused (414) before anything else is looked at. */
export const MAX_TARGET_CHARS = 2048;
/** Longer `Authorization` values are refused without comparing them. */
export const MAX_AUTHORIZATION_CHARS = 4096;
/** A token file larger than this is refused. */
export const MAX_TOKEN_FILE_BYTES = 4096;
/** Shortest token accepted from `--token-file`: anything shorter can be guessed. */
export const MIN_TOKEN_CHARS = 16;

/** A fresh token: 32 random bytes, base64url without padding (43 characters, safe in a shell and a header). */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * The token in a `--token-file`'s text, or an error: the SDKs send the file's bytes as the header verbatim
 * (botocore and the JS SDK refuse a line break, and would send spaces as they are), so the file must hold
 * the token alone — visible ASCII, no trailing newline, at least {@link MIN_TOKEN_CHARS} characters.
 */
export function tokenFromFile(text: string, path: string): string {
  const what = `--token-file ${path}`;
  const hint = "write the token without a newline: printf %s TOKEN > FILE (chmod 600)";
  if (/^[\x21-\x7e]*[\r\n]+$/.test(text) && text.trim() !== "") {
    throw new InputError(what, "the token ends with a line break, which the SDKs refuse to send", { hint });
  }
  if (!/^[\x21-\x7e]*$/.test(text)) {
    throw new InputError(
      what,
      "the token may hold only visible ASCII characters (no spaces, no line breaks)",
      {
        hint,
      },
    );
  }
  if (text.length < MIN_TOKEN_CHARS) {
    throw new InputError(what, `the token is shorter than ${MIN_TOKEN_CHARS} characters`, { hint });
  }
  return text;
}

/** Compares two strings in time that depends only on their lengths, not on where they differ. */
export function sameToken(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % Math.max(a.length, 1)] ?? 0) ^ b[i];
  return diff === 0;
}

/** The `export` lines a shell evaluates to point the SDKs at the endpoint (the token, or the token file). */
export function exportLines(port: number, auth: { token: string } | { tokenFile: string }): string {
  const lines = [["AWS_CONTAINER_CREDENTIALS_FULL_URI", `http://127.0.0.1:${port}${CREDENTIALS_PATH}`]];
  lines.push(
    "token" in auth
      ? ["AWS_CONTAINER_AUTHORIZATION_TOKEN", auth.token]
      : ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", auth.tokenFile],
  );
  return lines.map(([n, v]) => `export ${n}=${shellWord(v)}\n`).join("");
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

/**
 * One provider shared by every request of this process: credentials are kept in memory while more than the
 * margin remains (`marginFor(lifetime)`: the cache's rule, so memory and cache agree on when to refresh), and
 * while a call is in flight every request waits for that same call (N requests → one call). A failed call is
 * not remembered: the next request tries again.
 */
export function sharedCredentials(
  fetch: () => Promise<Credentials>,
  clock: () => number,
  marginFor: (lifetimeMs: number) => number,
): { get(): Promise<Credentials>; settled(): Promise<void> } {
  let held: { credentials: Credentials; refreshAt: number } | undefined;
  let inFlight: Promise<Credentials> | undefined;
  return {
    get() {
      if (held !== undefined && clock() < held.refreshAt) return Promise.resolve(held.credentials);
      inFlight ??= fetch().then(
        (credentials) => {
          const expires = credentials.expiration?.getTime();
          held = expires === undefined
            ? undefined
            : { credentials, refreshAt: expires - marginFor(expires - clock()) };
          inFlight = undefined;
          return credentials;
        },
        (e) => {
          inFlight = undefined;
          throw e;
        },
      );
      return inFlight;
    },
    async settled() {
      await inFlight?.catch(() => {});
    },
  };
}

/** What the handler needs besides the request. */
export interface HandlerOptions {
  /** The token every request's `Authorization` header must equal. */
  readonly token: string;
  /** The port listened on (for the Host check); read per request, known once listening. */
  readonly port: () => number;
  /** The credentials to serve (shared, see {@link sharedCredentials}). */
  readonly credentials: () => Promise<Credentials>;
  readonly includeAccountId: boolean;
  /** How long one request may wait for credentials before it is told 504 (the call itself goes on). */
  readonly timeoutMs: number;
  /** One line per request (method, path, status, ms), and why a request failed; never a secret. */
  readonly log: (line: string) => void;
  /** Scrubs registered secrets from an error message before it leaves the process. */
  readonly scrub: (text: string) => string;
  /** Called once per failed credentials call with the error (the CLI says it on stderr). */
  readonly onFailure?: (e: unknown) => void;
  readonly maxInFlight?: number;
}

/** A JSON answer; the SDKs read `Code` and `Message` of an error (the JS SDK by those names). */
function answer(
  status: number,
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}

const refusal = (status: number, code: string, message: string, headers?: Record<string, string>) =>
  answer(status, { Code: code, Message: message }, headers);

/** The error kind a consumer sees: credproc's class name (`StsError`, `NetworkError`, …). */
function errorKind(e: unknown): string {
  return e instanceof CredprocError ? e.name : "InternalError";
}

/** Host header values a request may carry: the loopback address or `localhost`, with the port. */
function hostAllowed(host: string | null, port: number): boolean {
  if (host === null) return false;
  const h = host.toLowerCase();
  const names = ["127.0.0.1", "localhost"];
  return names.some((n) => h === `${n}:${port}` || (port === 80 && h === n));
}

/**
 * The request handler: Host (DNS rebinding), target size, path, method, no body, token, concurrency — in
 * that order, each refused with its own status — then the credentials, or a 500 naming the kind of failure.
 */
export function createHandler(o: HandlerOptions): (req: Request) => Promise<Response> {
  let inFlight = 0;
  const max = o.maxInFlight ?? MAX_IN_FLIGHT;
  let lastFailure: unknown;
  return async (req) => {
    const started = performance.now();
    let path = "?";
    const done = (res: Response, why = ""): Response => {
      const ms = Math.round(performance.now() - started);
      o.log(`serve: ${req.method.slice(0, 16)} ${path} ${res.status} ${ms} ms${why ? ` (${why})` : ""}`);
      return res;
    };
    if (!hostAllowed(req.headers.get("host"), o.port())) {
      return done(refusal(403, "Forbidden", "the Host header must be 127.0.0.1:PORT or localhost:PORT"));
    }
    if (req.url.length > MAX_TARGET_CHARS) return done(refusal(414, "URITooLong", "request target too long"));
    const url = new URL(req.url);
    // Only the path is logged, cut short and made printable by the logger: never a query string.
    path = url.pathname.slice(0, 100);
    if (url.pathname !== CREDENTIALS_PATH || url.search !== "") {
      return done(refusal(404, "NotFound", `only GET ${CREDENTIALS_PATH} is served`));
    }
    if (req.method !== "GET") {
      return done(refusal(405, "MethodNotAllowed", "only GET is served", { allow: "GET" }));
    }
    const length = req.headers.get("content-length");
    if ((length !== null && length !== "0") || req.headers.has("transfer-encoding")) {
      return done(refusal(413, "PayloadTooLarge", "a request body is not accepted"));
    }
    const auth = req.headers.get("authorization");
    if (auth === null || auth.length > MAX_AUTHORIZATION_CHARS || !sameToken(auth, o.token)) {
      return done(refusal(401, "Unauthorized", "the Authorization header is missing or wrong"));
    }
    if (inFlight >= max) {
      return done(refusal(503, "TooManyRequests", "too many requests at once", { "retry-after": "1" }));
    }
    inFlight++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const call = o.credentials();
      const timeout = new Promise<"timeout">((resolve) =>
        timer = setTimeout(() => resolve("timeout"), o.timeoutMs)
      );
      const got = await Promise.race([call, timeout]);
      if (got === "timeout") {
        call.catch(() => {}); // its failure, if any, is reported by the request that sees it
        return done(refusal(504, "Timeout", `no credentials within ${o.timeoutMs / 1000} s`));
      }
      return done(
        new Response(credentialsDocument(got, o.includeAccountId), {
          headers: { "content-type": "application/json", "cache-control": "no-store" },
        }),
      );
    } catch (e) {
      const message = o.scrub(e instanceof CredprocError ? `${e.what}: ${e.message}` : oneLine(e));
      if (e !== lastFailure) {
        lastFailure = e; // every request that shared the failed call gets the same error: report it once
        o.onFailure?.(e);
      }
      return done(refusal(500, errorKind(e), message.slice(0, 1000)), errorKind(e));
    } finally {
      clearTimeout(timer);
      inFlight--;
    }
  };
}

/** A listening endpoint. */
export interface Listening {
  readonly port: number;
  /** Stops accepting, lets the requests in progress finish (at most `graceMs`), then resolves. */
  stop(graceMs: number): Promise<void>;
  /** Resolves when the server has ended. */
  readonly finished: Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0: a free one) with `handler`. Failure to listen is a one-line error. */
export function listen(port: number, handler: (req: Request) => Promise<Response>): Listening {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: "127.0.0.1",
      port,
      // Deno prints "Listening on …" to stdout by default: stdout carries only the export lines.
      onListen: () => {},
      onError: () => new Response(null, { status: 500 }),
    }, handler);
  } catch (e) {
    const why = e instanceof Deno.errors.AddrInUse
      ? "the port is in use"
      : e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable
      ? "permission denied"
      : oneLine(e);
    throw new CredprocError(`serve: cannot listen on 127.0.0.1:${port}`, why, 1, {
      cause: e,
      hint: "pick another --port, or leave it out for a free one",
    });
  }
  return {
    port: server.addr.port,
    finished: server.finished,
    async stop(graceMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        server.shutdown(),
        new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
      ]);
      clearTimeout(timer);
    },
  };
}

/**
 * Resolves on the first SIGINT or SIGTERM (SIGINT and SIGBREAK on Windows, which has no SIGTERM); the
 * listeners are removed by `dispose`.
 */
export function untilSignal(): { readonly signalled: Promise<Deno.Signal>; dispose(): void } {
  const names: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM"];
  let resolve!: (s: Deno.Signal) => void;
  const signalled = new Promise<Deno.Signal>((r) => resolve = r);
  const listeners = names.map((name) => [name, () => resolve(name)] as const);
  for (const [name, fn] of listeners) Deno.addSignalListener(name, fn);
  return {
    signalled,
    dispose: () => listeners.forEach(([name, fn]) => Deno.removeSignalListener(name, fn)),
  };
}
