/**
 * `credproc console` end to end: the real program against the STS stand-in (SigV4 verified) and a stand-in
 * for the console federation endpoint (tests/support/federation_standin.ts), both on 127.0.0.1, reached through
 * `CREDPROC_SIGNIN_URL`. What each test proves is in its name; nothing contacts a real host.
 */
import assert from "node:assert/strict";
import {
  CREDPROC_BIN,
  filesUnder,
  ignoreIf,
  runCredproc,
  type TempHome,
  tempHome,
} from "../support/helpers.ts";
import { assertNoLeak } from "../support/leaks.ts";
import { assertNoCrash, assertOneErrorLine, netHost, readAudit } from "../support/hardening_helpers.ts";
import { type Standin, startStandin } from "../support/sts_standin/mod.ts";
import {
  type FederationAnswer,
  type FederationStandin,
  STANDIN_SIGNIN_TOKEN,
  startFederationStandin,
} from "../support/federation_standin.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";

interface Rig extends AsyncDisposable {
  sts: Standin;
  signin: FederationStandin;
  home: TempHome;
  env: Record<string, string>;
}

/** Both stand-ins and a temp home whose environment points credproc at them (and at nothing else). */
async function rig(extra: Record<string, string> = {}, answer?: FederationAnswer): Promise<Rig> {
  const sts = await startStandin();
  const signin = startFederationStandin(answer);
  const home = await tempHome();
  const env = home.env({
    AWS_ACCESS_KEY_ID: sts.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sts.secretAccessKey,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_REGION: "eu-west-1",
    CREDPROC_SIGNIN_URL: signin.url,
    ...extra,
  });
  return {
    sts,
    signin,
    home,
    env,
    async [Symbol.asyncDispose]() {
      await signin[Symbol.asyncDispose]();
      await sts.stop();
      await home.cleanup();
    },
  };
}

/** The printed URL for a destination, with the stand-ins' token. */
function expectedUrl(signinUrl: string, destination: string): string {
  return `${signinUrl}?Action=login&Issuer=credproc&Destination=${encodeURIComponent(destination)}` +
    `&SigninToken=${encodeURIComponent(STANDIN_SIGNIN_TOKEN)}\n`;
}

/** The Session JSON of a recorded GetSigninToken request, checked for shape. */
function sessionOf(signin: FederationStandin, i: number): Record<string, string> {
  const req = signin.requests[i];
  assert.equal(req.method, "GET");
  assert.equal(req.path, "/federation");
  assert.deepEqual(
    req.params.map(([k]) => k),
    ["Action", "Session"],
    "Action and Session, no SessionDuration",
  );
  assert.equal(req.params[0][1], "getSigninToken");
  const session = JSON.parse(req.params[1][1]);
  assert.deepEqual(Object.keys(session), ["sessionId", "sessionKey", "sessionToken"]);
  return session;
}

Deno.test("console: the exact GetSigninToken request (the role's credentials, three keys, no SessionDuration) and the exact URL", async () => {
  await using r = await rig();
  const run = await runCredproc(["console", "--role-arn", ROLE], r.env);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "", "nothing on stderr on success");
  assert.equal(
    run.stdout,
    expectedUrl(r.signin.url, "https://console.aws.amazon.com/console/home?region=eu-west-1"),
  );
  assert.equal(r.sts.count("AssumeRole"), 1);
  assert.equal(r.sts.requests[0].signatureValid, true);
  assert.equal(r.signin.requests.length, 1);
  const issued = [...r.sts.issued.values()].filter((c) => c.action === "AssumeRole");
  assert.equal(issued.length, 1);
  assert.deepEqual(sessionOf(r.signin, 0), {
    sessionId: issued[0].accessKeyId,
    sessionKey: issued[0].secretAccessKey,
    sessionToken: issued[0].sessionToken,
  });
});

Deno.test("console: a second call with a fresh cache makes 0 STS calls and 1 federation call, and prints the URL again", async () => {
  await using r = await rig();
  const first = await runCredproc(["console", "--role-arn", ROLE], r.env);
  assert.equal(first.code, 0, first.stderr);
  const second = await runCredproc(["console", "--role-arn", ROLE], r.env);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stderr, "");
  // Not the credential document the fast path would print for a remembered argv: the URL, one line.
  assert.equal(second.stdout, first.stdout);
  assert.equal(r.sts.count(), 1, "no STS call for the second console");
  assert.equal(r.signin.requests.length, 2, "one federation call each");
  assert.deepEqual(sessionOf(r.signin, 1), sessionOf(r.signin, 0));
  const memos = [...(await filesUnder(r.home.cacheDir)).keys()].filter((p) => p.endsWith(".inputs.json"));
  assert.deepEqual(memos, [], "console leaves no fast-path memo");
});

