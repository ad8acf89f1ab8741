/**
 * The STS client: Deno's `fetch` as the request handler (honours HTTPS_PROXY/NO_PROXY and custom CAs), the
 * SDK's endpoint resolution, standard retries bounded by a total timeout, and the three calls credproc makes.
 * The SDK is imported lazily so a cache hit never loads it.
 */
import { CredprocError, NetworkError, SandboxError, StsError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Credentials, HopPlan } from "../model.ts";
import { explainTls } from "./tls_errors.ts";
import type { Deadline } from "./deadline.ts";
import { oneLine } from "../output.ts";
import { isLoopbackHost, METADATA_HOSTS } from "../sandbox.ts";

/** How to reach STS. */
export interface StsConfig {
  readonly region: string;
  /** Overrides endpoint resolution (local emulators, VPC endpoints). */
  readonly endpointUrl?: string;
  readonly useFips: boolean;
  readonly useDualstack: boolean;
  /** `sts_regional_endpoints = legacy` sends us-east-1 and other legacy regions to sts.amazonaws.com. */
  readonly useGlobalEndpoint: boolean;
  /** The longest one call may take, retries included. */
  readonly timeoutMs: number;
  /** Attempts per call (the SDK's standard retry mode). */
  readonly maxAttempts: number;
  readonly retryMode: "standard" | "adaptive";
  /** The call's share of the overall deadline (source resolution and every hop draw from one budget). */
  readonly deadline?: Deadline;
}

/** STS answers are a few KiB; a body larger than this is refused while it streams in (exit 1). */
export const MAX_STS_RESPONSE_BYTES = 256 * 1024;

/** What a valid STS answer's fields look like (checked before anything is printed or cached). */
export const ACCESS_KEY_ID_SHAPE = /^[A-Z0-9]{16,128}$/;
/** Base64-like (STS uses the standard alphabet), bounded. */
export const SECRET_KEY_SHAPE = /^[A-Za-z0-9+/=]{16,256}$/;
export const SESSION_TOKEN_SHAPE = /^[A-Za-z0-9+/=]{16,16384}$/;

/** The parameters every role call takes: the hop's, with the session policy as its text (read once). */
type RoleCallParams<K extends keyof HopPlan> =
  & Pick<HopPlan, "roleArn" | "roleSessionName" | "durationSeconds" | "policyArns" | K>
  & {
    readonly policy?: string;
  };

/** AssumeRole parameters: a hop's, plus MFA, external id, tags and source identity. */
export type AssumeRoleParams = RoleCallParams<
  "externalId" | "serialNumber" | "tokenCode" | "tags" | "transitiveTagKeys" | "sourceIdentity"
>;

/** AssumeRoleWithWebIdentity parameters: a hop's, plus the token. */
export type WebIdentityParams = RoleCallParams<never> & { readonly webIdentityToken: string };

/** GetSessionToken parameters. */
export interface SessionTokenParams {
  readonly durationSeconds?: number;
  readonly serialNumber?: string;
  readonly tokenCode?: string;
}

/** What each call returns: credentials plus, for role calls, the assumed-role ARN (for `--verbose`). */
export interface StsResult {
  readonly credentials: Credentials;
  readonly assumedRoleArn?: string;
}

/** The calls credproc makes; tests pass a fake. */
export interface StsCaller {
  assumeRole(source: Credentials, params: AssumeRoleParams): Promise<StsResult>;
  assumeRoleWithWebIdentity(params: WebIdentityParams): Promise<StsResult>;
  getSessionToken(source: Credentials, params: SessionTokenParams): Promise<StsResult>;
}

type Sdk = typeof import("@aws-sdk/client-sts");

/** The request fields both role calls share, in the SDK's shape. */
function roleInput(p: RoleCallParams<never>) {
  return {
    RoleArn: p.roleArn,
    RoleSessionName: p.roleSessionName,
    DurationSeconds: p.durationSeconds,
    Policy: p.policy,
    PolicyArns: p.policyArns?.length ? p.policyArns.map((arn) => ({ arn })) : undefined,
  };
}

