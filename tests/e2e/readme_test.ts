/**
 * The README's promises, through the real consumers on 127.0.0.1:
 *
 * - "Set up a profile": the `~/.aws/config` recipe, copied out of README.md as written (only the STS endpoint
 *   is pointed at the STS stand-in: `AWS_ENDPOINT_URL_STS` for credproc, `--endpoint-url` for the AWS CLI's
 *   own call), works with the AWS CLI v2, and a second command is answered from credproc's cache.
 * - "Troubleshooting": the table of which consumers show a failing credential_process's stderr. Each row a
 *   consumer installed here can check is run: a profile whose credproc line has a bad `--role-arn`, and the
 *   consumer's error output either carries credproc's `credproc:` line or does not, as the row says.
 */
import assert from "node:assert/strict";
import {
  AWS_V2,
  credprocLine,
  credprocOnPath,
  type Result,
  ROOT,
  runCredproc,
  runProcess,
  tempHome,
} from "../support/helpers.ts";
import {
  STANDIN_ACCESS_KEY_ID,
  STANDIN_ACCOUNT,
  STANDIN_SECRET_ACCESS_KEY,
  startStandin,
} from "../support/sts_standin/mod.ts";

const NODE_CONSUMER = `${ROOT}tests/node-consumer/consumer.mjs`;
const README = await Deno.readTextFile(`${ROOT}README.md`);

