/**
 * End to end, the features beyond the peers: `credproc cache list` after hits, refreshes and failures (table
 * and JSON); the failure record; `--log-file`/CREDPROC_LOG_FILE; `--include-account-id` read by real SDKs
 * (boto3, the JS SDK v3); MFA where the SDK gives no terminal (JS SDK v3 `fromProcess`), warmed once from a
 * real pseudo-terminal; plain messages for TLS mistakes. Everything on loopback against the STS stand-in.
 */
import assert from "node:assert/strict";
import { startStandin } from "../support/sts_standin/mod.ts";
import {
  credprocLine,
  ignoreIf,
  ok,
  okJson,
  okText,
  PROCESS_DOC,
  ROOT,
  runCredproc,
  runProcess,
  shellQuote,
  tempHome,
} from "../support/helpers.ts";
import { inPty, readOrEmpty } from "../support/pty.ts";
import { hasOpenssl, makeTlsFixture } from "../support/net_fixtures.ts";
import { standinHome } from "../support/standin_call.ts";

const ACCOUNT = "123456789012";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/deploy`;
const ROLE_B = `arn:aws:iam::${ACCOUNT}:role/team/second`;
const SERIAL = `arn:aws:iam::${ACCOUNT}:mfa/alice`;
const CODE = "246810";
const PROMPT = `Enter MFA code for ${SERIAL}: `;
const NODE_CONSUMER = `${ROOT}tests/node-consumer`;

/** The config of the homes here (tests/support/standin_call.ts `standinHome`): `prod-role` needs MFA over `[base]`. */
const PROD_ROLE = `[profile prod-role]\nrole_arn = ${ROLE}\nsource_profile = base\nmfa_serial = ${SERIAL}\n` +
  "role_session_name = mfa-role\n";

/** The time-dependent parts of a listing (durations, instants) replaced by placeholders. */
function steady(text: string): string {
  return text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>")
    .replace(/\b(?:\d+h\d\dm|\d+m\d\ds)\b/g, (d) => d.includes("h") ? "<hours>" : "<minutes>");
}

Deno.test("cache list after hits, a refresh and three failures: table, JSON and the failure record", async () => {
  await using standin = await startStandin();
  await using h = await standinHome(standin, PROD_ROLE);
  const url = standin.url;
  const env = h.env({
    AWS_ACCESS_KEY_ID: standin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: standin.secretAccessKey,
  });
  const a = ["--role-arn", ROLE, "--role-session-name", "list-a", "--endpoint-url", url];
  const b = ["--role-arn", ROLE_B, "--role-session-name", "list-b", "--endpoint-url", url];

  ok(await runCredproc(a, env)); // miss
  ok(await runCredproc(a, env)); // hit (fast path)
  ok(await runCredproc(b, env));
  ok(await runCredproc([...b, "--refresh"], env)); // rewrites b's entry
  ok(
    await runCredproc([
      "--profile",
      "prod-role",
      "--mfa-session",
      "--token-code",
      CODE,
      "--endpoint-url",
      url,
    ], env),
  );
  assert.equal(standin.count("AssumeRole"), 4);
  assert.equal(standin.count("GetSessionToken"), 1);

  // Three failures: a mistyped flag, STS refusing, MFA with no terminal.
  const f1 = await runCredproc(["--role-ar", ROLE, "--endpoint-url", url], env);
  assert.deepEqual([f1.code, f1.lines], [2, [
    'credproc: bad arguments: unknown option "--role-ar"',
    "hint: did you mean --role-arn?",
  ]]);
  standin.pushFault({ kind: "deny", code: "AccessDenied" });
  const f2 = await runCredproc(
    ["--role-arn", `arn:aws:iam::${ACCOUNT}:role/denied`, "--endpoint-url", url],
    env,
  );
  assert.equal(f2.code, 1);
  const f3 = await runCredproc(["--profile", "prod-role", "--endpoint-url", url], env);
  assert.equal(f3.code, 1);
  const warm = `credproc --profile prod-role --endpoint-url ${url}`;
  assert.deepEqual(f3.lines, [
    `credproc: MFA code for ${SERIAL}: no code given and no terminal to ask on`,
    `hint: run \`${warm}\` once in a terminal (with --mfa-session one code serves up to 12 h), or set CREDPROC_MFA_TOKEN_CODE`,
  ]);

  const record = JSON.parse(await Deno.readTextFile(`${h.cacheDir}/failures.json`));
  assert.equal(Deno.statSync(`${h.cacheDir}/failures.json`).mode! & 0o777, 0o600);
  assert.deepEqual(record.failures.map((f: { line: string; hint: string | null }) => [f.line, f.hint]), [
    [f1.lines[0], "did you mean --role-arn?"],
    [f2.lines[0], f2.lines[1].replace(/^hint: /, "")],
    [f3.lines[0], f3.lines[1].replace(/^hint: /, "")],
  ]);
  const times = record.failures.map((f: { time: string }) => Date.parse(f.time));
  assert.ok(times[0] <= times[1] && times[1] <= times[2], "newest last");

  const mask = (id: string) => `${id.slice(0, 4)}…${id.slice(-4)}`;
  const docs = [...Deno.readDirSync(h.cacheDir)].filter((e) => /^[0-9a-f]{64}\.json$/.test(e.name))
    .map((e) => JSON.parse(Deno.readTextFileSync(`${h.cacheDir}/${e.name}`)));
  assert.equal(docs.length, 4);
  const mfa = docs.find((d) => d.meta.kind === "mfa-session");
  const prof = docs.find((d) => d.meta.profile === "prod-role" && d.meta.kind === "role");
  const entA = docs.find((d) => d.meta.sessionName === "list-a");
  const entB = docs.find((d) => d.meta.sessionName === "list-b");
  assert.ok(entA && mfa && prof && entB);
  // No secret in the listing source's own description.
  for (const d of docs) assert.ok(!JSON.stringify(d.meta).includes(d.credentials.SecretAccessKey));

  const table = await runCredproc(["cache", "list"], env);
  okText(table);
  const ep = `us-east-1 ${url}`;
  const rows = [
    ["FOR", "SESSION", "SOURCE", "REGION", "KEY ID", "LEFT", "NEXT CALL"],
    [
      `MFA session ${SERIAL} (profile prod-role)`,
      "-",
      "static",
      ep,
      mask(mfa.credentials.AccessKeyId),
      "<hours>",
      "served from cache",
    ],
    [ROLE, "list-a", "environment", ep, mask(entA.credentials.AccessKeyId), "<minutes>", "served from cache"],
    [
      `${ROLE} (profile prod-role)`,
      "mfa-role",
      "static",
      ep,
      mask(prof.credentials.AccessKeyId),
      "<minutes>",
      "served from cache",
    ],
    [
      ROLE_B,
      "list-b",
      "environment",
      ep,
      mask(entB.credentials.AccessKeyId),
      "<minutes>",
      "served from cache",
    ],
  ];
  // Widths from the real cells: the placeholders stand for 6-character durations ("59m59s", "11h59m").
  const real = rows.map((r) => r.map((c) => c.startsWith("<") ? "xxxxxx" : c));
  const widths = real[0].map((_, i) => Math.max(...real.map((r) => r[i].length)));
  const lines = rows.map((r) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i] + (c.startsWith("<") ? c.length - 6 : 0)))
      .join("  ")
  );
  const indent = " ".repeat("2026-11-29T12:00:00.000Z".length);
  assert.equal(
    steady(table.stdout),
    [
      `cache directory: ${h.cacheDir}`,
      `  usable (owner uid ${Deno.uid()}, mode 0700)`,
      "",
      ...lines,
      "",
      "recent failures (newest last):",
      `<time>  ${f1.lines[0]}`,
      `${indent}  hint: did you mean --role-arn?`,
      `<time>  ${f2.lines[0]}`,
      `${indent}  ${f2.lines[1]}`,
      `<time>  ${f3.lines[0]}`,
      `${indent}  ${f3.lines[1]}`,
      "",
    ].join("\n"),
  );
  for (const d of docs) {
    assert.ok(!table.stdout.includes(d.credentials.AccessKeyId), "a full key id in the listing");
    assert.ok(!table.stdout.includes(d.credentials.SecretAccessKey), "a secret in the listing");
  }

  const json = await runCredproc(["cache", "list", "--json"], env);
  okText(json);
  const listing = JSON.parse(json.stdout);
  const entry = (d: typeof mfa, extra: Record<string, unknown>) => ({
    key: d.key,
    kind: d.meta.kind,
    cluster: null,
    roles: d.meta.roles,
    sessionName: d.meta.sessionName ?? null,
    profile: d.meta.profile ?? null,
    source: d.meta.source,
    region: "us-east-1",
    endpointUrl: url,
    mfaSerial: d.meta.mfaSerial ?? null,
    accessKeyId: mask(d.credentials.AccessKeyId),
    accountId: d.credentials.AccountId ?? null,
    issuedAt: d.issuedAt,
    expiration: d.credentials.Expiration,
    remainingSeconds: listing.entries.find((e: { key: string }) => e.key === d.key).remainingSeconds,
    refreshMarginSeconds: 900,
    status: "valid",
    problem: null,
    ...extra,
  });
  assert.deepEqual(listing, {
    schema: 1,
    now: listing.now,
    cacheDir: {
      path: h.cacheDir,
      exists: true,
      usable: true,
      problem: null,
      ownerUid: Deno.uid(),
      mode: "0700",
    },
    entries: [
      entry(mfa, { mfaSerial: SERIAL, accountId: null }),
      entry(entA, { accountId: ACCOUNT }),
      entry(prof, { sessionName: "mfa-role" }),
      entry(entB, {}),
    ],
    failures: record.failures,
  });
  const now = Date.parse(listing.now);
  for (const e of listing.entries) {
    const expected = Math.floor((Date.parse(e.expiration) - now) / 1000);
    assert.equal(e.remainingSeconds, expected);
  }
  // Only the newest five are listed; the record keeps twenty.
  for (let i = 0; i < 4; i++) await runCredproc(["--role-ar", ROLE], env);
  const five = JSON.parse((await runCredproc(["cache", "list", "--json"], env)).stdout).failures;
  assert.equal(five.length, 5);
  assert.equal(five[0].line, f3.lines[0]);

  // `cache` alone prints the cache commands; `cache clear` removes the entries and the failure record.
  const usage = await runCredproc(["cache"], env);
  okText(usage);
  assert.match(usage.stdout, /^Usage:\n {2}credproc cache list \[--json\] \[--cache-dir DIR\]\n/);
  const cleared = await runCredproc(["cache", "clear"], env);
  okText(cleared);
  assert.equal(
    cleared.stdout,
    `credproc: removed 4 cache entries and the failure record from ${h.cacheDir}\n`,
  );
  const after = JSON.parse((await runCredproc(["cache", "list", "--json"], env)).stdout);
  assert.deepEqual(after.entries, []);
  assert.deepEqual(after.failures, []);
});

