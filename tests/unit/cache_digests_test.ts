/**
 * lib/cache/digests.ts: canonical JSON and the fast path's inputs key (which inputs count, when the working
 * directory does, and its pinned bytes). Keyed digests of files are tests/unit/fast_path_test.ts's; the entry
 * keys are tests/unit/cache_key_test.ts's.
 */
import assert from "node:assert/strict";
import {
  canonicalJson,
  importDigestKey,
  inputSecretValues,
  inputsKey as inputsKeyOf,
} from "../../lib/cache/digests.ts";
import { lastValue, type OptionName, OPTIONS, scanArgv, takesPath } from "../../lib/argv.ts";
import { type Os, PATH_ENV_NAMES } from "../../lib/model.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";

/** The inputs key of argv as given (read by lib/argv.ts, as the fast path and the full program read it), on Linux. */
function inputsKey(
  argv: string[],
  env: Parameters<typeof inputsKeyOf>[1],
  cwd: string,
  keyed?: Parameters<typeof inputsKeyOf>[3],
) {
  return inputsKeyOf(scanArgv(argv), env, { cwd, os: "linux" }, keyed);
}

Deno.test("canonical JSON sorts keys and drops undefined", () => {
  assert.equal(
    canonicalJson({ b: 1, a: [true, null, "x"], c: undefined, d: { z: 1, y: 2 } }),
    '{"a":[true,null,"x"],"b":1,"d":{"y":2,"z":1}}',
  );
});

Deno.test("inputs key: argv and env count (the cwd only with a relative path); the MFA code and unrelated variables do not", async () => {
  const argv = ["--role-arn", ROLE];
  const k = await inputsKey(argv, { HOME: "/h" }, "/cwd");
  assert.match(k, /^[0-9a-f]{64}$/);
  assert.equal(
    await inputsKey(argv, { HOME: "/h", PATH: "/bin", CREDPROC_MFA_TOKEN_CODE: "123456" }, "/cwd"),
    k,
  );
  assert.notEqual(await inputsKey(argv, { HOME: "/h2" }, "/cwd"), k);
  assert.notEqual(await inputsKey(argv, { HOME: "/h", AWS_PROFILE: "p" }, "/cwd"), k);
  // Every path absolute: the working directory changes nothing (credential_process runs from anywhere).
  assert.equal(await inputsKey(argv, { HOME: "/h" }, "/other"), k);
  assert.notEqual(await inputsKey([...argv, "--format", "env"], { HOME: "/h" }, "/cwd"), k);
  const mfa = [...argv, "--serial-number", "arn:aws:iam::123456789012:mfa/me"];
  assert.equal(
    await inputsKey([...mfa, "--token-code", "111111"], {}, "/"),
    await inputsKey([...mfa, "--token-code", "222222"], {}, "/"),
  );
  assert.equal(
    await inputsKey([...mfa, "--token-code=111111"], {}, "/"),
    await inputsKey([...mfa, "--token-code=222222"], {}, "/"),
  );
  assert.deepEqual(scanArgv(["--token-code", "1", "--x", "--token-code=2"]).redacted, [
    "--token-code",
    "",
    "--x",
    "--token-code=",
  ]);
  const cacheDir = (argv: string[]) => lastValue(scanArgv(argv), "cache-dir");
  assert.equal(cacheDir(["--cache-dir", "/a", "--role-arn", ROLE]), "/a");
  assert.equal(cacheDir(["--cache-dir=/b"]), "/b");
  assert.equal(cacheDir(["--role-arn", ROLE]), undefined);
});

Deno.test("inputs key: a relative path in an option or variable that takes one keys by the working directory", async () => {
  // The options that take a path, by the table (a new one is a deliberate decision here).
  assert.deepEqual(
    (Object.keys(OPTIONS) as OptionName[]).filter(takesPath),
    ["policy-file", "web-identity-token-file", "cache-dir", "log-file", "token-file"],
  );
  const base = ["--role-arn", ROLE];
  const env = { HOME: "/h" };
  const moves = async (argv: string[], e: Record<string, string>, os: Os = "linux") =>
    await inputsKeyOf(scanArgv(argv), e, { cwd: "/a", os }) !==
      await inputsKeyOf(scanArgv(argv), e, { cwd: "/b", os });
  for (const name of (Object.keys(OPTIONS) as OptionName[]).filter(takesPath)) {
    assert.ok(await moves([...base, `--${name}`, "rel/x"], env), `--${name} rel/x`);
    assert.ok(await moves([...base, `--${name}=./x`], env), `--${name}=./x`);
    assert.ok(await moves([...base, `--${name}`, "~/x"], env), `--${name} ~/x: the shell did not expand it`);
    assert.ok(!await moves([...base, `--${name}`, "/abs/x"], env), `--${name} /abs/x`);
  }
  // A relative value of an option that takes no path (a session name) leaves the working directory out.
  assert.ok(!await moves([...base, "--role-session-name", "rel"], env));
  for (const name of PATH_ENV_NAMES) {
    assert.ok(await moves(base, { ...env, [name]: "rel" }), `${name}=rel`);
    assert.ok(!await moves(base, { ...env, [name]: "/abs" }), `${name}=/abs`);
    assert.ok(!await moves(base, { ...env, [name]: "" }), `${name} empty`);
  }
  assert.ok(
    !await moves(base, { ...env, AWS_PROFILE: "rel", AWS_REGION: "x" }),
    "variables that are not paths",
  );
  // Windows: drive-absolute and UNC paths are absolute; a drive-relative or rooted path is not.
  for (const p of ["C:\\x", "c:/x", "\\\\srv\\share\\x", "//srv/share/x"]) {
    assert.ok(!await moves(base, { AWS_CONFIG_FILE: p }, "windows"), p);
  }
  for (const p of ["C:x", "\\x", "/x", "x"]) {
    assert.ok(await moves(base, { AWS_CONFIG_FILE: p }, "windows"), p);
  }
  // HOMEPATH is judged with HOMEDRIVE in front, as the SDK joins them.
  assert.ok(!await moves(base, { HOMEDRIVE: "C:", HOMEPATH: "\\Users\\u" }, "windows"));
  assert.ok(await moves(base, { HOMEPATH: "\\Users\\u" }, "windows"));
  assert.ok(!await moves(base, { HOMEDRIVE: "C:" }, "windows"), "HOMEDRIVE alone names no directory");
});

