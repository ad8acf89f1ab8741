/**
 * Property-based tests (fast-check) over argv arrays, environment values and shared-config contents.
 *
 * In process (cheap, many cases): `parseCommand` → `resolvePlan` → `resolveRetry` either produce a value or
 * throw a `CredprocError` with exit code 2 whose text is one line; nothing else may escape.
 *
 * As real subprocesses (the shipping permission set, against the STS stand-in on loopback): whatever the argv
 * and the config files hold, credproc exits 0, 1 or 2, prints no stack trace, writes stdout only when it exits 0,
 * on failure prints one `credproc:` line (+ one hint), never puts a secret on stderr, and every network check
 * in the permission audit log is for loopback.
 *
 * Bounded in CI. `deno task fuzz` sets CREDPROC_FUZZ_RUNS for a longer run (in-process cases = RUNS,
 * subprocess cases = RUNS / 20, at least the CI count) and a random seed; the suite replays a fixed one
 * (tests/support/fuzz.ts); CREDPROC_FUZZ_SEED replays a run; CREDPROC_FUZZ_DEBUG=1
 * prints why each fuzzed config was refused (to tune the generators).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Command, parseCommand } from "../../lib/cli/args.ts";
import { CredprocError } from "../../lib/errors.ts";
import { loadSharedConfig, sharedConfigPaths } from "../../lib/plan/shared_config.ts";
import type { Env } from "../../lib/model.ts";
import { resolveRetry } from "../../lib/plan/endpoint.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";
import { announceSeed, FUZZ_LONG, FUZZ_SEED } from "../support/fuzz.ts";
import { ROLE, runCredproc, tempHome } from "../support/helpers.ts";
import {
  assertNoCrash,
  deadUrl,
  isLoopback,
  netHost,
  pool,
  readAudit,
  safeEnv,
} from "../support/hardening_helpers.ts";
import {
  STANDIN_ACCESS_KEY_ID,
  STANDIN_SECRET_ACCESS_KEY,
  startStandin,
} from "../support/sts_standin/mod.ts";

const LONG = FUZZ_LONG;
/** In-process cases per property. */
const RUNS = LONG > 0 ? LONG : 400;
/** Subprocess cases for argv and for config files, each. */
const SUB_RUNS = LONG > 0 ? Math.max(12, Math.round(LONG / 20)) : 12;
const SEED = FUZZ_SEED;
announceSeed("fuzz", `${RUNS} in-process, ${SUB_RUNS}×2 subprocess`);

const ROLE2 = "arn:aws:iam::123456789012:role/team/second";
const SERIAL = "arn:aws:iam::123456789012:mfa/alice";

// ── value and argv generators ───────────────────────────────────────────────────────────────────────────

/** Strings that break naive parsers: empty, spaces, newlines, control and escape characters, unicode, long. */
const nasty = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "-",
    "--",
    "=",
    "\n",
    "a\nb",
    "\r\n",
    "\t",
    "\x1b[31mred\x1b[0m",
    "\0",
    "%s%n",
    "${HOME}",
    "$(id)",
    "'\"",
    "\u202e",
    "😀",
    "日本語",
    "\ud800",
    "-1",
    "0",
    "1e3",
    "0x10",
    "999999999999999999999",
    "NaN",
    "null",
    "{}",
    "[]",
    "true",
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 10 }),
  fc.nat({ max: 100000 }).map(String),
  fc.integer({ min: 1, max: 5000 }).map((n) => "x".repeat(n)),
);

