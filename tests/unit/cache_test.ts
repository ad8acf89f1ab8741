/**
 * Units for the cache: directory resolution, key derivation, margins and file validation (fake clock, fake
 * file facts), then the wrapper and the lock against a real temp directory with a fake provider.
 */
import assert from "node:assert/strict";
import { assumeOptions } from "../support/options.ts";
import { ignoreIf, startupModules } from "../support/helpers.ts";
import { cachePlanProvider } from "../../lib/cache/plan_cache.ts";
import { clearCache } from "../../lib/cache/clear.ts";
import { ensureDigestKey } from "../../lib/cache/digest_key.ts";
import { type FileCacheOptions, withFileCache } from "../../lib/cache/decorator.ts";
import { rememberInputs } from "../../lib/cache/memo.ts";
import { writeEntry } from "../../lib/cache/write.ts";
import {
  DEFAULT_REFRESH_MARGIN_SECONDS,
  effectiveMarginMs,
  entryFor,
  type FileFacts,
  judgeEntry,
  judgeFacts,
  parseEntry,
} from "../../lib/cache/store.ts";
import { platformCacheDir, resolveCacheDir } from "../../lib/cache/dir.ts";
import {
  cacheKey,
  cacheKeyMaterial,
  canonicalJson,
  inputSecretValues,
  inputsKey,
  mfaSessionKeyMaterial,
  redactArgv,
  secretsDigest,
} from "../../lib/cache/key.ts";
import { fastPath, type FastPathIo, scanCacheDir } from "../../lib/fast_path.ts";
import { render } from "../../lib/output.ts";
import { acquireLock, type LockHandle, LockTimeoutError, removeLockIfFree } from "../../lib/cache/lock.ts";
import { createLogger } from "../../lib/log.ts";
import {
  type AssumeOptions,
  type CredentialProvider,
  type Credentials,
  type Env,
  ENV_NAMES,
  type Format,
  INPUT_ENV_NAMES,
  type Plan,
  SECRET_ENV_NAMES,
} from "../../lib/model.ts";
import { emptySharedConfig, resolvePlan } from "../../lib/plan/planner.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const MIN = 60_000;
const ROLE = "arn:aws:iam::123456789012:role/deploy";
const KEY = "a".repeat(64);
const UID = Deno.uid();

/** A config with an empty `[profile dev]`: the planner refuses an AWS_PROFILE that names no profile. */
const CONFIG = { ...emptySharedConfig(), configFile: { dev: {} } };

function plan(args: string[], env: Env = {}, now = new Date(NOW)): Plan {
  return resolvePlan(assumeOptions(...args), env, CONFIG, now, "linux");
}

// ---------------------------------------------------------------------------------------------------------
// Directory
// ---------------------------------------------------------------------------------------------------------

Deno.test("cache dir: flag, then CREDPROC_CACHE_DIR, then the platform's cache dir", () => {
  const env = { CREDPROC_CACHE_DIR: "/env/dir", HOME: "/home/u", XDG_CACHE_HOME: "/xdg" };
  assert.equal(resolveCacheDir("/flag", env, "linux"), "/flag");
  assert.equal(resolveCacheDir(undefined, env, "linux"), "/env/dir");
  assert.equal(resolveCacheDir(undefined, { ...env, CREDPROC_CACHE_DIR: "" }, "linux"), "/xdg/credproc");
  assert.equal(platformCacheDir({ HOME: "/home/u" }, "linux"), "/home/u/.cache/credproc");
  assert.equal(platformCacheDir({ HOME: "/home/u/", XDG_CACHE_HOME: "/x/" }, "linux"), "/x/credproc");
  // The XDG spec says relative values are ignored.
  assert.equal(
    platformCacheDir({ HOME: "/home/u", XDG_CACHE_HOME: "rel" }, "linux"),
    "/home/u/.cache/credproc",
  );
  assert.equal(
    platformCacheDir({ HOME: "/Users/u", XDG_CACHE_HOME: "/x" }, "darwin"),
    "/Users/u/Library/Caches/credproc",
  );
  assert.equal(
    platformCacheDir({ LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }, "windows"),
    "C:\\Users\\u\\AppData\\Local\\credproc",
  );
  assert.equal(
    platformCacheDir({ USERPROFILE: "C:\\Users\\u" }, "windows"),
    "C:\\Users\\u\\AppData\\Local\\credproc",
  );
  assert.equal(platformCacheDir({}, "linux"), undefined);
  assert.equal(platformCacheDir({ HOME: "/h" }, "windows"), undefined);
});

// ---------------------------------------------------------------------------------------------------------
// Key
// ---------------------------------------------------------------------------------------------------------

Deno.test("key: a versioned hex SHA-256, equal for equal inputs, independent of clock, format, MFA code", async () => {
  const base = ["--role-arn", ROLE];
  const k = await cacheKey(plan(base));
  assert.match(k, /^[0-9a-f]{64}$/);
  // The generated session name changes every second; it must not change the key.
  assert.equal(await cacheKey(plan(base, {}, new Date(NOW + 5000))), k);
  assert.equal(await cacheKey(plan([...base, "--format", "env"])), k);
  assert.equal(await cacheKey(plan([...base, "--verbose", "--timeout", "5"])), k);
  const mfa = ["--serial-number", "arn:aws:iam::123456789012:mfa/me"];
  assert.equal(
    await cacheKey(plan([...base, ...mfa, "--token-code", "123456"])),
    await cacheKey(plan([...base, ...mfa, "--token-code", "654321"])),
  );
  assert.match(cacheKeyMaterial(plan(base)), /^\{"endpoint":.*"v":2\}$/);
});

