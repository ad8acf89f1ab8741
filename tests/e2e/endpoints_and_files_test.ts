/**
 * Special, huge and over-long input files, the STS endpoint from each source, keyed secret inputs and small
 * bad inputs, with the real program as a subprocess against fakes on loopback:
 * - special and huge files (FIFO, /dev/zero, 100 MB) as each kind of file: exit 2 fast, bounded memory;
 * - the endpoint: one test per source of configuration (flag, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, a
 *   `[services]` section, `endpoint_url` in the profile or in `[default]`), each keyed apart on the full and
 *   the fast path; the AWS CLI's precedence; endpoints of the wrong shape refused, named, whatever their source;
 * - secret inputs (web identity token, secret key) keyed apart, never stored in clear;
 * - the small ones: a token code echoed by STS, a non-JSON policy file, invalid UTF-8 in AWS_REGION, a very
 *   long source_profile chain.
 */
import assert from "node:assert/strict";
import {
  credprocCommand,
  mkfifo,
  type Result,
  ROLE,
  runCredproc,
  runProcess,
  tempHome,
} from "../support/helpers.ts";
import { assertOneErrorLine, runMeasured } from "../support/hardening_helpers.ts";
import { type FakeSts, GOOD, startFakeSts, startFakeStsHome } from "../support/fake_sts.ts";

/** Start-up of a `deno run` child is ~0.3 s; "exit 2 in < 1 s" is asserted with room for a loaded machine. */
const FAST_MS = 2500;

Deno.test("special and huge files: exit 2 at once, with bounded memory, for every kind of file", async (t) => {
  await using sts = startFakeSts();
  await using home = await tempHome();
  const fifo = `${home.dir}/fifo`;
  await mkfifo(fifo);
  const big = `${home.dir}/big`;
  {
    const f = await Deno.open(big, { write: true, create: true });
    await f.truncate(100 * 1024 * 1024);
    f.close();
  }
  const env = home.env({
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ACCESS_KEY_ID: "AKIAFILETEST00000001",
    AWS_SECRET_ACCESS_KEY: "s",
  });
  const kinds: { kind: string; run: (path: string) => [string[], Record<string, string>]; what: RegExp }[] = [
    {
      kind: "--policy-file",
      run: (p) => [["--role-arn", ROLE, "--policy-file", p], env],
      what: /--policy-file/,
    },
    {
      kind: "--web-identity-token-file",
      run: (p) => [["--role-arn", ROLE, "--web-identity-token-file", p], env],
      what: /web identity token file/,
    },
    {
      kind: "AWS_CONFIG_FILE",
      run: (p) => [["--role-arn", ROLE], { ...env, AWS_CONFIG_FILE: p }],
      what: /config file/,
    },
    {
      kind: "AWS_SHARED_CREDENTIALS_FILE",
      run: (p) => [["--role-arn", ROLE], { ...env, AWS_SHARED_CREDENTIALS_FILE: p }],
      what: /credentials file/,
    },
  ];
  for (const { kind, run, what } of kinds) {
    for (
      const [label, path, why] of [
        ["a FIFO", fifo, /not a regular file/],
        ["/dev/zero", "/dev/zero", /not a regular file/],
        ["a 100 MB file", big, /larger than \d+ bytes/],
      ] as const
    ) {
      await t.step(`${kind} is ${label}`, async () => {
        const [args, e] = run(path);
        const r = await runMeasured(args, e);
        assertOneErrorLine(r, 2, new RegExp(`${what.source}.*: ${why.source}`));
        assert.ok(r.ms < FAST_MS, `${Math.round(r.ms)} ms`);
        assert.ok(r.peakMiB < 200, `peak ${r.peakMiB} MiB`);
        assert.equal(sts.requests(), 0);
      });
    }
  }
  await t.step("a config file replaced by a FIFO after a hit: the fast path does not hang", async () => {
    await home.writeConfig("[default]\nregion = us-east-1\n");
    assert.equal((await runCredproc(["--role-arn", ROLE], env)).code, 0);
    assert.equal((await runCredproc(["--role-arn", ROLE], env)).code, 0);
    await mkfifo(home.configFile);
    const r = await runCredproc(["--role-arn", ROLE], env);
    assertOneErrorLine(r, 2, /config file .*: not a regular file/);
    assert.ok(r.ms < FAST_MS);
  });
});

