/**
 * lib/partitions.ts: the one partition table. Its hosts are exactly the sandbox's allow list (deno.json), its
 * DNS suffixes are what the SDK's STS endpoint rules give for a region of each partition, and the ARN, region
 * and console facts every reader takes from it.
 */
import assert from "node:assert/strict";
import {
  arnPartition,
  CONSOLE_SIGNIN_HOSTS,
  consoleOf,
  DNS_SUFFIXES,
  PARTITION_NAME,
  type PartitionId,
  PARTITIONS,
  REGION_LABEL,
  regionPartition,
  SIGNIN_REGION_LABEL,
  SIGNIN_TOKEN_DOMAINS,
} from "../../lib/partitions.ts";
import {
  endpointProblem,
  isAllowedHost,
  LOOPBACK_HOSTS,
  METADATA_HOSTS,
  NET_ALLOW_LIST,
  signinEndpointProblem,
  signinTokenEndpointProblem,
} from "../../lib/sandbox.ts";
import { resolveStsEndpoint } from "../../lib/providers/sts.ts";
import { REGION, ROLE_ARN } from "../../lib/validate.ts";
import { ROOT } from "../support/helpers.ts";

const NET: string[] = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).permissions.default.net;

/** A region of each partition (the SDK's partition table names them). */
const REGION_OF: Record<PartitionId, string> = {
  "aws": "eu-west-1",
  "aws-us-gov": "us-gov-west-1",
  "aws-cn": "cn-north-1",
  "aws-eusc": "eusc-de-east-1",
  "aws-iso": "us-iso-east-1",
  "aws-iso-b": "us-isob-east-1",
  "aws-iso-e": "eu-isoe-west-1",
  "aws-iso-f": "us-isof-south-1",
};

Deno.test("partitions: every partition's hosts are in deno.json's allow list, and the list holds nothing else", () => {
  assert.deepEqual(PARTITIONS.map((p) => p.id), Object.keys(REGION_OF), "one row per partition, once each");
  const expected = new Set<string>([...METADATA_HOSTS, ...LOOPBACK_HOSTS]);
  for (const p of PARTITIONS) {
    for (const entry of [`*.${p.dnsSuffix}`, `*.${p.dualStackDnsSuffix}`, `*.${p.signinTokenDomain}`]) {
      assert.ok(NET.includes(entry), `${p.id}: ${entry} in deno.json`);
      expected.add(entry);
    }
    if (p.console !== undefined) {
      // The federation host exactly (no wildcard); the console itself is the browser's, never credproc's.
      assert.ok(NET.includes(p.console.signinHost), `${p.id}: ${p.console.signinHost} in deno.json`);
      assert.ok(!NET.some((n) => n.endsWith(p.console!.host)), `${p.id}: ${p.console.host} is not reachable`);
      assert.ok(!isAllowedHost(p.console.host), p.console.host);
      expected.add(p.console.signinHost);
    }
    const region = REGION_OF[p.id];
    assert.ok(isAllowedHost(`sts.${region}.${p.dnsSuffix}`), p.id);
    assert.ok(isAllowedHost(`sts.${region}.${p.dualStackDnsSuffix}`), p.id);
    assert.ok(isAllowedHost(`${region}.${p.signinTokenDomain}`), p.id);
    assert.equal(signinTokenEndpointProblem(`https://${region}.${p.signinTokenDomain}`), undefined, p.id);
  }
  assert.deepEqual(new Set(NET), expected, "deno.json's net is the table's hosts, metadata and loopback");
  assert.deepEqual([...NET_ALLOW_LIST], NET, "and lib/sandbox.ts builds it in deno.json's order");
  assert.deepEqual(NET.length, new Set(NET).size, "each entry once");
});

Deno.test("partitions: the DNS suffixes are the SDK's (its STS endpoint rules for a region of each)", async () => {
  for (const p of PARTITIONS) {
    const region = REGION_OF[p.id];
    const settings = { region, useFips: false, useGlobalEndpoint: false };
    const plain = new URL((await resolveStsEndpoint({ ...settings, useDualstack: false })).url).hostname;
    const dual = new URL((await resolveStsEndpoint({ ...settings, useDualstack: true })).url).hostname;
    assert.equal(plain, `sts.${region}.${p.dnsSuffix}`, p.id);
    assert.equal(dual, `sts.${region}.${p.dualStackDnsSuffix}`, p.id);
    // The inner check takes a region label of two letters first, as `--region` does: the sovereign cloud's
    // `eusc-` regions pass neither (left as it is; see REGION_LABEL).
    if (REGION.test(region)) {
      assert.equal(endpointProblem(`https://${plain}/`), undefined, plain);
      assert.equal(endpointProblem(`https://${dual}/`), undefined, dual);
    }
  }
  assert.deepEqual(DNS_SUFFIXES, [
    "amazonaws.com",
    "amazonaws.com.cn",
    "amazonaws.eu",
    "c2s.ic.gov",
    "sc2s.sgov.gov",
    "cloud.adc-e.uk",
    "csp.hci.ic.gov",
    "api.aws",
    "api.amazonwebservices.com.cn",
    "api.amazonwebservices.eu",
    "api.aws.ic.gov",
    "api.aws.scloud",
    "api.cloud-aws.adc-e.uk",
    "api.aws.hci.ic.gov",
  ]);
  assert.equal(SIGNIN_TOKEN_DOMAINS.length, PARTITIONS.length);
});

