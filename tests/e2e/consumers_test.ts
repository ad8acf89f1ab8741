/**
 * End to end through the programs credproc exists for: the AWS CLI v2 and v1, boto3 and the AWS SDK for
 * JavaScript v3 each read credentials from a profile whose `credential_process` runs credproc, then sign
 * `sts get-caller-identity` against moto_server with them. moto remembers which keys AssumeRole issued, so the
 * ARN it returns proves the consumer signed with credproc's credentials (moto's base keys would give
 * `arn:aws:sts::123456789012:user/moto`).
 */
import assert from "node:assert/strict";
import {
  AWS_V2,
  credprocLine,
  type Moto,
  MOTO_KEYS,
  motoArgs,
  okText,
  ROOT,
  runCredproc,
  runProcess,
  startMoto,
  type TempHome,
  tempHome,
} from "../support/helpers.ts";

const NODE_CONSUMER = `${ROOT}tests/node-consumer`;
const ACCOUNT = "123456789012";
/** The profile every consumer names; credproc is its credential_process. */
const PROFILE = "via-credproc";
/** moto's default AssumeRole duration (DurationSeconds omitted). */
const DEFAULT_DURATION_MS = 3600_000;
/** A session tag with a space, so the command line needs quoting that both botocore and /bin/sh undo. */
const TAG = "team=platform ops";

/**
 * A temp HOME whose `~/.aws/config` has `[profile via-credproc]` running credproc for role session `session`.
 * moto's base keys sit in the consumer's environment: the consumer must not use them itself, and credproc,
 * started by the consumer, inherits them as its source credentials.
 */
async function consumerHome(
  moto: Moto,
  session: string,
  credprocArgv = motoArgs(moto, session, ["--tag", TAG]),
) {
  const home = await tempHome();
  await home.writeConfig(`[profile ${PROFILE}]\ncredential_process = ${credprocLine(credprocArgv)}\n`);
  const env = home.env({
    ...MOTO_KEYS,
    AWS_PAGER: "",
    // A safety net only: every command here also names the endpoint explicitly.
    AWS_ENDPOINT_URL: moto.url,
    // The JS SDK warns on stderr that releases after January 2027 need Node 22; this suite runs Node 20.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });
  return { home, env };
}

function sessionArn(session: string): string {
  return `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/${session}`;
}

function cliArgs(moto: Moto): string[] {
  return [
    "--profile",
    PROFILE,
    "sts",
    "get-caller-identity",
    "--endpoint-url",
    moto.url,
    "--region",
    "us-east-1",
    "--output",
    "json",
  ];
}

/** The `aws` on PATH that reports `aws-cli/1.`, e.g. pyenv's shim (`which -a aws` also lists the v2). */
async function findAwsV1(home: TempHome): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const path = `${dir || "."}/aws`;
    try {
      if (!(await Deno.stat(path)).isFile) continue;
    } catch {
      continue;
    }
    const r = await runProcess(path, ["--version"], home.env());
    if (r.code === 0 && `${r.stdout}${r.stderr}`.startsWith("aws-cli/1.")) return path;
  }
  return undefined;
}

