/**
 * `deno task test`: runs every test under the test permission set and ends with the plain line CI reads,
 * `N passed, N failed`. Extra arguments go to `deno test` (e.g. a file or `--filter`).
 */
const args = Deno.args.length > 0 ? Deno.args : ["tests/"];
const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "-P", "--frozen", "--no-prompt", ...args],
  cwd: new URL("../", import.meta.url),
  stdout: "piped",
  stderr: "inherit",
  stdin: "null",
}).spawn();

let passed = 0;
let failed = 0;
const decoder = new TextDecoder();
let pending = "";
for await (const chunk of child.stdout) {
  const text = decoder.decode(chunk, { stream: true });
  await Deno.stdout.write(chunk);
  pending += text;
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    // deno test's summary: "ok | 12 passed (3 steps) | 0 failed (1s)" or "FAILED | 10 passed | 2 failed".
    // deno-lint-ignore no-control-regex -- ANSI colour codes around the summary are matched on purpose
    const m = /^(?:\x1b\[[0-9;]*m)*(?:ok|FAILED)(?:\x1b\[[0-9;]*m)* \| (\d+) passed.*\| (\d+) failed/.exec(
      line,
    );
    if (m) {
      passed += Number(m[1]);
      failed += Number(m[2]);
    }
  }
}
const { code } = await child.status;
if (code !== 0 && failed === 0) failed = 1; // a crash or a compile error counts as a failure
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(code);
