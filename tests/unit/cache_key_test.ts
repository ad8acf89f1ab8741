/**
 * lib/cache/key.ts: the cache key (from the plan), the MFA session's key, canonical JSON, and the fast path's
 * inputs key. That every field of the plan is keyed or named is tests/unit/cache_keying_test.ts.
 */
import assert from "node:assert/strict";
import { assumeOptions } from "../support/options.ts";
import {
  cacheKey,
  cacheKeyMaterial,
  canonicalJson,
  importDigestKey,
  inputSecretValues,
  inputsKey as inputsKeyOf,
  mfaSessionKeyMaterial,
} from "../../lib/cache/key.ts";
import { lastValue, type OptionName, OPTIONS, scanArgv, takesPath } from "../../lib/argv.ts";
import { type Env, type Os, PATH_ENV_NAMES, type Plan } from "../../lib/model.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const ROLE = "arn:aws:iam::123456789012:role/deploy";

/** A config with an empty `[profile dev]`: the planner refuses an AWS_PROFILE that names no profile. */
const CONFIG = { ...emptySharedConfig(), configFile: { dev: {} } };

/** The inputs key of argv as given (read by lib/argv.ts, as the fast path and the full program read it), on Linux. */
function inputsKey(
  argv: string[],
  env: Parameters<typeof inputsKeyOf>[1],
  cwd: string,
  keyed?: Parameters<typeof inputsKeyOf>[3],
) {
  return inputsKeyOf(scanArgv(argv), env, { cwd, os: "linux" }, keyed);
}

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

Deno.test("canonical JSON sorts keys and drops undefined", () => {
  assert.equal(
    canonicalJson({ b: 1, a: [true, null, "x"], c: undefined, d: { z: 1, y: 2 } }),
    '{"a":[true,null,"x"],"b":1,"d":{"y":2,"z":1}}',
  );
});

Deno.test("inputs key: argv and env count (the cwd only with a relative path); the MFA code and unrelated variables do not", async () => {
  const argv = ["--role-arn", ROLE];
  const k = await inputsKey(argv, { HOME: "/h" }, "/cwd");
  assert.match(k, /^[0-9a-f]{64}$/);
  assert.equal(
    await inputsKey(argv, { HOME: "/h", PATH: "/bin", CREDPROC_MFA_TOKEN_CODE: "123456" }, "/cwd"),
    k,
  );
  assert.notEqual(await inputsKey(argv, { HOME: "/h2" }, "/cwd"), k);
  assert.notEqual(await inputsKey(argv, { HOME: "/h", AWS_PROFILE: "p" }, "/cwd"), k);
  // Every path absolute: the working directory changes nothing (credential_process runs from anywhere).
  assert.equal(await inputsKey(argv, { HOME: "/h" }, "/other"), k);
  assert.notEqual(await inputsKey([...argv, "--format", "env"], { HOME: "/h" }, "/cwd"), k);
  const mfa = [...argv, "--serial-number", "arn:aws:iam::123456789012:mfa/me"];
  assert.equal(
    await inputsKey([...mfa, "--token-code", "111111"], {}, "/"),
    await inputsKey([...mfa, "--token-code", "222222"], {}, "/"),
  );
  assert.equal(
    await inputsKey([...mfa, "--token-code=111111"], {}, "/"),
    await inputsKey([...mfa, "--token-code=222222"], {}, "/"),
  );
  assert.deepEqual(scanArgv(["--token-code", "1", "--x", "--token-code=2"]).redacted, [
    "--token-code",
    "",
    "--x",
    "--token-code=",
  ]);
  const cacheDir = (argv: string[]) => lastValue(scanArgv(argv), "cache-dir");
  assert.equal(cacheDir(["--cache-dir", "/a", "--role-arn", ROLE]), "/a");
  assert.equal(cacheDir(["--cache-dir=/b"]), "/b");
  assert.equal(cacheDir(["--role-arn", ROLE]), undefined);
});

