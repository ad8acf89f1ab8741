/**
 * `aws login` sessions (`login_session` profiles) end to end: the real program, the SDK's login provider, the
 * sign-in token stand-in (tests/support/login_standin.ts: it verifies every DPoP proof and rotates the refresh
 * token) and the STS stand-in, all on loopback. The token file is the one `aws login` writes, where the SDK
 * reads it. Covered: the AWS CLI v2, boto3 and the JS SDK v3 through `credential_process`, for the session
 * printed as it is and for a role over it; 20 concurrent callers and one refresh; a refused refresh token; an
 * AWS CLI that rotated the token at the same moment; files that are missing, malformed, another user's or
 * group-writable; and the sign-in endpoint override.
 */
import assert from "node:assert/strict";
import {
  AWS_V2,
  credprocLine,
  ok,
  okJson,
  type Result,
  ROLE,
  ROOT,
  runCredproc,
  runProcess,
  shellQuote,
  type TempHome,
  tempHome,
} from "../support/helpers.ts";
import { assertOneErrorLine, deadUrl } from "../support/hardening_helpers.ts";
import { type LoginStandin, type SignedIn, startLoginStandin } from "../support/login_standin.ts";
import { type Standin, startStandin } from "../support/sts_standin/mod.ts";

const SESSION = "arn:aws:iam::123456789012:user/alice";
const NODE_CONSUMER = `${ROOT}tests/node-consumer`;
/** Less than the SDK's 5 minutes: the first call refreshes. */
const EXPIRING_MS = 2 * 60_000;
/** More than 5 minutes: no refresh. */
const FRESH_MS = 14 * 60_000;

