/**
 * End-to-end scenarios shared by the sandbox audit and the secret-hygiene suites: each one runs the real
 * program (shipping permission set) against its own STS stand-in on loopback in its own temp HOME, always with
 * `--verbose` where the command takes it, and hands back everything a suite wants to inspect: the result, the
 * permission audit log, the stand-in (secrets it issued) and the HOME's files before and after.
 */
import {
  type Standin,
  STANDIN_ACCESS_KEY_ID,
  STANDIN_SECRET_ACCESS_KEY,
  type StandinOptions,
  startStandin,
} from "./sts_standin/mod.ts";
import { ROLE, runCredproc, type TempHome, tempHome } from "./helpers.ts";
import { type AuditEntry, deadUrl, readAudit, safeEnv } from "./hardening_helpers.ts";
import { type LoginStandin, startLoginStandin } from "./login_standin.ts";

export const ROLE2 = "arn:aws:iam::123456789012:role/team/second";
export const MFA_SERIAL = "arn:aws:iam::123456789012:mfa/alice";
export const MFA_CODE = "246810";
/** A JWT-shaped web identity token (a secret: it must never be printed). */
export const OIDC_TOKEN =
  "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJyZXBvOmV4YW1wbGUvY3JlZHByb2MiLCJhdWQiOiJzdHMuYW1hem9uYXdzLmNvbSJ9.c2lnbmF0dXJlLXNlY3JldC1wYXJ0";

/** What a scenario is given to set itself up. */
export interface ScenarioContext {
  readonly home: TempHome;
  readonly standin: Standin;
  /** A closed loopback URL. */
  readonly dead: string;
}

/** One end-to-end scenario. */
export interface Scenario {
  readonly name: string;
  readonly standin?: StandinOptions;
  /** Files written before the run, the args and extra env; `{url}` and `{home}` are filled in. */
  setup?(ctx: ScenarioContext): Promise<void> | void;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /**
   * An `aws login` session: `[profile dev] login_session = …` in the config, its token file (credentials that
   * last `remainingMs` more: under 5 minutes the SDK refreshes it, and rewrites the file), and the sign-in
   * token stand-in at `AWS_ENDPOINT_URL_SIGNIN`; `reject` makes it refuse the refresh token.
   */
  readonly login?: { readonly remainingMs: number; readonly reject?: boolean };
  /** Runs before this one, same HOME (e.g. to fill the cache); not audited. */
  readonly before?: readonly (readonly string[])[];
  readonly code: 0 | 1 | 2;
}

const base = (...more: string[]) => ["--role-arn", ROLE, "--endpoint-url", "{url}", "--verbose", ...more];

