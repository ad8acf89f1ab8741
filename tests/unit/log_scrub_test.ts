/**
 * The scrubber against secrets with line breaks and other control characters in them: whatever shape the
 * secret takes in a line — as it is, folded by `oneLine`, JSON-escaped (failures.json, failure markers),
 * escaped by `printable` (stderr, the log file), with the breaks dropped, quoted by Deno's header error — no
 * 8-character piece of it is left. A property test (fixed seed in the suite, tests/support/fuzz.ts).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { createLogger, withoutQuotedHeader } from "../../lib/log.ts";
import { leaks, SECRET_SHAPES } from "../support/leaks.ts";
import { announceSeed, FUZZ_LONG, FUZZ_SEED } from "../support/fuzz.ts";

const RUNS = FUZZ_LONG || 300;
announceSeed("tests/unit/log_scrub_test.ts", `${RUNS} runs`);

const BREAKS = ["\n", "\r", "\r\n", "\t", "\x01", "\x0b", "\x7f", "\u2028", " \n "];

/** A key or token as pasted with stray breaks: base64-like pieces joined by control characters. */
const brokenSecret = fc.tuple(
  fc.array(fc.stringMatching(/^[A-Za-z0-9+/=]{1,40}$/), { minLength: 2, maxLength: 5 }),
  fc.array(fc.constantFrom(...BREAKS), { minLength: 4, maxLength: 4 }),
).map(([pieces, breaks]) => pieces.map((p, i) => i === 0 ? p : `${breaks[i - 1]}${p}`).join(""))
  .filter((s) => s.replace(/[\p{Cc}\s\u2028\u2029]/gu, "").length >= 12 && !s.includes("redacted"));

Deno.test("scrub: a secret with breaks leaves no 8-character piece in any shape of a line", () => {
  fc.assert(
    fc.property(
      brokenSecret,
      fc.constantFrom(...Object.keys(SECRET_SHAPES)),
      fc.constantFrom(
        (x: string) => `AssumeRole: cannot reach the endpoint: Invalid header value: "${x}"`,
        (x: string) => `STS said: AccessDenied: the token ${x} is not allowed`,
        (x: string) => `{"message":"${x}","hint":null}`,
        (x: string) => x,
      ),
      (secret, shape, context) => {
        const log = createLogger(false, () => {});
        log.secret(secret);
        const line = log.scrub(context(SECRET_SHAPES[shape](secret)));
        assert.deepEqual(
          leaks(line, secret),
          [],
          `${JSON.stringify(secret)} as ${shape}: ${JSON.stringify(line)}`,
        );
      },
    ),
    { numRuns: RUNS, seed: FUZZ_SEED + 31 },
  );
});

Deno.test("scrub: each piece of 6 or more characters goes on its own (a quote cut short)", () => {
  const log = createLogger(false, () => {});
  log.secret("FwoGZXIvYXdzEJr\nSECRETTOKENPARTTWO0123456789\tab");
  assert.equal(log.scrub("x SECRETTOKENPART y"), "x SECRETTOKENPART y", "part of a piece is not the piece");
  assert.equal(log.scrub("x SECRETTOKENPARTTWO0123456789 y FwoGZXIvYXdzEJr"), "x [redacted] y [redacted]");
  assert.equal(log.scrub("FwoGZXIvYXdzEJr SECRETTOKENPARTTWO0123456789 ab!"), "[redacted]!");
  assert.equal(log.scrub("FwoGZXIvYXdzEJr\\nSECRETTOKENPARTTWO0123456789\\tab"), "[redacted]");
  assert.equal(log.scrub("FwoGZXIvYXdzEJrSECRETTOKENPARTTWO0123456789ab"), "[redacted]");
  // Text around it keeps its blanks.
  assert.equal(
    log.scrub("token: FwoGZXIvYXdzEJr SECRETTOKENPARTTWO0123456789 ab end"),
    "token: [redacted] end",
  );
});

Deno.test("scrub: an error quoting a header is cut to its kind, whatever it quotes", () => {
  assert.equal(
    withoutQuotedHeader('AssumeRole: cannot reach the endpoint: Invalid header value: "anything\nat all"'),
    "AssumeRole: cannot reach the endpoint: invalid header value",
  );
  assert.equal(
    withoutQuotedHeader('TypeError: Invalid header name: "a b"'),
    "TypeError: invalid header name",
  );
  assert.equal(withoutQuotedHeader("no header here"), "no header here");
  const log = createLogger(false, () => {});
  assert.equal(log.scrub('x: Invalid header value: "unregistered-token-value"'), "x: invalid header value");
});

Deno.test("scrub: a broken secret made of any printable characters is scrubbed, never an error", () => {
  // Secrets from the environment or a profile are not base64: `-`, `'`, `\` and the like must not break the
  // pattern (an escaped `-` is an error in a `u` regular expression: the scrubber itself threw).
  const printableAscii = Array.from({ length: 0x5e }, (_, i) => String.fromCharCode(0x21 + i)).join("");
  for (const secret of [`tok-a'b\n${printableAscii}\nend-piece`, `a-b-c-d\r\n'q'"x"\\y\\z%7`]) {
    const log = createLogger(false, () => {});
    log.secret(secret);
    for (const [name, shape] of Object.entries(SECRET_SHAPES)) {
      const line = log.scrub(`credproc: sts: ${shape(secret)} (after)`);
      if (name === "raw" || name === "oneLine" || name === "dropped") {
        assert.equal(line, "credproc: sts: [redacted] (after)", name);
      }
    }
  }
});