/** Creates the real STS caller; the SDK modules load on the first call. */
export function createStsCaller(config: StsConfig, log: Logger): StsCaller {
  let loaded: Promise<[Sdk, typeof import("@smithy/fetch-http-handler")]> | undefined;
  const load = () =>
    loaded ??= Promise.all([import("@aws-sdk/client-sts"), import("@smithy/fetch-http-handler")]);

  type Client = InstanceType<Sdk["STSClient"]>;
  type Call = (client: Client, sdk: Sdk, options: { abortSignal: AbortSignal }) => Promise<StsResult>;

  async function send(what: string, credentials: Credentials | undefined, call: Call): Promise<StsResult> {
    const [sdk, { FetchHttpHandler }] = await load();
    const budget = config.deadline ? config.deadline.remaining() : config.timeoutMs;
    if (budget <= 0) {
      throw new NetworkError(what, `no answer within ${config.timeoutMs / 1000} s (--timeout)`, {
        hint: CONNECTION_HINT,
      });
    }
    // The endpoint is credproc's decision (lib/plan/endpoint.ts): without a configured one, the SDK's endpoint
    // rules are run here, so the client never looks for AWS_ENDPOINT_URL* or endpoint_url on its own.
    const endpoint = config.endpointUrl ?? rulesEndpoint(sdk, config);
    const client = new sdk.STSClient({
      region: config.region,
      endpoint,
      useFipsEndpoint: config.useFips,
      useDualstackEndpoint: config.useDualstack,
      useGlobalEndpoint: config.useGlobalEndpoint,
      maxAttempts: config.maxAttempts,
      retryMode: config.retryMode,
      // AssumeRoleWithWebIdentity is unsigned; the SDK must not go looking for credentials of its own.
      credentials: credentials ?? { accessKeyId: "", secretAccessKey: "" },
      requestHandler: cappedHandler(
        new FetchHttpHandler({ requestTimeout: Math.ceil(budget / config.maxAttempts) }),
        what,
      ),
    });
    const started = performance.now();
    try {
      const result = await call(client, sdk, { abortSignal: AbortSignal.timeout(budget) });
      log.secret(result.credentials.secretAccessKey);
      log.secret(result.credentials.sessionToken);
      log.debug(`${what}: ok in ${Math.round(performance.now() - started)} ms`);
      return result;
    } catch (e) {
      log.debug(`${what}: failed after ${Math.round(performance.now() - started)} ms: ${describe(e)}`);
      throw mapStsError(e, what, config);
    } finally {
      client.destroy();
    }
  }

  return {
    assumeRole: (source, p) =>
      send(`AssumeRole ${p.roleArn}`, source, async (client, sdk, options) =>
        roleResult(
          await client.send(
            new sdk.AssumeRoleCommand({
              ...roleInput(p),
              ExternalId: p.externalId,
              SerialNumber: p.serialNumber,
              TokenCode: p.tokenCode,
              Tags: p.tags?.length ? p.tags.map((t) => ({ Key: t.key, Value: t.value })) : undefined,
              TransitiveTagKeys: p.transitiveTagKeys?.length ? [...p.transitiveTagKeys] : undefined,
              SourceIdentity: p.sourceIdentity,
            }),
            options,
          ),
        )),
    assumeRoleWithWebIdentity: (p) =>
      send(`AssumeRoleWithWebIdentity ${p.roleArn}`, undefined, async (client, sdk, options) =>
        roleResult(
          await client.send(
            new sdk.AssumeRoleWithWebIdentityCommand({
              ...roleInput(p),
              WebIdentityToken: p.webIdentityToken,
            }),
            options,
          ),
        )),
    getSessionToken: (source, p) =>
      send("GetSessionToken", source, async (client, sdk, options) => {
        const output = await client.send(
          new sdk.GetSessionTokenCommand({
            DurationSeconds: p.durationSeconds,
            SerialNumber: p.serialNumber,
            TokenCode: p.tokenCode,
          }),
          options,
        );
        return { credentials: toCredentials(output.Credentials) };
      }),
  };
}

/** The parts of a smithy HTTP handler credproc touches. */
interface Handler {
  handle(
    request: never,
    options?: never,
  ): Promise<{ response: { headers: Record<string, string>; body?: unknown } }>;
  destroy?(): void;
}

/**
 * Wraps the fetch handler so that an answer larger than {@link MAX_STS_RESPONSE_BYTES} fails while it streams
 * in (a declared Content-Length at once): memory stays bounded whatever the endpoint sends. Also used for the
 * sign-in token endpoint (providers/login.ts), whose answers are smaller still.
 */
export function cappedHandler<H extends Handler>(inner: H, what: string, service = "an STS"): H {
  const tooLarge = () =>
    new NetworkError(
      what,
      `the answer is larger than ${MAX_STS_RESPONSE_BYTES / 1024} KiB; not ${service} response`,
      {
        hint: CONNECTION_HINT,
      },
    );
  const handle = async (request: never, options?: never) => {
    const out = await inner.handle(request, options);
    const { response } = out;
    const declared = Number(response.headers?.["content-length"]);
    if (declared > MAX_STS_RESPONSE_BYTES) throw tooLarge();
    const body = response.body;
    if (body instanceof ReadableStream) {
      let seen = 0;
      response.body = body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            seen += chunk.byteLength;
            if (seen > MAX_STS_RESPONSE_BYTES) controller.error(tooLarge());
            else controller.enqueue(chunk);
          },
        }),
      );
    }
    return out;
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "handle") return handle;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Credentials as the SDK parses them from an STS answer. */
export interface SdkCredentials {
  AccessKeyId?: string;
  SecretAccessKey?: string;
  SessionToken?: string;
  Expiration?: Date;
}