// Flags and variables through the planner; that every plan field is keyed is tests/unit/cache_key_fields_test.ts.
Deno.test("key: flags and variables that shape the plan change it", async () => {
  const base = ["--role-arn", ROLE];
  const env: Env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE000000001" };
  const variants: [string, string[], Env?][] = [
    ["second hop", [...base, "--role-arn", "arn:aws:iam::123456789012:role/other"]],
    ["other role", ["--role-arn", "arn:aws:iam::123456789012:role/other"]],
    ["session name", [...base, "--role-session-name", "alice"]],
    ["external id", [...base, "--external-id", "ext-1"]],
    ["duration", [...base, "--duration-seconds", "1800"]],
    ["inline policy", [...base, "--policy", '{"Version":"2012-10-17","Statement":[]}']],
    ["policy arn", [...base, "--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess"]],
    ["tag", [...base, "--tag", "team=a"]],
    ["transitive tag", [...base, "--tag", "team=a", "--transitive-tag-key", "team"]],
    ["source identity", [...base, "--source-identity", "alice"]],
    ["mfa serial", [...base, "--serial-number", "arn:aws:iam::123456789012:mfa/me"]],
    ["mfa session", [...base, "--serial-number", "arn:aws:iam::123456789012:mfa/me", "--mfa-session"]],
    ["region", [...base, "--region", "eu-west-1"]],
    ["endpoint", [...base, "--endpoint-url", "http://127.0.0.1:9/"]],
    ["fips", base, { ...env, AWS_USE_FIPS_ENDPOINT: "true" }],
    ["dualstack", base, { ...env, AWS_USE_DUALSTACK_ENDPOINT: "true" }],
    ["global endpoint", base, { ...env, AWS_STS_REGIONAL_ENDPOINTS: "legacy" }],
    ["source key id", base, { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE000000002" }],
    ["source profile", base, { AWS_PROFILE: "dev" }],
    ["web identity", [...base, "--web-identity-token-file", "/t"]],
  ];
  const keys = new Map<string, string>([[await cacheKey(plan(base, env)), "base"]]);
  for (const [name, args, e = env] of variants) {
    const k = await cacheKey(plan(args, e));
    assert.ok(!keys.has(k), `${name} gives the same key as ${keys.get(k)}`);
    keys.set(k, name);
  }
  // A tag value, a second tag and the MFA session duration matter too.
  assert.notEqual(
    await cacheKey(plan([...base, "--tag", "team=a"], env)),
    await cacheKey(plan([...base, "--tag", "team=b"], env)),
  );
  const ms = [...base, "--serial-number", "arn:aws:iam::123456789012:mfa/me", "--mfa-session"];
  assert.notEqual(
    await cacheKey(plan(ms, env)),
    await cacheKey(plan([...ms, "--mfa-session-duration", "3600"], env)),
  );
});

Deno.test("MFA session key: shared by every role from one source and device; anything else separates it", () => {
  const serial = "arn:aws:iam::123456789012:mfa/me";
  const env: Env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE000000001", AWS_SECRET_ACCESS_KEY: "very-secret-value" };
  const ms = (...args: string[]) => plan([...args, "--serial-number", serial, "--mfa-session"], env);
  const base = mfaSessionKeyMaterial(ms("--role-arn", ROLE))!;
  assert.match(base, /"kind":"mfa-session"/);
  assert.ok(!base.includes("very-secret-value"));
  assert.equal(mfaSessionKeyMaterial(plan(["--role-arn", ROLE], env)), undefined, "no session, no key");
  // Same session for another role, a chain, other role parameters, another output format.
  for (
    const other of [
      ms("--role-arn", "arn:aws:iam::123456789012:role/other"),
      ms("--role-arn", ROLE, "--role-arn", "arn:aws:iam::123456789012:role/other"),
      ms("--role-arn", ROLE, "--external-id", "ext-1", "--duration-seconds", "1800", "--format", "env"),
    ]
  ) assert.equal(mfaSessionKeyMaterial(other), base);
  // Another device, duration, endpoint or source: another session.
  const variants = [
    plan(["--role-arn", ROLE, "--serial-number", `${serial}2`, "--mfa-session"], env),
    ms("--role-arn", ROLE, "--mfa-session-duration", "3600"),
    ms("--role-arn", ROLE, "--region", "eu-west-1"),
    ms("--role-arn", ROLE, "--endpoint-url", "http://127.0.0.1:9/"),
  ];
  const materials = new Set([base, ...variants.map((p) => mfaSessionKeyMaterial(p))]);
  const otherKey: Env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE000000002" };
  materials.add(mfaSessionKeyMaterial(
    plan(["--role-arn", ROLE, "--serial-number", serial, "--mfa-session"], otherKey),
  ));
  assert.equal(materials.size, 6);
});

Deno.test("key: the source is the access key id when set, else the profile; never a secret", () => {
  const p = plan(["--role-arn", ROLE]);
  // The default chain with keys in the environment (the plan's snapshot of them).
  const withKeys = cacheKeyMaterial({
    ...p,
    sourceEnv: {
      accessKeyId: "AKIAEXAMPLE000000001",
      secretAccessKey: "very-secret-value",
      sessionToken: "very-secret-token",
      profile: "ignored-when-keys-are-set",
    },
  });
  assert.equal(p.source.kind, "default-chain");
  assert.ok(withKeys.includes("AKIAEXAMPLE000000001"));
  assert.ok(!withKeys.includes("very-secret"));
  assert.ok(!withKeys.includes("ignored-when-keys-are-set"));
  assert.ok(cacheKeyMaterial(p).includes('"profile":"default"'));
  const dev = plan(["--role-arn", ROLE], { AWS_PROFILE: "dev" });
  assert.ok(cacheKeyMaterial(dev).includes('"profile":"dev"'));
  // Static keys from a profile: the key id, not the secret.
  const staticPlan: Plan = {
    ...p,
    source: { kind: "static", profile: "p", accessKeyId: "AKIAS", secretAccessKey: "sss-secret" },
  };
  const m = cacheKeyMaterial(staticPlan);
  assert.ok(m.includes("AKIAS") && !m.includes("sss-secret"));
});

Deno.test("key: an explicit session name counts even if it looks generated; file policies by content", async () => {
  const generated = plan(["--role-arn", ROLE]);
  const explicit = plan(["--role-arn", ROLE, "--role-session-name", "credproc-1"]);
  assert.notEqual(
    await cacheKey(explicit, { sessionName: "credproc-1" }),
    await cacheKey(generated),
  );
  const filePlan = plan(["--role-arn", ROLE, "--policy-file", "/p.json"]);
  assert.notEqual(
    await cacheKey(filePlan, { policies: ['{"a":1}'] }),
    await cacheKey(filePlan, { policies: ['{"a":2}'] }),
  );
});

Deno.test("canonical JSON sorts keys and drops undefined", () => {
  assert.equal(
    canonicalJson({ b: 1, a: [true, null, "x"], c: undefined, d: { z: 1, y: 2 } }),
    '{"a":[true,null,"x"],"b":1,"d":{"y":2,"z":1}}',
  );
});

// ---------------------------------------------------------------------------------------------------------
// Margin and validation
// ---------------------------------------------------------------------------------------------------------

Deno.test("margin: the given one, or half the lifetime when the credentials live no longer than it", () => {
  const m = DEFAULT_REFRESH_MARGIN_SECONDS * 1000;
  assert.equal(m, 15 * MIN);
  assert.equal(effectiveMarginMs(m, 60 * MIN), 15 * MIN);
  assert.equal(effectiveMarginMs(m, 15 * MIN), 7.5 * MIN);
  assert.equal(effectiveMarginMs(m, 10 * MIN), 5 * MIN);
  assert.equal(effectiveMarginMs(0, 60 * MIN), 0);
});

const GOOD_FACTS: FileFacts = { isFile: true, isSymlink: false, mode: 0o100600, uid: 1000, size: 500 };

function entryText(over: { expiresIn?: number; lifetime?: number; key?: string } = {}): string {
  const expiresIn = over.expiresIn ?? 60 * MIN;
  const lifetime = over.lifetime ?? 60 * MIN;
  const expiration = NOW + expiresIn;
  return JSON.stringify(entryFor(over.key ?? KEY, {
    accessKeyId: "ASIAEXAMPLE000000001",
    secretAccessKey: "secret",
    sessionToken: "token",
    expiration: new Date(expiration),
  }, expiration - lifetime));
}

const EXPECT = { key: KEY, now: NOW, marginMs: 15 * MIN, uid: 1000 };

Deno.test("validation: a good entry is used and carries its expiry", () => {
  const v = judgeEntry(GOOD_FACTS, entryText(), EXPECT);
  assert.ok(v.ok);
  assert.equal(v.credentials.accessKeyId, "ASIAEXAMPLE000000001");
  assert.equal(v.credentials.expiration?.getTime(), NOW + 60 * MIN);
  assert.equal(v.remainingMs, 60 * MIN);
});

Deno.test("validation: metadata — symlink, not a file, another owner, mode, size", () => {
  const reason = (f: Partial<FileFacts>, uid: number | null = 1000) =>
    judgeFacts({ ...GOOD_FACTS, ...f }, uid);
  assert.equal(reason({}), undefined);
  assert.match(reason({ isSymlink: true, isFile: false })!, /symbolic link/);
  assert.match(reason({ isFile: false })!, /not a regular file/);
  assert.match(reason({ uid: 0 })!, /owned by uid 0, not 1000/);
  assert.match(reason({ mode: 0o100644 })!, /mode is 0644, not 0600/);
  assert.match(reason({ mode: 0o100400 })!, /mode is 0400/);
  assert.match(reason({ mode: 0o100660 })!, /0660/);
  assert.match(reason({ size: 1 << 20 })!, /too large/);
  // Where the platform has no uid or mode (Windows), those checks do not apply.
  assert.equal(reason({ uid: null, mode: null }), undefined);
  assert.equal(reason({ uid: 0 }, null), undefined);
});

Deno.test("validation: content — garbage, wrong shape, other key, expired, within margin", () => {
  const why = (text: string, expect = EXPECT) => {
    const v = judgeEntry(GOOD_FACTS, text, expect);
    assert.ok(!v.ok, `accepted ${text}`);
    return v.reason;
  };
  assert.match(why("not json {"), /not valid JSON/);
  assert.match(why("[]"), /not a JSON object/);
  assert.match(why("{}"), /format version/);
  const good = JSON.parse(entryText());
  // deno-lint-ignore no-explicit-any
  const mutate = (f: (d: Record<string, any>) => void) => {
    const d = structuredClone(good);
    f(d);
    return JSON.stringify(d);
  };
  assert.match(why(mutate((d) => d.credproc = 2)), /format version/);
  assert.match(why(mutate((d) => delete d.credentials)), /no credentials/);
  assert.match(why(mutate((d) => d.credentials.AccessKeyId = 5)), /AccessKeyId/);
  assert.match(why(mutate((d) => d.credentials.SecretAccessKey = "")), /SecretAccessKey/);
  assert.match(why(mutate((d) => d.credentials.SessionToken = null)), /SessionToken/);
  assert.match(why(mutate((d) => d.credentials.Expiration = "tomorrow")), /Expiration/);
  assert.match(why(mutate((d) => d.issuedAt = "2030-01-01T00:00:00Z")), /expires before it was issued/);
  assert.match(why(entryText({ key: "b".repeat(64) })), /another key/);
  assert.match(why(entryText({ expiresIn: -1000 })), /expired/);
  assert.match(why(entryText({ expiresIn: 14 * MIN })), /within the refresh margin of 900 s/);
  // A 15-minute session: the margin is half of it, so it is used for its first 7.5 minutes.
  assert.ok(judgeEntry(GOOD_FACTS, entryText({ expiresIn: 8 * MIN, lifetime: 15 * MIN }), EXPECT).ok);
  assert.match(why(entryText({ expiresIn: 7 * MIN, lifetime: 15 * MIN })), /margin of 450 s/);
  // --refresh-margin 0: anything not yet expired.
  assert.ok(judgeEntry(GOOD_FACTS, entryText({ expiresIn: 1000 }), { ...EXPECT, marginMs: 0 }).ok);
  assert.equal(typeof parseEntry(JSON.parse(entryText())), "object");
});

// ---------------------------------------------------------------------------------------------------------
// The wrapper, on a real temp directory
// ---------------------------------------------------------------------------------------------------------

interface Harness {
  dir: string;
  cacheDir: string;
  calls: () => number;
  provider: CredentialProvider;
  clock: { now: number };
  lines: string[];
  warnings: string[];
  opts(over?: Partial<FileCacheOptions>): FileCacheOptions;
  [Symbol.asyncDispose](): Promise<void>;
}

async function harness(lifetimeMs = 60 * MIN, delayMs = 0): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "credproc-cache-unit-" });
  const cacheDir = `${dir}/cache`;
  const clock = { now: NOW };
  const lines: string[] = [];
  const warnings: string[] = [];
  let n = 0;
  const provider: CredentialProvider = async () => {
    const i = ++n;
    clock.now += 1; // a call takes time: what it returns is newer than when it started
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return {
      accessKeyId: `ASIAFAKE${String(i).padStart(12, "0")}`,
      secretAccessKey: `secret-number-${i}`,
      sessionToken: `token-number-${i}`,
      expiration: new Date(clock.now + lifetimeMs),
    };
  };
  const log = createLogger(true, (l) => lines.push(l));
  return {
    dir,
    cacheDir,
    calls: () => n,
    provider,
    clock,
    lines,
    warnings,
    opts: (over = {}) => ({
      dir: cacheDir,
      key: KEY,
      marginMs: 15 * MIN,
      clock: () => clock.now,
      lock: (path, ready) => acquireLock(path, { timeoutMs: 5000, ready }),
      log,
      warn: (m) => warnings.push(m),
      mode: "use",
      uid: UID,
      ...over,
    }),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

const modeOf = async (p: string) => (await Deno.stat(p)).mode! & 0o777;

Deno.test("wrapper: miss stores 0600 in a 0700 dir, hit reuses, margin refetches, never logs secrets", async () => {
  await using h = await harness();
  const cached = withFileCache(h.provider, h.opts());
  const a = await cached();
  assert.equal(h.calls(), 1);
  const file = `${h.cacheDir}/${KEY}.json`;
  assert.equal(await modeOf(file), 0o600);
  assert.equal(await modeOf(h.cacheDir), 0o700);
  const b = await cached();
  assert.equal(h.calls(), 1);
  assert.deepEqual(b, a);
  h.clock.now += 44 * MIN;
  assert.deepEqual(await cached(), a);
  h.clock.now += 2 * MIN; // 14 minutes left: inside the 15-minute margin
  const c = await cached();
  assert.equal(h.calls(), 2);
  assert.notEqual(c.accessKeyId, a.accessKeyId);
  const log = h.lines.join("\n");
  assert.match(log, /cache: miss .*\.json \(no entry\)/);
  assert.match(log, /cache: hit .*\.json \(16 min left\)/);
  assert.match(log, /within the refresh margin/);
  assert.ok(!/secret-number|token-number/.test(log), log);
  assert.deepEqual(h.warnings, []);
  // No temp file is left behind.
  const names = [];
  for await (const e of Deno.readDir(h.cacheDir)) names.push(e.name);
  assert.deepEqual(names.sort(), [`${KEY}.json`, `${KEY}.lock`]);
});

Deno.test("wrapper: off bypasses read and write; refresh calls and rewrites", async () => {
  await using h = await harness();
  const off = withFileCache(h.provider, h.opts({ mode: "off" }));
  await off();
  await off();
  assert.equal(h.calls(), 2);
  await assert.rejects(Deno.lstat(h.cacheDir), Deno.errors.NotFound);
  const first = await withFileCache(h.provider, h.opts())();
  assert.equal(h.calls(), 3);
  const refreshed = await withFileCache(h.provider, h.opts({ mode: "refresh" }))();
  assert.equal(h.calls(), 4);
  assert.notEqual(refreshed.accessKeyId, first.accessKeyId);
  assert.deepEqual(await withFileCache(h.provider, h.opts())(), refreshed);
  assert.equal(h.calls(), 4);
});

Deno.test("wrapper: tampered files are ignored and replaced", async (t) => {
  const cases: [string, (file: string, h: Harness) => Promise<void>, RegExp][] = [
    ["mode 0644", (f) => Deno.chmod(f, 0o644), /mode is 0644/],
    ["garbage", (f) => Deno.writeTextFile(f, "garbage"), /not valid JSON/],
    [
      "truncated",
      async (f) => Deno.writeTextFile(f, (await Deno.readTextFile(f)).slice(0, 40)),
      /not valid JSON/,
    ],
    ["wrong shape", (f) => Deno.writeTextFile(f, '{"credproc":1}'), /no valid key/],
    ["expired", async (f, h) => {
      await writeEntry(f, JSON.parse(entryText({ expiresIn: -MIN })));
      h.clock.now = NOW;
    }, /expired/],
    ["symlink", async (f, h) => {
      const target = `${h.dir}/elsewhere.json`;
      await Deno.writeTextFile(target, await Deno.readTextFile(f), { mode: 0o600 });
      await Deno.remove(f);
      await Deno.symlink(target, f);
    }, /symbolic link/],
    ["a directory", async (f) => {
      await Deno.remove(f);
      await Deno.mkdir(f);
    }, /not a regular file/],
  ];
  if (UID === 0) {
    cases.push(["another owner", (f) => Deno.chown(f, 4242, 4242), /owned by uid 4242/]);
  }
  for (const [name, tamper, reason] of cases) {
    await t.step(name, async () => {
      await using h = await harness();
      const cached = withFileCache(h.provider, h.opts());
      const file = `${h.cacheDir}/${KEY}.json`;
      await cached();
      await tamper(file, h);
      h.lines.length = 0;
      const again = await cached();
      assert.equal(h.calls(), 2, "the tampered entry must not be used");
      assert.match(h.lines.join("\n"), reason);
      if (name === "a directory") {
        // Cannot be replaced by a rename; the call still succeeds, with one warning.
        assert.equal(h.warnings.length, 1);
        return;
      }
      const st = await Deno.lstat(file);
      assert.ok(st.isFile && (st.mode! & 0o777) === 0o600 && st.uid === UID);
      assert.deepEqual(await cached(), again, "the replacement is used");
      assert.equal(h.calls(), 2);
      if (name === "symlink") {
        // The link's target was not written through.
        assert.ok(!(await Deno.readTextFile(`${h.dir}/elsewhere.json`)).includes(again.accessKeyId));
      }
    });
  }
});

Deno.test("wrapper: a cache dir that cannot be created still returns credentials, with one warning", async () => {
  await using h = await harness();
  await Deno.writeTextFile(`${h.dir}/file`, "");
  const cached = withFileCache(h.provider, h.opts({ dir: `${h.dir}/file/cache` }));
  const c = await cached();
  assert.match(c.accessKeyId, /^ASIAFAKE/);
  assert.equal(h.warnings.length, 1);
  assert.match(h.warnings[0], /cache disabled: cannot use .*file\/cache/);
  // No cache directory at all (no HOME): a quiet skip, said only under --verbose.
  const none = withFileCache(h.provider, h.opts({ dir: undefined }));
  await none();
  assert.equal(h.warnings.length, 1);
});

Deno.test({
  ...ignoreIf(
    "wrapper: a cache dir owned by someone else is not used",
    UID !== 0 && "needs root (chown)",
  ),
}, async () => {
  await using h = await harness();
  await Deno.mkdir(h.cacheDir, { mode: 0o700 });
  await Deno.chown(h.cacheDir, 4242, 4242);
  await withFileCache(h.provider, h.opts())();
  assert.match(h.warnings[0], /owned by uid 4242/);
  await withFileCache(h.provider, h.opts())();
  assert.equal(h.calls(), 2);
});

Deno.test("wrapper: an existing dir writable by others is not used, and its mode is left alone", async () => {
  await using h = await harness();
  await Deno.mkdir(h.cacheDir);
  await Deno.chmod(h.cacheDir, 0o1777);
  const c = await withFileCache(h.provider, h.opts())();
  assert.match(c.accessKeyId, /^ASIAFAKE/);
  assert.match(h.warnings[0], /writable by others \(mode 1777\)/);
  assert.equal((await Deno.stat(h.cacheDir)).mode! & 0o7777, 0o1777);
  // An existing 0755 directory is fine (the files themselves are 0600).
  await Deno.chmod(h.cacheDir, 0o755);
  await withFileCache(h.provider, h.opts())();
  assert.equal(h.warnings.length, 1);
  assert.equal(await modeOf(`${h.cacheDir}/${KEY}.json`), 0o600);
});

Deno.test("wrapper: credentials without a future expiration are returned but not stored", async () => {
  await using h = await harness(-MIN);
  await withFileCache(h.provider, h.opts())();
  await withFileCache(h.provider, h.opts())();
  assert.equal(h.calls(), 2);
  await assert.rejects(Deno.lstat(`${h.cacheDir}/${KEY}.json`), Deno.errors.NotFound);
});

Deno.test("wrapper: provider errors pass through and release the lock", async () => {
  await using h = await harness();
  const failing = withFileCache(() => Promise.reject(new Error("sts says no")), h.opts());
  await assert.rejects(failing(), /sts says no/);
  // The lock is free again: this would time out otherwise.
  const held = await acquireLock(`${h.cacheDir}/${KEY}.lock`, { timeoutMs: 100 });
  held.release();
});

Deno.test("wrapper: concurrent misses call the provider once (lock, then re-read)", async () => {
  await using h = await harness(60 * MIN, 200);
  const results = await Promise.all(Array.from({ length: 8 }, () => withFileCache(h.provider, h.opts())()));
  assert.equal(h.calls(), 1);
  for (const r of results) assert.deepEqual(r, results[0]);
  assert.match(h.lines.join("\n"), /hit (after|while) waiting/);
});

Deno.test("wrapper: parallel --refresh calls share one fresh fetch", async () => {
  await using h = await harness(60 * MIN, 150);
  await withFileCache(h.provider, h.opts())();
  h.clock.now += MIN;
  const results = await Promise.all(
    Array.from({ length: 4 }, () => withFileCache(h.provider, h.opts({ mode: "refresh" }))()),
  );
  assert.equal(h.calls(), 2);
  for (const r of results) assert.equal(r.accessKeyId, "ASIAFAKE000000000002");
});

Deno.test("wrapper: a lock that cannot be created fetches without it, warning once", async () => {
  await using h = await harness();
  const cached = withFileCache(h.provider, h.opts({ lock: () => Promise.reject(new Error("EROFS")) }));
  await cached();
  assert.equal(h.warnings.length, 1);
  assert.match(h.warnings[0], /lock unavailable.*EROFS/);
});

Deno.test("wrapper: a lock wait that times out fails the call without calling the provider", async () => {
  await using h = await harness();
  await Deno.mkdir(h.cacheDir, { mode: 0o700 });
  const held = await acquireLock(`${h.cacheDir}/${KEY}.lock`, { timeoutMs: 100 });
  try {
    const cached = withFileCache(h.provider, h.opts({ lock: (p) => acquireLock(p, { timeoutMs: 150 }) }));
    await assert.rejects(cached(), LockTimeoutError);
    assert.equal(h.calls(), 0);
  } finally {
    held.release();
  }
});

// ---------------------------------------------------------------------------------------------------------
// The lock
// ---------------------------------------------------------------------------------------------------------

Deno.test("lock: exclusive, waits for release, reports the wait", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/k.lock`;
    const first = await acquireLock(path, { timeoutMs: 1000 });
    assert.equal(first.waitedMs, 0);
    assert.equal(await modeOf(path), 0o600);
    let waited = false;
    const second = acquireLock(path, { timeoutMs: 5000, onWait: () => waited = true });
    setTimeout(() => first.release(), 200);
    const t0 = performance.now();
    const got: LockHandle = await second;
    const elapsed = performance.now() - t0;
    assert.ok(waited);
    assert.ok(got.waitedMs >= 150 && elapsed < 400, `waited ${got.waitedMs} ms, elapsed ${elapsed}`);
    got.release();
    got.release(); // idempotent
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lock: the wait is bounded", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/k.lock`;
    const held = await acquireLock(path, { timeoutMs: 1000 });
    const t0 = performance.now();
    await assert.rejects(acquireLock(path, { timeoutMs: 300 }), (e: Error) => {
      assert.ok(e instanceof LockTimeoutError);
      assert.match(e.message, /another credproc has held .*k\.lock/);
      return true;
    });
    const elapsed = performance.now() - t0;
    assert.ok(elapsed >= 290 && elapsed < 600, `gave up after ${elapsed} ms`);
    held.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lock: a lock file removed by cache clear while waited on is not shared by two holders", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/k.lock`;
    const a = await acquireLock(path, { timeoutMs: 1000 });
    assert.equal(await removeLockIfFree(path), false, "a held lock is left in place");
    const waiting = acquireLock(path, { timeoutMs: 3000 });
    await new Promise((r) => setTimeout(r, 50));
    // Simulate `cache clear` racing with the holder: the path is unlinked while A holds it.
    await Deno.remove(path);
    const c = await acquireLock(path, { timeoutMs: 1000 }); // a newcomer locks the new file
    a.release();
    // The waiter gets A's old inode, sees that the path names another file, and queues on the new one.
    const raced = await Promise.race([
      waiting.then(() => "acquired"),
      new Promise((r) => setTimeout(() => r("waiting"), 300)),
    ]);
    assert.equal(raced, "waiting");
    c.release();
    (await waiting).release();
    assert.equal(await removeLockIfFree(path), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lock: a symlink at the lock path is replaced, its target untouched", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/target`, "keep");
    await Deno.symlink(`${dir}/target`, `${dir}/k.lock`);
    const l = await acquireLock(`${dir}/k.lock`, { timeoutMs: 1000 });
    assert.ok((await Deno.lstat(`${dir}/k.lock`)).isFile);
    assert.equal(await Deno.readTextFile(`${dir}/target`), "keep");
    l.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------------------
// cache clear and the main.ts wiring
// ---------------------------------------------------------------------------------------------------------

Deno.test("cache clear removes our entries, locks and temp files only", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ours = [`${KEY}.json`, `${"b".repeat(64)}.json`, `${KEY}.lock`, `${KEY}.json.abc123.tmp`];
    const theirs = ["notes.txt", "abc.json", `${KEY}.json.bak`];
    for (const n of [...ours, ...theirs]) await Deno.writeTextFile(`${dir}/${n}`, "x");
    const r = await clearCache(dir, createLogger(false, () => {}));
    // entries; the lock and temp file go too
    assert.deepEqual(r, { removed: 2, failureRecord: false, inUse: 0, missing: false, failed: [] });
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assert.deepEqual(left.sort(), theirs.sort());
    assert.deepEqual(await clearCache(`${dir}/nope`, createLogger(false, () => {})), {
      removed: 0,
      failureRecord: false,
      inUse: 0,
      missing: true,
      failed: [],
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cachePlanProvider: key and dir from the plan (flag/env), margin and mode from options", async () => {
  await using h = await harness();
  const opts = assumeOptions("--role-arn", ROLE, "--refresh-margin", "60");
  const env = { CREDPROC_CACHE_DIR: h.cacheDir };
  const p = resolvePlan(opts, env, emptySharedConfig(), new Date(NOW), "linux");
  assert.deepEqual(p.cacheDir, { path: h.cacheDir, namedBy: "CREDPROC_CACHE_DIR" });
  const wrap = (o: Partial<AssumeOptions> = {}) => {
    const options = { ...opts, ...o };
    return cachePlanProvider(h.provider, {
      plan: resolvePlan(options, env, emptySharedConfig(), new Date(NOW), "linux"),
      options,
      loadPolicy: () => Promise.resolve("{}"),
      log: createLogger(false, () => {}),
      warn: (m) => h.warnings.push(m),
      uid: UID,
      clock: () => h.clock.now,
    });
  };
  await (await wrap())();
  const names = [];
  for await (const e of Deno.readDir(h.cacheDir)) names.push(e.name);
  // Secrets are keyed with the directory's own digest key (none here: the digest of an empty list).
  const digest = await secretsDigest(await ensureDigestKey(h.cacheDir, UID), []);
  const key = await cacheKey(p, { secrets: digest });
  assert.ok(names.includes(`${key}.json`), names.join());
  h.clock.now += 58 * MIN; // 2 min left, margin 1 min: still a hit
  await (await wrap())();
  assert.equal(h.calls(), 1);
  await (await wrap({ cacheMode: "off" }))();
  assert.equal(h.calls(), 2);
  await (await wrap({ cacheDir: `${h.dir}/other` }))();
  assert.equal(h.calls(), 3);
  const other = [];
  for await (const e of Deno.readDir(`${h.dir}/other`)) other.push(e.name);
  assert.equal(other.filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).length, 1, other.join());
});

Deno.test("cache entries hold credentials exactly (round trip)", () => {
  const c: Credentials = {
    accessKeyId: "ASIAEXAMPLE000000001",
    secretAccessKey: "s/+=",
    sessionToken: "t",
    expiration: new Date(NOW + 3600_000),
  };
  const v = judgeEntry(GOOD_FACTS, JSON.stringify(entryFor(KEY, c, NOW)), EXPECT);
  assert.ok(v.ok);
  assert.deepEqual(v.credentials, c);
});

// ---------------------------------------------------------------------------------------------------------
// The fast path and its memo
// ---------------------------------------------------------------------------------------------------------

Deno.test("fast path lists stay in step with model.ts", () => {
  assert.deepEqual(
    [...INPUT_ENV_NAMES].sort(),
    ENV_NAMES.filter((n) =>
      n !== "CREDPROC_MFA_TOKEN_CODE" && !(SECRET_ENV_NAMES as readonly string[]).includes(n)
    )
      .sort(),
    "INPUT_ENV_NAMES must be ENV_NAMES less the MFA code and the secrets (digested apart): a variable that shapes the plan must change the inputs key",
  );
});

Deno.test("inputs key: argv, env and cwd count; the MFA code and unrelated variables do not", async () => {
  const argv = ["--role-arn", ROLE];
  const k = await inputsKey(argv, { HOME: "/h" }, "/cwd");
  assert.match(k, /^[0-9a-f]{64}$/);
  assert.equal(
    await inputsKey(argv, { HOME: "/h", PATH: "/bin", CREDPROC_MFA_TOKEN_CODE: "123456" }, "/cwd"),
    k,
  );
  assert.notEqual(await inputsKey(argv, { HOME: "/h2" }, "/cwd"), k);
  assert.notEqual(await inputsKey(argv, { HOME: "/h", AWS_PROFILE: "p" }, "/cwd"), k);
  assert.notEqual(await inputsKey(argv, { HOME: "/h" }, "/other"), k);
  assert.notEqual(await inputsKey([...argv, "--format", "env"], { HOME: "/h" }, "/cwd"), k);
  const mfa = [...argv, "--serial-number", "arn:aws:iam::123456789012:mfa/me"];
  assert.equal(
    await inputsKey([...mfa, "--token-code", "111111"], {}, "/"),
    await inputsKey([...mfa, "--token-code", "222222"], {}, "/"),
  );
  assert.equal(
    await inputsKey([...mfa, "--token-code=111111"], {}, "/"),
    await inputsKey([...mfa, "--token-code=222222"], {}, "/"),
  );
  assert.deepEqual(redactArgv(["--token-code", "1", "--x", "--token-code=2"]), [
    "--token-code",
    "",
    "--x",
    "--token-code=",
  ]);
  assert.equal(scanCacheDir(["--cache-dir", "/a", "--role-arn", ROLE]), "/a");
  assert.equal(scanCacheDir(["--cache-dir=/b"]), "/b");
  assert.equal(scanCacheDir(["--role-arn", ROLE]), undefined);
});

/** A temp cache with a memo and an entry as the full path leaves them, and fast path io pointing at them. */
async function fastHarness() {
  const dir = await Deno.makeTempDir({ prefix: "credproc-fast-unit-" });
  const cacheDir = `${dir}/cache`;
  const configFile = `${dir}/config`;
  await Deno.writeTextFile(configFile, "[default]\nregion = us-east-1\n");
  const argv = ["--role-arn", ROLE, "--cache-dir", cacheDir];
  const env: Record<string, string> = { HOME: dir, AWS_CONFIG_FILE: configFile };
  const io = (over: Partial<FastPathIo> = {}): FastPathIo => ({
    argv,
    getEnv: (n) => env[n],
    cwd: dir,
    os: "linux",
    uid: UID,
    now: NOW,
    ...over,
  });
  const credentials: Credentials = {
    accessKeyId: "ASIAEXAMPLE000000001",
    secretAccessKey: "secret",
    sessionToken: "token",
    expiration: new Date(NOW + 60 * MIN),
  };
  await Deno.mkdir(cacheDir, { mode: 0o700 });
  await writeEntry(`${cacheDir}/${KEY}.json`, entryFor(KEY, credentials, NOW));
  const digestKey = await ensureDigestKey(cacheDir, UID);
  const inputs = await inputsKey(argv, env, dir, {
    key: digestKey,
    secretValues: inputSecretValues(argv, (n) => env[n]),
  });
  const remember = (format: Format = "process") =>
    rememberInputs(cacheDir, {
      inputs,
      key: KEY,
      format,
      marginMs: 15 * MIN,
      files: [configFile, `${dir}/missing-credentials`],
    }, { uid: UID, startedAt: Date.now() + 10_000, log: createLogger(false, () => {}), digestKey });
  await remember();
  return {
    dir,
    cacheDir,
    configFile,
    env,
    io,
    inputs,
    remember,
    digestKey,
    memoPath: `${cacheDir}/${inputs}.inputs.json`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("fast path: a remembered hit is printed; the memo holds no secret", async () => {
  await using f = await fastHarness();
  const text = await fastPath(f.io());
  assert.equal(
    text,
    render({
      accessKeyId: "ASIAEXAMPLE000000001",
      secretAccessKey: "secret",
      sessionToken: "token",
      expiration: new Date(NOW + 60 * MIN),
    }, "process"),
  );
  const memo = await Deno.readTextFile(f.memoPath);
  assert.ok(!memo.includes("secret") && !memo.includes('token"'), memo);
  assert.equal((await Deno.stat(f.memoPath)).mode! & 0o777, 0o600);
  const doc = JSON.parse(memo);
  assert.equal(doc.files[1].sha256, null, "a missing file is remembered as missing");
  await f.remember("env");
  assert.match((await fastPath(f.io()))!, /^export AWS_ACCESS_KEY_ID=ASIAEXAMPLE000000001$/m);
});

Deno.test("fast path: any doubt falls through to the full path", async (t) => {
  const cases: [
    string,
    (f: Awaited<ReturnType<typeof fastHarness>>) => Promise<Partial<FastPathIo> | void>,
  ][] = [
    [
      "a shared config file changed",
      (f) => Deno.writeTextFile(f.configFile, "[default]\nregion = eu-west-1\n"),
    ],
    [
      "a remembered-missing file appeared",
      (f) => Deno.writeTextFile(`${f.dir}/missing-credentials`, "[x]\n"),
    ],
    [
      "a variable changed",
      (f) => Promise.resolve({ getEnv: (n: string) => ({ ...f.env, AWS_PROFILE: "other" })[n] }),
    ],
    ["another argv", () => Promise.resolve({ argv: ["--role-arn", ROLE, "--format", "env"] })],
    ["another working directory", () => Promise.resolve({ cwd: "/" })],
    ["the entry is inside the margin", () => Promise.resolve({ now: NOW + 50 * MIN })],
    ["the entry expired", () => Promise.resolve({ now: NOW + 61 * MIN })],
    ["the entry is gone", (f) => Deno.remove(`${f.cacheDir}/${KEY}.json`)],
    ["the memo has mode 0644", (f) => Deno.chmod(f.memoPath, 0o644)],
    ["the memo is garbage", (f) => Deno.writeTextFile(f.memoPath, "{")],
    ["the memo names bad format", async (f) => {
      const doc = JSON.parse(await Deno.readTextFile(f.memoPath));
      doc.format = "yaml";
      await Deno.writeTextFile(f.memoPath, JSON.stringify(doc));
    }],
    ["the memo points at another key's entry", async (f) => {
      const doc = JSON.parse(await Deno.readTextFile(f.memoPath));
      doc.key = "c".repeat(64);
      await Deno.writeTextFile(f.memoPath, JSON.stringify(doc));
      await Deno.copyFile(`${f.cacheDir}/${KEY}.json`, `${f.cacheDir}/${"c".repeat(64)}.json`);
      await Deno.chmod(`${f.cacheDir}/${"c".repeat(64)}.json`, 0o600);
    }],
    ["another owner", () => Promise.resolve({ uid: (UID ?? 0) + 1 })],
    ["no cache dir at all", () => Promise.resolve({ argv: ["--role-arn", ROLE], getEnv: () => undefined })],
  ];
  for (const [name, change] of cases) {
    await t.step(name, async () => {
      await using f = await fastHarness();
      assert.ok(await fastPath(f.io()), "the unchanged case hits");
      const over = await change(f);
      assert.equal(await fastPath(f.io(over ?? {})), undefined);
    });
  }
});

Deno.test("memo: not written when a file changed after the process started; rewritten only when different", async () => {
  await using f = await fastHarness();
  const before = (await Deno.stat(f.memoPath)).mtime!.getTime();
  await Deno.remove(f.memoPath);
  const lines: string[] = [];
  await rememberInputs(f.cacheDir, {
    inputs: f.inputs,
    key: KEY,
    format: "process",
    marginMs: 0,
    files: [f.configFile],
  }, {
    uid: UID,
    startedAt: Date.now() - 60_000, // the config file is newer than this process
    log: createLogger(true, (l) => lines.push(l)),
    digestKey: f.digestKey,
  });
  await assert.rejects(Deno.lstat(f.memoPath), Deno.errors.NotFound);
  assert.match(lines.join("\n"), /changed just now/);
  await f.remember();
  const ino = (await Deno.stat(f.memoPath)).ino;
  await f.remember();
  assert.equal((await Deno.stat(f.memoPath)).ino, ino, "an identical memo is not rewritten");
  assert.ok(before > 0);
});

Deno.test("fast path: its static import graph is light (no node: built-ins, no npm)", async () => {
  // An npm import in the fast path's graph would show up here as a specifier, and fail the test.
  assert.deepEqual(await startupModules("main.ts"), [
    "lib/cache/dir.ts",
    "lib/cache/key.ts",
    "lib/cache/store.ts",
    "lib/fast_path.ts",
    "lib/model.ts",
    "lib/output.ts",
    "main.ts",
  ]);
});

Deno.test("key: --include-account-id separates the entry; without it the key is what it always was", async () => {
  const base = ["--role-arn", ROLE];
  assert.doesNotMatch(cacheKeyMaterial(plan(base)), /accountId/);
  assert.notEqual(
    await cacheKey(plan([...base, "--include-account-id"])),
    await cacheKey(plan(base)),
  );
  assert.match(cacheKeyMaterial(plan([...base, "--include-account-id"])), /"accountId":true/);
});
