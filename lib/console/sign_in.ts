/**
 * `credproc console`: a console sign-in URL for the role a plan assumes. Every input is checked first — the
 * partition and destination (destination.ts), the federation endpoint (federation.ts) — then the credentials
 * come from the cached provider `assume` uses and the sign-in token from the federation endpoint.
 */
import { UsageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { CredentialProvider, Plan } from "../model.ts";
import type { Deadline } from "../providers/deadline.ts";
import { checkDestinationPartition, consolePartition, defaultDestination } from "./destination.ts";
import { type Fetch, getSigninToken, loginUrl, SIGNIN_URL_ENV, signinEndpoint } from "./federation.ts";

// The variable that overrides the federation endpoint: the full program reads it when it runs `console`.
export { SIGNIN_URL_ENV };

/** What {@link consoleUrl} needs besides the plan and the provider. */
export interface ConsoleDeps {
  /** `--destination`, validated by `validateDestination` (destination.ts); else the console home of the region. */
  readonly destination?: string;
  /** `CREDPROC_SIGNIN_URL`, if set. */
  readonly signinUrl?: string;
  readonly fetch: Fetch;
  /** The call's `--timeout` budget, shared with the STS steps. */
  readonly deadline: Deadline;
  readonly log: Logger;
}

/**
 * The sign-in URL (one line) for the role the plan assumes: every input is checked first (partition,
 * destination, endpoint: exit 2 before any call), then the credentials come from `provider` (the cached one
 * `assume` uses: no STS call while the entry is fresh) and the token from the federation endpoint.
 */
export async function consoleUrl(
  plan: Plan,
  provider: CredentialProvider,
  deps: ConsoleDeps,
): Promise<string> {
  const { log } = deps;
  const top = plan.hops.at(-1);
  if (top === undefined) {
    // An aws login session printed as it is: its console session is the one it came from.
    throw new UsageError("console", "needs a role to sign in as; give --role-arn ARN");
  }
  const role = top.roleArn;
  const region = plan.endpoint.region;
  const partition = consolePartition(role, region);
  if (deps.destination !== undefined) checkDestinationPartition(deps.destination, partition);
  const destination = deps.destination ?? defaultDestination(partition, region);
  const endpoint = signinEndpoint(partition, deps.signinUrl);
  log.debug(
    `console: partition ${partition}, sign-in endpoint ${endpoint.href}${
      deps.signinUrl ? ` (from ${SIGNIN_URL_ENV})` : ""
    }, destination ${destination}`,
  );
  const credentials = await provider();
  const token = await getSigninToken(endpoint, credentials, deps);
  if (credentials.expiration !== undefined) {
    log.debug(
      `console: the console session ends with the credentials, ${credentials.expiration.toISOString()}`,
    );
  }
  return `${loginUrl(endpoint, destination, token)}\n`;
}
