/**
 * The null device as a file: `AWS_CONFIG_FILE=/dev/null` and `AWS_SHARED_CREDENTIALS_FILE=/dev/null` mean "no
 * file" (how CI images and Dockerfiles say it), as for the AWS CLI and boto3; `--policy-file /dev/null` and
 * `--web-identity-token-file /dev/null` read as empty, which is bad input for both (the AWS CLI refuses an
 * empty policy too). Other character devices, FIFOs and links to them stay refused. The real program runs
 * as a subprocess against a fake STS on loopback, and through the AWS CLI v2 and boto3.
 */
import assert from "node:assert/strict";
import {
  AWS_V2,
  CREDPROC_BIN,
  credprocLine,
  ignoreIf,
  mkfifo,
  ok,
  type Result,
  ROLE,
  runCredproc,
  runProcess,
  sourceCommand,
  tempHome,
} from "../support/helpers.ts";
import { assertOneErrorLine } from "../support/hardening_helpers.ts";
import { GOOD, startFakeSts } from "../support/fake_sts.ts";

const KEYS = { AWS_ACCESS_KEY_ID: "AKIANULLDEVICE000001", AWS_SECRET_ACCESS_KEY: "nullDeviceSourceSecret" };

/** A successful call that printed the fake STS's credentials. */
function okGood(r: Result): void {
  assert.equal(ok(r).AccessKeyId, GOOD.accessKeyId);
}

