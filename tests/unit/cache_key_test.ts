/**
 * lib/cache/key.ts: the cache key (from the plan) and the MFA session's key (canonical JSON and the inputs key:
 * tests/unit/cache_digests_test.ts). That every field of the plan is keyed or named is
 * tests/unit/cache_keying_test.ts.
 */
import assert from "node:assert/strict";
import { assumeOptions } from "../support/options.ts";
import { cacheKey, cacheKeyMaterial, mfaSessionKeyMaterial } from "../../lib/cache/key.ts";
import type { Env, Plan } from "../../lib/model.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const ROLE = "arn:aws:iam::123456789012:role/deploy";

/** A config with an empty `[profile dev]`: the planner refuses an AWS_PROFILE that names no profile. */
const CONFIG = { ...emptySharedConfig(), configFile: { dev: {} } };

function plan(args: string[], env: Env = {}, now = new Date(NOW)): Plan {
  return resolvePlan(assumeOptions(...args), env, CONFIG, now, "linux");
}

Deno.test("key: a versioned hex SHA-256, equal for equal inputs, independent of clock, format, MFA code", async () => {
  const base = ["--role-arn", ROLE];
  const k = await cacheKey(plan(base));
  assert.match(k, /^[0-9a-f]{64}$/);
  // The generated session name changes every second; it must not change the key.
  assert.equal(await cacheKey(plan(base, {}, new Date(NOW + 5000))), k);
  assert.equal(await cacheKey(plan([...base, "--format", "env"])), k);
  assert.equal(await cacheKey(plan([...base, "--verbose", "--timeout", "5"])), k);
  const mfa = ["--serial-number", "arn:aws:iam::123456789012:mfa/me"];
  assert.equal(
    await cacheKey(plan([...base, ...mfa, "--token-code", "123456"])),
    await cacheKey(plan([...base, ...mfa, "--token-code", "654321"])),
  );
  assert.match(cacheKeyMaterial(plan(base)), /^\{"endpoint":.*"v":2\}$/);
});

