/**
 * Profile resolution (lib/plan/planner.ts, the walk in lib/plan/profiles.ts, sign_in_sources.ts) as a pure
 * function over loaded config data, and loading the files (lib/plan/shared_config.ts) with the SDK's loader.
 */
import assert from "node:assert/strict";
import { assumeOptions } from "../support/options.ts";
import { ConfigError, type CredprocError, UsageError } from "../../lib/errors.ts";
import type { AssumeOptions, Env, HopPlan, Plan } from "../../lib/model.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { runsCredproc } from "../../lib/plan/profiles.ts";
import {
  emptySharedConfig,
  getProfile,
  loadSharedConfig,
  type ProfileSettings,
  type SharedConfig,
  sharedConfigPaths,
} from "../../lib/plan/shared_config.ts";

const NOW = new Date("2026-11-25T12:00:00Z");
const DEFAULT_NAME = "credproc-1795608000";
const ROLE_A = "arn:aws:iam::111111111111:role/a";
const ROLE_B = "arn:aws:iam::222222222222:role/b";
const ROLE_C = "arn:aws:iam::333333333333:role/c";
const ROLE_R = "arn:aws:iam::444444444444:role/r";
const KEYS = { aws_access_key_id: "AKIABASEEXAMPLE00001", aws_secret_access_key: "base-secret" };
const MFA = "arn:aws:iam::111111111111:mfa/alice";

type Sections = Record<string, ProfileSettings>;

function cfg(configFile: Sections, credentialsFile: Sections = {}): SharedConfig {
  return {
    configFile,
    credentialsFile,
    configPath: "/h/.aws/config",
    credentialsPath: "/h/.aws/credentials",
  };
}

/** Options with no role, profile or token flag (parseCommand refuses that; the resolver must not). */
function bare(...args: string[]): AssumeOptions {
  return { ...assumeOptions("--role-arn", ROLE_R, ...args), roleArns: [] };
}

function plan(options: AssumeOptions, config: SharedConfig = emptySharedConfig(), env: Env = {}): Plan {
  return resolvePlan(options, env, config, NOW, "linux");
}

function fails(
  fn: () => unknown,
  kind: typeof ConfigError | typeof UsageError,
  what: RegExp | string,
  why: RegExp,
): CredprocError {
  let caught: unknown;
  assert.throws(fn, (e) => {
    caught = e;
    return true;
  });
  const e = caught as CredprocError;
  assert.ok(e instanceof kind, `expected ${kind.name}, got ${e}`);
  assert.equal(e.exitCode, 2, `${e.what}: ${e.message}`);
  if (typeof what === "string") assert.equal(e.what, what);
  else assert.match(e.what, what);
  assert.match(e.message, why);
  return e;
}

const roles = (p: Plan) => p.hops.map((h) => [h.kind, h.roleArn, h.profile]);

// ── source_profile chains ──────────────────────────────────────────────────────────────────────────────

const THREE = cfg({
  top: { role_arn: ROLE_C, source_profile: "mid", role_session_name: "top-session", region: "eu-west-1" },
  mid: { role_arn: ROLE_B, source_profile: "base", external_id: "mid-external", duration_seconds: "1800" },
  base: { ...KEYS, region: "ap-south-1" },
});

Deno.test("a three-profile chain: the deepest keys are the source, then each role up the chain", () => {
  const p = plan(assumeOptions("--profile", "top"), THREE);
  assert.deepEqual(p.source, {
    kind: "static",
    profile: "base",
    accessKeyId: KEYS.aws_access_key_id,
    secretAccessKey: KEYS.aws_secret_access_key,
    sessionToken: undefined,
  });
  assert.deepEqual(roles(p), [["assume-role", ROLE_B, "mid"], ["assume-role", ROLE_C, "top"]]);
  assert.deepEqual(p.profiles, ["top", "mid", "base"]);
  assert.equal(p.profile, "top");
  assert.equal(p.sourceIsRole, false);
  // Each hop carries its own profile's settings.
  assert.equal(p.hops[0].externalId, "mid-external");
  assert.equal(p.hops[0].durationSeconds, 1800);
  assert.equal(p.hops[0].roleSessionName, DEFAULT_NAME);
  assert.equal(p.hops[1].roleSessionName, "top-session");
  assert.equal(p.hops[1].externalId, undefined);
  // Endpoint settings come from the profile named, not from the source profile.
  assert.equal(p.endpoint.region, "eu-west-1");
});

Deno.test("keys in a source profile that also has role_arn end the chain (the AWS CLI's rule)", () => {
  const config = cfg({
    top: { role_arn: ROLE_C, source_profile: "mid" },
    mid: { ...KEYS, role_arn: ROLE_B, source_profile: "base" },
    base: { aws_access_key_id: "AKIANEVERUSED0000001", aws_secret_access_key: "x" },
  });
  const p = plan(assumeOptions("--profile", "top"), config);
  assert.equal(p.source.kind, "static");
  assert.equal((p.source as { profile: string }).profile, "mid");
  assert.deepEqual(roles(p), [["assume-role", ROLE_C, "top"]]);
  assert.deepEqual(p.profiles, ["top", "mid"]);
});

