/**
 * End to end: MFA and web identity against the STS stand-in, which checks that the MFA serial and code and the
 * OIDC token really reach the request (moto accepts anything). The terminal prompt is driven through a real
 * pseudo-terminal (util-linux `script`), with stdout and stderr redirected to files the way botocore captures
 * a credential_process — and once through the real AWS CLI v2 doing exactly that.
 */
import assert from "node:assert/strict";
import { type Standin, startStandin } from "../support/sts_standin/mod.ts";
import {
  AWS_V2,
  credprocLine,
  ok,
  PROCESS_DOC,
  type Result,
  runCredproc,
  shellQuote,
} from "../support/helpers.ts";
import { inPty, readOrEmpty } from "../support/pty.ts";
import { assertOneErrorLine } from "../support/hardening_helpers.ts";
import { standinHome } from "../support/standin_call.ts";

const ACCOUNT = "123456789012";
const ROLE = `arn:aws:iam::${ACCOUNT}:role/deploy`;
const ROLE_2 = `arn:aws:iam::${ACCOUNT}:role/second`;
const SERIAL = `arn:aws:iam::${ACCOUNT}:mfa/alice`;
const CODE = "246810";
const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmV4YW1wbGUvYXBwIn0.c2lnbmF0dXJlLW5vdC1jaGVja2Vk";
const PROMPT = `Enter MFA code for ${SERIAL}: `;

const MFA_CONFIG = (standin: Standin) => `
[profile prod]
credential_process = ${credprocLine(["--profile", "prod-role", "--endpoint-url", standin.url, "--no-cache"])}

[profile prod-role]
role_arn = ${ROLE}
source_profile = base
mfa_serial = ${SERIAL}
role_session_name = mfa-tty
`;

// ── MFA ──────────────────────────────────────────────────────────────────────────────────────────────────

Deno.test("MFA: a code on the command line, from the environment, and a wrong code", async () => {
  await using standin = await startStandin({ mfa: { serial: SERIAL, code: CODE } });
  await using h = await standinHome(standin);
  const base = ["--role-arn", ROLE, "--serial-number", SERIAL, "--endpoint-url", standin.url, "--no-cache"];
  const keys = { AWS_ACCESS_KEY_ID: standin.accessKeyId, AWS_SECRET_ACCESS_KEY: standin.secretAccessKey };

  ok(await runCredproc([...base, "--token-code", CODE], h.env(keys)));
  assert.deepEqual(standin.requests.at(-1)?.mfa, { serial: SERIAL, code: CODE });
  assert.equal(standin.requests.at(-1)?.params.SerialNumber, SERIAL);
  assert.equal(standin.requests.at(-1)?.params.TokenCode, CODE);

  ok(await runCredproc(base, h.env({ ...keys, CREDPROC_MFA_TOKEN_CODE: CODE })));
  assert.deepEqual(standin.requests.at(-1)?.mfa, { serial: SERIAL, code: CODE });

  // A profile's mfa_serial with --token-code.
  await h.writeConfig(MFA_CONFIG(standin));
  ok(
    await runCredproc([
      "--profile",
      "prod-role",
      "--token-code",
      CODE,
      "--endpoint-url",
      standin.url,
      "--no-cache",
    ], h.env()),
  );
  assert.deepEqual(standin.requests.at(-1)?.mfa, { serial: SERIAL, code: CODE });

  // The stand-in really checks the code: a wrong one is refused by STS (exit 1), not by credproc.
  const wrong = await runCredproc([...base, "--token-code", "135791"], h.env(keys));
  assertOneErrorLine(wrong, 1, /^credproc: AssumeRole arn:aws:iam::123456789012:role\/deploy: AccessDenied/);
  assert.deepEqual(standin.requests.at(-1)?.mfa, { serial: SERIAL, code: "135791" });
  assert.equal(standin.count("AssumeRole"), 4);
});