Deno.test("AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE = /dev/null: no file; the second call is a hit", async (t) => {
  await using sts = startFakeSts();
  const args = ["--role-arn", ROLE, "--endpoint-url", sts.url, "--region", "us-east-1"];
  const cases: [string, Record<string, string>][] = [
    ["AWS_CONFIG_FILE", { AWS_CONFIG_FILE: "/dev/null" }],
    ["AWS_SHARED_CREDENTIALS_FILE", { AWS_SHARED_CREDENTIALS_FILE: "/dev/null" }],
    ["both", { AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" }],
  ];
  for (const [name, files] of cases) {
    await t.step(name, async () => {
      await using home = await tempHome();
      const before = sts.requests();
      const env = home.env({ ...KEYS, ...files });
      okGood(await runCredproc(args, env));
      okGood(await runCredproc(args, env));
      assert.equal(sts.requests(), before + 1, "the second call is served from the cache");
      // The AssumeRole was signed with the environment's keys (no file took their place).
      assert.equal(sts.forms.at(-1)?.get("RoleArn"), ROLE);
    });
  }

  await t.step("a link to /dev/null is the null device too", async () => {
    await using home = await tempHome();
    await Deno.remove(home.configFile).catch(() => {});
    await Deno.symlink("/dev/null", home.configFile);
    okGood(await runCredproc(args, home.env(KEYS)));
  });
});

Deno.test({
  ...ignoreIf(
    "/dev/null watched by the fast path: a repeated call is answered before the full program loads",
    CREDPROC_BIN !== undefined && "runs main.ts from source; CREDPROC_BIN names a binary",
  ),
}, async () => {
  await using sts = startFakeSts();
  await using home = await tempHome();
  const audit = `${home.dir}/audit.jsonl`;
  const fast = sourceCommand();
  const args = ["--role-arn", ROLE, "--endpoint-url", sts.url, "--region", "us-east-1"];
  const env = home.env({
    ...KEYS,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    DENO_AUDIT_PERMISSIONS: audit,
  });
  /** Whether the full program ran: it snapshots CREDPROC_MFA_TOKEN_CODE, the fast path never reads it. */
  const run = async () => {
    await Deno.remove(audit).catch(() => {});
    const r = await runProcess(fast[0], [...fast.slice(1), ...args], env);
    const log = await Deno.readTextFile(audit).catch(() => "");
    return { r, full: log.includes('"CREDPROC_MFA_TOKEN_CODE"') };
  };
  const first = await run();
  okGood(first.r);
  assert.ok(first.full);
  const memos: string[] = [];
  for await (const e of Deno.readDir(home.cacheDir)) if (e.name.endsWith(".inputs.json")) memos.push(e.name);
  assert.equal(memos.length, 1, "the full path remembered these inputs");
  const memo = JSON.parse(await Deno.readTextFile(`${home.cacheDir}/${memos[0]}`));
  // Both files are the same device: one watched entry, hashed as the empty file it reads as.
  assert.deepEqual(memo.files.map((f: { path: string }) => f.path), ["/dev/null"]);
  assert.match(memo.files[0].sha256, /^[0-9a-f]{64}$/);
  const second = await run();
  okGood(second.r);
  assert.equal(second.r.stdout, first.r.stdout);
  assert.ok(!second.full, "the second call is answered by the fast path");
  assert.equal(sts.requests(), 1);
});

Deno.test("--policy-file and --web-identity-token-file /dev/null read as empty: bad input, nothing sent", async (t) => {
  await using sts = startFakeSts();
  await using home = await tempHome();
  const base = ["--role-arn", ROLE, "--endpoint-url", sts.url, "--region", "us-east-1", "--no-cache"];
  await t.step("--policy-file /dev/null", async () => {
    const r = await runCredproc([...base, "--policy-file", "/dev/null"], home.env(KEYS));
    assertOneErrorLine(r, 2, /^credproc: --policy-file \/dev\/null: the file is empty; leave the flag out/);
  });
  await t.step("--web-identity-token-file /dev/null", async () => {
    const r = await runCredproc([...base, "--web-identity-token-file", "/dev/null"], home.env());
    assertOneErrorLine(r, 2, /^credproc: web identity token file \/dev\/null: the token is empty$/);
  });
  assert.equal(sts.requests(), 0);
});

Deno.test("other devices, FIFOs and links to them stay refused: exit 2, one line, at once", async (t) => {
  await using sts = startFakeSts();
  await using home = await tempHome();
  const fifo = `${home.dir}/fifo`;
  await mkfifo(fifo);
  const zeroLink = `${home.dir}/zero-link`;
  await Deno.symlink("/dev/zero", zeroLink);
  const args = ["--role-arn", ROLE, "--endpoint-url", sts.url, "--region", "us-east-1"];
  // /dev/tty is missing in some minimal containers; /dev/zero and /dev/urandom never are.
  const tty = (() => {
    try {
      return Deno.statSync("/dev/tty").isCharDevice ? ["/dev/tty"] : [];
    } catch {
      return [];
    }
  })();
  for (const path of ["/dev/zero", ...tty, "/dev/urandom", fifo, zeroLink]) {
    for (
      const [variable, what] of [["AWS_CONFIG_FILE", "config"], [
        "AWS_SHARED_CREDENTIALS_FILE",
        "credentials",
      ]]
    ) {
      await t.step(`${variable}=${path}`, async () => {
        const r = await runCredproc(args, home.env({ ...KEYS, [variable]: path }));
        assertOneErrorLine(r, 2, new RegExp(`^credproc: ${what} file ${path}: not a regular file`));
        assert.ok(r.ms < 15_000, `${Math.round(r.ms)} ms`);
      });
    }
    await t.step(`--policy-file ${path}`, async () => {
      const r = await runCredproc([...args, "--no-cache", "--policy-file", path], home.env(KEYS));
      assertOneErrorLine(r, 2, new RegExp(`^credproc: --policy-file ${path}: not a regular file`));
    });
  }
  assert.equal(sts.requests(), 0);
});

/**
 * The consumers: a profile whose credential_process runs credproc, with AWS_SHARED_CREDENTIALS_FILE=/dev/null
 * in the consumer's environment (credproc inherits it, and the environment's keys as its source).
 */
Deno.test("the AWS CLI v2 and boto3 run credproc with AWS_SHARED_CREDENTIALS_FILE=/dev/null", async (t) => {
  await using sts = startFakeSts();
  await using home = await tempHome();
  const credproc = [
    "--role-arn",
    ROLE,
    "--endpoint-url",
    sts.url,
    "--region",
    "us-east-1",
  ];
  await home.writeConfig(`[profile via]\ncredential_process = ${credprocLine(credproc)}\n`);
  const env = home.env({ ...KEYS, AWS_SHARED_CREDENTIALS_FILE: "/dev/null", AWS_PAGER: "" });

  await t.step("AWS CLI v2", async () => {
    const r = await runProcess(
      AWS_V2,
      ["--profile", "via", "configure", "export-credentials", "--format", "env-no-export"],
      env,
    );
    assert.equal(r.stderr, "", `exit ${r.code}`);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^AWS_ACCESS_KEY_ID=${GOOD.accessKeyId}$`, "m"));
  });
  await t.step("boto3", async () => {
    const script = [
      "import boto3",
      'c = boto3.Session(profile_name="via").get_credentials().get_frozen_credentials()',
      "print(c.access_key)",
    ].join("\n");
    const r = await runProcess("python3", ["-c", script], env);
    assert.equal(r.stderr, "", `exit ${r.code}`);
    assert.equal(r.stdout, `${GOOD.accessKeyId}\n`);
  });
  assert.ok(sts.requests() >= 1);
});

/** What credproc now matches: each consumer itself takes /dev/null as "no file" and uses the environment's keys. */
Deno.test("the AWS CLI v2 and boto3 themselves accept AWS_CONFIG_FILE=/dev/null with keys in the environment", async (t) => {
  await using home = await tempHome();
  for (
    const [name, files] of [
      ["AWS_CONFIG_FILE", { AWS_CONFIG_FILE: "/dev/null" }],
      ["both", { AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" }],
    ] as const
  ) {
    const env = home.env({ ...KEYS, ...files, AWS_PAGER: "" });
    await t.step(`AWS CLI v2, ${name}`, async () => {
      const r = await runProcess(
        AWS_V2,
        ["configure", "export-credentials", "--format", "env-no-export"],
        env,
      );
      assert.equal(r.stderr, "", `exit ${r.code}`);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`^AWS_ACCESS_KEY_ID=${KEYS.AWS_ACCESS_KEY_ID}$`, "m"));
    });
    await t.step(`boto3, ${name}`, async () => {
      const script =
        "import boto3\nprint(boto3.Session().get_credentials().get_frozen_credentials().access_key)";
      const r = await runProcess("python3", ["-c", script], env);
      assert.equal(r.stderr, "", `exit ${r.code}`);
      assert.equal(r.stdout, `${KEYS.AWS_ACCESS_KEY_ID}\n`);
    });
  }
});
