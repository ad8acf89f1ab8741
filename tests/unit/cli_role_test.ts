/**
 * lib/cli/role.ts: `roleProvider`, the one cached provider `assume`, `console` and `serve` use — the plan, the
 * call's cache session and the chain, with fake collaborators and a temp cache directory.
 */
import assert from "node:assert/strict";
import { scanArgv } from "../../lib/argv.ts";
import { roleProvider, snapshotEnv } from "../../lib/cli/role.ts";
import { ConfigError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { fakeIo } from "../support/fake_io.ts";
import { FAKE_ASSUMED, FAKE_NOW, FAKE_SOURCE, fakeDeps } from "../support/fake_deps.ts";
import { tempHome } from "../support/helpers.ts";
import { assumeOptions } from "../support/options.ts";
import { statsOf } from "../support/stat_spy.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
const SERIAL = "arn:aws:iam::123456789012:mfa/me";

/** A logger collecting its lines, marked as writing (or not) to a log file as cli.ts marks it. */
function logger(toFile = false) {
  const lines: string[] = [];
  return { lines, log: Object.assign(createLogger(true, (l) => lines.push(l)), { toFile }) };
}

/** The names in `dir` that match `re`. */
function files(dir: string, re: RegExp): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => re.test(n)).sort();
}

Deno.test("role: one cache session per call — the cache directory is examined once, --mfa-session included", async () => {
  await using home = await tempHome();
  await Deno.mkdir(home.cacheDir, { mode: 0o700 });
  const args = ["--role-arn", ROLE, "--serial-number", SERIAL, "--mfa-session", "--token-code", "123456"];
  const io = fakeIo({ CREDPROC_CACHE_DIR: home.cacheDir, AWS_ACCESS_KEY_ID: FAKE_SOURCE.accessKeyId });
  const { deps, calls, sessions } = fakeDeps();
  const { log } = logger();
  const stats = await statsOf(home.cacheDir, async () => {
    const { provider } = await roleProvider(assumeOptions(...args), { argv: scanArgv(args), io, deps, log }, {
      memo: "assume",
    });
    // Fresh from the call, as from the entry: with the time they were issued (serve's margin needs it).
    assert.deepEqual(await provider(), { ...FAKE_ASSUMED, issuedAt: new Date(FAKE_NOW) });
  });
  assert.equal(stats, 1, "the directory was judged more than once in one call");
  assert.equal(calls.length, 1);
  assert.equal(sessions.length, 1);
  // Both entries and the digest key were written there (the memo is not: the watched files are brand new).
  assert.equal(files(home.cacheDir, /^[0-9a-f]{64}\.json$/).length, 2);
  assert.deepEqual(files(home.cacheDir, /^digest\.key$/), ["digest.key"]);
});

Deno.test("role: only assume leaves the fast path's memo; not under --verbose, with a log file, or for console/serve", async () => {
  await using home = await tempHome();
  // The watched files (the shared config and credentials files) predate the call (the fake clock's): a memo
  // may be written.
  const past = new Date(FAKE_NOW - 3600_000);
  for (const f of [home.configFile, home.credentialsFile]) {
    await Deno.writeTextFile(f, "");
    await Deno.utime(f, past, past);
  }
  const env = {
    CREDPROC_CACHE_DIR: home.cacheDir,
    AWS_CONFIG_FILE: home.configFile,
    AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile,
    AWS_ACCESS_KEY_ID: FAKE_SOURCE.accessKeyId,
  };
  const { deps } = fakeDeps();
  const memos = () => files(home.cacheDir, /\.inputs\.json$/).length;
  const call = async (args: string[], assume: boolean, toFile = false) => {
    const all = ["--role-arn", ROLE, ...args];
    const { provider } = await roleProvider(
      assumeOptions(...all),
      { argv: scanArgv(all), io: fakeIo(env), deps, log: logger(toFile).log },
      { memo: assume ? "assume" : undefined },
    );
    await provider();
  };
  await call([], false); // console, serve
  assert.equal(memos(), 0);
  await call(["--verbose"], true);
  assert.equal(memos(), 0);
  await call([], true, true); // CREDPROC_LOG_FILE or --log-file
  assert.equal(memos(), 0);
  await call([], true); // assume
  assert.equal(memos(), 1);
});

Deno.test("role: the environment is read once, and a value that is not UTF-8 is bad input, named", () => {
  let reads = 0;
  const io = {
    ...fakeIo({ AWS_REGION: "eu-west-1" }),
    getEnv: (name: string) => {
      reads++;
      if (name === "AWS_PROFILE") throw new TypeError("invalid data");
      return name === "AWS_REGION" ? "eu-west-1" : undefined;
    },
  };
  assert.throws(
    () => snapshotEnv(io, []),
    (e: unknown) => e instanceof ConfigError && e.what === "AWS_PROFILE",
  );
  const ok = snapshotEnv({ ...io, getEnv: (n) => (reads++, n === "AWS_REGION" ? "eu-west-1" : undefined) }, [
    "X",
  ]);
  assert.equal(ok.AWS_REGION, "eu-west-1");
  assert.ok("X" in ok, "the extra variable (a web identity token's) is read with the rest");
  assert.ok(reads > 0);
});
