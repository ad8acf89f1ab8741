/** Failure markers (`<key>.failure.json`): left by a failed lock holder, removed by the next success. */
import assert from "node:assert/strict";
import { cachedCall } from "../../lib/cache/decorator.ts";
import { entryFiles } from "../../lib/cache/files.ts";
import { judgeCacheDir } from "../../lib/cache/session.ts";
import { createLogger } from "../../lib/log.ts";
import { CredprocError } from "../../lib/errors.ts";
import { failureFromMarker, failureMarkerText } from "../../lib/cache/markers.ts";
import type { CredentialProvider } from "../../lib/model.ts";

const KEY = "a".repeat(64);
const OTHER = "b".repeat(64);

Deno.test("markers: a failure leaves a marker; the next success for that key removes it, and only it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "credproc-markers-unit-" });
  try {
    const cacheDir = `${dir}/cache`;
    let fail = true;
    // The later calls are made by a later process (launched after the failure): a clock an hour on.
    let later = 0;
    const provider: CredentialProvider = () =>
      Promise.resolve().then(() => {
        if (fail) throw new CredprocError("AssumeRole", "AccessDenied: not this time", 1);
        return {
          accessKeyId: "ASIAFAKE000000000001",
          secretAccessKey: "secret",
          sessionToken: "token",
          expiration: new Date(Date.now() + 7200_000),
        };
      });
    const lines: string[] = [];
    assert.equal((await judgeCacheDir({ path: cacheDir }, Deno.uid(), { create: true })).state, "usable");
    const log = createLogger(true, (l) => lines.push(l));
    const clock = () => Date.now() + later;
    const cached = (key: string) =>
      cachedCall(provider, {
        files: entryFiles({ dir: cacheDir, key, marginMs: 0, uid: Deno.uid(), clock, lockWaitMs: 5000, log }),
        refresh: false,
        clock,
        log,
        warn: () => {},
      });
    const markers = async () => {
      const names: string[] = [];
      for await (const e of Deno.readDir(cacheDir)) if (e.name.endsWith(".failure.json")) names.push(e.name);
      return names.sort();
    };
    await assert.rejects(cached(KEY)(), /not this time/);
    await assert.rejects(cached(OTHER)(), /not this time/);
    assert.deepEqual(await markers(), [`${KEY}.failure.json`, `${OTHER}.failure.json`]);
    fail = false;
    later = 3600_000;
    await cached(KEY)();
    assert.deepEqual(await markers(), [`${OTHER}.failure.json`], "the key that works again has no marker");
    assert.ok(lines.some((l) => /removed the earlier failure's marker/.test(l)), lines.join("\n"));
    await cached(OTHER)();
    assert.deepEqual(await markers(), [], "no marker piles up once each key has succeeded");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("markers: shared only for the key, after the reader's launch, not from the future; scrubbed and cut", () => {
  const at = Date.parse("2026-11-25T12:00:00Z");
  const e = new CredprocError("AssumeRole r", `AccessDenied: the-secret-value ${"x".repeat(3000)}`, 1, {
    hint: "check the trust policy",
  });
  const text = failureMarkerText(KEY, at, e, (t) => t.replaceAll("the-secret-value", "[redacted]"));
  assert.ok(!text.includes("the-secret-value"), text.slice(0, 200));
  const doc = JSON.parse(text);
  assert.equal(doc.message.length, 2000, "cut to the longest text kept");
  const shared = failureFromMarker(text, KEY, at + 100, at - 1000);
  assert.ok(shared instanceof CredprocError);
  assert.deepEqual([shared.what, shared.hint, shared.exitCode], [
    "AssumeRole r",
    "check the trust policy",
    1,
  ]);
  assert.equal(failureFromMarker(text, OTHER, at + 100, at - 1000), undefined, "another key's");
  assert.equal(failureFromMarker(text, KEY, at + 100, at + 1), undefined, "recorded before this launch");
  assert.equal(failureFromMarker(text, KEY, at - 2000, at - 5000), undefined, "from the future");
  assert.equal(failureFromMarker("{", KEY, at, at), undefined, "not JSON");
  assert.equal(failureFromMarker('{"credproc":1}', KEY, at, at), undefined, "not a marker");
});
