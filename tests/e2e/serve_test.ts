/**
 * `credproc serve` end to end: the real program as a subprocess under the shipping permission set, the STS
 * stand-in on loopback as STS, and the real consumers — the AWS CLI v2, boto3 and the AWS SDK for JavaScript
 * v3 — reading the endpoint through `AWS_CONTAINER_CREDENTIALS_FULL_URI` and the token (or the token file),
 * then signing GetCallerIdentity at the stand-in with what they got: the ARN the stand-in answers proves they
 * signed with the role's credentials credproc served. Also: wrong and missing tokens, another Host, a
 * refresh once the credentials are due, 50 concurrent clients sharing one STS call, a failed refresh that
 * the server survives, a second server answered from the cache, and SIGTERM/SIGINT.
 */
import assert from "node:assert/strict";
import { AWS_V2, credprocCommand, ROOT, runProcess, tempHome } from "../support/helpers.ts";
import { startStandin } from "../support/sts_standin/mod.ts";
import {
  ARN,
  consumerEnv,
  EndedEarly,
  getCredentials,
  serveArgs,
  sourceHome,
  startServe,
  untilDue,
} from "../support/serve_helpers.ts";

const NODE_CONSUMER = `${ROOT}tests/node-consumer/consumer.mjs`;

/** The boto3 consumer: credentials from botocore's default chain, GetCallerIdentity at `endpoint`. */
const BOTO3 = `
import json, sys, boto3
s = boto3.Session(region_name="us-east-1")
c = s.get_credentials()
arn = s.client("sts", endpoint_url=sys.argv[1]).get_caller_identity()["Arn"]
print(json.dumps({"Arn": arn, "method": c.method}))
`;

