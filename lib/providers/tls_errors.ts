/**
 * Plain words for TLS failures before any HTTP answer, from the text Deno's fetch (rustls) gives: a server that
 * speaks plain HTTP on an https:// URL, an expired or not-yet-valid certificate, a self-signed or unknown
 * issuer, a certificate for another name. Pure; `connectionError` in sts.ts asks it first.
 */

/** What to say about a TLS failure: the reason (after `TLS: `) and the hint. */
export interface TlsExplanation {
  readonly why: string;
  readonly hint: string;
}

const TRUST_HINT =
  "if a private CA or a TLS-inspecting proxy signs that certificate, point DENO_CERT (or NODE_EXTRA_CA_CERTS) at the CA's PEM file";

/**
 * Explains `text` (an error's message chain) for `scheme://host`, or returns undefined when it is not one of
 * the TLS failures known here (the caller's general TLS message applies).
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