function roleResult(o: { Credentials?: SdkCredentials; AssumedRoleUser?: { Arn?: string } }): StsResult {
  const credentials = toCredentials(o.Credentials);
  const accountId = accountOf(o.AssumedRoleUser?.Arn);
  return {
    credentials: accountId === undefined ? credentials : { ...credentials, accountId },
    assumedRoleArn: o.AssumedRoleUser?.Arn,
  };
}

/** The 12-digit account of an assumed-role ARN (`arn:aws:sts::123456789012:assumed-role/r/s`), if it is one. */
export function accountOf(arn: string | undefined): string | undefined {
  return /^arn:aws(?:-[a-z]+)*:sts::(\d{12}):assumed-role\//.exec(arn ?? "")?.[1];
}

/** An STS answer's credentials, every field checked (see the SHAPE constants); a NetworkError otherwise. */
export function toCredentials(c: SdkCredentials | undefined, now = Date.now()): Credentials {
  if (
    !c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !(c.Expiration instanceof Date) ||
    isNaN(+c.Expiration)
  ) {
    throw new NetworkError("STS response", "the answer did not contain complete credentials");
  }
  // Never echo the values: they may be secrets, or text crafted for a terminal or a shell.
  const bad = (field: string, why: string) =>
    new NetworkError("STS response", `${field} ${why}; nothing was printed or cached`, {
      hint:
        "the endpoint is not a genuine STS, or something between rewrote its answer: check --endpoint-url and the proxy",
    });
  if (!ACCESS_KEY_ID_SHAPE.test(c.AccessKeyId)) {
    throw bad("AccessKeyId", "is not 16 to 128 upper-case letters and digits");
  }
  if (!SECRET_KEY_SHAPE.test(c.SecretAccessKey)) throw bad("SecretAccessKey", "is not a base64-like key");
  if (!SESSION_TOKEN_SHAPE.test(c.SessionToken)) throw bad("SessionToken", "is not a base64-like token");
  if (c.Expiration.getTime() <= now) {
    throw bad("Expiration", `is in the past (${c.Expiration.toISOString()})`);
  }
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    expiration: c.Expiration,
  };
}

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

