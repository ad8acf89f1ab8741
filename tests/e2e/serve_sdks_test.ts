/**
 * Every SDK that reads `AWS_CONTAINER_CREDENTIALS_FULL_URI`, against `credproc serve` end to end: the AWS
 * SDK for Go v1 and v2 (Debian's), the JS SDK v2 and v3 (its default chain, and `fromContainerMetadata`),
 * boto3, the AWS CLI v1 and v2, and the AWS CRT (which sends `Host: 127.0.0.1` without the port). Each signs
 * GetCallerIdentity at the STS stand-in with what it got, so the ARN proves it used the role credproc served.
 *
 * With the plain token every one of them works. With the token only in a file, or in both places, each SDK
 * does what docs/usage.md says of it: these rows are that table's evidence.
 */
import assert from "node:assert/strict";
import { AWS_V2, ROOT, runProcess, type TempHome } from "../support/helpers.ts";
import { type Standin, startStandin } from "../support/sts_standin/mod.ts";
import {
  ARN,
  consumerEnv,
  serveArgs,
  type Server,
  sourceHome,
  startServe,
} from "../support/serve_helpers.ts";
import { goConsumer } from "../support/go_consumer.ts";

const NODE_CONSUMER = `${ROOT}tests/node-consumer/consumer.mjs`;
const SERVE_CONSUMERS = `${ROOT}tests/serve-consumers/consumer.mjs`;
const BOTO3 = `
import json, sys, boto3
s = boto3.Session(region_name="us-east-1")
print(json.dumps({"Arn": s.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"]}))
`;

/** A consumer: its argv for the stand-in's URL. */
type Consumer = (url: string) => Promise<string[]>;

const cli = (url: string) => ["sts", "get-caller-identity", "--endpoint-url", url, "--region", "us-east-1"];

const CONSUMERS: Record<string, Consumer> = {
  "Go v1": async (url) => [await goConsumer(), "v1", url],
  "Go v2": async (url) => [await goConsumer(), "v2", url],
  "JS v2": (url) => Promise.resolve(["node", SERVE_CONSUMERS, "--sdk", "js-v2", "--endpoint", url]),
  "JS v3 default chain": (url) =>
    Promise.resolve(["node", NODE_CONSUMER, "--default-chain", "--endpoint", url]),
  "JS v3 fromContainerMetadata": (url) =>
    Promise.resolve(["node", SERVE_CONSUMERS, "--sdk", "js-v3-container", "--endpoint", url]),
  "boto3": (url) => Promise.resolve(["python3", "-c", BOTO3, url]),
  "AWS CLI v1": (url) => Promise.resolve(["python3", "-m", "awscli", ...cli(url), "--output", "json"]),
  "AWS CLI v2": (url) => Promise.resolve([AWS_V2, ...cli(url), "--output", "json"]),
  "AWS CRT": (url) => Promise.resolve(["node", SERVE_CONSUMERS, "--sdk", "crt", "--endpoint", url]),
};

/** Runs every consumer against `server`; the ARN each signed as, or `failed` (with its first stderr line). */
async function runAll(
  standin: Standin,
  home: TempHome,
  server: Server,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  const env = consumerEnv(home, server, extra);
  const outcomes: Record<string, string> = {};
  await Promise.all(
    Object.entries(CONSUMERS).map(async ([name, argv]) => {
      const [cmd, ...args] = await argv(standin.url);
      const r = await runProcess(cmd, args, env);
      let arn: string | undefined;
      try {
        arn = JSON.parse(r.stdout).Arn;
      } catch { /* not JSON: failed */ }
      outcomes[name] = r.code === 0 && arn !== undefined
        ? arn
        : `failed (exit ${r.code}): ${r.lines[0] ?? ""}`;
    }),
  );
  return outcomes;
}

/** Each consumer's outcome: the served role's ARN, or a failure. */
function expect(works: readonly string[]): Record<string, string> {
  return Object.fromEntries(Object.keys(CONSUMERS).map((n) => [n, works.includes(n) ? ARN : "failed"]));
}

/** The outcomes with failures reduced to `failed` (their reasons are printed for the reader). */
function verdicts(outcomes: Record<string, string>): Record<string, string> {
  for (const [name, o] of Object.entries(outcomes)) if (o !== ARN) console.log(`${name}: ${o.slice(0, 200)}`);
  return Object.fromEntries(Object.entries(outcomes).map(([n, o]) => [n, o === ARN ? o : "failed"]));
}

/**
 * Who sends which token (docs/usage.md's table): with only `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, the
 * SDKs that read the file; with both variables, the file wins where it is read — except in the JS SDK v2,
 * which reads the file only when the variable is unset — and the JS SDK v3's default chain tries the file's
 * token (fromHttp) and then the variable's (fromContainerMetadata).
 */
const READS_FILE = ["JS v2", "JS v3 default chain", "boto3", "AWS CLI v1", "AWS CRT"];
const FILE_WINS = ["JS v3 default chain", "boto3", "AWS CLI v1", "AWS CRT"];
const VARIABLE_WINS = [
  "Go v1",
  "Go v2",
  "JS v2",
  "JS v3 default chain",
  "JS v3 fromContainerMetadata",
  "AWS CLI v2",
];

Deno.test("serve: every SDK that reads FULL_URI signs with the served role (plain token; token file; both)", async (t) => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  await goConsumer(); // built (or found) before the clock of any step starts

  await t.step("the plain token: every one", async () => {
    await using server = await startServe(serveArgs(standin), env);
    assert.deepEqual(verdicts(await runAll(standin, home, server)), expect(Object.keys(CONSUMERS)));
    const r = await server.stop();
    assert.deepEqual([r.code, r.stderr], [0, ""]);
  });

  const tokenFile = `${home.dir}/token`;
  const token = "file-token-0123456789-abcdefghij";
  await Deno.writeTextFile(tokenFile, token, { mode: 0o600 });

  await t.step("the token only in a file: the SDKs that read the file", async () => {
    await using server = await startServe(serveArgs(standin, "--token-file", tokenFile), env);
    assert.deepEqual(verdicts(await runAll(standin, home, server)), expect(READS_FILE));
  });

  await t.step(
    "the token in both, the variable's wrong: the SDKs where the file wins",
    async () => {
      await using server = await startServe(serveArgs(standin, "--token-file", tokenFile), env);
      const outcomes = await runAll(standin, home, server, {
        AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong-token-0123456789",
      });
      assert.deepEqual(verdicts(outcomes), expect(FILE_WINS));
    },
  );

  await t.step(
    "the token in both, the file's wrong: the SDKs that send the variable's (JS v3's chain tries both)",
    async () => {
      await using server = await startServe(serveArgs(standin, "--token-file", tokenFile), env);
      const wrong = `${home.dir}/wrong-token`;
      await Deno.writeTextFile(wrong, "wrong-token-0123456789", { mode: 0o600 });
      const outcomes = await runAll(standin, home, server, {
        AWS_CONTAINER_AUTHORIZATION_TOKEN: token,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: wrong,
      });
      assert.deepEqual(verdicts(outcomes), expect(VARIABLE_WINS));
    },
  );
});
