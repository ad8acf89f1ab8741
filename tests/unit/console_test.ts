/**
 * `credproc console` without a network: the partition and destination rules, the sign-in endpoint and its
 * override, the two URLs byte for byte, the federation answer's validation with a fake fetch, and whole
 * `console` commands through `cli()` with fake STS and fetch.
 */
import assert from "node:assert/strict";
import { cli } from "../../lib/cli/cli.ts";
import { parseCommand } from "../../lib/cli/args.ts";
import { CredprocError, NetworkError, SandboxError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import type { Credentials } from "../../lib/model.ts";
import { createDeadline } from "../../lib/providers/deadline.ts";
import {
  checkDestinationPartition,
  consolePartition,
  defaultDestination,
  type Fetch,
  getSigninToken,
  loginUrl,
  MAX_SIGNIN_ANSWER_BYTES,
  parseSigninAnswer,
  regionPartition,
  signinEndpoint,
  signinTokenUrl,
  validateDestination,
} from "../../lib/providers/signin.ts";
import {
  endpointProblem,
  isAllowedHost,
  SIGNIN_HOSTS,
  signinEndpointProblem,
  signinTokenEndpointProblem,
} from "../../lib/sandbox.ts";
import { fakeIo } from "../support/fake_io.ts";
import { fakeDeps } from "../support/fake_deps.ts";
import { tempHome } from "../support/helpers.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const ROLE = "arn:aws:iam::123456789012:role/deploy";
const CREDS: Credentials = {
  accessKeyId: "ASIAFAKEASSUMED00001",
  secretAccessKey: "fakeAssumedSecret/0123456789+abcdefghijA",
  sessionToken: "IQoJb3JpZ2luX2VjEFakeSessionToken0123456789+/abcdef==",
  expiration: new Date(NOW + 3600_000),
};
const TOKEN = "Tok-en_0123456789abcdefghij+/=";
const SESSION_JSON =
  '{"sessionId":"ASIAFAKEASSUMED00001","sessionKey":"fakeAssumedSecret/0123456789+abcdefghijA",' +
  '"sessionToken":"IQoJb3JpZ2luX2VjEFakeSessionToken0123456789+/abcdef=="}';

function throwsCode(f: () => unknown, code: 1 | 2, what: string, message: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof CredprocError, String(e));
    assert.equal(e.exitCode, code);
    assert.equal(e.what, what);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("console: the partition comes from the role ARN, and the region must be in it", () => {
  assert.equal(consolePartition(ROLE, "eu-west-1"), "aws");
  assert.equal(consolePartition("arn:aws-us-gov:iam::123456789012:role/r", "us-gov-west-1"), "aws-us-gov");
  assert.equal(consolePartition("arn:aws-cn:iam::123456789012:role/r", "cn-northwest-1"), "aws-cn");
  throwsCode(
    () => consolePartition("arn:aws-cn:iam::123456789012:role/r", "us-east-1"),
    2,
    "console",
    /^the role arn:aws-cn:iam::123456789012:role\/r is in partition aws-cn, but the region us-east-1 is in aws$/,
  );
  throwsCode(
    () => consolePartition("arn:aws-iso:iam::123456789012:role/r", "us-iso-east-1"),
    2,
    "console",
    /is in partition aws-iso, which has no console sign-in endpoint credproc knows$/,
  );
  assert.deepEqual(
    ["us-east-1", "cn-north-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1"].map(
      regionPartition,
    ),
    ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e"],
  );
});

Deno.test("console: the default destination is the console home of the region, per partition", () => {
  assert.equal(
    defaultDestination("aws", "eu-west-1"),
    "https://console.aws.amazon.com/console/home?region=eu-west-1",
  );
  assert.equal(
    defaultDestination("aws-us-gov", "us-gov-west-1"),
    "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
  );
  assert.equal(
    defaultDestination("aws-cn", "cn-north-1"),
    "https://console.amazonaws.cn/console/home?region=cn-north-1",
  );
});

Deno.test("console: --destination is an https URL on a console host of aws, aws-us-gov or aws-cn", () => {
  for (
    const [given, normalised] of [
      ["https://console.aws.amazon.com/", "https://console.aws.amazon.com/"],
      [
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:",
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#Instances:",
      ],
      ["https://S3.Console.AWS.Amazon.com/s3/buckets", "https://s3.console.aws.amazon.com/s3/buckets"],
      ["https://console.amazonaws-us-gov.com/iam", "https://console.amazonaws-us-gov.com/iam"],
      ["https://console.amazonaws.cn", "https://console.amazonaws.cn/"],
    ]
  ) {
    assert.equal(validateDestination(given), normalised, given);
  }
  for (
    const [bad, why] of [
      ["console.aws.amazon.com", /is not a URL$/],
      ["http://console.aws.amazon.com/", /must use https$/],
      ["https://evil.test/", /^host evil\.test is not an AWS console host$/],
      ["https://console.aws.amazon.com.evil.test/", /is not an AWS console host$/],
      ["https://evilconsole.aws.amazon.com/", /is not an AWS console host$/],
      ["https://signin.aws.amazon.com/federation", /is not an AWS console host$/],
      ["https://console.aws.amazon.com@evil.test/", /^must not contain credentials$/],
      ["https://user:pw@console.aws.amazon.com/", /must not contain credentials$/],
      ["https://console.aws.amazon.com:8443/", /must not name a port$/],
      ["javascript:alert(1)", /must use https$/],
      ["https://console.aws.amazon.com/\n\u001b[31m", /^must not contain spaces or control characters/],
      ["https://console.aws.amazon.com/a b", /^must not contain spaces or control characters/],
      ["https://console.aws.amazon.com/\u202e", /^must not contain spaces or control characters/],
      [`https://console.aws.amazon.com/${"a".repeat(2048)}`, /^longer than 2048 characters$/],
    ] as const
  ) {
    throwsCode(() => validateDestination(bad), 2, "--destination", why);
  }
  checkDestinationPartition("https://eu-west-1.console.aws.amazon.com/", "aws");
  throwsCode(
    () => checkDestinationPartition("https://console.amazonaws.cn/", "aws"),
    2,
    "--destination",
    /^console\.amazonaws\.cn is a console of partition aws-cn, but the role is in aws$/,
  );
});

Deno.test("console: the sign-in endpoint is the partition's, or CREDPROC_SIGNIN_URL on loopback", () => {
  assert.equal(signinEndpoint("aws", undefined).href, "https://signin.aws.amazon.com/federation");
  assert.equal(signinEndpoint("aws-us-gov", "").href, "https://signin.amazonaws-us-gov.com/federation");
  assert.equal(signinEndpoint("aws-cn", undefined).href, "https://signin.amazonaws.cn/federation");
  assert.equal(signinEndpoint("aws", "http://127.0.0.1:9/federation").href, "http://127.0.0.1:9/federation");
  assert.equal(signinEndpoint("aws", "http://localhost:9/x").href, "http://localhost:9/x");
  assert.equal(
    signinEndpoint("aws", "https://signin.aws.amazon.com/federation").href,
    "https://signin.aws.amazon.com/federation",
  );
  for (
    const [bad, why] of [
      ["https://evil.test/federation", /^host evil\.test is not a console sign-in endpoint/],
      ["https://eu-west-1.signin.aws.amazon.com/federation", /is not a console sign-in endpoint/],
      ["https://sts.amazonaws.com/federation", /is not a console sign-in endpoint/],
      ["http://signin.aws.amazon.com/federation", /^must be https:\/\/signin\.aws\.amazon\.com\/federation$/],
      [
        "https://signin.aws.amazon.com:444/federation",
        /^must be https:\/\/signin\.aws\.amazon\.com\/federation$/,
      ],
      ["https://signin.aws.amazon.com/other", /^must be https:\/\/signin\.aws\.amazon\.com\/federation$/],
      ["https://signin.aws.amazon.com./federation", /is not a console sign-in endpoint/],
      ["http://127.0.0.1:9/federation?x=1", /^must not have a query or a fragment$/],
      ["http://u:p@127.0.0.1:9/", /^must not contain credentials$/],
      ["ftp://127.0.0.1/", /must use http or https$/],
      ["not a url", /is not a URL$/],
    ] as const
  ) {
    throwsCode(() => signinEndpoint("aws", bad), 2, "CREDPROC_SIGNIN_URL", why);
  }
});

Deno.test("sandbox: the sign-in hosts are allowed exactly, and are no STS endpoint", () => {
  assert.deepEqual(SIGNIN_HOSTS, [
    "signin.aws.amazon.com",
    "signin.amazonaws-us-gov.com",
    "signin.amazonaws.cn",
  ]);
  for (const h of SIGNIN_HOSTS) {
    assert.ok(isAllowedHost(h), h);
    assert.equal(signinEndpointProblem(`https://${h}/federation`), undefined, h);
    assert.match(endpointProblem(`https://${h}/`) ?? "", /is not an STS, SSO or SSO-OIDC endpoint/, h);
  }
  for (
    const h of ["aws.amazon.com", "signin.aws.amazon.com.evil.test", "console.aws.amazon.com", "signin.aws"]
  ) {
    assert.ok(!isAllowedHost(h), h);
  }
  // Names under signin.aws.amazon.com are AWS's own: the outer wall allows them (the aws login token hosts,
  // `REGION.signin.aws.amazon.com`), the inner checks only the regional shape (tests/unit/login_test.ts).
  assert.ok(isAllowedHost("evil.signin.aws.amazon.com"));
  assert.match(
    signinTokenEndpointProblem("https://evil.signin.aws.amazon.com/") ?? "",
    /not a regional sign-in endpoint/,
  );
  assert.match(
    signinEndpointProblem("https://eu-west-1.signin.aws.amazon.com/federation") ?? "",
    /not a console sign-in endpoint/,
  );
});

Deno.test("console: the GetSigninToken and login URLs, byte for byte", () => {
  const endpoint = new URL("https://signin.aws.amazon.com/federation");
  const url = signinTokenUrl(endpoint, CREDS);
  assert.equal(
    url,
    `https://signin.aws.amazon.com/federation?Action=getSigninToken&Session=${
      encodeURIComponent(SESSION_JSON)
    }`,
  );
  const params = [...new URL(url).searchParams];
  assert.deepEqual(params.map(([k]) => k), ["Action", "Session"], "no SessionDuration");
  assert.deepEqual(Object.keys(JSON.parse(params[1][1])), ["sessionId", "sessionKey", "sessionToken"]);
  assert.equal(
    loginUrl(endpoint, "https://console.aws.amazon.com/console/home?region=eu-west-1", TOKEN),
    "https://signin.aws.amazon.com/federation?Action=login&Issuer=credproc" +
      "&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Deu-west-1" +
      "&SigninToken=Tok-en_0123456789abcdefghij%2B%2F%3D",
  );
});

Deno.test("console: the federation answer must be a JSON object with a sane SigninToken", () => {
  assert.equal(parseSigninAnswer(JSON.stringify({ SigninToken: TOKEN }), 200), TOKEN);
  for (
    const bad of [
      "",
      "not json",
      "[]",
      "null",
      '"SigninToken"',
      "{}",
      '{"SigninToken":42}',
      '{"signintoken":"abcdefghijklmnopqrstuvwxyz"}',
      '{"SigninToken":"short"}',
      `{"SigninToken":"${"a".repeat(16385)}"}`,
      '{"SigninToken":"abcdefghijklmnop\\nq; rm -rf ~"}',
      '{"SigninToken":"abcdefghijklmnop\\u001b[31m"}',
    ]
  ) {
    assert.throws(() => parseSigninAnswer(bad, 200), (e: unknown) => {
      assert.ok(e instanceof NetworkError, String(e));
      assert.equal(e.exitCode, 1);
      assert.equal(e.what, "console");
      assert.ok(!e.message.includes("rm -rf") && !e.message.includes("abcdefghijklmnop"), e.message);
      return true;
    }, bad);
  }
});

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

async function tokenWith(fetch: Fetch, timeoutMs = 20_000): Promise<string> {
  const log = createLogger(false, () => {});
  return await getSigninToken(new URL("https://signin.aws.amazon.com/federation"), CREDS, {
    fetch,
    deadline: createDeadline(timeoutMs),
    log,
  });
}

async function failsWith(fetch: Fetch, message: RegExp, timeoutMs?: number): Promise<CredprocError> {
  let caught: unknown;
  try {
    await tokenWith(fetch, timeoutMs);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof CredprocError, String(caught));
  assert.equal(caught.exitCode, 1);
  assert.equal(caught.what, "console");
  assert.match(caught.message, message);
  return caught;
}

Deno.test("console: GetSigninToken with a fake fetch — one GET, no redirect followed, the token back", async () => {
  const fetch = fakeFetch(() => Response.json({ SigninToken: TOKEN }));
  assert.equal(await tokenWith(fetch), TOKEN);
  assert.deepEqual(fetch.urls, [signinTokenUrl(new URL("https://signin.aws.amazon.com/federation"), CREDS)]);
  assert.equal(fetch.inits[0].method, "GET");
  assert.equal(fetch.inits[0].redirect, "manual");
  assert.ok(fetch.inits[0].signal instanceof AbortSignal);
});

Deno.test("console: GetSigninToken failures are one typed error each, exit 1, nothing of the body echoed", async () => {
  const html = (status: number) => () => new Response("<html>SECRET-ISH body</html>", { status });
  const e400 = await failsWith(
    fakeFetch(html(400)),
    /^the sign-in endpoint refused the role's credentials \(HTTP 400\)$/,
  );
  assert.match(e400.hint ?? "", /--refresh/);
  await failsWith(fakeFetch(html(403)), /^the sign-in endpoint refused the role's credentials \(HTTP 403\)$/);
  await failsWith(fakeFetch(html(500)), /^the sign-in endpoint failed with HTTP 500$/);
  await failsWith(fakeFetch(html(503)), /^the sign-in endpoint failed with HTTP 503$/);
  await failsWith(
    fakeFetch(() => new Response(null, { status: 302, headers: { location: "https://evil.test/" } })),
    /^the sign-in endpoint answered HTTP 302 \(a redirect, not followed\)$/,
  );
  await failsWith(
    fakeFetch(() => new Response("<html>hi</html>")),
    /^the sign-in endpoint answered HTTP 200 without a SigninToken$/,
  );
  // Declared too large: refused before reading; streamed too large: refused at the cap.
  await failsWith(
    fakeFetch(() =>
      new Response("{}", { headers: { "content-length": String(MAX_SIGNIN_ANSWER_BYTES + 1) } })
    ),
    /^the sign-in endpoint's answer is larger than 64 KiB$/,
  );
  let pulled = 0;
  const endless = () =>
    new Response(
      new ReadableStream<Uint8Array>({
        pull(c) {
          pulled++;
          c.enqueue(new Uint8Array(16 * 1024).fill(0x41));
        },
      }),
    );
  await failsWith(fakeFetch(endless), /^the sign-in endpoint's answer is larger than 64 KiB$/);
  assert.ok(pulled <= 6, `stopped reading at the cap (${pulled} chunks)`);
  // Deno's message names the request URL, Session (the credentials) included: none of it is repeated.
  const refused = await failsWith(
    () =>
      Promise.reject(
        new TypeError(
          `error sending request for url (${
            signinTokenUrl(new URL("https://signin.aws.amazon.com/federation"), CREDS)
          }): Connection refused (os error 111)`,
        ),
      ),
    /^cannot reach signin\.aws\.amazon\.com: connection refused$/,
  );
  assert.ok(refused instanceof NetworkError);
  await failsWith(
    () => Promise.reject(new TypeError("Fetch failed: Requests to port 1 are blocked")),
    /^cannot reach signin\.aws\.amazon\.com: fetch refuses port 1 \(a port browsers block\)$/,
  );
  const sandboxed = await failsWith(
    () => Promise.reject(new Deno.errors.NotCapable('Requires net access to "signin.aws.amazon.com:443"')),
    /^signin\.aws\.amazon\.com is outside the allowed endpoints$/,
  );
  assert.ok(sandboxed instanceof SandboxError);
});

Deno.test("console: a hung federation endpoint ends within --timeout, and the request is aborted", async () => {
  let aborted = false;
  const hang: Fetch = (_url, init) =>
    new Promise((_, reject) => {
      init.signal?.addEventListener("abort", () => {
        aborted = true;
        reject(new DOMException("aborted", "AbortError"));
      });
    });
  const started = performance.now();
  const e = await failsWith(hang, /^no answer within 0\.2 s \(--timeout\)$/, 200);
  assert.ok(performance.now() - started < 5_000);
  assert.match(e.hint ?? "", /--timeout/);
  assert.ok(aborted, "the fetch was aborted");
});

Deno.test("console: the token is registered as a secret with the logger", async () => {
  const lines: string[] = [];
  const log = createLogger(true, (l) => lines.push(l));
  const token = await getSigninToken(new URL("http://127.0.0.1:9/federation"), CREDS, {
    fetch: fakeFetch(() => Response.json({ SigninToken: TOKEN })),
    deadline: createDeadline(20_000),
    log,
  });
  assert.equal(log.scrub(`x ${token} y`), "x [redacted] y");
  assert.equal(log.scrub(CREDS.sessionToken!), "[redacted]");
  assert.ok(lines.length > 0 && lines.every((l) => !l.includes(TOKEN) && !l.includes(CREDS.secretAccessKey)));
});

Deno.test("args: console refuses --format and --include-account-id, validates --destination", () => {
  const parsed = parseCommand([
    "console",
    "--role-arn",
    ROLE,
    "--destination",
    "https://console.aws.amazon.com",
  ]);
  assert.equal(parsed.kind, "console");
  assert.equal(parsed.kind === "console" && parsed.destination, "https://console.aws.amazon.com/");
  for (
    const [argv, what] of [
      [["console", "--role-arn", ROLE, "--format", "env"], "--format"],
      [["console", "--role-arn", ROLE, "--include-account-id"], "--include-account-id"],
      [["console", "--role-arn", ROLE, "--destination", "https://evil.test/"], "--destination"],
      [["console", "--role-arn", ROLE, "--destination", ""], "--destination"],
      [["--role-arn", ROLE, "--destination", "https://console.aws.amazon.com/"], "--destination"],
    ] as const
  ) {
    assert.throws(() => parseCommand([...argv]), (e: unknown) => {
      assert.ok(e instanceof CredprocError);
      assert.equal(e.exitCode, 2);
      assert.equal(e.what, what);
      return true;
    }, argv.join(" "));
  }
});

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
