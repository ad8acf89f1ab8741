/**
 * The stand-in's nouns: its public constants and types (re-exported unchanged by mod.ts) and the internal
 * state every part receives explicitly ({@link StandinState}).
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------------

/** The XML namespace of every STS response. */
export const STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/";
/** The account of the stand-in's base IAM user. */
export const STANDIN_ACCOUNT = "123456789012";
/** The name of the stand-in's base IAM user. */
export const STANDIN_USER_NAME = "standin";
/** The ARN `GetCallerIdentity` returns for the base keys (and for `GetSessionToken` credentials). */
export const STANDIN_USER_ARN = `arn:aws:iam::${STANDIN_ACCOUNT}:user/${STANDIN_USER_NAME}`;
/** The default base access key id. */
export const STANDIN_ACCESS_KEY_ID = "AKIDSTANDINEXAMPLE01";
/**
 * The default base secret access key: random-looking, as a real one is. The leak detector looks for any 8
 * characters of it in a row (tests/support/leaks.ts), so words would match paths such as `lib/plan/secrets.ts`.
 */
export const STANDIN_SECRET_ACCESS_KEY = "q7Zs2WlX/9kLp3Rt+Vb8nYd4Hj6Mf0Gc1EXAMPLE01";
/** The default known base keys: access key id → secret access key. */
export const STANDIN_KEYS: Readonly<Record<string, string>> = Object.freeze({
  [STANDIN_ACCESS_KEY_ID]: STANDIN_SECRET_ACCESS_KEY,
});
/** Path prefix of the control endpoints; requests under it are never STS. */
export const CONTROL_PREFIX = "/__standin/";

// ---------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------

/** STS error codes that `{kind: "deny"}` knows the HTTP status and usual message of. */
export type DenyCode =
  | "AccessDenied"
  | "ExpiredToken"
  | "Throttling"
  | "RegionDisabledException"
  | "InvalidClientTokenId"
  | "SignatureDoesNotMatch"
  | "MissingAuthenticationToken"
  | "IncompleteSignature"
  | "MalformedPolicyDocument"
  | "PackedPolicyTooLarge"
  | "ValidationError"
  | "InvalidIdentityToken"
  | "ExpiredTokenException"
  | "IDPRejectedClaim"
  | "IDPCommunicationError"
  | "InvalidAction"
  | "OptInRequired"
  | "RequestExpired"
  | "InternalFailure"
  | "ServiceUnavailable";

/** One injected fault; consumed by exactly one incoming STS request. */
export type Fault =
  /** An STS XML error with this status and code (`Retry-After` header when `retryAfter` is given). */
  | { kind: "error"; status: number; code: string; message?: string; retryAfter?: number }
  /** A common STS error by code, with its real status and message. */
  | { kind: "deny"; code: DenyCode | string; message?: string; retryAfter?: number }
  /** Wait `ms`, then answer normally. */
  | { kind: "delay"; ms: number }
  /** Accept the request and never answer (until the stand-in stops). */
  | { kind: "hang" }
  /** Send 200 headers and part of the body, then abort the connection. */
  | { kind: "close-mid-body" }
  /** 200 with a complete HTTP body holding only a prefix of the XML the action would have answered. */
  | { kind: "truncated-xml" }
  /** 200 `text/xml` whose body is not XML at all. */
  | { kind: "malformed-xml" }
  /** An HTML error page like a proxy's (`text/html`), default status 502. */
  | { kind: "html"; status?: number };

/** Options of {@link startStandin}. */
export interface StandinOptions {
  /** Port to listen on; 0 (default) picks a free one. The host is always 127.0.0.1. */
  port?: number;
  /** Serve HTTPS with these PEM strings. */
  tls?: { cert: string; key: string };
  /** Known base keys (access key id → secret); default {@link STANDIN_KEYS}. */
  keys?: Record<string, string>;
  /**
   * Temporary credentials issued elsewhere (e.g. tests/support/login_standin.ts), accepted with their session
   * token as if issued here; `arn` is what GetCallerIdentity answers for them.
   */
  sessions?: readonly { accessKeyId: string; secretAccessKey: string; sessionToken: string; arn: string }[];
  /** Reject requests whose SigV4 does not verify (default true). Signatures are checked and recorded anyway. */
  verifySignatures?: boolean;
  /** Require this MFA device and code for `AssumeRole` and `GetSessionToken` (unless the caller's credentials came from an MFA-authenticated call). */
  mfa?: { serial: string; code: string } | null;
  /** Accept only this token for `AssumeRoleWithWebIdentity` (otherwise 400 InvalidIdentityToken). */
  webIdentityToken?: string | null;
  /** Give every issued credential exactly this expiration (epoch ms) instead of now + DurationSeconds. */
  expirationMs?: number | null;
  /** The roles' MaxSessionDuration in seconds (default 43200). */
  maxSessionDurationSeconds?: number;
  /** Allowed difference between X-Amz-Date and the stand-in's clock (default 15 minutes). */
  maxClockSkewMs?: number;
}

