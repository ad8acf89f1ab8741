/**
 * lib/cli/cli.ts with fake I/O and fake collaborators: what reaches stdout and stderr, and the exit code, for
 * whole commands (`assume` hit, miss and failure, `cache list`, `cache clear`) — no subprocess, no network,
 * no terminal; the cache is a temp directory.
 */
import assert from "node:assert/strict";
import { cli, reportUncaught } from "../../lib/cli/cli.ts";
import { escapeControls as printable } from "../../lib/output.ts";
import { StsError } from "../../lib/errors.ts";
import { VERSION } from "../../lib/cli/version.ts";
import { SHORT_USAGE } from "../../lib/cli/usage.ts";
import { fakeIo } from "../support/fake_io.ts";
import { FAKE_NOW as NOW, FAKE_SOURCE as SOURCE, fakeDeps } from "../support/fake_deps.ts";
import { tempHome } from "../support/helpers.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
/** What `render(ASSUMED, "process")` must print, byte for byte. */
const ASSUMED_JSON = `{
  "AccessKeyId": "ASIAFAKEASSUMED00001",
  "SecretAccessKey": "fakeAssumedSecret/0123456789+abcdefghijA",
  "SessionToken": "IQoJb3JpZ2luX2VjEFakeSessionToken0123456789+/abcdef==",
  "Expiration": "2026-11-25T13:00:00Z",
  "Version": 1
}
`;

Deno.test("cli: --version goes to out, nothing to err, exit 0", async () => {
  const io = fakeIo();
  assert.equal(await cli(["--version"], io, fakeDeps().deps), 0);
  assert.deepEqual(io.stdout, [`credproc ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})\n`]);
  assert.deepEqual(io.stderr, []);
});

Deno.test("cli: bad input is one credproc: line and a hint line on err, nothing on out, exit 2", async () => {
  const io = fakeIo();
  assert.equal(
    await cli(
      ["--role-arn", "arn:aws:iam::123456789012:role/x", "--duration-seconds", "soon"],
      io,
      fakeDeps().deps,
    ),
    2,
  );
  assert.deepEqual(io.stdout, []);
  assert.deepEqual(io.stderr, [
    'credproc: --duration-seconds: "soon" is not a whole number from 900 to 43200',
    "hint: run credproc --help for usage",
  ]);
});

Deno.test("cli: no role anywhere names the missing flag (the environment is io's)", async () => {
  const io = fakeIo({ AWS_ROLE_ARN: "" });
  assert.equal(await cli(["--region", "us-east-1"], io, fakeDeps().deps), 2);
  assert.deepEqual(io.stdout, []);
  assert.match(io.stderr[0], /^credproc: --role-arn: required/);
});

