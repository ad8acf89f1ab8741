/**
 * Argv as real machines hand it over: bytes that are not UTF-8 (Deno.args would turn them into U+FFFD, so two
 * different paths would name one directory) are bad input, and a 128 KiB unknown option is one short line.
 * The invalid bytes reach credproc's real argv through python3's `os.execve` with bytes arguments.
 */
import assert from "node:assert/strict";
import { credprocCommand, type Result, ROLE, runCredproc, runProcess } from "../support/helpers.ts";
import { startFakeStsHome } from "../support/fake_sts.ts";
import { assertOneErrorLine } from "../support/hardening_helpers.ts";
import { importDigestKey, inputSecretValues, inputsKey } from "../../lib/cache/digests.ts";
import { scanArgv } from "../../lib/argv.ts";

const encoder = new TextEncoder();
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** An argument as raw bytes: a string is UTF-8, a byte array is passed as it is. */
type Arg = string | Uint8Array;

/** Runs credproc with argv given as raw bytes (through python3's os.execve), exactly `env`, stdin closed. */
async function runBytes(args: Arg[], env: Record<string, string>, cwd?: string): Promise<Result> {
  const argv = [...credprocCommand(), ...args].map((a) => hex(typeof a === "string" ? encoder.encode(a) : a));
  const exec = "import os, sys, json\n" +
    "a = [bytes.fromhex(x) for x in json.loads(sys.argv[1])]\n" +
    "os.execve(a[0], a, os.environ)";
  return await runProcess("python3", ["-c", exec, JSON.stringify(argv)], env, { cwd });
}

/** `prefix` then the byte 0xff (never valid in UTF-8) then `suffix`. */
function badBytes(prefix: string, suffix = ""): Uint8Array {
  return new Uint8Array([...encoder.encode(prefix), 0xff, ...encoder.encode(suffix)]);
}

const HINT =
  "hint: pass paths and values as UTF-8 (a file name in another encoding cannot be named on the command line)";

Deno.test("argv bytes: a --cache-dir that is not UTF-8 is bad input, and nothing is written anywhere", async () => {
  await using f = await startFakeStsHome("AKIAARGVBYTES0000001");
  const parent = `${f.home.dir}/dirs`;
  await Deno.mkdir(parent);
  for (
    const args of [
      ["--role-arn", ROLE, "--cache-dir", badBytes(`${parent}/a`)],
      ["--role-arn", ROLE, badBytes(`--cache-dir=${parent}/a`)],
    ]
  ) {
    const r = await runBytes(args, f.env);
    assertOneErrorLine(r, 2);
    const which = args.length === 4 ? "argument 4" : "argument 3";
    assert.deepEqual(r.lines, [
      `credproc: bad arguments: ${which} (the value of --cache-dir) is not valid UTF-8`,
      HINT,
    ]);
    assert.equal(r.stdout, "");
  }
  assert.deepEqual([...Deno.readDirSync(parent)], [], "no directory made under a rewritten name");
  assert.equal(f.sts.requests(), 0);
  // The failure record goes nowhere: not to the lossy path, and not to the environment's directory instead.
  assert.equal(await Deno.stat(f.home.cacheDir).then(() => "exists", () => "absent"), "absent");
});

Deno.test("argv bytes: any argument — a policy file, a session name, a word — is refused by position", async () => {
  await using f = await startFakeStsHome("AKIAARGVBYTES0000002");
  const cases: [Arg[], string][] = [
    [
      ["--role-arn", ROLE, "--policy-file", badBytes(`${f.home.dir}/p`, ".json")],
      "argument 4 (the value of --policy-file)",
    ],
    [
      ["--role-arn", ROLE, "--role-session-name", badBytes("s")],
      "argument 4 (the value of --role-session-name)",
    ],
    [["--role-arn", ROLE, badBytes("--verbose")], "argument 3"],
    [["cache", badBytes("list")], "argument 2"],
    [[badBytes("--help")], "argument 1"],
  ];
  for (const [args, which] of cases) {
    const r = await runBytes(args, f.env);
    assert.deepEqual(r.lines, [`credproc: bad arguments: ${which} is not valid UTF-8`, HINT], r.stderr);
    assert.equal(r.code, 2);
  }
  assert.equal(f.sts.requests(), 0);
});