Deno.test("partitions: a region's partition by its name; an ARN's by its second field", () => {
  for (const p of PARTITIONS) {
    assert.equal(regionPartition(REGION_OF[p.id]), p.id, REGION_OF[p.id]);
    assert.equal(arnPartition(`arn:${p.id}:iam::123456789012:role/r`), p.id);
    assert.ok(new RegExp(`^${PARTITION_NAME}$`).test(p.id), p.id);
    assert.ok(ROLE_ARN.test(`arn:${p.id}:iam::123456789012:role/r`), p.id);
    assert.ok(new RegExp(`^${SIGNIN_REGION_LABEL}$`).test(REGION_OF[p.id]), p.id);
  }
  // Every other name is the commercial partition's, as in the SDK (new regions of aws need no release).
  assert.equal(regionPartition("ap-southeast-7"), "aws");
  assert.equal(regionPartition("aws-global"), "aws");
  assert.equal(arnPartition("not-an-arn"), "");
  // A region label for STS, SSO and --region has a two-letter head: the sovereign cloud's four do not pass.
  for (const r of ["us-east-1", "cn-north-1", "us-gov-west-1", "us-isob-east-1", "eu-isoe-west-1"]) {
    assert.ok(new RegExp(`^${REGION_LABEL}$`).test(r), r);
    assert.ok(REGION.test(r), r);
  }
  assert.ok(!new RegExp(`^${REGION_LABEL}$`).test("eusc-de-east-1"));
});

Deno.test("partitions: the console hosts, for aws, aws-us-gov and aws-cn only", () => {
  assert.deepEqual(
    PARTITIONS.filter((p) => consoleOf(p.id) !== undefined).map((p) => [p.id, consoleOf(p.id)]),
    [
      ["aws", { host: "console.aws.amazon.com", signinHost: "signin.aws.amazon.com", partition: "aws" }],
      [
        "aws-us-gov",
        {
          host: "console.amazonaws-us-gov.com",
          signinHost: "signin.amazonaws-us-gov.com",
          partition: "aws-us-gov",
        },
      ],
      ["aws-cn", { host: "console.amazonaws.cn", signinHost: "signin.amazonaws.cn", partition: "aws-cn" }],
    ],
  );
  for (const id of ["aws-iso", "aws-eusc", "constructor", "__proto__", ""]) {
    assert.equal(consoleOf(id), undefined);
  }
});

Deno.test("sandbox: the sign-in hosts are allowed exactly, and are no STS endpoint", () => {
  assert.deepEqual(CONSOLE_SIGNIN_HOSTS, [
    "signin.aws.amazon.com",
    "signin.amazonaws-us-gov.com",
    "signin.amazonaws.cn",
  ]);
  for (const h of CONSOLE_SIGNIN_HOSTS) {
    assert.ok(isAllowedHost(h), h);
    assert.equal(signinEndpointProblem(`https://${h}/federation`), undefined, h);
    assert.match(endpointProblem(`https://${h}/`) ?? "", /is not an STS, SSO or SSO-OIDC endpoint/, h);
  }
  for (
    const h of ["aws.amazon.com", "signin.aws.amazon.com.evil.test", "console.aws.amazon.com", "signin.aws"]
  ) {
    assert.ok(!isAllowedHost(h), h);
  }
  // Names under signin.aws.amazon.com are AWS's own: the outer wall allows them (the aws login token hosts,
  // `REGION.signin.aws.amazon.com`), the inner checks only the regional shape (tests/unit/login_test.ts).
  assert.ok(isAllowedHost("evil.signin.aws.amazon.com"));
  assert.match(
    signinTokenEndpointProblem("https://evil.signin.aws.amazon.com/") ?? "",
    /not a regional sign-in endpoint/,
  );
  assert.match(
    signinEndpointProblem("https://eu-west-1.signin.aws.amazon.com/federation") ?? "",
    /not a console sign-in endpoint/,
  );
});
