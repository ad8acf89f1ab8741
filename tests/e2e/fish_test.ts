/**
 * `--format fish` end to end: the real program against the STS stand-in, its output evaluated by a real fish
 * (Debian's `fish`, installed by scripts/test.ts), then read back by the AWS CLI v2 from fish's environment.
 * - the lines are the AWS CLI's (`set -gx NAME "VALUE"`, its FishShellFormatter), and fish sets exactly the
 *   values credproc printed: the CLI, run by fish, prints the same `--format env` lines credproc does;
 * - a repeated call (the fast path, from the cache) is byte-identical to the miss;
 * - values no STS answer may hold but a trusted cache entry can (only its key id and times are shape-checked)
 *   are single-quoted for fish: `eval` and `| source` set exactly them and run nothing; a NUL is refused;
 * - any string (every code point but NUL, fast-check, the seed policy of tests/support/fuzz.ts) round-trips
 *   through `eval` in fish.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { writeEntry } from "../../lib/cache/write.ts";
import { render } from "../../lib/output.ts";
import { announceSeed, FUZZ_LONG, FUZZ_SEED } from "../support/fuzz.ts";
import { startStandin } from "../support/sts_standin/mod.ts";
import {
  AWS_V2,
  CREDPROC_BIN,
  ignoreIf,
  okText,
  type Result,
  runCredproc,
  runProcess,
  sourceCommand,
  type TempHome,
  tempHome,
} from "../support/helpers.ts";
import { standinArgs, standinEnv } from "../support/standin_call.ts";

const VARS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION"];

/**
 * Runs `script` in fish (no config files) with `text` as `$argv[1]` and an environment holding no AWS
 * credentials, so whatever the script sees came from `text`.
 */
function fish(home: TempHome, script: string, text: string): Promise<Result> {
  return runProcess("fish", ["--no-config", "-c", script, text], home.env());
}

/** The AWS CLI's fish line for an `export NAME=VALUE` line of its env format (FishShellFormatter._VAR_FORMAT). */
const cliFishLine = (envLine: string) => envLine.replace(/^export ([A-Z_]+)=(.*)$/, 'set -gx $1 "$2"');

Deno.test("fish: the AWS CLI's lines; fish sets exactly those values; a hit is byte-identical", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const miss = okText(
    await runCredproc(standinArgs(standin, ["--format", "fish"]), standinEnv(home, standin)),
  );
  assert.equal(standin.count("AssumeRole"), 1);
  const lines = miss.split("\n");
  assert.equal(lines.pop(), "", "ends with a newline");
  assert.deepEqual(lines.map((l) => l.replace(/ ".*"$/, "")), VARS.map((v) => `set -gx ${v}`), miss);
  assert.match(lines[0], /^set -gx AWS_ACCESS_KEY_ID "ASIA[A-Z0-9]{16}"$/);
  assert.match(lines[3], /^set -gx AWS_CREDENTIAL_EXPIRATION "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"$/);

  // The same credentials in env format (a hit), and the CLI reading what fish set: all three agree.
  const envText = okText(
    await runCredproc(standinArgs(standin, ["--format", "env"]), standinEnv(home, standin)),
  );
  assert.equal(standin.count("AssumeRole"), 1);
  for (const script of [`eval $argv[1]`, `printf %s $argv[1] | source`]) {
    const cli = await fish(
      home,
      `${script}; and exec ${AWS_V2} configure export-credentials --format env`,
      miss,
    );
    assert.equal(cli.stderr, "", script);
    assert.equal(cli.code, 0, script);
    assert.equal(cli.stdout, envText, script);
    assert.equal(cli.stdout.split("\n").map(cliFishLine).join("\n"), miss, "the CLI's fish lines for them");
  }

  // The hit (fast path: the memo the miss left) prints the same bytes; so does the full path (--verbose).
  assert.equal(
    okText(await runCredproc(standinArgs(standin, ["--format", "fish"]), standinEnv(home, standin))),
    miss,
  );
  const verbose = await runCredproc(
    standinArgs(standin, ["--format", "fish", "--verbose"]),
    standinEnv(home, standin),
  );
  assert.equal(verbose.code, 0);
  assert.match(verbose.stderr, /cache: hit /);
  assert.equal(verbose.stdout, miss);
  assert.equal(standin.count("AssumeRole"), 1);

  // --include-account-id: one more line, the account of the assumed role, which fish exports.
  const withAccount = okText(
    await runCredproc(
      standinArgs(standin, ["--format", "fish", "--include-account-id"]),
      standinEnv(home, standin),
    ),
  );
  assert.ok(withAccount.endsWith('\nset -gx AWS_ACCOUNT_ID "123456789012"\n'), withAccount);
  const account = await fish(home, `eval $argv[1]; and env | string match 'AWS_ACCOUNT_ID=*'`, withAccount);
  assert.equal(account.stdout, "AWS_ACCOUNT_ID=123456789012\n");
});