Deno.test("keys in the profile named count only at the chain's end: its role_arn wins", () => {
  const config = cfg({ top: { ...KEYS, role_arn: ROLE_C, source_profile: "base" }, base: { ...KEYS } });
  assert.deepEqual(roles(plan(assumeOptions("--profile", "top"), config)), [["assume-role", ROLE_C, "top"]]);
  assert.equal(
    (plan(assumeOptions("--profile", "top"), config).source as { profile: string }).profile,
    "base",
  );
});

Deno.test("a profile may be its own source_profile when it holds keys", () => {
  const config = cfg({ me: { ...KEYS, role_arn: ROLE_A, source_profile: "me" } });
  const p = plan(assumeOptions("--profile", "me"), config);
  assert.equal((p.source as { profile: string }).profile, "me");
  assert.deepEqual(roles(p), [["assume-role", ROLE_A, "me"]]);
});

Deno.test("the credentials file's values win over the config file's for the same profile", () => {
  const config = cfg(
    { base: { aws_access_key_id: "AKIACONFIGFILE000001", aws_secret_access_key: "c", region: "eu-north-1" } },
    { base: { aws_access_key_id: "AKIACREDENTIALS00001", aws_secret_access_key: "k" } },
  );
  assert.deepEqual(getProfile(config, "base"), {
    aws_access_key_id: "AKIACREDENTIALS00001",
    aws_secret_access_key: "k",
    region: "eu-north-1",
  });
  assert.equal(getProfile(config, "nope"), undefined);
  assert.equal(getProfile(cfg({}), "__proto__"), undefined);
  const p = plan(assumeOptions("--profile", "base", "--role-arn", ROLE_A), config);
  assert.equal((p.source as { accessKeyId: string }).accessKeyId, "AKIACREDENTIALS00001");
});

// ── loops, missing and conflicting settings: exit 2 naming the profiles visited ─────────────────────────

Deno.test("a loop a → b → a names every profile visited", () => {
  const config = cfg({
    a: { role_arn: ROLE_A, source_profile: "b" },
    b: { role_arn: ROLE_B, source_profile: "a" },
  });
  fails(
    () => plan(assumeOptions("--profile", "a"), config),
    ConfigError,
    "profiles a → b → a",
    /source_profile loop/,
  );
});

Deno.test("a loop further down (a → b → c → b) names the whole path", () => {
  const config = cfg({
    a: { role_arn: ROLE_A, source_profile: "b" },
    b: { role_arn: ROLE_B, source_profile: "c" },
    c: { role_arn: ROLE_C, source_profile: "b" },
  });
  fails(() => plan(assumeOptions("--profile", "a"), config), ConfigError, "profiles a → b → c → b", /loop/);
});

Deno.test("a profile naming itself without keys is a loop", () => {
  const config = cfg({ a: { role_arn: ROLE_A, source_profile: "a" } });
  fails(
    () => plan(assumeOptions("--profile", "a"), config),
    ConfigError,
    "profiles a → a",
    /loop.*holds keys/,
  );
});

Deno.test("a missing source_profile names it and the profiles visited", () => {
  const config = cfg({
    a: { role_arn: ROLE_A, source_profile: "b" },
    b: { role_arn: ROLE_B, source_profile: "ghost" },
  });
  const e = fails(
    () => plan(assumeOptions("--profile", "a"), config),
    ConfigError,
    "profile b",
    /source_profile "ghost" does not exist \(profiles visited: a → b\)/,
  );
  assert.match(e.hint ?? "", /\[profile ghost\] in \/h\/\.aws\/config/);
});

Deno.test("role_arn without any source", () => {
  const config = cfg({ a: { role_arn: ROLE_A, source_profile: "b" }, b: { role_arn: ROLE_B } });
  fails(
    () => plan(assumeOptions("--profile", "a"), config),
    ConfigError,
    "profile b",
    /role_arn but no source_profile, credential_source or web_identity_token_file \(profiles visited: a → b\)/,
  );
});

Deno.test("both source_profile and credential_source", () => {
  const config = cfg({
    a: { role_arn: ROLE_A, source_profile: "b" },
    b: { role_arn: ROLE_B, source_profile: "c", credential_source: "Environment" },
    c: { ...KEYS },
  });
  fails(
    () => plan(assumeOptions("--profile", "a"), config),
    ConfigError,
    "profile b",
    /both source_profile and credential_source.*a → b/,
  );
});

Deno.test("a profile that does not exist: --profile, AWS_PROFILE", () => {
  fails(
    () => plan(assumeOptions("--profile", "nope"), THREE),
    ConfigError,
    "profile nope",
    /not found in \/h\/\.aws\/config/,
  );
  fails(
    () => plan(assumeOptions("--role-arn", ROLE_A), THREE, { AWS_PROFILE: "nope" }),
    ConfigError,
    "profile nope",
    /not found .*\(named by AWS_PROFILE\)/,
  );
});