Deno.test("cli: bare credproc, no arguments at all: the short usage on err, nothing on out, exit 2", async () => {
  // Even with a role the environment could name: no arguments is a first try, not a call.
  const io = fakeIo({ AWS_PROFILE: "prod", AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/x" });
  const { deps, calls } = fakeDeps();
  assert.equal(await cli([], io, deps), 2);
  assert.deepEqual(io.stdout, []);
  assert.deepEqual(io.stderr, SHORT_USAGE.trimEnd().split("\n"));
  assert.equal(io.stderr[0], "credproc — assume an AWS role and print credentials for credential_process");
  assert.deepEqual(calls, []);
});

Deno.test("cli: control characters in reported input are escaped, one line", async () => {
  const io = fakeIo();
  assert.equal(await cli(["--role-arn", "bad\nrole\u001b[31m"], io, fakeDeps().deps), 2);
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

Deno.test("cli: assume, cache miss then hit: STS called once, the same exact document both times", async () => {
  await using t = await tempHome();
  const env = { HOME: t.dir, AWS_ACCESS_KEY_ID: SOURCE.accessKeyId };
  const { deps, calls, sources } = fakeDeps();
  const argv = ["--role-arn", ROLE, "--role-session-name", "alice", "--region", "eu-west-1"];

  const miss = fakeIo(env);
  assert.equal(await cli(argv, miss, deps), 0);
  assert.deepEqual(miss.stdout, [ASSUMED_JSON]);
  assert.deepEqual(miss.stderr, []);
  assert.equal(calls.length, 1);
  assert.deepEqual(sources.map((s) => s.kind), ["environment"]);
  assert.equal(calls[0].source.accessKeyId, SOURCE.accessKeyId);
  assert.equal(calls[0].params.roleArn, ROLE);
  assert.equal(calls[0].params.roleSessionName, "alice");
  // The endpoint and retries the plan decided reach the STS caller as they are.
  assert.equal(calls[0].config.region, "eu-west-1");
  assert.equal(calls[0].config.maxAttempts, 3);
  assert.equal(calls[0].config.timeoutMs, 20_000);

  const hit = fakeIo(env);
  assert.equal(await cli(argv, hit, deps), 0);
  assert.deepEqual(hit.stdout, [ASSUMED_JSON]);
  assert.deepEqual(hit.stderr, []);
  assert.equal(calls.length, 1, "a hit does not call STS");
  assert.equal(sources.length, 1, "nor resolve the source");

  // The entry sits in the platform cache directory under the fake HOME, with its memo and digest key.
  const names: string[] = [];
  for await (const e of Deno.readDir(`${t.dir}/.cache/credproc`)) names.push(e.name);
  assert.equal(names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).length, 1, names.join());
  assert.equal(names.filter((n) => /\.inputs\.json$/.test(n)).length, 1, names.join());
  assert.ok(names.includes("digest.key"), names.join());
});

Deno.test("cli: assume, STS refuses: one credproc: line, exit 1, nothing on out, nothing cached", async () => {
  await using t = await tempHome();
  const env = { HOME: t.dir, AWS_ACCESS_KEY_ID: SOURCE.accessKeyId };
  const { deps, calls } = fakeDeps(() =>
    Promise.reject(new StsError(`AssumeRole ${ROLE}`, "AccessDenied", "not allowed"))
  );
  const io = fakeIo(env);
  assert.equal(await cli(["--role-arn", ROLE], io, deps), 1);
  assert.deepEqual(io.stdout, []);
  assert.deepEqual(io.stderr, [`credproc: AssumeRole ${ROLE}: AccessDenied: not allowed`]);
  assert.equal(calls.length, 1);
  // The failure is recorded for `cache list` (a consumer may hide stderr); no credentials entry.
  const again = fakeIo(env);
  assert.equal(await cli(["cache", "list", "--json"], again, deps), 0);
  const listing = JSON.parse(again.stdout.join(""));
  assert.deepEqual(listing.entries, []);
  assert.equal(listing.failures.length, 1);
  assert.equal(listing.failures[0].line, io.stderr[0]);
  assert.equal(listing.failures[0].time, new Date(NOW).toISOString());
});

Deno.test("cli: cache list and cache clear on a fake HOME: exact text, clock from deps", async () => {
  await using t = await tempHome();
  const env = { HOME: t.dir, AWS_ACCESS_KEY_ID: SOURCE.accessKeyId };
  const { deps } = fakeDeps();
  const dir = `${t.dir}/.cache/credproc`;
  assert.equal(await cli(["--role-arn", ROLE, "--role-session-name", "alice"], fakeIo(env), deps), 0);

  const list = fakeIo(env);
  assert.equal(await cli(["cache", "list"], list, deps), 0);
  assert.deepEqual(list.stderr, []);
  assert.deepEqual(list.stdout, [
    `cache directory: ${dir}\n` +
    `  usable (owner uid ${Deno.uid()}, mode 0700)\n` +
    "\n" +
    "FOR                                    SESSION  SOURCE       REGION     KEY ID     LEFT   NEXT CALL\n" +
    "arn:aws:iam::123456789012:role/deploy  alice    environment  us-east-1  ASIA…0001  1h00m  served from cache\n" +
    "\n" +
    "no recorded failures\n",
  ]);

  const clear = fakeIo(env);
  assert.equal(await cli(["cache", "clear"], clear, deps), 0);
  assert.deepEqual(clear.stdout, [`credproc: removed 1 cache entry from ${dir}\n`]);
  assert.deepEqual(clear.stderr, []);
  const left: string[] = [];
  for await (const e of Deno.readDir(dir)) left.push(e.name);
  assert.deepEqual(left.filter((n) => !n.endsWith(".lock")), []);
});

Deno.test("cli: cache commands without any cache directory: one line, exit 2", async () => {
  const { deps } = fakeDeps();
  for (const sub of ["list", "clear"]) {
    const io = fakeIo({});
    assert.equal(await cli(["cache", sub], io, deps), 2);
    assert.deepEqual(io.stdout, []);
    assert.deepEqual(io.stderr, [`credproc: cache ${sub}: no cache directory (set HOME or --cache-dir)`]);
  }
});

Deno.test("cli: -v on a miss, then a hit: exactly these lines (`cache: miss` once)", async () => {
  await using t = await tempHome();
  const env = { HOME: t.dir, AWS_ACCESS_KEY_ID: SOURCE.accessKeyId };
  const { deps, calls } = fakeDeps();
  const argv = ["--role-arn", ROLE, "--role-session-name", "alice", "-v"];
  const dir = `${t.dir}/.cache/credproc`;

  const miss = fakeIo(env);
  assert.equal(await cli(argv, miss, deps), 0);
  assert.deepEqual(miss.stdout, [ASSUMED_JSON]);
  const [entry] = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /^[0-9a-f]{64}\.json$/.test(n));
  const path = `${dir}/${entry}`;
  const key = entry.slice(0, -".json".length);
  assert.deepEqual(miss.stderr, [
    "credproc: endpoint: STS in us-east-1 (the SDK's endpoint rules)",
    "credproc: proxy: none (HTTPS_PROXY unset)",
    `credproc: cache: miss ${path} (no entry)`,
    `credproc: cache: lock ${dir}/${key}.lock acquired`,
    "credproc: source credentials (environment): AKIA…0001",
    `credproc: assumed ${ROLE}/s as ASIA…0001 until 2026-11-25T13:00:00.000Z`,
    `credproc: cache: stored ${path} (expires 2026-11-25T13:00:00.000Z)`,
  ]);

  const hit = fakeIo(env);
  assert.equal(await cli(argv, hit, deps), 0);
  assert.deepEqual(hit.stdout, [ASSUMED_JSON]);
  assert.deepEqual(hit.stderr, [
    "credproc: endpoint: STS in us-east-1 (the SDK's endpoint rules)",
    "credproc: proxy: none (HTTPS_PROXY unset)",
    `credproc: cache: hit ${path} (60 min left)`,
  ]);
  assert.equal(calls.length, 1);
});
