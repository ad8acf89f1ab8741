/**
 * `credproc eks-token` against the AWS CLI v2's `aws eks get-token`, byte for byte where the inputs can be made
 * the same:
 * - the token and the ExecCredential document from lib/eks for the same keys, cluster, region and endpoint
 *   settings, signed at the `X-Amz-Date` the AWS CLI's own token carries: the token must be identical,
 *   signature included, and the document identical once the AWS CLI's `expirationTimestamp` (its clock, read a
 *   moment after signing) is used;
 * - the real program against the STS stand-in beside the AWS CLI with the same role credentials: the same
 *   document layout, prefix, query parameters in the same order with the same fixed values, the same signed
 *   headers; only the host (stand-in or regional STS), the dates and the signature differ.
 */
import assert from "node:assert/strict";
import { AWS_V2, ROLE, runCredproc, runProcess, tempHome } from "../support/helpers.ts";
import { startStandin } from "../support/sts_standin/mod.ts";
import { amzDate, tokenUrl } from "../support/kube_api.ts";
import { eksToken } from "../../lib/eks/token.ts";
import { execCredentialJson } from "../../lib/eks/exec_credential.ts";
import { tokenEndpoint } from "../../lib/cli/eks_token.ts";

const KEYS = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  sessionToken: "FwoGZXIvYXdzEXAMPLE+SESSION/TOKEN=",
};
const CLUSTER = "my-cluster_1";

/** Runs `aws eks get-token` with `keys` in the environment (and `extra`); returns stdout. */
async function awsGetToken(
  home: string,
  region: string,
  keys: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  extra: Record<string, string> = {},
): Promise<string> {
  const r = await runProcess(AWS_V2, ["eks", "get-token", "--cluster-name", CLUSTER, "--region", region], {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    AWS_CONFIG_FILE: `${home}/none`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/none`,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    ...(keys.sessionToken ? { AWS_SESSION_TOKEN: keys.sessionToken } : {}),
    ...extra,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  return r.stdout;
}

const CASES: {
  name: string;
  region: string;
  env?: Record<string, string>;
  fips?: boolean;
  dualstack?: boolean;
  legacy?: boolean;
  execInfo?: string;
}[] = [
  { name: "eu-west-1", region: "eu-west-1" },
  { name: "us-east-1 (regional)", region: "us-east-1" },
  {
    name: "us-east-1 with sts_regional_endpoints=legacy (the AWS CLI v2 stays regional)",
    region: "us-east-1",
    env: { AWS_STS_REGIONAL_ENDPOINTS: "legacy" },
    legacy: true,
  },
  { name: "China", region: "cn-north-1" },
  { name: "GovCloud", region: "us-gov-west-1" },
  { name: "FIPS", region: "us-east-1", env: { AWS_USE_FIPS_ENDPOINT: "true" }, fips: true },
  { name: "FIPS in GovCloud", region: "us-gov-west-1", env: { AWS_USE_FIPS_ENDPOINT: "true" }, fips: true },
  { name: "dual-stack", region: "eu-west-1", env: { AWS_USE_DUALSTACK_ENDPOINT: "true" }, dualstack: true },
  {
    name: "KUBERNETES_EXEC_INFO asks for v1",
    region: "eu-central-1",
    execInfo:
      '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}',
  },
];

for (const c of CASES) {
  Deno.test(`token and document equal the AWS CLI v2's, signature included: ${c.name}`, async () => {
    await using home = await tempHome();
    const extra = { ...c.env, ...(c.execInfo ? { KUBERNETES_EXEC_INFO: c.execInfo } : {}) };
    const theirs = await awsGetToken(home.dir, c.region, KEYS, extra);
    const doc = JSON.parse(theirs);
    const theirUrl = tokenUrl(doc.status.token);
    const signedAt = new Date(amzDate(theirUrl.searchParams.get("X-Amz-Date")!));
    const endpoint = await tokenEndpoint({
      region: c.region,
      useFips: c.fips === true,
      useDualstack: c.dualstack === true,
      useGlobalEndpoint: c.legacy === true,
    });
    const ours = await eksToken({
      credentials: { ...KEYS, expiration: new Date(signedAt.getTime() + 3600_000) },
      clusterName: CLUSTER,
      endpoint: endpoint.url,
      signingRegion: endpoint.signingRegion,
      now: signedAt,
      marginMs: 15 * 60_000,
    });
    assert.equal(ours.token, doc.status.token);
    // The whole document, byte for byte, with the AWS CLI's expirationTimestamp (its own clock) ...
    assert.equal(
      execCredentialJson(doc.apiVersion, ours.token, new Date(doc.status.expirationTimestamp)),
      theirs,
    );
    // ... which is ours (signing time + 14 minutes) or a second later.
    const skew = Date.parse(doc.status.expirationTimestamp) - ours.expiration.getTime();
    assert.ok(skew === 0 || skew === 1000, `expirationTimestamp ${doc.status.expirationTimestamp} vs ours`);
    assert.equal(ours.expiration.getTime(), signedAt.getTime() + 14 * 60_000);
    assert.equal(
      doc.apiVersion,
      c.execInfo ? "client.authentication.k8s.io/v1" : "client.authentication.k8s.io/v1beta1",
    );
  });
}