Deno.test("a profile that does not exist: did you mean the closest profile the files define?", () => {
  const config = cfg(
    {
      prod: { credential_process: "credproc --profile default" },
      "prod-role": { role_arn: ROLE_A, source_profile: "base" },
      "sso-session.prd": { sso_region: "eu-west-1" }, // not a profile
      "services.prdx": {},
      // Sections named with pasted keys are never offered back, however close.
      AKIAIOSFODNN7EXAMPLF: KEYS,
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ": KEYS,
    },
    { base: KEYS, staging: KEYS },
  );
  const hint = (options: AssumeOptions, env: Env = {}) => {
    try {
      plan(options, config, env);
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.exitCode, 2);
      return [e.what, e.hint];
    }
    assert.fail("accepted");
  };
  assert.deepEqual(hint(assumeOptions("--profile", "prd")), ["profile prd", "did you mean --profile prod?"]);
  assert.deepEqual(hint(assumeOptions("--profile", "Prod")), [
    "profile Prod",
    "did you mean --profile prod?",
  ]);
  assert.deepEqual(hint(assumeOptions("--profile", "bsae")), [
    "profile bsae",
    "did you mean --profile base?",
  ]);
  assert.deepEqual(hint(assumeOptions("--profile", "stagin")), [
    "profile stagin",
    "did you mean --profile staging?",
  ]);
  assert.deepEqual(hint(assumeOptions("--role-arn", ROLE_A), { AWS_PROFILE: "prodrole" }), [
    "profile prodrole",
    "did you mean AWS_PROFILE=prod-role?",
  ]);
  const none = "check the name, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE";
  assert.deepEqual(hint(assumeOptions("--profile", "nothing-like-it")), ["profile nothing-like-it", none]);
  assert.deepEqual(hint(assumeOptions("--profile", "AKIAIOSFODNN7EXAMPLE")), [
    "profile AKIAIOSFODNN7EXAMPLE",
    none,
  ]);
  assert.deepEqual(hint(assumeOptions("--profile", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")), [
    "profile wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    none,
  ]);
  // Long input: no suggestion is searched for (the edit distance grows with both lengths).
  const long = `prod${"x".repeat(300)}`;
  assert.deepEqual(hint(assumeOptions("--profile", long)), [`profile ${long}`, none]);
});

Deno.test("a source profile without credentials, partial keys, bad values", () => {
  fails(
    () =>
      plan(
        assumeOptions("--profile", "a"),
        cfg({ a: { role_arn: ROLE_A, source_profile: "b" }, b: { region: "us-east-1" } }),
      ),
    ConfigError,
    "profile b",
    /has no credentials.*a → b/,
  );
  fails(
    () =>
      plan(
        assumeOptions("--profile", "a"),
        cfg({
          a: { role_arn: ROLE_A, source_profile: "b" },
          b: { aws_access_key_id: "AKIAONLYTHEID0000001" },
        }),
      ),
    ConfigError,
    "profile b",
    /partial credentials: aws_secret_access_key is missing/,
  );
  fails(
    () =>
      plan(
        assumeOptions("--profile", "a"),
        cfg({ a: { role_arn: "prod-role", source_profile: "b" }, b: KEYS }),
      ),
    ConfigError,
    "profile a",
    /role_arn "prod-role" is not an IAM role ARN/,
  );
  fails(
    () =>
      plan(
        assumeOptions("--profile", "a"),
        cfg({ a: { role_arn: ROLE_A, source_profile: "b", duration_seconds: "1h" }, b: KEYS }),
      ),
    ConfigError,
    "profile a",
    /duration_seconds "1h" is not a whole number from 900 to 43200/,
  );
  fails(
    () =>
      plan(
        assumeOptions("--profile", "a"),
        cfg({ a: { role_arn: ROLE_A, source_profile: "b", region: "mars" }, b: KEYS }),
      ),
    ConfigError,
    "region in the profile",
    /"mars" is not an AWS region/,
  );
});

Deno.test("a profile with keys but no role_arn and no --role-arn: nothing to assume", () => {
  fails(
    () => plan(assumeOptions("--profile", "base"), THREE),
    UsageError,
    "--role-arn",
    /profile base has no role_arn/,
  );
});

// ── credential_process can't run in the sandbox ────────────────────────────────────────────────────────

Deno.test("a source profile with credential_process: a clear error naming it, never a recursion", () => {
  const other = cfg({
    a: { role_arn: ROLE_A, source_profile: "vault" },
    vault: { credential_process: "aws-vault exec x --json" },
  });
  const e1 = fails(
    () => plan(assumeOptions("--profile", "a"), other),
    ConfigError,
    "profile vault",
    /credential_process, which cannot run inside credproc's sandbox \(profiles visited: a → vault\)/,
  );
  assert.match(e1.hint ?? "", /keys .*SSO .*credential_source/);

  const self = cfg({
    a: { role_arn: ROLE_A, source_profile: "prod" },
    prod: { credential_process: "/usr/local/bin/credproc --profile a" },
  });
  const e2 = fails(
    () => plan(assumeOptions("--profile", "a"), self),
    ConfigError,
    "profile prod",
    /runs credproc itself/,
  );
  assert.match(e2.hint ?? "", /credproc --profile SOURCE/);
});

Deno.test("AWS_PROFILE naming the profile that runs credproc is refused, not followed", () => {
  const config = cfg({
    prod: { credential_process: "credproc --role-arn arn:aws:iam::1:role/x" },
    base: KEYS,
  });
  fails(
    () => plan(assumeOptions("--role-arn", ROLE_A), config, { AWS_PROFILE: "prod" }),
    ConfigError,
    "profile prod",
    /runs credproc itself/,
  );
});

Deno.test("runsCredproc recognises credproc by its program name only", () => {
  for (
    const cmd of [
      "credproc --profile x",
      "/opt/bin/credproc",
      '"C:\\Program Files\\credproc.exe" --x',
      "credproc-x86_64 -v",
    ]
  ) {
    assert.ok(runsCredproc(cmd), cmd);
  }
  for (const cmd of ["aws-vault exec credproc", "/usr/bin/env credproc", "python3 credproc.py", ""]) {
    assert.ok(!runsCredproc(cmd), cmd);
  }
});

