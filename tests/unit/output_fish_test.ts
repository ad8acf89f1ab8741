/**
 * `--format fish`: the lines of `aws configure export-credentials --format fish` (the AWS CLI's
 * FishShellFormatter: `set -gx {var_name} "{var_value}"`, one per line, LF), and fish's own quoting for any
 * other value. tests/e2e/fish_test.ts evaluates the output in a real fish.
 */
import assert from "node:assert/strict";
import { render } from "../../lib/output.ts";
import { parseCommand } from "../../lib/cli/args.ts";
import { USAGE } from "../../lib/cli/usage.ts";

const creds = {
  accessKeyId: "ASIAEXAMPLEEXAMPLE01",
  secretAccessKey: "se/cr+et",
  sessionToken: "to/ken==",
  expiration: new Date("2026-11-25T19:45:12.999Z"),
};

Deno.test("fish: byte-identical to the AWS CLI's lines, with and without token, expiration and account", () => {
  assert.equal(
    render(creds, "fish"),
    'set -gx AWS_ACCESS_KEY_ID "ASIAEXAMPLEEXAMPLE01"\n' +
      'set -gx AWS_SECRET_ACCESS_KEY "se/cr+et"\n' +
      'set -gx AWS_SESSION_TOKEN "to/ken=="\n' +
      'set -gx AWS_CREDENTIAL_EXPIRATION "2026-11-25T19:45:12+00:00"\n',
  );
  assert.equal(
    render({ accessKeyId: "AKIAEXAMPLEEXAMPLE01", secretAccessKey: "se/cr+et" }, "fish"),
    'set -gx AWS_ACCESS_KEY_ID "AKIAEXAMPLEEXAMPLE01"\nset -gx AWS_SECRET_ACCESS_KEY "se/cr+et"\n',
  );
  const withAccount = { ...creds, accountId: "123456789012" };
  assert.equal(render(withAccount, "fish"), render(creds, "fish"), "the flag, not the data, decides");
  assert.equal(
    render(withAccount, "fish", true),
    render(creds, "fish") + 'set -gx AWS_ACCOUNT_ID "123456789012"\n',
  );
});

Deno.test("fish: any other value is single-quoted with only \\ and ' escaped; a NUL is refused", () => {
  const line = (v: string) =>
    render({ accessKeyId: "ASIAEXAMPLEEXAMPLE01", secretAccessKey: v }, "fish").split("\n")[1];
  assert.equal(line("a'b"), String.raw`set -gx AWS_SECRET_ACCESS_KEY 'a\'b'`);
  assert.equal(line("a\\b"), String.raw`set -gx AWS_SECRET_ACCESS_KEY 'a\\b'`);
  assert.equal(line("x\\'"), String.raw`set -gx AWS_SECRET_ACCESS_KEY 'x\\\''`);
  assert.equal(line('$HOME"(id)'), `set -gx AWS_SECRET_ACCESS_KEY '$HOME"(id)'`);
  assert.equal(line(""), 'set -gx AWS_SECRET_ACCESS_KEY ""', "empty is safe: the CLI's form");
  // A line break stays inside the quotes (fish keeps it), so the value spans two output lines.
  assert.equal(
    render({ accessKeyId: "ASIAEXAMPLEEXAMPLE01", secretAccessKey: "a\nb" }, "fish"),
    `set -gx AWS_ACCESS_KEY_ID "ASIAEXAMPLEEXAMPLE01"\nset -gx AWS_SECRET_ACCESS_KEY 'a\nb'\n`,
  );
  assert.throws(
    () => render({ accessKeyId: "ASIAEXAMPLEEXAMPLE01", secretAccessKey: "a\0b" }, "fish"),
    /^Error: AWS_SECRET_ACCESS_KEY holds characters fish cannot quote; use another --format$/,
  );
});

Deno.test("fish: --format fish is accepted and named in --help", () => {
  const c = parseCommand(["--role-arn", "arn:aws:iam::123456789012:role/deploy", "--format", "fish"]);
  assert.equal(c.kind === "assume" && c.options.format, "fish");
  assert.match(
    USAGE,
    /^ {2}--format FORMAT {16}process\|env\|env-no-export\|powershell\|windows-cmd\|fish \(default process\)$/m,
  );
});
