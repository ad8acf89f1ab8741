/**
 * lib/plan/secrets.ts: the secrets of a plan (`planSecrets`), and the cache keys they enter. The keys are pinned: a whole call through
 * `roleProvider` with a fixed `digest.key` leaves its entries under exactly these names, for a source of each
 * kind that holds a secret (environment keys with an MFA session, profile keys, a web identity token, an SSO
 * sign-in, an aws login session). A change to which secrets are gathered, their order, or the key derivation
 * changes a name here, and every user's cache would miss once.
 */
import assert from "node:assert/strict";
import { scanArgv } from "../../lib/argv.ts";
import { roleProvider } from "../../lib/cli/role.ts";
import type { CliDeps } from "../../lib/cli/deps.ts";
import { cacheKey } from "../../lib/cache/key.ts";
import { importDigestKey, secretsDigest } from "../../lib/cache/digests.ts";
import { createLogger } from "../../lib/log.ts";
import type { Credentials, LoginToken, Plan } from "../../lib/model.ts";
import { readRegularFile } from "../../lib/plan/referenced_files.ts";
import { planSecrets, type SecretReaders, sourceSecrets } from "../../lib/plan/secrets.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";
import { fakeIo } from "../support/fake_io.ts";
import { FAKE_ASSUMED, FAKE_NOW, fakeDeps } from "../support/fake_deps.ts";
import { tempHome } from "../support/helpers.ts";
import { assumeOptions } from "../support/options.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
const SECOND = "arn:aws:iam::123456789012:role/second";
const SERIAL = "arn:aws:iam::123456789012:mfa/me";
/** The cache's digest key, fixed so the keyed digest of the secrets (and so the key) is fixed. */
const DIGEST_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const SECRET = "fakeSourceSecret/0123456789+abcdefghijAB";
const SESSION_TOKEN = "IQoJb3JpZ2luX2VjEFakeSourceToken0123456789+/abcdef==";
const WEB_TOKEN = "eyJhbGciOiJSUzI1NiJ9.fake-web-identity-token.sig";
const SSO_ACCESS_TOKEN = "fake-sso-access-token-0123456789";
const DPOP_KEY = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";

interface Scenario {
  readonly args: string[];
  readonly env?: Record<string, string>;
  readonly config?: Record<string, Record<string, string>>;
  /** Files to write under the temp HOME (path relative to it → text). */
  readonly files?: Record<string, string>;
}