Deno.test("console: assume then console share the cache entry (one STS call), and console then assume too", async () => {
  await using r = await rig();
  const assume = await runCredproc(["--role-arn", ROLE], r.env);
  assert.equal(assume.code, 0, assume.stderr);
  const doc = JSON.parse(assume.stdout);
  const console1 = await runCredproc(["console", "--role-arn", ROLE], r.env);
  assert.equal(console1.code, 0, console1.stderr);
  assert.equal(r.sts.count(), 1, "console used the entry assume wrote");
  assert.deepEqual(sessionOf(r.signin, 0), {
    sessionId: doc.AccessKeyId,
    sessionKey: doc.SecretAccessKey,
    sessionToken: doc.SessionToken,
  });
  // The other way round, with another role (another entry): console writes the entry assume then reads.
  const other = "arn:aws:iam::123456789012:role/other";
  const console2 = await runCredproc(["console", "--role-arn", other], r.env);
  assert.equal(console2.code, 0, console2.stderr);
  const assume2 = await runCredproc(["--role-arn", other], r.env);
  assert.equal(assume2.code, 0, assume2.stderr);
  assert.equal(r.sts.count(), 2);
  assert.equal(JSON.parse(assume2.stdout).SessionToken, sessionOf(r.signin, 1).sessionToken);
});

Deno.test("console: --destination and the partitions (aws-cn role, cn region → the China console)", async () => {
  await using r = await rig();
  const dest = "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:";
  const run = await runCredproc(["console", "--role-arn", ROLE, "--destination", dest], r.env);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, expectedUrl(r.signin.url, dest));
  const cn = await runCredproc(
    ["console", "--role-arn", "arn:aws-cn:iam::123456789012:role/deploy", "--region", "cn-north-1"],
    r.env,
  );
  assert.equal(cn.code, 0, cn.stderr);
  assert.equal(
    cn.stdout,
    expectedUrl(r.signin.url, "https://console.amazonaws.cn/console/home?region=cn-north-1"),
  );
});

const FAILURES: { name: string; answer: FederationAnswer; line: RegExp; args?: string[] }[] = [
  {
    name: "HTTP 400",
    answer: { kind: "status", status: 400 },
    line: /^credproc: console: the sign-in endpoint refused the role's credentials \(HTTP 400\)$/,
  },
  {
    name: "HTTP 500",
    answer: { kind: "status", status: 500 },
    line: /^credproc: console: the sign-in endpoint failed with HTTP 500$/,
  },
  {
    name: "a garbage answer",
    answer: {
      kind: "body",
      body: "<html><body>Welcome to the hotel wifi</body></html>",
      contentType: "text/html",
    },
    line: /^credproc: console: the sign-in endpoint answered HTTP 200 without a SigninToken$/,
  },
  {
    name: "a token with a terminal escape",
    answer: { kind: "body", body: JSON.stringify({ SigninToken: "abcdefghijklmnopq\u001b]0;pwned\u0007" }) },
    line:
      /^credproc: console: the SigninToken in the answer is not 16 to 16384 URL-safe characters; nothing was printed$/,
  },
  {
    name: "a huge answer (streamed)",
    answer: { kind: "huge", bytes: 8 * 1024 * 1024, declareLength: false },
    line: /^credproc: console: the sign-in endpoint's answer is larger than 64 KiB$/,
  },
  {
    name: "a huge answer (declared)",
    answer: { kind: "huge", bytes: 8 * 1024 * 1024, declareLength: true },
    line: /^credproc: console: the sign-in endpoint's answer is larger than 64 KiB$/,
  },
  {
    name: "a redirect",
    answer: { kind: "redirect", location: "http://127.0.0.1:9/elsewhere" },
    line: /^credproc: console: the sign-in endpoint answered HTTP 302 \(a redirect, not followed\)$/,
  },
  {
    name: "a hung endpoint (--timeout 2)",
    answer: { kind: "hang" },
    args: ["--timeout", "2"],
    line: /^credproc: console: no answer within 2 s \(--timeout\)$/,
  },
];

for (const f of FAILURES) {
  Deno.test(`console: federation failure — ${f.name}: one line, exit 1, nothing on stdout`, async () => {
    await using r = await rig({}, f.answer);
    const run = await runCredproc(["console", "--role-arn", ROLE, ...(f.args ?? [])], r.env);
    assertOneErrorLine(run, 1, f.line);
    assert.equal(r.signin.requests.length, 1);
    if (f.answer.kind === "hang") {
      // The whole run (start-up, STS, the hung call) within the 2 s budget plus start-up time.
      assert.ok(run.ms < 15_000, `ended after ${Math.round(run.ms)} ms`);
    }
    // The STS credentials were cached all the same: a retry makes no STS call.
    r.signin.answer = { kind: "token" };
    const retry = await runCredproc(["console", "--role-arn", ROLE], r.env);
    assert.equal(retry.code, 0, retry.stderr);
    assert.equal(r.sts.count(), 1);
  });
}

Deno.test("console: the federation endpoint down (connection refused): one line, exit 1", async () => {
  await using r = await rig();
  await r.signin[Symbol.asyncDispose]();
  const run = await runCredproc(["console", "--role-arn", ROLE], r.env);
  assertOneErrorLine(run, 1, /^credproc: console: cannot reach 127\.0\.0\.1:\d+: connection refused$/);
});

