/**
 * `aws login` sources without a process: planning (lib/plan/sign_in_sources.ts, through the planner), the cache key (lib/cache/key.ts), the
 * token file's judge (lib/plan/login_token.ts) and the sign-in token hosts (lib/partitions.ts, lib/sandbox.ts) against the SDK's
 * own Signin endpoint rules.
 */
import assert from "node:assert/strict";
import { assumeOptions } from "../support/options.ts";
import { ConfigError, type CredprocError, UsageError } from "../../lib/errors.ts";
import type { AssumeOptions, Env, Plan } from "../../lib/model.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import type { ProfileSettings, SharedConfig } from "../../lib/plan/shared_config.ts";
import { cacheKeyMaterial } from "../../lib/cache/key.ts";
import { LoginTokenError, loginTokenFile, readLoginToken } from "../../lib/plan/login_token.ts";
import {
  endpointProblem,
  isAllowedHost,
  NET_ALLOW_LIST,
  signinTokenEndpointProblem,
} from "../../lib/sandbox.ts";
import { SIGNIN_TOKEN_DOMAINS } from "../../lib/partitions.ts";

const NOW = new Date("2026-11-25T12:00:00Z");
const ROLE = "arn:aws:iam::111111111111:role/a";
const USER = "arn:aws:iam::123456789012:user/alice";
const ASSUMED = "arn:aws:sts::123456789012:assumed-role/Admin/alice";

function cfg(configFile: Record<string, ProfileSettings>, home: string | null = "/h"): SharedConfig {
  return {
    configFile,
    credentialsFile: {},
    configPath: "/h/.aws/config",
    credentialsPath: "/h/.aws/credentials",
    ...(home === null ? {} : { home }),
  };
}

/** Options with `--profile` and no role (parseCommand allows that with --profile). */
function profileOnly(name: string, ...args: string[]): AssumeOptions {
  return { ...assumeOptions("--role-arn", ROLE, "--profile", name, ...args), roleArns: [] };
}

function plan(options: AssumeOptions, config: SharedConfig, env: Env = {}): Plan {
  return resolvePlan(options, env, config, NOW, "linux");
}

