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
  judgeTokenEntry,
  parseEntry,
  parseTokenEntry,
  tokenEntryFor,
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

// ---------------------------------------------------------------------------------------------------------
// EKS token entries: the same file rules, the token's own payload and margin
// ---------------------------------------------------------------------------------------------------------

const TOKEN = `k8s-aws-v1.${"aHR0cHM6Ly9zdHMu".repeat(20)}`;
const TOKEN_MARGIN = 5 * MIN;

/** A token entry signed `signedAgo` before NOW that expires `expiresIn` after NOW. */
function tokenText(over: { signedAgo?: number; expiresIn?: number; token?: string } = {}): string {
  const signed = NOW - (over.signedAgo ?? 0);
  return JSON.stringify(tokenEntryFor(KEY, {
    token: over.token ?? TOKEN,
    expiration: new Date(NOW + (over.expiresIn ?? 14 * MIN)),
  }, signed));
}

const TOKEN_EXPECT = { key: KEY, now: NOW, marginMs: TOKEN_MARGIN, uid: 1000 };

Deno.test("token entry: a fresh token is used as stored; a credentials entry is never read as one, nor the reverse", () => {
  const v = judgeTokenEntry(GOOD_FACTS, tokenText(), TOKEN_EXPECT);
  assert.ok(v.ok, JSON.stringify(v));
  assert.deepEqual(v.token, { token: TOKEN, expiration: new Date(NOW + 14 * MIN) });
  assert.equal(v.remainingMs, 14 * MIN);
  assert.deepEqual(judgeTokenEntry(GOOD_FACTS, entryText(), TOKEN_EXPECT), {
    ok: false,
    reason: "it has no token object",
  });
  assert.deepEqual(judgeEntry(GOOD_FACTS, tokenText(), EXPECT), {
    ok: false,
    reason: "it has no credentials object",
  });
  // The file rules are the entries' (judgeFacts): a token file of another mode is not read either.
  assert.deepEqual(judgeTokenEntry({ ...GOOD_FACTS, mode: 0o100644 }, tokenText(), TOKEN_EXPECT), {
    ok: false,
    reason: "its mode is 0644, not 0600",
  });
});

Deno.test("token entry: reused only while more than its margin is left; never when signed later than now", () => {
  const why = (text: string, now = NOW) => {
    const v = judgeTokenEntry(GOOD_FACTS, text, { ...TOKEN_EXPECT, now });
    return v.ok ? "ok" : v.reason;
  };
  // Signed 9 minutes ago, so 5 minutes and 1 second are left: reused.
  assert.equal(why(tokenText({ signedAgo: 9 * MIN - 1000, expiresIn: 5 * MIN + 1000 })), "ok");
  // Exactly the margin left: signed anew (no halving for a short token: a 4-minute one is never reused).
  assert.equal(
    why(tokenText({ signedAgo: 9 * MIN, expiresIn: 5 * MIN })),
    "only 300 s remain, within the token's margin of 300 s",
  );
  assert.match(why(tokenText({ expiresIn: 4 * MIN })), /within the token's margin/);
  assert.equal(why(tokenText({ signedAgo: 14 * MIN, expiresIn: 0 })), "the token has expired");
  // A clock set back after signing: the token's X-Amz-Date lies ahead, its printed expiry too far away.
  assert.equal(why(tokenText(), NOW - 2 * MIN), "it was signed later than now (the clock went back)");
  // Within a minute of skew is the same moment.
  assert.equal(why(tokenText(), NOW - 30_000), "ok");
});

Deno.test("token entry: shape — the token's text and size, its dates, its lifetime", () => {
  const doc = JSON.parse(tokenText());
  // deno-lint-ignore no-explicit-any
  const why = (change: (d: Record<string, any>) => void) => {
    const d = structuredClone(doc);
    change(d);
    const r = parseTokenEntry(d);
    return typeof r === "string" ? r : "ok";
  };
  assert.equal(why(() => {}), "ok");
  assert.equal(why((d) => delete d.token), "it has no token object");
  assert.equal(why((d) => d.token.Token = "Bearer x"), "its Token is not valid");
  assert.equal(why((d) => d.token.Token = `${TOKEN}"`), "its Token is not valid");
  assert.equal(why((d) => d.token.Token = `k8s-aws-v1.${"A".repeat(4096)}`), "its Token is not valid");
  assert.equal(why((d) => d.token.Token = `k8s-aws-v1.${"A".repeat(4096 - 11)}`), "ok");
  assert.equal(why((d) => d.token.Expiration = "soon"), "its Expiration is not valid");
  assert.equal(why((d) => d.issuedAt = 5), "it has no valid issuedAt");
  assert.equal(
    why((d) => d.token.Expiration = new Date(NOW + 16 * MIN).toISOString()),
    "it expires more than 15 minutes after it was signed",
  );
  assert.equal(
    why((d) => d.token.Expiration = new Date(NOW - MIN).toISOString()),
    "it expires before it was issued",
  );
  assert.equal(why((d) => d.credproc = 2), "it has another format version");
});