Deno.test("cache list: a directory that is not usable, and one that does not exist yet", async () => {
  await using h = await tempHome();
  const missing = await runCredproc(["cache", "list"], h.env());
  okText(missing);
  assert.equal(
    missing.stdout,
    `cache directory: ${h.cacheDir}\n  does not exist yet (created on first use)\n\nno cached entries\n\nno recorded failures\n`,
  );
  await Deno.mkdir(h.cacheDir);
  await Deno.chmod(h.cacheDir, 0o777);
  const open = await runCredproc(["cache", "list", "--json"], h.env());
  okText(open);
  assert.deepEqual(JSON.parse(open.stdout).cacheDir, {
    path: h.cacheDir,
    exists: true,
    usable: false,
    problem: "it is writable by others (mode 0777)",
    ownerUid: Deno.uid(),
    mode: "0777",
  });
  // A failure is not recorded in a directory others may write to.
  const f = await runCredproc(["--role-ar", ROLE], h.env());
  assert.equal(f.code, 2);
  assert.equal(f.lines.length, 2);
  assert.deepEqual([...Deno.readDirSync(h.cacheDir)], []);
});

Deno.test("--log-file and CREDPROC_LOG_FILE: the --verbose lines, timestamped and masked; never on stderr", async () => {
  await using standin = await startStandin();
  await using h = await standinHome(standin, PROD_ROLE);
  const env = h.env({
    AWS_ACCESS_KEY_ID: standin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: standin.secretAccessKey,
  });
  const log = `${h.dir}/credproc.log`;
  const args = ["--role-arn", ROLE, "--role-session-name", "logged", "--endpoint-url", standin.url];

  const first = await runCredproc([...args, "--log-file", log], env);
  ok(first);
  assert.match(first.stdout, PROCESS_DOC);
  const second = await runCredproc(args, { ...env, CREDPROC_LOG_FILE: log });
  ok(second); // a hit, still logged: the fast path does not answer a call that logs
  const text = await Deno.readTextFile(log);
  assert.equal(Deno.statSync(log).mode! & 0o777, 0o600);
  const lines = text.trimEnd().split("\n");
  for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z credproc: /);
  assert.ok(
    lines.some((l) => / credproc: AssumeRole arn:aws:iam::123456789012:role\/deploy: ok in \d+ ms$/.test(l)),
  );
  assert.ok(lines.some((l) => / credproc: cache: hit .* \(\d+ min left\)$/.test(l)), text);
  const doc = JSON.parse(first.stdout);
  assert.ok(!text.includes(doc.SecretAccessKey) && !text.includes(doc.SessionToken), "a secret in the log");
  assert.ok(!text.includes(doc.AccessKeyId) && !text.includes(standin.secretAccessKey));
  assert.ok(text.includes(`${doc.AccessKeyId.slice(0, 4)}…${doc.AccessKeyId.slice(-4)}`));

  // A failure goes to the log too, exactly as on stderr.
  const bad = await runCredproc([...args, "--region", "nowhere-1x", "--log-file", log], env);
  assert.equal(bad.code, 2);
  const tail = (await Deno.readTextFile(log)).trimEnd().split("\n").slice(-2);
  assert.deepEqual(tail.map((l) => l.replace(/^\S+ /, "")), bad.lines);

  // A log file that cannot be written never fails the call nor speaks.
  for (const where of [h.dir, `${h.dir}/no/such/dir/x.log`]) {
    const r = await runCredproc([...args, "--log-file", where], env);
    ok(r);
    assert.match(r.stdout, PROCESS_DOC);
  }
});

