/** The forgiving command line: did-you-mean for options and words, and --help/--version winning. */
import assert from "node:assert/strict";
import { parseCommand } from "../../lib/cli/args.ts";
import {
  closest,
  editDistance,
  looksSecret,
  MAX_SUGGEST_CANDIDATES,
  suggestName,
} from "../../lib/suggest.ts";
import { UsageError } from "../../lib/errors.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";

/** The message and hint a command line fails with. */
function failure(argv: string[]): [string, string, string | undefined] {
  try {
    parseCommand(argv);
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    assert.equal(e.exitCode, 2);
    return [e.what, e.message, e.hint];
  }
  assert.fail(`${JSON.stringify(argv)} was accepted`);
}

Deno.test("did you mean: the table", () => {
  const table: [string[], string, string][] = [
    // [argv, message, hint]
    [["--role-ar", ROLE], 'unknown option "--role-ar"', "did you mean --role-arn?"],
    [["-role-arn", ROLE], 'unknown option "-role-arn"', "did you mean --role-arn?"],
    [["--rolearn", ROLE], 'unknown option "--rolearn"', "did you mean --role-arn?"],
    [["--Role-Arn", ROLE], 'unknown option "--Role-Arn"', "did you mean --role-arn?"],
    [["--role-arn", ROLE, "--regoin", "us-east-1"], 'unknown option "--regoin"', "did you mean --region?"],
    [
      ["--role-arn", ROLE, "--region=x", "--profil=p"],
      'unknown option "--profil"',
      "did you mean --profile?",
    ],
    [["--role-arn", ROLE, "--no-cach"], 'unknown option "--no-cach"', "did you mean --no-cache?"],
    [["--role-arn", ROLE, "--refesh"], 'unknown option "--refesh"', "did you mean --refresh?"],
    [["--role-arn", ROLE, "--verbos"], 'unknown option "--verbos"', "did you mean --verbose?"],
    [
      ["--role-arn", ROLE, "--duration", "900"],
      'unknown option "--duration"',
      "run credproc --help for usage",
    ],
    [["--role-arn", ROLE, "--mfa-sesion"], 'unknown option "--mfa-sesion"', "did you mean --mfa-session?"],
    [
      ["--role-arn", ROLE, "--include-acount-id"],
      'unknown option "--include-acount-id"',
      "did you mean --include-account-id?",
    ],
    [["--role-arn", ROLE, "--bogus"], 'unknown option "--bogus"', "run credproc --help for usage"],
    [["--role-arn", ROLE, "-x"], 'unknown option "-x"', "run credproc --help for usage"],
    [["cahce", "list"], 'unexpected argument "cahce"', "did you mean credproc cache?"],
    [["hepl"], 'unexpected argument "hepl"', "did you mean credproc help?"],
    [["cache", "lsit"], 'unexpected argument "lsit"', "did you mean credproc cache list?"],
    [["cache", "clean"], 'unexpected argument "clean"', "did you mean credproc cache clear?"],
    [
      ["cache", "frob"],
      'unexpected argument "frob"',
      "did you mean credproc cache list or credproc cache clear?",
    ],
    [["console", "frob"], 'unexpected argument "frob"', "run credproc console --help for usage"],
    [["serve", "extra"], 'unexpected argument "extra"', "run credproc serve --help for usage"],
    [["serve", "--bogus"], 'unknown option "--bogus"', "run credproc serve --help for usage"],
    [["serve", "--prot", "1"], 'unknown option "--prot"', "did you mean --port?"],
    [["cache", "list", "x"], 'unexpected argument "x"', "run credproc cache list --help for usage"],
    [["--role-arn", ROLE, "assume"], 'unexpected argument "assume"', "run credproc --help for usage"],
  ];
  for (const [argv, message, hint] of table) {
    assert.deepEqual(failure(argv), ["bad arguments", message, hint], JSON.stringify(argv));
  }
  // A bad value on a command's line points at that command's usage too.
  assert.deepEqual(failure(["serve", "--port", "x"]), [
    "--port",
    '"x" is not a whole number from 0 to 65535',
    "run credproc serve --help for usage",
  ]);
  assert.deepEqual(failure(["--port", "1"]), ["--port", "only makes sense with credproc serve", HELP]);
});

