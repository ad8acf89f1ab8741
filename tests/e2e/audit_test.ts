/**
 * Sandbox audit. Every end-to-end scenario (tests/support/scenarios.ts) runs under the shipping permission set with
 * Deno's permission audit log (`DENO_AUDIT_PERMISSIONS=<file>`; without `-A` it records every check), and:
 *
 * - every network check is for a host in the documented allow list (and, in tests, on loopback);
 * - no `run`, `ffi` or `import` check happens at all;
 * - every env variable checked is in the documented list;
 * - every `sys` check is in the documented list;
 * - every write stays in the cache directory. Deno records a `write` check next to the `read` check of every
 *   file it opens, even read-only, so the log alone cannot tell a write from a read: a `write` entry outside the
 *   cache directory must name a file that existed before the run, and every file in HOME outside the cache
 *   must be byte-for-byte the same after the run (nothing created, changed or removed).
 *
 * Then direct escape attempts, each refused with a clear message, and a drift test between deno.json's
 * permission set, lib/sandbox.ts and the "## Permissions" table of docs/sandbox.md.
 */
import assert from "node:assert/strict";
import { isAllowedHost, NET_ALLOW_LIST } from "../../lib/sandbox.ts";
import {
  STANDIN_ACCESS_KEY_ID,
  STANDIN_SECRET_ACCESS_KEY,
  startStandin,
} from "../support/sts_standin/mod.ts";
import { CREDPROC_BIN, ignoreIf, ROLE, ROOT, runCredproc, tempHome } from "../support/helpers.ts";
import {
  assertNoCrash,
  assertOneErrorLine,
  deadUrl,
  envAllowed,
  isLoopback,
  netHost,
  pool,
  readAudit,
  safeEnv,
  shippingPermissions,
} from "../support/hardening_helpers.ts";
import { runScenario, type ScenarioRun, SCENARIOS } from "../support/scenarios.ts";

const perms = await shippingPermissions();

let checks = 0;
function check(ok: boolean, message: () => string): void {
  checks++;
  assert.ok(ok, message());
}