interface EndpointSource {
  name: string;
  /** Points credproc at `url` through this source: extra args, env and config text. */
  set(url: string): { args?: string[]; env?: Record<string, string>; config?: string };
}

const SOURCES: EndpointSource[] = [
  { name: "--endpoint-url", set: (url) => ({ args: ["--endpoint-url", url] }) },
  { name: "AWS_ENDPOINT_URL_STS", set: (url) => ({ env: { AWS_ENDPOINT_URL_STS: url } }) },
  { name: "AWS_ENDPOINT_URL", set: (url) => ({ env: { AWS_ENDPOINT_URL: url } }) },
  {
    name: "[services] section of the profile",
    set: (url) => ({
      args: ["--profile", "p"],
      config: `[profile p]\nservices = s\n[services s]\nsts =\n  endpoint_url = ${url}\n`,
    }),
  },
  {
    name: "endpoint_url in the profile",
    set: (url) => ({ args: ["--profile", "p"], config: `[profile p]\nendpoint_url = ${url}\n` }),
  },
  { name: "endpoint_url in [default]", set: (url) => ({ config: `[default]\nendpoint_url = ${url}\n` }) },
];

Deno.test("endpoint: each source of configuration is used and keyed apart, on the full and the fast path", async (t) => {
  await using a = startFakeSts({ kind: "credentials", accessKeyId: "ASIAENDPOINTA0000001" });
  await using b = startFakeSts({ kind: "credentials", accessKeyId: "ASIAENDPOINTB0000001" });
  for (const source of SOURCES) {
    await t.step(source.name, async () => {
      await using home = await tempHome();
      const run = async (sts: FakeSts) => {
        const s = source.set(sts.url);
        await home.writeConfig(s.config ?? "");
        await home.writeCredentials(
          "[p]\naws_access_key_id = AKIAENDPOINTTEST0001\naws_secret_access_key = s\n",
        );
        return await runCredproc(
          ["--role-arn", ROLE, ...(s.args ?? [])],
          home.env({
            AWS_ACCESS_KEY_ID: "AKIAENDPOINTTEST0001",
            AWS_SECRET_ACCESS_KEY: "s",
            ...s.env,
          }),
        );
      };
      const id = (r: Result) => JSON.parse(r.stdout).AccessKeyId;
      const [beforeA, beforeB] = [a.requests(), b.requests()];
      const first = await run(a);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(id(first), "ASIAENDPOINTA0000001");
      assert.equal(id(await run(a)), "ASIAENDPOINTA0000001"); // a hit; writes the memo
      assert.equal(id(await run(a)), "ASIAENDPOINTA0000001"); // the fast path
      assert.equal(a.requests() - beforeA, 1);
      const other = await run(b);
      assert.equal(id(other), "ASIAENDPOINTB0000001", "endpoint B never gets endpoint A's credentials");
      assert.equal(id(await run(b)), "ASIAENDPOINTB0000001");
      assert.equal(b.requests() - beforeB, 1);
      assert.equal(id(await run(a)), "ASIAENDPOINTA0000001", "and A's entry is still A's");
    });
  }
});

Deno.test("endpoint: the AWS CLI's precedence, and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", async (t) => {
  await using winner = startFakeSts({ kind: "credentials", accessKeyId: "ASIAWINNER0000000001" });
  await using loser = startFakeSts({ kind: "credentials", accessKeyId: "ASIALOSER00000000001" });
  await using home = await tempHome();
  const env = home.env({ AWS_ACCESS_KEY_ID: "AKIAPRECEDENCE000001", AWS_SECRET_ACCESS_KEY: "s" });
  const cases: [string, string[], Record<string, string>, string][] = [
    ["--endpoint-url over AWS_ENDPOINT_URL_STS", ["--endpoint-url", winner.url], {
      AWS_ENDPOINT_URL_STS: loser.url,
    }, ""],
    ["AWS_ENDPOINT_URL_STS over AWS_ENDPOINT_URL", [], {
      AWS_ENDPOINT_URL_STS: winner.url,
      AWS_ENDPOINT_URL: loser.url,
    }, ""],
    [
      "AWS_ENDPOINT_URL over the profile",
      [],
      { AWS_ENDPOINT_URL: winner.url },
      `[default]\nendpoint_url = ${loser.url}\n`,
    ],
    [
      "[services] over endpoint_url",
      [],
      {},
      `[default]\nendpoint_url = ${loser.url}\nservices = s\n[services s]\nsts =\n  endpoint_url = ${winner.url}\n`,
    ],
    ["ignore_configured_endpoint_urls leaves only the flag", ["--endpoint-url", winner.url], {
      AWS_ENDPOINT_URL_STS: loser.url,
    }, `[default]\nignore_configured_endpoint_urls = true\nendpoint_url = ${loser.url}\n`],
    ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS leaves only the flag", ["--endpoint-url", winner.url], {
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
      AWS_ENDPOINT_URL_STS: loser.url,
      AWS_ENDPOINT_URL: loser.url,
    }, ""],
  ];
  for (const [name, args, extra, config] of cases) {
    await t.step(name, async () => {
      await home.writeConfig(config);
      const r = await runCredproc(["--role-arn", ROLE, "--no-cache", ...args], { ...env, ...extra });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).AccessKeyId, "ASIAWINNER0000000001");
    });
  }
  assert.equal(loser.requests(), 0);
});