Deno.test("console: bad input is exit 2 before any STS or federation call", async () => {
  await using r = await rig();
  const cases: { args: string[]; env?: Record<string, string>; line: RegExp }[] = [
    {
      args: ["console", "--role-arn", ROLE, "--destination", "https://evil.test/"],
      line: /^credproc: --destination: host evil\.test is not an AWS console host$/,
    },
    {
      args: ["console", "--role-arn", ROLE, "--destination", "https://console.amazonaws-us-gov.com/"],
      line:
        /^credproc: --destination: console\.amazonaws-us-gov\.com is a console of partition aws-us-gov, but the role is in aws$/,
    },
    {
      args: ["console", "--role-arn", ROLE, "--format", "env"],
      line: /^credproc: --format: does not apply to credproc console \(it prints one URL\)$/,
    },
    {
      args: ["--role-arn", ROLE, "--destination", "https://console.aws.amazon.com/"],
      line: /^credproc: --destination: only makes sense with credproc console$/,
    },
    {
      args: ["console", "--role-arn", ROLE],
      env: { CREDPROC_SIGNIN_URL: "https://signin.aws.amazon.com.evil.test/federation" },
      line:
        /^credproc: CREDPROC_SIGNIN_URL: host signin\.aws\.amazon\.com\.evil\.test is not a console sign-in endpoint/,
    },
    {
      args: ["console", "--role-arn", "arn:aws-us-gov:iam::123456789012:role/r"],
      line:
        /^credproc: console: the role \S+ is in partition aws-us-gov, but the region eu-west-1 is in aws$/,
    },
  ];
  for (const c of cases) {
    const run = await runCredproc(c.args, { ...r.env, ...c.env });
    assertOneErrorLine(run, 2, c.line);
  }
  assert.equal(r.sts.count(), 0);
  assert.equal(r.signin.requests.length, 0);
});

Deno.test("console: the sign-in token never reaches stderr (--verbose), the log file, the cache directory or the failure record", async () => {
  await using r = await rig();
  const logFile = `${r.home.dir}/credproc.log`;
  const run = await runCredproc(["console", "--role-arn", ROLE, "--verbose", "--log-file", logFile], r.env);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(
    run.stdout.includes(encodeURIComponent(STANDIN_SIGNIN_TOKEN)),
    "the token is in the URL, on stdout",
  );
  assert.match(run.stderr, /^credproc: console: sign-in token received \(\d+ characters, not shown\)$/m);
  assert.match(
    run.stderr,
    /^credproc: console: GetSigninToken at \S+ for ASIA…[A-Z0-9]{4} \(no SessionDuration\)$/m,
  );
  const issued = [...r.sts.issued.values()][0];
  // Then a failure, to write the failure record.
  r.signin.answer = { kind: "status", status: 500 };
  const failed = await runCredproc(["console", "--role-arn", ROLE, "--log-file", logFile], r.env);
  assert.equal(failed.code, 1);
  const log = await Deno.readTextFile(logFile);
  assert.match(log, /sign-in token received/);
  const files = await filesUnder(r.home.cacheDir);
  assert.ok([...files.keys()].some((p) => p.endsWith("failures.json")), "a failure record was written");
  for (const secret of [STANDIN_SIGNIN_TOKEN, encodeURIComponent(STANDIN_SIGNIN_TOKEN)]) {
    assertNoLeak(run.stderr, secret, "stderr");
    assertNoLeak(failed.stderr, secret, "stderr of the failure");
    assertNoLeak(log, secret, "the log file");
    for (const [path, text] of files) assertNoLeak(text, secret, path);
  }
  for (const secret of [issued.secretAccessKey, issued.sessionToken]) {
    assertNoLeak(run.stderr, secret, "stderr (a role secret)");
    assertNoLeak(log, secret, "the log file (a role secret)");
  }
});

Deno.test({
  ...ignoreIf(
    "console: under the permission audit log — no subprocess (no browser), net only to loopback",
    CREDPROC_BIN !== undefined && "runs main.ts from source; CREDPROC_BIN names a binary",
  ),
}, async () => {
  await using r = await rig();
  const auditFile = `${r.home.dir}/audit.jsonl`;
  const run = await runCredproc(["console", "--role-arn", ROLE], {
    ...r.env,
    DENO_AUDIT_PERMISSIONS: auditFile,
  });
  assert.equal(run.code, 0, run.stderr);
  assertNoCrash(run);
  const audit = await readAudit(auditFile);
  assert.ok(audit.length > 0, "the audit log was written");
  assert.deepEqual(audit.filter((e) => ["run", "ffi", "import"].includes(e.permission)), []);
  const hosts = new Set(audit.filter((e) => e.permission === "net").map((e) => netHost(e.value ?? "")));
  assert.deepEqual([...hosts], ["127.0.0.1"]);
});
