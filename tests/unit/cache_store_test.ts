/**
 * lib/cache/store.ts: the margin rule and the trust rules for a cache entry — metadata and content — with a
 * fake clock and fake file facts (no file system).
 */
import assert from "node:assert/strict";
import {
  DEFAULT_REFRESH_MARGIN_SECONDS,
  effectiveMarginMs,
  entryFor,
  type FileFacts,
  judgeEntry,
  judgeFacts,
  parseEntry,
} from "../../lib/cache/store.ts";
import type { Credentials } from "../../lib/model.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const MIN = 60_000;
const KEY = "a".repeat(64);

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

Deno.test("cache entries hold credentials exactly (round trip)", () => {
  const c: Credentials = {
    accessKeyId: "ASIAEXAMPLE000000001",
    secretAccessKey: "s/+=",
    sessionToken: "t",
    expiration: new Date(NOW + 3600_000),
  };
  const v = judgeEntry(GOOD_FACTS, JSON.stringify(entryFor(KEY, c, NOW)), EXPECT);
  assert.ok(v.ok);
  assert.deepEqual(v.credentials, { ...c, issuedAt: new Date(NOW) });
});