Deno.test("inputs key: a relative path in an option or variable that takes one keys by the working directory", async () => {
  // The options that take a path, by the table (a new one is a deliberate decision here).
  assert.deepEqual(
    (Object.keys(OPTIONS) as OptionName[]).filter(takesPath),
    ["policy-file", "web-identity-token-file", "cache-dir", "log-file", "token-file"],
  );
  const base = ["--role-arn", ROLE];
  const env = { HOME: "/h" };
  const moves = async (argv: string[], e: Record<string, string>, os: Os = "linux") =>
    await inputsKeyOf(scanArgv(argv), e, { cwd: "/a", os }) !==
      await inputsKeyOf(scanArgv(argv), e, { cwd: "/b", os });
  for (const name of (Object.keys(OPTIONS) as OptionName[]).filter(takesPath)) {
    assert.ok(await moves([...base, `--${name}`, "rel/x"], env), `--${name} rel/x`);
    assert.ok(await moves([...base, `--${name}=./x`], env), `--${name}=./x`);
    assert.ok(await moves([...base, `--${name}`, "~/x"], env), `--${name} ~/x: the shell did not expand it`);
    assert.ok(!await moves([...base, `--${name}`, "/abs/x"], env), `--${name} /abs/x`);
  }
  // A relative value of an option that takes no path (a session name) leaves the working directory out.
  assert.ok(!await moves([...base, "--role-session-name", "rel"], env));
  for (const name of PATH_ENV_NAMES) {
    assert.ok(await moves(base, { ...env, [name]: "rel" }), `${name}=rel`);
    assert.ok(!await moves(base, { ...env, [name]: "/abs" }), `${name}=/abs`);
    assert.ok(!await moves(base, { ...env, [name]: "" }), `${name} empty`);
  }
  assert.ok(
    !await moves(base, { ...env, AWS_PROFILE: "rel", AWS_REGION: "x" }),
    "variables that are not paths",
  );
  // Windows: drive-absolute and UNC paths are absolute; a drive-relative or rooted path is not.
  for (const p of ["C:\\x", "c:/x", "\\\\srv\\share\\x", "//srv/share/x"]) {
    assert.ok(!await moves(base, { AWS_CONFIG_FILE: p }, "windows"), p);
  }
  for (const p of ["C:x", "\\x", "/x", "x"]) {
    assert.ok(await moves(base, { AWS_CONFIG_FILE: p }, "windows"), p);
  }
  // HOMEPATH is judged with HOMEDRIVE in front, as the SDK joins them.
  assert.ok(!await moves(base, { HOMEDRIVE: "C:", HOMEPATH: "\\Users\\u" }, "windows"));
  assert.ok(await moves(base, { HOMEPATH: "\\Users\\u" }, "windows"));
  assert.ok(!await moves(base, { HOMEDRIVE: "C:" }, "windows"), "HOMEDRIVE alone names no directory");
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

/**
 * The inputs key's bytes for fixed argv and environment (and working directory, which counts only with a relative
 * path): a memo written by one version is found by the next only while these stay the same. A change here must
 * be deliberate (bump `INPUTS_KEY_VERSION`, so old memos simply miss: they are named by the key) — never a side
 * effect of how argv is read. Version 2 left the working directory out when every path is absolute: every
 * memo of version 1 is simply not found (another name), and is rewritten by the next call.
 */
Deno.test("inputs key: pinned bytes for fixed argv and environment (the working directory with a relative path)", async () => {
  const digestKey = (await importDigestKey(`${"0123456789abcdef".repeat(4)}\n`))!;
  const env: Record<string, string> = {
    HOME: "/home/u",
    AWS_PROFILE: "dev",
    AWS_REGION: "eu-west-1",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_OIDC: "eyJ.token",
  };
  const serial = "arn:aws:iam::123456789012:mfa/me";
  const keyOf = async (argv: string[], keyed = true) =>
    await inputsKey(
      argv,
      env,
      "/work",
      keyed ? { key: digestKey, secretValues: inputSecretValues(scanArgv(argv), (n) => env[n]) } : undefined,
    );
  const pinned: [string[], string][] = [
    [["--role-arn", ROLE], "3af6fa37c61002dfb8bfa1b5f8f7f0c4ddce48648aaf4916061f63cdf272088b"],
    [
      ["--role-arn", ROLE, "--serial-number", serial, "--token-code", "123456", "--format", "env"],
      "1583d6893247c8d56355b6d304d17f0002b274d091219382fb820805dfb0c663",
    ],
    [
      ["--profile", "dev", "--token-code=654321", "--cache-dir=/c", "-v"],
      "132d515a028535371782903672f99f7823aae192aea3edc422f1a643e9b14dd3",
    ],
    [
      ["--web-identity-token-env", "AWS_OIDC", "--role-arn", ROLE, "--include-account-id", "--"],
      "ea44c2a5c159bfe36593b38e8080e5d9a70466e02edb0be2785fef6f2a28bcfc",
    ],
    [
      ["eks-token", "--cluster-name", "prod", "--profile", "dev", "--region", "us-east-1"],
      "752df67131a6401f0b49b75d1cbea291a2b5b3b7c4a0385536fd861b760a0d3f",
    ],
    [
      ["--role-arn", ROLE, "--tag", "k=--token-code", "--role-session-name=s1", "--refresh-margin", "0"],
      "6b0dd5747a4586a9a148f2fa2b219f51c88e3da28392923eeabe308b83d2b0a0",
    ],
    // A relative path: the working directory is in the material.
    [
      ["--role-arn", ROLE, "--policy-file", "policy.json"],
      "3a700bafa7a19a8bcb518d0b5d8cc25a3b3b0be2a961b784f70994176195cf34",
    ],
  ];
  for (const [argv, key] of pinned) assert.equal(await keyOf(argv), key, JSON.stringify(argv));
  assert.equal(
    await keyOf(["--role-arn", ROLE], false),
    "fd2c3db58187aab4d4f250ed7f4036d2b239bea59ff171ea15268f5c318c1a33",
  );
  // main.ts hands over Deno.args as they are: a leading `--` (deno task passes one on) is not part of the key.
  assert.equal(await keyOf(["--", "--role-arn", ROLE]), pinned[0][1]);
  // The bytes themselves, HMAC'd here on their own: the material is canonical JSON, the working directory
  // absent when every path is absolute and present with a relative one.
  const hmac = async (text: string) =>
    Array.from(
      new Uint8Array(await crypto.subtle.sign("HMAC", digestKey, new TextEncoder().encode(text))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
  const envText = '"env":{"AWS_PROFILE":"dev","AWS_REGION":"eu-west-1","HOME":"/home/u"}';
  assert.equal(
    await hmac(
      `{"argv":["--role-arn","${ROLE}"],${envText},"inputs":2,"secrets":["secret",null,null],"v":2}`,
    ),
    pinned[0][1],
  );
  assert.equal(
    await hmac(
      `{"argv":["--role-arn","${ROLE}","--policy-file","policy.json"],"cwd":"/work",${envText},"inputs":2,"secrets":["secret",null,null],"v":2}`,
    ),
    pinned[6][1],
  );
});
