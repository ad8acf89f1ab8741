/**
 * End to end: profiles and role chains. credproc runs as a subprocess under the shipping permission set with
 * config files written into a temp HOME. moto_server checks the result as an STS nobody here wrote (the AWS
 * CLI v2 calls GetCallerIdentity with what credproc printed); the STS stand-in records each call, so the order
 * of the hops and the keys that signed them are checked too. Every failure case must end with exit 2 before
 * any request reaches STS.
 */
import assert from "node:assert/strict";
import { type Standin, startStandin } from "../support/sts_standin/mod.ts";
import {
  AWS_V2,
  credprocCommand,
  type Moto,
  MOTO_KEYS,
  ok,
  type Result,
  runCredproc,
  runProcess,
  shellQuote,
  startMoto,
  type TempHome,
  tempHome,
} from "../support/helpers.ts";
import { assertOneErrorLine } from "../support/hardening_helpers.ts";
import { standinHome } from "../support/standin_call.ts";

const ACCOUNT = "123456789012";
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const assumed = (name: string, session: string) => `arn:aws:sts::${ACCOUNT}:assumed-role/${name}/${session}`;

let consumers = 0;

/** A new `[profile via-N]` runs credproc with `args`; the AWS CLI v2 signs GetCallerIdentity with its output. */
async function callerArn(home: TempHome, moto: Moto, args: string[], env: Record<string, string> = {}) {
  const credproc = [...credprocCommand(), ...args, "--endpoint-url", moto.url, "--no-cache"].map(shellQuote);
  const profile = `via-${++consumers}`;
  await Deno.writeTextFile(
    home.configFile,
    `\n[profile ${profile}]\ncredential_process = ${credproc.join(" ")}\n`,
    {
      append: true,
    },
  );
  const r = await runProcess(
    AWS_V2,
    [
      "--profile",
      profile,
      "sts",
      "get-caller-identity",
      "--endpoint-url",
      moto.url,
      "--region",
      "us-east-1",
      "--output",
      "json",
    ],
    home.env({ AWS_PAGER: "", ...env }),
  );
  assert.equal(r.code, 0, `aws failed:\n${r.stderr}`);
  return JSON.parse(r.stdout).Arn as string;
}

/** The error contract with exit 2 ({@link assertOneErrorLine}), and an end well before any timeout. */
function assertConfigError(r: Result, line: RegExp): void {
  assertOneErrorLine(r, 2, line);
  assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
}

const THREE_PROFILES = `
[profile top]
role_arn = ${role("chain-c")}
source_profile = mid
role_session_name = top-session

[profile mid]
role_arn = ${role("chain-b")}
source_profile = base
`;

Deno.test("moto: a three-profile source_profile chain ends in the top profile's role", async () => {
  await using moto = await startMoto();
  await using home = await tempHome();
  await home.writeConfig(THREE_PROFILES);
  await home.writeCredentials(
    `[base]\naws_access_key_id = ${MOTO_KEYS.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${MOTO_KEYS.AWS_SECRET_ACCESS_KEY}\n`,
  );
  assert.equal(await callerArn(home, moto, ["--profile", "top"]), assumed("chain-c", "top-session"));
  // A flag overrides the top hop's profile value.
  assert.equal(
    await callerArn(home, moto, ["--profile", "top", "--role-session-name", "flag-session"]),
    assumed("chain-c", "flag-session"),
  );
});

Deno.test("moto: credential_source = Environment takes the source keys from the environment", async () => {
  await using moto = await startMoto();
  await using home = await tempHome();
  await home.writeConfig(
    `[profile env-role]\nrole_arn = ${role("from-env")}\ncredential_source = Environment\n`,
  );
  const arn = await callerArn(home, moto, ["--profile", "env-role", "--role-session-name", "env"], MOTO_KEYS);
  assert.equal(arn, assumed("from-env", "env"));
  // Without keys in the environment: a clear error from the environment source, exit 1.
  const r = await runCredproc(
    ["--profile", "env-role", "--endpoint-url", moto.url, "--no-cache"],
    home.env(),
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.lines[0], /^credproc: source credentials \(environment from profile env-role\): /);
});