/**
 * The inputs key's bytes for fixed argv and environment (and working directory, which counts only with a relative
 * path): a memo written by one version is found by the next only while these stay the same. A change here must
 * be deliberate (bump `INPUTS_KEY_VERSION`, so old memos simply miss: they are named by the key) — never a side
 * effect of how argv is read. Version 2 left the working directory out when every path is absolute: every
 * memo of version 1 is simply not found (another name), and is rewritten by the next call.
 */
Deno.test("inputs key: pinned bytes for fixed argv and environment (the working directory with a relative path)", async () => {
  const digestKey = (await importDigestKey(`${"0123456789abcdef".repeat(4)}\n`))!;
  const env: Record<string, string> = {
    HOME: "/home/u",
    AWS_PROFILE: "dev",
    AWS_REGION: "eu-west-1",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_OIDC: "eyJ.token",
  };
  const serial = "arn:aws:iam::123456789012:mfa/me";
  const keyOf = async (argv: string[], keyed = true) =>
    await inputsKey(
      argv,
      env,
      "/work",
      keyed ? { key: digestKey, secretValues: inputSecretValues(scanArgv(argv), (n) => env[n]) } : undefined,
    );
  const pinned: [string[], string][] = [
    [["--role-arn", ROLE], "3af6fa37c61002dfb8bfa1b5f8f7f0c4ddce48648aaf4916061f63cdf272088b"],
    [
      ["--role-arn", ROLE, "--serial-number", serial, "--token-code", "123456", "--format", "env"],
      "1583d6893247c8d56355b6d304d17f0002b274d091219382fb820805dfb0c663",
    ],
    [
      ["--profile", "dev", "--token-code=654321", "--cache-dir=/c", "-v"],
      "132d515a028535371782903672f99f7823aae192aea3edc422f1a643e9b14dd3",
    ],
    [
      ["--web-identity-token-env", "AWS_OIDC", "--role-arn", ROLE, "--include-account-id", "--"],
      "ea44c2a5c159bfe36593b38e8080e5d9a70466e02edb0be2785fef6f2a28bcfc",
    ],
    [
      ["eks-token", "--cluster-name", "prod", "--profile", "dev", "--region", "us-east-1"],
      "752df67131a6401f0b49b75d1cbea291a2b5b3b7c4a0385536fd861b760a0d3f",
    ],
    [
      ["--role-arn", ROLE, "--tag", "k=--token-code", "--role-session-name=s1", "--refresh-margin", "0"],
      "6b0dd5747a4586a9a148f2fa2b219f51c88e3da28392923eeabe308b83d2b0a0",
    ],
    // A relative path: the working directory is in the material.
    [
      ["--role-arn", ROLE, "--policy-file", "policy.json"],
      "3a700bafa7a19a8bcb518d0b5d8cc25a3b3b0be2a961b784f70994176195cf34",
    ],
  ];
  for (const [argv, key] of pinned) assert.equal(await keyOf(argv), key, JSON.stringify(argv));
  assert.equal(
    await keyOf(["--role-arn", ROLE], false),
    "fd2c3db58187aab4d4f250ed7f4036d2b239bea59ff171ea15268f5c318c1a33",
  );
  // main.ts hands over Deno.args as they are: a leading `--` (deno task passes one on) is not part of the key.
  assert.equal(await keyOf(["--", "--role-arn", ROLE]), pinned[0][1]);
  // The bytes themselves, HMAC'd here on their own: the material is canonical JSON, the working directory
  // absent when every path is absolute and present with a relative one.
  const hmac = async (text: string) =>
    Array.from(
      new Uint8Array(await crypto.subtle.sign("HMAC", digestKey, new TextEncoder().encode(text))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
  const envText = '"env":{"AWS_PROFILE":"dev","AWS_REGION":"eu-west-1","HOME":"/home/u"}';
  assert.equal(
    await hmac(
      `{"argv":["--role-arn","${ROLE}"],${envText},"inputs":2,"secrets":["secret",null,null],"v":2}`,
    ),
    pinned[0][1],
  );
  assert.equal(
    await hmac(
      `{"argv":["--role-arn","${ROLE}","--policy-file","policy.json"],"cwd":"/work",${envText},"inputs":2,"secrets":["secret",null,null],"v":2}`,
    ),
    pinned[6][1],
  );
});