Deno.test("endpoint: hosts that are not STS, SSO, metadata or loopback are refused, named, from every source", async (t) => {
  await using home = await tempHome();
  const env = home.env({ AWS_ACCESS_KEY_ID: "AKIASHAPE00000000001", AWS_SECRET_ACCESS_KEY: "s" });
  await home.writeCredentials("[p]\naws_access_key_id = AKIASHAPE00000000001\naws_secret_access_key = s\n");
  const hosts = [
    "https://ec2-203-0-113-5.compute-1.amazonaws.com",
    "http://my-bucket.s3-website-us-east-1.amazonaws.com",
    "https://abc123.execute-api.us-east-1.amazonaws.com",
    "https://sts.us-east-1.amazonaws.com.evil.example",
    "https://xsts.us-east-1.amazonaws.com",
    "https://evil.sts.us-east-1.amazonaws.com",
  ];
  for (const source of SOURCES) {
    for (const url of hosts) {
      await t.step(`${source.name}: ${url}`, async () => {
        const s = source.set(url);
        await home.writeConfig(s.config ?? "");
        const r = await runCredproc(["--role-arn", ROLE, "--no-cache", ...(s.args ?? [])], {
          ...env,
          ...s.env,
        });
        const what = source.name.startsWith("[services]")
          ? "sts endpoint_url in \\[services s\\]"
          : source.name.startsWith("endpoint_url")
          ? "endpoint_url in the profile"
          : source.name;
        assertOneErrorLine(
          r,
          2,
          new RegExp(
            `^credproc: ${what}: host \\S+ (is not an STS, SSO or SSO-OIDC endpoint|is outside the allowed endpoints)`,
          ),
        );
      });
    }
  }
  await t.step("a container endpoint outside loopback and the metadata addresses", async () => {
    const r = await runCredproc(["--role-arn", ROLE, "--no-cache"], {
      ...home.env(),
      AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://ec2-203-0-113-5.compute-1.amazonaws.com/creds",
      AWS_ENDPOINT_URL_STS: "http://127.0.0.1:1",
    });
    assertOneErrorLine(r, 2, /^credproc: AWS_CONTAINER_CREDENTIALS_FULL_URI: host /);
  });
});