/** Per flag: values that pass validation, and near misses. */
const VALUES: Record<string, { good: readonly string[]; bad: readonly string[] }> = {
  "--role-arn": {
    good: [ROLE, ROLE2, "arn:aws-cn:iam::123456789012:role/x"],
    bad: ["arn:aws:iam::123:role/x", "deploy", "arn:aws:iam::123456789012:user/x"],
  },
  "--role-session-name": { good: ["ci", "my-session", "a@b.c"], bad: ["a", "x".repeat(65), "bad name"] },
  "--duration-seconds": { good: ["900", "3600", "43200"], bad: ["899", "43201", "1h"] },
  "--external-id": { good: ["ext-123", "x:y/z"], bad: ["a", "bad id"] },
  "--source-identity": { good: ["alice"], bad: ["a", "bad!"] },
  "--serial-number": { good: [SERIAL, "GAHT12345678"], bad: ["abc"] },
  "--token-code": { good: ["123456"], bad: ["12345", "abcdef"] },
  "--policy": { good: ['{"Version":"2012-10-17","Statement":[]}', "{}"], bad: ["{", "[]", "null", '"s"'] },
  "--policy-file": { good: [], bad: ["/nonexistent/policy.json", "/", "policy.json"] },
  "--policy-arn": { good: ["arn:aws:iam::aws:policy/ReadOnlyAccess"], bad: [ROLE, "x"] },
  "--tag": { good: ["team=a", "k=", "k=v=w", "Project=x y"], bad: ["=v", "novalue", "k\n=v"] },
  "--transitive-tag-key": { good: [], bad: ["team", "Team", "other"] },
  "--region": { good: ["us-east-1", "eu-west-1", "aws-global", "cn-north-1"], bad: ["moon-1", "US-EAST-1"] },
  "--format": {
    good: ["process", "env", "env-no-export", "powershell", "windows-cmd"],
    bad: ["json", "PROCESS"],
  },
  "--timeout": { good: ["1", "5", "3600"], bad: ["0", "3601", "-5"] },
  "--profile": { good: ["default", "dev", "a"], bad: ["nope"] },
  "--web-identity-token-file": { good: [], bad: ["/nonexistent/token", "/", "token"] },
  "--web-identity-token-env": { good: ["AWS_OIDC"], bad: ["CREDPROC_T", "PATH", "aws_x"] },
  "--mfa-session-duration": { good: ["900", "129600"], bad: ["129601", "x"] },
  "--mfa-timeout": { good: ["1", "60"], bad: ["0"] },
  "--cache-dir": { good: ["rel/dir", "a b"], bad: [""] },
  "--refresh-margin": { good: ["0", "900"], bad: ["43201", "soon"] },
  "--endpoint-url": {
    good: ["http://127.0.0.1:9/", "https://localhost/"],
    bad: ["https://evil.test/", "ftp://127.0.0.1/", "http://u:p@127.0.0.1/", "sts.local"],
  },
};
const BOOL_FLAGS = ["--mfa-session", "--no-cache", "--refresh", "--verbose", "-v", "--include-account-id"];
const RARE_FLAGS = ["--help", "-h", "--version", "-V"];
const UNKNOWN = ["--bogus", "-x", "--role_arn", "--ROLE-ARN", "---role-arn", "-", "--", "cache", "clear"];

function valueFor(flag: string, mutate: boolean): fc.Arbitrary<string> {
  const { good, bad } = VALUES[flag] ?? { good: [], bad: [] };
  if (!mutate && good.length > 0) return fc.constantFrom(...good);
  return bad.length > 0 ? fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...bad) }, nasty) : nasty;
}

/**
 * One argv "word group": mostly a flag with a valid value, sometimes a mutation (a near miss, a nasty string,
 * `--flag=value`, a missing value, an unknown flag, help/version), so that a fair share of whole command lines
 * get past validation and exercise what comes after.
 */
function argGroup(flags: readonly string[]): fc.Arbitrary<string[]> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...flags).chain((f) => valueFor(f, false).map((v) => [f, v])) },
    { weight: 2, arbitrary: fc.constantFrom(...flags).chain((f) => valueFor(f, true).map((v) => [f, v])) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...flags).chain((f) => valueFor(f, false).map((v) => [`${f}=${v}`])),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...flags).chain((f) => valueFor(f, true).map((v) => [`${f}=${v}`])),
    },
    { weight: 3, arbitrary: fc.constantFrom(...BOOL_FLAGS).map((f) => [f]) },
    { weight: 1, arbitrary: fc.constantFrom(...flags).map((f) => [f]) },
    { weight: 1, arbitrary: fc.constantFrom(...UNKNOWN).map((f) => [f]) },
    { weight: 1, arbitrary: fc.constantFrom(...RARE_FLAGS).map((f) => [f]) },
  );
}

/** argv that mostly starts like a real call, so the deeper checks are reached too. */
function argvArb(flags: readonly string[]): fc.Arbitrary<string[]> {
  return fc.tuple(
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(["--role-arn", ROLE]) },
      { weight: 1, arbitrary: fc.constant(["cache", "clear"]) },
      { weight: 1, arbitrary: fc.constant([] as string[]) },
    ),
    fc.array(argGroup(flags), { maxLength: 5 }),
  ).map(([head, groups]) => [...head, ...groups.flat()]);
}

