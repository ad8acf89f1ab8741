/**
 * What the stand-in answers, as text: STS XML documents, STS errors (the DENY_TABLE of real codes, statuses
 * and messages), proxy-style HTML pages, and responses that break off mid-body.
 *
 * @module
 */

import type { ActionResult, Caller, IssuedCredentials } from "./types.ts";
import { STS_XMLNS } from "./types.ts";
import { DeliberateAbort, encoder } from "./util.ts";

export function xmlEscape(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]!);
}

export type XmlNode = [name: string, content: string | XmlNode[]];

export function renderXml(node: XmlNode, indent = ""): string {
  const [name, content] = node;
  if (typeof content === "string") return `${indent}<${name}>${xmlEscape(content)}</${name}>\n`;
  return `${indent}<${name}>\n${
    content.map((c) => renderXml(c, indent + "  ")).join("")
  }${indent}</${name}>\n`;
}

export function xmlDocument(rootName: string, children: XmlNode[]): string {
  const inner = children.map((c) => renderXml(c, "  ")).join("");
  return `<${rootName} xmlns="${STS_XMLNS}">\n${inner}</${rootName}>\n`;
}

/** An STS error answer: thrown by the checks and actions, rendered by {@link failureResult}. */
export class StsFailure {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly retryAfter?: number,
  ) {}
}

export const DENY_TABLE: Record<string, { status: number; message: string }> = {
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

export function errorXml(code: string, message: string, status: number, requestId: string): string {
  return xmlDocument("ErrorResponse", [
    ["Error", [["Type", status >= 500 ? "Receiver" : "Sender"], ["Code", code], ["Message", message]]],
    ["RequestId", requestId],
  ]);
}

export function validation(field: string, value: string | undefined, constraint: string): StsFailure {
  const shown = value === undefined ? "null" : `'${value}'`;
  return new StsFailure(
    400,
    "ValidationError",
    `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

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

export function htmlPage(status: number): string {
  const title = `${status} ${STATUS_TEXT[status] ?? "Error"}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n` +
    `<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

/** The `<Credentials>` element of an answer that issues credentials. */
export function credentialsXml(c: IssuedCredentials): XmlNode {
  return ["Credentials", [
    ["AccessKeyId", c.accessKeyId],
    ["SecretAccessKey", c.secretAccessKey],
    ["SessionToken", c.sessionToken],
    ["Expiration", c.expiration.toISOString()],
  ]];
}

/** A 200 answer of `action` holding `result`. */
export function success(action: string, result: XmlNode[], requestId: string): ActionResult {
  const body = xmlDocument(`${action}Response`, [
    [`${action}Result`, result],
    ["ResponseMetadata", [["RequestId", requestId]]],
  ]);
  // Cut truncated-xml answers in the middle of the session token when there is one.
  const token = body.indexOf("<SessionToken>");
  const cutAt = token >= 0 ? token + "<SessionToken>".length + 40 : Math.floor(body.length / 2);
  const json = JSON.stringify({
    [`${action}Response`]: {
      [`${action}Result`]: jsonOf(result),
      ResponseMetadata: { RequestId: requestId },
    },
  });
  return { status: 200, body, cutAt, json };
}

/** An answer's elements as STS's JSON answers hold them (our results have no lists). */
function jsonOf(nodes: XmlNode[]): Record<string, unknown> {
  return Object.fromEntries(
    nodes.map(([name, content]) => [name, typeof content === "string" ? content : jsonOf(content)]),
  );
}

/** The error answer of an STS failure. */
export function failureResult(f: StsFailure, requestId: string): ActionResult {
  const body = errorXml(f.code, f.message, f.status, requestId);
  const json = JSON.stringify({
    Error: { Code: f.code, Message: f.message, Type: f.status >= 500 ? "Receiver" : "Sender" },
    RequestId: requestId,
  });
  return { status: f.status, body, errorCode: f.code, retryAfter: f.retryAfter, json };
}

/** Fills the `{caller}`, `{action}`, `{resource}` and `{account}` placeholders of a DENY_TABLE message. */
export function fillMessage(
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

/**
 * An action result as an HTTP response (with `Retry-After` when the result has one); its JSON form when the
 * client asked for JSON and the result has one.
 */
export function xmlResponse(r: ActionResult, requestId: string, json = false): Response {
  const asJson = json && r.json !== undefined;
  const headers = new Headers({
    "content-type": asJson ? "application/json" : "text/xml",
    "x-amzn-requestid": requestId,
  });
  if (r.retryAfter !== undefined) headers.set("retry-after", String(r.retryAfter));
  return new Response(asJson ? r.json : r.body, { status: r.status, headers });
}

/** A response that sends its headers and `prefix`, then breaks the connection. */
export function brokenResponse(
  status: number,
  prefix: string,
  fullLength: number,
  requestId: string,
): Response {
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