Deno.test("secret inputs are keyed (as a digest, never in clear): another token or secret key calls STS", async (t) => {
  await using sts = startFakeSts();
  await using home = await tempHome();
  const tokenFile = `${home.dir}/token`;
  const tokens = ["eyJhbGciOiJSUzI1NiJ9.first-job-token.sig", "eyJhbGciOiJSUzI1NiJ9.other-job-token.sig"];
  await t.step("web identity token file", async () => {
    const env = home.env({ AWS_ENDPOINT_URL_STS: sts.url });
    const args = ["--role-arn", ROLE, "--web-identity-token-file", tokenFile, "--role-session-name", "ci"];
    const before = sts.requests();
    await Deno.writeTextFile(tokenFile, tokens[0]);
    for (let i = 0; i < 3; i++) assert.equal((await runCredproc(args, env)).code, 0); // miss, hit, fast path
    assert.equal(sts.requests() - before, 1);
    await Deno.writeTextFile(tokenFile, tokens[1]);
    assert.equal((await runCredproc(args, env)).code, 0);
    assert.equal(sts.requests() - before, 2, "another token is another key");
    assert.equal(sts.forms.at(-1)?.get("WebIdentityToken"), tokens[1]);
  });
  await t.step("web identity token in a variable", async () => {
    const args = ["--role-arn", ROLE, "--web-identity-token-env", "CI_TOKEN", "--role-session-name", "ci"];
    const before = sts.requests();
    const env = (token: string) => ({
      ...home.env({ AWS_ENDPOINT_URL_STS: sts.url }),
      CREDPROC_CI_TOKEN: token,
    });
    const args2 = args.map((a) => a === "CI_TOKEN" ? "CREDPROC_CI_TOKEN" : a);
    for (let i = 0; i < 3; i++) assert.equal((await runCredproc(args2, env(tokens[0]))).code, 0);
    assert.equal(sts.requests() - before, 1);
    assert.equal((await runCredproc(args2, env(tokens[1]))).code, 0);
    assert.equal(sts.requests() - before, 2);
  });
  await t.step("secret access key in the environment (same key id)", async () => {
    const env = (secret: string) =>
      home.env({
        AWS_ENDPOINT_URL_STS: sts.url,
        AWS_ACCESS_KEY_ID: "AKIASECRETKEYTEST001",
        AWS_SECRET_ACCESS_KEY: secret,
      });
    const before = sts.requests();
    for (let i = 0; i < 3; i++) {
      assert.equal((await runCredproc(["--role-arn", ROLE], env("right-secret-1"))).code, 0);
    }
    assert.equal(sts.requests() - before, 1);
    assert.equal((await runCredproc(["--role-arn", ROLE], env("wrong-secret-2"))).code, 0);
    assert.equal(sts.requests() - before, 2);
  });
  await t.step("secret access key in the credentials file (same key id)", async () => {
    const env = home.env({ AWS_ENDPOINT_URL_STS: sts.url });
    const creds = (secret: string) =>
      home.writeCredentials(
        `[src]\naws_access_key_id = AKIASECRETKEYTEST002\naws_secret_access_key = ${secret}\n`,
      );
    const args = ["--profile", "src", "--role-arn", ROLE];
    const before = sts.requests();
    await creds("file-secret-one");
    for (let i = 0; i < 3; i++) assert.equal((await runCredproc(args, env)).code, 0);
    assert.equal(sts.requests() - before, 1);
    await creds("file-secret-two");
    assert.equal((await runCredproc(args, env)).code, 0);
    assert.equal(sts.requests() - before, 2);
  });
  await t.step("the cache holds no secret input in clear; the digest key is 0600", async () => {
    for await (const e of Deno.readDir(home.cacheDir)) {
      const text = await Deno.readTextFile(`${home.cacheDir}/${e.name}`);
      for (
        const secret of [...tokens, "right-secret-1", "wrong-secret-2", "file-secret-one", "file-secret-two"]
      ) {
        assert.ok(!text.includes(secret), `${e.name} holds a secret input`);
      }
      assert.equal((await Deno.stat(`${home.cacheDir}/${e.name}`)).mode! & 0o777, 0o600, e.name);
    }
    assert.match(await Deno.readTextFile(`${home.cacheDir}/digest.key`), /^[0-9a-f]{64}\n$/);
  });
});

