/**
 * Signals and load, against the STS stand-in on loopback with the real program (shipping permission set):
 *
 * - SIGINT and SIGTERM while an STS call is in flight: the process ends promptly with a non-zero status,
 *   prints nothing on stdout, writes no cache entry (nor a temp file), and the per-key lock it held is free
 *   again (the next call goes through at once).
 * - 200 sequential cache hits and 50 parallel ones: all exit 0 with byte-identical output and nothing on
 *   stderr, the stand-in sees exactly one AssumeRole, and the cache directory holds only the entry, its lock
 *   and the fast path's inputs memo (no temp file, nothing else).
 */
import assert from "node:assert/strict";
import { ENTRY_FILE, LOCK_FILE, MEMO_FILE } from "../../lib/cache/store.ts";
import { acquireLock } from "../../lib/cache/lock.ts";
import { LockTimeoutError } from "../../lib/errors.ts";
import {
  type Standin,
  STANDIN_ACCESS_KEY_ID,
  STANDIN_SECRET_ACCESS_KEY,
  startStandin,
} from "../support/sts_standin/mod.ts";
import {
  credprocCommand,
  ignoreIf,
  PROCESS_DOC,
  ROLE,
  runCredproc,
  type TempHome,
  tempHome,
  until,
} from "../support/helpers.ts";
import { deadUrl, pool, safeEnv } from "../support/hardening_helpers.ts";

function envFor(home: TempHome, standin: Standin): Record<string, string> {
  return home.env(
    safeEnv(home.dir, {
      sts: standin.url,
      dead: deadUrl(),
      keys: { id: STANDIN_ACCESS_KEY_ID, secret: STANDIN_SECRET_ACCESS_KEY },
    }),
  );
}

const argsFor = (
  standin: Standin,
) => ["--role-arn", ROLE, "--endpoint-url", standin.url, "--role-session-name", "load"];

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test({
    ...ignoreIf(
      `${signal} during an STS call: non-zero exit, empty stdout, no cache entry, lock released`,
      Deno.build.os === "windows" && "no POSIX signals on Windows",
    ),
    async fn() {
      await using standin = await startStandin();
      await using home = await tempHome();
      standin.setDefaultFault({ kind: "hang" });
      const env = envFor(home, standin);
      const [cmd, ...pre] = credprocCommand();
      const child = new Deno.Command(cmd, {
        args: [...pre, ...argsFor(standin), "--timeout", "120"],
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = child.output();
      try {
        await until("the STS request", () => standin.count("AssumeRole") === 1);
        const lock = (await listDir(home.cacheDir)).find((n) => LOCK_FILE.test(n));
        assert.ok(lock, "the call holds a lock file in the cache directory");
        const lockPath = `${home.cacheDir}/${lock}`;
        // The lock really is held while the call is in flight (so "released" below means something).
        await assert.rejects(acquireLock(lockPath, { timeoutMs: 200 }), LockTimeoutError);

        const sent = performance.now();
        child.kill(signal);
        const out = await output;
        const ms = performance.now() - sent;
        assert.notEqual(out.code, 0, "non-zero exit");
        assert.equal(out.success, false);
        assert.equal(new TextDecoder().decode(out.stdout), "", "nothing on stdout");
        assert.doesNotMatch(new TextDecoder().decode(out.stderr), /^\s+at |Uncaught/m, "no stack trace");
        assert.ok(ms < 2000, `ended ${Math.round(ms)} ms after ${signal}`);

        const left = await listDir(home.cacheDir);
        assert.deepEqual(
          left.filter((n) => !LOCK_FILE.test(n) && n !== "digest.key"),
          [],
          `no cache entry or temp file: ${left}`,
        );
        const again = await acquireLock(lockPath, { timeoutMs: 200 });
        again.release();

        // The next caller is not held up by the dead process: it calls STS at once and caches the answer.
        standin.setDefaultFault(null);
        const next = await runCredproc(argsFor(standin), env);
        assert.equal(next.code, 0, next.stderr);
        assert.match(next.stdout, PROCESS_DOC);
        assert.equal(standin.count("AssumeRole"), 2);
        assert.equal((await listDir(home.cacheDir)).filter((n) => ENTRY_FILE.test(n)).length, 1);
        console.log(
          `${signal}: exit ${out.code} (signal ${out.signal}) ${Math.round(ms)} ms after the signal`,
        );
      } finally {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
        await output.catch(() => {});
      }
    },
  });
}

/** One entry, at most its lock and one inputs memo (the fast path's), and nothing else: no temp file. */
function assertOnlyEntryAndLock(names: string[]): void {
  assert.equal(names.filter((n) => ENTRY_FILE.test(n)).length, 1, `one entry: ${names}`);
  assert.ok(names.filter((n) => LOCK_FILE.test(n)).length <= 1, `at most its lock: ${names}`);
  assert.ok(names.filter((n) => MEMO_FILE.test(n)).length <= 1, `at most one inputs memo: ${names}`);
  const known = (n: string) =>
    ENTRY_FILE.test(n) || LOCK_FILE.test(n) || MEMO_FILE.test(n) || n === "digest.key";
  assert.deepEqual(names.filter((n) => !known(n)), [], `no stray files: ${names}`);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
}

Deno.test("load: 200 sequential cache hits and 50 parallel ones are identical, exit 0, and leave no stray files", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const env = envFor(home, standin);
  const first = await runCredproc(argsFor(standin), env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, PROCESS_DOC);

  const sequential: number[] = [];
  for (let i = 0; i < 200; i++) {
    const r = await runCredproc(argsFor(standin), env);
    assert.equal(r.code, 0, `hit ${i}: ${r.stderr}`);
    assert.equal(r.stdout, first.stdout, `hit ${i} printed something else`);
    assert.equal(r.stderr, "", `hit ${i} printed on stderr`);
    sequential.push(r.ms);
  }
  assertOnlyEntryAndLock(await listDir(home.cacheDir));

  const started = performance.now();
  const parallel = await pool(50, Array.from({ length: 50 }, () => () => runCredproc(argsFor(standin), env)));
  const wall = performance.now() - started;
  for (const [i, r] of parallel.entries()) {
    assert.equal(r.code, 0, `parallel hit ${i}: ${r.stderr}`);
    assert.equal(r.stdout, first.stdout, `parallel hit ${i} printed something else`);
    assert.equal(r.stderr, "", `parallel hit ${i} printed on stderr`);
  }
  assert.equal(standin.count("AssumeRole"), 1, "one STS call for 251 runs");
  assert.equal(standin.requests.length, 1);
  assertOnlyEntryAndLock(await listDir(home.cacheDir));
  console.log(
    `load: 200 sequential hits p50 ${percentile(sequential, 50)} ms, p95 ${percentile(sequential, 95)} ms; ` +
      `50 parallel hits in ${Math.round(wall)} ms (p95 ${percentile(parallel.map((r) => r.ms), 95)} ms); ` +
      `${standin.count("AssumeRole")} STS call`,
  );
});