interface World {
  readonly home: TempHome;
  readonly login: LoginStandin;
  readonly sts: Standin;
  readonly env: Record<string, string>;
  readonly dir: string;
  signIn(remainingMs: number, more?: { mode?: number; session?: string }): Promise<SignedIn>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A HOME with `[profile dev] login_session = …`, the two stand-ins, and credproc's environment. */
async function world(extraConfig = ""): Promise<World> {
  const login = startLoginStandin();
  const sts = await startStandin({ sessions: login.pool });
  const home = await tempHome();
  await home.writeConfig(`[profile dev]\nlogin_session = ${SESSION}\nregion = us-east-1\n${extraConfig}`);
  const dir = `${home.dir}/.aws/login/cache`;
  const env = home.env({
    AWS_ENDPOINT_URL_SIGNIN: login.url,
    AWS_PAGER: "",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  });
  return {
    home,
    login,
    sts,
    env,
    dir,
    signIn: (remainingMs, more = {}) =>
      login.signIn({ dir, session: more.session ?? SESSION, remainingMs, mode: more.mode }),
    async [Symbol.asyncDispose]() {
      await home.cleanup();
      await sts[Symbol.asyncDispose]();
      await login[Symbol.asyncDispose]();
    },
  };
}

const sourceOnly = ["--profile", "dev"];
/** A role over the login session, assumed at the STS stand-in. */
function roleOver(w: World, session = "over-login"): string[] {
  return [
    "--profile",
    "dev",
    "--role-arn",
    ROLE,
    "--role-session-name",
    session,
    "--endpoint-url",
    w.sts.url,
  ];
}

/** The entries (credentials) in the cache directory. */
function entries(home: TempHome): string[] {
  try {
    return [...Deno.readDirSync(home.cacheDir)].map((e) => e.name).filter((n) =>
      /^[0-9a-f]{64}\.json$/.test(n)
    );
  } catch {
    return [];
  }
}

Deno.test("login: the AWS CLI v2, boto3 and the JS SDK v3 through credential_process, source only and role over it", async (t) => {
  await using w = await world();
  await w.home.writeConfig(
    `[profile dev]\nlogin_session = ${SESSION}\nregion = us-east-1\n` +
      `[profile login-cp]\ncredential_process = ${credprocLine(sourceOnly)}\n` +
      `[profile role-cp]\ncredential_process = ${credprocLine(roleOver(w))}\n`,
  );
  const signed = await w.signIn(EXPIRING_MS);
  /** The key that signed each GetCallerIdentity since `from`, and whether the signature verified. */
  const signers = (from: number) =>
    w.sts.requests.slice(from).filter((r) => r.action === "GetCallerIdentity").map((r) =>
      `${r.accessKeyId}:${r.signatureValid}`
    );
  const roleKeys = () =>
    w.sts.requests.filter((r) => r.action === "AssumeRole").map((r) =>
      `${r.accessKeyId}:${r.signatureValid}`
    );

  const consumers: [string, (profile: string) => Promise<Result>][] = [
    ["AWS CLI v2", (profile) =>
      runProcess(
        AWS_V2,
        [
          "--profile",
          profile,
          "sts",
          "get-caller-identity",
          "--endpoint-url",
          w.sts.url,
          "--region",
          "us-east-1",
        ],
        w.env,
      )],
    ["boto3", (profile) =>
      runProcess("python3", [
        "-c",
        [
          "import sys, boto3",
          "sts = boto3.Session(profile_name=sys.argv[1]).client('sts', endpoint_url=sys.argv[2], region_name='us-east-1')",
          "print(sts.get_caller_identity()['Arn'])",
        ].join("\n"),
        profile,
        w.sts.url,
      ], w.env)],
    ["JS SDK v3", (profile) =>
      runProcess("node", [
        `${NODE_CONSUMER}/consumer.mjs`,
        "--profile",
        profile,
        "--endpoint",
        w.sts.url,
      ], w.env)],
  ];
  let refreshed = "";
  for (const [name, run] of consumers) {
    await t.step(`${name}: the aws login session printed as it is (login-cp)`, async () => {
      const from = w.sts.requests.length;
      const r = await run("login-cp");
      assert.equal(r.stderr, "", name);
      assert.equal(r.code, 0, name);
      const used = signers(from);
      assert.equal(used.length, 1);
      // The first consumer's call refreshed the expiring token; every consumer signs with the refreshed keys.
      refreshed ||= used[0];
      assert.equal(used[0], refreshed);
      assert.notEqual(
        used[0].split(":")[0],
        signed.keys.accessKeyId,
        "the refreshed key, not the expiring one",
      );
      assert.equal(used[0].split(":")[1], "true");
      assert.equal(w.login.refreshes(), 1);
    });
    await t.step(`${name}: a role over the aws login session (role-cp)`, async () => {
      const from = w.sts.requests.length;
      const r = await run("role-cp");
      assert.equal(r.stderr, "", name);
      assert.equal(r.code, 0, name);
      const used = signers(from);
      assert.equal(used.length, 1);
      assert.match(used[0], /^ASIA\w+:true$/);
      assert.notEqual(used[0], refreshed, "signed with the role's credentials");
      // One AssumeRole in all, signed with the login session's (refreshed) keys.
      assert.deepEqual(roleKeys(), [refreshed]);
      assert.equal(w.login.refreshes(), 1);
    });
  }
  assert.deepEqual(w.login.problems, []);
});

Deno.test("login: 20 concurrent callers make one refresh (and one AssumeRole for one role)", async (t) => {
  const crowd = (w: World, argv: (i: number) => string[]) =>
    Promise.all(Array.from({ length: 20 }, (_, i) => runCredproc(argv(i), w.env)));

  await t.step("the session printed as it is: 1 refresh, 20 identical answers", async () => {
    await using w = await world();
    const signed = await w.signIn(EXPIRING_MS);
    const results = await crowd(w, () => sourceOnly);
    const ids = new Set(results.map((r) => ok(r).AccessKeyId));
    assert.equal(ids.size, 1);
    assert.notEqual([...ids][0], signed.keys.accessKeyId);
    assert.equal(w.login.refreshes(), 1);
    assert.equal(w.login.requests(), 1, "one POST: the rotated token was written once and read by the rest");
    assert.deepEqual(w.login.problems, []);
    const onDisk = JSON.parse(await Deno.readTextFile(signed.path));
    assert.equal(onDisk.accessToken.accessKeyId, [...ids][0]);
    assert.notEqual(onDisk.refreshToken, signed.refreshToken, "the rotated refresh token is on disk");
  });

  await t.step("one role over it: 1 refresh and 1 AssumeRole", async () => {
    await using w = await world();
    await w.signIn(EXPIRING_MS);
    const results = await crowd(w, () => roleOver(w));
    assert.equal(new Set(results.map((r) => ok(r).AccessKeyId)).size, 1);
    assert.equal(w.login.refreshes(), 1);
    assert.equal(w.sts.requests.filter((r) => r.action === "AssumeRole").length, 1);
    assert.deepEqual(w.login.problems, []);
  });

  await t.step("20 different roles over it: still 1 refresh (the login lock), 20 AssumeRole", async () => {
    await using w = await world();
    await w.signIn(EXPIRING_MS);
    const results = await crowd(w, (i) => roleOver(w, `s${i}`));
    assert.equal(new Set(results.map((r) => ok(r).AccessKeyId)).size, 20);
    assert.equal(w.login.refreshes(), 1);
    assert.equal(w.login.requests(), 1);
    assert.equal(w.sts.requests.filter((r) => r.action === "AssumeRole").length, 20);
    assert.deepEqual(w.login.problems, []);
  });
});

Deno.test("login: a refused refresh token is one line, exit 1, and nothing is cached", async () => {
  await using w = await world();
  await w.signIn(EXPIRING_MS);
  w.login.reject = true;
  for (const argv of [sourceOnly, roleOver(w)]) {
    const r = await runCredproc(argv, w.env);
    assertOneErrorLine(
      r,
      1,
      /^credproc: source credentials \(login from profile dev\): Your session has expired\. Please reauthenticate\.$/,
    );
    assert.equal(
      r.lines[1],
      "hint: run aws login --profile dev (the login session is missing or expired), then retry",
    );
  }
  assert.deepEqual(entries(w.home), [], "no credentials cached");
  assert.equal(w.sts.requests.length, 0);
  assert.equal(w.login.refreshes(), 0);
});

Deno.test("login: the AWS CLI rotated the token while credproc's refresh was on the wire", async () => {
  await using w = await world();
  const signed = await w.signIn(EXPIRING_MS);
  // The CLI's refresh lands first (it rewrites the file by rename, as botocore does); credproc's request then
  // carries the refresh token the service just rotated away and is refused.
  let cli: { accessKeyId: string } | undefined;
  w.login.beforeRefresh = async () => {
    w.login.beforeRefresh = undefined;
    cli = await w.login.refreshAs(signed.path);
  };
  const r = await runCredproc([...sourceOnly, "--verbose"], w.env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    JSON.parse(r.stdout).AccessKeyId,
    cli?.accessKeyId,
    "the CLI's new credentials, from the file",
  );
  assert.match(r.stderr, /sdk warning: the token was refreshed by another program meanwhile/);
  assert.equal(w.login.refreshes(), 1, "the CLI's refresh; credproc's was refused and not repeated");
  assert.equal(w.login.requests(), 2, "the CLI's and credproc's");
  assert.deepEqual(w.login.problems, ["a refresh token that is not the session's current one"]);
});

Deno.test("login: a missing, malformed, foreign or group-writable token file is refused before any request", async (t) => {
  const cases: [string, (w: World, s: SignedIn) => Promise<void>, RegExp, string][] = [
    [
      "missing (never signed in, or aws logout)",
      (_w, s) => Deno.remove(s.path),
      /^credproc: aws login session of profile dev: \/\S+\.json: not signed in \(no such file\)$/,
      "hint: run aws login --profile dev, then retry",
    ],
    [
      "not JSON",
      (_w, s) => Deno.writeTextFile(s.path, "{not json"),
      /: not a token aws login wrote \(not JSON\)$/,
      "hint: run aws login --profile dev, then retry",
    ],
    [
      "fields missing",
      (_w, s) => Deno.writeTextFile(s.path, JSON.stringify({ accessToken: {}, clientId: "c" })),
      /: missing accessToken\.accessKeyId, accessToken\.secretAccessKey, accessToken\.sessionToken, accessToken\.accountId, accessToken\.expiresAt, refreshToken, dpopKey$/,
      "hint: run aws login --profile dev, then retry",
    ],
    [
      "a sign-in region that is not a region (it would become a host name)",
      async (_w, s) => {
        const doc = JSON.parse(await Deno.readTextFile(s.path));
        await Deno.writeTextFile(s.path, JSON.stringify({ ...doc, signInRegion: "evil.test/#" }));
      },
      /: signInRegion is not a region$/,
      "hint: run aws login --profile dev, then retry",
    ],
    [
      "a directory",
      async (_w, s) => {
        await Deno.remove(s.path);
        await Deno.mkdir(s.path);
      },
      /: not a regular file$/,
      "hint: run aws login --profile dev, then retry",
    ],
    [
      "another user's (nobody)",
      (_w, s) => Deno.chown(s.path, 65534, null),
      /: owned by uid 65534, not by you$/,
      "hint: only you may write it: run aws login --profile dev to write it anew (mode 0600)",
    ],
    [
      "group-writable (0664)",
      (_w, s) => Deno.chmod(s.path, 0o664),
      /: mode 0664: others may write it$/,
      "hint: only you may write it: run aws login --profile dev to write it anew (mode 0600)",
    ],
    [
      "world-writable (0606)",
      (_w, s) => Deno.chmod(s.path, 0o606),
      /: mode 0606: others may write it$/,
      "hint: only you may write it: run aws login --profile dev to write it anew (mode 0600)",
    ],
  ];
  for (const [name, spoil, line, hint] of cases) {
    await t.step(name, async () => {
      await using w = await world();
      const s = await w.signIn(EXPIRING_MS);
      await spoil(w, s);
      for (const argv of [sourceOnly, roleOver(w), [...sourceOnly, "--no-cache"]]) {
        const r = await runCredproc(argv, w.env);
        assertOneErrorLine(r, 1, line);
        assert.equal(r.lines[1], hint);
      }
      assert.equal(w.login.requests(), 0);
      assert.equal(w.sts.requests.length, 0);
      assert.deepEqual(entries(w.home), []);
    });
  }
});

Deno.test("login: bad input is exit 2 before anything is read or sent", async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      "AWS_ENDPOINT_URL_SIGNIN outside loopback and the sign-in hosts",
      sourceOnly,
      { AWS_ENDPOINT_URL_SIGNIN: "https://evil.test/" },
      /^credproc: AWS_ENDPOINT_URL_SIGNIN: host evil\.test is not a regional sign-in endpoint \(REGION\.signin\.aws\.amazon\.com, …\) nor loopback$/,
    ],
    [
      "AWS_ENDPOINT_URL_SIGNIN: the console's sign-in host is not the token endpoint",
      sourceOnly,
      { AWS_ENDPOINT_URL_SIGNIN: "https://signin.aws.amazon.com/" },
      /^credproc: AWS_ENDPOINT_URL_SIGNIN: host signin\.aws\.amazon\.com is not a regional sign-in endpoint/,
    ],
    [
      "AWS_LOGIN_CACHE_DIRECTORY that is not absolute",
      sourceOnly,
      { AWS_LOGIN_CACHE_DIRECTORY: "~/.aws/login/cache" },
      /^credproc: AWS_LOGIN_CACHE_DIRECTORY: "~\/\.aws\/login\/cache" is not an absolute path/,
    ],
    [
      "a role flag with no role to apply it to",
      [...sourceOnly, "--duration-seconds", "3600"],
      {},
      /^credproc: --duration-seconds: applies to a role, and profile dev has none \(its aws login session is printed as it is\); give --role-arn ARN$/,
    ],
    [
      "--mfa-session over login credentials (GetSessionToken takes IAM user keys only)",
      [
        ...["--profile", "dev", "--role-arn", ROLE],
        "--mfa-session",
        "--serial-number",
        "arn:aws:iam::123456789012:mfa/a",
      ],
      {},
      /^credproc: --mfa-session: /,
    ],
  ];
  for (const [name, argv, env, line] of cases) {
    await t.step(name, async () => {
      await using w = await world();
      await w.signIn(EXPIRING_MS);
      const r = await runCredproc(argv, { ...w.env, ...env });
      assertOneErrorLine(r, 2, line);
      assert.equal(w.login.requests(), 0);
    });
  }
  await t.step("a login_session longer than any ARN", async () => {
    await using w = await world();
    await w.home.writeConfig(
      `[profile dev]\nlogin_session = arn:aws:iam::123456789012:user/${"a".repeat(2100)}\n`,
    );
    const r = await runCredproc(sourceOnly, w.env);
    assertOneErrorLine(r, 2, /^credproc: profile dev: login_session must be the console session's ARN/);
  });
});