// ── credential_source, SSO, web identity ──────────────────────────────────────────────────────────────

Deno.test("credential_source: Environment, Ec2InstanceMetadata, EcsContainer; anything else is an error", () => {
  const expect = {
    Environment: "environment",
    Ec2InstanceMetadata: "instance-metadata",
    EcsContainer: "container",
  };
  for (const [value, kind] of Object.entries(expect)) {
    const p = plan(
      assumeOptions("--profile", "a"),
      cfg({ a: { role_arn: ROLE_A, credential_source: value } }),
    );
    assert.deepEqual(p.source, { kind, profile: "a" });
    assert.deepEqual(roles(p), [["assume-role", ROLE_A, "a"]]);
    // Instance and task roles are not treated as role chaining: 12 hours may be asked for.
    plan(
      assumeOptions("--profile", "a", "--duration-seconds", "43200"),
      cfg({ a: { role_arn: ROLE_A, credential_source: value } }),
    );
  }
  fails(
    () =>
      plan(assumeOptions("--profile", "a"), cfg({ a: { role_arn: ROLE_A, credential_source: "Laptop" } })),
    ConfigError,
    "profile a",
    /credential_source "Laptop" is not one of Environment, Ec2InstanceMetadata, EcsContainer/,
  );
});

Deno.test("SSO profiles are a source of kind sso; the role above them is chained", () => {
  const config = cfg({
    dev: { role_arn: ROLE_A, source_profile: "sso" },
    sso: { sso_session: "corp", sso_account_id: "111111111111", sso_role_name: "Dev" },
    "sso-session.corp": { sso_start_url: "https://corp.awsapps.com/start", sso_region: "us-east-1" },
    legacy: { sso_start_url: "https://corp.awsapps.com/start", sso_account_id: "1", sso_role_name: "Dev" },
    broken: { sso_session: "nope", sso_account_id: "1", sso_role_name: "Dev" },
  });
  const p = plan(assumeOptions("--profile", "dev"), config);
  const corp = {
    kind: "sso",
    profile: "sso",
    startUrl: "https://corp.awsapps.com/start",
    ssoRegion: "us-east-1",
    accountId: "111111111111",
    roleName: "Dev",
    session: "corp",
  };
  assert.deepEqual(p.source, corp);
  assert.equal(p.sourceIsRole, true);
  fails(
    () => plan(assumeOptions("--profile", "dev", "--duration-seconds", "7200"), config),
    UsageError,
    /profile dev/,
    /7200 s is too long .*role chaining/,
  );
  fails(
    () => plan(assumeOptions("--profile", "dev", "--mfa-session", "--serial-number", MFA), config),
    UsageError,
    "--mfa-session",
    /long-term IAM user keys/,
  );
  fails(
    () => plan(assumeOptions("--profile", "legacy", "--role-arn", ROLE_A), config),
    ConfigError,
    "profile legacy",
    /missing sso_region/,
  );
  fails(
    () => plan(assumeOptions("--profile", "broken", "--role-arn", ROLE_A), config),
    ConfigError,
    "profile broken",
    /no \[sso-session nope\] section/,
  );
  // An SSO profile itself as the source of --role-arn.
  assert.deepEqual(plan(assumeOptions("--profile", "sso", "--role-arn", ROLE_B), config).source, corp);
  // Without a session the profile's own settings; with one, the session's (as the SDK reads them).
  const legacy = cfg({
    old: {
      sso_start_url: "https://old.awsapps.com/start",
      sso_region: "eu-west-1",
      sso_account_id: "222222222222",
      sso_role_name: "Ops",
    },
    half: { sso_session: "s", sso_region: "eu-west-1", sso_account_id: "1", sso_role_name: "Dev" },
    "sso-session.s": { sso_region: "us-east-1" },
  });
  assert.deepEqual(plan(assumeOptions("--profile", "old", "--role-arn", ROLE_B), legacy).source, {
    kind: "sso",
    profile: "old",
    startUrl: "https://old.awsapps.com/start",
    ssoRegion: "eu-west-1",
    accountId: "222222222222",
    roleName: "Ops",
  });
  fails(
    () => plan(assumeOptions("--profile", "half", "--role-arn", ROLE_B), legacy),
    ConfigError,
    "profile half",
    /SSO profile is missing sso_start_url$/,
  );
});

Deno.test("a web identity profile starts the chain with no source; roles above it are chained", () => {
  const config = cfg({
    ci: { role_arn: ROLE_A, web_identity_token_file: "/run/token", role_session_name: "ci", mfa_serial: MFA },
    deploy: { role_arn: ROLE_B, source_profile: "ci" },
  });
  const p = plan(assumeOptions("--profile", "deploy"), config);
  assert.deepEqual(p.source, { kind: "none" });
  assert.deepEqual(roles(p), [["web-identity", ROLE_A, "ci"], ["assume-role", ROLE_B, "deploy"]]);
  assert.deepEqual(p.hops[0].webIdentity, { kind: "file", path: "/run/token" });
  assert.equal(p.hops[0].roleSessionName, "ci");
  // The AWS CLI ignores mfa_serial for web identity.
  assert.equal(p.hops[0].serialNumber, undefined);
  fails(
    () => plan(assumeOptions("--profile", "deploy", "--duration-seconds", "3601"), config),
    UsageError,
    /profile deploy/,
    /3601 s is too long/,
  );
  fails(
    () => plan(assumeOptions("--profile", "a"), cfg({ a: { web_identity_token_file: "/t" } })),
    ConfigError,
    "profile a",
    /web_identity_token_file but no role_arn/,
  );
});

