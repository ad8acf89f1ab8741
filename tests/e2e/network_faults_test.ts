/**
 * Network faults (hung sources, crowds, STS answers, proxies) and stdout write errors,
 * with the real program as a subprocess against fakes on loopback:
 * - every hung source (container endpoint in the default chain, credential_source EcsContainer and
 *   Ec2InstanceMetadata, the SSO portal, STS) fails within `--timeout` with one line, nothing foreign on stderr;
 * - a crowd shares a failure (≤ 2 STS requests for N callers, all done within about one --timeout);
 * - STS answers are checked field by field, and a huge body is refused with bounded memory;
 * - proxies: plain http never through a proxy, loopback always direct, https through HTTPS_PROXY (CONNECT);
 * - stdout write errors (full device, closed pipe) are one line and exit 1, on the fast path too.
 * The figures (times, peak memory) are `deno task bench`'s (scripts/bench_refusals.ts); the tests assert bounds.
 */
import assert from "node:assert/strict";
import {
  CREDPROC_BIN,
  DENO_DIR,
  ignoreIf,
  PROCESS_DOC,
  type Result,
  ROLE,
  ROOT,
  runCredproc,
  runProcess,
  tempHome,
} from "../support/helpers.ts";
import { assertOneErrorLine, pool, runMeasured } from "../support/hardening_helpers.ts";
import { hasOpenssl, startConnectProxy } from "../support/net_fixtures.ts";
import { type ProxyScenarioReport, STS_HOST } from "../support/proxy_scenario.ts";
import { GOOD, startFakeSts, startFakeStsHome, startHangServer } from "../support/fake_sts.ts";
import { credprocCommand } from "../support/helpers.ts";

/** Start-up of a `deno run` child on a busy 2-core machine. */
const SLACK_MS = 4000;

/** No line on stderr that is not credproc's own (an SDK logger, a Deno warning). */
function assertOnlyOwnLines(r: Result): void {
  for (const line of r.lines) assert.match(line, /^(credproc: |hint: )/, r.stderr);
}

Deno.test("every hung source fails within --timeout, with one line and nothing foreign on stderr", async () => {
  await using hang = startHangServer();
  await using sts = startFakeSts();
  await using home = await tempHome();
  const ssoCache = `${home.dir}/.aws/sso/cache`;
  await Deno.mkdir(ssoCache, { recursive: true });
  // The SDK names the token file after the SHA-1 of the sso-session name.
  const sha1 = Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode("corp"))),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  await Deno.writeTextFile(
    `${ssoCache}/${sha1}.json`,
    JSON.stringify({
      accessToken: "sso-access-token-for-the-test",
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      region: "us-east-1",
      startUrl: "https://corp.awsapps.com/start",
    }),
  );
  await home.writeConfig(
    [
      "[profile ecs]",
      `role_arn = ${ROLE}`,
      "credential_source = EcsContainer",
      "[profile imds]",
      `role_arn = ${ROLE}`,
      "credential_source = Ec2InstanceMetadata",
      "[profile sso]",
      "sso_session = corp",
      "sso_account_id = 123456789012",
      "sso_role_name = Dev",
      "[sso-session corp]",
      "sso_region = us-east-1",
      "sso_start_url = https://corp.awsapps.com/start",
      "",
    ].join("\n"),
  );
  const base = home.env({
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: `${hang.url}/creds`,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: hang.url,
    AWS_EC2_METADATA_DISABLED: "false",
    AWS_ENDPOINT_URL_SSO: hang.url,
  });
  const cases: { name: string; args: string[]; env?: Record<string, string> }[] = [
    { name: "container endpoint (default chain)", args: ["--role-arn", ROLE] },
    { name: "credential_source = EcsContainer", args: ["--profile", "ecs"] },
    { name: "credential_source = Ec2InstanceMetadata", args: ["--profile", "imds"] },
    { name: "SSO portal", args: ["--profile", "sso", "--role-arn", ROLE] },
    {
      name: "STS",
      args: ["--role-arn", ROLE],
      env: {
        AWS_ENDPOINT_URL_STS: hang.url,
        AWS_ACCESS_KEY_ID: "AKIAHANGTEST00000001",
        AWS_SECRET_ACCESS_KEY: "s",
      },
    },
  ];
  const jobs = cases.flatMap((c) =>
    [5, 20].map((timeout) => async () => {
      const args = [...c.args, "--no-cache", ...(timeout === 20 ? [] : ["--timeout", String(timeout)])];
      const r = await runCredproc(args, { ...base, ...c.env });
      return { c, timeout, r };
    })
  );
  for (const { c, timeout, r } of await pool(4, jobs)) {
    assertOneErrorLine(r, 1, /no answer within \d+ s/);
    assertOnlyOwnLines(r);
    assert.ok(r.ms < timeout * 1000 + SLACK_MS, `${c.name} (${timeout} s) took ${Math.round(r.ms)} ms`);
  }
});

