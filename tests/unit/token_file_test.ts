/**
 * lib/plan/token_file.ts and lib/plan/sso_token.ts: the one rule the SSO and `aws login` token files are judged
 * by before the SDK reads them (regular file, this user's, writable by no one else, bounded, a JSON object),
 * and the SSO token's own shape — one refusal per case, with fake file facts. The login token's own shape:
 * tests/unit/login_test.ts.
 */
import assert from "node:assert/strict";
import { readSsoToken, SsoTokenError } from "../../lib/plan/sso_token.ts";
import { LoginTokenError, readLoginToken } from "../../lib/plan/login_token.ts";
import { TokenFileError } from "../../lib/plan/token_file.ts";
import { FileTooLargeError } from "../../lib/plan/referenced_files.ts";

const GOOD = {
  startUrl: "https://corp.awsapps.com/start",
  region: "us-east-1",
  accessToken: "token-of-alice",
  expiresAt: "2026-11-25T14:00:00Z",
  refreshToken: "r",
  clientId: "c",
  clientSecret: "s",
  registrationExpiresAt: "2027-01-01T00:00:00Z",
};
const info = (o: Partial<Deno.FileInfo>) =>
  ({ isFile: true, uid: 1000, mode: 0o100600, ...o }) as Deno.FileInfo;
const judge = (text: string, o: Partial<Deno.FileInfo> = {}, uid: number | null = 1000) =>
  readSsoToken("/sso.json", "dev", {
    uid,
    stat: () => Promise.resolve(info(o)),
    read: () => Promise.resolve(text),
  });

Deno.test("SSO token file: a good one gives its access token and expiry; Windows (no uid) is not judged by owner", async () => {
  const t = await judge(JSON.stringify(GOOD));
  assert.deepEqual(t, { accessToken: "token-of-alice", expiresAt: new Date("2026-11-25T14:00:00Z") });
  // A legacy profile's token (no refresh fields) and a 0644 file (writable only by its owner).
  const { refreshToken: _r, clientId: _c, clientSecret: _s, registrationExpiresAt: _e, ...legacy } = GOOD;
  await judge(JSON.stringify(legacy), { mode: 0o100644 });
  await judge(JSON.stringify(GOOD), { uid: null, mode: null }, null);
});

Deno.test("SSO token file: each refusal is one line, exit 1, naming the file and the aws sso login to run", async () => {
  const refused: [string, Promise<unknown>, TokenFileError["kind"], RegExp][] = [
    ["another user's", judge(JSON.stringify(GOOD), { uid: 0 }), "untrusted", /: owned by uid 0, not by you$/],
    [
      "group-writable",
      judge(JSON.stringify(GOOD), { mode: 0o100664 }),
      "untrusted",
      /: mode 0664: others may/,
    ],
    [
      "world-writable",
      judge(JSON.stringify(GOOD), { mode: 0o100602 }),
      "untrusted",
      /: mode 0602: others may/,
    ],
    [
      "not a regular file",
      judge(JSON.stringify(GOOD), { isFile: false }),
      "malformed",
      /: not a regular file$/,
    ],
    [
      "too large",
      readSsoToken("/sso.json", "dev", {
        uid: 1000,
        stat: () => Promise.resolve(info({})),
        read: (_p, max) => Promise.reject(new FileTooLargeError(max)),
      }),
      "malformed",
      /: larger than 65536 bytes$/,
    ],
    ["not JSON", judge("{"), "malformed", /: not a token aws sso login wrote \(not JSON\)$/],
    ["not an object", judge("[1]"), "malformed", /: not a token aws sso login wrote \(not a JSON object\)$/],
    [
      "no access token",
      judge(JSON.stringify({ ...GOOD, accessToken: "" })),
      "malformed",
      /: missing accessToken$/,
    ],
    [
      "no expiry",
      judge(JSON.stringify({ ...GOOD, accessToken: undefined, expiresAt: undefined })),
      "malformed",
      /: missing accessToken, expiresAt$/,
    ],
    [
      "an expiry that is no date",
      judge(JSON.stringify({ ...GOOD, expiresAt: "soon" })),
      "malformed",
      /: expiresAt is not a date$/,
    ],
    [
      "a refresh token that is no text",
      judge(JSON.stringify({ ...GOOD, refreshToken: 5 })),
      "malformed",
      /: refreshToken is not text$/,
    ],
    [
      "a region that is no region",
      judge(JSON.stringify({ ...GOOD, region: "evil.test/#" })),
      "malformed",
      /: region is not a region$/,
    ],
    [
      "missing",
      readSsoToken("/sso.json", "dev", {
        uid: 1000,
        stat: () => Promise.reject(new Deno.errors.NotFound("x")),
      }),
      "missing",
      /: not signed in \(no such file\)$/,
    ],
  ];
  for (const [name, p, kind, why] of refused) {
    await assert.rejects(p, (e) => {
      assert.ok(e instanceof SsoTokenError && e instanceof TokenFileError, name);
      assert.equal(e.kind, kind, name);
      assert.equal(e.exitCode, 1, name);
      assert.equal(e.what, "source credentials (sso from profile dev)", name);
      assert.match(e.message, /^\/sso\.json: /, name);
      assert.match(e.message, why, name);
      assert.equal(
        e.hint,
        kind === "untrusted"
          ? "only you may write it: run aws sso login --profile dev to write it anew (mode 0600)"
          : "run aws sso login --profile dev, then retry",
        name,
      );
      return true;
    });
  }
});

Deno.test("token files: the SSO and login tokens are refused by the same judge, in the same words", async () => {
  const facts = { uid: 0, mode: 0o100666 };
  const sso = await judge(JSON.stringify(GOOD), facts).catch((e) => e);
  const login = await readLoginToken("/sso.json", "dev", {
    uid: 1000,
    stat: () => Promise.resolve(info(facts)),
    read: () => Promise.resolve("{}"),
  }).catch((e) => e);
  assert.ok(login instanceof LoginTokenError && login instanceof TokenFileError);
  assert.equal(sso.message, login.message);
  for (const mode of [0o100664, 0o100606]) {
    const a = await judge("{}", { mode }).catch((e) => e.message);
    const b = await readLoginToken("/sso.json", "dev", {
      uid: 1000,
      stat: () => Promise.resolve(info({ mode })),
      read: () => Promise.resolve("{}"),
    }).catch((e) => e.message);
    assert.equal(a, b);
  }
});