Deno.test("small ones: token code and policy contents never echoed, invalid UTF-8, long chains", async (t) => {
  await using fixture = await startFakeStsHome("AKIASMALLONES0000001");
  const { sts, home, env } = fixture;
  await t.step("a --token-code echoed by STS is redacted", async () => {
    sts.answer = { kind: "deny", message: "MFA code 987654 was rejected" };
    const r = await runCredproc([
      "--role-arn",
      ROLE,
      "--serial-number",
      "arn:aws:iam::123456789012:mfa/me",
      "--token-code",
      "987654",
    ], env);
    assertOneErrorLine(r, 1, /AccessDenied: MFA code \[redacted\] was rejected/);
    assert.doesNotMatch(r.stderr, /987654/);
    sts.answer = { kind: "credentials" };
  });
  for (
    const content of [
      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "[profile x]\naws_secret_access_key = abcdef",
      '{"a": wJalr}',
    ]
  ) {
    await t.step(
      `a non-JSON policy file is not echoed (${JSON.stringify(content.slice(0, 12))}…)`,
      async () => {
        await Deno.writeTextFile(`${home.dir}/policy`, content);
        const r = await runCredproc(["--role-arn", ROLE, "--policy-file", `${home.dir}/policy`], env);
        assertOneErrorLine(r, 2, /--policy-file .*: not valid JSON/);
        assert.doesNotMatch(r.stderr, /wJalr|abcdef|aws_secret/);
      },
    );
  }
  await t.step("invalid UTF-8 in AWS_REGION is bad input, not ignored", async () => {
    const [cmd, ...pre] = credprocCommand();
    const r = await runProcess("/bin/bash", [
      "-c",
      'AWS_REGION="$(printf "us-east-1\\xff")" exec "$@"',
      "bash",
      cmd,
      ...pre,
      "--role-arn",
      ROLE,
    ], env);
    assertOneErrorLine(r, 2, /^credproc: AWS_REGION: its value is not valid UTF-8$/);
  });
  for (const n of [33, 5000]) {
    await t.step(`a source_profile chain of ${n} profiles`, async () => {
      const lines = ["[profile p0]", "aws_access_key_id = AKIACHAIN00000000001", "aws_secret_access_key = s"];
      for (let i = 1; i <= n; i++) {
        lines.push(`[profile p${i}]`, `role_arn = ${ROLE}`, `source_profile = p${i - 1}`);
      }
      await home.writeConfig(lines.join("\n") + "\n");
      const r = await runCredproc(["--profile", `p${n}`], env);
      assertOneErrorLine(
        r,
        2,
        /^credproc: profile p\d+: its source_profile chain is longer than 32 profiles/,
      );
    });
  }
  await t.step("a chain of 32 profiles still works", async () => {
    const lines = ["[profile p0]", "aws_access_key_id = AKIACHAIN00000000001", "aws_secret_access_key = s"];
    for (let i = 1; i < 32; i++) {
      lines.push(`[profile p${i}]`, `role_arn = ${ROLE}`, `source_profile = p${i - 1}`);
    }
    await home.writeConfig(lines.join("\n") + "\n");
    const r = await runCredproc(["--profile", "p31", "--no-cache"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).AccessKeyId, GOOD.accessKeyId);
  });
});

Deno.test("--endpoint-url of the wrong shape gets the same hint as the variables that name an endpoint", async () => {
  await using home = await tempHome();
  const r = await runCredproc(
    [
      "--role-arn",
      ROLE,
      "--endpoint-url",
      "https://ec2-203-0-113-5.compute-1.amazonaws.com/",
      "--region",
      "us-east-1",
    ],
    home.env(),
  );
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    "credproc: --endpoint-url: host ec2-203-0-113-5.compute-1.amazonaws.com is not an STS, SSO or SSO-OIDC endpoint of an AWS partition\n" +
      "hint: credproc only calls STS endpoints of AWS partitions, instance metadata and loopback\n",
  );
});

Deno.test("paths longer than the system allows: exit 2, one line naming the setting, nothing called", async (t) => {
  await using fixture = await startFakeStsHome("AKIALONGPATHS0000001");
  const { sts, env } = fixture;
  // Found by `deno task fuzz`: `cache clear` printed "internal error: File name too long", `cache list` said
  // such a directory "does not exist yet (created on first use)".
  const long = "x".repeat(5000);
  const cases: [string, string[], Record<string, string>, string][] = [
    ["cache list --cache-dir", ["cache", "list", "--cache-dir", long], env, `--cache-dir ${long}`],
    ["cache clear --cache-dir", ["cache", "clear", "--cache-dir", long], env, `--cache-dir ${long}`],
    ["a call with --cache-dir", ["--role-arn", ROLE, "--cache-dir", long], env, `--cache-dir ${long}`],
    [
      "CREDPROC_CACHE_DIR",
      ["cache", "list"],
      { ...env, CREDPROC_CACHE_DIR: long },
      `CREDPROC_CACHE_DIR ${long}`,
    ],
    ["--policy-file", ["--role-arn", ROLE, "--policy-file", long], env, `--policy-file ${long}`],
    [
      "--web-identity-token-file",
      ["--role-arn", ROLE, "--web-identity-token-file", long],
      env,
      `web identity token file ${long}`,
    ],
  ];
  for (const [name, args, vars, what] of cases) {
    await t.step(name, async () => {
      const r = await runCredproc(args, vars);
      assert.equal(r.code, 2, r.stderr.slice(-300));
      assert.equal(r.stdout, "");
      assert.deepEqual(r.lines, [`credproc: ${what}: the path is too long`]);
    });
  }
  assert.equal(sts.requests(), 0);
});
