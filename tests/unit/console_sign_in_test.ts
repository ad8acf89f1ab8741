/**
 * `credproc console` as a whole command through `cli()` (lib/console/sign_in.ts and its wiring), with fake STS
 * and fetch: exactly the login URL on stdout, and bad input ending before any call.
 */
import assert from "node:assert/strict";
import { cli } from "../../lib/cli/cli.ts";
import type { Fetch } from "../../lib/console/federation.ts";
import { fakeIo } from "../support/fake_io.ts";
import { fakeDeps } from "../support/fake_deps.ts";
import { tempHome } from "../support/helpers.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
const TOKEN = "Tok-en_0123456789abcdefghij+/=";
const SESSION_JSON =
  '{"sessionId":"ASIAFAKEASSUMED00001","sessionKey":"fakeAssumedSecret/0123456789+abcdefghijA",' +
  '"sessionToken":"IQoJb3JpZ2luX2VjEFakeSessionToken0123456789+/abcdef=="}';

/** A fake fetch answering `answer` and recording the URLs it was asked for. */
function fakeFetch(
  answer: () => Response | Promise<Response>,
): Fetch & { urls: string[]; inits: RequestInit[] } {
  const urls: string[] = [];
  const inits: RequestInit[] = [];
  const f = (url: string, init: RequestInit) => {
    urls.push(url);
    inits.push(init);
    return Promise.resolve().then(answer);
  };
  return Object.assign(f, { urls, inits });
}

// ── whole commands through cli() ───────────────────────────────────────────────────────────────────────

Deno.test("cli: console prints exactly the login URL on out, nothing on err; the region picks the destination", async () => {
  await using home = await tempHome();
  const fetch = fakeFetch(() => Response.json({ SigninToken: TOKEN }));
  const { deps, calls } = fakeDeps(undefined, { fetch });
  const io = fakeIo({ HOME: home.dir, AWS_REGION: "eu-central-1" });
  assert.equal(await cli(["console", "--role-arn", ROLE], io, deps), 0, io.stderr.join("\n"));
  assert.deepEqual(io.stderr, []);
  assert.deepEqual(io.stdout, [
    "https://signin.aws.amazon.com/federation?Action=login&Issuer=credproc" +
    "&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Deu-central-1" +
    "&SigninToken=Tok-en_0123456789abcdefghij%2B%2F%3D\n",
  ]);
  assert.equal(calls.length, 1);
  assert.equal(fetch.urls.length, 1);
  assert.equal(
    fetch.urls[0],
    `https://signin.aws.amazon.com/federation?Action=getSigninToken&Session=${
      encodeURIComponent(SESSION_JSON)
    }`,
  );
});

Deno.test("cli: console's bad input ends before STS and the federation call (exit 2, one line and a hint)", async () => {
  await using home = await tempHome();
  for (
    const [argv, env, first] of [
      [
        ["console", "--role-arn", ROLE, "--destination", "https://console.amazonaws.cn/"],
        {},
        /^credproc: --destination: console\.amazonaws\.cn is a console of partition aws-cn, but the role is in aws$/,
      ],
      [
        ["console", "--role-arn", "arn:aws-cn:iam::123456789012:role/r"],
        { AWS_REGION: "eu-west-1" },
        /^credproc: console: the role .* is in partition aws-cn, but the region eu-west-1 is in aws$/,
      ],
      [
        ["console", "--role-arn", ROLE],
        { CREDPROC_SIGNIN_URL: "https://evil.test/federation" },
        /^credproc: CREDPROC_SIGNIN_URL: host evil\.test is not a console sign-in endpoint/,
      ],
    ] as const
  ) {
    const fetch = fakeFetch(() => Response.json({ SigninToken: TOKEN }));
    const { deps, calls } = fakeDeps(undefined, { fetch });
    const io = fakeIo({ HOME: home.dir, ...env });
    assert.equal(await cli([...argv], io, deps), 2, io.stderr.join("\n"));
    assert.deepEqual(io.stdout, []);
    assert.equal(io.stderr.length, 2, io.stderr.join("\n"));
    assert.match(io.stderr[0], first);
    assert.match(io.stderr[1], /^hint: /);
    assert.equal(calls.length, 0);
    assert.equal(fetch.urls.length, 0);
  }
});