Deno.test("consumers sign GetCallerIdentity with credentials from credproc's credential_process", async (t) => {
  await using moto = await startMoto();

  await t.step("AWS CLI v2", async () => {
    const version = await runProcess(AWS_V2, ["--version"], { PATH: "/usr/bin:/bin" });
    assert.match(version.stdout, /^aws-cli\/2\./, `${AWS_V2} is not the AWS CLI v2`);
    const { home, env } = await consumerHome(moto, "cli-v2");
    await using _ = home;
    const r = await runProcess(AWS_V2, cliArgs(moto), env);
    okText(r, "aws (v2)");
    assert.equal(JSON.parse(r.stdout).Arn, sessionArn("cli-v2"));

    // The CLI read credproc's Expiration (RFC 3339, Z, whole seconds) and hands it on with its own offset.
    const before = Date.now();
    const exported = await runProcess(
      AWS_V2,
      ["--profile", PROFILE, "configure", "export-credentials", "--format", "env-no-export"],
      env,
    );
    okText(exported, "aws configure export-credentials");
    const expiration = /^AWS_CREDENTIAL_EXPIRATION=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\+00:00$/m.exec(
      exported.stdout,
    );
    assert.ok(expiration, exported.stdout);
    assert.match(exported.stdout, /^AWS_ACCESS_KEY_ID=ASIA[A-Z0-9]{16}$/m);
    assert.ok(Date.parse(`${expiration[1]}Z`) <= Date.now() + DEFAULT_DURATION_MS);
    assert.ok(Date.parse(`${expiration[1]}Z`) > before - 60_000 + DEFAULT_DURATION_MS);
  });

  await t.step("AWS CLI v1", async () => {
    const { home, env } = await consumerHome(moto, "cli-v1");
    await using _ = home;
    const aws = await findAwsV1(home);
    assert.ok(aws, "no AWS CLI v1 on PATH (`pip install awscli`; `aws --version` must say aws-cli/1.x)");
    const r = await runProcess(aws, cliArgs(moto), env);
    okText(r, `${aws} (v1)`);
    assert.equal(JSON.parse(r.stdout).Arn, sessionArn("cli-v1"));
  });

  await t.step("boto3", async () => {
    const { home, env } = await consumerHome(moto, "boto3");
    await using _ = home;
    const script = [
      "import json, sys, boto3",
      `sts = boto3.Session(profile_name=${JSON.stringify(PROFILE)}).client(`,
      `    "sts", endpoint_url=sys.argv[1], region_name="us-east-1")`,
      `print(json.dumps({"Arn": sts.get_caller_identity()["Arn"]}, separators=(",", ":")))`,
    ].join("\n");
    const r = await runProcess("python3", ["-c", script, moto.url], env);
    okText(r, "python3 (boto3)");
    assert.equal(r.stdout, `${JSON.stringify({ Arn: sessionArn("boto3") })}\n`);
  });

  await t.step("AWS SDK for JavaScript v3 on Node (fromProcess)", async () => {
    const pkg = JSON.parse(await Deno.readTextFile(`${NODE_CONSUMER}/package.json`));
    for (const [name, version] of Object.entries(pkg.dependencies as Record<string, string>)) {
      let installed: { version: string };
      try {
        installed = JSON.parse(await Deno.readTextFile(`${NODE_CONSUMER}/node_modules/${name}/package.json`));
      } catch {
        assert.fail(`${name} is not installed: run \`npm ci\` in tests/node-consumer (.ci/run does)`);
      }
      assert.equal(installed.version, version, `${name}: run \`npm ci\` in tests/node-consumer again`);
    }
    const { home, env } = await consumerHome(moto, "node-sdk");
    await using _ = home;
    const before = Date.now();
    const r = await runProcess(
      "node",
      [
        `${NODE_CONSUMER}/consumer.mjs`,
        "--profile",
        PROFILE,
        "--endpoint",
        moto.url,
        "--region",
        "us-east-1",
      ],
      env,
    );
    const after = Date.now();
    okText(r, "node consumer.mjs");
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out), ["Arn", "Expiration"]);
    assert.equal(out.Arn, sessionArn("node-sdk"));
    // `new Date(Expiration)` in the SDK: the Z form reads as UTC, whole seconds.
    assert.match(out.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    const expiration = Date.parse(out.Expiration);
    assert.ok(expiration <= after + DEFAULT_DURATION_MS && expiration > before + DEFAULT_DURATION_MS - 1000);
  });
});

Deno.test("a failing credproc fails the AWS CLI v2 with credproc's own message", async () => {
  await using moto = await startMoto();
  const argv = ["--role-arn", "not-an-arn", "--endpoint-url", moto.url, "--region", "us-east-1"];
  const { home, env } = await consumerHome(moto, "unused", argv);
  await using _ = home;

  const direct = await runCredproc(argv, env);
  assert.equal(direct.code, 2);
  assert.equal(direct.stdout, "");
  assert.equal(
    direct.lines[0],
    'credproc: --role-arn: "not-an-arn" is not an IAM role ARN such as arn:aws:iam::123456789012:role/name',
  );
  assert.ok(direct.lines.length === 1 || (direct.lines.length === 2 && direct.lines[1].startsWith("hint: ")));

  const r = await runProcess(AWS_V2, cliArgs(moto), env);
  assert.equal(r.code, 255);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, `\nError when retrieving credentials from custom-process: ${direct.stderr}\n`);
});

Deno.test("with keys in the environment, AWS_PROFILE alone does not reach credential_process", async () => {
  // Why every consumer above names the profile explicitly: the CLI's environment provider comes first.
  await using moto = await startMoto();
  const { home, env } = await consumerHome(moto, "never-called");
  await using _ = home;
  const r = await runProcess(AWS_V2, cliArgs(moto).slice(2), { ...env, AWS_PROFILE: PROFILE });
  okText(r, "aws (v2)");
  assert.equal(JSON.parse(r.stdout).Arn, `arn:aws:sts::${ACCOUNT}:user/moto`);
});
