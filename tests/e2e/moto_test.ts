/**
 * End to end against moto_server, an STS nobody here wrote: credproc runs as a subprocess under the shipping
 * permission set (or as the compiled binary named by CREDPROC_BIN) and its output is compared with what the
 * real AWS CLI v2 (and jq) print for the same call.
 */
import assert from "node:assert/strict";
import {
  AWS_V2,
  type Moto,
  MOTO_KEYS,
  motoArgs,
  ok,
  PROCESS_DOC,
  type ProcessDoc,
  ROLE,
  runCredproc,
  runProcess,
  startMoto,
  type TempHome,
  tempHome,
} from "../support/helpers.ts";

const JQ_FILTER = ".Credentials + {Version: 1}";
/** moto's default AssumeRole duration (DurationSeconds omitted). */
const DEFAULT_DURATION_MS = 3600_000;
const ACCOUNT = "123456789012";

/**
 * The environment credproc and the AWS CLI get: a temp HOME, moto's base keys, nothing inherited. Every command
 * names moto's endpoint; AWS_ENDPOINT_URL is only a safety net (the CLI v2 2.9 ignores it, the SDKs honour it).
 */
function baseEnv(home: TempHome, moto: Moto, extra: Record<string, string> = {}): Record<string, string> {
  return home.env({ ...MOTO_KEYS, AWS_PAGER: "", AWS_ENDPOINT_URL: moto.url, ...extra });
}

function awsAssumeRoleArgs(moto: Moto, session: string): string[] {
  return [
    "sts",
    "assume-role",
    "--role-arn",
    ROLE,
    "--role-session-name",
    session,
    "--endpoint-url",
    moto.url,
    "--region",
    "us-east-1",
    "--output",
    "json",
  ];
}

/**
 * The seed pipeline `aws sts assume-role … | jq ".Credentials + {Version: 1}"`, both as argv arrays, the CLI's
 * stdout fed to jq's stdin (no shell).
 */
