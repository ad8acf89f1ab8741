/**
 * Property-based tests (fast-check) of STS answers, the output formats and endpoint shapes:
 * - whatever an STS answer holds, it is refused or its fields have the documented shapes (and need no
 *   quoting in any shell format);
 * - whatever a credential value holds, `eval` of the `env` format in a real bash sets exactly that value and
 *   runs nothing; PowerShell and cmd lines stay one assignment per variable;
 * - endpoint shapes: hosts under the AWS suffixes that are not STS / SSO / OIDC are refused; real STS
 *   hosts of every partition, FIPS and dual-stack, are accepted.
 * That no secret reaches the failure record or any other cache file is secrets_breaks_test.ts's.
 * `CREDPROC_FUZZ_RUNS` makes the runs longer; the seed policy is tests/support/fuzz.ts (as in fuzz_test.ts).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { render } from "../../lib/output.ts";
import { endpointProblem } from "../../lib/sandbox.ts";
import {
  ACCESS_KEY_ID_SHAPE,
  SECRET_KEY_SHAPE,
  SESSION_TOKEN_SHAPE,
  toCredentials,
} from "../../lib/providers/sts.ts";
import { CredprocError } from "../../lib/errors.ts";
import { DNS_SUFFIXES } from "../../lib/partitions.ts";
import { announceSeed, FUZZ_LONG, FUZZ_SEED } from "../support/fuzz.ts";

const LONG = FUZZ_LONG;
const RUNS = Math.max(LONG, 2000);
const SHELL_RUNS = Math.max(Math.floor(LONG / 20), 40);
announceSeed("fuzz answers and formats", `${RUNS} in-process, ${SHELL_RUNS} through bash`);

const anyText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("tok$(touch /tmp/x)\n", "a'b", 'a"b', "`id`", "%PATH%", "!x!", "a\r\nb", "$Env:X", "\\"),
  fc.stringMatching(/^[A-Za-z0-9+/=]{16,64}$/),
);

Deno.test("fuzz: an STS answer is refused, or every field has its documented shape", () => {
  fc.assert(
    fc.property(
      anyText,
      anyText,
      anyText,
      fc.integer({ min: -10_000, max: 10_000 }),
      (id, secret, token, s) => {
        const now = Date.now();
        try {
          const c = toCredentials(
            {
              AccessKeyId: id,
              SecretAccessKey: secret,
              SessionToken: token,
              Expiration: new Date(now + s * 1000),
            },
            now,
          );
          assert.match(c.accessKeyId, ACCESS_KEY_ID_SHAPE);
          assert.match(c.secretAccessKey, SECRET_KEY_SHAPE);
          assert.match(c.sessionToken!, SESSION_TOKEN_SHAPE);
          assert.ok(c.expiration!.getTime() > now);
          // Valid credentials need no quoting: the shell formats print them as the AWS CLI does.
          for (const format of ["env", "env-no-export", "windows-cmd"] as const) {
            assert.doesNotMatch(render(c, format), /['"]/);
          }
        } catch (e) {
          assert.ok(e instanceof CredprocError && e.exitCode === 1, String(e));
          assert.equal(e.message.split("\n").length, 1);
          for (const v of [secret, token]) {
            if (v.length >= 6) {
              assert.ok(!e.message.includes(v), "never echoed");
            }
          }
        }
      },
    ),
    { numRuns: RUNS, seed: FUZZ_SEED + 1 },
  );
});

Deno.test("fuzz: eval of the env format in bash sets exactly the value and runs nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const values = fc.sample(
      fc.string({ minLength: 1, maxLength: 60 }).filter((v) => !v.includes("\0")),
      { numRuns: SHELL_RUNS, seed: FUZZ_SEED + 2 },
    ).concat([
      `tok$(touch ${dir}/pwned)\nx`,
      "a'b'c",
      "`touch " + dir + "/pwned2`",
      "x;touch " + dir + "/p3",
    ]);
    for (const value of values) {
      const text = render({
        accessKeyId: "ASIAFUZZ000000000001",
        secretAccessKey: value,
        sessionToken: value,
      }, "env");
      const out = await new Deno.Command("/bin/bash", {
        args: ["-c", 'eval "$1"; printf %s "$AWS_SECRET_ACCESS_KEY"', "bash", text],
        stdout: "piped",
        stderr: "piped",
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin" },
      }).output();
      assert.equal(new TextDecoder().decode(out.stdout), value, JSON.stringify(value));
    }
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left, [], "nothing ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fuzz: powershell and windows-cmd print one assignment per variable, or refuse (cmd)", () => {
  fc.assert(
    fc.property(anyText, (value) => {
      const c = { accessKeyId: "ASIAFUZZ000000000001", secretAccessKey: value };
      const ps = render(c, "powershell").split("\n").filter((l) => l.startsWith("$Env:"));
      assert.equal(ps.length, 2);
      if (!/^[A-Za-z0-9+/=:._-]*$/.test(value)) {
        // Single-quoted: inside, only a doubled quote is special.
        const body = render(c, "powershell").split("$Env:AWS_SECRET_ACCESS_KEY=")[1];
        assert.match(body, /^'(?:[^'\u2018\u2019\u201a\u201b]|(['\u2018\u2019\u201a\u201b])\1)*'\n$/su);
      }
      try {
        const cmd = render(c, "windows-cmd");
        assert.equal(cmd.split("\n").filter((l) => l !== "").length, 2);
        assert.doesNotMatch(cmd, /[%!]/);
      } catch (e) {
        assert.match((e as Error).message, /windows-cmd cannot quote/);
      }
    }),
    { numRuns: RUNS, seed: FUZZ_SEED + 3 },
  );
});

const REGIONS = ["us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "eu-isoe-west-1"];
const label = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);

Deno.test("fuzz: endpoint shapes — only STS, SSO, SSO-OIDC, metadata and loopback hosts pass", () => {
  fc.assert(
    fc.property(
      fc.array(label, { minLength: 1, maxLength: 4 }),
      fc.constantFrom(...DNS_SUFFIXES),
      fc.constantFrom("http", "https"),
      (labels, suffix, scheme) => {
        const host = `${labels.join(".")}.${suffix}`;
        const problem = endpointProblem(`${scheme}://${host}/`);
        if (problem === undefined) {
          assert.match(
            host,
            /^(?:(?:vpce-[a-z0-9-]+\.)?sts(?:-fips)?\.|portal\.sso(?:-fips)?\.|oidc(?:-fips)?\.)/,
            host,
          );
        } else {
          // A host the URL parser refuses (e.g. the empty punycode label "xn--") is refused as "not a URL".
          assert.match(
            problem,
            /is not an STS, SSO or SSO-OIDC endpoint|outside the allowed endpoints|is not a URL$/,
          );
        }
      },
    ),
    { numRuns: RUNS, seed: FUZZ_SEED + 4 },
  );
  // Found by exploring (seed 316725414): the empty punycode label; refused by the URL parser, exit 2.
  assert.match(endpointProblem("http://xn--.amazonaws.com/") ?? "", /is not a URL$/);
  fc.assert(
    fc.property(fc.constantFrom(...REGIONS), label, (region, name) => {
      for (
        const bad of [`ec2-${name}.compute-1.amazonaws.com`, `${name}.s3-website-${region}.amazonaws.com`]
      ) {
        assert.notEqual(endpointProblem(`https://${bad}/`), undefined, bad);
      }
      for (
        const good of [
          `sts.${region}.amazonaws.com`,
          `sts-fips.${region}.amazonaws.com`,
          `sts.${region}.api.aws`,
        ]
      ) {
        assert.equal(endpointProblem(`https://${good}/`), undefined, good);
      }
    }),
    { numRuns: Math.min(RUNS, 500), seed: FUZZ_SEED + 5 },
  );
  for (
    const ok of [
      "http://127.0.0.1:9000",
      "http://localhost:1",
      "http://[::1]:2",
      "http://169.254.170.2/v2",
      "https://sts.amazonaws.com",
    ]
  ) {
    assert.equal(endpointProblem(ok), undefined, ok);
  }
});
