/** `credproc cache list` over crafted entries with a fixed clock: every status, old entries, no secret. */
import assert from "node:assert/strict";
import { formatListing, listCache, type ListedDir, listingJson } from "../../lib/cache/list.ts";
import { judgeCacheDir } from "../../lib/cache/session.ts";
import { entryFor, type EntryMeta, tokenEntryFor } from "../../lib/cache/store.ts";
import { writeEntry } from "../../lib/cache/write.ts";
import { appendFailureRecord } from "../../lib/cache/failures.ts";

const NOW = Date.parse("2026-11-29T12:00:00.000Z");
const MIN = 60_000;
const ROLE = "arn:aws:iam::123456789012:role/deploy";
const UID = Deno.uid();
const SECRET = "secret/never/shown/EXAMPLE000000000000001";

function meta(extra: Partial<EntryMeta> = {}): EntryMeta {
  return {
    kind: "role",
    roles: [ROLE],
    sessionName: "ci",
    source: "static",
    region: "eu-west-1",
    marginSeconds: 900,
    ...extra,
  };
}

Deno.test("cache list: valid, within the margin, expired, unusable and pre-meta entries; failures newest last", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = async (
      key: string,
      issuedMin: number,
      lifeMin: number,
      m?: EntryMeta,
      accountId?: string,
    ) => {
      const credentials = {
        accessKeyId: `ASIA${key.slice(0, 1).toUpperCase().repeat(12)}WXYZ`,
        secretAccessKey: SECRET,
        sessionToken: "token/never/shown/EXAMPLE",
        expiration: new Date(NOW + (issuedMin + lifeMin) * MIN),
        ...(accountId ? { accountId } : {}),
      };
      await writeEntry(`${dir}/${key}.json`, entryFor(key, credentials, NOW + issuedMin * MIN, m));
    };
    const k = (c: string) => c.repeat(64);
    await write(k("a"), -10, 60, meta(), "123456789012"); // 50 min left: valid
    await write(k("b"), -50, 60, meta({ sessionName: "late" })); // 10 min left, margin 15: refresh
    await write(k("c"), -70, 60, meta({ sessionName: "gone" })); // expired
    await write(
      k("d"),
      -1,
      720,
      meta({
        kind: "mfa-session",
        roles: [],
        sessionName: undefined,
        mfaSerial: "arn:aws:iam::123456789012:mfa/me",
        profile: "prod",
      }),
    );
    await write(k("e"), -5, 60); // written before entries carried meta
    await Deno.writeTextFile(`${dir}/${k("f")}.json`, "{}", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/${k("0")}.json`, "{}");
    await Deno.chmod(`${dir}/${k("0")}.json`, 0o644);
    // Not entries: memos, locks, per-key failure markers, the failure record.
    await Deno.writeTextFile(`${dir}/${k("1")}.inputs.json`, "{}", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/${k("1")}.lock`, "");
    await Deno.writeTextFile(`${dir}/${k("1")}.failure.json`, "{}", { mode: 0o600 });
    await appendFailureRecord(dir, {
      time: "2026-11-29T11:58:00.000Z",
      line: "credproc: AssumeRole r: AccessDenied: no",
      hint: "check the trust policy",
    }, UID);
    await appendFailureRecord(dir, {
      time: "2026-11-29T11:59:00.000Z",
      line: 'credproc: bad arguments: unknown option "--x"',
      hint: null,
    }, UID);
    await Deno.chmod(dir, 0o700);

    const names = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    const before = names();
    const verdict = await judgeCacheDir({ path: dir }, UID, { create: false });
    assert.equal(verdict.state, "usable");
    const listing = await listCache(verdict as ListedDir, NOW, UID);
    const text = formatListing(listing);
    assert.equal(
      text,
      `cache directory: ${dir}
  usable (owner uid ${UID}, mode 0700)

FOR                                                          SESSION  SOURCE  REGION     KEY ID     LEFT     NEXT CALL
MFA session arn:aws:iam::123456789012:mfa/me (profile prod)  -        static  eu-west-1  ASIA…WXYZ  11h59m   served from cache
(written by an older credproc)                               -        -       -          ASIA…WXYZ  55m00s   served from cache
arn:aws:iam::123456789012:role/deploy                        ci       static  eu-west-1  ASIA…WXYZ  50m00s   served from cache
arn:aws:iam::123456789012:role/deploy                        gone     static  eu-west-1  ASIA…WXYZ  expired  refreshes (expired)
arn:aws:iam::123456789012:role/deploy                        late     static  eu-west-1  ASIA…WXYZ  10m00s   refreshes (within margin)
-                                                            -        -       -          -          -        replaced: its mode is 0644, not 0600
-                                                            -        -       -          -          -        replaced: it has another format version

recent failures (newest last):
2026-11-29T11:58:00.000Z  credproc: AssumeRole r: AccessDenied: no
                          hint: check the trust policy
2026-11-29T11:59:00.000Z  credproc: bad arguments: unknown option "--x"
`,
    );
    assert.ok(!text.includes(SECRET) && !listingJson(listing).includes(SECRET));
    assert.ok(!listingJson(listing).includes("token/never/shown"));
    assert.ok(!/ASIA[A-Z]{12}WXYZ/.test(listingJson(listing)), "a full key id");
    const byKey = Object.fromEntries(listing.entries.map((e) => [e.key[0], e]));
    assert.deepEqual(Object.keys(byKey).sort(), ["0", "a", "b", "c", "d", "e", "f"]);
    assert.deepEqual(byKey.a, {
      key: "a".repeat(64),
      kind: "role",
      cluster: null,
      roles: [ROLE],
      sessionName: "ci",
      profile: null,
      source: "static",
      region: "eu-west-1",
      endpointUrl: null,
      mfaSerial: null,
      accessKeyId: "ASIA…WXYZ",
      accountId: "123456789012",
      issuedAt: "2026-11-29T11:50:00.000Z",
      expiration: "2026-11-29T12:50:00.000Z",
      remainingSeconds: 3000,
      refreshMarginSeconds: 900,
      status: "valid",
      problem: null,
    });
    assert.deepEqual([byKey.b.status, byKey.c.status, byKey.e.status, byKey.e.kind], [
      "refresh",
      "expired",
      "valid",
      null,
    ]);
    assert.deepEqual([byKey["0"].status, byKey["0"].problem], ["unusable", "its mode is 0644, not 0600"]);
    assert.equal(listing.failures.length, 2);
    // Listing changes nothing.
    assert.deepEqual(names(), before);
    assert.equal(before.length, 12); // with failures.json and its lock
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cache list: an EKS token entry shows its cluster, role and time left, its own margin, never the token", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o700);
    const TOKEN = `k8s-aws-v1.${"c2VjcmV0LXRva2Vu".repeat(8)}`;
    const token = (key: string, signedMin: number, meta?: EntryMeta) =>
      writeEntry(
        `${dir}/${key}.json`,
        tokenEntryFor(
          key,
          { token: TOKEN, expiration: new Date(NOW + (signedMin + 14) * MIN) },
          NOW + signedMin * MIN,
          meta,
        ),
      );
    const tokenMeta = meta({
      kind: "eks-token",
      marginSeconds: 300,
      cluster: "prod",
      tokenEndpoint: "https://sts.eu-west-1.amazonaws.com/",
      signingRegion: "eu-west-1",
    });
    await token("a".repeat(64), -2, tokenMeta); // 12 min left: served
    await token("b".repeat(64), -10, tokenMeta); // 4 min left, margin 5: signed anew
    await token("c".repeat(64), -1, meta()); // a token under a role's description: not trusted
    const listing = await listCache(
      (await judgeCacheDir({ path: dir }, UID, { create: false })) as ListedDir,
      NOW,
      UID,
    );
    const text = formatListing(listing);
    assert.match(
      text,
      /^EKS token for prod \(arn:aws:iam::123456789012:role\/deploy\) +ci +static +eu-west-1 +- +12m00s +served from cache$/m,
    );
    assert.match(text, /^EKS token for prod .* +- +4m00s +refreshes \(within margin\)$/m);
    const byKey = Object.fromEntries(listing.entries.map((e) => [e.key[0], e]));
    assert.deepEqual(
      [byKey.a.kind, byKey.a.cluster, byKey.a.accessKeyId, byKey.a.refreshMarginSeconds, byKey.a.status],
      ["eks-token", "prod", null, 300, "valid"],
    );
    assert.deepEqual([byKey.c.status, byKey.c.problem], ["unusable", "a role entry that holds a token"]);
    for (const out of [text, listingJson(listing)]) {
      assert.ok(!out.includes("c2VjcmV0LXRva2Vu"), "the token is shown");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