Deno.test("login: the sign-in is keyed and the token file watched; a sign-out is never served", async () => {
  await using w = await world();
  const signed = await w.signIn(FRESH_MS);
  // The fast path only remembers inputs whose files did not just change: date them a minute back.
  const past = new Date(Date.now() - 60_000);
  for (const f of [w.home.configFile, signed.path]) await Deno.utime(f, past, past);
  const call = async (argv = sourceOnly) => ok(await runCredproc(argv, w.env)).AccessKeyId;
  const first = await call();
  assert.equal(await call(), first);
  assert.equal(w.login.requests(), 0, "a fresh token: no refresh");
  // The fast path's memo watches the token file, like the shared config.
  const memos = [...Deno.readDirSync(w.home.cacheDir)].filter((e) => e.name.endsWith(".inputs.json"));
  assert.equal(memos.length, 1);
  const memo = JSON.parse(Deno.readTextFileSync(`${w.home.cacheDir}/${memos[0].name}`));
  assert.ok(
    memo.files.some((f: { path: string }) => f.path.startsWith(`${w.dir}/`)),
    JSON.stringify(memo.files),
  );

  // Another `aws login` (a new sign-in, a new DPoP key) is another entry, never the first one's credentials.
  const again = await w.signIn(FRESH_MS);
  const second = await call();
  assert.equal(second, again.keys.accessKeyId);
  assert.notEqual(second, first);

  // Signed out: an error, not the cached credentials (fast path and full path alike).
  await Deno.remove(again.path);
  for (let i = 0; i < 2; i++) {
    assertOneErrorLine(await runCredproc(sourceOnly, w.env), 1, /not signed in \(no such file\)$/);
  }
});