Deno.test("moto: an explicit three-hop --role-arn chain; GetCallerIdentity shows the last role", async () => {
  await using moto = await startMoto();
  await using home = await tempHome();
  const arn = await callerArn(
    home,
    moto,
    [
      "--role-arn",
      role("hop-1"),
      "--role-arn",
      role("hop-2"),
      "--role-arn",
      role("hop-3"),
      "--role-session-name",
      "three",
    ],
    MOTO_KEYS,
  );
  assert.equal(arn, assumed("hop-3", "three"));
});

Deno.test("moto: --profile P --role-arn R assumes R with P's credentials", async () => {
  await using moto = await startMoto();
  await using home = await tempHome();
  await home.writeConfig(THREE_PROFILES);
  await home.writeCredentials(
    `[base]\naws_access_key_id = ${MOTO_KEYS.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${MOTO_KEYS.AWS_SECRET_ACCESS_KEY}\n`,
  );
  const arn = await callerArn(home, moto, [
    "--profile",
    "top",
    "--role-arn",
    role("on-top"),
    "--role-session-name",
    "on-top",
  ]);
  assert.equal(arn, assumed("on-top", "on-top"));
});

// ── the stand-in: order of the hops and who signed each ────────────────────────────────────────────────

function run(home: TempHome, standin: Standin, args: string[], env: Record<string, string> = {}) {
  return runCredproc([...args, "--endpoint-url", standin.url, "--no-cache"], home.env(env));
}

Deno.test("stand-in: each profile hop is signed by the previous hop's credentials, in order", async () => {
  await using standin = await startStandin();
  await using home = await standinHome(standin, THREE_PROFILES);
  const r = await run(home, standin, ["--profile", "top"]);
  ok(r);
  const calls = standin.requests.map((q) => [q.action, q.params.RoleArn, q.signatureValid]);
  assert.deepEqual(calls, [["AssumeRole", role("chain-b"), true], ["AssumeRole", role("chain-c"), true]]);
  assert.equal(standin.requests[0].accessKeyId, standin.accessKeyId);
  const first = standin.issued.get(standin.requests[1].accessKeyId!);
  assert.equal(first?.arn, assumed("chain-b", standin.requests[0].params.RoleSessionName));
  assert.equal(standin.requests[1].params.RoleSessionName, "top-session");
  assert.equal(JSON.parse(r.stdout).AccessKeyId, [...standin.issued.keys()].at(-1));
});

Deno.test("stand-in: AWS_PROFILE with role_arn is resolved by credproc, then --role-arn on top", async () => {
  await using standin = await startStandin();
  await using home = await standinHome(standin, THREE_PROFILES);
  ok(await run(home, standin, ["--role-arn", role("last")], { AWS_PROFILE: "top" }));
  assert.deepEqual(standin.requests.map((q) => q.params.RoleArn), [
    role("chain-b"),
    role("chain-c"),
    role("last"),
  ]);
});

Deno.test("stand-in: a chained --duration-seconds above 3600 fails before any call", async () => {
  await using standin = await startStandin();
  await using home = await standinHome(standin, THREE_PROFILES);
  assertConfigError(
    await run(home, standin, ["--profile", "top", "--duration-seconds", "7200"]),
    /^credproc: duration for arn:aws:iam::123456789012:role\/chain-c \(profile top\): 7200 s is too long .*role chaining/,
  );
  assertConfigError(
    await run(
      home,
      standin,
      ["--role-arn", role("a"), "--role-arn", role("b"), "--duration-seconds", "3601"],
      {
        AWS_ACCESS_KEY_ID: standin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: standin.secretAccessKey,
      },
    ),
    /^credproc: --duration-seconds: 3601 s is too long for arn:aws:iam::123456789012:role\/b: AWS caps role chaining/,
  );
  assert.equal(standin.count(), 0);
});

