/**
 * Did-you-mean stays cheap whatever the argument: a 128 KiB unknown option gets no suggestion (the distance
 * matrix would take ~260 MB), and the error line quotes at most the first characters of it.
 */
import assert from "node:assert/strict";
import { parseCommand } from "../../lib/cli/args.ts";
import { closest, MAX_QUOTED_LENGTH, quoteArg } from "../../lib/suggest.ts";
import { UsageError } from "../../lib/errors.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The largest single argument Linux passes to a program (MAX_ARG_STRLEN is 128 KiB with the NUL). */
const HUGE = `--${"x".repeat(128 * 1024 - 3)}`;

Deno.test("a 128 KiB unknown option: one bounded line, no suggestion", () => {
  let caught: unknown;
  try {
    parseCommand([HUGE]);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof UsageError, String(caught));
  assert.equal(caught.message, `unknown option "--${"x".repeat(MAX_QUOTED_LENGTH - 2)}"…`);
  assert.equal(caught.hint, "run credproc --help for usage");
});

Deno.test("an unexpected 128 KiB word is quoted bounded too", () => {
  assert.throws(
    () => parseCommand(["cache", "y".repeat(128 * 1024 - 1)]),
    (e) => e instanceof UsageError && e.message === `unexpected argument "${"y".repeat(MAX_QUOTED_LENGTH)}"…`,
  );
});

Deno.test("quoteArg: short arguments whole, long ones cut at a character, never inside a surrogate pair", () => {
  assert.equal(quoteArg("--role-ar"), '"--role-ar"');
  assert.equal(quoteArg("a".repeat(MAX_QUOTED_LENGTH)), JSON.stringify("a".repeat(MAX_QUOTED_LENGTH)));
  assert.equal(
    quoteArg("a".repeat(MAX_QUOTED_LENGTH + 1)),
    `${JSON.stringify("a".repeat(MAX_QUOTED_LENGTH))}…`,
  );
  const emoji = "😀".repeat(MAX_QUOTED_LENGTH + 5);
  assert.equal(quoteArg(emoji), `${JSON.stringify("😀".repeat(MAX_QUOTED_LENGTH))}…`);
});

Deno.test("names whose length is more than 2 away are never measured, and typos still match", () => {
  assert.equal(closest("regoin", ["region", "role-arn", "duration-seconds"]), "region");
  assert.equal(
    closest("x".repeat(300), ["x".repeat(299)]),
    undefined,
    "over the length bound: no suggestion",
  );
});

Deno.test("a 128 KiB unknown option fits a 16 MB heap (one name's distance matrix took ~30 MB)", async () => {
  // Memory, not time: a heap cap makes the unbounded matrix fail outright instead of a flaky timing.
  const code = `
    import { parseCommand } from "${ROOT}lib/cli/args.ts";
    try { parseCommand(["--" + "x".repeat(128 * 1024 - 3)]); } catch (e) { console.log(e.message.length); }
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "-q",
      "--cached-only",
      "--config",
      `${ROOT}deno.json`,
      "--v8-flags=--max-old-space-size=16",
      code,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr.slice(0, 500));
  assert.equal(
    new TextDecoder().decode(out.stdout).trim(),
    String(`unknown option "`.length + MAX_QUOTED_LENGTH + 2),
  );
});
