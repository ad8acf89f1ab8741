/** Flag values in error lines: an MFA code is never echoed, and any echoed value is bounded. */
import assert from "node:assert/strict";
import { parseCommand } from "../../lib/cli/args.ts";
import { MAX_QUOTED_LENGTH } from "../../lib/suggest.ts";
import { UsageError } from "../../lib/errors.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
const SERIAL = "arn:aws:iam::123456789012:mfa/me";

function refused(argv: string[]): UsageError {
  try {
    parseCommand(argv);
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    return e;
  }
  assert.fail(`${JSON.stringify(argv)} was accepted`);
}

Deno.test("--token-code: a mistyped code is refused without echoing it", () => {
  for (const code of ["123 456", "12345", "1234567", "123456\n", "98765x"]) {
    const e = refused(["--role-arn", ROLE, "--serial-number", SERIAL, "--token-code", code]);
    assert.deepEqual([e.what, e.message], ["--token-code", "is not 6 digits (the value is not shown)"]);
  }
});

Deno.test("a huge bad flag value is quoted with at most the first characters", () => {
  const e = refused(["--role-arn", ROLE, "--duration-seconds", "9".repeat(100_000)]);
  assert.equal(e.message, `"${"9".repeat(MAX_QUOTED_LENGTH)}"… is not a whole number from 900 to 43200`);
});