Deno.test("a crowd shares a failure: N callers against a refusing STS make at most 2 requests", async () => {
  await using sts = startFakeSts({ kind: "deny", message: "role not assumable" });
  await using home = await tempHome();
  const env = home.env({
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ACCESS_KEY_ID: "AKIACROWDTEST0000001",
    AWS_SECRET_ACCESS_KEY: "crowd-secret-value-never-stored",
    AWS_MAX_ATTEMPTS: "1",
  });
  const N = 20;
  const runs = await Promise.all(
    Array.from({ length: N }, () => runCredproc(["--role-arn", ROLE, "--timeout", "5"], env)),
  );
  for (const r of runs) assertOneErrorLine(r, 1, /AccessDenied: role not assumable$/);
  assert.ok(sts.requests() <= 2, `${sts.requests()} requests`);
  // The record: named after the key, 0600, no secret.
  const records = [];
  for await (const e of Deno.readDir(home.cacheDir)) {
    if (e.name.endsWith(".failure.json")) records.push(e.name);
  }
  assert.equal(records.length, 1);
  assert.match(records[0], /^[0-9a-f]{64}\.failure\.json$/);
  const path = `${home.cacheDir}/${records[0]}`;
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.doesNotMatch(await Deno.readTextFile(path), /crowd-secret-value/);
  // A call made after the failure (a retry once the cause is fixed) tries for itself, at once.
  const before = sts.requests();
  sts.answer = { kind: "credentials" };
  const retry = await runCredproc(["--role-arn", ROLE, "--timeout", "5"], env);
  assert.equal(retry.code, 0, retry.stderr);
  assert.equal(sts.requests(), before + 1);
  // …and, the key working again, removes the marker: markers do not pile up.
  await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
});

Deno.test("a crowd shares a hang: 6 callers against a hung STS with --timeout 3 finish within about 3 s", async () => {
  await using hang = startHangServer();
  await using home = await tempHome();
  const env = home.env({
    AWS_ENDPOINT_URL_STS: hang.url,
    AWS_ACCESS_KEY_ID: "AKIACROWDTEST0000002",
    AWS_SECRET_ACCESS_KEY: "s",
    AWS_MAX_ATTEMPTS: "1",
  });
  const started = performance.now();
  const runs = await Promise.all(
    Array.from({ length: 6 }, () => runCredproc(["--role-arn", ROLE, "--timeout", "3"], env)),
  );
  const wall = performance.now() - started;
  for (const r of runs) assertOneErrorLine(r, 1, /no answer within 3 s/);
  assert.ok(wall < 2 * 3000 + SLACK_MS, `${Math.round(wall)} ms`);
});