function throwsKind(fn: () => unknown, kind: typeof ConfigError | typeof UsageError, message: RegExp): void {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${e}`);
    assert.match(`${(e as CredprocError).what}: ${(e as CredprocError).message}`, message);
    return true;
  });
}

Deno.test("a login_session profile without role_arn: its session printed as it is (no hops)", () => {
  const p = plan(profileOnly("dev"), cfg({ dev: { login_session: USER, region: "eu-west-1" } }));
  assert.deepEqual(p.source, {
    kind: "login",
    profile: "dev",
    session: USER,
    tokenCacheDir: "/h/.aws/login/cache",
    region: "eu-west-1",
  });
  assert.deepEqual(p.hops, []);
  assert.equal(p.sourceIsRole, false);
});

Deno.test("a role over a login_session source profile; a role's console session makes the first hop chained", () => {
  const config = (session: string) =>
    cfg({ top: { role_arn: ROLE, source_profile: "dev" }, dev: { login_session: session } });
  const p = plan(profileOnly("top"), config(USER));
  assert.equal(p.source.kind, "login");
  assert.deepEqual(p.hops.map((h) => h.roleArn), [ROLE]);
  assert.equal(p.sourceIsRole, false);
  assert.equal(plan(profileOnly("top"), config(ASSUMED)).sourceIsRole, true);
  throwsKind(
    () => plan(profileOnly("top", "--duration-seconds", "7200"), config(ASSUMED)),
    UsageError,
    /too long .*role chaining/,
  );
  // --role-arn on top of a login profile.
  const flags = plan(assumeOptions("--profile", "dev", "--role-arn", ROLE), config(USER));
  assert.equal(flags.source.kind, "login");
  assert.deepEqual(flags.hops.map((h) => h.roleArn), [ROLE]);
});

Deno.test("login_session comes after keys and SSO, before credential_process (botocore's order)", () => {
  const keys = { aws_access_key_id: "AKIAEXAMPLE000000001", aws_secret_access_key: "s" };
  assert.equal(
    plan(assumeOptions("--profile", "p", "--role-arn", ROLE), cfg({ p: { ...keys, login_session: USER } }))
      .source
      .kind,
    "static",
  );
  const sso = {
    sso_start_url: "https://x.awsapps.com/start",
    sso_region: "us-east-1",
    sso_account_id: "123456789012",
    sso_role_name: "R",
  };
  // SSO with no role: printed as it is is not allowed for SSO, so put a role on top.
  assert.equal(
    plan(assumeOptions("--profile", "p", "--role-arn", ROLE), cfg({ p: { ...sso, login_session: USER } }))
      .source.kind,
    "sso",
  );
  assert.equal(
    plan(profileOnly("p"), cfg({ p: { login_session: USER, credential_process: "/bin/false" } })).source.kind,
    "login",
  );
  // AWS_PROFILE naming a login profile (no --profile): its own credentials, not the SDK's default chain.
  const viaEnv = resolvePlan(
    { ...assumeOptions("--role-arn", ROLE), roleArns: [] },
    { AWS_PROFILE: "dev" },
    cfg({ dev: { login_session: USER } }),
    NOW,
    "linux",
  );
  assert.equal(viaEnv.source.kind, "login");
  assert.deepEqual(viaEnv.hops, []);
});

Deno.test("only a login source may go without a role; role flags without one are refused (exit 2)", () => {
  throwsKind(
    () =>
      plan(
        profileOnly("k"),
        cfg({ k: { aws_access_key_id: "AKIAEXAMPLE000000001", aws_secret_access_key: "s" } }),
      ),
    UsageError,
    /--role-arn: profile k has no role_arn/,
  );
  const config = cfg({ dev: { login_session: USER } });
  for (
    const [flag, args] of [
      ["--role-session-name", ["--role-session-name", "xy"]],
      ["--external-id", ["--external-id", "ext-1"]],
      ["--policy", ["--policy", '{"Version":"2012-10-17","Statement":[]}']],
      ["--tag", ["--tag", "a=b"]],
      ["--serial-number", ["--mfa-session", "--serial-number", "arn:aws:iam::123456789012:mfa/a"]],
    ] as const
  ) {
    throwsKind(
      () => plan(profileOnly("dev", ...args), config),
      UsageError,
      new RegExp(`^${flag}: applies to a role, and profile dev has none`),
    );
  }
});

Deno.test("where the token is: AWS_LOGIN_CACHE_DIRECTORY (absolute only), else the home; the region falls back to AWS_REGION", async () => {
  const config = cfg({ dev: { login_session: USER } });
  const p = plan(profileOnly("dev"), config, {
    AWS_LOGIN_CACHE_DIRECTORY: "/var/login",
    AWS_REGION: "ca-central-1",
  });
  assert.deepEqual(p.source, {
    kind: "login",
    profile: "dev",
    session: USER,
    tokenCacheDir: "/var/login",
    region: "ca-central-1",
  });
  // The SDK's file name: the hex SHA-256 of login_session.
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(USER)));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(
    await loginTokenFile(p.source as { session: string; tokenCacheDir: string }),
    `/var/login/${hex}.json`,
  );
  for (const dir of ["~/.aws/login/cache", "relative/dir", "$HOME/x"]) {
    throwsKind(
      () => plan(profileOnly("dev"), config, { AWS_LOGIN_CACHE_DIRECTORY: dir }),
      ConfigError,
      /^AWS_LOGIN_CACHE_DIRECTORY: .* is not an absolute path/,
    );
  }
  assert.equal(
    (plan(profileOnly("dev"), cfg({ dev: { login_session: USER } }, null)).source as {
      tokenCacheDir?: string;
    })
      .tokenCacheDir,
    undefined,
  );
});

Deno.test("AWS_ENDPOINT_URL_SIGNIN: loopback or a regional sign-in host, else exit 2 naming it", () => {
  const config = cfg({ dev: { login_session: USER } });
  for (const ok of ["http://127.0.0.1:8443", "https://eu-west-1.signin.aws.amazon.com"]) {
    const p = plan(profileOnly("dev"), config, { AWS_ENDPOINT_URL_SIGNIN: ok });
    assert.equal((p.source as { endpointUrl?: string }).endpointUrl, ok);
  }
  for (
    const [bad, why] of [
      ["https://evil.test/", /host evil\.test is not a regional sign-in endpoint/],
      ["https://signin.aws.amazon.com/", /host signin\.aws\.amazon\.com is not a regional sign-in endpoint/],
      ["http://eu-west-1.signin.aws.amazon.com/", /must be https:\/\/eu-west-1\.signin\.aws\.amazon\.com/],
      ["https://sts.us-east-1.amazonaws.com/", /not a regional sign-in endpoint/],
      ["https://a@127.0.0.1/", /must not contain credentials/],
    ] as const
  ) {
    throwsKind(
      () => plan(profileOnly("dev"), config, { AWS_ENDPOINT_URL_SIGNIN: bad }),
      ConfigError,
      new RegExp(`^AWS_ENDPOINT_URL_SIGNIN: .*${why.source}`),
    );
  }
});

Deno.test("the cache key holds the session, its token directory, region and endpoint; not the secret in clear", () => {
  const base = plan(profileOnly("dev"), cfg({ dev: { login_session: USER, region: "us-east-1" } }));
  const variants: Plan[] = [
    plan(profileOnly("dev"), cfg({ dev: { login_session: ASSUMED, region: "us-east-1" } })),
    plan(profileOnly("dev"), cfg({ dev: { login_session: USER, region: "eu-west-1" } })),
    plan(profileOnly("dev"), cfg({ dev: { login_session: USER, region: "us-east-1" } }), {
      AWS_LOGIN_CACHE_DIRECTORY: "/elsewhere",
    }),
    plan(profileOnly("dev"), cfg({ dev: { login_session: USER, region: "us-east-1" } }), {
      AWS_ENDPOINT_URL_SIGNIN: "http://127.0.0.1:1",
    }),
    plan(
      assumeOptions("--profile", "dev", "--role-arn", ROLE),
      cfg({ dev: { login_session: USER, region: "us-east-1" } }),
    ),
  ];
  const keys = new Set([base, ...variants].map((p) => cacheKeyMaterial(p)));
  assert.equal(keys.size, variants.length + 1);
  // Another sign-in (its DPoP key, a secret input) is another key.
  assert.notEqual(
    cacheKeyMaterial(base, { secrets: "digest-a" }),
    cacheKeyMaterial(base, { secrets: "digest-b" }),
  );
});

Deno.test("the token file's judge: owner, mode, shape, bounded; missing is 'not signed in'", async () => {
  const good = {
    accessToken: {
      accessKeyId: "ASIAEXAMPLE",
      secretAccessKey: "s",
      sessionToken: "t",
      accountId: "123456789012",
      expiresAt: "2026-11-25T12:10:00Z",
    },
    tokenType: "aws_sigv4",
    clientId: "c",
    refreshToken: "r",
    idToken: "i",
    dpopKey: "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    signInRegion: "us-east-1",
  };
  const info = (o: Partial<Deno.FileInfo>) =>
    ({ isFile: true, uid: 1000, mode: 0o100600, ...o }) as Deno.FileInfo;
  const judge = (text: string, o: Partial<Deno.FileInfo> = {}, uid: number | null = 1000) =>
    readLoginToken("/t.json", "dev", {
      uid,
      stat: () => Promise.resolve(info(o)),
      read: () => Promise.resolve(text),
    });
  const t = await judge(JSON.stringify(good));
  assert.equal(t.accountId, "123456789012");
  assert.equal(t.signInRegion, "us-east-1");
  assert.equal(t.expiresAt.toISOString(), "2026-11-25T12:10:00.000Z");
  // Windows (no uid, no mode): not judged by owner.
  await judge(JSON.stringify(good), { uid: null, mode: null }, null);
  const refused: [string, Promise<unknown>, LoginTokenError["kind"], RegExp][] = [
    ["another user's", judge(JSON.stringify(good), { uid: 0 }), "untrusted", /owned by uid 0, not by you/],
    ["group-writable", judge(JSON.stringify(good), { mode: 0o100664 }), "untrusted", /mode 0664: others/],
    ["not a file", judge(JSON.stringify(good), { isFile: false }), "malformed", /not a regular file/],
    ["not JSON", judge("{"), "malformed", /not JSON/],
    ["an array", judge("[]"), "malformed", /not a JSON object/],
    [
      "a bad account",
      judge(JSON.stringify({ ...good, accessToken: { ...good.accessToken, accountId: "12" } })),
      "malformed",
      /not a 12-digit account/,
    ],
    [
      "a bad date",
      judge(JSON.stringify({ ...good, accessToken: { ...good.accessToken, expiresAt: "soon" } })),
      "malformed",
      /expiresAt is not a date/,
    ],
    ["a bad region", judge(JSON.stringify({ ...good, signInRegion: "x.evil" })), "malformed", /signInRegion/],
    ["a key that is not PEM", judge(JSON.stringify({ ...good, dpopKey: "x" })), "malformed", /dpopKey/],
    [
      "missing",
      readLoginToken("/t.json", "dev", {
        uid: 1000,
        stat: () => Promise.reject(new Deno.errors.NotFound("x")),
      }),
      "missing",
      /not signed in \(no such file\)/,
    ],
  ];
  for (const [name, p, kind, why] of refused) {
    await assert.rejects(p, (e) => {
      assert.ok(e instanceof LoginTokenError, name);
      assert.equal(e.kind, kind, name);
      assert.equal(e.exitCode, 1, name);
      assert.match(e.message, why, name);
      assert.match(e.hint ?? "", /aws login --profile dev/, name);
      return true;
    });
  }
});

Deno.test("sign-in token hosts: exactly the SDK's regional Signin endpoints per partition, nothing more", async () => {
  const { SigninClient } = await import("@aws-sdk/nested-clients/signin");
  const regions = [
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "cn-north-1",
    "us-gov-west-1",
    "us-gov-east-1",
    "us-iso-east-1",
    "us-isob-east-1",
    "us-isof-south-1",
    "eu-isoe-west-1",
    "eusc-de-east-1",
  ];
  const seen = new Set<string>();
  for (const region of regions) {
    const probe = new SigninClient({ region, credentials: { accessKeyId: "", secretAccessKey: "" } });
    const url = probe.config.endpointProvider({
      Region: region,
      UseFIPS: false,
      UseDualStack: false,
      IsControlPlane: false,
    })
      .url;
    probe.destroy();
    assert.equal(signinTokenEndpointProblem(url.href), undefined, url.href);
    assert.ok(isAllowedHost(url.hostname), url.href);
    assert.equal(url.hostname.startsWith(`${region}.`), true, url.href);
    seen.add(url.hostname.slice(region.length + 1));
    // Not an STS endpoint: the inner check for STS still refuses it.
    assert.match(endpointProblem(url.href) ?? "", /is not an STS, SSO or SSO-OIDC endpoint/);
  }
  // Every domain in the allow list is one the rules give (none left over).
  assert.deepEqual([...seen].sort(), [...SIGNIN_TOKEN_DOMAINS].sort());
  for (const d of SIGNIN_TOKEN_DOMAINS) assert.ok(NET_ALLOW_LIST.includes(`*.${d}`), d);
  for (
    const host of [
      "signin.aws.amazon.com.evil.test",
      "evil.test",
      "aws.amazon.com",
      "console.aws.amazon.com",
    ]
  ) {
    assert.equal(isAllowedHost(host), false, host);
  }
});