Deno.test("credproc eks-token (the program, role via the STS stand-in) has the AWS CLI v2's structure", async () => {
  await using sts = await startStandin();
  await using home = await tempHome();
  const env = home.env({
    AWS_ACCESS_KEY_ID: sts.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sts.secretAccessKey,
    AWS_ENDPOINT_URL_STS: sts.url,
  });
  const r = await runCredproc([
    "eks-token",
    "--cluster-name",
    CLUSTER,
    "--role-arn",
    ROLE,
    "--region",
    "eu-west-1",
  ], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const [issued] = [...sts.issued.values()];
  const theirs = await awsGetToken(home.dir, "eu-west-1", issued);
  const [ourDoc, theirDoc] = [JSON.parse(r.stdout), JSON.parse(theirs)];
  // The layout: the same text once the token and the timestamp are blanked.
  const blank = (text: string, doc: { status: { token: string; expirationTimestamp: string } }) =>
    text.replace(doc.status.token, "TOKEN").replace(doc.status.expirationTimestamp, "TIME");
  assert.equal(blank(r.stdout, ourDoc), blank(theirs, theirDoc));
  const [ours, their] = [tokenUrl(ourDoc.status.token), tokenUrl(theirDoc.status.token)];
  assert.equal(ours.host, new URL(sts.url).host);
  assert.equal(their.host, "sts.eu-west-1.amazonaws.com");
  assert.equal(ours.pathname, "/");
  assert.equal(their.pathname, "/");
  assert.deepEqual([...ours.searchParams.keys()], [...their.searchParams.keys()]);
  assert.deepEqual([...ours.searchParams.keys()], [
    "Action",
    "Version",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
  ]);
  for (const name of ["Action", "Version", "X-Amz-Algorithm", "X-Amz-Expires", "X-Amz-SignedHeaders"]) {
    assert.equal(ours.searchParams.get(name), their.searchParams.get(name), name);
  }
  assert.equal(ours.searchParams.get("X-Amz-SignedHeaders"), "host;x-k8s-aws-id");
  assert.equal(ours.searchParams.get("X-Amz-Expires"), "60");
  assert.equal(ours.searchParams.get("X-Amz-Security-Token"), issued.sessionToken);
  assert.equal(their.searchParams.get("X-Amz-Security-Token"), issued.sessionToken);
  // Same key, same scope; the day may differ only across midnight.
  const scope = (u: URL) => u.searchParams.get("X-Amz-Credential")!.split("/");
  assert.deepEqual(scope(ours).filter((_, i) => i !== 1), [
    issued.accessKeyId,
    "eu-west-1",
    "sts",
    "aws4_request",
  ]);
  assert.deepEqual(scope(their).filter((_, i) => i !== 1), [
    issued.accessKeyId,
    "eu-west-1",
    "sts",
    "aws4_request",
  ]);
  // Percent-encoding as the AWS CLI writes it (`%2F` in the credential, `%3B` between signed headers).
  const raw = (u: URL, name: string) => u.search.split("&").find((p) => p.startsWith(`${name}=`));
  for (const name of ["X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Security-Token"]) {
    assert.equal(
      raw(ours, name)!.replace(/%2F\d{8}%2F/, "%2FDAY%2F"),
      raw(their, name)!.replace(/%2F\d{8}%2F/, "%2FDAY%2F"),
    );
  }
  assert.match(ours.searchParams.get("X-Amz-Signature")!, /^[0-9a-f]{64}$/);
});