export const SCENARIOS: readonly Scenario[] = [
  { name: "assume a role (cache miss, entry written)", args: base(), code: 0 },
  { name: "assume a role again (cache hit)", before: [base()], args: base(), code: 0 },
  { name: "--refresh over a cached entry", before: [base()], args: base("--refresh"), code: 0 },
  { name: "--no-cache", args: base("--no-cache"), code: 0 },
  { name: "a two-role chain", args: base("--role-arn", ROLE2), code: 0 },
  {
    name: "every role option, a policy file, --format env",
    async setup({ home }) {
      await Deno.writeTextFile(`${home.dir}/policy.json`, '{"Version":"2012-10-17","Statement":[]}');
    },
    args: base(
      "--role-session-name",
      "audit",
      "--duration-seconds",
      "3600",
      "--external-id",
      "ext-1",
      "--source-identity",
      "alice",
      "--tag",
      "team=infra",
      "--transitive-tag-key",
      "team",
      "--policy-file",
      "{home}/policy.json",
      "--policy-arn",
      "arn:aws:iam::aws:policy/ReadOnlyAccess",
      "--format",
      "env",
    ),
    code: 0,
  },
  {
    name: "--profile: role over a source profile with keys in the credentials file",
    async setup({ home }) {
      await home.writeConfig(
        `[profile dev]\nrole_arn = ${ROLE}\nsource_profile = base\nregion = eu-west-1\n`,
      );
      await home.writeCredentials(
        `[base]\naws_access_key_id = ${STANDIN_ACCESS_KEY_ID}\naws_secret_access_key = ${STANDIN_SECRET_ACCESS_KEY}\n`,
      );
    },
    args: ["--profile", "dev", "--endpoint-url", "{url}", "--verbose"],
    env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
    code: 0,
  },
  {
    name: "--profile: a two-profile chain with credential_source = Environment",
    async setup({ home }) {
      await home.writeConfig(
        `[profile top]\nrole_arn = ${ROLE2}\nsource_profile = mid\n` +
          `[profile mid]\nrole_arn = ${ROLE}\ncredential_source = Environment\n`,
      );
    },
    args: ["--profile", "top", "--endpoint-url", "{url}", "--verbose"],
    code: 0,
  },
  {
    name: "web identity from a token file",
    standin: { webIdentityToken: OIDC_TOKEN },
    async setup({ home }) {
      await Deno.writeTextFile(`${home.dir}/token`, `${OIDC_TOKEN}\n`);
    },
    args: base("--web-identity-token-file", "{home}/token"),
    code: 0,
  },
  {
    name: "web identity from an environment variable",
    standin: { webIdentityToken: OIDC_TOKEN },
    args: base("--web-identity-token-env", "AWS_CI_OIDC_TOKEN"),
    env: { AWS_CI_OIDC_TOKEN: OIDC_TOKEN },
    code: 0,
  },
  {
    name: "MFA with --token-code",
    standin: { mfa: { serial: MFA_SERIAL, code: MFA_CODE } },
    args: base("--serial-number", MFA_SERIAL, "--token-code", MFA_CODE),
    code: 0,
  },
  {
    name: "--mfa-session with the code in CREDPROC_MFA_TOKEN_CODE",
    standin: { mfa: { serial: MFA_SERIAL, code: MFA_CODE } },
    args: base("--mfa-session", "--serial-number", MFA_SERIAL),
    env: { CREDPROC_MFA_TOKEN_CODE: MFA_CODE },
    code: 0,
  },
  {
    name: "STS refuses (AccessDenied)",
    setup({ standin }) {
      standin.setDefaultFault({ kind: "deny", code: "AccessDenied" });
    },
    args: base(),
    code: 1,
  },
  {
    name: "a truncated answer (part of the credentials on the wire)",
    setup({ standin }) {
      standin.setDefaultFault({ kind: "truncated-xml" });
    },
    args: base(),
    code: 1,
  },
  {
    name: "a connection closed mid-body (part of the credentials on the wire)",
    setup({ standin }) {
      standin.setDefaultFault({ kind: "close-mid-body" });
    },
    args: base(),
    code: 1,
  },
  {
    name: "nothing listens at the endpoint",
    args: ["--role-arn", ROLE, "--endpoint-url", "{dead}", "--verbose"],
    code: 1,
  },
  { name: "bad input (exit 2)", args: base("--duration-seconds", "60"), code: 2 },
  {
    name: "--policy-file pointing at the credentials file (its text must not be echoed)",
    async setup({ home }) {
      await home.writeCredentials(
        `[default]\naws_access_key_id = ${STANDIN_ACCESS_KEY_ID}\naws_secret_access_key = ${STANDIN_SECRET_ACCESS_KEY}\n`,
      );
    },
    args: base("--policy-file", "{home}/.aws/credentials"),
    code: 2,
  },
  {
    name: "--web-identity-token-file pointing at the credentials file",
    async setup({ home }) {
      await home.writeCredentials(
        `[default]\naws_access_key_id = ${STANDIN_ACCESS_KEY_ID}\naws_secret_access_key = ${STANDIN_SECRET_ACCESS_KEY}\n`,
      );
    },
    args: base("--web-identity-token-file", "{home}/.aws/credentials"),
    code: 2,
  },
  {
    name: "an aws login session printed as it is (its token fresh: no refresh)",
    login: { remainingMs: 14 * 60_000 },
    args: ["--profile", "dev", "--verbose"],
    code: 0,
  },
  {
    name: "a role over an aws login session whose token is refreshed (the SDK rewrites it)",
    login: { remainingMs: 60_000 },
    args: ["--profile", "dev", "--role-arn", ROLE, "--endpoint-url", "{url}", "--verbose"],
    code: 0,
  },
  {
    name: "an aws login session whose refresh token is refused",
    login: { remainingMs: 60_000, reject: true },
    args: ["--profile", "dev", "--verbose"],
    code: 1,
  },
  { name: "cache clear", before: [base()], args: ["cache", "clear", "--verbose"], code: 0 },
  { name: "--help", args: ["--help"], code: 0 },
  { name: "--version", args: ["--version"], code: 0 },
];

/** A file under HOME: its bytes, for before/after comparison. */
export type Tree = Map<string, Uint8Array>;

/** Every regular file under `dir` (recursively), by path. */
export async function snapshot(dir: string, skip: (path: string) => boolean = () => false): Promise<Tree> {
  const out: Tree = new Map();
  async function walk(d: string): Promise<void> {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (skip(p)) continue;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) out.set(p, await Deno.readFile(p));
      else out.set(p, new Uint8Array());
    }
  }
  await walk(dir);
  return out;
}

