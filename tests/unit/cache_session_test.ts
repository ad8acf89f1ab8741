/**
 * lib/cache/session.ts: one call's cache, decided once — the directory judged once, "off" decided once (with
 * its reason), the secrets digested once, the memo decision, the directory verdict `cache list`/`clear` share.
 */
import assert from "node:assert/strict";
import { scanArgv } from "../../lib/argv.ts";
import {
  type CacheSessionOptions,
  judgeCacheDir,
  type MemoDecision,
  openCacheSession,
  type TokenSigner,
} from "../../lib/cache/session.ts";
import { cacheKey } from "../../lib/cache/key.ts";
import { importDigestKey, secretsDigest } from "../../lib/cache/digests.ts";
import { ConfigError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import type { CredentialProvider, Credentials } from "../../lib/model.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";
import { assumeOptions } from "../support/options.ts";
import { statsOf } from "../support/stat_spy.ts";
import { ignoreIf, ROOT } from "../support/helpers.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const MIN = 60_000;
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

/**
 * A temp directory, its cache directory path, a counting provider, a clock, and a session opener for
 * `--role-arn ROLE args…` whose cache directory is `cacheDir` (`CREDPROC_CACHE_DIR`; `null`: none at all).
 */
async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "credproc-session-unit-" });
  const cacheDir = `${dir}/cache`;
  const lines: string[] = [];
  const clock = { now: NOW };
  let secretReads = 0;
  let calls = 0;
  const provider: CredentialProvider = () => Promise.resolve(creds(++calls));
  const open = (args: string[], over: Partial<CacheSessionOptions> & { cacheDir?: string | null } = {}) => {
    const { cacheDir: named = cacheDir, ...rest } = over;
    const options = assumeOptions("--role-arn", ROLE, ...args);
    const env = named === null ? {} : { CREDPROC_CACHE_DIR: named };
    return openCacheSession({
      plan: resolvePlan(options, env, emptySharedConfig(), new Date(NOW), "linux"),
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
      clock: () => clock.now,
      ...rest,
    });
  };
  return {
    dir,
    cacheDir,
    lines,
    clock,
    provider,
    calls: () => calls,
    open,
    secretReads: () => secretReads,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("session: the directory is judged once — one stat for the open, the role and MFA session entries and the memo", async () => {
  await using f = await fixture();
  await Deno.mkdir(f.cacheDir, { mode: 0o700 });
  let n = 0;
  const session: CredentialProvider = () => Promise.resolve(creds(++n));
  const stats = await statsOf(f.cacheDir, async () => {
    const cache = await f.open(["--serial-number", SERIAL, "--mfa-session"], {
      memoInputs: { argv: scanArgv([]), where: { cwd: f.dir, os: "linux" }, env: {}, files: [] },
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
      assert.equal(cache.memo, "skip: not asked (only assume and eks-token print what the fast path prints)");
    });
    assert.equal(stats, 0);
    assert.deepEqual(f.lines, ["credproc: cache: off (--no-cache)"]);
    assert.equal(f.secretReads(), 0);
  });
  await t.step("no cache directory known", async () => {
    await using f = await fixture();
    const cache = await f.open([], { cacheDir: null });
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
  const inputs = { argv: scanArgv([]), where: { cwd: "/", os: "linux" as const }, env: {}, files: [] };
  const cases: [string, string[], Partial<CacheSessionOptions>, MemoDecision][] = [
    ["assume", [], { memoInputs: inputs }, "write"],
    [
      "console or serve",
      [],
      {},
      "skip: not asked (only assume and eks-token print what the fast path prints)",
    ],
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

Deno.test("session: --no-cache neither reads nor writes", async () => {
  await using f = await fixture();
  const off = await f.open(["--no-cache"]);
  await off.entry("role", f.provider)();
  await off.entry("role", f.provider)();
  assert.equal(f.calls(), 2);
  await assert.rejects(Deno.lstat(f.cacheDir), Deno.errors.NotFound);
});

Deno.test("session: a cache dir that cannot be created still returns credentials, with one notice", async () => {
  await using f = await fixture();
  await Deno.writeTextFile(`${f.dir}/file`, "");
  const session = await f.open([], { cacheDir: `${f.dir}/file/cache` });
  assert.equal(session.use.mode, "off");
  const c = await session.entry("role", f.provider)();
  assert.match(c.accessKeyId, /^ASIAFAKE/);
  const notices = f.lines.filter((l) => / cache: /.test(l));
  assert.equal(notices.length, 1, notices.join("\n"));
  assert.match(notices[0], /cache: off: cannot use .*file\/cache: /);
  // No cache directory at all (no HOME): a quiet skip, said only under --verbose.
  const none = await f.open([], { cacheDir: null });
  await none.entry("role", f.provider)();
  assert.equal(
    f.lines.at(-1),
    "credproc: cache: off: no cache directory (set HOME, XDG_CACHE_HOME, CREDPROC_CACHE_DIR or --cache-dir)",
  );
  assert.ok(!f.lines.some((l) => l.startsWith("warning:")), f.lines.join("\n"));
});

Deno.test({
  ...ignoreIf("session: a cache dir owned by someone else is not used", UID !== 0 && "needs root (chown)"),
}, async () => {
  await using f = await fixture();
  await Deno.mkdir(f.cacheDir, { mode: 0o700 });
  await Deno.chown(f.cacheDir, 4242, 4242);
  await (await f.open([])).entry("role", f.provider)();
  assert.match(f.lines.join("\n"), /cache: off: cannot use .*: it is owned by uid 4242/);
  await (await f.open([])).entry("role", f.provider)();
  assert.equal(f.calls(), 2);
});

Deno.test("session: an existing dir writable by others is not used, and its mode is left alone", async () => {
  await using f = await fixture();
  await Deno.mkdir(f.cacheDir);
  await Deno.chmod(f.cacheDir, 0o1777);
  const c = await (await f.open([])).entry("role", f.provider)();
  assert.match(c.accessKeyId, /^ASIAFAKE/);
  const off = f.lines.filter((l) => / cache: off/.test(l));
  assert.equal(off.length, 1);
  assert.match(off[0], /writable by others \(mode 1777\); use a 0700 directory/);
  assert.equal((await Deno.stat(f.cacheDir)).mode! & 0o7777, 0o1777);
  // An existing 0755 directory is fine (the files themselves are 0600).
  await Deno.chmod(f.cacheDir, 0o755);
  await (await f.open([])).entry("role", f.provider)();
  assert.equal(f.lines.filter((l) => / cache: off/.test(l)).length, 1);
  const entries = [...Deno.readDirSync(f.cacheDir)].filter((e) => /^[0-9a-f]{64}\.json$/.test(e.name));
  assert.equal(entries.length, 1);
  assert.equal((await Deno.stat(`${f.cacheDir}/${entries[0].name}`)).mode! & 0o777, 0o600);
  assert.ok(!f.lines.some((l) => l.startsWith("warning:")), f.lines.join("\n"));
});

Deno.test("session: key and dir from the plan (flag/env), margin and mode from options", async () => {
  await using f = await fixture();
  const wrap = async (args: string[] = []) =>
    (await f.open(["--refresh-margin", "60", ...args], { secretValues: () => Promise.resolve([]) })).entry(
      "role",
      f.provider,
    );
  await (await wrap())();
  const names = [...Deno.readDirSync(f.cacheDir)].map((e) => e.name);
  // Secrets are keyed with the directory's own digest key (none here: the digest of an empty list).
  const p = resolvePlan(
    assumeOptions("--role-arn", ROLE, "--refresh-margin", "60"),
    { CREDPROC_CACHE_DIR: f.cacheDir },
    emptySharedConfig(),
    new Date(NOW),
    "linux",
  );
  assert.deepEqual(p.cacheDir, { path: f.cacheDir, namedBy: "CREDPROC_CACHE_DIR" });
  const digestKey = await importDigestKey(await Deno.readTextFile(`${f.cacheDir}/digest.key`));
  const key = await cacheKey(p, { secrets: await secretsDigest(digestKey!, []) });
  assert.ok(names.includes(`${key}.json`), names.join());
  f.clock.now += 58 * MIN; // 2 min left, margin 1 min: still a hit
  await (await wrap())();
  assert.equal(f.calls(), 1);
  await (await wrap(["--no-cache"]))();
  assert.equal(f.calls(), 2);
  await (await wrap(["--cache-dir", `${f.dir}/other`]))();
  assert.equal(f.calls(), 3);
  const other = [...Deno.readDirSync(`${f.dir}/other`)].map((e) => e.name);
  assert.equal(other.filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).length, 1, other.join());
});

Deno.test("session: remember: not written when a watched file changed after the process started; rewritten only when different", async () => {
  await using f = await fixture();
  const configFile = `${f.dir}/config`;
  await Deno.writeTextFile(configFile, "[default]\nregion = us-east-1\n");
  const argv = scanArgv(["--role-arn", ROLE]);
  const open = async () => {
    const session = await f.open([], {
      memoInputs: { argv, where: { cwd: f.dir, os: "linux" }, env: {}, files: [configFile] },
      clock: () => Date.now(),
    });
    assert.equal(session.memo, "write");
    return session;
  };
  const memos = () => [...Deno.readDirSync(f.cacheDir)].filter((e) => e.name.endsWith(".inputs.json")).length;
  await (await open()).remember(); // the config file was written after this process started
  assert.equal(memos(), 0, "no memo for a file that changed just now");
  assert.match(f.lines.join("\n"), /changed just now/);
  const past = new Date(Date.now() - 3600_000);
  await Deno.utime(configFile, past, past);
  await (await open()).remember();
  assert.equal(memos(), 1);
  const path = f.lines.map((l) => /remembered these inputs in (.*)$/.exec(l)?.[1]).find((p) => p)!;
  const ino = (await Deno.stat(path)).ino;
  await (await open()).remember();
  assert.equal((await Deno.stat(path)).ino, ino, "an identical memo is not rewritten");
  assert.equal(f.lines.filter((l) => /remembered these inputs/.test(l)).length, 1);
});

// ---------------------------------------------------------------------------------------------------------
// The eks-token entry
// ---------------------------------------------------------------------------------------------------------

const ENDPOINT = { url: "https://sts.eu-west-1.amazonaws.com/", signingRegion: "eu-west-1" };

/** A signer that counts its calls and signs for 14 minutes from the fake clock (capped by nothing). */
function signer(clock: { now: number }) {
  let n = 0;
  const seen: (typeof ENDPOINT)[] = [];
  const sign: TokenSigner = (endpoint) => {
    seen.push(endpoint);
    n++;
    return Promise.resolve({ token: `k8s-aws-v1.token${n}`, expiration: new Date(clock.now + 14 * MIN) });
  };
  return { sign, calls: () => n, seen };
}

Deno.test("session: eks-token — one entry per role, cluster, endpoint and margin; reused while 5 minutes are left", async () => {
  await using f = await fixture();
  const s = signer(f.clock);
  let resolved = 0;
  const token = async (args: string[] = [], cluster = "prod", endpoint = ENDPOINT) =>
    await (await f.open(args)).entry("eks-token", s.sign, {
      cluster,
      resolveEndpoint: () => (resolved++, Promise.resolve(endpoint)),
    })();
  const first = await token();
  assert.equal(first.token, "k8s-aws-v1.token1");
  assert.deepEqual(await token(), first, "the same inputs: the entry");
  assert.equal(s.calls(), 1);
  assert.equal(resolved, 2, "without a memo the endpoint is resolved for the key every time");
  // Each of these changes the token, so each is another entry.
  await token([], "staging");
  await token([], "prod", { url: "https://sts-fips.us-east-1.amazonaws.com/", signingRegion: "us-east-1" });
  await token([], "prod", { ...ENDPOINT, signingRegion: "us-east-1" });
  await token(["--refresh-margin", "600"]);
  assert.equal(s.calls(), 5);
  // Another role: another role key, so another token key.
  const other = await (await f.open([], {})).entry("eks-token", s.sign, {
    cluster: "prod",
    resolveEndpoint: () => Promise.resolve(ENDPOINT),
  })();
  assert.deepEqual(other, first);
  const tokens = [...Deno.readDirSync(f.cacheDir)].filter((e) => /^[0-9a-f]{64}\.json$/.test(e.name))
    .map((e) => JSON.parse(Deno.readTextFileSync(`${f.cacheDir}/${e.name}`)));
  assert.equal(tokens.length, 5);
  for (const t of tokens) {
    assert.equal(t.meta.kind, "eks-token");
    assert.equal(t.meta.marginSeconds, 300);
    assert.deepEqual(t.meta.roles, [ROLE]);
  }
  // The fake clock: 8 min 59 s later 5 min 1 s are left: reused; a second more and it is signed anew.
  f.clock.now += 9 * MIN - 1000;
  assert.deepEqual(await token(), first);
  f.clock.now += 1000;
  assert.equal((await token()).token, "k8s-aws-v1.token6");
  // A clock set back past the signing time: not reused (its X-Amz-Date would lie ahead).
  f.clock.now -= 20 * MIN;
  assert.equal((await token()).token, "k8s-aws-v1.token7");
  assert.match(f.lines.join("\n"), /signed later than now \(the clock went back\)/);
});

Deno.test("session: eks-token — a token miss for a remembered role reads the endpoint from the memo, not the rules", async () => {
  await using f = await fixture();
  const s = signer(f.clock);
  let resolved = 0;
  const argv = ["eks-token", "--cluster-name", "prod", "--role-arn", ROLE];
  const call = async (role = ROLE) => {
    const session = await f.open(["--role-arn", role].slice(role === ROLE ? 2 : 0), {
      memoKind: "eks-token",
      memoInputs: { argv: scanArgv(argv), where: { cwd: f.dir, os: "linux" }, env: {}, files: [] },
    });
    const t = await session.entry("eks-token", s.sign, {
      cluster: "prod",
      resolveEndpoint: () => (resolved++, Promise.resolve(ENDPOINT)),
    })();
    await session.remember();
    return t;
  };
  await call();
  assert.equal(resolved, 1);
  const memo = [...Deno.readDirSync(f.cacheDir)].find((e) => e.name.endsWith(".inputs.json"))!;
  const doc = JSON.parse(Deno.readTextFileSync(`${f.cacheDir}/${memo.name}`));
  assert.deepEqual(
    [doc.kind, doc.cluster, doc.tokenEndpoint, doc.signingRegion, doc.marginMs, doc.format],
    ["eks-token", "prod", ENDPOINT.url, "eu-west-1", 5 * MIN, undefined],
  );
  // The token expired, the role did not: signed again at the remembered endpoint, without the rules.
  f.clock.now += 15 * MIN;
  assert.equal((await call()).token, "k8s-aws-v1.token2");
  assert.equal(resolved, 1);
  assert.deepEqual(s.seen, [ENDPOINT, ENDPOINT]);
  assert.match(
    f.lines.join("\n"),
    /token endpoint https:\/\/sts\.eu-west-1\.amazonaws\.com\/ .* from this call's memo/,
  );
  // Another role under the same argv (a changed config would change the role key): the rules again.
  await call("arn:aws:iam::123456789012:role/other");
  assert.equal(resolved, 2);
});

Deno.test("session: eks-token with the cache off — resolved and signed every time, nothing written", async () => {
  await using f = await fixture();
  const s = signer(f.clock);
  let resolved = 0;
  for (let i = 0; i < 2; i++) {
    const session = await f.open(["--no-cache"]);
    await session.entry("eks-token", s.sign, {
      cluster: "prod",
      resolveEndpoint: () => (resolved++, Promise.resolve(ENDPOINT)),
    })();
  }
  assert.deepEqual([s.calls(), resolved, f.secretReads()], [2, 2, 0]);
  assert.equal(await Deno.stat(f.cacheDir).catch(() => undefined), undefined);
});

Deno.test("session: lock(login-token) — serializes work in the session's directory, under --no-cache too, never in an unusable one", async () => {
  await using f = await fixture();
  const subject = `${f.dir}/login/cache/token.json`;
  const locks = () => [...Deno.readDirSync(f.cacheDir)].filter((e) => e.name.endsWith(".lock")).length;
  let inside = 0;
  let most = 0;
  const work = async () => {
    most = Math.max(most, ++inside);
    await new Promise((r) => setTimeout(r, 20));
    inside--;
  };
  const session = await f.open([]);
  await Promise.all([0, 1, 2].map(() => session.lock("login-token", subject)(work)));
  assert.equal(most, 1, "the work overlapped");
  assert.equal(locks(), 1);
  // Under --no-cache the directory is judged for the lock alone: the same lock file.
  most = 0;
  const a = await f.open(["--no-cache"]);
  const b = await f.open(["--no-cache"]);
  await Promise.all([a.lock("login-token", subject)(work), b.lock("login-token", subject)(work)]);
  assert.equal(most, 1);
  assert.equal(locks(), 1);
  // A directory writable by others is not used for locks either: the work runs unlocked, said under --verbose.
  await Deno.chmod(f.cacheDir, 0o777);
  assert.equal(await (await f.open([])).lock("login-token", subject)(() => Promise.resolve(7)), 7);
  assert.match(f.lines.join("\n"), /no usable cache directory: the login-token lock is not taken/);
  // --no-cache with no directory: none is made for a lock.
  await Deno.remove(f.cacheDir, { recursive: true });
  assert.equal(
    await (await f.open(["--no-cache"])).lock("login-token", subject)(() => Promise.resolve(8)),
    8,
  );
  assert.equal(await Deno.stat(f.cacheDir).catch(() => undefined), undefined);
});

// ---------------------------------------------------------------------------------------------------------
// The way a call goes through the cache
// ---------------------------------------------------------------------------------------------------------

/** Each module of lib/cache/ the session reaches, with the modules of lib/cache/ it imports code from. */
async function cacheCodeImports(): Promise<Record<string, string[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--no-npm", "--config", `${ROOT}deno.json`, `${ROOT}lib/cache/session.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; dependencies?: { specifier: string; code?: unknown }[] }[];
  };
  const graph: Record<string, string[]> = {};
  for (const m of info.modules) {
    const name = /\/lib\/cache\/(\w+\.ts)$/.exec(m.specifier)?.[1];
    if (name === undefined) continue;
    // Code imports only: a type-only import (the decorator's lock handle, write.ts's documents) runs nothing.
    graph[name] = (m.dependencies ?? []).filter((d) =>
      d.code !== undefined && /^\.\/\w+\.ts$/.test(d.specifier)
    )
      .map((d) => d.specifier.slice(2)).sort();
  }
  return graph;
}

Deno.test("session: a call goes to each cache module in one step; only files.ts reads, locks and writes", async () => {
  assert.deepEqual(await cacheCodeImports(), {
    // Decides, touches no file: store.ts gives it constants and types only.
    "session.ts": ["decorator.ts", "files.ts", "key.ts", "memo.ts", "store.ts", "verdict.ts"],
    "verdict.ts": ["dir.ts", "files.ts"],
    "files.ts": ["digests.ts", "dir.ts", "lock.ts", "markers.ts", "memo.ts", "store.ts", "write.ts"],
    "decorator.ts": [],
    // The entry keys, made with digests.ts's digests (the fast path loads digests.ts alone).
    "key.ts": ["digests.ts"],
    "digests.ts": [],
    "memo.ts": ["store.ts"],
    "markers.ts": ["store.ts"],
    "store.ts": [],
    "write.ts": [],
    "lock.ts": [],
    "dir.ts": [],
  });
});
