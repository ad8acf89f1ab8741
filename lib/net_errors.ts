/**
 * What went wrong when a request got no answer, named once: the sandbox refused it, it timed out, TLS failed
 * (and why, when rustls says), fetch refuses the port, the connection was refused, the name did not resolve,
 * the proxy refused the tunnel, or the connection closed early. Every caller that sends a request — the STS
 * client (providers/sts_errors.ts), the `aws login` refresh (providers/login.ts) and `credproc console`'s
 * federation call (console/federation.ts) — asks {@link classifyNetworkError} and words the answer for its own
 * user. Pure: it reads the error's message chain, Deno's error classes and names.
 */
import { oneLine } from "./output.ts";

/** What to say about a TLS failure: the reason (after `TLS: `) and the hint. */
export interface TlsExplanation {
  readonly why: string;
  readonly hint: string;
}

/** The kinds of failure before any answer, and what each one carries. */
export type NetworkFailure =
  /**
   * The sandbox refused the connection: `message` is its refusal, `deniedHost` the host it names
   * (`Requires net access to "host:port"`), when it names one.
   */
  | { readonly kind: "sandbox"; readonly deniedHost?: string; readonly message: string }
  /** The request was aborted or timed out (an `AbortError` or `TimeoutError`). */
  | { readonly kind: "timeout" }
  /**
   * TLS failed: `explained` when it is one of the failures {@link explainTls} knows, `reason` the certificate
   * error's name when rustls gives one.
   */
  | { readonly kind: "tls"; readonly explained?: TlsExplanation; readonly reason?: string }
  /** fetch refuses the port (the ports browsers block). */
  | { readonly kind: "blocked-port"; readonly port: string }
  | { readonly kind: "refused" }
  | { readonly kind: "dns" }
  /** The proxy refused the CONNECT tunnel. */
  | { readonly kind: "proxy" }
  /** Reset, broken pipe, closed or aborted before an answer came. */
  | { readonly kind: "closed" }
  | { readonly kind: "other" };

/** A classified failure, with the message chain it was read from and where the request went. */
export type ClassifiedFailure = NetworkFailure & {
  /**
   * The error's message chain on one line. It may name the request URL: a caller whose URL holds secrets (the
   * federation call's query holds the credentials) must never show it.
   */
  readonly text: string;
  /** The request's scheme and host: the caller's, else the ones the error's text names (`for url (…)`). */
  readonly scheme?: string;
  readonly host?: string;
};

/** The first `depth` errors of a cause chain, outermost first. */
function chain(e: unknown, depth: number): unknown[] {
  const out: unknown[] = [];
  for (let cur = e; cur && out.length < depth; cur = (cur as { cause?: unknown }).cause) out.push(cur);
  return out;
}

/** A one-line description of an error and its causes (each message once), for `--verbose` and messages. */
export function errorText(e: unknown): string {
  const parts: string[] = [];
  for (const cur of chain(e, 4)) {
    const m = cur instanceof Error ? cur.message : String(cur);
    if (m && !parts.includes(m)) parts.push(m);
  }
  return oneLine(parts.join(": ")) || "unknown error";
}

/** The error in the chain (five deep) that says the sandbox refused something, if any. */
function sandboxRefusal(e: unknown): Error | undefined {
  for (const cur of chain(e, 5)) {
    if (cur instanceof Deno.errors.NotCapable || cur instanceof Deno.errors.PermissionDenied) {
      return cur as Error;
    }
    if (cur instanceof Error && /Requires net access/.test(cur.message)) return cur;
  }
  return undefined;
}

/**
 * Names a failure before any answer. `target` is where the request went, when the caller knows it (else it
 * is read from the error's text, as Deno's fetch writes it: `error sending request for url (https://host/…)`).
 */