Deno.test("--web-identity-token-* with --profile replaces the token, or completes a role_arn without a source", () => {
  const config = cfg({
    ci: { role_arn: ROLE_A, web_identity_token_file: "/run/token" },
    bare: { role_arn: ROLE_B, region: "eu-west-2" },
    keyed: { role_arn: ROLE_C, source_profile: "base" },
    base: KEYS,
  });
  const env = assumeOptions("--profile", "ci", "--web-identity-token-env", "AWS_CI_TOKEN");
  assert.deepEqual(plan(env, config).hops[0].webIdentity, { kind: "env", name: "AWS_CI_TOKEN" });
  const p = plan(assumeOptions("--profile", "bare", "--web-identity-token-file", "/t"), config);
  assert.deepEqual(roles(p), [["web-identity", ROLE_B, "bare"]]);
  assert.equal(p.endpoint.region, "eu-west-2");
  fails(
    () => plan(assumeOptions("--profile", "keyed", "--web-identity-token-file", "/t"), config),
    UsageError,
    "--web-identity-token-file",
    /profile keyed gets its first credentials from the keys in profile base/,
  );
});

// ── flags and profiles together ────────────────────────────────────────────────────────────────────────

Deno.test("--profile alone: per-hop flags override the top hop's profile values only", () => {
  const config = cfg({
    top: {
      role_arn: ROLE_C,
      source_profile: "mid",
      role_session_name: "from-profile",
      external_id: "ext-profile",
      mfa_serial: "arn:aws:iam::1:mfa/profile",
      duration_seconds: "900",
      source_identity: "profile-id",
    },
    mid: { role_arn: ROLE_B, source_profile: "base", role_session_name: "mid-session", mfa_serial: MFA },
    base: KEYS,
  });
  const noFlags = plan(assumeOptions("--profile", "top"), config);
  assert.deepEqual(
    [noFlags.hops[1].roleSessionName, noFlags.hops[1].externalId, noFlags.hops[1].serialNumber],
    ["from-profile", "ext-profile", "arn:aws:iam::1:mfa/profile"],
  );
  assert.equal(noFlags.hops[1].durationSeconds, 900);
  assert.equal(noFlags.hops[1].sourceIdentity, "profile-id");
  const p = plan(
    assumeOptions(
      "--profile",
      "top",
      "--role-session-name",
      "flag-session",
      "--duration-seconds",
      "1200",
      "--external-id",
      "ext-flag",
      "--serial-number",
      "arn:aws:iam::1:mfa/flag-device",
      "--source-identity",
      "flag-id",
      "--policy",
      '{"Version":"2012-10-17"}',
      "--policy-arn",
      "arn:aws:iam::aws:policy/ReadOnlyAccess",
      "--tag",
      "team=red",
    ),
    config,
  );
  const [mid, top] = p.hops;
  assert.deepEqual(
    [top.roleSessionName, top.durationSeconds, top.externalId, top.serialNumber, top.sourceIdentity],
    ["flag-session", 1200, "ext-flag", "arn:aws:iam::1:mfa/flag-device", "flag-id"],
  );
  assert.deepEqual(top.policy, { kind: "inline", json: '{"Version":"2012-10-17"}' });
  assert.deepEqual(top.policyArns, ["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
  assert.deepEqual(top.tags, [{ key: "team", value: "red" }]);
  // The hop below keeps its own profile's values.
  assert.deepEqual([mid.roleSessionName, mid.serialNumber, mid.policy, mid.tags], [
    "mid-session",
    MFA,
    undefined,
    undefined,
  ]);
});

Deno.test("--profile P --role-arn R…: P's chain is the source and R… are assumed on top", () => {
  const p = plan(
    assumeOptions(
      "--profile",
      "top",
      "--role-arn",
      ROLE_A,
      "--role-arn",
      ROLE_R,
      "--external-id",
      "x-flag",
      "--serial-number",
      MFA,
    ),
    THREE,
  );
  assert.deepEqual(roles(p), [
    ["assume-role", ROLE_B, "mid"],
    ["assume-role", ROLE_C, "top"],
    ["assume-role", ROLE_A, undefined],
    ["assume-role", ROLE_R, undefined],
  ]);
  // First-hop options go to the first flag hop; the profile's hops keep theirs.
  assert.equal(p.hops[1].externalId, undefined);
  assert.equal(p.hops[1].roleSessionName, "top-session");
  assert.deepEqual([p.hops[2].externalId, p.hops[2].serialNumber], ["x-flag", MFA]);
  assert.equal(p.hops[3].externalId, undefined);
  // Every flag hop is chained here.
  fails(
    () => plan(assumeOptions("--profile", "top", "--role-arn", ROLE_A, "--duration-seconds", "7200"), THREE),
    UsageError,
    "--duration-seconds",
    /7200 s is too long for arn:aws:iam::111111111111:role\/a: AWS caps role chaining/,
  );
  // A profile with keys only: the first --role-arn is not chained.
  plan(assumeOptions("--profile", "base", "--role-arn", ROLE_A, "--duration-seconds", "7200"), THREE);
});

Deno.test("the role chaining rule: a long duration is fine on the first hop, refused on chained hops", () => {
  const config = cfg({
    one: { role_arn: ROLE_A, source_profile: "base", duration_seconds: "43200" },
    two: { role_arn: ROLE_B, source_profile: "one", duration_seconds: "7200" },
    base: KEYS,
  });
  assert.equal(plan(assumeOptions("--profile", "one"), config).hops[0].durationSeconds, 43200);
  fails(
    () => plan(assumeOptions("--profile", "two"), config),
    UsageError,
    `duration for ${ROLE_B} (profile two)`,
    /7200 s.*3600 s/,
  );
  plan(assumeOptions("--profile", "two", "--duration-seconds", "3600"), config);
  fails(
    () =>
      plan(
        assumeOptions(
          "--role-arn",
          ROLE_A,
          "--role-arn",
          ROLE_B,
          "--role-arn",
          ROLE_C,
          "--duration-seconds",
          "3700",
        ),
      ),
    UsageError,
    "--duration-seconds",
    /3700 s is too long for arn:aws:iam::222222222222:role\/b/,
  );
});

Deno.test("--mfa-session: the serial comes from the flag or the top-most mfa_serial; hops asking for it drop it", () => {
  const config = cfg({
    top: { role_arn: ROLE_B, source_profile: "mid" },
    mid: { role_arn: ROLE_A, source_profile: "base", mfa_serial: MFA },
    base: KEYS,
  });
  const p = plan(
    assumeOptions("--profile", "top", "--mfa-session", "--mfa-session-duration", "43200"),
    config,
  );
  assert.deepEqual(p.mfaSession, { serialNumber: MFA, tokenCode: undefined, durationSeconds: 43200 });
  assert.deepEqual(p.hops.map((h) => h.serialNumber), [undefined, undefined]);
  // GetSessionToken credentials are not a role session: the first role may last 12 hours.
  plan(assumeOptions("--profile", "mid", "--mfa-session", "--duration-seconds", "43200"), config);
  fails(
    () => plan(assumeOptions("--profile", "base", "--role-arn", ROLE_A, "--mfa-session")),
    ConfigError,
    "profile base",
    /not found/,
  );
  fails(
    () => plan(assumeOptions("--profile", "base", "--role-arn", ROLE_A, "--mfa-session"), config),
    UsageError,
    "--mfa-session",
    /needs --serial-number/,
  );
});

// ── without --profile ──────────────────────────────────────────────────────────────────────────────────

Deno.test("no files, no env keys: the SDK's default chain", () => {
  const p = plan(assumeOptions("--role-arn", ROLE_A));
  assert.deepEqual(p.source, { kind: "default-chain", profile: undefined });
  assert.equal(p.profile, undefined);
  assert.equal(p.endpoint.region, "us-east-1");
});

Deno.test("keys in the environment win over AWS_PROFILE and [default], as in the AWS CLI", () => {
  const config = cfg({
    default: { ...KEYS, region: "eu-central-1" },
    prod: { role_arn: ROLE_B, source_profile: "default", region: "eu-south-1" },
  });
  const p = plan(assumeOptions("--role-arn", ROLE_A), config, {
    AWS_ACCESS_KEY_ID: "AKIAENV0000000000001",
    AWS_PROFILE: "prod",
  });
  assert.deepEqual(p.source, { kind: "environment" });
  assert.deepEqual(roles(p), [["assume-role", ROLE_A, undefined]]);
  // The profile's endpoint settings still apply (AWS_PROFILE's, not [default]'s).
  assert.equal(p.endpoint.region, "eu-south-1");
  assert.equal(p.profile, "prod");
});

Deno.test("AWS_PROFILE (or AWS_DEFAULT_PROFILE) with role_arn: its chain, then --role-arn on top", () => {
  for (const env of [{ AWS_PROFILE: "top" }, { AWS_DEFAULT_PROFILE: "top" }]) {
    const p = plan(assumeOptions("--role-arn", ROLE_A), THREE, env);
    assert.deepEqual(roles(p), [["assume-role", ROLE_B, "mid"], ["assume-role", ROLE_C, "top"], [
      "assume-role",
      ROLE_A,
      undefined,
    ]]);
    assert.equal(p.profile, "top");
  }
  // With no --role-arn (the flag parser requires one today), the profile's chain alone.
  assert.deepEqual(roles(plan(bare(), THREE, { AWS_PROFILE: "top" })).map((r) => r[1]), [ROLE_B, ROLE_C]);
});

Deno.test("[default] with keys is the source; [default] with only settings leaves the default chain", () => {
  const withKeys = plan(assumeOptions("--role-arn", ROLE_A), cfg({ default: KEYS }));
  assert.equal(withKeys.source.kind, "static");
  assert.equal(withKeys.profile, "default");
  const settingsOnly = plan(
    assumeOptions("--role-arn", ROLE_A),
    cfg({ default: { region: "sa-east-1", sts_regional_endpoints: "legacy" } }),
  );
  assert.deepEqual(settingsOnly.source, { kind: "default-chain", profile: undefined });
  assert.equal(settingsOnly.endpoint.region, "sa-east-1");
  assert.equal(settingsOnly.endpoint.useGlobalEndpoint, true);
  // AWS_PROFILE naming a profile with settings only: the default chain for that profile.
  assert.deepEqual(
    plan(assumeOptions("--role-arn", ROLE_A), cfg({ x: { region: "us-west-2" } }), { AWS_PROFILE: "x" })
      .source,
    { kind: "default-chain", profile: "x" },
  );
});

Deno.test("AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN: a web identity hop, as the SDK does", () => {
  const env = {
    AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/token",
    AWS_ROLE_ARN: ROLE_A,
    AWS_ROLE_SESSION_NAME: "pod",
  };
  const alone = plan(bare("--duration-seconds", "7200"), emptySharedConfig(), env);
  assert.deepEqual(alone.source, { kind: "none" });
  assert.deepEqual(roles(alone), [["web-identity", ROLE_A, undefined]]);
  assert.equal(alone.hops[0].roleSessionName, "pod");
  assert.equal(alone.hops[0].durationSeconds, 7200);
  assert.deepEqual(alone.hops[0].webIdentity, { kind: "file", path: "/var/run/token" });
  // With --role-arn, the environment's role is the source and the flags' roles are chained on top.
  const chained = plan(assumeOptions("--role-arn", ROLE_B), emptySharedConfig(), env);
  assert.deepEqual(roles(chained), [["web-identity", ROLE_A, undefined], ["assume-role", ROLE_B, undefined]]);
  assert.equal(chained.hops[1].roleSessionName, DEFAULT_NAME);
  fails(
    () => plan(assumeOptions("--role-arn", ROLE_B, "--duration-seconds", "7200"), emptySharedConfig(), env),
    UsageError,
    "--duration-seconds",
    /role chaining/,
  );
  // Keys in the environment come first (as in the AWS CLI).
  assert.equal(
    plan(assumeOptions("--role-arn", ROLE_B), emptySharedConfig(), { ...env, AWS_ACCESS_KEY_ID: "AKIA1" })
      .source.kind,
    "environment",
  );
  fails(
    () => plan(bare(), emptySharedConfig(), { ...env, AWS_ROLE_ARN: "nope" }),
    ConfigError,
    "AWS_ROLE_ARN",
    /not an IAM role ARN/,
  );
});

Deno.test("--web-identity-token-*: first --role-arn, else AWS_ROLE_ARN; no MFA on that hop", () => {
  const p = plan(
    assumeOptions("--web-identity-token-env", "AWS_OIDC", "--role-arn", ROLE_A, "--role-arn", ROLE_B),
  );
  assert.deepEqual(roles(p), [["web-identity", ROLE_A, undefined], ["assume-role", ROLE_B, undefined]]);
  assert.deepEqual(p.hops[0].webIdentity, { kind: "env", name: "AWS_OIDC" });
  const fromEnv = plan(assumeOptions("--web-identity-token-file", "/t"), emptySharedConfig(), {
    AWS_ROLE_ARN: ROLE_C,
  });
  assert.deepEqual(roles(fromEnv), [["web-identity", ROLE_C, undefined]]);
  fails(
    () => plan(assumeOptions("--web-identity-token-file", "/t")),
    UsageError,
    "--web-identity-token-file",
    /needs --role-arn \(or AWS_ROLE_ARN\)/,
  );
  fails(
    () =>
      plan(assumeOptions("--web-identity-token-file", "/t", "--role-arn", ROLE_A, "--serial-number", MFA)),
    UsageError,
    "--serial-number",
    /AssumeRoleWithWebIdentity .* takes no --serial-number/,
  );
  fails(
    () => plan(assumeOptions("--web-identity-token-file", "/t", "--role-arn", ROLE_A, "--external-id", "xx")),
    UsageError,
    "--external-id",
    /takes no --external-id/,
  );
});

Deno.test("endpoint settings: flag, then environment, then the profile", () => {
  const config = cfg({
    p: {
      ...KEYS,
      region: "eu-west-3",
      use_fips_endpoint: "true",
      use_dualstack_endpoint: "TRUE",
      sts_regional_endpoints: "regional",
    },
  });
  const fromProfile = plan(assumeOptions("--profile", "p", "--role-arn", ROLE_A), config).endpoint;
  assert.deepEqual(fromProfile, {
    region: "eu-west-3",
    endpointUrl: undefined,
    endpointFrom: undefined,
    useFips: true,
    useDualstack: true,
    useGlobalEndpoint: false,
  });
  assert.equal(
    plan(assumeOptions("--profile", "p", "--role-arn", ROLE_A), config, { AWS_REGION: "us-west-1" }).endpoint
      .region,
    "us-west-1",
  );
  assert.equal(
    plan(assumeOptions("--profile", "p", "--role-arn", ROLE_A, "--region", "ca-central-1"), config).endpoint
      .region,
    "ca-central-1",
  );
  assert.equal(
    plan(assumeOptions("--profile", "p", "--role-arn", ROLE_A), config, { AWS_USE_FIPS_ENDPOINT: "false" })
      .endpoint
      .useFips,
    false,
  );
  fails(
    () =>
      plan(
        assumeOptions("--profile", "p", "--role-arn", ROLE_A),
        cfg({ p: { ...KEYS, use_fips_endpoint: "yes" } }),
      ),
    ConfigError,
    "use_fips_endpoint",
    /"yes" is not true or false/,
  );
});

// ── loading the files (lib/plan/shared_config.ts) ───────────────────────────────────────────────────────

Deno.test("file paths: AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else under the home directory", () => {
  assert.deepEqual(sharedConfigPaths({ HOME: "/home/u" }), {
    configPath: "/home/u/.aws/config",
    credentialsPath: "/home/u/.aws/credentials",
    home: "/home/u",
  });
  assert.deepEqual(
    sharedConfigPaths({ HOME: "/home/u", AWS_CONFIG_FILE: "~/cfg", AWS_SHARED_CREDENTIALS_FILE: "/c" }),
    {
      configPath: "/home/u/cfg",
      credentialsPath: "/c",
      home: "/home/u",
    },
  );
  // No home at all: `~/` paths stay as given (they name no file), and there is no SSO token cache.
  assert.deepEqual(sharedConfigPaths({}), {
    configPath: "~/.aws/config",
    credentialsPath: "~/.aws/credentials",
  });
  assert.equal(sharedConfigPaths({}, "/var/lib/svc").home, "/var/lib/svc");
  assert.equal(sharedConfigPaths({ USERPROFILE: "C:\\Users\\u" }).configPath, "C:\\Users\\u/.aws/config");
  assert.equal(sharedConfigPaths({ HOMEDRIVE: "D:", HOMEPATH: "\\u" }).configPath, "D:\\u/.aws/config");
});

Deno.test("no files: nothing is imported or parsed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = await loadSharedConfig(
      { configPath: `${dir}/config`, credentialsPath: `${dir}/credentials` },
      () => Promise.reject(new Error("the loader must not be called")),
    );
    assert.deepEqual([config.configFile, config.credentialsFile], [{}, {}]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the SDK's loader reads both files the way the SDK does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/config`,
      [
        "# comment",
        "[default]",
        "region = us-east-2",
        "[profile top]",
        `role_arn = ${ROLE_A}   ; trailing comment`,
        "source_profile = base",
        "s3 =",
        "  max_concurrent_requests = 4",
        "[sso-session corp]",
        "sso_region = us-east-1",
        "[not-a-profile]",
        "region = eu-west-1",
      ].join("\n"),
    );
    await Deno.writeTextFile(
      `${dir}/credentials`,
      `[base]\naws_access_key_id = ${KEYS.aws_access_key_id}\r\naws_secret_access_key = s\n`,
    );
    const config = await loadSharedConfig({
      configPath: `${dir}/config`,
      credentialsPath: `${dir}/credentials`,
    });
    assert.deepEqual(config.configFile.top, {
      role_arn: ROLE_A,
      source_profile: "base",
      "s3.max_concurrent_requests": "4",
    });
    assert.deepEqual(config.configFile.default, { region: "us-east-2" });
    assert.deepEqual(config.configFile["sso-session.corp"], { sso_region: "us-east-1" });
    assert.equal(config.configFile["not-a-profile"], undefined);
    assert.deepEqual(config.credentialsFile.base, {
      aws_access_key_id: KEYS.aws_access_key_id,
      aws_secret_access_key: "s",
    });
    const p = plan(assumeOptions("--profile", "top"), config);
    assert.deepEqual(p.profiles, ["top", "base"]);
    assert.equal(p.endpoint.region, "us-east-1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a config path that is a directory is an error, not an empty file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      loadSharedConfig({ configPath: dir, credentialsPath: `${dir}/none` }),
      (e) => e instanceof ConfigError && e.what === `config file ${dir}` && /is a directory/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hops carry the profile that defined them", () => {
  const hops: readonly HopPlan[] = plan(assumeOptions("--profile", "top"), THREE).hops;
  assert.deepEqual(hops.map((h) => h.profile), ["mid", "top"]);
});

Deno.test("one role-ARN check: the same ARN passes or fails as --role-arn, a profile's role_arn and AWS_ROLE_ARN", () => {
  const arns: [string, boolean][] = [
    ["arn:aws:iam::123456789012:role/deploy", true],
    ["arn:aws-cn:iam::123456789012:role/path/to/deploy", true],
    ["arn:aws-us-gov:iam::123456789012:role/a+b=c,d.e@f-g_h", true],
    [`arn:aws:iam::123456789012:role/${"r".repeat(64)}`, true],
    [`arn:aws:iam::123456789012:role/${"r".repeat(65)}`, false], // IAM names are at most 64 characters
    ["arn:aws:iam::123456789012:role/na!me", false],
    ["arn:aws:iam::123456789012:role/", false],
    ["arn:aws:iam::12345678901:role/deploy", false],
    ["arn:aws:iam::123456789012:user/deploy", false],
    ["prod-role", false],
  ];
  const passes = (f: () => unknown) => {
    try {
      f();
      return true;
    } catch (e) {
      assert.ok(e instanceof UsageError || e instanceof ConfigError, String(e));
      return false;
    }
  };
  for (const [arn, valid] of arns) {
    const flag = passes(() => plan(assumeOptions("--role-arn", arn)));
    const profile = passes(() =>
      plan(bare("--profile", "p"), cfg({ p: { role_arn: arn, source_profile: "k" }, k: KEYS }))
    );
    const env = passes(() =>
      plan(bare(), emptySharedConfig(), { AWS_ROLE_ARN: arn, AWS_WEB_IDENTITY_TOKEN_FILE: "/t" })
    );
    assert.deepEqual([flag, profile, env], [valid, valid, valid], arn);
  }
});
