import assert from "node:assert/strict";
import { isAllowedHost, NET_ALLOW_LIST } from "../../lib/sandbox.ts";
import { resolveStsEndpoint } from "../../lib/providers/sts.ts";
import { resolveEndpoint, resolveRegion } from "../../lib/plan/endpoint.ts";
import { VERSION } from "../../lib/cli/version.ts";
import { ROOT } from "../support/helpers.ts";

const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));

// Endpoint resolution runs the SDK's rules only: nothing is sent or resolved.
const cases: [string, { fips?: boolean; dual?: boolean; global?: boolean }, string][] = [
  ["us-east-1", {}, "https://sts.us-east-1.amazonaws.com/"],
  ["eu-west-1", {}, "https://sts.eu-west-1.amazonaws.com/"],
  ["cn-north-1", {}, "https://sts.cn-north-1.amazonaws.com.cn/"],
  ["us-gov-west-1", {}, "https://sts.us-gov-west-1.amazonaws.com/"],
  ["us-east-1", { fips: true }, "https://sts-fips.us-east-1.amazonaws.com/"],
  ["us-east-1", { dual: true }, "https://sts.us-east-1.api.aws/"],
  ["us-east-1", { fips: true, dual: true }, "https://sts-fips.us-east-1.api.aws/"],
  ["us-east-1", { global: true }, "https://sts.amazonaws.com/"],
  ["aws-global", {}, "https://sts.amazonaws.com/"],
  ["us-iso-east-1", {}, "https://sts.us-iso-east-1.c2s.ic.gov/"],
  ["us-isob-east-1", {}, "https://sts.us-isob-east-1.sc2s.sgov.gov/"],
];
for (const [region, o, url] of cases) {
  Deno.test(`STS endpoint for ${region} ${JSON.stringify(o)} is ${url}`, async () => {
    const got = await resolveStsEndpoint({
      region,
      useFips: o.fips ?? false,
      useDualstack: o.dual ?? false,
      useGlobalEndpoint: o.global ?? false,
    });
    assert.equal(got.url, url);
    assert.ok(isAllowedHost(new URL(got.url).hostname), `${got.url} must be inside the sandbox's allow list`);
  });
}

Deno.test("the allow list in lib/sandbox.ts is exactly deno.json's permissions.default.net", () => {
  assert.deepEqual(config.permissions.default.net, [...NET_ALLOW_LIST]);
});

Deno.test("the shipping permission set allows no subprocess, no FFI, no remote import", () => {
  const p = config.permissions.default;
  assert.equal(p.run, false);
  assert.equal(p.ffi, false);
  // `"import": []` still leaves Deno's default remote hosts (jsr.io, deno.land, esm.sh, …) in a compiled
  // binary's sandbox; only a deny-all empties it (tests/release/compile_test.ts reads it back from the binary).
  assert.deepEqual(p.import, { deny: true });
});

Deno.test("isAllowedHost", () => {
  for (
    const h of [
      "sts.amazonaws.com",
      "sts.us-east-1.amazonaws.com",
      "STS.EU-WEST-1.AMAZONAWS.COM",
      "127.0.0.1",
      "127.1.2.3",
      "localhost",
      "[::1]",
      "169.254.169.254",
      "sts.cn-north-1.amazonaws.com.cn",
      "sts.us-east-1.api.aws",
    ]
  ) {
    assert.ok(isAllowedHost(h), h);
  }
  for (
    const h of [
      "evil.test",
      "amazonaws.com.evil.test",
      "notamazonaws.com",
      "10.0.0.1",
      "128.0.0.1",
      "127.0.0.256",
      "169.254.169.253",
      "api.aws.evil",
    ]
  ) {
    assert.ok(!isAllowedHost(h), h);
  }
});

Deno.test("region: flag, AWS_REGION, AWS_DEFAULT_REGION, profile, us-east-1", () => {
  assert.equal(resolveRegion("eu-west-1", { AWS_REGION: "us-west-2" }), "eu-west-1");
  assert.equal(
    resolveRegion(undefined, { AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "eu-west-3" }),
    "us-west-2",
  );
  assert.equal(resolveRegion(undefined, { AWS_DEFAULT_REGION: "eu-west-3" }), "eu-west-3");
  assert.equal(resolveRegion(undefined, {}, "ap-south-1"), "ap-south-1");
  assert.equal(resolveRegion(undefined, {}), "us-east-1");
  assert.throws(
    () => resolveRegion(undefined, { AWS_REGION: "evil.test/" }),
    { what: "AWS_REGION", message: '"evil.test/" is not an AWS region such as us-east-1', exitCode: 2 },
  );
});

Deno.test("FIPS, dual-stack and legacy global endpoint settings", () => {
  const e = resolveEndpoint({}, {
    AWS_USE_FIPS_ENDPOINT: "TRUE",
    AWS_USE_DUALSTACK_ENDPOINT: "false",
    AWS_STS_REGIONAL_ENDPOINTS: "legacy",
  });
  assert.deepEqual(e, {
    region: "us-east-1",
    endpointUrl: undefined,
    endpointFrom: undefined,
    useFips: true,
    useDualstack: false,
    useGlobalEndpoint: true,
  });
  assert.throws(() => resolveEndpoint({}, { AWS_USE_FIPS_ENDPOINT: "yes" }), {
    what: "AWS_USE_FIPS_ENDPOINT",
    message: '"yes" is not true or false',
  });
  assert.throws(() => resolveEndpoint({}, { AWS_STS_REGIONAL_ENDPOINTS: "global" }), {
    what: "sts_regional_endpoints",
    message: '"global" is not regional or legacy',
  });
});

Deno.test("lib/cli/version.ts matches deno.json", () => {
  assert.equal(VERSION, config.version);
});
