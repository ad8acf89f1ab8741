/**
 * The first hour of a new user, with the real program: each command's own usage, bare `credproc`, a
 * did-you-mean for a mistyped cache command and profile name, the hint for a refused connection, and
 * `cache clear` forgetting the failure record. Exact stdout, stderr lines and exit codes.
 */
import assert from "node:assert/strict";
import { freePort, ROLE, runCredproc, tempHome } from "../support/helpers.ts";
import { standinArgs, standinEnv } from "../support/standin_call.ts";
import { startStandin } from "../support/sts_standin/mod.ts";
import {
  CACHE_CLEAR_USAGE,
  CACHE_LIST_USAGE,
  CACHE_USAGE,
  CONSOLE_USAGE,
  SERVE_USAGE,
  SHORT_USAGE,
  USAGE,
} from "../../lib/cli/usage.ts";
import { mapStsError } from "../../lib/providers/sts_errors.ts";

Deno.test("first hour: each command has its own usage, on stdout, exit 0", async () => {
  await using home = await tempHome();
  const pages: [string[], string][] = [
    [["console", "--help"], CONSOLE_USAGE],
    [["help", "console"], CONSOLE_USAGE],
    [["serve", "--help"], SERVE_USAGE],
    [["serve", "-h", "--port", "nonsense"], SERVE_USAGE],
    [["cache", "--help"], CACHE_USAGE],
    [["cache"], CACHE_USAGE],
    [["cache", "list", "--help"], CACHE_LIST_USAGE],
    [["cache", "clear", "--help"], CACHE_CLEAR_USAGE],
    [["help", "cache", "clear"], CACHE_CLEAR_USAGE],
    [["--help"], USAGE],
    [["help"], USAGE],
  ];
  for (const [argv, page] of pages) {
    const r = await runCredproc(argv, home.env());
    assert.deepEqual([r.code, r.stderr, r.stdout], [0, "", page], argv.join(" "));
  }
  // Short pages, each naming its own command first; the whole page stays the whole page.
  for (
    const [page, first] of [
      [CONSOLE_USAGE, "Usage: credproc console [role options] [--destination URL]"],
      [SERVE_USAGE, "Usage: credproc serve [role options] [--port N] [--token-file PATH]"],
      [CACHE_LIST_USAGE, "  credproc cache list [--json] [--cache-dir DIR]"],
      [CACHE_CLEAR_USAGE, "  credproc cache clear [--cache-dir DIR] [-v]"],
    ]
  ) {
    assert.ok(page.includes(`${first}\n`), first);
    assert.ok(page.split("\n").length <= 20, `${first}: ${page.split("\n").length} lines`);
  }
  assert.ok(USAGE.split("\n").length > 80);
});

Deno.test("first hour: bare credproc prints the short usage on stderr, exit 2, even with AWS_PROFILE set", async () => {
  await using home = await tempHome();
  await home.writeConfig("[default]\nregion = eu-west-1\n");
  for (const extra of [{}, { AWS_PROFILE: "default" }] as Record<string, string>[]) {
    const r = await runCredproc([], home.env(extra));
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, SHORT_USAGE);
  }
  assert.deepEqual(SHORT_USAGE.split("\n").slice(0, 3), [
    "credproc — assume an AWS role and print credentials for credential_process",
    "",
    "Usage:",
  ]);
  assert.match(
    SHORT_USAGE,
    /^ {2}credential_process = credproc --profile default --role-arn arn:aws:iam::123456789012:role\/deploy$/m,
  );
});

Deno.test("first hour: cache frob and a mistyped profile get a did-you-mean", async () => {
  await using home = await tempHome();
  const frob = await runCredproc(["cache", "frob"], home.env());
  assert.equal(frob.code, 2);
  assert.equal(frob.stdout, "");
  assert.deepEqual(frob.lines, [
    'credproc: bad arguments: unexpected argument "frob"',
    "hint: did you mean credproc cache list or credproc cache clear?",
  ]);

  await home.writeConfig("[profile prod]\nregion = eu-west-1\n[profile staging]\nregion = eu-west-1\n");
  await home.writeCredentials(
    "[default]\naws_access_key_id = AKIAEXAMPLE000000001\naws_secret_access_key = x\n",
  );
  const notFound = `not found in ${home.configFile} or ${home.credentialsFile}`;
  const cases: [string[], Record<string, string>, string[]][] = [
    [["--profile", "prd"], {}, [`credproc: profile prd: ${notFound}`, "hint: did you mean --profile prod?"]],
    [["--profile", "defualt", "--role-arn", ROLE], {}, [
      `credproc: profile defualt: ${notFound}`,
      "hint: did you mean --profile default?",
    ]],
    [["--role-arn", ROLE], { AWS_PROFILE: "stagign" }, [
      `credproc: profile stagign: ${notFound} (named by AWS_PROFILE)`,
      "hint: did you mean AWS_PROFILE=staging?",
    ]],
    [["--profile", "qa"], {}, [
      `credproc: profile qa: ${notFound}`,
      "hint: check the name, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE",
    ]],
  ];
  for (const [argv, env, lines] of cases) {
    const r = await runCredproc(argv, home.env(env));
    assert.deepEqual([r.code, r.stdout, r.lines], [2, "", lines], argv.join(" "));
  }
});