const ALL_FLAGS = Object.keys(VALUES);

/** An env value: usually unset, else mostly valid, sometimes garbage. */
function envValue(good: readonly string[], bad: readonly string[]): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.constantFrom(...good) },
    { weight: 1, arbitrary: fc.oneof(fc.constantFrom(...bad), nasty) },
  );
}

/** Environment values credproc reads and validates. */
const envArb: fc.Arbitrary<Env> = fc.record({
  AWS_REGION: envValue(["us-east-1", "cn-north-1", ""], ["moon", "us east 1"]),
  AWS_DEFAULT_REGION: envValue(["eu-west-1", ""], ["x"]),
  AWS_MAX_ATTEMPTS: envValue(["1", "3", "10", " 2 ", ""], ["11", "0", "three"]),
  AWS_RETRY_MODE: envValue(["standard", "adaptive", "legacy", "ADAPTIVE", ""], ["fast"]),
  AWS_USE_FIPS_ENDPOINT: envValue(["true", "false", "TRUE"], ["1", "yes"]),
  AWS_USE_DUALSTACK_ENDPOINT: envValue(["true", "false"], ["yes"]),
  AWS_STS_REGIONAL_ENDPOINTS: envValue(["regional", "legacy", ""], ["global"]),
  AWS_PROFILE: envValue(["dev", ""], ["x y"]),
});

/** A CredprocError is the only thing allowed to escape, and its text is one line. */
function assertCleanError(e: unknown, argv: readonly string[]): asserts e is CredprocError {
  if (!(e instanceof CredprocError)) {
    throw new Error(`argv ${JSON.stringify(argv)} threw a non-CredprocError: ${(e as Error)?.stack ?? e}`);
  }
  assert.ok(e.exitCode === 1 || e.exitCode === 2);
  assert.ok(e.what.length > 0, "what is never empty");
  assert.ok(e.message.length > 0, "why is never empty");
  assert.doesNotMatch(e.message, /\n/, "the reason is one line");
  if (e.hint !== undefined) assert.doesNotMatch(e.hint, /\n/, "the hint is one line");
}

// ── in-process properties ───────────────────────────────────────────────────────────────────────────────

Deno.test(`fuzz: parseCommand → plan → retries never throws anything but a one-line CredprocError (${RUNS} argv × env)`, () => {
  let ok = 0;
  let refused = 0;
  fc.assert(
    fc.property(argvArb(ALL_FLAGS), envArb, (argv, env) => {
      let command: Command;
      try {
        command = parseCommand(argv);
      } catch (e) {
        assertCleanError(e, argv);
        assert.equal(e.exitCode, 2, "argv problems exit 2");
        refused++;
        return;
      }
      assert.ok(
        ["help", "usage", "version", "assume", "cacheClear", "cacheList"].includes(command.kind),
      );
      if (command.kind !== "assume") return;
      try {
        resolvePlan(command.options, env, emptySharedConfig(), new Date(), "linux");
        resolveRetry(env);
        ok++;
      } catch (e) {
        assertCleanError(e, argv);
        assert.equal(e.exitCode, 2, "flag and environment problems exit 2");
        refused++;
      }
    }),
    { numRuns: RUNS, seed: SEED },
  );
  console.log(`fuzz: in process, ${ok} accepted, ${refused} refused`);
  assert.ok(ok > 0 && refused > 0, `both outcomes must occur (ok ${ok}, refused ${refused})`);
});

Deno.test(`fuzz: arbitrary string arrays never crash parseCommand (${RUNS} cases)`, () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(nasty, fc.constantFrom(...ALL_FLAGS, ...BOOL_FLAGS)), { maxLength: 12 }),
      (argv) => {
        try {
          parseCommand(argv);
        } catch (e) {
          assertCleanError(e, argv);
          assert.equal(e.exitCode, 2);
        }
      },
    ),
    { numRuns: RUNS, seed: SEED + 1 },
  );
});

// ── subprocess properties ───────────────────────────────────────────────────────────────────────────────