Deno.test("argv bytes: a --log-file that is not UTF-8 is bad input and no log is written", async () => {
  await using f = await startFakeStsHome("AKIAARGVBYTES0000005");
  const logs = `${f.home.dir}/logs`;
  await Deno.mkdir(logs);
  const r = await runBytes(["--role-arn", ROLE, "--log-file", badBytes(`${logs}/l`)], {
    ...f.env,
    CREDPROC_LOG_FILE: `${logs}/from-env`,
  });
  assert.deepEqual(r.lines, [
    "credproc: bad arguments: argument 4 (the value of --log-file) is not valid UTF-8",
    HINT,
  ]);
  assert.equal(r.code, 2);
  assert.deepEqual([...Deno.readDirSync(logs)], [], "neither the rewritten name nor the environment's file");
});

Deno.test("argv bytes: the fast path never serves lossy argv, even from a memo planted for it", async () => {
  await using f = await startFakeStsHome("AKIAARGVBYTES0000003");
  const good = ["--role-arn", ROLE, "--role-session-name", "s1"];
  const first = await runCredproc(good, f.env, { cwd: f.home.dir });
  assert.equal(first.code, 0, first.stderr);
  const memos = [...Deno.readDirSync(f.home.cacheDir)].filter((e) => e.name.endsWith(".inputs.json"));
  assert.equal(memos.length, 1, "the successful run left its memo");
  // The same call with a session name whose bytes are not UTF-8: refused, and it leaves no memo.
  const lossyArgs = ["--role-arn", ROLE, "--role-session-name", badBytes("s")];
  const refused = await runBytes(lossyArgs, f.env, f.home.dir);
  assert.equal(refused.code, 2, refused.stderr);
  assert.equal(
    [...Deno.readDirSync(f.home.cacheDir)].filter((e) => e.name.endsWith(".inputs.json")).length,
    1,
    "a refused call writes no memo",
  );
  // An older version could have left one for exactly what Deno.args makes of those bytes: plant it.
  const key = await importDigestKey(await Deno.readTextFile(`${f.home.cacheDir}/digest.key`));
  const lossyArgv = ["--role-arn", ROLE, "--role-session-name", "s\uFFFD"];
  const inputs = await inputsKey(scanArgv(lossyArgv), f.env, { cwd: f.home.dir, os: Deno.build.os }, {
    key: key!,
    secretValues: inputSecretValues(scanArgv(lossyArgv), (n) => f.env[n]),
  });
  const memo = JSON.parse(await Deno.readTextFile(`${f.home.cacheDir}/${memos[0].name}`));
  await Deno.writeTextFile(
    `${f.home.cacheDir}/${inputs}.inputs.json`,
    JSON.stringify({ ...memo, inputs }),
    { mode: 0o600 },
  );
  const again = await runBytes(lossyArgs, f.env, f.home.dir);
  assert.deepEqual(again.lines, [
    "credproc: bad arguments: argument 4 (the value of --role-session-name) is not valid UTF-8",
    HINT,
  ]);
  assert.equal(again.stdout, "");
  assert.equal(again.code, 2);
  // The planted memo is one the fast path would take: the valid twin of it is served from it.
  const hit = await runCredproc(good, f.env, { cwd: f.home.dir });
  assert.equal(hit.code, 0, hit.stderr);
  assert.equal(f.sts.requests(), 1);
});

Deno.test("argv: a 128 KiB unknown option is one short line and exit 2", async () => {
  await using f = await startFakeStsHome("AKIAARGVBYTES0000004");
  const huge = `--${"x".repeat(128 * 1024 - 3)}`;
  const r = await runCredproc(["--role-arn", ROLE, huge], f.env);
  assert.deepEqual(r.lines, [
    `credproc: bad arguments: unknown option "--${"x".repeat(78)}"…`,
    "hint: run credproc --help for usage",
  ]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
});