Deno.test("stand-in: loops, missing and conflicting profiles exit 2 naming the profiles, with no call", async (t) => {
  await using standin = await startStandin();
  const cases: [string, string, string[], RegExp][] = [
    [
      "a loop a → b → a",
      `[profile a]\nrole_arn = ${role("a")}\nsource_profile = b\n[profile b]\nrole_arn = ${
        role("b")
      }\nsource_profile = a\n`,
      ["--profile", "a"],
      /^credproc: profiles a → b → a: source_profile loop$/,
    ],
    [
      "a profile that is its own source without keys",
      `[profile a]\nrole_arn = ${role("a")}\nsource_profile = a\n`,
      ["--profile", "a"],
      /^credproc: profiles a → a: source_profile loop/,
    ],
    [
      "a missing source_profile",
      `[profile a]\nrole_arn = ${role("a")}\nsource_profile = b\n[profile b]\nrole_arn = ${
        role("b")
      }\nsource_profile = gone\n`,
      ["--profile", "a"],
      /^credproc: profile b: source_profile "gone" does not exist \(profiles visited: a → b\)$/,
    ],
    [
      "role_arn without a source",
      `[profile a]\nrole_arn = ${role("a")}\n`,
      ["--profile", "a"],
      /^credproc: profile a: has role_arn but no source_profile, credential_source or web_identity_token_file/,
    ],
    [
      "both source_profile and credential_source",
      `[profile a]\nrole_arn = ${role("a")}\nsource_profile = base\ncredential_source = Environment\n`,
      ["--profile", "a"],
      /^credproc: profile a: has both source_profile and credential_source/,
    ],
    [
      "a profile that does not exist",
      "[profile a]\nregion = us-east-1\n",
      ["--profile", "nope"],
      /^credproc: profile nope: not found in /,
    ],
    [
      "a source profile whose credential_process runs credproc",
      `[profile a]\nrole_arn = ${
        role("a")
      }\nsource_profile = prod\n[profile prod]\ncredential_process = credproc --profile a\n`,
      ["--profile", "a"],
      /^credproc: profile prod: its credential_process runs credproc itself.*\(profiles visited: a → prod\)/,
    ],
    [
      "a source profile with any other credential_process",
      `[profile a]\nrole_arn = ${
        role("a")
      }\nsource_profile = vault\n[profile vault]\ncredential_process = aws-vault exec x --json\n`,
      ["--profile", "a"],
      /^credproc: profile vault: gets its credentials from credential_process, which cannot run inside credproc's sandbox/,
    ],
  ];
  for (const [name, config, args, line] of cases) {
    await t.step(name, async () => {
      await using home = await standinHome(standin, config);
      assertConfigError(await run(home, standin, args), line);
    });
  }
  await t.step("AWS_PROFILE naming the profile that runs credproc (no recursion)", async () => {
    await using home = await standinHome(
      standin,
      "[profile prod]\ncredential_process = credproc --role-arn x\n",
    );
    const r = await run(home, standin, ["--role-arn", role("a")], { AWS_PROFILE: "prod" });
    assertConfigError(r, /^credproc: profile prod: its credential_process runs credproc itself/);
    assert.match(
      r.lines[1],
      /^hint: name the profile that holds the source credentials: credential_process = credproc --profile SOURCE/,
    );
  });
  assert.equal(standin.count(), 0);
});

Deno.test("an SSO profile without a token cache: a clear error, no network", async () => {
  await using standin = await startStandin();
  await using home = await standinHome(
    standin,
    `[profile dev]\nrole_arn = ${role("dev")}\nsource_profile = sso\n` +
      `[profile sso]\nsso_session = corp\nsso_account_id = ${ACCOUNT}\nsso_role_name = Dev\n` +
      `[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n`,
  );
  const r = await run(home, standin, ["--profile", "dev"], {
    // Nothing may reach a real host even if the SDK tried to refresh: SSO endpoints point at a dead port.
    AWS_ENDPOINT_URL_SSO: "http://127.0.0.1:9/",
    AWS_ENDPOINT_URL_SSO_OIDC: "http://127.0.0.1:9/",
  });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.match(r.lines[0], /^credproc: source credentials \(sso from profile sso\): .*SSO/i);
  assert.match(r.lines[1] ?? "", /^hint: .*aws sso login --profile sso/);
  assert.equal(standin.count(), 0);
});