// Flags and variables through the planner; that every plan field is keyed is tests/unit/cache_keying_test.ts.
Deno.test("key: flags and variables that shape the plan change it", async () => {
  const base = ["--role-arn", ROLE];
  const env: Env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE000000001" };
  const variants: [string, string[], Env?][] = [
    ["second hop", [...base, "--role-arn", "arn:aws:iam::123456789012:role/other"]],
    ["other role", ["--role-arn", "arn:aws:iam::123456789012:role/other"]],
    ["session name", [...base, "--role-session-name", "alice"]],
    ["external id", [...base, "--external-id", "ext-1"]],
    ["duration", [...base, "--duration-seconds", "1800"]],
    ["inline policy", [...base, "--policy", '{"Version":"2012-10-17","Statement":[]}']],
    ["policy arn", [...base, "--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess"]],
    ["tag", [...base, "--tag", "team=a"]],
    ["transitive tag", [...base, "--tag", "team=a", "--transitive-tag-key", "team"]],
    ["source identity", [...base, "--source-identity", "alice"]],
    ["mfa serial", [...base, "--serial-number", "arn:aws:iam::123456789012:mfa/me"]],
    ["mfa session", [...base, "--serial-number", "arn:aws:iam::123456789012:mfa/me", "--mfa-session"]],
    ["region", [...base, "--region", "eu-west-1"]],
    ["endpoint", [...base, "--endpoint-url", "http://127.0.0.1:9/"]],
    ["fips", base, { ...env, AWS_USE_FIPS_ENDPOINT: "true" }],
    ["dualstack", base, { ...env, AWS_USE_DUALSTACK_ENDPOINT: "true" }],
    ["global endpoint", base, { ...env, AWS_STS_REGIONAL_ENDPOINTS: "legacy" }],
    ["source key id", base, { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE000000002" }],
    ["source profile", base, { AWS_PROFILE: "dev" }],
    ["web identity", [...base, "--web-identity-token-file", "/t"]],
  ];
  const keys = new Map<string, string>([[await cacheKey(plan(base, env)), "base"]]);
  for (const [name, args, e = env] of variants) {
    const k = await cacheKey(plan(args, e));
    assert.ok(!keys.has(k), `${name} gives the same key as ${keys.get(k)}`);
    keys.set(k, name);
  }
  // A tag value, a second tag and the MFA session duration matter too.
  assert.notEqual(
    await cacheKey(plan([...base, "--tag", "team=a"], env)),
    await cacheKey(plan([...base, "--tag", "team=b"], env)),
  );
  const ms = [...base, "--serial-number", "arn:aws:iam::123456789012:mfa/me", "--mfa-session"];
  assert.notEqual(
    await cacheKey(plan(ms, env)),
    await cacheKey(plan([...ms, "--mfa-session-duration", "3600"], env)),
  );
});

Deno.test("MFA session key: shared by every role from one source and device; anything else separates it", () => {
  const serial = "arn:aws:iam::123456789012:mfa/me";
  const env: Env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE000000001", AWS_SECRET_ACCESS_KEY: "very-secret-value" };
  const ms = (...args: string[]) => plan([...args, "--serial-number", serial, "--mfa-session"], env);
  const base = mfaSessionKeyMaterial(ms("--role-arn", ROLE))!;
  assert.match(base, /"kind":"mfa-session"/);
  assert.ok(!base.includes("very-secret-value"));
  assert.equal(mfaSessionKeyMaterial(plan(["--role-arn", ROLE], env)), undefined, "no session, no key");
  // Same session for another role, a chain, other role parameters, another output format.
  for (
    const other of [
      ms("--role-arn", "arn:aws:iam::123456789012:role/other"),
      ms("--role-arn", ROLE, "--role-arn", "arn:aws:iam::123456789012:role/other"),
      ms("--role-arn", ROLE, "--external-id", "ext-1", "--duration-seconds", "1800", "--format", "env"),
    ]
  ) assert.equal(mfaSessionKeyMaterial(other), base);
  // Another device, duration, endpoint or source: another session.
  const variants = [
    plan(["--role-arn", ROLE, "--serial-number", `${serial}2`, "--mfa-session"], env),
    ms("--role-arn", ROLE, "--mfa-session-duration", "3600"),
    ms("--role-arn", ROLE, "--region", "eu-west-1"),
    ms("--role-arn", ROLE, "--endpoint-url", "http://127.0.0.1:9/"),
  ];
  const materials = new Set([base, ...variants.map((p) => mfaSessionKeyMaterial(p))]);
  const otherKey: Env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE000000002" };
  materials.add(mfaSessionKeyMaterial(
    plan(["--role-arn", ROLE, "--serial-number", serial, "--mfa-session"], otherKey),
  ));
  assert.equal(materials.size, 6);
});

Deno.test("key: the source is the access key id when set, else the profile; never a secret", () => {
  const p = plan(["--role-arn", ROLE]);
  // The default chain with keys in the environment (the plan's snapshot of them).
  const withKeys = cacheKeyMaterial({
    ...p,
    sourceEnv: {
      accessKeyId: "AKIAEXAMPLE000000001",
      secretAccessKey: "very-secret-value",
      sessionToken: "very-secret-token",
      profile: "ignored-when-keys-are-set",
    },
  });
  assert.equal(p.source.kind, "default-chain");
  assert.ok(withKeys.includes("AKIAEXAMPLE000000001"));
  assert.ok(!withKeys.includes("very-secret"));
  assert.ok(!withKeys.includes("ignored-when-keys-are-set"));
  assert.ok(cacheKeyMaterial(p).includes('"profile":"default"'));
  const dev = plan(["--role-arn", ROLE], { AWS_PROFILE: "dev" });
  assert.ok(cacheKeyMaterial(dev).includes('"profile":"dev"'));
  // Static keys from a profile: the key id, not the secret.
  const staticPlan: Plan = {
    ...p,
    source: { kind: "static", profile: "p", accessKeyId: "AKIAS", secretAccessKey: "sss-secret" },
  };
  const m = cacheKeyMaterial(staticPlan);
  assert.ok(m.includes("AKIAS") && !m.includes("sss-secret"));
});

Deno.test("key: an explicit session name counts even if it looks generated; file policies by content", async () => {
  const generated = plan(["--role-arn", ROLE]);
  const explicit = plan(["--role-arn", ROLE, "--role-session-name", "credproc-1"]);
  assert.notEqual(
    await cacheKey(explicit, { sessionName: "credproc-1" }),
    await cacheKey(generated),
  );
  const filePlan = plan(["--role-arn", ROLE, "--policy-file", "/p.json"]);
  assert.notEqual(
    await cacheKey(filePlan, { policies: ['{"a":1}'] }),
    await cacheKey(filePlan, { policies: ['{"a":2}'] }),
  );
});

Deno.test("key: --include-account-id separates the entry; without it the key is what it always was", async () => {
  const base = ["--role-arn", ROLE];
  assert.doesNotMatch(cacheKeyMaterial(plan(base)), /accountId/);
  assert.notEqual(
    await cacheKey(plan([...base, "--include-account-id"])),
    await cacheKey(plan(base)),
  );
  assert.match(cacheKeyMaterial(plan([...base, "--include-account-id"])), /"accountId":true/);
});