async function seedPipeline(moto: Moto, env: Record<string, string>, session: string) {
  const started = performance.now();
  const aws = new Deno.Command(AWS_V2, {
    args: awsAssumeRoleArgs(moto, session),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const jq = new Deno.Command("jq", {
    args: [JQ_FILTER],
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const [, awsStatus, awsStderr, jqOut] = await Promise.all([
    aws.stdout.pipeTo(jq.stdin),
    aws.status,
    new Response(aws.stderr).text(),
    jq.output(),
  ]);
  const ms = performance.now() - started;
  const decoder = new TextDecoder();
  return {
    awsCode: awsStatus.code,
    awsStderr,
    jqCode: jqOut.code,
    jqStderr: decoder.decode(jqOut.stderr),
    stdout: decoder.decode(jqOut.stdout),
    ms,
  };
}

/** Replaces every value of the process document by a placeholder; Expiration keeps only its zone suffix. */
function shapeOf(doc: string): string {
  return doc.replace(/^( {2}"(\w+)": )"([^"]*)"/gm, (_all, head: string, key: string, value: string) => {
    if (key !== "Expiration") return `${head}"<${key}>"`;
    const m = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(Z|\+00:00)$/.exec(value);
    assert.ok(m, `Expiration ${JSON.stringify(value)} is not RFC 3339 UTC`);
    return `${head}"<date-time>${m[1]}"`;
  });
}

function mask(accessKeyId: string): string {
  return `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`;
}

Deno.test("moto: one AssumeRole prints exactly the credential_process document", async () => {
  await using moto = await startMoto();
  await using home = await tempHome();
  const before = Date.now();
  const r = await runCredproc(motoArgs(moto, "e2e-success"), baseEnv(home, moto));
  const after = Date.now();
  const doc = ok(r);
  assert.deepEqual(r.lines, []);
  assert.match(doc.AccessKeyId, /^ASIA[A-Z0-9]{16}$/);
  assert.notEqual(doc.AccessKeyId, MOTO_KEYS.AWS_ACCESS_KEY_ID);

  // moto stamps now + 3600 s (microseconds) during the call; credproc prints it rounded down to the second.
  const expiration = Date.parse(doc.Expiration);
  assert.equal(new Date(expiration).toISOString().replace(".000Z", "Z"), doc.Expiration);
  assert.equal(expiration % 1000, 0);
  assert.ok(
    expiration <= after + DEFAULT_DURATION_MS,
    `${doc.Expiration} is later than the call's window allows (${
      new Date(after + DEFAULT_DURATION_MS).toISOString()
    })`,
  );
  assert.ok(
    expiration > before + DEFAULT_DURATION_MS - 1000,
    `${doc.Expiration} is earlier than the call's window allows (${
      new Date(before + DEFAULT_DURATION_MS).toISOString()
    })`,
  );

  // The credentials are live at moto: GetCallerIdentity signed with them names the assumed role.
  const who = await runProcess(
    AWS_V2,
    ["sts", "get-caller-identity", "--endpoint-url", moto.url, "--region", "us-east-1", "--output", "json"],
    home.env({
      AWS_PAGER: "",
      AWS_ACCESS_KEY_ID: doc.AccessKeyId,
      AWS_SECRET_ACCESS_KEY: doc.SecretAccessKey,
      AWS_SESSION_TOKEN: doc.SessionToken,
    }),
  );
  assert.equal(who.stderr, "");
  assert.equal(who.code, 0);
  assert.equal(JSON.parse(who.stdout).Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/e2e-success`);
});

Deno.test("moto: output has the shape of `aws sts assume-role | jq '.Credentials + {Version: 1}'`", async () => {
  await using moto = await startMoto();
  await using home = await tempHome();
  const env = baseEnv(home, moto);
  const ours = await runCredproc(motoArgs(moto, "e2e-jq"), env);
  const doc = ok(ours);
  const seed = await seedPipeline(moto, env, "e2e-jq");
  assert.equal(seed.awsStderr, "");
  assert.equal(seed.awsCode, 0);
  assert.equal(seed.jqStderr, "");
  assert.equal(seed.jqCode, 0);

  // Same keys, order, indentation and newlines; the CLI writes the offset as +00:00, credproc a literal Z.
  const theirs = shapeOf(seed.stdout);
  assert.equal(
    theirs,
    '{\n  "AccessKeyId": "<AccessKeyId>",\n  "SecretAccessKey": "<SecretAccessKey>",\n' +
      '  "SessionToken": "<SessionToken>",\n  "Expiration": "<date-time>+00:00",\n  "Version": 1\n}\n',
  );
  assert.equal(shapeOf(ours.stdout), theirs.replace('"<date-time>+00:00"', '"<date-time>Z"'));

  // The seed call came second, so moto stamped it later: credproc's Expiration is not after it.
  const seedDoc = JSON.parse(seed.stdout);
  assert.ok(
    Date.parse(doc.Expiration) <= Date.parse(seedDoc.Expiration),
    `${doc.Expiration} > ${seedDoc.Expiration}`,
  );
  assert.equal(Object.keys(seedDoc).join(), Object.keys(doc).join());
});

const FORMATS = {
  "env": (n: string) => new RegExp(`^export ${n}=(\\S+)$`),
  "env-no-export": (n: string) => new RegExp(`^${n}=(\\S+)$`),
  "powershell": (n: string) => new RegExp(`^\\$Env:${n}="([^"]+)"$`),
  "windows-cmd": (n: string) => new RegExp(`^set ${n}=(\\S+)$`),
} as const;
const VARS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION"];

Deno.test("moto: every --format matches `aws configure export-credentials --format` line for line", async (t) => {
  await using moto = await startMoto();
  await using home = await tempHome();
  for (const [format, line] of Object.entries(FORMATS)) {
    await t.step(format, async () => {
      const r = await runCredproc(
        motoArgs(moto, `e2e-${format}`, ["--format", format]),
        baseEnv(home, moto),
      );
      assert.equal(r.stderr, "");
      assert.equal(r.code, 0);
      const lines = r.stdout.split("\n");
      assert.equal(lines.pop(), "", "output ends with a newline");
      assert.equal(lines.length, VARS.length, r.stdout);
      const values = VARS.map((name, i) => {
        const m = line(name).exec(lines[i]);
        assert.ok(m, `line ${i + 1} ${JSON.stringify(lines[i])} does not set ${name}`);
        return m[1];
      });
      assert.match(values[0], /^ASIA[A-Z0-9]{16}$/);
      assert.match(values[3], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);

      // The CLI, given the same credentials (env provider, AWS_CREDENTIAL_EXPIRATION included), prints them.
      const cli = await runProcess(
        AWS_V2,
        ["configure", "export-credentials", "--format", format],
        home.env(Object.fromEntries(VARS.map((name, i) => [name, values[i]]))),
      );
      assert.equal(cli.stderr, "");
      assert.equal(cli.code, 0);
      assert.equal(r.stdout, cli.stdout);

      if (format === "env") {
        // The documented use, `eval "$(credproc --format env)"`: the shell, not this test, reads the values.
        const evaluated = await runProcess(
          "bash",
          [
            "-c",
            `eval "$1" && exec ${AWS_V2} configure export-credentials --format env`,
            "credproc-env",
            r.stdout,
          ],
          home.env(),
        );
        assert.equal(evaluated.stderr, "");
        assert.equal(evaluated.code, 0);
        assert.equal(evaluated.stdout, r.stdout);
      }
    });
  }
});

Deno.test("moto: --verbose masks access key ids and never prints a secret", async () => {
  await using moto = await startMoto();
  await using home = await tempHome();
  const r = await runCredproc(motoArgs(moto, "e2e-verbose", ["--verbose"]), baseEnv(home, moto));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, PROCESS_DOC);
  const doc: ProcessDoc = JSON.parse(r.stdout);

  assert.ok(r.stderr.endsWith("\n"));
  for (const line of r.lines) assert.ok(line.startsWith("credproc: "), `unprefixed stderr line: ${line}`);
  // Lines about the cache come and go with its state; these three are what every fresh call logs, in order.
  const source = r.lines.findIndex((l) => l.startsWith("credproc: source credentials "));
  assert.match(
    r.lines[source] ?? "",
    new RegExp(`^credproc: source credentials \\([\\w -]+\\): ${mask(MOTO_KEYS.AWS_ACCESS_KEY_ID)}$`),
  );
  assert.match(r.lines[source + 1], new RegExp(`^credproc: AssumeRole ${ROLE}: ok in \\d+ ms$`));
  const assumed = new RegExp(
    `^credproc: assumed arn:aws:sts::${ACCOUNT}:assumed-role/deploy/e2e-verbose as ${
      mask(doc.AccessKeyId)
    } until (\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z)$`,
  ).exec(r.lines[source + 2]);
  assert.ok(assumed, r.lines[source + 2]);
  assert.equal(
    r.lines.filter((l) => l.includes(" AssumeRole ") || l.includes(" assumed ")).length,
    2,
    r.stderr,
  );
  // The instant the SDK parsed from moto's reply; stdout carries it rounded down to the second.
  const until = Date.parse(assumed[1]);
  assert.equal(Date.parse(doc.Expiration), Math.floor(until / 1000) * 1000);

  for (const secret of [doc.SecretAccessKey, doc.SessionToken, MOTO_KEYS.AWS_SECRET_ACCESS_KEY]) {
    assert.ok(!r.stderr.includes(secret), "a secret appears on stderr");
  }
  for (const id of [doc.AccessKeyId, MOTO_KEYS.AWS_ACCESS_KEY_ID]) {
    assert.ok(!r.stderr.includes(id), `the whole access key id ${id} appears on stderr`);
  }
  assert.doesNotMatch(r.stderr, /(?:AKIA|ASIA)[A-Z0-9]{8,}/);
});

