/**
 * The STS client: Deno's `fetch` as the request handler (honours HTTPS_PROXY/NO_PROXY and custom CAs), the
 * SDK's endpoint resolution, standard retries bounded by a total timeout, and the three calls credproc makes.
 * The SDK is imported lazily so a cache hit never loads it.
 */
import { importNpm, type NpmModules } from "../npm.ts";
import { readCapped } from "../capped_read.ts";
import { NetworkError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { Credentials, HopPlan } from "../model.ts";
import { PARTITION_NAME } from "../partitions.ts";
import { errorText } from "../net_errors.ts";
import type { Deadline } from "./deadline.ts";
import { CONNECTION_HINT, mapStsError } from "./sts_errors.ts";

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

type Sdk = NpmModules["@aws-sdk/client-sts"];

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
  let loaded: Promise<[Sdk, NpmModules["@smithy/fetch-http-handler"]]> | undefined;
  const load = () =>
    loaded ??= Promise.all([importNpm("@aws-sdk/client-sts"), importNpm("@smithy/fetch-http-handler")]);

  type Client = InstanceType<Sdk["STSClient"]>;
  type Call<R = StsResult> = (client: Client, sdk: Sdk, options: { abortSignal: AbortSignal }) => Promise<R>;

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
    const endpoint = config.endpointUrl ?? (await resolveStsEndpoint(config)).url;
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
      log.debug(`${what}: failed after ${Math.round(performance.now() - started)} ms: ${errorText(e)}`);
      throw mapStsError(e, what, config);
    } finally {
      client.destroy();
    }
  }

  /** A role call: its answer's credentials and assumed role taken out. */
  const roleCall = (
    what: string,
    source: Credentials | undefined,
    call: Call<Parameters<typeof roleResult>[0]>,
  ) => send(what, source, async (...args) => roleResult(await call(...args)));

  return {
    assumeRole: (source, p) =>
      roleCall(`AssumeRole ${p.roleArn}`, source, (client, sdk, options) =>
        client.send(
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
        )),
    assumeRoleWithWebIdentity: (p) =>
      roleCall(`AssumeRoleWithWebIdentity ${p.roleArn}`, undefined, (client, sdk, options) =>
        client.send(
          new sdk.AssumeRoleWithWebIdentityCommand({ ...roleInput(p), WebIdentityToken: p.webIdentityToken }),
          options,
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
 * in (a declared Content-Length at once): memory stays bounded whatever the endpoint sends. The body is read
 * here, whole, and handed on as bytes (the SDK's deserializers take a `Uint8Array` body as it is). Also used
 * for the sign-in token endpoint (providers/login.ts), whose answers are smaller still.
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
    const body = response.body;
    const declared = Number(response.headers?.["content-length"]);
    if (declared > MAX_STS_RESPONSE_BYTES) {
      if (body instanceof ReadableStream) await body.cancel().catch(() => {});
      throw tooLarge();
    }
    if (body instanceof ReadableStream) {
      try {
        response.body = await readCapped(body, MAX_STS_RESPONSE_BYTES, tooLarge);
      } catch (e) {
        if (e instanceof NetworkError) throw e;
        // The connection failed mid-body: the error goes on in the body, where the SDK's deserializer meets
        // it as it always did (and adds the answer's status, which the error line names).
        response.body = new ReadableStream({ start: (controller) => controller.error(e) });
      }
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

/** An assumed-role ARN (`arn:aws:sts::123456789012:assumed-role/r/s`); its account is group 1. */
const ASSUMED_ROLE_ARN = new RegExp(`^arn:${PARTITION_NAME}:sts::(\\d{12}):assumed-role\\/`);

/** The 12-digit account of an assumed-role ARN, if it is one. */
export function accountOf(arn: string | undefined): string | undefined {
  return ASSUMED_ROLE_ARN.exec(arn ?? "")?.[1];
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

/**
 * Where STS is for these settings, and the region a SigV4 signature for it names: the SDK's endpoint rules
 * (the global endpoint signs for us-east-1), no I/O. The one place credproc runs them: the client's own calls,
 * `credproc eks-token`'s presigned URL and tests/unit/endpoint_test.ts all ask it.
 */
export async function resolveStsEndpoint(
  config: Pick<StsConfig, "region" | "useFips" | "useDualstack" | "useGlobalEndpoint">,
): Promise<{ readonly url: string; readonly signingRegion: string }> {
  const { STSClient } = await importNpm("@aws-sdk/client-sts");
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
