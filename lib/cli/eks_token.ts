/**
 * `credproc eks-token`'s wiring: the ExecCredential version the client asks for, the role's credentials from
 * the same cached provider `assume` uses (no memo: the fast path must never answer this line with the
 * credential document), the STS endpoint of the plan, then the token signed locally.
 */
import type { Command } from "./args.ts";
import type { ArgvScan } from "../argv.ts";
import type { CliDeps, CliIo } from "./deps.ts";
import type { Logger } from "../log.ts";
import { ConfigError } from "../errors.ts";
import { DEFAULT_REFRESH_MARGIN_SECONDS } from "../cache/store.ts";
import { EXEC_INFO_ENV, execCredentialJson, execCredentialVersion } from "../eks/exec_credential.ts";
import { eksToken as signToken } from "../eks/token.ts";
import { resolveStsEndpoint } from "../providers/sts.ts";
import { roleProvider } from "./role.ts";
import type { EndpointPlan } from "../model.ts";

/**
 * Where the token points and the region it is signed for: a configured endpoint as it is (signed for the
 * plan's region), else the SDK's endpoint rules for the region, FIPS and dual-stack settings. Always the
 * regional endpoint, as the AWS CLI v2 (its botocore fixes AWS::STS::UseGlobalEndpoint to false): a token for
 * the global endpoint is refused outside the aws partition, and `sts_regional_endpoints = legacy` keeps
 * applying to credproc's own AssumeRole calls only.
 */
export async function tokenEndpoint(
  endpoint: EndpointPlan,
): Promise<{ readonly url: string; readonly signingRegion: string }> {
  if (endpoint.endpointUrl !== undefined) {
    return { url: endpoint.endpointUrl, signingRegion: endpoint.region };
  }
  return await resolveStsEndpoint({ ...endpoint, useGlobalEndpoint: false });
}

/** Runs `credproc eks-token`; returns the ExecCredential document. */
export async function eksToken(
  command: Extract<Command, { kind: "eksToken" }>,
  argv: ArgvScan,
  io: CliIo,
  deps: CliDeps,
  log: Logger & { readonly toFile: boolean },
): Promise<string> {
  // Bad input fails before anything is read or sent.
  let execInfo: string | undefined;
  try {
    execInfo = io.getEnv(EXEC_INFO_ENV);
  } catch {
    throw new ConfigError(EXEC_INFO_ENV, "its value is not valid UTF-8");
  }
  const version = execCredentialVersion(execInfo);
  const { plan, provider } = await roleProvider(command.options, argv, io, deps, log);
  const credentials = await provider();
  const signing = await tokenEndpoint(plan.endpoint);
  const { token, expiration } = await signToken({
    credentials,
    clusterName: command.clusterName,
    endpoint: signing.url,
    signingRegion: signing.signingRegion,
    now: new Date(deps.clock()),
    marginMs: (command.options.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000,
  });
  // A bearer token for the cluster for 15 minutes: never in a log line.
  log.secret(token);
  log.debug(
    `eks-token: ${command.clusterName} via ${
      new URL(signing.url).host
    } (signing region ${signing.signingRegion}), ` +
      `${version}, expires ${expiration.toISOString()}`,
  );
  return execCredentialJson(version, token, expiration);
}
