/**
 * `deno task demo`: starts the STS stand-in on loopback, runs credproc against it under the shipping
 * permission set, prints the credential document, then — when the AWS CLI is installed — lets the CLI sign
 * `sts get-caller-identity` with credentials it gets through a temporary `credential_process` profile.
 * Nothing leaves 127.0.0.1.
 */
import {
  STANDIN_ACCESS_KEY_ID,
  STANDIN_SECRET_ACCESS_KEY,
  startStandin,
} from "../tests/support/sts_standin/mod.ts";
import { sourceCommand } from "../tests/support/helpers.ts";

const role = "arn:aws:iam::123456789012:role/demo";
const credproc = sourceCommand();

const home = await Deno.makeTempDir({ prefix: "credproc-demo-" });
const standin = await startStandin();
try {
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    AWS_CONFIG_FILE: `${home}/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${home}/credentials`,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ACCESS_KEY_ID: STANDIN_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: STANDIN_SECRET_ACCESS_KEY,
    CREDPROC_CACHE_DIR: `${home}/cache`,
    // The temp HOME must not hide Deno's module cache from `deno run`.
    DENO_DIR: Deno.env.get("DENO_DIR") ||
      `${Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME")}/.cache`}/deno`,
    // Deno's own update check would look up its download host; the demo reaches nothing beyond loopback.
    DENO_NO_UPDATE_CHECK: "1",
  };
  const args = [
    "--role-arn",
    role,
    "--role-session-name",
    "demo",
    "--endpoint-url",
    standin.url,
    "--region",
    "us-east-1",
  ];

  console.log(`STS stand-in listening on ${standin.url}`);
  console.log(`$ credproc ${args.join(" ")}`);
  const run = await new Deno.Command(credproc[0], {
    args: [...credproc.slice(1), ...args],
    env,
    clearEnv: true,
    stdin: "null",
  }).output();
  await Deno.stdout.write(run.stdout);
  await Deno.stderr.write(run.stderr);
  if (run.code !== 0) Deno.exit(run.code);

  const aws = ["/usr/bin/aws", "/usr/local/bin/aws"].find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (!aws) {
    console.log("(AWS CLI not installed: skipping the credential_process round trip)");
  } else {
    const quoted = [...credproc, ...args].map((a) =>
      /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`
    );
    await Deno.writeTextFile(`${home}/config`, `[profile demo]\ncredential_process = ${quoted.join(" ")}\n`);
    const cliArgs = [
      "--profile",
      "demo",
      "sts",
      "get-caller-identity",
      "--endpoint-url",
      standin.url,
      "--region",
      "us-east-1",
      "--output",
      "json",
    ];
    console.log(`\n$ aws ${cliArgs.join(" ")}    # credentials from credproc via credential_process`);
    // An explicit --profile makes the CLI use credential_process even though source keys are in the
    // environment; credproc, started by the CLI, inherits them as its own source credentials.
    const cli = await new Deno.Command(aws, { args: cliArgs, env, clearEnv: true, stdin: "null" }).output();
    await Deno.stdout.write(cli.stdout);
    await Deno.stderr.write(cli.stderr);
    if (cli.code !== 0) Deno.exit(cli.code);
  }
  console.log(
    `\nThe stand-in saw ${standin.count()} request(s), every signature verified: ${
      standin.requests.every((r) => r.signatureValid !== false)
    }`,
  );
} finally {
  await standin.stop();
  await Deno.remove(home, { recursive: true });
}
