/** lib/cache/lock.ts: the per-key cross-process lock — exclusive, bounded, safe against `cache clear` and symlinks. */
import assert from "node:assert/strict";
import { acquireLock, type LockHandle, removeLockIfFree } from "../../lib/cache/lock.ts";
import { LockTimeoutError } from "../../lib/errors.ts";

Deno.test("lock: exclusive, waits for release, reports the wait", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/k.lock`;
    const first = await acquireLock(path, { timeoutMs: 1000 });
    assert.equal(first.waitedMs, 0);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
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
