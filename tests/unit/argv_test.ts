/**
 * lib/argv.ts: the one reading of argv — command words wherever they stand, `--`, flag clusters,
 * `--flag=value`, values that look like options, lossy arguments, repeats, the MFA code blanked — and a
 * property test that holds it to node's strict parser (words and values) and to the readers it replaced
 * (their code is kept here as the independent check) for every line credproc accepts.
 */
import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import fc from "fast-check";
import {
  type ArgvScan,
  COMMANDS,
  hasFlag,
  isCacheCommand,
  lastValue,
  type OptionName,
  OPTIONS,
  scanArgv,
} from "../../lib/argv.ts";
import { parseCommand } from "../../lib/cli/args.ts";
import { announceSeed, FUZZ_LONG, FUZZ_SEED } from "../support/fuzz.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
const BAD = "\uFFFD";

/** The options the scan found, as a plain object (for deepEqual). */
function given(scan: ArgvScan): Record<string, (string | true)[]> {
  return Object.fromEntries([...scan.options].map(([k, v]) => [k, [...v]]));
}

Deno.test("argv: the command words, wherever they stand among the options", () => {
  const cases: [string[], ArgvScan["command"]][] = [
    [[], "assume"],
    [["--role-arn", ROLE], "assume"],
    [["console"], "console"],
    [["--role-arn", ROLE, "console"], "console"],
    [["serve", "--port", "1"], "serve"],
    [["--profile", "p", "serve"], "serve"],
    [["-v", "eks-token", "--cluster-name", "c"], "eks-token"],
    [["cache", "list"], "cache list"],
    [["--json", "cache", "list"], "cache list"],
    [["cache", "--json", "list"], "cache list"],
    [["--cache-dir", "/d", "cache", "clear"], "cache clear"],
    [["--cache-dir=/d", "cache", "-v", "clear"], "cache clear"],
    [["cache"], "cache"],
    [["cache", "purge"], "cache"],
    [["help"], undefined],
    [["bogus"], undefined],
    [["list", "cache"], undefined],
    // A value is not a word: `--profile serve` names a profile.
    [["--profile", "serve"], "assume"],
    [["--profile", "cache", "list"], undefined],
    // After `--` words are operands, and name the command as node's parser would.
    [["--role-arn", ROLE, "--", "serve"], "serve"],
    [["--", "cache", "clear"], "cache clear"],
  ];
  for (const [argv, command] of cases) {
    const scan = scanArgv(argv);
    assert.equal(scan.command, command, JSON.stringify(argv));
    assert.equal(isCacheCommand(scan.command), command?.startsWith("cache") === true, JSON.stringify(argv));
  }
  assert.deepEqual(scanArgv(["--profile", "serve", "cache", "-v", "list"]).words, ["cache", "list"]);
});

Deno.test("argv: `--` ends the options; a leading one (deno task passes one on) is dropped", () => {
  const a = scanArgv(["--", "--role-arn", ROLE]);
  assert.deepEqual(a.argv, ["--role-arn", ROLE]);
  assert.deepEqual(given(a), { "role-arn": [ROLE] });
  const b = scanArgv(["--role-arn", ROLE, "--", "--no-cache", "-v", "x"]);
  assert.deepEqual(b.words, []);
  assert.deepEqual(b.operands, ["--no-cache", "-v", "x"]);
  assert.equal(hasFlag(b, "no-cache"), false);
  assert.equal(b.unknown, undefined);
  // Only one leading `--` is dropped: a second one ends the options.
  const c = scanArgv(["--", "--", "--version"]);
  assert.deepEqual(c.argv, ["--", "--version"]);
  assert.equal(c.version, false);
  assert.deepEqual(c.operands, ["--version"]);
  // `help` asks for help only as the first word before `--`.
  assert.equal(scanArgv(["help", "serve"]).help, true);
  assert.equal(scanArgv(["-v", "--", "help"]).help, false);
  assert.equal(scanArgv(["serve", "help"]).help, false);
  assert.deepEqual(scanArgv(["--"]).argv, []);
});

