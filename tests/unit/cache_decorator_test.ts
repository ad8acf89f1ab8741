/**
 * lib/cache/decorator.ts: one cached call over an entry's files — miss, hit, margin, refresh, tampered files,
 * the lock (crowds, timeouts, none to take) — against a real temp directory with a fake provider. The files
 * are the session's (`entryFiles`, lib/cache/files.ts), in a directory judged as a session judges it.
 */
import assert from "node:assert/strict";
import { cachedCall, type EntryFiles } from "../../lib/cache/decorator.ts";
import { entryFiles, type EntryFilesOptions } from "../../lib/cache/files.ts";
import { judgeCacheDir } from "../../lib/cache/session.ts";
import { entryFor } from "../../lib/cache/store.ts";
import { writeEntry } from "../../lib/cache/write.ts";
import { acquireLock } from "../../lib/cache/lock.ts";
import { LockTimeoutError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import type { CredentialProvider } from "../../lib/model.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const MIN = 60_000;
const KEY = "a".repeat(64);
const UID = Deno.uid();

interface Harness {
  dir: string;
  cacheDir: string;
  calls: () => number;
  provider: CredentialProvider;
  clock: { now: number };
  lines: string[];
  warnings: string[];
  /** The files of entry KEY in the cache directory (see `entryFiles`). */
  files(over?: Partial<EntryFilesOptions>): EntryFiles;
  /**
   * The decorator over entry KEY, in a cache directory judged (and made 0700) as a session does first;
   * `files` replaces some of the entry's file operations.
   */
  cached(over?: { refresh?: boolean; files?: Partial<EntryFiles> }): Promise<CredentialProvider>;
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
  const files = (over: Partial<EntryFilesOptions> = {}) =>
    entryFiles({
      dir: cacheDir,
      key: KEY,
      marginMs: 15 * MIN,
      uid: UID,
      clock: () => clock.now,
      lockWaitMs: 5000,
      log,
      ...over,
    });
  return {
    dir,
    cacheDir,
    calls: () => n,
    provider,
    clock,
    lines,
    warnings,
    files,
    async cached(over = {}) {
      assert.equal((await judgeCacheDir({ path: cacheDir }, UID, { create: true })).state, "usable");
      return cachedCall(provider, {
        files: { ...files(), ...over.files },
        refresh: over.refresh ?? false,
        clock: () => clock.now,
        log,
        warn: (m) => warnings.push(m),
      });
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

const modeOf = async (p: string) => (await Deno.stat(p)).mode! & 0o777;

Deno.test("decorator: miss stores 0600 in a 0700 dir, hit reuses, margin refetches, never logs secrets", async () => {
  await using h = await harness();
  const cached = await h.cached();
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
  // Said once: the look after taking the lock is quiet about what the first look said.
  assert.equal(h.lines.filter((l) => / cache: miss /.test(l)).length, 1, log);
  assert.match(log, /cache: hit .*\.json \(16 min left\)/);
  assert.match(log, /within the refresh margin/);
  assert.ok(!/secret-number|token-number/.test(log), log);
  assert.deepEqual(h.warnings, []);
  // No temp file is left behind.
  const names = [];
  for await (const e of Deno.readDir(h.cacheDir)) names.push(e.name);
  assert.deepEqual(names.sort(), [`${KEY}.json`, `${KEY}.lock`]);
});

Deno.test("decorator: --refresh calls and rewrites; the next call uses what it wrote", async () => {
  await using h = await harness();
  const first = await (await h.cached())();
  assert.equal(h.calls(), 1);
  const refreshed = await (await h.cached({ refresh: true }))();
  assert.equal(h.calls(), 2);
  assert.notEqual(refreshed.accessKeyId, first.accessKeyId);
  assert.deepEqual(await (await h.cached())(), refreshed);
  assert.equal(h.calls(), 2);
});

Deno.test("decorator: tampered files are ignored and replaced", async (t) => {
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
      const expired = new Date(NOW - MIN);
      await writeEntry(
        f,
        entryFor(
          KEY,
          { accessKeyId: "ASIAEXAMPLE000000001", secretAccessKey: "s", expiration: expired },
          NOW - 61 * MIN,
        ),
      );
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
      const cached = await h.cached();
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

Deno.test("decorator: credentials without a future expiration are returned but not stored", async () => {
  await using h = await harness(-MIN);
  await (await h.cached())();
  await (await h.cached())();
  assert.equal(h.calls(), 2);
  await assert.rejects(Deno.lstat(`${h.cacheDir}/${KEY}.json`), Deno.errors.NotFound);
});

Deno.test("decorator: a success removes a failure marker only when one is there", async (t) => {
  await t.step("none under the lock: no removal attempted", async () => {
    await using h = await harness();
    let removals = 0;
    const cached = await h.cached({ files: { removeFailureMarker: () => Promise.resolve(void removals++) } });
    await cached();
    assert.equal(h.calls(), 1);
    assert.equal(removals, 0);
  });
  await t.step("an earlier call's marker (history): removed", async () => {
    await using h = await harness();
    const marker = `${h.cacheDir}/${KEY}.failure.json`;
    const cached = await h.cached();
    const old = { credproc: 1, key: KEY, at: NOW - 60 * MIN, what: "AssumeRole", message: "denied" };
    await Deno.writeTextFile(marker, JSON.stringify(old), { mode: 0o600 });
    await Deno.chmod(marker, 0o600);
    await cached();
    assert.equal(h.calls(), 1, "an old failure is history: the call is made");
    await assert.rejects(Deno.stat(marker), Deno.errors.NotFound);
    assert.ok(h.lines.some((l) => l.includes("removed the earlier failure's marker")), h.lines.join("\n"));
  });
});

Deno.test("decorator: provider errors pass through and release the lock", async () => {
  await using h = await harness();
  const failing = cachedCall(() => Promise.reject(new Error("sts says no")), {
    files: h.files(),
    refresh: false,
    clock: () => h.clock.now,
    log: createLogger(false, () => {}),
    warn: (m) => h.warnings.push(m),
  });
  await judgeCacheDir({ path: h.cacheDir }, UID, { create: true }); // as the session does first
  await assert.rejects(failing(), /sts says no/);
  // The lock is free again: this would time out otherwise.
  const held = await acquireLock(`${h.cacheDir}/${KEY}.lock`, { timeoutMs: 100 });
  held.release();
});

Deno.test("decorator: concurrent misses call the provider once (lock, then re-read)", async () => {
  await using h = await harness(60 * MIN, 200);
  const calls = await Promise.all(Array.from({ length: 8 }, () => h.cached()));
  const results = await Promise.all(calls.map((c) => c()));
  assert.equal(h.calls(), 1);
  for (const r of results) assert.deepEqual(r, results[0]);
  assert.match(h.lines.join("\n"), /hit (after|while) waiting/);
});

Deno.test("decorator: parallel --refresh calls share one fresh fetch", async () => {
  await using h = await harness(60 * MIN, 150);
  await (await h.cached())();
  h.clock.now += MIN;
  const calls = await Promise.all(Array.from({ length: 4 }, () => h.cached({ refresh: true })));
  const results = await Promise.all(calls.map((c) => c()));
  assert.equal(h.calls(), 2);
  for (const r of results) assert.equal(r.accessKeyId, "ASIAFAKE000000000002");
});

Deno.test("decorator: a lock that cannot be created fetches without it, warning once", async () => {
  await using h = await harness();
  const cached = await h.cached({ files: { lock: () => Promise.reject(new Error("EROFS")) } });
  await cached();
  assert.equal(h.warnings.length, 1);
  assert.match(h.warnings[0], /lock unavailable.*EROFS/);
});

Deno.test("decorator: a lock wait that times out fails the call without calling the provider", async () => {
  await using h = await harness();
  await Deno.mkdir(h.cacheDir, { mode: 0o700 });
  const held = await acquireLock(`${h.cacheDir}/${KEY}.lock`, { timeoutMs: 100 });
  try {
    const cached = await h.cached({ files: { lock: h.files({ lockWaitMs: 150 }).lock } });
    await assert.rejects(cached(), LockTimeoutError);
    assert.equal(h.calls(), 0);
  } finally {
    held.release();
  }
});
