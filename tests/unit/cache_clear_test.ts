/** lib/cache/clear.ts: `credproc cache clear` removes credproc's own files only. */
import assert from "node:assert/strict";
import { clearCache } from "../../lib/cache/clear.ts";
import { createLogger } from "../../lib/log.ts";

const KEY = "a".repeat(64);

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