Deno.test("login: --include-account-id prints the session's account; cache list names the entry", async () => {
  await using w = await world();
  await w.signIn(FRESH_MS, {});
  const r = await runCredproc([...sourceOnly, "--include-account-id"], w.env);
  assert.equal(okJson(r).AccountId, "123456789012");
  const list = await runCredproc(["cache", "list"], w.env);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /aws login session \(no role\) \(profile dev\)/);
  const console = await runCredproc(["console", ...sourceOnly], w.env);
  assertOneErrorLine(console, 2, /^credproc: console: needs a role to sign in as; give --role-arn ARN$/);
});

Deno.test("login: how often consumers run credproc for 15-minute credentials (documented in docs/cache.md)", async () => {
  await using w = await world();
  await w.signIn(EXPIRING_MS);
  const count = `${w.home.dir}/runs`;
  const wrapper = async (name: string, args: string[]) => {
    const path = `${w.home.dir}/${name}.sh`;
    const line = credprocLine(args);
    await Deno.writeTextFile(path, `#!/bin/sh\necho run >> ${shellQuote(count)}\nexec ${line}\n`, {
      mode: 0o755,
    });
    return path;
  };
  await w.home.writeConfig(
    `[profile dev]\nlogin_session = ${SESSION}\nregion = us-east-1\n` +
      `[profile login-cp]\ncredential_process = ${await wrapper("login", sourceOnly)}\n` +
      `[profile role-cp]\ncredential_process = ${await wrapper("role", roleOver(w))}\n`,
  );
  const runs = async () =>
    (await Deno.readTextFile(count).catch(() => "")).split("\n").filter(Boolean).length;
  const requests = 10;
  const measured: Record<string, Record<string, number>> = {};
  for (const profile of ["login-cp", "role-cp"]) {
    const row: Record<string, number> = {};
    let before = await runs();
    const cli = await runProcess(AWS_V2, [
      "--profile",
      profile,
      "sts",
      "get-caller-identity",
      "--endpoint-url",
      w.sts.url,
      "--region",
      "us-east-1",
    ], w.env);
    assert.equal(cli.code, 0, cli.stderr);
    row["aws command"] = (await runs()) - before;
    before = await runs();
    const py = await runProcess("python3", [
      "-c",
      [
        "import sys, boto3",
        "sts = boto3.Session(profile_name=sys.argv[1]).client('sts', endpoint_url=sys.argv[2], region_name='us-east-1')",
        "for _ in range(int(sys.argv[3])): sts.get_caller_identity()",
      ].join("\n"),
      profile,
      w.sts.url,
      String(requests),
    ], w.env);
    assert.equal(py.code, 0, py.stderr);
    row[`boto3, ${requests} requests`] = (await runs()) - before;
    measured[profile] = row;
  }
  console.log(`credproc runs: ${JSON.stringify(measured)}`);
  // botocore refreshes under 15 minutes left: every signed request re-runs the process for 15-minute
  // credentials; for the role's hour, once.
  assert.deepEqual(measured, {
    "login-cp": { "aws command": 2, [`boto3, ${requests} requests`]: requests + 1 },
    "role-cp": { "aws command": 1, [`boto3, ${requests} requests`]: 1 },
  });
  assert.equal(w.login.refreshes(), 1);
});