/** moto_server with IAM authorization on after `freeActions` unauthenticated requests (for setup). */
function startMotoWithAuth(freeActions: number): Promise<Moto> {
  return startMoto({ INITIAL_NO_AUTH_ACTION_COUNT: String(freeActions) });
}

/** One IAM Query call to moto during its unauthenticated setup window (the signature is not checked yet). */
async function iamCall(moto: Moto, params: Record<string, string>): Promise<string> {
  const res = await fetch(moto.url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      authorization:
        `AWS4-HMAC-SHA256 Credential=${MOTO_KEYS.AWS_ACCESS_KEY_ID}/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Version: "2010-05-08", ...params }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return text;
}

function xmlText(xml: string, name: string): string {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  assert.ok(m, `no <${name}> in ${xml}`);
  return m[1];
}

Deno.test("moto with IAM auth: STS errors pass through with the code and message the AWS CLI shows", async (t) => {
  // Two free actions: create a user and its access key. From then on moto checks every signature and policy.
  await using moto = await startMotoWithAuth(2);
  await using home = await tempHome();
  await iamCall(moto, { Action: "CreateUser", UserName: "ci" });
  const key = await iamCall(moto, { Action: "CreateAccessKey", UserName: "ci" });
  const user = { id: xmlText(key, "AccessKeyId"), secret: xmlText(key, "SecretAccessKey") };

  const cases = [
    {
      name: "AccessDenied (a user without sts:AssumeRole)",
      keys: { AWS_ACCESS_KEY_ID: user.id, AWS_SECRET_ACCESS_KEY: user.secret },
      code: "AccessDenied",
      hint:
        "hint: check that the role's trust policy allows the caller and the caller may call sts:AssumeRole on it",
    },
    {
      name: "InvalidClientTokenId (a key moto's IAM does not know)",
      keys: MOTO_KEYS,
      code: "InvalidClientTokenId",
      hint:
        "hint: the source credentials are not valid for this partition or endpoint: check them and the region",
    },
    {
      name: "SignatureDoesNotMatch (the wrong secret)",
      keys: { AWS_ACCESS_KEY_ID: user.id, AWS_SECRET_ACCESS_KEY: "not-the-secret" },
      code: "SignatureDoesNotMatch",
      hint: "hint: the source secret key does not match its access key id",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      // None of these errors is retryable, for the CLI or for credproc: one request each.
      const env = home.env({ ...c.keys, AWS_PAGER: "", AWS_ENDPOINT_URL: moto.url });
      const cli = await runProcess(AWS_V2, awsAssumeRoleArgs(moto, "e2e-error"), env);
      assert.equal(cli.code, 254, cli.stderr);
      assert.equal(cli.stdout, "");
      const m = /^\nAn error occurred \((\w+)\) when calling the AssumeRole operation: (.+)\n$/.exec(
        cli.stderr,
      );
      assert.ok(m, `unexpected AWS CLI stderr: ${JSON.stringify(cli.stderr)}`);
      assert.equal(m[1], c.code);

      const r = await runCredproc(motoArgs(moto, "e2e-error"), env);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.deepEqual(r.lines, [`credproc: AssumeRole ${ROLE}: ${c.code}: ${m[2]}`, c.hint]);
      assert.equal(r.stderr, `${r.lines.join("\n")}\n`);
    });
  }
});