/** A shared-config file: sections and keys credproc and the SDK read, valid and not, plus garbage lines. */
/** Shared-config keys credproc and the SDK read: values that make sense, and near misses. */
const KEY_VALUES: Record<string, { good: readonly string[]; bad: readonly string[] }> = {
  role_arn: { good: [ROLE, ROLE2], bad: ["nope", "arn:aws:iam::1:role/x"] },
  source_profile: { good: ["default", "dev", "base", "a", "self"], bad: ["missing", ""] },
  credential_source: { good: ["Environment"], bad: ["Ec2InstanceMetadata", "EcsContainer", "Laptop", ""] },
  region: { good: ["us-east-1", "eu-west-1"], bad: ["mars", ""] },
  mfa_serial: { good: [SERIAL], bad: ["x"] },
  external_id: { good: ["ext-1"], bad: ["a b"] },
  role_session_name: { good: ["fuzz"], bad: ["x"] },
  duration_seconds: { good: ["900", "3600"], bad: ["99999", "x"] },
  web_identity_token_file: { good: [], bad: ["/nonexistent/token", "/"] },
  credential_process: { good: [], bad: ["/bin/echo {}", "sh -c 'cat /etc/passwd'", "credproc --profile a"] },
  aws_access_key_id: { good: [STANDIN_ACCESS_KEY_ID], bad: ["AKIAEXAMPLEOTHER0001", ""] },
  aws_secret_access_key: { good: [STANDIN_SECRET_ACCESS_KEY], bad: ["wrong", ""] },
  aws_session_token: { good: [], bad: ["token", ""] },
  sts_regional_endpoints: { good: ["regional", "legacy"], bad: ["global"] },
  use_fips_endpoint: { good: ["false"], bad: ["maybe", "true"] },
  sso_start_url: { good: [], bad: ["https://example.awsapps.com/start", "x"] },
  sso_region: { good: [], bad: ["us-east-1", "x"] },
  sso_account_id: { good: [], bad: ["123456789012"] },
  sso_role_name: { good: [], bad: ["Admin"] },
  sso_session: { good: [], bad: ["corp"] },
  max_attempts: { good: ["2"], bad: ["0", "x"] },
  retry_mode: { good: ["standard"], bad: ["x"] },
};
const KEYS = Object.keys(KEY_VALUES);
const PROFILE_NAMES = ["default", "dev", "base", "a", "self"];
const oneLine = (v: string) => v.replace(/[\r\n]/g, " ");

/** `key = value` lines: mostly sensible, sometimes a near miss, sometimes noise. */
const iniLine: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.constantFrom(...KEYS.filter((k) => KEY_VALUES[k].good.length > 0)).chain((k) =>
      fc.constantFrom(...KEY_VALUES[k].good).map((v) => `${k} = ${v}`)
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...KEYS).chain((k) =>
      fc.oneof(fc.constantFrom(...KEY_VALUES[k].bad, "x"), nasty.map(oneLine)).map((v) => `${k} = ${v}`)
    ),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.constantFrom("# comment", "; comment", "", "   indented = continuation", "=", "[]", "key"),
      nasty.map(oneLine),
    ),
  },
);

/** A section header: mostly valid for the file kind, sometimes broken. */
function header(credentials: boolean): fc.Arbitrary<string> {
  return fc.constantFrom(...PROFILE_NAMES).chain((n) =>
    fc.oneof(
      { weight: 8, arbitrary: fc.constant(credentials || n === "default" ? `[${n}]` : `[profile ${n}]`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          `[profile ${n}`,
          `[ profile ${n} ]`,
          `[sso-session ${n}]`,
          `[${n}]`,
          `${n}]`,
        ),
      },
    )
  );
}

/** A whole shared config (or credentials) file. */
function iniFileOf(credentials: boolean): fc.Arbitrary<string> {
  return fc.array(fc.tuple(header(credentials), fc.array(iniLine, { minLength: 1, maxLength: 5 })), {
    maxLength: 4,
  }).map((sections) => sections.map(([h, lines]) => [h, ...lines].join("\n")).join("\n") + "\n");
}
const iniFile = iniFileOf(false);
const credentialsFile = iniFileOf(true);

/** A profile to name, and the two files' contents. */
interface ConfigCase {
  profile: string;
  config: string;
  credentials: string;
}

/**
 * A coherent setup (a role profile over keys, over `credential_source`, a two-role chain, a profile that is its
 * own source) with a few lines inserted or dropped, so that many cases plan and run; plus fully random files.
 */
