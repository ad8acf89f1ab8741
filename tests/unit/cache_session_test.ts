/**
 * lib/cache/session.ts: one call's cache, decided once — the directory judged once, "off" decided once (with
 * its reason), the secrets digested once, the memo decision, the directory verdict `cache list`/`clear` share.
 */
import assert from "node:assert/strict";
import {
  type CacheSessionOptions,
  judgeCacheDir,
  type MemoDecision,
  openCacheSession,
} from "../../lib/cache/session.ts";
import { ConfigError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import type { CredentialProvider, Credentials } from "../../lib/model.ts";
import { emptySharedConfig, resolvePlan } from "../../lib/plan/planner.ts";
import { assumeOptions } from "../support/options.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const ROLE = "arn:aws:iam::123456789012:role/deploy";
const SERIAL = "arn:aws:iam::123456789012:mfa/me";
const UID = Deno.uid();

/** Credentials an hour from NOW; `n` tells calls apart. */
function creds(n: number): Credentials {
  return {
    accessKeyId: `ASIAFAKE${String(n).padStart(12, "0")}`,
    secretAccessKey: `secret-number-${n}`,
    sessionToken: `token-number-${n}`,
    expiration: new Date(NOW + 3600_000),
  };
}

/** A temp directory, its cache directory path, and a session opener for `args` with a line buffer. */
async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "credproc-session-unit-" });
  const cacheDir = `${dir}/cache`;
  const lines: string[] = [];
  let secretReads = 0;
  const open = (args: string[], over: Partial<CacheSessionOptions> = {}) => {
    const options = assumeOptions("--role-arn", ROLE, ...args);
    return openCacheSession({
      plan: resolvePlan(
        options,
        { CREDPROC_CACHE_DIR: cacheDir },
        emptySharedConfig(),
        new Date(NOW),
        "linux",
      ),
      options,
      logsToFile: false,
      loadPolicy: () => Promise.resolve("{}"),
      secretValues: () => {
        secretReads++;
        return Promise.resolve(["a-source-secret"]);
      },
      log: createLogger(true, (l) => lines.push(l)),
      warn: (m) => lines.push(`warning: ${m}`),
      uid: UID,
      clock: () => NOW,
      ...over,
    });
  };
  return {
    dir,
    cacheDir,
    lines,
    open,
    secretReads: () => secretReads,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Counts `stat`/`statSync`/`lstat`/`lstatSync` calls on `path` while `run` runs (a spy on Deno's own). */
async function statsOf(path: string, run: () => Promise<void>): Promise<number> {
  const names = ["stat", "statSync", "lstat", "lstatSync"] as const;
  const d = Deno as unknown as Record<string, (p: string | URL) => unknown>;
  const saved = names.map((n) => d[n]);
  let count = 0;
  names.forEach((n, i) => {
    d[n] = (p) => {
      if (String(p) === path) count++;
      return saved[i](p);
    };
  });
  try {
    await run();
  } finally {
    names.forEach((n, i) => d[n] = saved[i]);
  }
  return count;
}

Deno.test("session: the directory is judged once — one stat for the open, the role and MFA session entries and the memo", async () => {
  await using f = await fixture();
  await Deno.mkdir(f.cacheDir, { mode: 0o700 });
  let n = 0;
  const session: CredentialProvider = () => Promise.resolve(creds(++n));
  const stats = await statsOf(f.cacheDir, async () => {
    const cache = await f.open(["--serial-number", SERIAL, "--mfa-session"], {
      memoInputs: { argv: [], cwd: f.dir, env: {}, secretValues: [], files: [] },
    });
    assert.equal(cache.memo, "write");
    const mfa = cache.entry("mfa-session", session);
    const role = cache.entry("role", async () => {
      await mfa();
      return creds(++n);
    });
    await role();
    await cache.remember();
  });
  assert.equal(stats, 1, "the cache directory's path was examined more than once");
  assert.equal(f.secretReads(), 1, "the secret inputs were read and digested once, for both entries");
  const names = [...Deno.readDirSync(f.cacheDir)].map((e) => e.name);
  assert.equal(names.filter((x) => /^[0-9a-f]{64}\.json$/.test(x)).length, 2, names.join());
  assert.equal(names.filter((x) => x.endsWith(".inputs.json")).length, 1, names.join());
  // Each kind of entry describes itself.
  const kinds = names.filter((x) => /^[0-9a-f]{64}\.json$/.test(x))
    .map((x) => JSON.parse(Deno.readTextFileSync(`${f.cacheDir}/${x}`)).meta)
    .sort((a, b) => a.kind < b.kind ? -1 : 1);
  assert.deepEqual(kinds.map((m) => [m.kind, m.roles, m.mfaSerial]), [
    ["mfa-session", [], SERIAL],
    ["role", [ROLE], undefined], // the device is the session's, not the hop's
  ]);
});

Deno.test("session: off is decided once, with its reason; its entries are the providers themselves", async (t) => {
  const provider: CredentialProvider = () => Promise.resolve(creds(1));
  await t.step("--no-cache: the directory is not even looked at", async () => {
    await using f = await fixture();
    const stats = await statsOf(f.cacheDir, async () => {
      const cache = await f.open(["--no-cache"]);
      assert.deepEqual(cache.use, { mode: "off", why: "--no-cache" });
      assert.equal(cache.dir, undefined);
      assert.equal(cache.entry("role", provider), provider);
      assert.equal(cache.entry("mfa-session", provider), provider);
      assert.equal(cache.memo, "skip: not asked (only assume prints what the fast path prints)");
    });
    assert.equal(stats, 0);
    assert.deepEqual(f.lines, ["credproc: cache: off (--no-cache)"]);
    assert.equal(f.secretReads(), 0);
  });
  await t.step("no cache directory known", async () => {
    await using f = await fixture();
    const options = assumeOptions("--role-arn", ROLE);
    const cache = await f.open([], {
      plan: resolvePlan(options, {}, emptySharedConfig(), new Date(NOW), "linux"),
    });
    assert.deepEqual(cache.use, { mode: "off", why: "no cache directory" });
    assert.deepEqual(cache.dir, { state: "none" });
    assert.equal(cache.entry("role", provider), provider);
    assert.deepEqual(f.lines, [
      "credproc: cache: off: no cache directory (set HOME, XDG_CACHE_HOME, CREDPROC_CACHE_DIR or --cache-dir)",
    ]);
  });
  await t.step("a directory writable by others", async () => {
    await using f = await fixture();
    await Deno.mkdir(f.cacheDir);
    await Deno.chmod(f.cacheDir, 0o777);
    const cache = await f.open(["--serial-number", SERIAL, "--mfa-session"]);
    const problem = "it is writable by others (mode 0777); use a 0700 directory";
    assert.deepEqual(cache.use, { mode: "off", why: "unusable directory", dir: f.cacheDir, problem });
    assert.equal(cache.entry("role", provider), provider);
    assert.equal(cache.entry("mfa-session", provider), provider);
    await cache.entry("role", provider)();
    // Said once, at open — not again per entry.
    assert.deepEqual(f.lines, [`credproc: cache: off: cannot use ${f.cacheDir}: ${problem}`]);
    assert.equal(f.secretReads(), 0);
    assert.equal((await Deno.stat(f.cacheDir)).mode! & 0o777, 0o777, "its mode is left alone");
  });
  await t.step("a digest key that cannot be made", async () => {
    await using f = await fixture();
    await Deno.mkdir(`${f.cacheDir}/digest.key`, { recursive: true });
    await Deno.chmod(f.cacheDir, 0o700);
    const cache = await f.open([]);
    assert.equal(cache.use.mode, "off");
    assert.equal(f.lines.length, 1);
    assert.match(f.lines[0], /^credproc: cache: off: cannot use .*\/cache: /);
  });
});

Deno.test("session: the memo decision is made once, and says why not", async () => {
  const inputs = { argv: [], cwd: "/", env: {}, secretValues: [], files: [] };
  const cases: [string, string[], Partial<CacheSessionOptions>, MemoDecision][] = [
    ["assume", [], { memoInputs: inputs }, "write"],
    ["console or serve", [], {}, "skip: not asked (only assume prints what the fast path prints)"],
    ["--no-cache", ["--no-cache"], { memoInputs: inputs }, "skip: cache off"],
    ["--refresh", ["--refresh"], { memoInputs: inputs }, "skip: --refresh"],
    ["--verbose", ["--verbose"], { memoInputs: inputs }, "skip: --verbose (the fast path logs nothing)"],
    [
      "a log file",
      [],
      { memoInputs: inputs, logsToFile: true },
      "skip: logging to a file (the fast path logs nothing)",
    ],
  ];
  for (const [name, args, over, decision] of cases) {
    await using f = await fixture();
    const cache = await f.open(args, over);
    assert.equal(cache.memo, decision, name);
    await cache.remember();
    // --no-cache never even makes the directory.
    const names = cache.use.mode === "off" ? [] : [...Deno.readDirSync(f.cacheDir)].map((e) => e.name);
    assert.equal(names.filter((x) => x.endsWith(".inputs.json")).length, decision === "write" ? 1 : 0, name);
  }
});

Deno.test("session: judgeCacheDir — the one verdict a call, cache list, cache clear and the failure record ask", async () => {
  const dir = await Deno.makeTempDir({ prefix: "credproc-verdict-unit-" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "");
    // A named path that is not a directory, or cannot exist, is the wrong path named: exit 2.
    for (const namedBy of ["--cache-dir", "CREDPROC_CACHE_DIR"] as const) {
      await assert.rejects(
        judgeCacheDir({ path: `${dir}/file`, namedBy }, UID, { create: true }),
        (e: unknown) =>
          e instanceof ConfigError && e.what === `${namedBy} ${dir}/file` && e.message === "not a directory",
      );
      const long = `${dir}/${"x".repeat(300)}`;
      await assert.rejects(
        judgeCacheDir({ path: long, namedBy }, UID, { create: false }),
        (e: unknown) => e instanceof ConfigError && e.message === "the path is too long",
      );
    }
    // The platform's own directory in the same place only turns the cache off.
    assert.deepEqual(await judgeCacheDir({ path: `${dir}/file` }, UID, { create: true }), {
      state: "unusable",
      path: `${dir}/file`,
      problem: "it is not a directory",
      info: { isDirectory: false, uid: UID, mode: (await Deno.stat(`${dir}/file`)).mode },
    });
    assert.deepEqual(await judgeCacheDir(undefined, UID, { create: true }), { state: "none" });
    // `cache list` never creates it; a call does, 0700.
    const missing = `${dir}/a/b`;
    assert.deepEqual(await judgeCacheDir({ path: missing }, UID, { create: false }), {
      state: "missing",
      path: missing,
    });
    await assert.rejects(Deno.stat(missing), Deno.errors.NotFound);
    const made = await judgeCacheDir({ path: missing }, UID, { create: true });
    assert.equal(made.state, "usable");
    assert.equal((await Deno.stat(missing)).mode! & 0o777, 0o700);
    // Writable by others: unusable; a call is told how to fix it, a listing shows the rule's words.
    await Deno.chmod(missing, 0o775);
    const forCall = await judgeCacheDir({ path: missing }, UID, { create: true });
    const forList = await judgeCacheDir({ path: missing }, UID, { create: false });
    assert.equal(
      forCall.state === "unusable" && forCall.problem,
      "it is writable by others (mode 0775); use a 0700 directory",
    );
    assert.equal(forList.state === "unusable" && forList.problem, "it is writable by others (mode 0775)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