Deno.test("first hour: a refused connection's hint names only what credproc does with proxies", async () => {
  await using home = await tempHome();
  const port = freePort();
  const env = home.env({
    AWS_ACCESS_KEY_ID: "AKIAEXAMPLE000000001",
    AWS_SECRET_ACCESS_KEY: "x",
    // Set, and still not used: loopback and plain http are always reached directly.
    HTTPS_PROXY: `http://127.0.0.1:${freePort()}`,
    HTTP_PROXY: `http://127.0.0.1:${freePort()}`,
  });
  for (const url of [`http://127.0.0.1:${port}`, `https://127.0.0.1:${port}`, `http://localhost:${port}`]) {
    const r = await runCredproc(["--role-arn", ROLE, "--endpoint-url", url, "--no-cache"], env);
    const host = url.replace(/^\w+:\/\//, "");
    assert.deepEqual([r.code, r.stdout, r.lines], [1, "", [
      `credproc: AssumeRole ${ROLE}: cannot connect to ${host}: connection refused`,
      "hint: nothing listens there: check --endpoint-url (plain http, loopback and metadata addresses are always reached directly, never through a proxy)",
    ]], url);
  }
});

Deno.test("first hour: a refused https endpoint beyond loopback may be HTTPS_PROXY's proxy, named as such", () => {
  // What Deno's fetch throws when HTTPS_PROXY names a port nobody listens on: the endpoint's URL, refused
  // (the connection that failed is the proxy's). Reproducing it needs the STS host's name looked up, which
  // the suite's DNS tripwire forbids; the text is Deno 2.9's.
  const refused = (url: string) =>
    new TypeError("fetch failed", {
      cause: new Error(
        `error sending request for url (${url}): client error (Connect): tcp connect error: Connection refused (os error 111)`,
      ),
    });
  const e = mapStsError(refused("https://sts.us-east-1.amazonaws.com/"), "AssumeRole r", {
    timeoutMs: 20000,
  });
  assert.deepEqual([e.exitCode, e.message, e.hint], [
    1,
    "cannot connect to sts.us-east-1.amazonaws.com: connection refused",
    "nothing listens there, or the proxy HTTPS_PROXY names is down (https endpoints go through it unless NO_PROXY matches): check --endpoint-url, HTTPS_PROXY and NO_PROXY",
  ]);
  for (const url of ["http://sts.us-east-1.amazonaws.com/", "https://[::1]:9/", "http://169.254.169.254/"]) {
    assert.equal(
      mapStsError(refused(url), "AssumeRole r", { timeoutMs: 20000 }).hint,
      "nothing listens there: check --endpoint-url (plain http, loopback and metadata addresses are always reached directly, never through a proxy)",
      url,
    );
  }
});

Deno.test("first hour: cache clear removes the failure record too, and says so", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const env = standinEnv(home, standin);
  assert.equal((await runCredproc(standinArgs(standin), env)).code, 0);
  const failed = await runCredproc(["--role-arn", "not-an-arn"], env);
  assert.equal(failed.code, 2);
  const listed = await runCredproc(["cache", "list"], env);
  assert.match(listed.stdout, /^recent failures \(newest last\):$/m);
  assert.ok(
    listed.stdout.includes('credproc: --role-arn: "not-an-arn" is not an IAM role ARN'),
    listed.stdout,
  );

  const cleared = await runCredproc(["cache", "clear"], env);
  assert.deepEqual([cleared.code, cleared.stderr, cleared.stdout], [
    0,
    "",
    `credproc: removed 1 cache entry and the failure record from ${home.cacheDir}\n`,
  ]);
  const after = await runCredproc(["cache", "list"], env);
  assert.match(after.stdout, /^no recorded failures$/m);
  assert.deepEqual([...Deno.readDirSync(home.cacheDir)].map((e) => e.name), []);
  // Nothing left to say the second time.
  const again = await runCredproc(["cache", "clear"], env);
  assert.equal(again.stdout, `credproc: removed 0 cache entries from ${home.cacheDir}\n`);
});
