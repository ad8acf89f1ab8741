/**
 * What a new user meets first: credproc installed from source (`deno task install`) and run by the AWS CLI v2
 * through `credential_process` from an unrelated directory, a leading `--` from `deno task credproc -- …`, and
 * a run without HOME (systemd services, cron, `env -i`), with and without the shared files named by the
 * environment, and a run from source whose Deno cache was emptied. Real peers: moto_server for STS, the AWS
 * CLI v2 as the consumer; the STS stand-in where requests are counted.
 */
import assert from "node:assert/strict";
import {
  AWS_V2,
  DENO_DIR,
  MOTO_KEYS,
  PROCESS_DOC,
  ROLE,
  ROOT,
  runCredproc,
  runProcess,
  sourceCommand,
  startMoto,
  tempHome,
} from "../support/helpers.ts";
import { startStandin } from "../support/sts_standin/mod.ts";

/** An environment with no HOME at all: only what a service manager would pass, plus the test's own. */
function homeless(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: "/usr/bin:/bin",
    AWS_EC2_METADATA_DISABLED: "true",
    DENO_DIR,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    ...extra,
  };
}

Deno.test("install from source: the launcher runs under the AWS CLI v2's credential_process from another directory", async () => {
  await using moto = await startMoto();
  await using home = await tempHome();
  const prefix = `${home.dir}/prefix`;
  const install = await runProcess(Deno.execPath(), ["task", "-q", "install", "--prefix", prefix], {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home.dir,
    DENO_DIR,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
  }, { cwd: ROOT });
  assert.equal(install.code, 0, install.stderr);
  const launcher = `${prefix}/bin/credproc`;
  assert.equal(install.stdout.split("\n")[0], `installed ${launcher}`);
  assert.equal((await Deno.stat(launcher)).mode! & 0o777, 0o755);

  // The launcher needs nothing from the caller's environment: not PATH, not HOME, not DENO_DIR.
  const version = await runProcess(launcher, ["--version"], {}, { cwd: "/" });
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^credproc \d+\.\d+\.\d+ \(deno /);
  assert.equal(version.stderr, "");

  await home.writeConfig(
    [
      "[profile via-source]",
      "region = us-east-1",
      `credential_process = ${launcher} --role-arn ${ROLE} --role-session-name from-source --endpoint-url ${moto.url}`,
      "",
    ].join("\n"),
  );
  const elsewhere = await Deno.makeTempDir({ prefix: "credproc-elsewhere-" });
  try {
    const r = await runProcess(
      AWS_V2,
      [
        "sts",
        "get-caller-identity",
        "--profile",
        "via-source",
        "--endpoint-url",
        moto.url,
        "--output",
        "json",
      ],
      home.env({ ...MOTO_KEYS, AWS_PAGER: "", DENO_DIR: "/nonexistent" }),
      { cwd: elsewhere },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).Arn, "arn:aws:sts::123456789012:assumed-role/deploy/from-source");
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});

Deno.test("deno task demo: the README's first command prints a document and the AWS CLI signs with it", async () => {
  const r = await runProcess(Deno.execPath(), ["task", "-q", "demo"], {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/nonexistent",
    DENO_DIR,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
  }, { cwd: ROOT });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const lines = r.stdout.split("\n");
  assert.match(lines[0], /^STS stand-in listening on http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.match(r.stdout, /\n\{\n {2}"AccessKeyId": "ASIA[A-Z0-9]{16}",\n/);
  assert.match(r.stdout, /"Arn": "arn:aws:sts::123456789012:assumed-role\/demo\/demo"/);
  assert.equal(lines.at(-2), "The stand-in saw 2 request(s), every signature verified: true");
});

Deno.test("deno task credproc -- --version: the leading -- is not an argument", async () => {
  const r = await runProcess(Deno.execPath(), ["task", "-q", "credproc", "--", "--version"], {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: "/nonexistent",
    DENO_DIR,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
  }, { cwd: ROOT });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^credproc \d+\.\d+\.\d+ \(deno /);
});

Deno.test("no HOME: shared files named by the environment work, the cache is skipped quietly", async (t) => {
  await using moto = await startMoto();
  await using home = await tempHome();
  await home.writeConfig("[profile ci]\nregion = us-east-1\n");
  await home.writeCredentials(
    `[ci]\naws_access_key_id = ${MOTO_KEYS.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${MOTO_KEYS.AWS_SECRET_ACCESS_KEY}\n`,
  );
  const env = homeless({
    AWS_CONFIG_FILE: home.configFile,
    AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile,
  });
  const args = ["--profile", "ci", "--role-arn", ROLE, "--endpoint-url", moto.url];

  await t.step("exit 0, the document, nothing on stderr", async () => {
    const r = await runCredproc(args, env, { cwd: home.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, PROCESS_DOC);
    assert.equal(r.stderr, "");
  });

  await t.step("--verbose says why nothing was cached", async () => {
    const r = await runCredproc([...args, "--verbose"], env, { cwd: home.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, PROCESS_DOC);
    assert.ok(
      r.lines.includes(
        "credproc: cache: off: no cache directory (set HOME, XDG_CACHE_HOME, CREDPROC_CACHE_DIR or --cache-dir)",
      ),
      r.stderr,
    );
  });

  await t.step("CREDPROC_CACHE_DIR still turns the cache on", async () => {
    const cached = { ...env, CREDPROC_CACHE_DIR: home.cacheDir };
    const first = await runCredproc(args, cached, { cwd: home.dir });
    assert.equal(first.code, 0, first.stderr);
    const second = await runCredproc(args, cached, { cwd: home.dir });
    assert.equal(second.stdout, first.stdout);
    assert.equal(second.stderr, "");
  });
});

Deno.test("no HOME, no shared files: environment credentials are enough", async () => {
  await using moto = await startMoto();
  const cwd = await Deno.makeTempDir({ prefix: "credproc-homeless-" });
  try {
    const r = await runCredproc(
      ["--role-arn", ROLE, "--endpoint-url", moto.url, "--region", "us-east-1"],
      homeless({ ...MOTO_KEYS }),
      { cwd },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, PROCESS_DOC);
    assert.equal(r.stderr, "");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("run from source with an emptied Deno cache: one installation line, nothing downloaded", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const empty = await Deno.makeTempDir({ prefix: "credproc-empty-deno-dir-" });
  try {
    const [cmd, ...pre] = sourceCommand();
    // The fast path answers nothing (no cache yet), so the full program loads the SDK: not cached, not fetched.
    const r = await runProcess(
      cmd,
      [...pre, "--role-arn", ROLE, "--endpoint-url", standin.url],
      home.env({
        AWS_ACCESS_KEY_ID: standin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: standin.secretAccessKey,
        DENO_DIR: empty,
      }),
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.lines.length, 2, r.stderr);
    assert.match(
      r.lines[0],
      /^credproc: installation: @(?:aws-sdk|smithy)\/[a-z0-9-]+ is not in Deno's module cache, and a run never downloads code$/,
    );
    assert.equal(
      r.lines[1],
      "hint: run deno task setup in the credproc source directory (with the same DENO_DIR), or use a release binary",
    );
    assert.equal(standin.count(), 0);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
