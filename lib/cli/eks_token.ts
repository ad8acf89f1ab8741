/**
 * `credproc eks-token`'s wiring: the ExecCredential version the client asks for, the role's credentials from
 * the same cached provider `assume` uses (a plan without a role signs with the source's own credentials, as
 * `aws eks get-token --profile P`), and the token behind its own cache entry (`entry("eks-token", …)`): signed
 * locally at the plan's STS endpoint on a miss, and remembered for the fast path, which answers the next
 * identical call with an ExecCredential (never with the credential document: the memo records its kind).
 */
import type { Command } from "./args.ts";
import type { Invocation } from "./deps.ts";
import { ConfigError } from "../errors.ts";
import type { TokenEndpoint } from "../cache/session.ts";
import { effectiveMarginMs } from "../cache/store.ts";
import {
  EXEC_INFO_ENV,
  EXEC_INFO_HINT,
  execCredentialJson,
  type ExecCredentialVersion,
  execInfoVersion,
} from "../eks/exec_credential.ts";
import { eksToken as signToken } from "../eks/token.ts";
import { resolveStsEndpoint } from "../providers/sts.ts";
import { roleProvider } from "./role.ts";
import type { EndpointPlan } from "../model.ts";

/**
 * Where the token points and the region it is signed for: a configured endpoint as it is (signed for the
 * plan's region), else the SDK's endpoint rules for the region, FIPS and dual-stack settings. Always the
 * regional endpoint, as the AWS CLI v2 (its botocore fixes AWS::STS::UseGlobalEndpoint to false): a token for
 * the global endpoint is refused outside the aws partition, and `sts_regional_endpoints = legacy` keeps
 * applying to credproc's own AssumeRole calls only. The rules load the STS client (~15 ms): the cache session
 * asks for them only when this call's memo does not already name the endpoint.
 */
export async function tokenEndpoint(endpoint: EndpointPlan): Promise<TokenEndpoint> {
  if (endpoint.endpointUrl !== undefined) {
    return { url: endpoint.endpointUrl, signingRegion: endpoint.region };
  }
  return await resolveStsEndpoint({ ...endpoint, useGlobalEndpoint: false });
}

/**
 * The version `KUBERNETES_EXEC_INFO` asks for (lib/eks/exec_credential.ts's rule); a value refused is bad
 * input (exit 2), naming why.
 */
export function execCredentialVersion(raw: string | undefined): ExecCredentialVersion {
  const version = execInfoVersion(raw);
  if (typeof version === "object") {
    throw new ConfigError(EXEC_INFO_ENV, version.refused, { hint: EXEC_INFO_HINT });
  }
  return version;
}

/** Runs `credproc eks-token`; returns the ExecCredential document. */
export async function eksToken(
  command: Extract<Command, { kind: "eksToken" }>,
  inv: Invocation,
): Promise<string> {
  const { io, deps, log } = inv;
  // Bad input fails before anything is read or sent.
  let execInfo: string | undefined;
  try {
    execInfo = io.getEnv(EXEC_INFO_ENV);
  } catch {
    throw new ConfigError(EXEC_INFO_ENV, "its value is not valid UTF-8");
  }
  const version = execCredentialVersion(execInfo);
  const { clusterName } = command;
  const { plan, provider, cache } = await roleProvider(command.options, inv, {
    memo: "eks-token",
    sourceOnly: true,
  });
  let via: TokenEndpoint | undefined;
  const token = cache.entry("eks-token", async (endpoint) => {
    via = endpoint;
    const credentials = await provider();
    const now = deps.clock();
    return await signToken({
      credentials,
      clusterName,
      endpoint: endpoint.url,
      signingRegion: endpoint.signingRegion,
      now: new Date(now),
      // The cache's rule for the credentials' own lifetime: a session no longer than the margin (an aws login
      // session's 15 minutes, a 900 s role) is reused for its first half, so the token may live until then —
      // with the whole margin it would expire as it is printed. Credentials without an issue time are fresh.
      marginMs: credentials.expiration === undefined ? cache.marginMs : effectiveMarginMs(
        cache.marginMs,
        credentials.expiration.getTime() - (credentials.issuedAt?.getTime() ?? now),
      ),
    });
  }, {
    cluster: clusterName,
    resolveEndpoint: async () => via = await tokenEndpoint(plan.endpoint),
  });
  const { token: bearer, expiration } = await token();
  await cache.remember();
  // A bearer token for the cluster for up to 15 minutes: never in a log line.
  log.secret(bearer);
  const where = via === undefined
    ? ""
    : ` via ${new URL(via.url).host} (signing region ${via.signingRegion})`;
  log.debug(`eks-token: ${clusterName}${where}, ${version}, expires ${expiration.toISOString()}`);
  return execCredentialJson(version, bearer, expiration);
}