const configCaseArb: fc.Arbitrary<ConfigCase> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      target: fc.constantFrom("dev", "a", "default"),
      shape: fc.constantFrom("source-keys", "credential-source", "chain", "self"),
      keysInCredentials: fc.boolean(),
      extras: fc.array(fc.tuple(fc.nat(), iniLine), { maxLength: 3 }),
      drop: fc.array(fc.nat(), { maxLength: 1 }),
    }).map(({ target, shape, keysInCredentials, extras, drop }) => {
      const section = (n: string) => (n === "default" ? "[default]" : `[profile ${n}]`);
      const keys = [
        `aws_access_key_id = ${STANDIN_ACCESS_KEY_ID}`,
        `aws_secret_access_key = ${STANDIN_SECRET_ACCESS_KEY}`,
      ];
      const config: string[] = [];
      const credentials: string[] = [];
      const base = (n: string) => {
        if (keysInCredentials) credentials.push(`[${n}]`, ...keys);
        else config.push(section(n), ...keys);
      };
      if (shape === "source-keys") {
        config.push(section(target), `role_arn = ${ROLE}`, "source_profile = base");
        base("base");
      } else if (shape === "credential-source") {
        config.push(section(target), `role_arn = ${ROLE}`, "credential_source = Environment");
      } else if (shape === "chain") {
        config.push(section(target), `role_arn = ${ROLE2}`, "source_profile = mid");
        config.push(section("mid"), `role_arn = ${ROLE}`, "source_profile = base");
        base("base");
      } else {
        config.push(section(target), `role_arn = ${ROLE}`, `source_profile = ${target}`, ...keys);
      }
      for (const [at, line] of extras) config.splice(at % (config.length + 1), 0, line);
      for (const at of drop) config.splice(at % config.length, 1);
      return {
        profile: target,
        config: `${config.join("\n")}\n`,
        credentials: `${credentials.join("\n")}\n`,
      };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      profile: fc.constantFrom(...PROFILE_NAMES),
      config: iniFile,
      credentials: credentialsFile,
    }),
  },
);

Deno.test(`fuzz: shared config files → loadSharedConfig → resolvePlan never crash (${Math.ceil(RUNS / 4)} cases)`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "credproc-fuzz-" });
  let planned = 0;
  let refused = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        configCaseArb,
        fc.array(argGroup(ALL_FLAGS.filter((f) => f !== "--profile" && f !== "--role-arn")), {
          maxLength: 2,
        }),
        envArb,
        async ({ profile, config, credentials }, extra, env) => {
          let command: Command;
          try {
            command = parseCommand(["--profile", profile, ...extra.flat()]);
          } catch (e) {
            assertCleanError(e, extra.flat());
            return;
          }
          if (command.kind !== "assume") return;
          await Deno.writeTextFile(`${dir}/config`, config);
          await Deno.writeTextFile(`${dir}/credentials`, credentials);
          const paths = sharedConfigPaths({
            AWS_CONFIG_FILE: `${dir}/config`,
            AWS_SHARED_CREDENTIALS_FILE: `${dir}/credentials`,
          });
          try {
            resolvePlan(command.options, env, await loadSharedConfig(paths), new Date(), "linux");
            planned++;
          } catch (e) {
            assertCleanError(e, [config, credentials]);
            refused++;
            if (Deno.env.get("CREDPROC_FUZZ_DEBUG")) {
              console.log("REFUSED", e.what, "|", e.message.slice(0, 80));
            }
          }
        },
      ),
      { numRuns: Math.ceil(RUNS / 4), seed: SEED + 4 },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  console.log(`fuzz: config files, ${planned} planned, ${refused} refused`);
  assert.ok(planned > 0 && refused > 0, `both outcomes must occur (planned ${planned}, refused ${refused})`);
});

/** Flags safe to fuzz as a subprocess: no `--endpoint-url` (each case gets exactly one, on loopback). */
const SUB_FLAGS = Object.keys(VALUES).filter((f) => f !== "--endpoint-url");

/**
 * Makes argv passable to a real process (no NUL: the OS cannot carry it) and keeps every directory credproc
 * may write inside the case's temp HOME (the run's cwd): relative paths only.
 */