function auditRun(run: ScenarioRun): void {
  const where = () => `scenario "${run.scenario.name}"\nstderr: ${run.stderr}`;
  check(run.code === run.scenario.code, () => `exit ${run.code}, expected ${run.scenario.code}\n${where()}`);
  assertNoCrash(run);
  // Bad flags, --help and --version end before any permission is checked.
  const early = run.scenario.code === 2 || run.scenario.args[0] === "--help" ||
    run.scenario.args[0] === "--version";
  check(
    run.audit.length > 0 || early,
    () => `no audit entries at all: is DENO_AUDIT_PERMISSIONS honoured?\n${where()}`,
  );
  const existedBefore = new Set(run.before.keys());
  for (const e of run.audit) {
    const value = e.value ?? "";
    check(
      ["read", "write", "net", "env", "sys"].includes(e.permission),
      () => `a ${e.permission} check (${value})\n${where()}`,
    );
    if (e.permission === "net") {
      const host = netHost(value);
      check(isAllowedHost(host), () => `net check for ${value}, outside the allow list\n${where()}`);
      check(isLoopback(host), () => `net check for ${value}: tests only ever talk to loopback\n${where()}`);
    } else if (e.permission === "env") {
      check(
        envAllowed(value, perms.env),
        () => `env check for ${value}, outside the documented list\n${where()}`,
      );
    } else if (e.permission === "sys") {
      check(
        perms.sys.includes(value),
        () => `sys check for ${value}, outside the documented list\n${where()}`,
      );
    } else if (e.permission === "write") {
      // In the cache directory, or a path in HOME that the tree comparison below proves untouched.
      const inCache = value === run.cacheDir || value.startsWith(`${run.cacheDir}/`);
      const inHome = value === run.home || value.startsWith(`${run.home}/`);
      // The aws login token: the SDK rewrites it in place when it refreshes the session (checked below).
      const loginToken = value === run.loginToken;
      check(
        inCache || loginToken || (inHome && (existedBefore.has(value) || !run.after.has(value))),
        () => `write check for ${value}: outside the cache directory and HOME's untouched inputs\n${where()}`,
      );
    }
  }
  // Nothing outside the cache directory was created, changed or removed.
  check(
    [...run.before.keys()].sort().join("\n") === [...run.after.keys()].sort().join("\n"),
    () =>
      `files outside the cache changed:\nbefore ${[...run.before.keys()].join(", ")}\nafter ${
        [...run.after.keys()].join(", ")
      }`,
  );
  for (const [path, bytes] of run.before) {
    const now = run.after.get(path);
    if (path === run.loginToken && now !== undefined && !equalBytes(bytes, now)) {
      // Rewritten by a refresh: still a token (rotated refresh token), still 0600, still only the owner's.
      const doc = JSON.parse(new TextDecoder().decode(now));
      const before = JSON.parse(new TextDecoder().decode(bytes));
      check(
        doc.refreshToken !== before.refreshToken,
        () => `${path} rewritten without a refresh\n${where()}`,
      );
      check(run.loginTokenMode === 0o600, () => `${path} no longer 0600\n${where()}`);
      continue;
    }
    check(now !== undefined && equalBytes(bytes, now), () => `${path} was modified\n${where()}`);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// The audit runs the source under the shipping permission set. A compiled binary embeds the same set (the
// compile test reads it back), but its runtime is not guaranteed to honour DENO_AUDIT_PERMISSIONS.
Deno.test({
  ...ignoreIf(
    `sandbox audit: ${SCENARIOS.length} end-to-end scenarios under the permission audit log`,
    CREDPROC_BIN !== undefined && "runs main.ts from source; CREDPROC_BIN names a binary",
  ),
}, async (t) => {
  const runs = await pool(2, SCENARIOS.map((s) => () => runScenario(s)));
  let entries = 0;
  for (const run of runs) {
    entries += run.audit.length;
    await t.step(run.scenario.name, () => auditRun(run));
  }
  const cacheWrites = runs.flatMap((r) =>
    r.audit.filter((e) => e.permission === "write" && e.value?.startsWith(r.cacheDir))
  );
  assert.ok(cacheWrites.length > 0, "the scenarios do write the cache (the write check is not vacuous)");
  assert.ok(
    runs.some((r) => r.audit.some((e) => e.permission === "net")),
    "the scenarios do use the network",
  );
  console.log(`sandbox audit: ${runs.length} scenarios, ${entries} audit entries, ${checks} assertions`);
});

// ── direct escape attempts ──────────────────────────────────────────────────────────────────────────────

interface Attempt {
  name: string;
  args: string[];
  env?: Record<string, string>;
  config?: string;
  code: 1 | 2;
  stderr: RegExp;
  /** The only net hosts the sandbox may have been asked about (and refused). */
  netAsked?: string[];
}

const ATTEMPTS: Attempt[] = [
  {
    name: "--endpoint-url to a host outside the allow list",
    args: ["--role-arn", ROLE, "--endpoint-url", "https://evil.test/"],
    code: 2,
    stderr: /^credproc: --endpoint-url: host evil\.test is outside the allowed endpoints$/,
  },
  {
    name: "--endpoint-url that looks like an AWS host but is not",
    args: ["--role-arn", ROLE, "--endpoint-url", "https://sts.amazonaws.com.evil.test/"],
    code: 2,
    stderr:
      /^credproc: --endpoint-url: host sts\.amazonaws\.com\.evil\.test is outside the allowed endpoints$/,
  },
  {
    name: "--endpoint-url with an AWS host as user info",
    args: ["--role-arn", ROLE, "--endpoint-url", "https://sts.amazonaws.com@evil.test/"],
    code: 2,
    stderr: /^credproc: --endpoint-url: must not contain credentials$/,
  },
  {
    name: "--endpoint-url to an IPv4-mapped IPv6 loopback address",
    args: ["--role-arn", ROLE, "--endpoint-url", "http://[::ffff:127.0.0.1]:9/"],
    code: 2,
    stderr: /^credproc: --endpoint-url: host \[::ffff:7f00:1\] is outside the allowed endpoints$/,
  },
  {
    name: "AWS_ENDPOINT_URL_STS (around the flag check) to a host outside the allow list",
    args: ["--role-arn", ROLE, "--verbose"],
    env: { AWS_ENDPOINT_URL_STS: "https://evil.test/" },
    // credproc resolves the endpoint itself now: refused while planning, before the sandbox is even asked.
    code: 2,
    stderr: /^credproc: AWS_ENDPOINT_URL_STS: host evil\.test is outside the allowed endpoints$/,
  },
  {
    name: "a profile whose credential_process would start a program",
    args: ["--profile", "evil", "--endpoint-url", "{url}"],
    config: `[profile evil]\ncredential_process = /bin/sh -c "touch {home}/pwned"\n`,
    env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
    code: 2,
    stderr:
      /^credproc: profile evil: gets its credentials from credential_process, which cannot run inside credproc's sandbox/,
  },
  {
    name: "a role profile whose source_profile uses credential_process",
    args: ["--profile", "dev", "--endpoint-url", "{url}"],
    config: `[profile dev]\nrole_arn = ${ROLE}\nsource_profile = evil\n` +
      `[profile evil]\ncredential_process = /bin/sh -c "touch {home}/pwned"\n`,
    code: 2,
    stderr:
      /^credproc: profile evil: gets its credentials from credential_process, .*\(profiles visited: dev → evil\)$/,
  },
  {
    name: "the default profile with credential_process (no flags name it)",
    args: ["--role-arn", ROLE, "--endpoint-url", "{url}"],
    config: `[default]\ncredential_process = /bin/sh -c "touch {home}/pwned"\n`,
    env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
    code: 2,
    stderr: /^credproc: profile default: gets its credentials from credential_process/,
  },
  {
    name: "a web identity token path that is a directory (flag)",
    args: ["--role-arn", ROLE, "--endpoint-url", "{url}", "--web-identity-token-file", "{home}"],
    code: 2,
    stderr: /^credproc: web identity token file \/\S+: is a directory, not a file$/,
  },
  {
    name: "a web identity token path that is a directory (profile)",
    args: ["--profile", "ci", "--endpoint-url", "{url}"],
    config: `[profile ci]\nrole_arn = ${ROLE}\nweb_identity_token_file = {home}/.aws\n`,
    code: 2,
    stderr: /^credproc: web identity token file \/\S+\/\.aws: is a directory, not a file$/,
  },
  {
    name: "a container credentials URL outside the allow list",
    args: ["--profile", "ecs", "--endpoint-url", "{url}"],
    config: `[profile ecs]\nrole_arn = ${ROLE}\ncredential_source = EcsContainer\n`,
    env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://evil.test/creds" },
    code: 2,
    stderr:
      /^credproc: AWS_CONTAINER_CREDENTIALS_FULL_URI: host evil\.test is outside the allowed endpoints$/,
  },
];

for (const a of ATTEMPTS) {
  Deno.test(`escape attempt refused: ${a.name}`, async () => {
    await using standin = await startStandin();
    await using home = await tempHome();
    const fill = (t: string) => t.replaceAll("{url}", standin.url).replaceAll("{home}", home.dir);
    if (a.config) await home.writeConfig(fill(a.config));
    const auditFile = `${home.dir}/audit.jsonl`;
    const env = home.env({
      ...safeEnv(home.dir, {
        sts: standin.url,
        dead: deadUrl(),
        keys: { id: STANDIN_ACCESS_KEY_ID, secret: STANDIN_SECRET_ACCESS_KEY },
      }),
      ...a.env,
      DENO_AUDIT_PERMISSIONS: auditFile,
    });
    const r = await runCredproc(a.args.map(fill), env, { cwd: home.dir });
    const verbose = a.args.includes("--verbose");
    if (verbose) {
      assert.equal(r.code, a.code, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.lines.filter((l) => !l.startsWith("hint: ")).at(-1) ?? "", a.stderr, r.stderr);
      assertNoCrash(r);
    } else {
      assertOneErrorLine(r, a.code, a.stderr);
    }
    const audit = await readAudit(auditFile);
    assert.deepEqual(
      audit.filter((e) => e.permission === "run" || e.permission === "ffi"),
      [],
      "no run or ffi check",
    );
    const asked = [
      ...new Set(audit.filter((e) => e.permission === "net").map((e) => netHost(e.value ?? ""))),
    ];
    // A compiled binary may not write the audit log (see the scenario test); the source run always does.
    if (CREDPROC_BIN === undefined || audit.length > 0) {
      assert.deepEqual(asked, a.netAsked ?? [], "net checks");
    }
    assert.equal(standin.count(), 0, "nothing reached STS");
    await assert.rejects(Deno.stat(`${home.dir}/pwned`), Deno.errors.NotFound, "no program ran");
  });
}

// ── the documented permission set cannot drift ─────────────────────────────────────────────────────────

/** docs/sandbox.md's "## Permissions" section: `| permission | granted | why |` rows, backticked entries per permission. */
async function documentedPermissions(): Promise<Map<string, string[]>> {
  const text = await Deno.readTextFile(`${ROOT}docs/sandbox.md`);
  const start = text.indexOf("\n## Permissions\n");
  assert.ok(start >= 0, 'docs/sandbox.md has a "## Permissions" section');
  const next = text.indexOf("\n## ", start + 1);
  const section = text.slice(start, next < 0 ? undefined : next);
  const out = new Map<string, string[]>();
  for (const row of section.split("\n")) {
    const cells = row.split("|").map((c) => c.trim());
    if (cells.length < 4 || cells[0] !== "") continue;
    const [, permission, granted] = cells;
    if (!/^[a-z, ]+$/.test(permission) || permission === "permission") continue;
    const entries = [...granted.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    for (const p of permission.split(",").map((s) => s.trim())) {
      out.set(p, [...(out.get(p) ?? []), ...(entries.length > 0 ? entries : [granted])]);
    }
  }
  return out;
}

Deno.test("the permission set in deno.json, lib/sandbox.ts and docs/sandbox.md's Permissions table agree", async () => {
  const documented = await documentedPermissions();
  assert.deepEqual(perms.net, [...NET_ALLOW_LIST], "deno.json net = lib/sandbox.ts NET_ALLOW_LIST");
  assert.deepEqual(documented.get("net"), perms.net, "docs net rows = deno.json net, in order");
  assert.deepEqual(
    [...(documented.get("env") ?? [])].sort(),
    [...perms.env].sort(),
    "docs env rows = deno.json env",
  );
  assert.deepEqual(
    [...(documented.get("sys") ?? [])].sort(),
    [...perms.sys].sort(),
    "docs sys rows = deno.json sys",
  );
  assert.equal(perms.run, false);
  assert.equal(perms.ffi, false);
  assert.deepEqual(documented.get("run"), ["nothing"], "docs: run, ffi, import → nothing");
  assert.deepEqual(documented.get("ffi"), ["nothing"]);
  assert.deepEqual(documented.get("import"), ["nothing"]);
});
