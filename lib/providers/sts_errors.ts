/**
 * An STS call's failure in one line: an STS error code with its hint, a non-STS answer (an HTML page, a
 * truncated or unreadable body), or a failure before any answer, which `classifyNetworkError` (lib/net_errors.ts)
 * names and this module words for STS (the endpoint, the proxy, `--endpoint-url`).
 */
import { CredprocError, NetworkError, SandboxError, StsError } from "../errors.ts";
import { unhandled } from "../model.ts";
import { type ClassifiedFailure, classifyNetworkError } from "../net_errors.ts";
import { oneLine } from "../output.ts";
import { isLoopbackHost, METADATA_HOSTS } from "../sandbox.ts";

/** Hints for STS error codes users hit most. */
const STS_HINTS: Record<string, string> = {
  AccessDenied:
    "check that the role's trust policy allows the caller and the caller may call sts:AssumeRole on it",
  ExpiredToken:
    "the source credentials have expired: refresh them (new keys, aws sso login, a new token) and retry",
  ExpiredTokenException:
    "the source credentials have expired: refresh them (new keys, aws sso login, a new token) and retry",
  InvalidClientTokenId:
    "the source credentials are not valid for this partition or endpoint: check them and the region",
  SignatureDoesNotMatch: "the source secret key does not match its access key id",
  RegionDisabledException: "activate STS in this region (IAM account settings) or use another --region",
  InvalidIdentityToken:
    "the web identity token was rejected: check the role's OIDC provider, audience and subject",
  IDPRejectedClaim:
    "the web identity token was rejected: check the role's OIDC provider, audience and subject",
  // The SDK names some modeled errors with an "Exception" suffix that STS's wire code lacks.
  InvalidIdentityTokenException:
    "the web identity token was rejected: check the role's OIDC provider, audience and subject",
  IDPRejectedClaimException:
    "the web identity token was rejected: check the role's OIDC provider, audience and subject",
};

/** The hint for a failure to reach STS. */
export const CONNECTION_HINT = "check --endpoint-url, --region and proxy settings (HTTPS_PROXY, NO_PROXY)";
const BUSY_HINT =
  "STS is throttling or failing: wait and retry (AWS_MAX_ATTEMPTS allows more attempts, --timeout more time)";
const PROXY_PAGE_HINT =
  "a proxy, firewall or captive portal answered instead of STS: check --endpoint-url and HTTPS_PROXY/NO_PROXY";
const TLS_HINT =
  "if a private CA or a TLS-inspecting proxy signs that certificate, point DENO_CERT (or NODE_EXTRA_CA_CERTS) at the CA's PEM file";

/** STS codes that mean "try again later"; the SDK has already retried them. */
const BUSY_CODES = new Set([
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "InternalFailure",
  "InternalError",
  "ServiceUnavailable",
  "IDPCommunicationError",
]);

/** Maps anything the SDK or fetch throws into a {@link CredprocError}, keeping STS codes and messages. */
export function mapStsError(e: unknown, what: string, config: { readonly timeoutMs: number }): CredprocError {
  for (let cur = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof CredprocError) return cur;
  }
  const err = e as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number; attempts?: number };
    $response?: { headers?: Record<string, string | undefined> };
    cause?: unknown;
  };
  const failure = classifyNetworkError(e);
  if (failure.kind === "sandbox") {
    // Anything else the sandbox refused is named as it is, not blamed on the endpoint.
    if (failure.deniedHost === undefined) {
      return new SandboxError(what, `blocked by the sandbox: ${failure.message}`, { cause: e });
    }
    return new SandboxError(what, `${failure.deniedHost} is outside the allowed endpoints`, {
      hint:
        "credproc only reaches AWS endpoints, instance metadata and loopback (see the README's allow list)",
      cause: e,
    });
  }
  const attempts = err.$metadata?.attempts;
  const tries = attempts !== undefined && attempts > 1 ? ` (after ${attempts} attempts)` : "";
  if (failure.kind === "timeout") {
    const n = attempts !== undefined && attempts > 1 ? `; ${attempts} attempts` : "";
    return new NetworkError(what, `no answer within ${config.timeoutMs / 1000} s (--timeout${n})`, {
      hint: CONNECTION_HINT,
      cause: e,
    });
  }
  const status = err.$metadata?.httpStatusCode;
  const message = oneLine(
    (err.message ?? "").replace(/Deserialization error: to see the raw response.*$/s, ""),
  );
  if (status !== undefined && err.name && err.name !== "Error" && /^[A-Za-z][A-Za-z0-9.]*$/.test(err.name)) {
    if (isStsErrorBody(err) && err.name !== "TypeError") {
      // The wire code (`Code`) is what STS sent; the SDK's `name` may carry a modeled "Exception" suffix.
      const code = typeof (e as { Code?: unknown }).Code === "string"
        ? (e as { Code: string }).Code
        : err.name;
      return new StsError(what, code, `${oneLine(err.message ?? "no message")}${tries}`, {
        hint: STS_HINTS[code] ?? STS_HINTS[err.name] ?? (BUSY_CODES.has(code) ? BUSY_HINT : undefined),
        cause: e,
      });
    }
  }
  if (status !== undefined) {
    const contentType = (err.$response?.headers?.["content-type"] ?? "").toLowerCase();
    if (contentType.includes("html") || /<html|<!doctype html/i.test(message)) {
      return new NetworkError(
        what,
        `the endpoint answered HTTP ${status} with an HTML page, not an STS response${tries}`,
        { hint: PROXY_PAGE_HINT, cause: e },
      );
    }
    if (
      /error reading a body|body from connection|connection closed|unexpected end of file|IncompleteMessage/i
        .test(message)
    ) {
      return new NetworkError(
        what,
        `the connection closed before the answer was complete (HTTP ${status})${tries}`,
        { hint: CONNECTION_HINT, cause: e },
      );
    }
    const xml = /XML parse error: ([^.]{1,80})/.exec(message)?.[1];
    if (xml !== undefined) {
      // The parser names tags, never their text: safe to show, and it tells truncated from garbage.
      return new NetworkError(
        what,
        `the endpoint answered HTTP ${status} with XML that cannot be read (${xml})${tries}`,
        { hint: CONNECTION_HINT, cause: e },
      );
    }
    return new NetworkError(
      what,
      `the endpoint answered HTTP ${status} with something that is not an STS response${tries}`,
      { hint: CONNECTION_HINT, cause: e },
    );
  }
  return connectionError(failure, what, e);
}

