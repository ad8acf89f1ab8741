/**
 * What the profile that runs credproc may hold, as README "Set up a profile" and docs/profiles.md say, through
 * the real consumers (AWS CLI v2, boto3, the JS SDK v3's default chain) against the STS stand-in. Whether
 * credproc ran is read off the stand-in: only credproc calls AssumeRole here.
 * - keys for that profile in ~/.aws/credentials win in every consumer: credproc never runs;
 * - keys in the config file's section: botocore runs credproc first, the JS SDK v3 uses the keys;
 * - `sso_account_id`/`sso_role_name` (with an sso-session): botocore goes to SSO and, without a login,
 *   fails; credproc never runs. The JS SDK v3 runs it only because its SSO step failed;
 * - `--verbose` in the line breaks a consumer that reads stdout and stderr merged (the C++ SDK and older AWS
 *   CRT builds append ` 2>&1` to the line): `--log-file` keeps stdout the document.
 */
import assert from "node:assert/strict";
import {
  AWS_V2,
  credprocLine,
  PROCESS_DOC,
  type Result,
  ROOT,
  runProcess,
  type TempHome,
  tempHome,
} from "../support/helpers.ts";
import {
  type Standin,
  STANDIN_ACCESS_KEY_ID,
  STANDIN_ACCOUNT,
  STANDIN_SECRET_ACCESS_KEY,
  STANDIN_USER_ARN,
  startStandin,
} from "../support/sts_standin/mod.ts";

const NODE_CONSUMER = `${ROOT}tests/node-consumer/consumer.mjs`;
// The claims checked here, with line breaks folded (the text is wrapped).
const README = (await Deno.readTextFile(`${ROOT}README.md`)).replace(/\s+/g, " ");
const PROFILES_DOC = (await Deno.readTextFile(`${ROOT}docs/profiles.md`)).replace(/\s+/g, " ");

const KEYS =
  `aws_access_key_id = ${STANDIN_ACCESS_KEY_ID}\naws_secret_access_key = ${STANDIN_SECRET_ACCESS_KEY}\n`;
const ROLE_ARN = `arn:aws:sts::${STANDIN_ACCOUNT}:assumed-role/deploy/prod`;
const CREDPROC = ["--profile", "default", "--role-arn", `arn:aws:iam::${STANDIN_ACCOUNT}:role/deploy`];
const line = (extra: string[] = []) => credprocLine([...CREDPROC, "--role-session-name", "prod", ...extra]);

interface Seen {
  /** The caller ARN the consumer reports, or its error. */
  readonly arn: string;
  /** Whether credproc ran (an AssumeRole reached the stand-in during this consumer's call). */
  readonly credproc: boolean;
}

const CONSUMERS: Record<string, (env: Record<string, string>, standin: Standin) => Promise<Result>> = {
  "AWS CLI v2": (env, standin) =>
    runProcess(AWS_V2, [
      "--profile",
      "prod",
      "sts",
      "get-caller-identity",
      "--query",
      "Arn",
      "--output",
      "text",
      "--region",
      "us-east-1",
      // This CLI (2.9) predates AWS_ENDPOINT_URL_STS; credproc and the other consumers read the variable.
      "--endpoint-url",
      standin.url,
    ], env),
  "boto3": (env) =>
    runProcess("python3", [
      "-c",
      [
        "import sys, boto3",
        "try:",
        '    s = boto3.Session(profile_name="prod").client("sts", region_name="us-east-1")',
        '    print(s.get_caller_identity()["Arn"])',
        "except Exception as e:",
        '    print(type(e).__name__ + ": " + str(e), file=sys.stderr)',
        "    sys.exit(1)",
      ].join("\n"),
    ], env),
  "JS SDK v3 default chain": async (env) => {
    const r = await runProcess("node", [NODE_CONSUMER, "--default-chain"], { ...env, AWS_PROFILE: "prod" });
    return r.code === 0 ? { ...r, stdout: `${JSON.parse(r.stdout).Arn}\n` } : r;
  },
};