/** The text of README section `## title`, up to the next `## `. */
function section(title: string): string {
  const start = README.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README.md has a "## ${title}" section`);
  const end = README.indexOf("\n## ", start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The fenced code blocks of `text` whose info string is `lang`, without the fences. */
function codeBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp("^```" + lang + "\\n([\\s\\S]*?)^```$", "gm"))].map((m) => m[1]);
}

/** Environment both the consumers and credproc see: a temp HOME, the stand-in as every STS endpoint. */
function stsConsumerEnv(home: { env(extra?: Record<string, string>): Record<string, string> }, sts: string) {
  return home.env({
    AWS_ENDPOINT_URL_STS: sts,
    AWS_PAGER: "",
    // The JS SDK warns on stderr that releases after January 2027 need Node 22; this suite runs Node 20.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });
}

Deno.test("README 'Set up a profile': the ~/.aws/config recipe works as written with the AWS CLI v2", async () => {
  const text = section("Set up a profile");
  const [config] = codeBlocks(text, "ini");
  assert.ok(config?.startsWith("# ~/.aws/config\n"), "the recipe's ini block");
  const [commands] = codeBlocks(text, "sh");
  const argv = commands.split("\n")[0].replace(/#.*$/, "").trim().split(/\s+/);
  assert.deepEqual(argv, ["aws", "--profile", "prod", "sts", "get-caller-identity"]);
  const role = /--role-arn (\S+)/.exec(config)?.[1];
  const session = /--role-session-name (\S+)/.exec(config)?.[1];
  assert.equal(role, `arn:aws:iam::${STANDIN_ACCOUNT}:role/deploy`, "the stand-in's account, unchanged");

  await using standin = await startStandin();
  await using home = await tempHome();
  await home.writeConfig(config);
  // "Your source credentials stay where they are — here the [default] profile (keys in ~/.aws/credentials)".
  await home.writeCredentials(
    `[default]\naws_access_key_id = ${STANDIN_ACCESS_KEY_ID}\naws_secret_access_key = ${STANDIN_SECRET_ACCESS_KEY}\n`,
  );
  const env = stsConsumerEnv(home, standin.url);
  env.PATH = `${await credprocOnPath(home.dir)}:${env.PATH}`;

  const expected = {
    UserId: undefined as unknown,
    Account: STANDIN_ACCOUNT,
    Arn: `arn:aws:sts::${STANDIN_ACCOUNT}:assumed-role/deploy/${session}`,
  };
  for (const round of [1, 2]) {
    // The AWS CLI v2 here (2.9) predates AWS_ENDPOINT_URL_STS: its own call gets the flag. credproc reads the
    // variable (which the CLI passes on), and the stand-in would see no AssumeRole if it did not.
    const r = await runProcess(AWS_V2, [...argv.slice(1), "--endpoint-url", standin.url], env);
    assert.equal(r.stderr, "", `aws (round ${round}) wrote to stderr (exit ${r.code})`);
    assert.equal(r.code, 0);
    const who = JSON.parse(r.stdout);
    expected.UserId = who.UserId;
    assert.deepEqual(who, expected);
    // "credproc answers repeated calls from its cache": one AssumeRole, one GetCallerIdentity per command.
    assert.equal(standin.count("AssumeRole"), 1, `AssumeRole calls after round ${round}`);
    assert.equal(standin.count("GetCallerIdentity"), round);
  }
  const assume = standin.requests.find((q) => q.action === "AssumeRole")!;
  assert.equal(assume.accessKeyId, STANDIN_ACCESS_KEY_ID, "credproc signed with the [default] keys");
  assert.equal(assume.params.RoleArn, role);
  assert.equal(assume.params.RoleSessionName, session);
});

/** The README troubleshooting table: consumer cell → what-you-see cell. */
function troubleshootingTable(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of section("Troubleshooting").split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length !== 4 || cells[1] === "consumer" || /^-+$/.test(cells[1])) continue;
    rows.set(cells[1], cells[2]);
  }
  return rows;
}

Deno.test("README 'Troubleshooting': which consumers show a failing credproc's stderr", async (t) => {
  const table = troubleshootingTable();
  // The rows this test checks, exactly as the README states them.
  assert.equal(
    table.get("AWS CLI v2, AWS CLI v1, boto3 / botocore"),
    "`Error when retrieving credentials from custom-process: credproc: …` — credproc's own lines",
  );
  assert.equal(
    table.get("JS SDK v3, `fromProcess` used directly"),
    "`Command failed: <the command>` followed by credproc's lines",
  );
  assert.equal(
    table.get("JS SDK v3, default provider chain"),
    "only `Could not load credentials from any providers`",
  );

  await using standin = await startStandin();
  await using home = await tempHome();
  const bad = ["--role-arn", "not-an-arn", "--role-session-name", "prod"];
  // The control profile names its source, as the README asks: consumers pass AWS_PROFILE on to credproc.
  const good = ["--profile", "default", "--role-arn", `arn:aws:iam::${STANDIN_ACCOUNT}:role/deploy`];
  await home.writeConfig(
    `[profile failing]\ncredential_process = ${credprocLine(bad)}\n\n` +
      `[profile working]\ncredential_process = ${credprocLine([...good, "--role-session-name", "chain"])}\n`,
  );
  await home.writeCredentials(
    `[default]\naws_access_key_id = ${STANDIN_ACCESS_KEY_ID}\naws_secret_access_key = ${STANDIN_SECRET_ACCESS_KEY}\n`,
  );
  // No keys in the environment: the JS SDK's default chain would use them and never run the process.
  const env = stsConsumerEnv(home, standin.url);

  const direct = await runCredproc(bad, env);
  assert.equal(direct.code, 2);
  assert.equal(direct.stdout, "");
  assert.equal(
    direct.stderr,
    'credproc: --role-arn: "not-an-arn" is not an IAM role ARN such as arn:aws:iam::123456789012:role/name\n' +
      "hint: run credproc --help for usage\n",
  );
  const shown = `Error when retrieving credentials from custom-process: ${direct.stderr}`;
  const failed = (r: Result, code: number) => {
    assert.equal(r.stdout, "");
    assert.equal(r.code, code, r.stderr);
  };
  const cliArgs = ["--profile", "failing", "sts", "get-caller-identity", "--region", "us-east-1"];

  await t.step("AWS CLI v2: credproc's lines", async () => {
    const r = await runProcess(AWS_V2, cliArgs, env);
    failed(r, 255);
    assert.equal(r.stderr, `\n${shown}\n`);
  });

  await t.step("AWS CLI v1 (python3 -m awscli): credproc's lines", async () => {
    const version = await runProcess("python3", ["-m", "awscli", "--version"], env);
    assert.match(`${version.stdout}${version.stderr}`, /^aws-cli\/1\./);
    const r = await runProcess("python3", ["-m", "awscli", ...cliArgs], env);
    failed(r, 255);
    assert.equal(r.stderr, `\n${shown}\n`);
  });

  await t.step("boto3 / botocore: credproc's lines in the exception", async () => {
    const script = [
      "import sys, boto3",
      "try:",
      '    boto3.Session(profile_name="failing").client("sts", region_name="us-east-1").get_caller_identity()',
      "except Exception as e:",
      '    print(type(e).__name__ + ": " + str(e), end="")',
      "    sys.exit(1)",
    ].join("\n");
    const r = await runProcess("python3", ["-c", script], env);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, `CredentialRetrievalError: ${shown}`);
  });

  await t.step("JS SDK v3, fromProcess used directly: the command, then credproc's lines", async () => {
    const r = await runProcess("node", [NODE_CONSUMER, "--profile", "failing"], env);
    failed(r, 1);
    assert.equal(
      r.stderr,
      `consumer: CredentialsProviderError: Command failed: ${credprocLine(bad)}\n${direct.stderr}\n`,
    );
  });

  await t.step("JS SDK v3, default provider chain: credproc's lines are hidden", async () => {
    // The control: through the same chain, a working profile's credential_process is run and used.
    const ok = await runProcess("node", [NODE_CONSUMER, "--default-chain"], {
      ...env,
      AWS_PROFILE: "working",
    });
    assert.equal(ok.stderr, "");
    assert.equal(JSON.parse(ok.stdout).Arn, `arn:aws:sts::${STANDIN_ACCOUNT}:assumed-role/deploy/chain`);
    assert.equal(standin.count("AssumeRole"), 1);

    const r = await runProcess("node", [NODE_CONSUMER, "--default-chain"], {
      ...env,
      AWS_PROFILE: "failing",
    });
    failed(r, 1);
    assert.equal(
      r.stderr,
      "consumer: CredentialsProviderError: Could not load credentials from any providers\n",
    );
    assert.ok(!r.stderr.includes("credproc:"));
  });
});
