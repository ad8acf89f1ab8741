/**
 * Secrets with line breaks and other control characters, end to end (issue 18). Random secret keys, session
 * tokens and web identity tokens — some pasted with a stray `\n`, `\r`, tab or other control character, some
 * clean — go in through every door (the environment, a profile in the credentials file, a token file, a token
 * variable) and meet every failure an endpoint can give (STS refusing with a message that echoes them, an
 * answer whose secret holds a break, a hang past `--timeout`, and success). None may appear, whole or as any
 * 8-character piece in any shape (as is, folded onto one line, JSON- or terminal-escaped, breaks dropped), on
 * stderr, on stdout, in the `--log-file`, or in any file of the cache directory (failures.json, failure
 * markers, entries, memos). A value with a control character is refused by name before any request.
 * Fixed seed in the suite (tests/support/fuzz.ts); every route × answer pair runs at least once.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { filesUnder, ROLE, runCredproc, tempHome } from "../support/helpers.ts";
import { type FakeAnswer, startFakeSts } from "../support/fake_sts.ts";
import { pool } from "../support/hardening_helpers.ts";
import { announceSeed, FUZZ_LONG, FUZZ_SEED } from "../support/fuzz.ts";
import { leaks } from "../support/leaks.ts";

const ROUTES = ["env", "profile", "token-file", "token-env"] as const;
const ANSWERS = ["ok", "deny-echo", "bad-answer", "hang"] as const;
type Route = typeof ROUTES[number];
type AnswerKind = typeof ANSWERS[number];

/** Extra random cases beyond one per route × answer (more with CREDPROC_FUZZ_RUNS). */
const EXTRA = FUZZ_LONG > 0 ? Math.floor(FUZZ_LONG / 100) : 8;
announceSeed("tests/e2e/secrets_breaks_test.ts", `${ROUTES.length * (ANSWERS.length + 2) + EXTRA} runs`);

const BREAKS = ["\n", "\r", "\r\n", "\t", "\x01", "\x0b", "\x1b", "\x7f"];
const BREAK = /[\p{Cc}\s\u2028\u2029]/u;

/** Base64-like pieces joined by breaks (or none): what a pasted key or token looks like. */
const secretArb = (broken: boolean) =>
  fc.tuple(
    fc.array(fc.stringMatching(/^[A-Za-z0-9+/]{10,48}$/), {
      minLength: broken ? 2 : 1,
      maxLength: broken ? 3 : 1,
    }),
    fc.array(fc.constantFrom(...BREAKS), { minLength: 2, maxLength: 2 }),
  ).map(([pieces, breaks]) => pieces.map((p, i) => i === 0 ? p : `${breaks[i - 1]}${p}`).join(""));

interface Case {
  route: Route;
  answer: AnswerKind;
  secretKey: string;
  token: string;
  /** The secret key the endpoint answers with in "bad-answer". */
  answered: string;
}

const caseArb = (
  route: fc.Arbitrary<Route>,
  answer: fc.Arbitrary<AnswerKind>,
  broken: fc.Arbitrary<Broken>,
) =>
  fc.tuple(route, answer, broken).chain(([r, a, b]) =>
    fc.record({
      route: fc.constant(r),
      answer: fc.constant(a),
      secretKey: secretArb(b === "key"),
      token: secretArb(b === "token"),
      answered: secretArb(true),
    })
  );

/** Which value holds the breaks. */
type Broken = "none" | "key" | "token";

/**
 * Every route × answer with clean values (they reach the endpoint), every route with a broken key and a
 * broken token (refused before it, whatever the answer would be), then random ones.
 */
function cases(): Case[] {
  const all: Case[] = [];
  let seed = FUZZ_SEED + 41;
  const one = (r: fc.Arbitrary<Route>, a: fc.Arbitrary<AnswerKind>, b: fc.Arbitrary<Broken>) =>
    fc.sample(caseArb(r, a, b), { numRuns: 1, seed: seed++ })[0];
  for (const route of ROUTES) {
    for (const answer of ANSWERS) all.push(one(fc.constant(route), fc.constant(answer), fc.constant("none")));
    for (const broken of ["key", "token"] as const) {
      all.push(one(fc.constant(route), fc.constantFrom(...ANSWERS), fc.constant(broken)));
    }
  }
  const any = caseArb(
    fc.constantFrom(...ROUTES),
    fc.constantFrom(...ANSWERS),
    fc.constantFrom("none", "key", "token"),
  );
  all.push(...fc.sample(any, { numRuns: EXTRA, seed }));
  return all;
}

interface Outcome {
  c: Case;
  code: number;
  requests: number;
  /** Where each text came from → the text. */
  texts: Map<string, string>;
}