/** Runs every consumer with `config` and `credentials` written; what each saw. */
async function run(config: string, credentials: string): Promise<Record<string, Seen>> {
  await using standin = await startStandin();
  await using home: TempHome = await tempHome();
  await home.writeConfig(config);
  await home.writeCredentials(credentials);
  const env = home.env({
    AWS_ENDPOINT_URL_STS: standin.url,
    AWS_PAGER: "",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });
  const seen: Record<string, Seen> = {};
  for (const [name, consumer] of Object.entries(CONSUMERS)) {
    // A fresh cache each time: a consumer must not be answered by credproc's entry from the one before.
    await Deno.remove(home.cacheDir, { recursive: true }).catch(() => {});
    const before = standin.count("AssumeRole");
    const r = await consumer(env, standin);
    const arn = r.code === 0 ? r.stdout.trim() : `error: ${r.stderr.trim().split("\n").at(-1)}`;
    seen[name] = { arn, credproc: standin.count("AssumeRole") > before };
  }
  return seen;
}

const every = (seen: Seen) => Object.fromEntries(Object.keys(CONSUMERS).map((name) => [name, seen]));

Deno.test("the profile that runs credproc: keys under its name in ~/.aws/credentials win, credproc never runs", async () => {
  assert.match(README, /Nor SSO settings \(`sso_session`, `sso_account_id`, `sso_role_name`, …\) or keys/);
  // The control: only credential_process in the profile, keys in [default] (credproc's source).
  const config = `[profile prod]\ncredential_process = ${line()}\n`;
  assert.deepEqual(await run(config, `[default]\n${KEYS}`), every({ arn: ROLE_ARN, credproc: true }));
  assert.deepEqual(
    await run(config, `[default]\n${KEYS}\n[prod]\n${KEYS}`),
    every({ arn: STANDIN_USER_ARN, credproc: false }),
  );
});

Deno.test("keys in the config file's section: botocore runs credproc first, the JS SDK v3 uses the keys", async () => {
  assert.match(PROFILES_DOC, /keys in `~\/\.aws\/config` \(after `credential_process`\)/);
  assert.deepEqual(
    await run(`[profile prod]\ncredential_process = ${line()}\n${KEYS}`, `[default]\n${KEYS}`),
    {
      "AWS CLI v2": { arn: ROLE_ARN, credproc: true },
      "boto3": { arn: ROLE_ARN, credproc: true },
      "JS SDK v3 default chain": { arn: STANDIN_USER_ARN, credproc: false },
    },
  );
});

Deno.test("sso_* in the profile: botocore goes to SSO (no login: an error), credproc never runs", async () => {
  assert.match(PROFILES_DOC, /`fromSSO` \(any `sso_\*` key; when it fails the chain goes on\)/);
  const config = `[profile prod]\ncredential_process = ${line()}\nsso_session = corp\n` +
    `sso_account_id = ${STANDIN_ACCOUNT}\nsso_role_name = deploy\n\n` +
    "[sso-session corp]\nsso_region = us-east-1\nsso_start_url = https://corp.awsapps.com/start\n";
  const noToken = "Error loading SSO Token: Token for corp does not exist";
  assert.deepEqual(await run(config, `[default]\n${KEYS}`), {
    "AWS CLI v2": { arn: `error: ${noToken}`, credproc: false },
    "boto3": { arn: `error: SSOTokenLoadError: ${noToken}`, credproc: false },
    // After `aws sso login` its fromSSO would succeed and credproc would not run either.
    "JS SDK v3 default chain": { arn: ROLE_ARN, credproc: true },
  });
});

Deno.test("--verbose on the line breaks a consumer that merges stderr into stdout; --log-file does not", async () => {
  assert.match(README, /the C\+\+ SDK and older AWS CRT builds run the line with `2>&1`/);
  await using standin = await startStandin();
  await using home = await tempHome();
  await home.writeCredentials(`[default]\n${KEYS}`);
  const env = home.env({ AWS_ENDPOINT_URL_STS: standin.url });
  const log = `${home.dir}/credproc.log`;
  // What those consumers run: the configured line with " 2>&1" appended, through the shell (popen).
  const merged = (extra: string[]) => runProcess("/bin/sh", ["-c", `${line(extra)} 2>&1`], env);

  const verbose = await merged(["--verbose"]);
  assert.equal(verbose.code, 0);
  assert.match(verbose.stdout, /^credproc: /, "the first line the consumer parses is a log line");
  assert.throws(() => JSON.parse(verbose.stdout), SyntaxError);

  await Deno.remove(home.cacheDir, { recursive: true });
  const logged = await merged(["--log-file", log]);
  assert.equal(logged.code, 0);
  assert.match(logged.stdout, PROCESS_DOC);
  assert.equal(JSON.parse(logged.stdout).Version, 1);
  assert.match(await Deno.readTextFile(log), /cache: stored /, "the --verbose lines went to the file");
});