const CONNECTION_HINT = "check --endpoint-url, --region and proxy settings (HTTPS_PROXY, NO_PROXY)";
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
export function mapStsError(e: unknown, what: string, config: Pick<StsConfig, "timeoutMs">): CredprocError {
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
  const denied = findNotCapable(e);
  if (denied) {
    const host = /net access to "([^"]+)"/.exec(denied.message)?.[1];
    // Anything else the sandbox refused is named as it is, not blamed on the endpoint.
    if (host === undefined) {
      return new SandboxError(what, `blocked by the sandbox: ${denied.message}`, { cause: e });
    }
    return new SandboxError(what, `${host.replace(/:\d+$/, "")} is outside the allowed endpoints`, {
      hint:
        "credproc only reaches AWS endpoints, instance metadata and loopback (see the README's allow list)",
      cause: e,
    });
  }
  const attempts = err.$metadata?.attempts;
  const tries = attempts !== undefined && attempts > 1 ? ` (after ${attempts} attempts)` : "";
  if (err.name === "AbortError" || err.name === "TimeoutError") {
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
  return connectionError(e, what);
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

/** A failure before any HTTP answer: refused, reset, DNS, TLS — said plainly, naming the host. */
function connectionError(e: unknown, what: string): NetworkError {
  const text = describe(e);
  const target = /for url \((\w+):\/\/([^/)\s]+)/.exec(text);
  const host = target?.[2] ?? "the endpoint";
  const tls = explainTls(text, target?.[1], host);
  if (tls !== undefined) return new NetworkError(what, `TLS: ${tls.why}`, { hint: tls.hint, cause: e });
  if (/certificate|UnknownIssuer|CertNotValid|NotValidForName|tls handshake|SSL/i.test(text)) {
    const reason = /invalid peer certificate: (\w+)/.exec(text)?.[1] ??
      /certificate[^:]*: ([^:]+)$/.exec(text)?.[1];
    return new NetworkError(
      what,
      `TLS: the certificate of ${host} is not trusted${reason ? ` (${oneLine(reason)})` : ""}`,
      { hint: TLS_HINT, cause: e },
    );
  }
  if (/Connection refused/i.test(text)) {
    return new NetworkError(what, `cannot connect to ${host}: connection refused`, {
      hint: refusedHint(target?.[1], host),
      cause: e,
    });
  }
  if (/dns error|failed to lookup|Name or service not known|nodename nor servname/i.test(text)) {
    return new NetworkError(what, `cannot resolve ${host.replace(/:\d+$/, "")}`, {
      hint: CONNECTION_HINT,
      cause: e,
    });
  }
  if (/tunnel|proxy/i.test(text)) {
    return new NetworkError(what, `the proxy refused to connect to ${host}: ${oneLine(text)}`, {
      hint: CONNECTION_HINT,
      cause: e,
    });
  }
  if (/reset|broken pipe|connection closed|aborted/i.test(text)) {
    return new NetworkError(what, `the connection to ${host} was closed before an answer came`, {
      hint: CONNECTION_HINT,
      cause: e,
    });
  }
  return new NetworkError(what, `cannot reach ${host}: ${oneLine(text)}`, {
    hint: CONNECTION_HINT,
    cause: e,
  });
}

/** The SDK names unparseable error bodies `Unknown`/`UnknownError`, and keeps the parsed body on `$response`. */
function isStsErrorBody(err: { name?: string; message?: string }): boolean {
  return err.name !== "Unknown" && err.name !== "UnknownError" && err.message !== "UnknownError";
}

function findNotCapable(e: unknown): Error | undefined {
  for (let cur = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    if (cur instanceof Deno.errors.NotCapable || cur instanceof Deno.errors.PermissionDenied) {
      return cur as Error;
    }
    if (cur instanceof Error && /Requires net access/.test(cur.message)) return cur;
  }
  return undefined;
}

/** A one-line description of an error and its causes, for `--verbose` and network failures. */
export function describe(e: unknown): string {
  const parts: string[] = [];
  for (let cur = e, depth = 0; cur && depth < 4; cur = (cur as { cause?: unknown }).cause, depth++) {
    const m = cur instanceof Error ? cur.message : String(cur);
    if (m && !parts.includes(m)) parts.push(m);
  }
  return oneLine(parts.join(": ")) || "unknown error";
}

/** The URL the SDK's endpoint rules give for these settings (no I/O). */
function rulesEndpoint(
  sdk: Sdk,
  config: Pick<StsConfig, "region" | "useFips" | "useDualstack" | "useGlobalEndpoint">,
): string {
  const probe = new sdk.STSClient({
    region: config.region,
    credentials: { accessKeyId: "", secretAccessKey: "" },
  });
  try {
    return probe.config.endpointProvider({
      Region: config.region,
      UseFIPS: config.useFips,
      UseDualStack: config.useDualstack,
      UseGlobalEndpoint: config.useGlobalEndpoint,
    }).url.href;
  } finally {
    probe.destroy();
  }
}

/**
 * The STS URL the SDK would use for a region and endpoint settings. Sends nothing: it runs the SDK's
 * endpoint rules only, so tests can check real regions without contacting them.
 */
export async function resolveStsEndpoint(
  config: Pick<StsConfig, "region" | "useFips" | "useDualstack" | "useGlobalEndpoint">,
): Promise<string> {
  const { STSClient } = await import("@aws-sdk/client-sts");
  const client = new STSClient({
    region: config.region,
    credentials: { accessKeyId: "", secretAccessKey: "" },
  });
  try {
    const endpoint = client.config.endpointProvider({
      Region: config.region,
      UseFIPS: config.useFips,
      UseDualStack: config.useDualstack,
      UseGlobalEndpoint: config.useGlobalEndpoint,
    });
    return endpoint.url.href;
  } finally {
    client.destroy();
  }
}

/**
 * Where a presigned STS request goes and the region its SigV4 scope names: the SDK's endpoint rules for these
 * settings (the global endpoint signs for us-east-1), no I/O. For `credproc eks-token`.
 */
export async function resolveStsSigning(
  config: Pick<StsConfig, "region" | "useFips" | "useDualstack" | "useGlobalEndpoint">,
): Promise<{ readonly url: string; readonly signingRegion: string }> {
  const { STSClient } = await import("@aws-sdk/client-sts");
  const client = new STSClient({
    region: config.region,
    credentials: { accessKeyId: "", secretAccessKey: "" },
  });
  try {
    const endpoint = client.config.endpointProvider({
      Region: config.region,
      UseFIPS: config.useFips,
      UseDualStack: config.useDualstack,
      UseGlobalEndpoint: config.useGlobalEndpoint,
    });
    const schemes = endpoint.properties?.authSchemes as readonly { signingRegion?: unknown }[] | undefined;
    const signingRegion = schemes?.find((s) => typeof s.signingRegion === "string")?.signingRegion;
    return {
      url: endpoint.url.href,
      signingRegion: typeof signingRegion === "string" ? signingRegion : config.region,
    };
  } finally {
    client.destroy();
  }
}
