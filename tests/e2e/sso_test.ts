/**
 * SSO profiles end to end: the real program, the SDK's SSO provider and the stand-in's SSO portal route
 * (`GET /federation/credentials`) on loopback. What decides whose credentials come back — the account, the
 * permission set's role, the portal and the sign-in (the token in `~/.aws/sso/cache`) — is in the cache key:
 * another value is another entry, on the fast path and the full path, and a sign-out is never served. The token
 * file is judged like the `aws login` one before the SDK reads it; without a role, `eks-token` signs with the
 * permission set's credentials.
 */
import assert from "node:assert/strict";
import { ROLE, runCredproc, type TempHome, tempHome } from "../support/helpers.ts";
import { assertOneErrorLine } from "../support/hardening_helpers.ts";
import { type Standin, startStandin } from "../support/sts_standin/mod.ts";

const START_URL = "https://corp.awsapps.com/start";

function config(account: string, roleName: string, startUrl = START_URL): string {
  return `[profile dev]\nrole_arn = ${ROLE}\nsource_profile = sso\n` +
    `[profile sso]\nsso_session = corp\nsso_account_id = ${account}\nsso_role_name = ${roleName}\n` +
    `[sso-session corp]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\n`;
}

/** The SDK's token cache file for `[sso-session corp]`: `~/.aws/sso/cache/<sha1("corp")>.json`. */
async function tokenFile(home: TempHome): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode("corp")));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${home.dir}/.aws/sso/cache/${hex}.json`;
}

/** Signs in as `accessToken` (valid for two hours: no refresh is attempted). */
async function signIn(home: TempHome, accessToken: string): Promise<void> {
  const path = await tokenFile(home);
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      startUrl: START_URL,
      region: "us-east-1",
      accessToken,
      expiresAt: new Date(Date.now() + 2 * 3600_000).toISOString(),
    }),
    { mode: 0o600 },
  );
}

/** Dates the files a minute back: the fast path only remembers inputs whose files did not just change. */
async function settle(home: TempHome): Promise<void> {
  const past = new Date(Date.now() - 60_000);
  for (const f of [home.configFile, await tokenFile(home)]) await Deno.utime(f, past, past);
}

/** The portal and STS requests since `from`: `[action, account or role, bearer token]`. */
function since(standin: Standin, from: number): string[][] {
  return standin.requests.slice(from).map((r) =>
    r.action === "GetRoleCredentials"
      ? [r.action, `${r.params.account_id}/${r.params.role_name}`, r.params.bearer]
      : [r.action, r.params.RoleArn, String(r.signatureValid)]
  );
}

Deno.test("SSO: account, role, portal and sign-in are keyed; a sign-out is never served from the cache", async (t) => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const env = home.env({
    AWS_ENDPOINT_URL_SSO: standin.url,
    // Nothing may reach a real host if the SDK tried to refresh the token: a dead port.
    AWS_ENDPOINT_URL_SSO_OIDC: "http://127.0.0.1:9/",
  });
  const args = ["--profile", "dev", "--endpoint-url", standin.url];
  const call = async () => {
    const r = await runCredproc(args, env);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    return JSON.parse(r.stdout).AccessKeyId as string;
  };
  const firstCall = [
    ["GetRoleCredentials", "111111111111/Dev", "token-of-alice"],
    ["AssumeRole", ROLE, "true"],
  ];
  let first = "";

  await t.step(
    "signed in: one portal call and one AssumeRole signed with its credentials, then hits",
    async () => {
      await home.writeConfig(config("111111111111", "Dev"));
      await signIn(home, "token-of-alice");
      await settle(home);
      first = await call();
      assert.deepEqual(since(standin, 0), firstCall);
      assert.equal(await call(), first);
      assert.equal(await call(), first);
      assert.equal(standin.requests.length, 2);
      // The hits left the fast path's memo, which watches the token file like the shared config: each step
      // below changes what the fast path would otherwise answer (a sign-in as bob would get alice's entry).
      const memos = [...Deno.readDirSync(home.cacheDir)].filter((e) => e.name.endsWith(".inputs.json"));
      assert.equal(memos.length, 1);
      const memo = JSON.parse(Deno.readTextFileSync(`${home.cacheDir}/${memos[0].name}`));
      assert.deepEqual(memo.files.map((f: { path: string }) => f.path), [
        home.configFile,
        home.credentialsFile,
        await tokenFile(home),
      ]);
    },
  );

  const cases: [string, () => Promise<void>, string[]][] = [
    [
      "another sso_account_id",
      () => home.writeConfig(config("222222222222", "Dev")),
      ["GetRoleCredentials", "222222222222/Dev", "token-of-alice"],
    ],
    [
      "another sso_role_name",
      () => home.writeConfig(config("111111111111", "Admin")),
      ["GetRoleCredentials", "111111111111/Admin", "token-of-alice"],
    ],
    [
      "another portal (sso_start_url)",
      () => home.writeConfig(config("111111111111", "Dev", "https://other.awsapps.com/start")),
      ["GetRoleCredentials", "111111111111/Dev", "token-of-alice"],
    ],
    [
      "another person signed in on the same portal",
      () => signIn(home, "token-of-bob"),
      ["GetRoleCredentials", "111111111111/Dev", "token-of-bob"],
    ],
  ];
  for (const [name, change, portalCall] of cases) {
    await t.step(
      `${name}: a new entry (portal and STS again), then back: the first entry again`,
      async () => {
        await change();
        const from = standin.requests.length;
        const other = await call();
        assert.notEqual(other, first);
        assert.deepEqual(since(standin, from), [portalCall, ["AssumeRole", ROLE, "true"]]);
        assert.equal(await call(), other, "the new entry is served");
        assert.equal(standin.requests.length, from + 2);
        await home.writeConfig(config("111111111111", "Dev"));
        await signIn(home, "token-of-alice");
        assert.equal(await call(), first, "back to the first settings: the first entry, no request");
        assert.equal(standin.requests.length, from + 2);
      },
    );
  }

  await t.step(
    "signed out (no token file): the SDK's sign-in error, not the cached credentials",
    async () => {
      await Deno.remove(await tokenFile(home));
      const from = standin.requests.length;
      for (let i = 0; i < 2; i++) {
        const r = await runCredproc(args, env);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(r.stdout, "");
        assert.match(
          r.stderr,
          /^credproc: source credentials \(sso from profile sso\): .*\nhint: run aws sso login --profile sso/,
        );
      }
      assert.equal(standin.requests.length, from);
    },
  );

  await t.step("no SSO token in clear anywhere in the cache directory", async () => {
    for await (const e of Deno.readDir(home.cacheDir)) {
      const text = await Deno.readTextFile(`${home.cacheDir}/${e.name}`);
      for (const token of ["token-of-alice", "token-of-bob"]) {
        assert.ok(!text.includes(token), `${e.name} holds an SSO token`);
      }
    }
  });
});

Deno.test("SSO: a token file that is malformed, another user's or writable by others is refused before any request", async (t) => {
  const cases: [string, (path: string) => Promise<void>, RegExp, string][] = [
    [
      "not JSON",
      (p) => Deno.writeTextFile(p, "{not json"),
      /: not a token aws sso login wrote \(not JSON\)$/,
      "hint: run aws sso login --profile sso, then retry",
    ],
    [
      "no access token",
      (p) =>
        Deno.writeTextFile(p, JSON.stringify({ startUrl: START_URL, expiresAt: "2030-01-01T00:00:00Z" })),
      /: missing accessToken$/,
      "hint: run aws sso login --profile sso, then retry",
    ],
    [
      "a directory",
      async (p) => {
        await Deno.remove(p);
        await Deno.mkdir(p);
      },
      /: not a regular file$/,
      "hint: run aws sso login --profile sso, then retry",
    ],
    [
      "larger than 64 KiB",
      (p) => Deno.writeTextFile(p, " ".repeat(64 * 1024 + 1)),
      /: larger than 65536 bytes$/,
      "hint: run aws sso login --profile sso, then retry",
    ],
    [
      "another user's (nobody)",
      (p) => Deno.chown(p, 65534, null),
      /: owned by uid 65534, not by you$/,
      "hint: only you may write it: run aws sso login --profile sso to write it anew (mode 0600)",
    ],
    [
      "group-writable (0664)",
      (p) => Deno.chmod(p, 0o664),
      /: mode 0664: others may write it$/,
      "hint: only you may write it: run aws sso login --profile sso to write it anew (mode 0600)",
    ],
    [
      "world-writable (0606)",
      (p) => Deno.chmod(p, 0o606),
      /: mode 0606: others may write it$/,
      "hint: only you may write it: run aws sso login --profile sso to write it anew (mode 0600)",
    ],
  ];
  for (const [name, spoil, line, hint] of cases) {
    await t.step(name, async () => {
      if (name.includes("nobody") && Deno.uid() !== 0) return; // chown needs root (deno task test runs as root)
      await using standin = await startStandin();
      await using home = await tempHome();
      await home.writeConfig(config("111111111111", "Dev"));
      await signIn(home, "token-of-alice");
      await spoil(await tokenFile(home));
      const env = home.env({
        AWS_ENDPOINT_URL_SSO: standin.url,
        AWS_ENDPOINT_URL_SSO_OIDC: "http://127.0.0.1:9/",
      });
      for (const args of [["--profile", "dev"], ["--profile", "dev", "--no-cache"]]) {
        const r = await runCredproc([...args, "--endpoint-url", standin.url], env);
        assertOneErrorLine(r, 1, /^credproc: source credentials \(sso from profile sso\): \/\S+\.json: /);
        assert.match(r.lines[0], line);
        assert.equal(r.lines[1], hint);
      }
      assert.equal(standin.requests.length, 0, "nothing was sent");
      const entries = [...Deno.readDirSync(home.cacheDir)].filter((e) => /^[0-9a-f]{64}\.json$/.test(e.name));
      assert.deepEqual(entries, []);
    });
  }
});

Deno.test("SSO without a role: eks-token signs with the permission set's credentials (aws eks get-token --profile)", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  await home.writeConfig(config("111111111111", "Dev"));
  await signIn(home, "token-of-alice");
  await settle(home);
  const env = home.env({
    AWS_ENDPOINT_URL_SSO: standin.url,
    AWS_ENDPOINT_URL_SSO_OIDC: "http://127.0.0.1:9/",
    AWS_ENDPOINT_URL_STS: standin.url,
  });
  const args = ["eks-token", "--cluster-name", "demo", "--profile", "sso"];
  const first = await runCredproc(args, env);
  assert.equal(first.code, 0, first.stderr);
  const token = JSON.parse(first.stdout).status.token as string;
  const url = new URL(atob(token.slice(11).replaceAll("-", "+").replaceAll("_", "/")));
  const [issued] = [...standin.issued.values()];
  assert.equal(issued.action, "GetRoleCredentials");
  assert.match(url.searchParams.get("X-Amz-Credential")!, new RegExp(`^${issued.accessKeyId}/`));
  assert.equal(url.searchParams.get("X-Amz-Security-Token"), issued.sessionToken);
  // The SSO credentials are an entry (they expire), beside the token; the next call is answered from the cache.
  assert.equal((await runCredproc(args, env)).stdout, first.stdout);
  assert.deepEqual(standin.requests.map((r) => r.action), ["GetRoleCredentials"]);
  const kinds = [...Deno.readDirSync(home.cacheDir)].filter((e) => /^[0-9a-f]{64}\.json$/.test(e.name))
    .map((e) => JSON.parse(Deno.readTextFileSync(`${home.cacheDir}/${e.name}`)).meta.kind).sort();
  assert.deepEqual(kinds, ["eks-token", "role"]);
  const list = await runCredproc(["cache", "list"], env);
  assert.match(list.stdout, /^sso credentials \(no role\) \(profile sso\) /m);
  assert.match(list.stdout, /^EKS token for demo \(sso credentials \(no role\)\) \(profile sso\) /m);
});