Deno.test("STS answers are validated before anything is printed or cached", async (t) => {
  await using fixture = await startFakeStsHome("AKIAVALIDATE00000001");
  const { sts, home, env } = fixture;
  const marker = `${home.dir}/pwned`;
  const bad: [string, Parameters<typeof Object.assign>[1], RegExp][] = [
    [
      "a token with a command substitution and a newline",
      { token: `tok$(touch ${marker})\nx` },
      /SessionToken/,
    ],
    ["a secret with a quote", { secret: "abc'def\"ghi$HOME0000" }, /SecretAccessKey/],
    ["a lower-case key id", { accessKeyId: "asiafake000000000001" }, /AccessKeyId/],
    ["a key id too short", { accessKeyId: "ASIA1" }, /AccessKeyId/],
    ["an Expiration in 2001", { expiration: "2001-01-01T00:00:00Z" }, /Expiration is in the past/],
    ["an Expiration a second ago", { expiration: new Date(Date.now() - 1000).toISOString() }, /Expiration/],
    ["a token of 20 KiB", { token: "A".repeat(20 * 1024) }, /SessionToken/],
    ["a secret with a control character", { secret: "abc\u001b[31mdefghijklmnop" }, /SecretAccessKey/],
  ];
  for (const [i, [name, fields, why]] of bad.entries()) {
    await t.step(name, async () => {
      sts.answer = { kind: "credentials", ...fields };
      for (const format of ["process", "env", "powershell", "windows-cmd"]) {
        // A session name of its own per case: a failure is shared with callers of the same key for a moment.
        const r = await runCredproc([
          "--role-arn",
          ROLE,
          "--format",
          format,
          "--role-session-name",
          `c${i}-${format}`,
        ], env);
        assertOneErrorLine(r, 1, new RegExp(`^credproc: STS response: ${why.source}`));
      }
      await assert.rejects(Deno.stat(marker));
      for await (const e of Deno.readDir(home.cacheDir)) {
        assert.doesNotMatch(e.name, /^[0-9a-f]{64}\.json$/, "nothing cached");
      }
    });
  }
  await t.step("valid values print exactly as the AWS CLI would (no quotes)", async () => {
    sts.answer = { kind: "credentials", expiration: "2031-02-03T04:05:06Z" };
    const r = await runCredproc(["--role-arn", ROLE, "--format", "env", "--no-cache"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `export AWS_ACCESS_KEY_ID=${GOOD.accessKeyId}\nexport AWS_SECRET_ACCESS_KEY=${GOOD.secret}\n` +
        `export AWS_SESSION_TOKEN=${GOOD.token}\nexport AWS_CREDENTIAL_EXPIRATION=2031-02-03T04:05:06+00:00\n`,
    );
    assert.equal(r.stderr, "");
  });
});

Deno.test("a huge STS answer is refused while it streams in, with bounded memory", async (t) => {
  await using fixture = await startFakeStsHome("AKIAHUGEANSWER000001", { AWS_MAX_ATTEMPTS: "1" });
  const { sts, env } = fixture;
  for (const declareLength of [false, true]) {
    await t.step(`300 MB, ${declareLength ? "with" : "without"} Content-Length`, async () => {
      sts.answer = { kind: "huge", bytes: 300 * 1024 * 1024, declareLength };
      const r = await runMeasured(["--role-arn", ROLE, "--no-cache"], env);
      assertOneErrorLine(r, 1, /the answer is larger than 256 KiB/);
      assert.ok(r.peakMiB < 300, `peak ${r.peakMiB} MiB`);
    });
  }
});

Deno.test("proxies: plain http never through a proxy, loopback direct, https endpoints through HTTPS_PROXY", async (t) => {
  await using sts = startFakeSts();
  await using proxy = startConnectProxy();
  await using home = await tempHome();
  const env = home.env({
    AWS_ACCESS_KEY_ID: "AKIAPROXYTEST0000001",
    AWS_SECRET_ACCESS_KEY: "s",
    AWS_EC2_METADATA_DISABLED: "true",
  });
  for (const name of ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "HTTPS_PROXY"]) {
    await t.step(`${name} and an http:// loopback endpoint: direct`, async () => {
      const before = sts.requests();
      const r = await runCredproc(
        ["--role-arn", ROLE, "--endpoint-url", sts.url, "--no-cache"],
        { ...env, [name]: proxy.url },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.equal(sts.requests(), before + 1);
      assert.deepEqual(proxy.connects, []);
      assert.deepEqual(proxy.others, []);
    });
  }
  await t.step("--verbose names the proxy in force (without user info)", async () => {
    const withUser = proxy.url.replace("http://", "http://user:hunter2-proxy-pass@");
    const r = await runCredproc(
      ["--role-arn", ROLE, "--endpoint-url", sts.url, "--no-cache", "--verbose"],
      { ...env, HTTPS_PROXY: withUser },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^credproc: proxy: https endpoints through ${proxy.url.replace(/\/$/, "")} \\(CONNECT\\)`,
        "m",
      ),
    );
    assert.doesNotMatch(r.stderr, /hunter2/);
    assert.deepEqual(proxy.connects, [], "the loopback endpoint itself is reached directly");
  });
  // An https endpoint with a real AWS host name: the next test, in a network namespace of its own.
});

/** Whether this process can make a network and mount namespace of its own (root; the suite's CI runs so). */
const CAN_UNSHARE = (() => {
  try {
    return Deno.uid() === 0 &&
      new Deno.Command("unshare", { args: ["--net", "--mount", "true"], stdout: "null", stderr: "null" })
        .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  ...ignoreIf(
    "HTTPS_PROXY: a real AWS host name through CONNECT works without outside DNS; only that name is asked",
    !CAN_UNSHARE
      ? "needs root and unshare (a network namespace of its own)"
      : !hasOpenssl() && "openssl is not installed",
  ),
}, async () => {
  // Its own namespace: Deno looks the STS host up locally even when it tunnels, and the suite's tripwire
  // would count that; here the scenario's own resolver counts it (and refuses, like a network without DNS).
  const resolv = await Deno.makeTempFile({ prefix: "credproc-proxy-resolv-" });
  await Deno.writeTextFile(resolv, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
  try {
    const r = await runProcess("unshare", [
      "--net",
      "--mount",
      "sh",
      "-c",
      'ip link set lo up && mount --bind "$1" /etc/resolv.conf && shift && exec "$@"',
      "sh",
      resolv,
      Deno.execPath(),
      "run",
      "-q",
      "-A", // the tripwire reads /proc/net/snmp, which only -A allows; credproc itself runs with its own set
      "--cached-only",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}tests/support/proxy_scenario.ts`,
    ], {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_DIR,
      DENO_NO_UPDATE_CHECK: "1",
      NO_COLOR: "1",
      ...(CREDPROC_BIN ? { CREDPROC_BIN } : {}),
    });
    assert.equal(r.code, 0, r.stderr);
    const report: ProxyScenarioReport = JSON.parse(r.stdout);
    assert.equal(report.stderr, "");
    assert.equal(report.code, 0);
    assert.match(report.stdout, PROCESS_DOC);
    assert.deepEqual(report.connects, [`${STS_HOST}:443`]);
    assert.equal(report.stsRequests, 1);
    // Deno's fetch asks the local resolver for the STS host (A and AAAA) and ignores the refusal: the proxy
    // connects. Nothing else is looked up, nothing leaves loopback.
    assert.ok(report.lookups.length > 0, "Deno no longer looks the host up: update docs/sandbox.md");
    assert.deepEqual([...new Set(report.lookups)].sort(), [`${STS_HOST} A`, `${STS_HOST} AAAA`]);
    assert.equal(report.beyondLoopback, 0);
  } finally {
    await Deno.remove(resolv).catch(() => {});
  }
});

/** Runs credproc with its stdout on /dev/full or on a pipe closed at once; returns exit code and stderr. */
async function runWithStdout(kind: "full" | "closed", args: string[], env: Record<string, string>) {
  const [cmd, ...pre] = credprocCommand();
  const script = kind === "full" ? 'exec "$@" >/dev/full' : '"$@" | true; exit "${PIPESTATUS[0]}"';
  // For the closed pipe: a reader that exits before credproc writes.
  return await runProcess("/bin/bash", [
    "-c",
    kind === "full" ? script : `sleep 0; ${script}`,
    "bash",
    cmd,
    ...pre,
    ...args,
  ], env);
}

Deno.test("stdout errors: a full device or a closed pipe is one line, exit 1, on the fast and the full path", async (t) => {
  await using fixture = await startFakeStsHome("AKIASTDOUTTEST000001");
  const { sts, env } = fixture;
  const args = ["--role-arn", ROLE];
  for (const kind of ["full", "closed"] as const) {
    await t.step(`${kind}: full path (--no-cache)`, async () => {
      const r = await runWithStdout(kind, [...args, "--no-cache"], env);
      assertOneErrorLine(r, 1, /^credproc: stdout: cannot write the credentials: /);
    });
    await t.step(`${kind}: fast path (a remembered hit)`, async () => {
      assert.equal((await runCredproc(args, env)).code, 0);
      assert.equal((await runCredproc(args, env)).code, 0); // writes the memo
      const before = sts.requests();
      const r = await runWithStdout(kind, args, env);
      assertOneErrorLine(r, 1, /^credproc: stdout: cannot write the credentials: /);
      assert.equal(sts.requests(), before, "answered from the cache");
    });
  }
});

Deno.test("stderr on success is empty even when the cache cannot be used; one line on failure", async () => {
  await using sts = startFakeSts();
  await using home = await tempHome();
  await Deno.writeTextFile(`${home.dir}/not-a-dir`, "");
  const env = home.env({
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ACCESS_KEY_ID: "AKIASTDERRTEST000001",
    AWS_SECRET_ACCESS_KEY: "s",
    CREDPROC_CACHE_DIR: `${home.dir}/not-a-dir/cache`,
  });
  const ok = await runCredproc(["--role-arn", ROLE], env);
  assert.equal(ok.code, 0);
  assert.equal(ok.stderr, "");
  const verbose = await runCredproc(["--role-arn", ROLE, "--verbose"], env);
  assert.match(verbose.stderr, /cache: off: cannot use .*not-a-dir\/cache: /);
  sts.answer = { kind: "deny" };
  const failed = await runCredproc(["--role-arn", ROLE], env);
  assertOneErrorLine(failed, 1, /AccessDenied/);
});

Deno.test("stdout errors: --version and --help on a full device say what they could not write", async () => {
  await using home = await tempHome();
  for (const args of [["--version"], ["--help"]]) {
    const r = await runWithStdout("full", args, home.env());
    assertOneErrorLine(r, 1, /^credproc: stdout: cannot write the output: No space left on device$/);
  }
});