/**
 * What a refused connection can mean, by where it went. main.ts sends plain http, loopback and the metadata
 * addresses direct (it drops HTTP_PROXY and ALL_PROXY, and adds those addresses to NO_PROXY); only an https
 * endpoint elsewhere goes through HTTPS_PROXY's CONNECT tunnel, and then a proxy that is down is refused
 * under the endpoint's name.
 */
function refusedHint(scheme: string | undefined, host: string): string {
  let hostname: string | undefined;
  try {
    hostname = scheme === undefined ? undefined : new URL(`${scheme}://${host}`).hostname.toLowerCase();
  } catch { /* not a host: say both */ }
  if (
    scheme === "http" ||
    (hostname !== undefined && (isLoopbackHost(hostname) || METADATA_HOSTS.includes(hostname)))
  ) {
    return "nothing listens there: check --endpoint-url (plain http, loopback and metadata addresses are always reached directly, never through a proxy)";
  }
  return "nothing listens there, or the proxy HTTPS_PROXY names is down (https endpoints go through it unless NO_PROXY matches): check --endpoint-url, HTTPS_PROXY and NO_PROXY";
}

/** A failure before any HTTP answer (classified by `classifyNetworkError`), said plainly, naming the host. */
function connectionError(f: ClassifiedFailure, what: string, e: unknown): NetworkError {
  const host = f.host ?? "the endpoint";
  switch (f.kind) {
    case "tls":
      if (f.explained !== undefined) {
        return new NetworkError(what, `TLS: ${f.explained.why}`, { hint: f.explained.hint, cause: e });
      }
      return new NetworkError(
        what,
        `TLS: the certificate of ${host} is not trusted${f.reason ? ` (${f.reason})` : ""}`,
        { hint: TLS_HINT, cause: e },
      );
    case "refused":
      return new NetworkError(what, `cannot connect to ${host}: connection refused`, {
        hint: refusedHint(f.scheme, host),
        cause: e,
      });
    case "dns":
      return new NetworkError(what, `cannot resolve ${host.replace(/:\d+$/, "")}`, {
        hint: CONNECTION_HINT,
        cause: e,
      });
    case "proxy":
      return new NetworkError(what, `the proxy refused to connect to ${host}: ${f.text}`, {
        hint: CONNECTION_HINT,
        cause: e,
      });
    case "closed":
      return new NetworkError(what, `the connection to ${host} was closed before an answer came`, {
        hint: CONNECTION_HINT,
        cause: e,
      });
    case "blocked-port":
    case "other":
    case "sandbox": // answered by mapStsError already, as is a timeout
    case "timeout":
      return new NetworkError(what, `cannot reach ${host}: ${f.text}`, { hint: CONNECTION_HINT, cause: e });
    default:
      return unhandled(f, "network failure");
  }
}

/** The SDK names unparseable error bodies `Unknown`/`UnknownError`, and keeps the parsed body on `$response`. */
function isStsErrorBody(err: { name?: string; message?: string }): boolean {
  return err.name !== "Unknown" && err.name !== "UnknownError" && err.message !== "UnknownError";
}