async function run(c: Case): Promise<Outcome> {
  const answers: Record<AnswerKind, FakeAnswer> = {
    "ok": { kind: "credentials" },
    "deny-echo": { kind: "deny", message: `not allowed: token ${c.token} key ${c.secretKey}` },
    "bad-answer": { kind: "credentials", secret: c.answered },
    "hang": { kind: "hang" },
  };
  await using sts = startFakeSts(answers[c.answer]);
  await using home = await tempHome();
  const log = `${home.dir}/credproc.log`;
  const args = [
    "--role-arn",
    ROLE,
    "--verbose",
    "--log-file",
    log,
    "--timeout",
    c.answer === "hang" ? "1" : "20",
  ];
  const env: Record<string, string> = { AWS_ENDPOINT_URL_STS: sts.url };
  switch (c.route) {
    case "env":
      Object.assign(env, {
        AWS_ACCESS_KEY_ID: "AKIASECRETBREAKS0001",
        AWS_SECRET_ACCESS_KEY: c.secretKey,
        AWS_SESSION_TOKEN: c.token,
      });
      break;
    case "profile":
      await home.writeCredentials(
        `[p]\naws_access_key_id = AKIASECRETBREAKS0002\naws_secret_access_key = ${c.secretKey}\n` +
          `aws_session_token = ${c.token}\n`,
      );
      args.push("--profile", "p");
      break;
    case "token-file":
      await Deno.writeTextFile(`${home.dir}/token`, c.token);
      args.push("--web-identity-token-file", `${home.dir}/token`);
      break;
    case "token-env":
      env.CREDPROC_TEST_TOKEN = c.token;
      args.push("--web-identity-token-env", "CREDPROC_TEST_TOKEN");
      break;
  }
  const r = await runCredproc(args, home.env(env), { signal: AbortSignal.timeout(30_000) });
  const texts = new Map([["stderr", r.stderr], ["stdout", r.stdout]]);
  texts.set("log file", await Deno.readTextFile(log).catch(() => ""));
  for (const [path, text] of await filesUnder(home.cacheDir)) {
    texts.set(path.slice(home.dir.length + 1), text);
  }
  return { c, code: r.code, requests: sts.requests(), texts };
}

Deno.test("secrets with line breaks: refused by name, and never printed or stored, in any shape", async (t) => {
  const outcomes = await pool(2, cases().map((c) => () => run(c)));
  let refused = 0;
  let reached = 0;
  for (const o of outcomes) {
    const { c } = o;
    await t.step(`${c.route} × ${c.answer}: ${JSON.stringify([c.secretKey, c.token])}`, () => {
      const stderr = o.texts.get("stderr")!;
      console.log(
        o.code,
        o.requests,
        JSON.stringify(
          stderr.split("\n").filter((l) => !/^credproc: (profiles|endpoint|proxy|cache)/.test(l)).slice(0, 2),
        ),
      );
      const secrets = [c.token, ...(c.route === "env" || c.route === "profile" ? [c.secretKey] : [])];
      if (c.answer === "bad-answer") secrets.push(c.answered);
      for (const secret of secrets) {
        for (const [where, text] of o.texts) {
          assert.deepEqual(leaks(text, secret), [], `${JSON.stringify(secret)} in ${where}:\n${text}`);
        }
      }
      // Values with a break that credproc reads itself are refused before any request, naming the variable.
      const brokenEnv = c.route === "env" && (BREAK.test(c.secretKey) || BREAK.test(c.token));
      const brokenToken = c.route.startsWith("token") && BREAK.test(c.token.trim());
      if (brokenEnv || brokenToken) {
        refused++;
        assert.equal(o.code, 2, stderr);
        assert.equal(o.requests, 0, stderr);
        assert.match(
          stderr.split("\n").filter((l) =>
            !l.startsWith("credproc: ") || !/^credproc: (profiles|endpoint|proxy|cache)/.test(l)
          )[0],
          brokenEnv
            ? /^credproc: AWS_(SECRET_ACCESS_KEY|SESSION_TOKEN): holds a control character/
            : /^credproc: web identity token (file|in CREDPROC_TEST_TOKEN)/,
        );
      } else if (c.route !== "profile" || !(BREAK.test(c.secretKey) || BREAK.test(c.token))) {
        reached++;
        assert.equal(o.requests > 0, true, stderr);
        assert.equal(o.code, c.answer === "ok" ? 0 : 1, stderr);
      }
    });
  }
  assert.ok(
    refused >= 4 && reached >= 4,
    `refused ${refused}, reached STS ${reached}: both paths are exercised`,
  );
});