Deno.test("MFA: no terminal at all fails at once, before any call, saying how to pass the code", async () => {
  await using standin = await startStandin({ mfa: { serial: SERIAL, code: CODE } });
  await using h = await standinHome(standin, MFA_CONFIG(standin));
  // stdin closed, stdout and stderr piped (an IDE or a CI job running the AWS CLI).
  const r = await runCredproc(
    ["--profile", "prod-role", "--endpoint-url", standin.url, "--no-cache"],
    h.env(),
  );
  assertOneErrorLine(
    r,
    1,
    new RegExp(`^credproc: MFA code for ${SERIAL}: no code given and no terminal to ask on$`),
  );
  assert.match(r.lines[1], /^hint: pass --token-code CODE or set CREDPROC_MFA_TOKEN_CODE$/);
  assert.ok(r.ms < 10_000, `${r.ms} ms`);
  assert.equal(standin.count(), 0);
});

Deno.test("MFA prompt through the AWS CLI v2 on a real terminal: stdout and stderr captured, stdin inherited", async () => {
  await using standin = await startStandin({ mfa: { serial: SERIAL, code: CODE } });
  await using h = await standinHome(standin, MFA_CONFIG(standin));
  const out = `${h.dir}/aws.out`;
  const err = `${h.dir}/aws.err`;
  const aws = [AWS_V2, "--profile", "prod", "sts", "get-caller-identity", "--endpoint-url", standin.url]
    .concat(["--region", "us-east-1", "--output", "json"]).map(shellQuote).join(" ");
  const r = await inPty(`${aws} > ${shellQuote(out)} 2> ${shellQuote(err)}`, h.env({ AWS_PAGER: "" }), {
    waitFor: PROMPT,
    answer: `${CODE}\n`,
  });
  assert.equal(
    r.code,
    0,
    `aws exited ${r.code}\nterminal: ${r.transcript}\nstderr: ${await readOrEmpty(err)}`,
  );
  // The prompt was on the terminal (botocore had credproc's stdout and stderr), and the code was echoed there.
  assert.equal(r.transcript, `${PROMPT}${CODE}\n`);
  assert.equal(await readOrEmpty(err), "");
  assert.equal(JSON.parse(await readOrEmpty(out)).Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/mfa-tty`);
  const assume = standin.requests.find((q) => q.action === "AssumeRole");
  assert.deepEqual(assume?.mfa, { serial: SERIAL, code: CODE });
});

Deno.test("MFA prompt on a real terminal: never on stdout, whichever streams the caller captures", async (t) => {
  await using standin = await startStandin({ mfa: { serial: SERIAL, code: CODE } });
  await using h = await standinHome(standin, MFA_CONFIG(standin));
  const credproc = credprocLine(["--profile", "prod-role", "--endpoint-url", standin.url, "--no-cache"]);
  const out = `${h.dir}/out`;
  const err = `${h.dir}/err`;
  const cases: [string, string, string][] = [
    // botocore: stdout and stderr captured, stdin is the terminal → the prompt goes through fd 0.
    ["stdout and stderr captured (botocore)", `${credproc} > ${out} 2> ${err}`, `${PROMPT}${CODE}\n`],
    // The Go SDK: stdout captured, stdin and stderr inherited.
    [
      "stdout captured, stderr the terminal (Go SDK)",
      `${credproc} > ${out} 2> ${err}.unused`,
      `${PROMPT}${CODE}\n`,
    ],
    // stdin not a terminal, stderr is: prompt on stderr, answer read from /dev/tty.
    ["stdin a pipe, stderr the terminal", `${credproc} < /dev/null > ${out}`, `${PROMPT}${CODE}\n`],
  ];
  for (const [name, command, shown] of cases) {
    await t.step(name, async () => {
      await Deno.remove(out).catch(() => {});
      await Deno.remove(err).catch(() => {});
      const r = await inPty(command, h.env(), { waitFor: PROMPT, answer: `${CODE}\n` });
      assert.equal(r.code, 0, `exit ${r.code}\nterminal: ${r.transcript}\nstderr: ${await readOrEmpty(err)}`);
      assert.equal(r.transcript, shown);
      assert.match(await readOrEmpty(out), PROCESS_DOC);
      assert.equal(await readOrEmpty(err), "");
      assert.deepEqual(standin.requests.at(-1)?.mfa, { serial: SERIAL, code: CODE });
    });
  }
});

Deno.test("MFA prompt: nobody types → --mfa-timeout ends it with a clear error, before any call", async () => {
  await using standin = await startStandin({ mfa: { serial: SERIAL, code: CODE } });
  await using h = await standinHome(standin, MFA_CONFIG(standin));
  const credproc = credprocLine([
    "--profile",
    "prod-role",
    "--mfa-timeout",
    "2",
    "--endpoint-url",
    standin.url,
    "--no-cache",
  ]);
  const out = `${h.dir}/out`;
  const err = `${h.dir}/err`;
  const r = await inPty(`${credproc} > ${out} 2> ${err}`, h.env());
  assert.equal(r.code, 1, r.transcript);
  assert.ok(r.ms >= 2000 && r.ms < 15_000, `${r.ms} ms`);
  assert.equal(r.transcript, `${PROMPT}\n`);
  assert.equal(await readOrEmpty(out), "");
  assert.equal(
    await readOrEmpty(err),
    `credproc: MFA code for ${SERIAL}: no code entered within 2 s\n` +
      "hint: pass --token-code CODE or set CREDPROC_MFA_TOKEN_CODE; --mfa-timeout SECONDS changes the wait\n",
  );
  assert.equal(standin.count(), 0);
});

Deno.test("MFA prompt: Ctrl-C on the terminal ends it at once with a clear error, before any call", async () => {
  await using standin = await startStandin({ mfa: { serial: SERIAL, code: CODE } });
  await using h = await standinHome(standin, MFA_CONFIG(standin));
  const credproc = credprocLine(["--profile", "prod-role", "--endpoint-url", standin.url, "--no-cache"]);
  const out = `${h.dir}/out`;
  const err = `${h.dir}/err`;
  // ^C typed on the terminal: the line discipline sends SIGINT to the foreground process group.
  const r = await inPty(`${credproc} > ${out} 2> ${err}`, h.env(), { waitFor: PROMPT, answer: "\x03" });
  assert.notEqual(r.code, 0);
  assert.ok(r.ms < 10_000, `${r.ms} ms`);
  assert.equal(await readOrEmpty(out), "");
  assert.equal(await readOrEmpty(err), `credproc: MFA code for ${SERIAL}: interrupted\n`);
  assert.equal(standin.count(), 0);
});

Deno.test("--mfa-session: one GetSessionToken with the code, then the roles with that session", async () => {
  await using standin = await startStandin({ mfa: { serial: SERIAL, code: CODE } });
  await using h = await standinHome(standin, MFA_CONFIG(standin));
  const r = await runCredproc(
    ["--profile", "prod-role", "--role-arn", ROLE_2, "--mfa-session", "--token-code", CODE]
      .concat(["--mfa-session-duration", "7200", "--endpoint-url", standin.url, "--no-cache"]),
    h.env(),
  );
  ok(r);
  const [session, first, second] = standin.requests;
  assert.equal(session.action, "GetSessionToken");
  assert.deepEqual(session.mfa, { serial: SERIAL, code: CODE });
  assert.equal(session.params.DurationSeconds, "7200");
  assert.equal(session.accessKeyId, standin.accessKeyId);
  assert.deepEqual([first.action, first.params.RoleArn, first.mfa], ["AssumeRole", ROLE, undefined]);
  assert.equal(standin.issued.get(first.accessKeyId!)?.action, "GetSessionToken");
  assert.deepEqual([second.params.RoleArn, second.mfa], [ROLE_2, undefined]);
  assert.equal(standin.count(), 3);
});

// ── web identity ─────────────────────────────────────────────────────────────────────────────────────────

Deno.test("web identity: from a file, an env var, a profile and AWS_WEB_IDENTITY_TOKEN_FILE; the token reaches STS", async (t) => {
  await using standin = await startStandin({ webIdentityToken: TOKEN });
  await using h = await standinHome(standin);
  const tokenFile = `${h.dir}/oidc-token`;
  await Deno.writeTextFile(tokenFile, `${TOKEN}\n`);
  const at = ["--endpoint-url", standin.url, "--no-cache"];

  const check = (r: Result, roles: string[]) => {
    ok(r);
    const calls = standin.requests.splice(0);
    assert.deepEqual(calls.map((q) => q.action), [
      "AssumeRoleWithWebIdentity",
      ...roles.slice(1).map(() => "AssumeRole"),
    ]);
    assert.deepEqual(calls.map((q) => q.params.RoleArn), roles);
    assert.equal(calls[0].params.WebIdentityToken, TOKEN);
    // Unsigned, with no source credentials at all.
    assert.equal(calls[0].signatureValid, null);
    assert.equal(calls[0].accessKeyId, undefined);
  };

  await t.step("--web-identity-token-file", async () => {
    check(await runCredproc(["--web-identity-token-file", tokenFile, "--role-arn", ROLE, ...at], h.env()), [
      ROLE,
    ]);
  });
  await t.step("--web-identity-token-env (GitLab id_tokens style)", async () => {
    const r = await runCredproc(
      ["--web-identity-token-env", "AWS_CI_OIDC_TOKEN", "--role-arn", ROLE, "--role-arn", ROLE_2, ...at],
      h.env({ AWS_CI_OIDC_TOKEN: TOKEN }),
    );
    check(r, [ROLE, ROLE_2]);
  });
  await t.step("a profile's web_identity_token_file", async () => {
    await h.writeConfig(
      `[profile ci]\nrole_arn = ${ROLE}\nweb_identity_token_file = ${tokenFile}\nrole_session_name = ci-job\n`,
    );
    check(await runCredproc(["--profile", "ci", ...at], h.env()), [ROLE]);
  });
  await t.step(
    "AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN as the source of --role-arn, as the SDK does",
    async () => {
      const env = h.env({
        AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
        AWS_ROLE_ARN: ROLE,
        AWS_ROLE_SESSION_NAME: "pod",
      });
      check(await runCredproc(["--role-arn", ROLE_2, ...at], env), [ROLE, ROLE_2]);
    },
  );
  await t.step("--web-identity-token-file with the role from AWS_ROLE_ARN", async () => {
    check(await runCredproc(["--web-identity-token-file", tokenFile, ...at], h.env({ AWS_ROLE_ARN: ROLE })), [
      ROLE,
    ]);
  });
});

Deno.test("web identity: an empty, missing, unreadable or unset token is a clear error and no call", async (t) => {
  await using standin = await startStandin({ webIdentityToken: TOKEN });
  await using h = await standinHome(standin);
  await Deno.writeTextFile(`${h.dir}/empty`, " \n");
  await Deno.mkdir(`${h.dir}/a-dir`);
  const at = ["--role-arn", ROLE, "--endpoint-url", standin.url, "--no-cache"];
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["empty file", ["--web-identity-token-file", `${h.dir}/empty`], {}, /: the token is empty$/],
    ["missing file", ["--web-identity-token-file", `${h.dir}/nope`], {}, /nope: no such file$/],
    ["a directory", ["--web-identity-token-file", `${h.dir}/a-dir`], {}, /a-dir: is a directory/],
    [
      "unset variable",
      ["--web-identity-token-env", "AWS_CI_OIDC_TOKEN"],
      {},
      /AWS_CI_OIDC_TOKEN: the variable is not set$/,
    ],
    [
      "empty variable",
      ["--web-identity-token-env", "AWS_CI_OIDC_TOKEN"],
      { AWS_CI_OIDC_TOKEN: "" },
      /the token is empty$/,
    ],
  ];
  for (const [name, args, env, line] of cases) {
    await t.step(name, async () => {
      const r = await runCredproc([...args, ...at], h.env(env));
      assertOneErrorLine(r, 2, line);
      assert.match(r.lines[0], /^credproc: web identity token /);
    });
  }
  assert.equal(standin.count(), 0);
  await t.step("a token STS rejects: exit 1 with the STS code", async () => {
    const r = await runCredproc(
      ["--web-identity-token-env", "AWS_CI_OIDC_TOKEN", ...at],
      h.env({ AWS_CI_OIDC_TOKEN: "eyJ.wrong.token" }),
    );
    assertOneErrorLine(
      r,
      1,
      /^credproc: AssumeRoleWithWebIdentity arn:aws:iam::123456789012:role\/deploy: InvalidIdentityToken/,
    );
    assert.equal(standin.requests.at(-1)?.params.WebIdentityToken, "eyJ.wrong.token");
  });
});
