/**
 * A fake Kubernetes API server on 127.0.0.1 over TLS (kubectl sends exec-plugin tokens only over https) that
 * authenticates bearer tokens the way aws-iam-authenticator's token verifier does, written here from its
 * documented behaviour: at most 4 KiB, the `k8s-aws-v1.` prefix, base64url without padding, a URL whose
 * scheme and host are the STS it trusts, path `/`, only the presigned-URL parameters (each once, case
 * ignored), `Action=GetCallerIdentity`, `Version=2011-06-15`, `x-k8s-aws-id` among the signed headers,
 * `X-Amz-Expires` from 0 to 900 and an `X-Amz-Date` at most 15 minutes old. Then it sends the presigned GET
 * to that STS with its own cluster name in `x-k8s-aws-id` and `Accept: application/json` (no redirects), and
 * takes the caller's ARN from the JSON answer: only a 200 authenticates. `/api` and `/version` answer
 * authenticated requests; everything else is 401 (no or bad token) or 404.
 *
 * One deliberate difference: the authenticator only trusts `https` STS hosts of an AWS partition; here the
 * trusted STS is the stand-in, on loopback, with whatever scheme it was started with.
 */
import assert from "node:assert/strict";
import { makeTlsFixture, type TlsFixture } from "./net_fixtures.ts";

/** How one request to the fake API server was judged. */
export interface KubeRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Why a token was refused (the first failed check), for assertions. */
  readonly reason?: string;
  /** The STS caller ARN of an authenticated request. */
  readonly arn?: string;
}

/** A running fake API server. */
export interface KubeApi {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  /** The CA's PEM (for a kubeconfig's `certificate-authority-data`, base64 of it). */
  readonly caPem: string;
  readonly requests: KubeRequest[];
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const PREFIX = "k8s-aws-v1.";
const MAX_TOKEN_BYTES = 4096;
const MAX_AGE_MS = 15 * 60 * 1000;
const PARAMETERS = new Set([
  "action",
  "version",
  "x-amz-algorithm",
  "x-amz-credential",
  "x-amz-date",
  "x-amz-expires",
  "x-amz-security-token",
  "x-amz-signature",
  "x-amz-signedheaders",
]);

class Refused extends Error {}

/** Strict base64url without padding (what Go's `base64.RawURLEncoding` accepts). */
function decodeRawUrlBase64(text: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Refused("token is not base64url");
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const binary = atob(b64);
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/**
 * The presigned URL inside an EKS token: fails the test unless the token is `k8s-aws-v1.` and strict base64url
 * without padding of a URL.
 */
export function tokenUrl(token: string): URL {
  assert.ok(token.startsWith(PREFIX), token);
  const text = token.slice(PREFIX.length);
  assert.match(text, /^[A-Za-z0-9_-]+$/, "base64url without padding");
  return new URL(decodeRawUrlBase64(text));
}

/** `20261206T101400Z` → epoch ms, or NaN. */
export function amzDate(text: string): number {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(text);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

/** Checks a bearer token against the trusted STS; returns the caller ARN or throws {@link Refused}. */
async function verify(token: string, sts: URL, clusterName: string): Promise<string> {
  if (new TextEncoder().encode(token).length > MAX_TOKEN_BYTES) throw new Refused("token is too large");
  if (!token.startsWith(PREFIX)) throw new Refused(`token is missing the ${PREFIX} prefix`);
  const text = decodeRawUrlBase64(token.slice(PREFIX.length));
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Refused("token is not a URL");
  }
  if (url.protocol !== sts.protocol) throw new Refused(`unexpected scheme ${url.protocol}`);
  if (url.host !== sts.host) throw new Refused(`unexpected hostname ${url.host}`);
  if (url.pathname !== "/") throw new Refused("unexpected path");
  const params = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    const k = key.toLowerCase();
    if (params.has(k)) throw new Refused(`duplicate query parameter ${key}`);
    if (!PARAMETERS.has(k)) throw new Refused(`non-whitelisted query parameter ${key}`);
    params.set(k, value);
  }
  if (params.get("action") !== "GetCallerIdentity") throw new Refused("unexpected action");
  if (params.get("version") !== "2011-06-15") throw new Refused("unexpected version");
  const signed = (params.get("x-amz-signedheaders") ?? "").split(";").map((h) => h.toLowerCase());
  if (!signed.includes("x-k8s-aws-id")) throw new Refused("x-k8s-aws-id is not signed");
  const expires = params.get("x-amz-expires") ?? "";
  if (!/^\d+$/.test(expires) || Number(expires) > 900) throw new Refused("invalid X-Amz-Expires");
  const date = amzDate(params.get("x-amz-date") ?? "");
  if (Number.isNaN(date)) throw new Refused("invalid X-Amz-Date");
  if (Date.now() > date + MAX_AGE_MS) throw new Refused("X-Amz-Date is expired");
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { "x-k8s-aws-id": clusterName, accept: "application/json" },
      redirect: "manual",
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    throw new Refused(`STS GET failed: ${e instanceof Error ? e.message : e}`);
  }
  const body = await response.text();
  if (response.status !== 200) throw new Refused(`STS answered ${response.status}: ${body.slice(0, 300)}`);
  let arn: unknown;
  try {
    arn = JSON.parse(body)?.GetCallerIdentityResponse?.GetCallerIdentityResult?.Arn;
  } catch {
    throw new Refused("STS answer is not JSON");
  }
  if (typeof arn !== "string" || arn === "") throw new Refused("STS answer names no caller");
  return arn;
}