/** Everything a suite inspects after one scenario. */
export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly lines: string[];
  readonly audit: AuditEntry[];
  /** The raw audit log text. */
  readonly auditText: string;
  readonly home: string;
  readonly cacheDir: string;
  readonly auditFile: string;
  /** HOME's files (cache and audit log excluded) before and after the audited run. */
  readonly before: Tree;
  readonly after: Tree;
  /** HOME's files after the run, cache included. */
  readonly all: Tree;
  /** Every secret the stand-in knows or issued, the web identity token and the MFA code. */
  readonly secrets: string[];
  /** Every access key id the stand-in issued (and the base one). */
  readonly keyIds: string[];
  /** STS requests the stand-in saw during the audited run. */
  readonly requests: number;
  /**
   * The `aws login` token file (login scenarios): the one file outside the cache the run may rewrite — the
   * SDK does when it refreshes the session, as `aws login` and the AWS CLI do.
   */
  readonly loginToken?: string;
  /** Its permission bits after the run. */
  readonly loginTokenMode?: number;
}

/** Runs one scenario with the permission audit log on; cleans up after itself. */
export async function runScenario(s: Scenario): Promise<ScenarioRun> {
  await using login = s.login === undefined ? undefined : startLoginStandin();
  await using standin = await startStandin({ ...s.standin, ...(login ? { sessions: login.pool } : {}) });
  await using home = await tempHome();
  const dead = deadUrl();
  const signedIn = login === undefined ? undefined : await signIn(home, login, s.login!);
  await s.setup?.({ home, standin, dead });
  const fill = (t: string) =>
    t.replaceAll("{url}", standin.url).replaceAll("{home}", home.dir).replaceAll("{dead}", dead);
  const auditFile = `${home.dir}/audit.jsonl`;
  const env = home.env({
    ...safeEnv(home.dir, {
      sts: standin.url,
      dead,
      keys: { id: STANDIN_ACCESS_KEY_ID, secret: STANDIN_SECRET_ACCESS_KEY },
    }),
    ...(login === undefined ? {} : { AWS_ENDPOINT_URL_SIGNIN: login.url }),
    ...s.env,
  });
  for (const args of s.before ?? []) await runCredproc(args.map(fill), env, { cwd: home.dir });
  const inCacheOrAudit = (p: string) =>
    p === auditFile || p === home.cacheDir || p.startsWith(`${home.cacheDir}/`);
  const before = await snapshot(home.dir, inCacheOrAudit);
  const seen = standin.count();
  const r = await runCredproc(s.args.map(fill), { ...env, DENO_AUDIT_PERMISSIONS: auditFile }, {
    cwd: home.dir,
  });
  const after = await snapshot(home.dir, inCacheOrAudit);
  const all = await snapshot(home.dir, (p) => p === auditFile);
  let auditText = "";
  try {
    auditText = await Deno.readTextFile(auditFile);
  } catch { /* no permission checked at all */ }
  const issued = [...standin.issued.values()];
  return {
    scenario: s,
    ...r,
    audit: await readAudit(auditFile),
    auditText,
    home: home.dir,
    cacheDir: home.cacheDir,
    auditFile,
    before,
    after,
    all,
    secrets: [
      STANDIN_SECRET_ACCESS_KEY,
      ...issued.flatMap((i) => [i.secretAccessKey, i.sessionToken]),
      OIDC_TOKEN,
      OIDC_TOKEN.split(".")[2],
      MFA_CODE,
      ...(login?.secrets() ?? []),
      ...(signedIn === undefined ? [] : [signedIn.dpopKey, ...signedIn.dpopKey.split("\n").slice(1, -2)]),
    ],
    keyIds: [
      STANDIN_ACCESS_KEY_ID,
      ...issued.map((i) => i.accessKeyId),
      ...(login?.pool.map((k) => k.accessKeyId) ?? []),
    ],
    requests: standin.count() - seen,
    ...(signedIn === undefined ? {} : {
      loginToken: signedIn.path,
      loginTokenMode: (await Deno.stat(signedIn.path)).mode! & 0o777,
    }),
  };
}

/** The login scenarios' profile and token file (see {@link Scenario.login}). */
async function signIn(home: TempHome, login: LoginStandin, o: NonNullable<Scenario["login"]>) {
  const session = "arn:aws:iam::123456789012:user/alice";
  await home.writeConfig(`[profile dev]\nlogin_session = ${session}\nregion = us-east-1\n`);
  login.reject = o.reject ?? false;
  return await login.signIn({ dir: `${home.dir}/.aws/login/cache`, session, remainingMs: o.remainingMs });
}