const HELP = "run credproc --help for usage";

Deno.test("did you mean: a value is never taken for an option, -- ends options", () => {
  // `--role-session-name -x` is a (bad) value, not an unknown option: the parser says so.
  assert.equal(failure(["--role-arn", ROLE, "--role-session-name", "--x"])[0], "bad arguments");
  assert.doesNotMatch(failure(["--role-arn", ROLE, "--role-session-name", "--x"])[1], /unknown option/);
  assert.deepEqual(failure(["--role-arn", ROLE, "--", "--bogus"]), [
    "bad arguments",
    'unexpected argument "--bogus"',
    "run credproc --help for usage",
  ]);
});

Deno.test("help and version win over any other mistake; `credproc help` is --help", () => {
  for (
    const argv of [
      ["help"],
      ["--help", "--bogus"],
      ["--bogus", "--help"],
      ["-role-arn", "x", "-h"],
      ["--role-arn", "not-an-arn", "--duration-seconds", "soon", "--help"],
      ["help", "--bogus"],
      ["-vh"],
      ["purge", "--help"],
      ["help", "help"],
    ]
  ) {
    assert.deepEqual(parseCommand(argv), { kind: "help" }, JSON.stringify(argv));
  }
  // A command's own usage: the longest command the words start with, whatever mistake follows.
  const topics: [string[], string][] = [
    [["console", "--help"], "console"],
    [["serve", "-h"], "serve"],
    [["serve", "--role-arn", "not-an-arn", "--port", "x", "--help"], "serve"],
    [["help", "console"], "console"],
    [["help", "serve"], "serve"],
    [["cache", "--help"], "cache"],
    [["cache", "purge", "--help"], "cache"],
    [["cache", "list", "--help"], "cache list"],
    [["cache", "clear", "--help"], "cache clear"],
    [["cache", "clear", "--bogus", "-h"], "cache clear"],
    [["help", "cache", "list"], "cache list"],
    [["--cache-dir", "/x", "cache", "clear", "--help"], "cache clear"],
  ];
  for (const [argv, topic] of topics) {
    assert.deepEqual(parseCommand(argv), { kind: "help", topic }, JSON.stringify(argv));
  }
  // A value is not a command: `--profile serve --help` asks for the whole page.
  assert.deepEqual(parseCommand(["--profile", "serve", "--help"]), { kind: "help" });
  for (
    const argv of [["--version", "--bogus"], ["--role-ar", "x", "-V"], ["--region", "nowhere", "--version"]]
  ) {
    assert.deepEqual(parseCommand(argv), { kind: "version" }, JSON.stringify(argv));
  }
  // A value that happens to read "--help" is still a value (the parser refuses it as ambiguous).
  assert.deepEqual(parseCommand(["--role-session-name", "help"]).kind, "assume");
});

Deno.test("edit distance and the closeness rule", () => {
  assert.equal(editDistance("role-ar", "role-arn"), 1);
  assert.equal(editDistance("regoin", "region"), 1); // a swap of neighbours is one edit
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(closest("tga", ["tag"]), "tag");
  assert.equal(closest("foo", ["tag"]), undefined); // 3 letters allow one edit
  assert.equal(closest("durations", ["duration-seconds"]), undefined);
});

Deno.test("profile suggestions: plain names only, nothing key-like, the first 1000 compared", () => {
  assert.equal(suggestName("prd", ["prod", "staging"]), "prod");
  assert.equal(suggestName("prd", ["pr d", "pr\u0007d", "p".repeat(65)]), undefined);
  assert.equal(suggestName("AKIAIOSFODNN7EXAMPLE", ["AKIAIOSFODNN7EXAMPLF"]), undefined);
  assert.equal(looksSecret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), true);
  assert.equal(looksSecret("production-eu-west-1"), false);
  const others = Array.from({ length: MAX_SUGGEST_CANDIDATES }, (_, i) => `other-${i}`);
  assert.equal(suggestName("prd", [...others, "prod"]), undefined);
  assert.equal(suggestName("prd", [...others.slice(1), "prod"]), "prod");
});