const JSON_HEADERS = { "content-type": "application/json" };

function status(code: number, reason: string): Response {
  return new Response(
    JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: reason,
      reason,
      code,
    }),
    { status: code, headers: JSON_HEADERS },
  );
}

/**
 * Starts the fake API server for `clusterName`, trusting tokens presigned for the STS at `stsUrl` (the
 * stand-in). `tls` defaults to a fresh CA and certificate for 127.0.0.1 (needs `openssl`).
 */
export async function startKubeApi(
  opts: { clusterName: string; stsUrl: string; tls?: TlsFixture },
): Promise<KubeApi> {
  const tls = opts.tls ?? await makeTlsFixture();
  const sts = new URL(opts.stsUrl);
  const requests: KubeRequest[] = [];
  const abort = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: tls.cert,
    key: tls.key,
    signal: abort.signal,
    onListen() {},
  }, async (req) => {
    const path = new URL(req.url).pathname;
    const note = (r: Omit<KubeRequest, "method" | "path">) =>
      requests.push({ method: req.method, path, ...r });
    const auth = req.headers.get("authorization") ?? "";
    const m = /^Bearer (\S+)$/.exec(auth);
    if (!m) {
      note({ status: 401, reason: "no bearer token" });
      return status(401, "Unauthorized");
    }
    let arn: string;
    try {
      arn = await verify(m[1], sts, opts.clusterName);
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      note({ status: 401, reason: e.message });
      return status(401, "Unauthorized");
    }
    if (req.method === "GET" && path === "/api") {
      note({ status: 200, arn });
      return new Response(
        JSON.stringify({
          kind: "APIVersions",
          versions: ["v1"],
          serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: new URL(req.url).host }],
        }),
        { headers: JSON_HEADERS },
      );
    }
    if (req.method === "GET" && path === "/version") {
      note({ status: 200, arn });
      return new Response(JSON.stringify({ major: "1", minor: "32", gitVersion: "v1.32.0-fake" }), {
        headers: JSON_HEADERS,
      });
    }
    note({ status: 404, arn });
    return status(404, "NotFound");
  });
  const caPem = await Deno.readTextFile(tls.caFile);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      abort.abort();
      await server.finished;
      if (opts.tls === undefined) await tls.cleanup();
    })();
  return {
    url: `https://127.0.0.1:${server.addr.port}`,
    caPem,
    requests,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * A kubeconfig (JSON, which kubectl reads as YAML) for `api` whose user runs `command` as an exec plugin of
 * `apiVersion` (interactiveMode Never: stdin is not the plugin's).
 */
export function kubeconfig(
  api: KubeApi,
  command: readonly string[],
  apiVersion = "client.authentication.k8s.io/v1beta1",
): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{
        name: "eks",
        cluster: { server: api.url, "certificate-authority-data": btoa(api.caPem) },
      }],
      contexts: [{ name: "eks", context: { cluster: "eks", user: "eks" } }],
      "current-context": "eks",
      users: [{
        name: "eks",
        user: {
          exec: {
            apiVersion,
            command: command[0],
            args: command.slice(1),
            interactiveMode: "Never",
          },
        },
      }],
    },
    null,
    2,
  );
}