Deno.test("serve: the AWS CLI v2, boto3 and the JS SDK v3 sign with the role's credentials from the endpoint", async (t) => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  await using server = await startServe(serveArgs(standin), env);
  assert.equal(server.lines.length, 2);
  assert.match(
    server.lines[0],
    /^export AWS_CONTAINER_CREDENTIALS_FULL_URI=http:\/\/127\.0\.0\.1:\d+\/credentials$/,
  );
  assert.match(server.lines[1], /^export AWS_CONTAINER_AUTHORIZATION_TOKEN=[A-Za-z0-9_-]{43}$/);
  assert.equal(standin.count("AssumeRole"), 1, "credentials are fetched before the lines are printed");

  await t.step("the document", async () => {
    const { status, body } = await getCredentials(server);
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body), ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"]);
    const issued = standin.issued.get(body.AccessKeyId);
    assert.ok(issued, "the stand-in issued these keys");
    assert.equal(body.SecretAccessKey, issued.secretAccessKey);
    assert.equal(body.Token, issued.sessionToken);
    assert.equal(body.Expiration, issued.expiration.toISOString().replace(/\.\d{3}Z$/, "Z"));
  });

  await t.step("AWS CLI v2", async () => {
    const r = await runProcess(
      AWS_V2,
      [
        "sts",
        "get-caller-identity",
        "--endpoint-url",
        standin.url,
        "--region",
        "us-east-1",
        "--output",
        "json",
      ],
      consumerEnv(home, server),
    );
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(JSON.parse(r.stdout).Arn, ARN);
  });

  await t.step("boto3", async () => {
    const r = await runProcess("python3", ["-c", BOTO3, standin.url], consumerEnv(home, server));
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), { Arn: ARN, method: "container-role" });
  });

  await t.step("the JS SDK v3 (its default chain's container provider)", async () => {
    const r = await runProcess(
      "node",
      [NODE_CONSUMER, "--default-chain", "--endpoint", standin.url],
      consumerEnv(home, server),
    );
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    const { body } = await getCredentials(server);
    assert.deepEqual(JSON.parse(r.stdout), {
      Arn: ARN,
      Expiration: new Date(body.Expiration).toISOString(),
    });
  });

  await t.step("a wrong or missing token: 401, and the consumers fail", async () => {
    const token = server.vars.AWS_CONTAINER_AUTHORIZATION_TOKEN;
    const wrong: Record<string, string>[] = [{}, { authorization: "wrong" }, { authorization: `${token}x` }];
    for (const headers of wrong) {
      assert.deepEqual(await getCredentials(server, headers), {
        status: 401,
        body: { Code: "Unauthorized", Message: "the Authorization header is missing or wrong" },
      });
    }
    const r = await runProcess(
      "python3",
      ["-c", BOTO3, standin.url],
      consumerEnv(home, server, { AWS_CONTAINER_AUTHORIZATION_TOKEN: "wrong-token" }),
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /non 200 response 401/);
  });

  await t.step("another Host header (DNS rebinding) is refused", async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const request = `GET /credentials HTTP/1.1\r\nHost: rebind.example:${server.port}\r\n` +
      `Authorization: ${server.vars.AWS_CONTAINER_AUTHORIZATION_TOKEN}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(request));
    const answer = await new Response(conn.readable).text();
    assert.match(answer, /^HTTP\/1\.1 403 /);
    assert.ok(!answer.includes("AccessKeyId"));
  });

  // Every consumer above used the credentials fetched at start-up.
  assert.equal(standin.count("AssumeRole"), 1);
  assert.equal(standin.count("GetCallerIdentity"), 3);

  await t.step("SIGTERM: exit 0 at once, nothing more on stdout, nothing on stderr", async () => {
    const r = await server.stop("SIGTERM");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "");
    assert.ok(r.ms < 3000, `${Math.round(r.ms)} ms`);
  });

  await t.step(
    "the same command again serves again (the fast path never answers serve with credentials)",
    async () => {
      await using again = await startServe(serveArgs(standin), env);
      assert.match(again.lines[0], /^export AWS_CONTAINER_CREDENTIALS_FULL_URI=/);
      assert.notEqual(
        again.vars.AWS_CONTAINER_AUTHORIZATION_TOKEN,
        server.vars.AWS_CONTAINER_AUTHORIZATION_TOKEN,
      );
      assert.equal((await getCredentials(again)).status, 200);
      assert.equal(standin.count("AssumeRole"), 1, "answered from the cache");
    },
  );
});

Deno.test("serve: due credentials are refreshed once for 50 concurrent clients; a second server starts from the cache", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  const marginMs = 60_000;
  // The first credentials are due (inside the margin) a few seconds after they are issued.
  const dueAt = Date.now() + 6000;
  standin.configure({ expirationMs: dueAt + marginMs });
  await using server = await startServe(serveArgs(standin, "--refresh-margin", "60", "--verbose"), env);
  const started = Date.now();
  assert.equal(standin.count("AssumeRole"), 1);
  const first = await getCredentials(server);
  assert.equal(first.status, 200);
  assert.equal(first.body.Expiration, new Date(dueAt + marginMs).toISOString().replace(/\.\d{3}Z$/, "Z"));
  standin.configure({ expirationMs: null });
  await untilDue(dueAt + marginMs, marginMs, started);

  // A slow STS answer, so all 50 requests arrive while the one call is in flight.
  standin.pushFault({ kind: "delay", ms: 800 });
  const answers = await Promise.all(Array.from({ length: 50 }, () => getCredentials(server)));
  assert.deepEqual(answers.map((a) => a.status), Array(50).fill(200));
  const keys = new Set(answers.map((a) => a.body.AccessKeyId));
  assert.equal(keys.size, 1, "every client got the same new credentials");
  assert.notEqual([...keys][0], first.body.AccessKeyId);
  assert.equal(standin.count("AssumeRole"), 2, "50 concurrent clients, one STS call");

  // A second server for the same role, started now, is answered from the cache: no STS call.
  await using second = await startServe(serveArgs(standin, "--refresh-margin", "60"), env);
  assert.equal(standin.count("AssumeRole"), 2);
  assert.equal((await getCredentials(second)).body.AccessKeyId, [...keys][0]);
  assert.equal((await second.stop()).stderr, "");

  const r = await server.stop("SIGINT");
  assert.equal(r.code, 0);
  const lines = r.stderr.split("\n").filter((l) => l.startsWith("credproc: serve: GET"));
  assert.equal(lines.length, 1 + 50, r.stderr);
  for (const line of lines) assert.match(line, /^credproc: serve: GET \/credentials 200 \d+ ms$/);
  assert.ok(!r.stderr.includes(server.vars.AWS_CONTAINER_AUTHORIZATION_TOKEN), "the token is never logged");
  assert.ok(!r.stderr.includes(standin.secretAccessKey));
});

Deno.test("serve: a failed refresh is a 500 naming the kind, said once on stderr; the next request succeeds", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  const dueAt = Date.now() + 5000;
  standin.configure({ expirationMs: dueAt + 60_000 });
  await using server = await startServe(serveArgs(standin, "--refresh-margin", "60"), env);
  const started = Date.now();
  standin.configure({ expirationMs: null });
  await untilDue(dueAt + 60_000, 60_000, started);
  standin.pushFault({ kind: "deny", code: "AccessDenied" });
  const failed = await getCredentials(server);
  assert.equal(failed.status, 500);
  assert.equal(failed.body.Code, "StsError");
  assert.match(failed.body.Message, /^AssumeRole arn:aws:iam::123456789012:role\/deploy: AccessDenied: /);
  const after = await getCredentials(server);
  assert.equal(after.status, 200, `after a failed refresh: ${JSON.stringify(after.body)}`);
  assert.equal(standin.count("AssumeRole"), 3);
  const r = await server.stop();
  assert.equal(r.code, 0);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /^credproc: AssumeRole arn:aws:iam::123456789012:role\/deploy: AccessDenied: /);
  assert.match(lines[1], /^hint: /);
});

Deno.test("serve --token-file: the SDKs read the token from the file; a bad file is one line, exit 2", async (t) => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  const tokenFile = `${home.dir}/serve token`;
  const token = "file-token-0123456789-abcdefghij";
  await Deno.writeTextFile(tokenFile, token, { mode: 0o600 });

  await t.step("botocore and the JS SDK send the file's token", async () => {
    await using server = await startServe(serveArgs(standin, "--token-file", tokenFile), env);
    assert.deepEqual(server.lines, [
      server.lines[0],
      `export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE='${tokenFile}'`,
    ]);
    assert.equal(server.vars.AWS_CONTAINER_AUTHORIZATION_TOKEN, undefined);
    assert.equal((await getCredentials(server, { authorization: token })).status, 200);
    const py = await runProcess("python3", ["-c", BOTO3, standin.url], consumerEnv(home, server));
    assert.equal(py.stderr, "");
    assert.equal(JSON.parse(py.stdout).Arn, ARN);
    const js = await runProcess(
      "node",
      [NODE_CONSUMER, "--default-chain", "--endpoint", standin.url],
      consumerEnv(home, server),
    );
    assert.equal(js.stderr, "");
    assert.equal(JSON.parse(js.stdout).Arn, ARN);
  });

  await t.step("a token with a trailing newline, a directory, a FIFO-free missing file", async () => {
    await Deno.writeTextFile(tokenFile, `${token}\n`);
    const cases: [string, string][] = [
      [
        tokenFile,
        `credproc: --token-file ${tokenFile}: the token ends with a line break, which the SDKs refuse to send`,
      ],
      [home.dir, `credproc: --token-file ${home.dir}: is a directory, not a file`],
      [`${home.dir}/none`, `credproc: --token-file ${home.dir}/none: no such file`],
    ];
    for (const [path, line] of cases) {
      const err = await startServe(serveArgs(standin, "--token-file", path), env).then(
        () => assert.fail("started"),
        (e) => e,
      );
      assert.ok(err instanceof EndedEarly, String(err));
      assert.equal(err.code, 2);
      assert.equal(err.stdout, "");
      assert.equal(err.stderr.split("\n")[0], line);
    }
  });
});

Deno.test("serve: no credentials at start-up is one line and exit 1, before anything listens or prints", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  standin.pushFault({ kind: "deny", code: "AccessDenied" });
  const err = await startServe(serveArgs(standin, "--no-cache"), env).then(
    () => assert.fail("started"),
    (e) => e,
  );
  assert.ok(err instanceof EndedEarly, String(err));
  assert.equal(err.code, 1);
  assert.equal(err.stdout, "");
  const lines = err.stderr.split("\n").filter((l: string) => l !== "");
  assert.match(lines[0], /^credproc: AssumeRole arn:aws:iam::123456789012:role\/deploy: AccessDenied: /);
  assert.ok(lines.length <= 2 && (lines.length === 1 || lines[1].startsWith("hint: ")), err.stderr);
});

Deno.test("serve: a port in use and --format are refused in one line", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    const err = await startServe(serveArgs(standin, "--port", String(port)), env).then(
      () => assert.fail("started"),
      (e) => e,
    );
    assert.ok(err instanceof EndedEarly, String(err));
    assert.equal(err.code, 1);
    assert.equal(err.stdout, "");
    assert.deepEqual(err.stderr.split("\n").filter((l: string) => l !== ""), [
      `credproc: serve: cannot listen on 127.0.0.1:${port}: the port is in use`,
      "hint: pick another --port, or leave it out for a free one",
    ]);
  } finally {
    taken.close();
  }
  const r = await runProcess(credprocCommand()[0], [
    ...credprocCommand().slice(1),
    "serve",
    "--format",
    "env",
  ], env);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.equal(
    r.lines[0],
    "credproc: --format: does not apply to credproc serve (it prints export lines for sh)",
  );
});

Deno.test("serve: keys that would shadow the endpoint get one warning on stderr, and its way out works", async (t) => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const keys =
    `aws_access_key_id = ${standin.accessKeyId}\naws_secret_access_key = ${standin.secretAccessKey}\n`;
  const args = serveArgs(standin).filter((a, i, all) => a !== "--profile" && all[i - 1] !== "--profile");
  const tail = "before AWS_CONTAINER_CREDENTIALS_FULL_URI; where the export lines are used, also run:";

  await t.step("keys in [default] (the README's set-up): boto3 takes them until the way out", async () => {
    await home.writeCredentials(`[default]\n${keys}`);
    await using server = await startServe(args, home.env());
    const shadowed = await runProcess("python3", ["-c", BOTO3, standin.url], consumerEnv(home, server));
    assert.equal(shadowed.code, 0, shadowed.stderr);
    assert.equal(JSON.parse(shadowed.stdout).method, "shared-credentials-file");
    assert.notEqual(JSON.parse(shadowed.stdout).Arn, ARN);
    const wayOut = await runProcess(
      "python3",
      ["-c", BOTO3, standin.url],
      consumerEnv(home, server, { AWS_SHARED_CREDENTIALS_FILE: "/dev/null" }),
    );
    assert.equal(wayOut.stderr, "");
    assert.deepEqual(JSON.parse(wayOut.stdout), { Arn: ARN, method: "container-role" });
    const js = await runProcess(
      "node",
      [NODE_CONSUMER, "--default-chain", "--endpoint", standin.url],
      consumerEnv(home, server, { AWS_SHARED_CREDENTIALS_FILE: "/dev/null" }),
    );
    assert.equal(js.stderr, "");
    assert.equal(JSON.parse(js.stdout).Arn, ARN);
    const r = await server.stop();
    assert.equal(r.code, 0);
    assert.equal(
      r.stderr,
      `credproc: warning: the AWS SDKs use the keys of profile default (in ${home.credentialsFile}) ${tail} ` +
        "export AWS_SHARED_CREDENTIALS_FILE=/dev/null\n",
    );
  });

  await t.step("AWS_ACCESS_KEY_ID in the environment", async () => {
    await home.writeCredentials("");
    await using server = await startServe(
      args,
      home.env({ AWS_ACCESS_KEY_ID: standin.accessKeyId, AWS_SECRET_ACCESS_KEY: standin.secretAccessKey }),
    );
    const r = await server.stop();
    assert.equal(r.code, 0);
    assert.equal(
      r.stderr,
      `credproc: warning: the AWS SDKs use AWS_ACCESS_KEY_ID from the environment ${tail} ` +
        "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN\n",
    );
  });

  await t.step("AWS_PROFILE naming a profile with keys", async () => {
    await home.writeCredentials(`[src]\n${keys}`);
    await using server = await startServe(args, home.env({ AWS_PROFILE: "src" }));
    const r = await server.stop();
    assert.equal(
      r.stderr,
      `credproc: warning: the AWS SDKs use the keys of profile src (AWS_PROFILE, in ${home.credentialsFile}) ` +
        `${tail} unset AWS_PROFILE\n`,
    );
  });
});
