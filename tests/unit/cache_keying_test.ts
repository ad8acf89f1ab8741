/**
 * Every field of the plan that `KEYING` (lib/cache/keying.ts) marks keyed changes the cache key. The table of
 * variants is typed by `KeyedField`, so a field added to a plan type is a compile error in keying.ts until it is
 * decided, then (if keyed) a compile error here until it has a variant, and this test fails if the variant
 * does not change the key: a new input cannot silently miss it.
 */
import assert from "node:assert/strict";
import { assumeOptions } from "../support/options.ts";
import { cacheKey, mfaSessionKeyMaterial } from "../../lib/cache/key.ts";
import { importDigestKey, secretsDigest } from "../../lib/cache/digests.ts";
import { sourceSecrets } from "../../lib/plan/secrets.ts";
import { type KeyedField, KEYING } from "../../lib/cache/keying.ts";
import type { HopPlan, Plan } from "../../lib/model.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
const SERIAL = "arn:aws:iam::123456789012:mfa/me";
const CONFIG = { ...emptySharedConfig(), configFile: { dev: {} } };

/**
 * The base: the default chain with nothing in the environment (so every environment field counts), one hop,
 * an MFA session. Each variant changes exactly one field of it.
 */
const BASE: Plan = resolvePlan(
  assumeOptions("--role-arn", ROLE, "--serial-number", SERIAL, "--mfa-session"),
  {},
  CONFIG,
  new Date("2026-11-25T12:00:00Z"),
  "linux",
);

/** A change of one field of the plan. */
type Change = (p: Plan) => Plan;

function hop(change: Partial<HopPlan>): Change {
  return (p) => ({ ...p, hops: [{ ...p.hops[0], ...change }, ...p.hops.slice(1)] });
}
function sourceEnv(change: Partial<Plan["sourceEnv"]>): Change {
  return (p) => ({ ...p, sourceEnv: { ...p.sourceEnv, ...change } });
}
function endpoint(change: Partial<Plan["endpoint"]>): Change {
  return (p) => ({ ...p, endpoint: { ...p.endpoint, ...change } });
}
function mfaSession(change: Partial<NonNullable<Plan["mfaSession"]>>): Change {
  return (p) => ({ ...p, mfaSession: { ...p.mfaSession!, ...change } });
}