export function classifyNetworkError(
  e: unknown,
  target?: { readonly scheme: string; readonly host: string },
): ClassifiedFailure {
  const text = errorText(e);
  const named = /for url \((\w+):\/\/([^/)\s]+)/.exec(text);
  const scheme = target?.scheme ?? named?.[1];
  const host = target?.host ?? named?.[2];
  const where = {
    text,
    ...(scheme === undefined ? {} : { scheme }),
    ...(host === undefined ? {} : { host }),
  };
  const denied = sandboxRefusal(e);
  if (denied !== undefined) {
    const deniedHost = /net access to "([^"]+)"/.exec(denied.message)?.[1]?.replace(/:\d+$/, "");
    return {
      kind: "sandbox",
      message: denied.message,
      ...(deniedHost === undefined ? {} : { deniedHost }),
      ...where,
    };
  }
  const name = (e as { name?: unknown } | undefined)?.name;
  if (name === "AbortError" || name === "TimeoutError") return { kind: "timeout", ...where };
  const explained = explainTls(text, scheme, host ?? "the endpoint");
  if (explained !== undefined) return { kind: "tls", explained, ...where };
  if (/certificate|UnknownIssuer|CertNotValid|NotValidForName|tls handshake|SSL/i.test(text)) {
    const reason = /invalid peer certificate: (\w+)/.exec(text)?.[1] ??
      /certificate[^:]*: ([^:]+)$/.exec(text)?.[1];
    return { kind: "tls", ...(reason === undefined ? {} : { reason: oneLine(reason) }), ...where };
  }
  const port = /Requests to port (\d+) are blocked/.exec(text)?.[1];
  if (port !== undefined) return { kind: "blocked-port", port, ...where };
  if (/Connection refused/i.test(text)) return { kind: "refused", ...where };
  if (/dns error|failed to lookup|Name or service not known|nodename nor servname/i.test(text)) {
    return { kind: "dns", ...where };
  }
  if (/tunnel|proxy/i.test(text)) return { kind: "proxy", ...where };
  if (/reset|broken pipe|connection closed|aborted/i.test(text)) return { kind: "closed", ...where };
  return { kind: "other", ...where };
}

const TRUST_HINT =
  "if a private CA or a TLS-inspecting proxy signs that certificate, point DENO_CERT (or NODE_EXTRA_CA_CERTS) at the CA's PEM file";

/**
 * Plain words for the TLS failures known here, from the text Deno's fetch (rustls) gives for `scheme://host`:
 * a server that speaks plain HTTP on an https:// URL, an expired or not-yet-valid certificate, a self-signed or
 * unknown issuer, a certificate for another name. Undefined for any other text (the caller's general TLS
 * message applies).
 */
export function explainTls(
  text: string,
  scheme: string | undefined,
  host: string,
): TlsExplanation | undefined {
  if (
    scheme === "https" &&
    /InvalidContentType|received corrupt message|wrong version number|http request to an https server|received plaintext/i
      .test(text)
  ) {
    return {
      why: `${host} answered in plain HTTP, not TLS`,
      hint: `the endpoint speaks http; use http://${host} in --endpoint-url (or the port that serves https)`,
    };
  }
  const reason = /invalid peer certificate: (\w+)/.exec(text)?.[1] ?? "";
  switch (reason) {
    case "Expired":
      return {
        why: `the certificate of ${host} has expired`,
        hint: "the server's certificate must be renewed (or this machine's clock is wrong: check the date)",
      };
    case "NotValidYet":
      return {
        why: `the certificate of ${host} is not valid yet`,
        hint: "this machine's clock may be behind: check the date, or the server's certificate",
      };
    case "UnknownIssuer":
      return {
        why:
          `the certificate of ${host} is not trusted: self-signed or from an unknown certificate authority`,
        hint: TRUST_HINT,
      };
    case "Other":
      if (/CaUsedAsEndEntity/.test(text)) {
        return {
          why: `the certificate of ${host} is a self-signed CA certificate used as a server certificate`,
          hint: "give the server a certificate signed by a CA, and point DENO_CERT at that CA's PEM file",
        };
      }
      return undefined;
    case "NotValidForName":
      return {
        why: `the certificate of ${host} is not valid for that name`,
        hint: "check the host in --endpoint-url: the certificate names another one",
      };
    default:
      return undefined;
  }
}