Deno.test("login: a sign-in endpoint that does not answer is a network failure, not a sign-in to redo", async () => {
  await using w = await world();
  const env = { ...w.env, AWS_ENDPOINT_URL_SIGNIN: deadUrl() };
  // Still valid for a minute: the SDK keeps using it (said under --verbose) and the call succeeds.
  const valid = await w.signIn(60_000);
  const r = await runCredproc([...sourceOnly, "--no-cache", "--verbose"], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).AccessKeyId, valid.keys.accessKeyId);
  assert.match(r.stderr, /sdk warning: Failed to refresh token: .*Using existing token until expiry\./);
  // Expired: one line that names the endpoint's failure; the hint is not `aws login`.
  await w.signIn(-60_000);
  const failed = await runCredproc([...sourceOnly, "--no-cache"], env);
  assertOneErrorLine(
    failed,
    1,
    /^credproc: token refresh for profile dev: the sign-in endpoint did not refresh the session: TypeError: /,
  );
  assert.equal(
    failed.lines[1],
    "hint: check the network and HTTPS_PROXY, then retry (the aws login session itself may be fine)",
  );
});

Deno.test("login without a role: eks-token signs with the session's credentials; 20 concurrent callers, 1 refresh", async () => {
  await using w = await world();
  await w.signIn(EXPIRING_MS);
  const args = ["eks-token", "--cluster-name", "demo", ...sourceOnly, "--endpoint-url", w.sts.url];
  const results = await Promise.all(Array.from({ length: 20 }, () => runCredproc(args, w.env)));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  assert.equal(new Set(results.map((r) => r.stdout)).size, 1, "one token for all");
  assert.equal(w.login.refreshes(), 1);
  assert.deepEqual(w.login.problems, []);
  const token = JSON.parse(results[0].stdout).status.token as string;
  const url = new URL(atob(token.slice(11).replaceAll("-", "+").replaceAll("_", "/")));
  const onDisk = JSON.parse(
    await Deno.readTextFile(`${w.dir}/${(await Array.fromAsync(Deno.readDir(w.dir)))[0].name}`),
  );
  assert.match(url.searchParams.get("X-Amz-Credential")!, new RegExp(`^${onDisk.accessToken.accessKeyId}/`));
  assert.equal(w.sts.requests.length, 0, "no STS call: the token is signed locally");
  // 15-minute credentials are reused for their first half (the cache's rule for a session no longer than the
  // margin): the token lives until then, not until "expiry minus the whole 15-minute margin" (= at once).
  const expires = Date.parse(JSON.parse(results[0].stdout).status.expirationTimestamp);
  const halfLeft = Date.parse(onDisk.accessToken.expiresAt) - 450_000;
  assert.ok(Math.abs(expires - halfLeft) <= 2000, `expires ${new Date(expires).toISOString()}`);
});