/** Runs one call with a fixed digest key; returns the entry keys written, the plan and the cache directory. */
async function entryKeys(s: Scenario): Promise<{ keys: string[]; plan: Plan; home: string }> {
  const home = await tempHome();
  try {
    await Deno.mkdir(home.cacheDir, { mode: 0o700 });
    await Deno.writeTextFile(`${home.cacheDir}/digest.key`, `${DIGEST_KEY}\n`, { mode: 0o600 });
    for (const [rel, text] of Object.entries(s.files ?? {})) {
      const path = `${home.dir}/${rel}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
      await Deno.writeTextFile(path, text, { mode: 0o600 });
    }
    const { deps } = fakeDeps();
    const webIdentity = (): Promise<{ credentials: Credentials }> =>
      Promise.resolve({ credentials: FAKE_ASSUMED });
    const real: CliDeps = {
      ...deps,
      sts: (config, log) => ({ ...deps.sts(config, log), assumeRoleWithWebIdentity: webIdentity }),
      readFile: readRegularFile,
      loadSharedConfig: (paths) =>
        Promise.resolve({
          configFile: s.config ?? {},
          credentialsFile: {},
          ...paths,
        }),
    };
    const resolve = (v: string) => v.replaceAll("$HOME", home.dir);
    const env = Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, resolve(v)]));
    // The shared files' paths are left to HOME (unset variables): a temp path in the key would change it.
    const io = fakeIo({ HOME: home.dir, CREDPROC_CACHE_DIR: home.cacheDir, ...env });
    const log = Object.assign(createLogger(false, () => {}), { toFile: false });
    const { plan, provider } = await roleProvider(assumeOptions(...s.args), {
      argv: scanArgv(s.args),
      io,
      deps: real,
      log,
    });
    await provider();
    const keys = [...Deno.readDirSync(home.cacheDir)].map((e) => e.name)
      .filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).map((n) => n.slice(0, 64)).sort();
    return { keys, plan, home: home.dir };
  } finally {
    await home.cleanup();
  }
}

/** The role entry's key for `plan` with the keyed digest of exactly `secrets`, as the session computes it. */
async function keyWith(plan: Plan, secrets: readonly (string | undefined)[]): Promise<string> {
  const key = (await importDigestKey(DIGEST_KEY))!;
  return await cacheKey(plan, { secrets: await secretsDigest(key, secrets) });
}

Deno.test("pinned keys: environment keys with an MFA session (the role entry and the MFA session's)", async () => {
  const { keys, plan } = await entryKeys({
    args: ["--role-arn", ROLE, "--serial-number", SERIAL, "--mfa-session", "--token-code", "123456"],
    env: {
      AWS_ACCESS_KEY_ID: "AKIAFAKESOURCE000001",
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_SESSION_TOKEN: SESSION_TOKEN,
    },
  });
  assert.deepEqual(keys, [
    "0a887436df404376ad3629e5e857179fb55a17601e86c0337b419648bbd2d78e",
    "c3ae42352f6a8415a30151f66c6de546993faea991c321271f58ed49f3022893",
  ]);
  assert.ok(keys.includes(await keyWith(plan, [SECRET, SESSION_TOKEN, undefined])));
});

Deno.test("pinned keys: keys in a source profile", async () => {
  const { keys, plan } = await entryKeys({
    args: ["--profile", "dev"],
    config: {
      dev: { role_arn: ROLE, source_profile: "base" },
      base: {
        aws_access_key_id: "AKIAFAKEPROFILE00001",
        aws_secret_access_key: SECRET,
        aws_session_token: SESSION_TOKEN,
      },
    },
  });
  assert.deepEqual(keys, ["196753b056da8b940108a35a688da59687e957a68ab0cff33629c7f06bd993f2"]);
  assert.deepEqual(keys, [await keyWith(plan, [SECRET, SESSION_TOKEN, undefined])]);
});

Deno.test("pinned keys: a web identity token, with a role on top", async () => {
  const { keys, plan } = await entryKeys({
    args: ["--web-identity-token-env", "CREDPROC_TEST_WEB_TOKEN", "--role-arn", ROLE, "--role-arn", SECOND],
    env: { CREDPROC_TEST_WEB_TOKEN: WEB_TOKEN },
  });
  assert.deepEqual(keys, ["5acb06d60f0d4ce753276da5f18bb3f569f1c99e059ec70f5f06f32796f3976d"]);
  // One value per hop: the token for the web identity hop, nothing for the AssumeRole on top.
  assert.deepEqual(keys, [await keyWith(plan, [WEB_TOKEN, undefined])]);
});

Deno.test("pinned keys: an SSO sign-in's access token", async () => {
  const { keys, plan } = await entryKeys({
    args: ["--profile", "sso", "--role-arn", ROLE],
    config: {
      sso: { sso_session: "corp", sso_account_id: "123456789012", sso_role_name: "Admin" },
      "sso-session.corp": { sso_start_url: "https://corp.awsapps.com/start", sso_region: "eu-west-1" },
    },
    files: {
      // The SDK's file name: the hex SHA-1 of the sso_session name.
      ".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json": JSON.stringify({
        accessToken: SSO_ACCESS_TOKEN,
        expiresAt: "2026-11-25T20:00:00Z",
      }),
    },
  });
  assert.deepEqual(keys, ["c2a3fc08adff6d5e34ba942a60f5bb684033743a58d99066592300f583a049bc"]);
  // The role's hop has no token; the SSO source's access token comes after the hops.
  assert.deepEqual(keys, [await keyWith(plan, [undefined, SSO_ACCESS_TOKEN])]);
});

Deno.test("keys: an aws login session's DPoP key is its secret (the token path is in the key: not pinned)", async () => {
  const session = "arn:aws:sts::123456789012:assumed-role/Admin/me";
  const token = {
    accessToken: {
      accessKeyId: "ASIAFAKELOGIN0000001",
      secretAccessKey: "fakeLoginSecret/0123456789+abcdefghijABC",
      sessionToken: "fake-login-session-token",
      accountId: "123456789012",
      expiresAt: new Date(FAKE_NOW + 3600_000).toISOString(),
    },
    tokenType: "aws_sigv4",
    clientId: "arn:aws:signin:::devtools/same-device",
    refreshToken: "fake-refresh-token",
    idToken: "fake-id-token",
    dpopKey: DPOP_KEY,
    signInRegion: "eu-west-1",
  };
  const { keys, plan } = await entryKeys({
    args: ["--profile", "web", "--role-arn", ROLE],
    env: { AWS_LOGIN_CACHE_DIRECTORY: "$HOME/login" },
    config: { web: { login_session: session, region: "eu-west-1" } },
    files: {
      "login/c03a7323bda916bba892295dd46ea73c98866a0ad0a2606cb839909f35fbc865.json": JSON.stringify(token),
    },
  });
  assert.deepEqual(keys, [await keyWith(plan, [undefined, DPOP_KEY])]);
});

Deno.test("planSecrets: the source's, one per hop, the SSO access token, the DPoP key — in that order", async () => {
  const plan = (args: string[], env: Record<string, string> = {}, configFile = {}) =>
    resolvePlan(
      assumeOptions(...args),
      env,
      { ...emptySharedConfig(), configFile, home: "/h" },
      new Date(FAKE_NOW),
      "linux",
    );
  const read: string[] = [];
  const readers: SecretReaders = {
    webIdentityToken: (t) => {
      read.push(`token ${t.kind === "env" ? t.name : t.path}`);
      return Promise.resolve(WEB_TOKEN);
    },
    ssoToken: () => {
      read.push("sso token");
      return Promise.resolve({ accessToken: SSO_ACCESS_TOKEN });
    },
    loginToken: () => {
      read.push("login token");
      return Promise.resolve({ dpopKey: DPOP_KEY } as LoginToken);
    },
  };
  const env = { AWS_ACCESS_KEY_ID: "AKIAFAKESOURCE000001", AWS_SECRET_ACCESS_KEY: SECRET };
  const keys = plan(["--role-arn", ROLE, "--role-arn", SECOND], env);
  assert.deepEqual(sourceSecrets(keys), [SECRET, undefined]);
  assert.deepEqual(await planSecrets(keys, readers), [SECRET, undefined, undefined, undefined]);
  assert.deepEqual(read, [], "nothing read for a plan that names nothing secret");

  const web = plan(["--web-identity-token-env", "CREDPROC_T", "--role-arn", ROLE, "--role-arn", SECOND]);
  assert.deepEqual(await planSecrets(web, readers), [WEB_TOKEN, undefined]);
  assert.deepEqual(read.splice(0), ["token CREDPROC_T"]);

  const sso = plan(["--profile", "sso", "--role-arn", ROLE], {}, {
    sso: {
      sso_start_url: "https://corp.awsapps.com/start",
      sso_region: "eu-west-1",
      sso_account_id: "123456789012",
      sso_role_name: "Admin",
    },
  });
  assert.deepEqual(await planSecrets(sso, readers), [undefined, SSO_ACCESS_TOKEN]);
  assert.deepEqual(read.splice(0), ["sso token"]);
  // No token file (no home directory): nothing in its place, as before any sign-in could be read.
  assert.deepEqual(await planSecrets(sso, { ...readers, ssoToken: undefined }), [undefined]);
  // A token file that is refused (lib/plan/sso_token.ts judges it): the refusal, not a key without it.
  await assert.rejects(
    planSecrets(sso, { ...readers, ssoToken: () => Promise.reject(new Error("refused")) }),
    /refused/,
  );

  const login = plan(["--profile", "web"], {}, {
    web: { login_session: "arn:aws:iam::123456789012:user/me" },
  });
  assert.deepEqual(await planSecrets(login, readers), [DPOP_KEY]);
  assert.deepEqual(read.splice(0), ["login token"]);
});
