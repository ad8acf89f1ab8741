/**
 * An `aws login` session (`login_session` profile) as a source: `@aws-sdk/credential-provider-login` reads the
 * token `aws login` cached, refreshes it when 5 minutes or less remain (`POST /v1/token` with a DPoP proof
 * signed by the token's key) and rewrites the file. credproc only decides around it:
 *
 * - the file is judged first (owner, mode, shape; lib/plan/login_token.ts), so the SDK never reads a file
 *   someone else could have written;
 * - the endpoint is credproc's: `AWS_ENDPOINT_URL_SIGNIN` (checked while planning) or what the SDK's Signin
 *   endpoint rules give for the token's sign-in region, with FIPS and dual-stack off, checked against the
 *   sandbox's sign-in hosts — the client never looks for `AWS_ENDPOINT_URL*` or `endpoint_url` itself;
 * - the request goes through Deno's `fetch` (proxy and CA settings as for STS), its answer bounded;
 * - a refresh that fails while another program (the AWS CLI) rotated the token meanwhile is retried once, from
 *   the file, without a request.
 * Serializing refreshes across credproc processes is the caller's (lib/cli/role.ts, the login lock).
 */
import { importNpm, type NpmModules } from "../npm.ts";
import { CredentialsError, NetworkError, SandboxError } from "../errors.ts";
import type { CredentialProvider, LoginToken, SourcePlan } from "../model.ts";
import { signinTokenEndpointProblem } from "../sandbox.ts";
import type { Deadline } from "./deadline.ts";
import { classifyNetworkError, errorText } from "../net_errors.ts";
import { cappedHandler } from "./sts.ts";

/** The SDK refreshes when this much or less of the token's credentials remain (`REFRESH_THRESHOLD`). */
export const SDK_REFRESH_THRESHOLD_MS = 5 * 60 * 1000;

/** What the login provider needs from outside. */
export interface LoginProviderDeps {
  readonly deadline: Deadline;
  /** The SDK's logger (sources.ts's `SdkLogger`): lines go to `--verbose`, never to stderr. */
  readonly logger?: {
    debug(...content: unknown[]): void;
    info(...content: unknown[]): void;
    warn(...content: unknown[]): void;
    error(...content: unknown[]): void;
  };
  /** Reads and judges the token file (see `readLoginToken`). */
  readonly readToken: () => Promise<LoginToken>;
  /** Wall clock in epoch ms. */
  readonly now?: () => number;
}

type LoginSource = Extract<SourcePlan, { kind: "login" }>;

/** The provider for an `aws login` source; the SDK loads on the first call. */
export function loginProvider(source: LoginSource, deps: LoginProviderDeps): CredentialProvider {
  const now = deps.now ?? Date.now;
  return async () => {
    const token = await deps.readToken();
    const region = token.signInRegion ?? source.region;
    if (region === undefined) {
      throw new CredentialsError(
        `aws login session of profile ${source.profile}`,
        "the token names no sign-in region, and the profile has no region (nor AWS_REGION)",
        {
          hint:
            `add region = REGION to profile ${source.profile}, or run aws login --profile ${source.profile}`,
        },
      );
    }
    const [{ fromLoginCredentials }, signin, { FetchHttpHandler }] = await Promise.all([
      importNpm("@aws-sdk/credential-provider-login"),
      importNpm("@aws-sdk/nested-clients/signin"),
      importNpm("@smithy/fetch-http-handler"),
    ]);
    const endpoint = source.endpointUrl ?? rulesEndpoint(signin, region);
    const problem = signinTokenEndpointProblem(endpoint);
    if (problem !== undefined) {
      throw new SandboxError(`sign-in endpoint for region ${region}`, problem);
    }
    const what = `token refresh for profile ${source.profile}`;
    const call = () =>
      fromLoginCredentials({
        profile: source.profile,
        logger: deps.logger,
        clientConfig: {
          region,
          endpoint,
          useFipsEndpoint: false,
          useDualstackEndpoint: false,
          // No logger here: the client's middleware would log whole request and response objects.
          maxAttempts: 1,
          requestHandler: cappedHandler(
            new FetchHttpHandler({ requestTimeout: Math.max(1, Math.ceil(deps.deadline.remaining())) }),
            what,
            "a sign-in",
          ),
        },
      })();
    try {
      return await call();
    } catch (e) {
      // The AWS CLI takes no lock: it may have rotated the token while this refresh was on the wire, and the
      // sign-in service may then refuse the refresh token this one sent. Its new token is on disk.
      const again = await deps.readToken().catch(() => undefined);
      if (
        again !== undefined && again.refreshToken !== token.refreshToken &&
        again.expiresAt.getTime() - now() > SDK_REFRESH_THRESHOLD_MS
      ) {
        deps.logger?.warn(`the token was refreshed by another program meanwhile (${errorText(e)}); using it`);
        return await call();
      }
      throw unreachable(e, what) ?? e;
    }
  };
}

/**
 * The SDK words every failed refresh that is not the service's refusal as `Failed to refresh token: <why>.
 * Please re-authenticate using aws login` — a network failure or a 5xx included, where signing in again would
 * not help. Those become a network failure with their reason; refusals (an expired session) stay as they are.
 */
function unreachable(e: unknown, what: string): NetworkError | undefined {
  const text = errorText(e);
  const m = /^Failed to refresh token: (.*)\. Please re-authenticate using aws login$/.exec(text);
  // What the sandbox refused is said as such (sources.ts), not as an unreachable endpoint.
  if (m === null || classifyNetworkError(e).kind === "sandbox") return undefined;
  return new NetworkError(what, `the sign-in endpoint did not refresh the session: ${m[1]}`, {
    hint: "check the network and HTTPS_PROXY, then retry (the aws login session itself may be fine)",
    cause: e,
  });
}

/** The URL the SDK's Signin endpoint rules give for a region (no FIPS, no dual-stack; no I/O). */
function rulesEndpoint(signin: NpmModules["@aws-sdk/nested-clients/signin"], region: string): string {
  const probe = new signin.SigninClient({ region, credentials: { accessKeyId: "", secretAccessKey: "" } });
  try {
    return probe.config.endpointProvider({
      Region: region,
      UseFIPS: false,
      UseDualStack: false,
      IsControlPlane: false,
    }).url.href;
  } finally {
    probe.destroy();
  }
}