/** Settings that can be changed on a running stand-in ({@link Standin.configure}, `POST /__standin/config`). */
export type StandinConfig = Pick<
  StandinOptions,
  | "verifySignatures"
  | "mfa"
  | "webIdentityToken"
  | "expirationMs"
  | "maxSessionDurationSeconds"
  | "maxClockSkewMs"
>;

/** One request the stand-in received (control requests are not recorded). */
export interface RecordedRequest {
  /** The `Action` parameter ("" when missing). */
  action: string;
  /** Every form (and query) parameter as received, `Action` and `Version` included. */
  params: Record<string, string>;
  /** The access key id from the SigV4 credential scope, when signed. */
  accessKeyId?: string;
  /** The region from the SigV4 credential scope, when signed. */
  region?: string;
  /** The SigV4 check: true/false when the request was signed, null when it was not (or could not be parsed). */
  signatureValid: boolean | null;
  /** Why the signature check failed, when it did. */
  signatureError?: string;
  /** Whether an `x-amz-security-token` header came along. */
  hasSessionToken: boolean;
  /** `SerialNumber` / `TokenCode` received, when any. */
  mfa?: { serial?: string; code?: string };
  /** Epoch ms when the request arrived. */
  time: number;
  method: string;
  path: string;
  userAgent?: string;
  /** The fault this request consumed, if any. */
  fault?: Fault;
  /** The HTTP status answered (absent while pending, and for `hang`/`close-mid-body` faults it is the status of the headers sent, if any). */
  status?: number;
  /** The STS error code answered, if any. */
  errorCode?: string;
}

/** Credentials the stand-in issued, with the identity they carry. */
export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  /** The action that issued them. */
  action: string;
  /** `GetCallerIdentity` Arn for these credentials. */
  arn: string;
  /** `GetCallerIdentity` UserId (`AROA…:session` for roles). */
  userId: string;
  account: string;
  /** True for role sessions (then chained AssumeRole is limited to one hour). */
  isRoleSession: boolean;
  /** Whether the call that issued them was MFA-authenticated (directly or through its own caller). */
  mfaAuthenticated: boolean;
}

/** A running stand-in. */
export interface Standin {
  /** `http://127.0.0.1:PORT/` (or `https://`). */
  readonly url: string;
  readonly hostname: "127.0.0.1";
  readonly port: number;
  /** The first base key, handy for clients. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Every STS request received, oldest first (cleared in place by {@link reset}). */
  readonly requests: RecordedRequest[];
  /** Pending faults, consumed one per incoming STS request. */
  readonly faults: Fault[];
  /** The fault used when the queue is empty. */
  readonly defaultFault: Fault | null;
  /** Credentials issued so far, by access key id. */
  readonly issued: ReadonlyMap<string, IssuedCredentials>;
  /** Number of recorded requests (of this action, when given). */
  count(action?: string): number;
  /** Clears the request log; with `{faults: true}` also the fault queue and default fault. */
  reset(options?: { faults?: boolean }): void;
  /** Appends faults to the queue. */
  pushFault(...faults: Fault[]): void;
  /** Sets (or clears, with null) the fault applied when the queue is empty. */
  setDefaultFault(fault: Fault | null): void;
  /** Changes settings of the running stand-in. */
  configure(config: StandinConfig): void;
  /** Stops listening, answers hanging requests by dropping them, and waits for the server to finish. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// Internal state, shared by the parts
// ---------------------------------------------------------------------------------------------------------

/** The live settings of a stand-in. */
export interface ConfigState {
  verifySignatures: boolean;
  mfa: { serial: string; code: string } | null;
  webIdentityToken: string | null;
  expirationMs: number | null;
  maxSessionDurationSeconds: number;
  maxClockSkewMs: number;
}

/** Who signed a request. */
export interface Caller {
  accessKeyId?: string;
  arn: string;
  userId: string;
  account: string;
  isRoleSession: boolean;
  mfaAuthenticated: boolean;
  /** Issued credentials were used (GetSessionToken refuses them). */
  temporary: boolean;
}

export interface ActionResult {
  status: number;
  body: string;
  errorCode?: string;
  /** Where `truncated-xml` cuts the body. */
  cutAt?: number;
  /** The same answer as STS's JSON (for `Accept: application/json`). */
  json?: string;
  retryAfter?: number;
}

/** Everything a running stand-in remembers; created once by startStandin and passed to each part. */
export interface StandinState {
  /** Known base keys: access key id → secret access key. */
  readonly keys: Record<string, string>;
  /** The live settings ({@link Standin.configure}). */
  readonly config: ConfigState;
  /** The request log, oldest first. */
  readonly requests: RecordedRequest[];
  /** Pending faults, consumed one per incoming STS request. */
  readonly faults: Fault[];
  /** The fault used when the queue is empty. */
  defaultFault: Fault | null;
  /** Credentials issued so far, by access key id. */
  readonly issued: Map<string, IssuedCredentials>;
  /** Aborted by stop(): releases hanging and delayed handlers. */
  readonly stopping: AbortSignal;
}