function confine(argv: readonly string[]): string[] {
  const safe = (v: string) => (v.startsWith("/") || v.includes("..") ? `cache-${v.length}` : v);
  return argv.map((a) => a.replaceAll("\0", "")).map((a, i, argv) =>
    argv[i - 1] === "--cache-dir"
      ? safe(a)
      : a.startsWith("--cache-dir=")
      ? `--cache-dir=${safe(a.slice(12))}`
      : a
  );
}

interface SubCase {
  argv: string[];
  config?: string;
  credentials?: string;
}

const argvCases = (n: number): SubCase[] =>
  fc.sample(argvArb(SUB_FLAGS), { numRuns: n, seed: SEED + 2 }).map((argv) => ({ argv }));
const configCases = (n: number): SubCase[] =>
  fc.sample(
    fc.tuple(
      configCaseArb,
      fc.array(argGroup(SUB_FLAGS.filter((f) => f !== "--profile" && f !== "--role-arn")), { maxLength: 2 }),
    ),
    { numRuns: n, seed: SEED + 3 },
  ).map(([{ profile, config, credentials }, extra]) => ({
    argv: ["--profile", profile, ...extra.flat()],
    config,
    credentials,
  }));

Deno.test(`fuzz: the real program on ${SUB_RUNS} fuzzed argv and ${SUB_RUNS} fuzzed config files`, async () => {
  await using standin = await startStandin();
  const dead = deadUrl();
  const cases = [...argvCases(SUB_RUNS), ...configCases(SUB_RUNS)];
  const codes = { 0: 0, 1: 0, 2: 0 } as Record<number, number>;
  await pool(
    2,
    cases.map((c) => async () => {
      await using home = await tempHome();
      if (c.config !== undefined) await home.writeConfig(c.config);
      if (c.credentials !== undefined) await home.writeCredentials(c.credentials);
      const audit = `${home.dir}/audit.jsonl`;
      const argv = [...confine(c.argv), "--endpoint-url", standin.url];
      const env = home.env({
        ...safeEnv(home.dir, {
          sts: standin.url,
          dead,
          keys: { id: STANDIN_ACCESS_KEY_ID, secret: STANDIN_SECRET_ACCESS_KEY },
        }),
        CREDPROC_MFA_TOKEN_CODE: "123456",
        AWS_OIDC: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJmdXp6In0.c2ln",
        DENO_AUDIT_PERMISSIONS: audit,
      });
      const r = await runCredproc(argv, env, { cwd: home.dir, signal: AbortSignal.timeout(60_000) });
      const context = `case ${JSON.stringify(c)}\nexit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
      {
        assert.ok([0, 1, 2].includes(r.code), `exit 0, 1 or 2\n${context}`);
        assertNoCrash(r);
        if (r.code === 0) {
          assert.notEqual(r.stdout, "", context);
        } else {
          assert.equal(r.stdout, "", `stdout only on success\n${context}`);
          const verbose = argv.some((a) => a === "-v" || a === "--verbose" || a.startsWith("--verbose="));
          const errors = r.lines.filter((l) =>
            l.startsWith("credproc: ") && !l.startsWith("credproc: warning: ")
          );
          if (!verbose) {
            assert.equal(errors.length, 1, `one credproc: error line\n${context}`);
            const others = r.lines.filter((l) => !l.startsWith("credproc: "));
            assert.ok(
              others.length <= 1 && others.every((l) => l.startsWith("hint: ")),
              `at most a hint\n${context}`,
            );
          }
          assert.match(errors.at(-1) ?? "", /^credproc: \S.*: \S/, context);
        }
        // Secrets from the stand-in (base key and every issued one) never reach stderr.
        for (
          const secret of [
            STANDIN_SECRET_ACCESS_KEY,
            ...[...standin.issued.values()].flatMap((i) => [i.secretAccessKey, i.sessionToken]),
          ]
        ) {
          assert.ok(!r.stderr.includes(secret), `a secret on stderr\n${context}`);
        }
        for (const e of await readAudit(audit)) {
          // Not even a refused attempt: a profile with credential_process is turned down before the SDK sees it.
          assert.notEqual(e.permission, "run", `a run check\n${context}`);
          assert.notEqual(e.permission, "ffi", `an ffi check\n${context}`);
          if (e.permission === "net") {
            assert.ok(isLoopback(netHost(e.value ?? "")), `net check for ${e.value}\n${context}`);
          }
        }
      }
      codes[r.code]++;
    }),
  );
  console.log(`fuzz: subprocess exits ${JSON.stringify(codes)}`);
});