/** One change per keyed field of each part: the type requires exactly the fields KEYING marks keyed. */
const VARIANTS: { readonly [Part in keyof typeof KEYING]: Readonly<Record<KeyedField<Part>, Change>> } = {
  plan: {
    source: (p) => ({ ...p, source: { kind: "instance-metadata" } }),
    sourceEnv: (p) => ({ ...p, sourceEnv: { accessKeyId: "AKIAEXAMPLE000000009" } }),
    profile: (p) => ({ ...p, profile: "dev" }),
    mfaSession: (p) => ({ ...p, mfaSession: undefined }),
    hops: (p) => ({ ...p, hops: [...p.hops, { ...p.hops[0], roleArn: `${ROLE}-2` }] }),
    endpoint: (p) => ({ ...p, endpoint: { ...p.endpoint, region: "eu-west-1" } }),
    includeAccountId: (p) => ({ ...p, includeAccountId: true }),
  },
  hop: {
    kind: hop({ kind: "web-identity" }),
    roleArn: hop({ roleArn: `${ROLE}-other` }),
    roleSessionName: hop({ roleSessionName: "alice" }),
    durationSeconds: hop({ durationSeconds: 1800 }),
    externalId: hop({ externalId: "ext-1" }),
    serialNumber: hop({ serialNumber: `${SERIAL}-2` }),
    policy: hop({ policy: { kind: "inline", json: '{"Version":"2012-10-17","Statement":[]}' } }),
    policyArns: hop({ policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"] }),
    tags: hop({ tags: [{ key: "team", value: "a" }] }),
    transitiveTagKeys: hop({ transitiveTagKeys: ["team"] }),
    sourceIdentity: hop({ sourceIdentity: "alice" }),
    webIdentity: hop({ webIdentity: { kind: "file", path: "/t" } }),
  },
  endpoint: {
    region: endpoint({ region: "eu-west-1" }),
    endpointUrl: endpoint({ endpointUrl: "http://127.0.0.1:9/" }),
    useFips: endpoint({ useFips: true }),
    useDualstack: endpoint({ useDualstack: true }),
    useGlobalEndpoint: endpoint({ useGlobalEndpoint: true }),
  },
  sourceEnv: {
    accessKeyId: sourceEnv({ accessKeyId: "AKIAEXAMPLE000000001" }),
    secretAccessKey: sourceEnv({ secretAccessKey: "another-secret" }),
    sessionToken: sourceEnv({ sessionToken: "another-token" }),
    profile: sourceEnv({ profile: "dev" }),
    configFile: sourceEnv({ configFile: "/other/config" }),
    credentialsFile: sourceEnv({ credentialsFile: "/other/credentials" }),
    roleArn: sourceEnv({ roleArn: `${ROLE}-web` }),
    containerFullUri: sourceEnv({ containerFullUri: "http://127.0.0.1:9/creds" }),
    containerRelativeUri: sourceEnv({ containerRelativeUri: "/creds" }),
    imdsEndpoint: sourceEnv({ imdsEndpoint: "http://127.0.0.1:9/" }),
  },
  mfaSession: {
    serialNumber: mfaSession({ serialNumber: `${SERIAL}-2` }),
    durationSeconds: mfaSession({ durationSeconds: 3600 }),
  },
};

/** The fields of a plan part's value, for checking that a variant changes only its own field. */
function partOf(p: Plan, part: keyof typeof KEYING): Record<string, unknown> {
  switch (part) {
    case "plan":
      return { ...p };
    case "hop":
      return { ...p.hops[0] };
    case "endpoint":
      return { ...p.endpoint };
    case "sourceEnv":
      return { ...p.sourceEnv };
    case "mfaSession":
      return { ...p.mfaSession };
  }
}

const DIGEST_KEY = (await importDigestKey("a".repeat(64)))!;

/** The key as the cache computes it: the plan, and the keyed digest of the source's secrets. */
async function keyOf(p: Plan): Promise<string> {
  return await cacheKey(p, { secrets: await secretsDigest(DIGEST_KEY, sourceSecrets(p)) });
}

Deno.test("key: every field KEYING marks keyed has a variant, and that variant changes the key", async (t) => {
  assert.equal(BASE.source.kind, "default-chain");
  assert.ok(BASE.mfaSession && BASE.hops.length === 1);
  const baseKey = await keyOf(BASE);
  const baseMfa = mfaSessionKeyMaterial(BASE);
  let checked = 0;
  for (const part of Object.keys(KEYING) as (keyof typeof KEYING)[]) {
    const keying: Record<string, string> = KEYING[part];
    const variants: Record<string, Change> = VARIANTS[part];
    const keyed = Object.keys(keying).filter((f) => keying[f] === "keyed").sort();
    // The types already demand this; a cast somewhere must not make it untrue.
    assert.deepEqual(Object.keys(variants).sort(), keyed, `${part}: one variant per keyed field`);
    for (const field of keyed) {
      await t.step(`${part}.${field}`, async () => {
        const changed = variants[field](BASE);
        // The variant changes that field and no other one of its part.
        const before = partOf(BASE, part), after = partOf(changed, part);
        assert.notDeepEqual(after[field], before[field], "the variant changes the field");
        assert.deepEqual({ ...after, [field]: undefined }, { ...before, [field]: undefined });
        assert.notEqual(await keyOf(changed), baseKey, `${part}.${field} does not change the cache key`);
        // The MFA session's own entry is keyed by its fields too.
        if (part === "mfaSession") assert.notEqual(mfaSessionKeyMaterial(changed), baseMfa);
        checked++;
      });
    }
  }
  const keyedCount = Object.values(KEYING).flatMap((part) => Object.values(part)).filter((k) =>
    k === "keyed"
  );
  assert.equal(checked, keyedCount.length);
  assert.ok(checked >= 36, "no part of KEYING went missing");
});

Deno.test("key: the fields KEYING marks not keyed leave the key as it is", async () => {
  const notKeyed: Change[] = [
    hop({ tokenCode: "123456" }),
    hop({ profile: "dev" }),
    mfaSession({ tokenCode: "123456" }),
    endpoint({ endpointFrom: "--endpoint-url" }),
    (p) => ({ ...p, format: "env" }),
    (p) => ({ ...p, retry: { maxAttempts: 9, retryMode: "adaptive" } }),
    (p) => ({ ...p, cacheDir: { path: "/elsewhere" } }),
    (p) => ({ ...p, sourceIsRole: true }),
    (p) => ({ ...p, profiles: ["dev"] }),
  ];
  const count = Object.values(KEYING).flatMap((part) => Object.values(part)).filter((k) => k === "not keyed");
  assert.equal(notKeyed.length, count.length, "one case per field marked not keyed");
  const baseKey = await keyOf(BASE);
  for (const change of notKeyed) assert.equal(await keyOf(change(BASE)), baseKey);
});
