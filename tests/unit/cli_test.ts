/** lib/cli/cli.ts with fake I/O: what reaches stdout and stderr, and the exit code, without a subprocess. */
import assert from "node:assert/strict";
import { cli, type CliIo, printable, reportUncaught } from "../../lib/cli/cli.ts";
import { StsError } from "../../lib/errors.ts";
import { VERSION } from "../../lib/cli/version.ts";

function fakeIo(env: Record<string, string> = {}): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    getEnv: (name) => env[name],
    cwd: "/nowhere",
    out: (text) => {
      stdout.push(text);
      return Promise.resolve();
    },
    err: (line) => stderr.push(line),
    stdout,
    stderr,
  };
}

Deno.test("cli: --version goes to out, nothing to err, exit 0", async () => {
  const io = fakeIo();
  assert.equal(await cli(["--version"], io), 0);
  assert.deepEqual(io.stdout, [`credproc ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})\n`]);
  assert.deepEqual(io.stderr, []);
});

Deno.test("cli: bad input is one credproc: line and a hint line on err, nothing on out, exit 2", async () => {
  const io = fakeIo();
  assert.equal(
    await cli(["--role-arn", "arn:aws:iam::123456789012:role/x", "--duration-seconds", "soon"], io),
    2,
  );
  assert.deepEqual(io.stdout, []);
  assert.deepEqual(io.stderr, [
    'credproc: --duration-seconds: "soon" is not a whole number from 900 to 43200',
    "hint: run credproc --help for usage",
  ]);
});

Deno.test("cli: a bare credproc with no role anywhere names the missing flag (the environment is io's)", async () => {
  const io = fakeIo({ AWS_ROLE_ARN: "" });
  assert.equal(await cli([], io), 2);
  assert.deepEqual(io.stdout, []);
  assert.match(io.stderr[0], /^credproc: --role-arn: required/);
});

Deno.test("cli: control characters in reported input are escaped, one line", async () => {
  const io = fakeIo();
  assert.equal(await cli(["--role-arn", "bad\nrole\u001b[31m"], io), 2);
  assert.equal(io.stderr.length, 2, io.stderr.join("\n"));
  assert.ok(!io.stderr[0].includes("\n") && !io.stderr[0].includes("\u001b"), io.stderr[0]);
  assert.match(io.stderr[0], /bad\\nrole\\u001b\[31m/);
  assert.equal(printable("a\tb\u202ec"), "a\\tb\\u202ec");
});

Deno.test("cli: a late rejection reports like any failure: typed → its line and code, else internal error", () => {
  const lines: string[] = [];
  assert.equal(
    reportUncaught(new StsError("AssumeRole r", "Throttling", "slow down"), (l) => lines.push(l)),
    1,
  );
  assert.deepEqual(lines, ["credproc: AssumeRole r: Throttling: slow down"]);
  lines.length = 0;
  assert.equal(reportUncaught(new Error("boom\n  at somewhere"), (l) => lines.push(l)), 1);
  assert.deepEqual(lines, ["credproc: internal error: boom at somewhere"]);
});