Deno.test("argv: flags, clusters, --flag=value, and values that look like options", () => {
  const a = scanArgv(["-v", "-hV", "--no-cache", "--role-arn=" + ROLE, "--region", "--json"]);
  assert.deepEqual(given(a), {
    "verbose": [true],
    "help": [true],
    "version": [true],
    "no-cache": [true],
    "role-arn": [ROLE],
    "region": ["--json"],
  });
  assert.equal(a.help && a.version, true);
  assert.equal(hasFlag(a, "json"), false, "a value is never taken for an option");
  // A value that reads --help is a value (the parser refuses it as ambiguous), not a request for help.
  assert.equal(scanArgv(["--role-session-name", "--help"]).help, false);
  // A flag given a value counts as given with that value, not as the flag (the parser refuses it).
  const b = scanArgv(["--no-cache=1", "--help=x"]);
  assert.deepEqual(given(b), { "no-cache": ["1"], "help": ["x"] });
  assert.equal(hasFlag(b, "no-cache"), false);
  assert.equal(b.help, true, "--help wins whatever follows it");
  // A string option last on the line has no value.
  assert.deepEqual(given(scanArgv(["--cache-dir"])), {});
  assert.equal(lastValue(scanArgv(["--cache-dir"]), "cache-dir"), undefined);
  assert.equal(lastValue(scanArgv(["--cache-dir="]), "cache-dir"), "");
  // `-` is a word; a cluster with any letter that is no flag's is one unknown option.
  assert.deepEqual(scanArgv(["-"]).words, ["-"]);
  assert.equal(scanArgv(["-vx", "-v"]).unknown, "-vx");
  assert.equal(hasFlag(scanArgv(["-vx"]), "verbose"), false);
});

Deno.test("argv: the first unknown option, as typed (without its value)", () => {
  assert.equal(scanArgv(["--role-arn", ROLE, "--bogus=1", "--other"]).unknown, "--bogus");
  assert.equal(scanArgv(["-role-arn", ROLE]).unknown, "-role-arn");
  assert.equal(scanArgv(["---role-arn"]).unknown, "---role-arn");
  assert.equal(scanArgv(["--=x"]).unknown, "--");
  // Names inherited by every object are not options.
  for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    assert.equal(scanArgv([`--${name}`]).unknown, `--${name}`);
  }
  // An unknown option takes no value: what follows is a word.
  assert.deepEqual(scanArgv(["--bogus", "serve"]).words, ["serve"]);
});

Deno.test("argv: repeats keep every value in order; lenient readers take the last", () => {
  const scan = scanArgv([
    "--cache-dir",
    "/a",
    "--role-arn",
    "r1",
    "--cache-dir=/b",
    "-vv",
    "--role-arn",
    "r2",
  ]);
  assert.deepEqual(given(scan), {
    "cache-dir": ["/a", "/b"],
    "role-arn": ["r1", "r2"],
    "verbose": [true, true],
  });
  assert.equal(lastValue(scan, "cache-dir"), "/b");
  assert.deepEqual([...scan.options.keys()], ["cache-dir", "role-arn", "verbose"], "in order of first use");
});

Deno.test("argv: the MFA code is blanked, in both spellings, and only where it is the code", () => {
  assert.deepEqual(
    scanArgv(["--token-code", "123456", "--role-arn", ROLE, "--token-code=654321", "--tag", "k=--token-code"])
      .redacted,
    ["--token-code", "", "--role-arn", ROLE, "--token-code=", "--tag", "k=--token-code"],
  );
  // As a value of another option it is that option's value, and after `--` an operand: kept.
  assert.deepEqual(scanArgv(["--tag", "--token-code", "1"]).redacted, ["--tag", "--token-code", "1"]);
  assert.deepEqual(scanArgv(["-v", "--", "--token-code", "1"]).redacted, ["-v", "--", "--token-code", "1"]);
  assert.deepEqual(scanArgv(["--token-code"]).redacted, ["--token-code"]);
  // Every secret option is blanked: the table says which.
  const secret = Object.entries(OPTIONS).filter(([, o]) => "secret" in o).map(([n]) => n);
  assert.deepEqual(secret, ["token-code"]);
});

Deno.test("argv: the first argument that was not UTF-8, by position and whose value it is", () => {
  const cases: [string[], ArgvScan["lossy"]][] = [
    [["--role-arn", ROLE], undefined],
    [["--cache-dir", `/a${BAD}`], { index: 1, option: "cache-dir" }],
    [["--role-arn", ROLE, `--cache-dir=/a${BAD}`], { index: 2, option: "cache-dir" }],
    [["--no-cache=" + BAD], { index: 0, option: "no-cache" }],
    [["cache", `li${BAD}st`], { index: 1, option: undefined }],
    [[`--verbose${BAD}`], { index: 0, option: undefined }],
    [[`--bogus=${BAD}`], { index: 0, option: undefined }],
    [["--region", "x", `${BAD}`, "--log-file", BAD], { index: 2, option: undefined }],
    // Counted in the argv read: a leading `--` is not an argument.
    [["--", "--log-file", BAD], { index: 1, option: "log-file" }],
    [["--role-arn", ROLE, "--", BAD], { index: 3, option: undefined }],
  ];
  for (const [argv, lossy] of cases) assert.deepEqual(scanArgv(argv).lossy, lossy, JSON.stringify(argv));
});

