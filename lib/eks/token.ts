/**
 * The EKS bearer token, as `aws eks get-token` and aws-iam-authenticator make it: `k8s-aws-v1.` + base64url (no
 * padding) of a presigned STS `GetCallerIdentity` GET whose signature covers the `x-k8s-aws-id` header (the
 * cluster name). The API server's authenticator sends that GET to STS with its own cluster name in the header,
 * so a token signed for another cluster fails there. Signed with the SDK family's SigV4 signer and hash; no I/O:
 * the credentials, endpoint and clock come in as arguments. The SDK modules are imported lazily, like the STS
 * client's: the full program's static graph holds no npm package (a test keeps it so).
 */
import { importNpm } from "../npm.ts";
import { FailureError } from "../errors.ts";
import { type Credentials, EKS_TOKEN_MAX_BYTES, type EksToken } from "../model.ts";

/** What every token starts with (aws-iam-authenticator's v1 token format). */
export const TOKEN_PREFIX = "k8s-aws-v1.";
/** The signed header that binds a token to one cluster. */
export const CLUSTER_ID_HEADER = "x-k8s-aws-id";
/** `X-Amz-Expires` of the presigned URL, as the AWS CLI sends it (STS honours 15 minutes from `X-Amz-Date`). */
export const URL_TIMEOUT_SECONDS = 60;
/** The token's `expirationTimestamp`: 14 minutes after signing, one under STS's 15 (as the AWS CLI). */
export const TOKEN_LIFETIME_MS = 14 * 60 * 1000;

/** The query parameters of the presigned URL, in the order botocore writes them (the AWS CLI's token). */
const QUERY_ORDER = [
  "Action",
  "Version",
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Security-Token",
  "X-Amz-Signature",
] as const;

/** What a token is made from. */
export interface TokenInput {
  readonly credentials: Credentials;
  readonly clusterName: string;
  /** The STS endpoint the URL points at (`https://sts.REGION.amazonaws.com`, or a configured endpoint URL). */
  readonly endpoint: string;
  /** The SigV4 scope's region (the endpoint rules' signing region: `us-east-1` for the global endpoint). */
  readonly signingRegion: string;
  /** Signing time. */
  readonly now: Date;
  /**
   * The refresh margin: the token must expire this long before the credentials that signed it, so that the
   * cache refreshes them before a kubectl call could carry a token they no longer back.
   */
  readonly marginMs: number;
}

export type { EksToken };

/**
 * The token for `input.clusterName`, signed with `input.credentials` at `input.now`. A token longer than
 * aws-iam-authenticator accepts ({@link EKS_TOKEN_MAX_BYTES}) is a failure (exit 1), never printed: the API server
 * would answer 401 to every request, and kubectl would run the plugin again and again for the same token.
 */
export async function eksToken(input: TokenInput): Promise<EksToken> {
  const url = await presignedUrl(input);
  const bytes = new TextEncoder().encode(url);
  const token = TOKEN_PREFIX + base64Url(bytes);
  if (token.length > EKS_TOKEN_MAX_BYTES) throw tooLarge(token.length, input.credentials.sessionToken);
  return { token, expiration: tokenExpiration(input.now, input.credentials.expiration, input.marginMs) };
}

/** Why a token is too large: almost all of it is the session token (base64 grows it by a third). */
function tooLarge(length: number, sessionToken: string | undefined): FailureError {
  const session = sessionToken === undefined
    ? ""
    : ` (the credentials' session token alone is ${sessionToken.length} characters)`;
  return new FailureError(
    "eks-token",
    `the token would be ${length} bytes, over the ${EKS_TOKEN_MAX_BYTES} aws-iam-authenticator accepts${session}`,
    {
      hint:
        "session tags, a session policy or policy ARNs make the role's session token large; sign with a role assumed without them",
    },
  );
}

/**
 * `expirationTimestamp`: signing time + 14 minutes, but no later than the credentials' expiry minus the margin
 * and no earlier than the signing time itself (credentials already inside the margin: the client asks again on
 * its next call). Truncated to the second, as the AWS CLI prints it.
 */
export function tokenExpiration(now: Date, credentialsExpiry: Date | undefined, marginMs: number): Date {
  let end = now.getTime() + TOKEN_LIFETIME_MS;
  if (credentialsExpiry !== undefined) end = Math.min(end, credentialsExpiry.getTime() - marginMs);
  end = Math.max(end, now.getTime());
  return new Date(Math.floor(end / 1000) * 1000);
}

/** The presigned `GetCallerIdentity` URL (the token's payload). */
export async function presignedUrl(input: TokenInput): Promise<string> {
  const endpoint = new URL(input.endpoint);
  const [{ SignatureV4 }, { Sha256 }, { escapeUri }] = await Promise.all([
    importNpm("@smithy/signature-v4"),
    importNpm("@smithy/core/checksum"),
    importNpm("@smithy/core/protocols"),
  ]);
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: input.credentials.accessKeyId,
      secretAccessKey: input.credentials.secretAccessKey,
      sessionToken: input.credentials.sessionToken,
    },
    region: input.signingRegion,
    service: "sts",
    sha256: Sha256,
    uriEscapePath: true,
  });
  const path = endpoint.pathname === "" ? "/" : endpoint.pathname;
  const signed = await signer.presign({
    method: "GET",
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port === "" ? undefined : Number(endpoint.port),
    path,
    query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
    // `host` as the client sends it (with a non-default port), and the cluster: both signed.
    headers: { host: endpoint.host, [CLUSTER_ID_HEADER]: input.clusterName },
  }, { expiresIn: URL_TIMEOUT_SECONDS, signingDate: input.now });
  const query = signed.query as Record<string, string | undefined>;
  const known = new Set<string>(QUERY_ORDER);
  const extra = Object.keys(query).filter((k) => !known.has(k));
  if (extra.length > 0) throw new Error(`unexpected presigned query parameters: ${extra.join(", ")}`);
  const pairs = QUERY_ORDER.flatMap((k) => {
    const v = query[k];
    return v === undefined ? [] : [`${escapeUri(k)}=${escapeUri(v)}`];
  });
  return `${endpoint.protocol}//${endpoint.host}${path}?${pairs.join("&")}`;
}

/** base64url without padding (RFC 4648 §5), what Go's `base64.RawURLEncoding` and the AWS CLI produce. */
function base64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