Deno.test({
  ...ignoreIf(
    "fish: the fast path answers a repeated fish call without the full program",
    CREDPROC_BIN !== undefined && "runs main.ts from source; CREDPROC_BIN names a binary",
  ),
}, async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const audit = `${home.dir}/audit.jsonl`;
  const [deno, ...pre] = sourceCommand();
  // The full program always reads CREDPROC_MFA_TOKEN_CODE; the fast path never does (tests/e2e/cache_test.ts).
  const run = async () => {
    await Deno.remove(audit).catch(() => {});
    const r = await runProcess(
      deno,
      [...pre, ...standinArgs(standin, ["--format", "fish"])],
      standinEnv(home, standin, { DENO_AUDIT_PERMISSIONS: audit }),
    );
    return { out: okText(r), full: (await Deno.readTextFile(audit)).includes('"CREDPROC_MFA_TOKEN_CODE"') };
  };
  const miss = await run();
  assert.ok(miss.full);
  const hit = await run();
  assert.ok(!hit.full, "answered by the fast path");
  assert.equal(hit.out, miss.out);
  assert.equal(standin.count("AssumeRole"), 1);
});

Deno.test("fish: hostile values in a trusted cache entry are quoted; fish sets exactly them, runs nothing", async (t) => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const marker = `${home.dir}/pwned`;
  const secret =
    `a'b\\'c\\\\$(touch ${marker}1)"$HOME"(touch ${marker}2)\`touch ${marker}3\`;touch ${marker}4 #\\`;
  const token = `tok\n(touch ${marker}5)\r\n{a,b}*~%self\u2028\u{1F600}'\\n\\x41 \tend\\`;
  okText(await runCredproc(standinArgs(standin, ["--format", "fish"]), standinEnv(home, standin)));
  const names = [...Deno.readDirSync(home.cacheDir)].map((e) => e.name).filter((n) =>
    /^[0-9a-f]{64}\.json$/.test(n)
  );
  assert.equal(names.length, 1);
  const file = `${home.cacheDir}/${names[0]}`;
  const doc = JSON.parse(await Deno.readTextFile(file));
  doc.credentials.SecretAccessKey = secret;
  doc.credentials.SessionToken = token;
  await writeEntry(file, doc);

  // Both paths answer from the entry: the fast path (memo) and the full program (--verbose).
  for (const extra of [[], ["--verbose"]]) {
    await t.step(extra.length ? "full path" : "fast path", async () => {
      const r = await runCredproc(
        standinArgs(standin, ["--format", "fish", ...extra]),
        standinEnv(home, standin),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stderr.includes(secret) && !r.stderr.includes(token), "never logged");
      assert.ok(r.stdout.includes(`\nset -gx AWS_SECRET_ACCESS_KEY 'a\\'b\\\\\\'c`), r.stdout);
      for (const script of [`eval $argv[1]`, `printf %s $argv[1] | source`]) {
        const read = await fish(
          home,
          `${script}; and printf '%s\\0' "$AWS_SECRET_ACCESS_KEY" "$AWS_SESSION_TOKEN"`,
          r.stdout,
        );
        assert.equal(read.stderr, "", script);
        assert.equal(read.code, 0, script);
        assert.deepEqual(read.stdout.split("\0"), [secret, token, ""], script);
      }
    });
  }
  assert.equal(standin.count("AssumeRole"), 1, "the entry answered every call");
  const left = [...Deno.readDirSync(home.dir)].map((e) => e.name).filter((n) => n.startsWith("pwned"));
  assert.deepEqual(left, [], "nothing ran");

  await t.step(
    "a NUL (fish drops the rest of the script) is refused: one line, exit 1, stdout empty",
    async () => {
      doc.credentials.SecretAccessKey = "abc\0def";
      await writeEntry(file, doc);
      const r = await runCredproc(standinArgs(standin, ["--format", "fish"]), standinEnv(home, standin));
      assert.equal(r.stdout, "");
      assert.equal(r.code, 1);
      assert.deepEqual(r.lines, [
        "credproc: output: AWS_SECRET_ACCESS_KEY holds characters fish cannot quote; use another --format",
      ]);
    },
  );
});

const FISH_RUNS = Math.max(FUZZ_LONG, 400);
announceSeed("fish", `${FISH_RUNS} values through fish`);

Deno.test("fish: any value without a NUL, evaluated by fish, is exactly that value (fuzz)", async () => {
  await using home = await tempHome();
  const marker = `${home.dir}/pwned`;
  const values = fc.sample(
    fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.string({ maxLength: 60 }),
      fc.stringMatching(/^[\\'"$(){}*?~#;|&<>%` \n\r\ta-z]{1,30}$/),
    ).filter((v) => !v.includes("\0")),
    { numRuns: FISH_RUNS, seed: FUZZ_SEED + 19 },
  ).concat([`$(touch ${marker})`, `(touch ${marker})`, `'; touch ${marker}; echo '`, "\\", "\\'", "'"]);
  // One fish per 200 values (an argument is at most 128 KiB): each rendering, then its value NUL-terminated.
  for (let start = 0; start < values.length; start += 200) {
    const batch = values.slice(start, start + 200);
    const script = batch.map((v) =>
      render({ accessKeyId: "ASIAFUZZ000000000001", secretAccessKey: v }, "fish") +
      `printf '%s\\0' "$AWS_SECRET_ACCESS_KEY"\n`
    ).join("");
    const r = await fish(home, "eval $argv[1]", script);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    // What fish can hold is what UTF-8 can: a lone surrogate was already U+FFFD on credproc's stdout.
    const expected = batch.map((v) => new TextDecoder().decode(new TextEncoder().encode(v)));
    const got = r.stdout.split("\0");
    assert.equal(got.pop(), "");
    assert.equal(got.length, expected.length);
    for (const [i, v] of expected.entries()) assert.equal(got[i], v, JSON.stringify(batch[i]));
  }
  await assert.rejects(Deno.stat(marker), Deno.errors.NotFound, "nothing ran");
});
