/** The failure record: bounded, newest last, 0600, atomic; a bad file reads as empty and is replaced. */
import assert from "node:assert/strict";
import {
  appendFailureRecord,
  FAILURES_FILE,
  FAILURES_LOCK,
  MAX_FAILURES,
  readFailureRecord,
} from "../../lib/cache/failures.ts";
import { currentUid } from "../../lib/cache/dir.ts";
import { clearCache, clearReport } from "../../lib/cache/clear.ts";
import { createLogger } from "../../lib/log.ts";

const uid = currentUid();

function at(i: number): string {
  return new Date(Date.UTC(2026, 10, 29, 12, 0, i)).toISOString();
}

Deno.test("failure record: 25 failures → the newest 20 kept, newest last, 0600, nothing else left behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = `${dir}/cache`;
    for (let i = 1; i <= 25; i++) {
      const why = await appendFailureRecord(cache, {
        time: at(i),
        line: `credproc: AssumeRole r: failure ${i}`,
        hint: i % 2 ? `hint ${i}` : null,
      }, uid);
      assert.equal(why, undefined);
    }
    const kept = await readFailureRecord(cache, uid);
    assert.equal(MAX_FAILURES, 20);
    assert.equal(kept.length, 20);
    assert.deepEqual(kept[0], { time: at(6), line: "credproc: AssumeRole r: failure 6", hint: null });
    assert.deepEqual(kept.at(-1), {
      time: at(25),
      line: "credproc: AssumeRole r: failure 25",
      hint: "hint 25",
    });
    assert.deepEqual(
      kept.map((f) => f.line.split(" ").at(-1)),
      Array.from({ length: 20 }, (_, i) => `${i + 6}`),
    );
    const names = [...Deno.readDirSync(cache)].map((e) => e.name).sort();
    assert.deepEqual(names, [FAILURES_FILE, FAILURES_LOCK]); // no temp file left
    assert.equal(Deno.statSync(`${cache}/${FAILURES_LOCK}`).mode! & 0o777, 0o600);
    const st = Deno.statSync(`${cache}/${FAILURES_FILE}`);
    assert.equal(st.mode! & 0o777, 0o600);
    assert.equal(Deno.statSync(cache).mode! & 0o777, 0o700);
    const size = st.size;
    // Another 100 do not make it grow: the bound holds.
    for (let i = 26; i <= 125; i++) {
      await appendFailureRecord(
        cache,
        { time: at(i), line: `credproc: AssumeRole r: failure ${i}`, hint: null },
        uid,
      );
    }
    assert.equal((await readFailureRecord(cache, uid)).length, 20);
    assert.ok(Deno.statSync(`${cache}/${FAILURES_FILE}`).size <= size + 20 * 16, "grew past the bound");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("failure record: long lines are cut, the file stays within the cache's size limit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (let i = 0; i < 30; i++) {
      await appendFailureRecord(dir, {
        time: at(i),
        line: `credproc: x: ${"é".repeat(5000)}`,
        hint: "h".repeat(5000),
      }, uid);
    }
    const kept = await readFailureRecord(dir, uid);
    assert.ok(kept.length >= 1 && kept.length <= 20);
    assert.equal(kept.at(-1)!.time, at(29));
    assert.equal(kept.at(-1)!.line.length, 1000);
    assert.ok(Deno.statSync(`${dir}/${FAILURES_FILE}`).size <= 64 * 1024);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("failure record: a damaged, foreign-mode or symlinked file reads as empty and is replaced", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/${FAILURES_FILE}`;
    for (
      const [text, mode] of [["not json", 0o600], [
        '{"credproc":1,"failures":[{"time":"x"}]}',
        0o600,
      ]] as const
    ) {
      await Deno.writeTextFile(path, text, { mode });
      await Deno.chmod(path, mode);
      assert.deepEqual(await readFailureRecord(dir, uid), []);
    }
    await Deno.chmod(path, 0o644);
    const good = '{"credproc":1,"failures":[{"time":"2026-11-29T12:00:00.000Z","line":"l","hint":null}]}';
    await Deno.writeTextFile(path, good);
    assert.deepEqual(await readFailureRecord(dir, uid), []); // 0644 is not trusted
    await Deno.remove(path);
    await Deno.symlink("/etc/passwd", path);
    assert.deepEqual(await readFailureRecord(dir, uid), []);
    assert.equal(
      await appendFailureRecord(dir, { time: at(1), line: "credproc: a: b", hint: null }, uid),
      undefined,
    );
    assert.equal(Deno.lstatSync(path).isSymlink, false); // replaced by rename, the target untouched
    assert.deepEqual(await readFailureRecord(dir, uid), [{
      time: at(1),
      line: "credproc: a: b",
      hint: null,
    }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("failure record: failures recorded at the same time are all kept (one writer at a time)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o700);
    const lines = Array.from({ length: 12 }, (_, i) => `credproc: AssumeRole r${i}: AccessDenied: no`);
    const why = await Promise.all(
      lines.map((line, i) =>
        appendFailureRecord(
          dir,
          { time: `2026-11-29T11:${String(i).padStart(2, "0")}:00.000Z`, line, hint: null },
          uid,
        )
      ),
    );
    assert.deepEqual(why, lines.map(() => undefined));
    const kept = (await readFailureRecord(dir, uid)).map((f) => f.line);
    assert.deepEqual([...kept].sort(), [...lines].sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cache clear removes the failure record, its free lock and a leftover temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(
      await appendFailureRecord(dir, { time: at(1), line: "credproc: x: y", hint: null }, uid),
      undefined,
    );
    await Deno.writeTextFile(`${dir}/${FAILURES_FILE}.abc123.tmp`, "{");
    await Deno.writeTextFile(`${dir}/failures.json.bak`, "not ours");
    const names = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names(), [
      FAILURES_FILE,
      `${FAILURES_FILE}.abc123.tmp`,
      "failures.json.bak",
      FAILURES_LOCK,
    ]);
    const lines: string[] = [];
    const r = await clearCache(dir, createLogger(true, (l) => lines.push(l)));
    assert.deepEqual(r, { removed: 0, failureRecord: true, inUse: 0, missing: false, failed: [] });
    assert.deepEqual(names(), ["failures.json.bak"]);
    assert.deepEqual(await readFailureRecord(dir, uid), []);
    assert.equal(
      clearReport(dir, r),
      `credproc: removed 0 cache entries and the failure record from ${dir}\n`,
    );
    assert.deepEqual(lines, [
      `credproc: cache clear: removed ${dir}/${FAILURES_FILE}`,
      `credproc: cache clear: removed ${dir}/${FAILURES_FILE}.abc123.tmp`,
      `credproc: cache clear: removed ${dir}/${FAILURES_LOCK}`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