Deno.test("--include-account-id: AccountId last, AWS_ACCOUNT_ID; boto3 and the JS SDK v3 carry it", async (t) => {
  await using standin = await startStandin({ webIdentityToken: "header.payload.signature-token-x" });
  const args = (
    session: string,
  ) => ["--role-arn", ROLE, "--role-session-name", session, "--endpoint-url", standin.url];
  const line = (session: string, extra: string[] = []) => credprocLine([...args(session), ...extra]);
  await using h = await standinHome(
    standin,
    PROD_ROLE +
      `[profile with-id]\ncredential_process = ${line("with-id", ["--include-account-id"])}\n` +
      `[profile without-id]\ncredential_process = ${line("without-id")}\n`,
  );
  const env = h.env({
    AWS_ACCESS_KEY_ID: standin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: standin.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    AWS_PAGER: "",
  });

  await t.step("the document and the shell formats", async () => {
    const plain = await runCredproc(args("doc"), env);
    ok(plain);
    assert.match(plain.stdout, PROCESS_DOC); // byte for byte the jq shape, no AccountId
    // The same credentials are in the cache now, without a printed account id: the flag must not get them.
    const withId = await runCredproc([...args("doc"), "--include-account-id"], env);
    okJson(withId);
    const doc = JSON.parse(withId.stdout);
    assert.deepEqual(Object.keys(doc), [
      "AccessKeyId",
      "SecretAccessKey",
      "SessionToken",
      "Expiration",
      "Version",
      "AccountId",
    ]);
    assert.equal(doc.AccountId, ACCOUNT);
    assert.equal(withId.stdout, `${JSON.stringify(doc, null, 2)}\n`);
    assert.match(withId.stdout.replace(`,\n  "AccountId": "${ACCOUNT}"`, ""), PROCESS_DOC);
    const hit = await runCredproc([...args("doc"), "--include-account-id"], env);
    assert.equal(hit.stdout, withId.stdout); // from the cache (fast path), still with the account
    assert.equal(standin.count("AssumeRole"), 2);
    const shell = await runCredproc([...args("doc"), "--include-account-id", "--format", "env"], env);
    okText(shell);
    assert.deepEqual(shell.stdout.trimEnd().split("\n").map((l) => l.replace(/=.*/, "")), [
      "export AWS_ACCESS_KEY_ID",
      "export AWS_SECRET_ACCESS_KEY",
      "export AWS_SESSION_TOKEN",
      "export AWS_CREDENTIAL_EXPIRATION",
      "export AWS_ACCOUNT_ID",
    ]);
    assert.ok(shell.stdout.endsWith(`export AWS_ACCOUNT_ID=${ACCOUNT}\n`));
    const ps = await runCredproc([...args("doc"), "--include-account-id", "--format", "powershell"], env);
    assert.ok(ps.stdout.endsWith(`$Env:AWS_ACCOUNT_ID="${ACCOUNT}"\n`));
  });

  await t.step("web identity: the account of the assumed role too", async () => {
    const r = await runCredproc(
      [
        "--role-arn",
        ROLE_B,
        "--role-session-name",
        "oidc",
        "--web-identity-token-env",
        "CREDPROC_T",
        "--endpoint-url",
        standin.url,
        "--include-account-id",
      ],
      { ...env, CREDPROC_T: "header.payload.signature-token-x" },
    );
    okJson(r);
    assert.equal(JSON.parse(r.stdout).AccountId, ACCOUNT);
  });

  await t.step("boto3 ≥ 1.37 reads AccountId into its credentials", async () => {
    const script = [
      "import json, boto3, botocore",
      "out = {}",
      "for p in ('with-id', 'without-id'):",
      "    c = boto3.Session(profile_name=p).get_credentials().get_frozen_credentials()",
      "    out[p] = c.account_id",
      "print(json.dumps(out, separators=(',', ':')))",
    ].join("\n");
    const r = await runProcess("python3", ["-c", script], env);
    okText(r, "python3 (boto3)");
    assert.equal(r.stdout, `{"with-id":"${ACCOUNT}","without-id":null}\n`);
  });

  await t.step("the JS SDK v3 (fromProcess) resolves credentials with accountId", async () => {
    for (const [profile, expected] of [["with-id", ACCOUNT], ["without-id", undefined]] as const) {
      const r = await runProcess(
        "node",
        [`${NODE_CONSUMER}/consumer.mjs`, "--profile", profile, "--endpoint", standin.url],
        env,
      );
      okText(r, "node consumer.mjs");
      const out = JSON.parse(r.stdout);
      assert.equal(out.AccountId, expected);
      assert.equal(out.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/${profile}`);
    }
  });
});

Deno.test("MFA with no terminal (JS SDK v3): fails at once saying what to run; warmed from a terminal, it serves", async () => {
  await using standin = await startStandin({ mfa: { serial: SERIAL, code: CODE } });
  const argv = ["--profile", "prod-role", "--mfa-session", "--endpoint-url", standin.url];
  await using h = await standinHome(
    standin,
    PROD_ROLE + `[profile app]\ncredential_process = ${credprocLine(argv)}\n`,
  );
  const env = h.env({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" });
  const consumer = ["node", `${NODE_CONSUMER}/consumer.mjs`, "--profile", "app", "--endpoint", standin.url];

  const failed = await runProcess(consumer[0], consumer.slice(1), env);
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, "");
  assert.equal(standin.count(), 0);
  const warm = `credproc --profile prod-role --mfa-session --endpoint-url ${standin.url}`;
  const record = JSON.parse(await Deno.readTextFile(`${h.cacheDir}/failures.json`)).failures;
  assert.deepEqual(record.map((f: { line: string; hint: string }) => [f.line, f.hint]), [[
    `credproc: MFA code for ${SERIAL}: no code given and no terminal to ask on`,
    `run \`${warm}\` once in a terminal: the MFA session it caches then serves every SDK`,
  ]]);

  // Once, in a terminal (stdout and stderr to files, as a person would run it to warm the cache).
  const out = `${h.dir}/warm.out`;
  const err = `${h.dir}/warm.err`;
  const r = await inPty(`${credprocLine(argv)} > ${shellQuote(out)} 2> ${shellQuote(err)}`, env, {
    waitFor: PROMPT,
    answer: `${CODE}\n`,
  });
  assert.equal(r.code, 0, `terminal: ${r.transcript}\nstderr: ${await readOrEmpty(err)}`);
  assert.equal(r.transcript, `${PROMPT}${CODE}\n`);
  assert.match(await readOrEmpty(out), PROCESS_DOC);
  assert.equal(standin.count("GetSessionToken"), 1);

  // Now the SDK with no terminal gets credentials, with no prompt and no new MFA call.
  const served = await runProcess(consumer[0], consumer.slice(1), env);
  assert.equal(served.stderr, "");
  assert.equal(served.code, 0);
  assert.equal(JSON.parse(served.stdout).Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/mfa-role`);
  assert.equal(standin.count("GetSessionToken"), 1);
});

Deno.test({
  ...ignoreIf(
    "TLS mistakes in plain words: plain http on https://, an expired and a self-signed certificate",
    !hasOpenssl() && "openssl is not installed",
  ),
}, async (t) => {
  const fixture = await makeTlsFixture();
  await using h = await tempHome();
  const run = (url: string, extra: Record<string, string> = {}) =>
    runCredproc(
      ["--role-arn", ROLE, "--endpoint-url", url, "--no-cache"],
      h.env({ AWS_ACCESS_KEY_ID: "AKIDSTANDINEXAMPLE01", AWS_SECRET_ACCESS_KEY: "x".repeat(40), ...extra }),
    );
  const openssl = async (...args: string[]) => {
    const o = await new Deno.Command("openssl", { args, cwd: fixture.dir, stdout: "null", stderr: "piped" })
      .output();
    assert.ok(o.success, new TextDecoder().decode(o.stderr));
  };
  const servers: Deno.HttpServer[] = [];
  const serve = (tls?: { cert: string; key: string }) => {
    const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {}, ...tls }, () => new Response("no"));
    servers.push(s);
    return s.addr.port;
  };
  const what = `credproc: AssumeRole ${ROLE}: `;
  try {
    await t.step("an https:// URL on a server that speaks plain http", async () => {
      const port = serve();
      const r = await run(`https://127.0.0.1:${port}/`);
      assert.equal(r.code, 1);
      assert.deepEqual(r.lines, [
        `${what}TLS: 127.0.0.1:${port} answered in plain HTTP, not TLS`,
        `hint: the endpoint speaks http; use http://127.0.0.1:${port} in --endpoint-url (or the port that serves https)`,
      ]);
    });
    await t.step("an expired certificate (from a trusted CA)", async () => {
      await Deno.writeTextFile(
        `${fixture.dir}/old.ext`,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
      );
      await openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "old.key",
        "-out",
        "old.csr",
        "-subj",
        "/CN=127.0.0.1",
      );
      await openssl(
        "x509",
        "-req",
        "-in",
        "old.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-out",
        "old.pem",
        "-days",
        "-1",
        "-extfile",
        "old.ext",
      );
      const port = serve({
        cert: await Deno.readTextFile(`${fixture.dir}/old.pem`),
        key: await Deno.readTextFile(`${fixture.dir}/old.key`),
      });
      const r = await run(`https://127.0.0.1:${port}/`, { DENO_CERT: fixture.caFile });
      assert.equal(r.code, 1);
      assert.deepEqual(r.lines, [
        `${what}TLS: the certificate of 127.0.0.1:${port} has expired`,
        "hint: the server's certificate must be renewed (or this machine's clock is wrong: check the date)",
      ]);
    });
    await t.step("a self-signed certificate", async () => {
      await openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "self.key",
        "-out",
        "self.pem",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-days",
        "2",
      );
      const port = serve({
        cert: await Deno.readTextFile(`${fixture.dir}/self.pem`),
        key: await Deno.readTextFile(`${fixture.dir}/self.key`),
      });
      const r = await run(`https://127.0.0.1:${port}/`);
      assert.equal(r.code, 1);
      assert.deepEqual(r.lines, [
        `${what}TLS: the certificate of 127.0.0.1:${port} is not trusted: self-signed or from an unknown certificate authority`,
        "hint: if a private CA or a TLS-inspecting proxy signs that certificate, point DENO_CERT (or NODE_EXTRA_CA_CERTS) at the CA's PEM file",
      ]);
    });
  } finally {
    for (const s of servers) await s.shutdown();
    await fixture.cleanup();
  }
});