Deno.test("argv: the table — every short option is a flag's; every command takes --help and --version", () => {
  for (const [name, o] of Object.entries(OPTIONS)) {
    if ("short" in o) assert.equal(o.type, "boolean", `-${o.short} (--${name}) must be a flag`);
    assert.ok(o.takenBy.length > 0, `--${name} is taken by no command`);
  }
  assert.deepEqual(OPTIONS.help.takenBy, COMMANDS);
  assert.deepEqual(OPTIONS.version.takenBy, COMMANDS);
});

// ── against node's strict parser and the readers the scan replaced ─────────────────────────────────────

/** The readers lib/ had before the pre-scan, kept as the independent check (see the property test). */
const before = {
  /** cache/key.ts `redactArgv`. */
  redact(argv: readonly string[]): string[] {
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a.startsWith("--token-code=")) out.push("--token-code=");
      else if (a === "--token-code" && i + 1 < argv.length) {
        out.push(a, "");
        i++;
      } else out.push(a);
    }
    return out;
  },
  /** cache/key.ts `scanFlag`. */
  value(argv: readonly string[], flag: string): string | undefined {
    let value: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (a === "--") break;
      if (a === flag && i + 1 < argv.length) value = argv[++i];
      else if (a.startsWith(`${flag}=`)) value = a.slice(flag.length + 1);
    }
    return value;
  },
};

const NODE_OPTIONS = Object.fromEntries(
  Object.entries(OPTIONS).map(([name, o]) => [
    name,
    { type: o.type, multiple: true, ...("short" in o ? { short: o.short } : {}) },
  ]),
);

const RUNS = FUZZ_LONG > 0 ? FUZZ_LONG : 2000;
announceSeed("argv", `${RUNS} argv`);

/** One argument: option spellings, values (some that look like options), words, `--`, clusters. */
const arg = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "--role-arn",
      "--cache-dir",
      "--log-file",
      "--token-code",
      "--web-identity-token-env",
      "--serial-number",
      "--profile",
      "--format",
      "--tag",
      "--no-cache",
      "--json",
      "--include-account-id",
      "--port",
      "-v",
      "-vv",
    ),
  },
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      ROLE,
      "123456",
      "/tmp/c",
      "AWS_T",
      "dev",
      "env",
      "k=v",
      "arn:aws:iam::123456789012:mfa/me",
      "8080",
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "--token-code=123456",
      "--cache-dir=/tmp/d",
      "--log-file=",
      "--role-arn=" + ROLE,
      "--web-identity-token-env=AWS_U",
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom("cache", "list", "clear", "console", "serve", "eks-token", "x") },
  { weight: 1, arbitrary: fc.constantFrom("--", "-", "-x", "--bogus", "--no-cache=1", "-hV") },
);

Deno.test(`argv: agrees with node's parser, and with the readers it replaced on every accepted line (${RUNS} argv)`, () => {
  let parsed = 0;
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(arg, { maxLength: 10 }), (argv) => {
      const scan = scanArgv(argv);
      if (argv[0] === "--") return; // main.ts dropped it before the readers saw argv: compared below on the rest
      let node: ReturnType<typeof parseArgs>;
      try {
        node = parseArgs({ args: argv, options: NODE_OPTIONS, strict: true, allowPositionals: true });
      } catch {
        return;
      }
      parsed++;
      // Whatever node accepts, the scan reads the same: the same words, the same values per option.
      assert.equal(scan.unknown, undefined);
      assert.deepEqual([...scan.words, ...scan.operands], node.positionals);
      assert.deepEqual(given(scan), { ...node.values });
      let command;
      try {
        command = parseCommand(argv);
      } catch {
        return;
      }
      accepted++;
      // For every line credproc accepts, the old readers and the scan give the same answer: the inputs key's
      // argv (so the fast path's key bytes are unchanged), --cache-dir, --log-file, the token variable.
      assert.deepEqual(scan.redacted, before.redact(argv));
      for (const name of ["cache-dir", "log-file", "web-identity-token-env"] as OptionName[]) {
        assert.equal(lastValue(scan, name), before.value(argv, `--${name}`), name);
      }
      assert.equal(hasFlag(scan, "no-cache"), argv.includes("--no-cache"));
      // ... and the command the error path goes by is the one the parser found, wherever its words stand.
      if (command.kind !== "help" && command.kind !== "version") {
        assert.equal(
          isCacheCommand(scan.command),
          command.kind === "cacheList" || command.kind === "cacheClear",
        );
      }
    }),
    { numRuns: RUNS, seed: FUZZ_SEED + 47 },
  );
  console.log(`argv: node's parser accepted ${parsed} of ${RUNS}, credproc ${accepted}`);
  assert.ok(parsed > RUNS / 10 && accepted > RUNS / 50, `node accepted ${parsed}, credproc ${accepted}`);
});
