import assert from "node:assert/strict";
import { parseCommand } from "../../lib/cli/args.ts";
import type { AssumeOptions } from "../../lib/model.ts";
import { UsageError } from "../../lib/errors.ts";
import { assumeOptions } from "../support/options.ts";
import { type CommandName, COMMANDS, type OptionName, OPTIONS } from "../../lib/argv.ts";
import {
  CACHE_CLEAR_USAGE,
  CACHE_LIST_USAGE,
  CONSOLE_USAGE,
  EKS_USAGE,
  SERVE_USAGE,
} from "../../lib/cli/usage.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";

/** The options of `--role-arn ROLE` plus `args`. */
function assume(...args: string[]): AssumeOptions {
  return assumeOptions("--role-arn", ROLE, ...args);
}

function rejects(args: string[], what: string, why: RegExp): void {
  assert.throws(() => parseCommand(args), (e) => {
    assert.ok(e instanceof UsageError, `expected UsageError, got ${e}`);
    assert.equal(e.exitCode, 2);
    assert.equal(e.what, what);
    assert.match(e.message, why);
    return true;
  });
}

Deno.test("defaults", () => {
  const o = assume();
  assert.deepEqual(o.roleArns, [ROLE]);
  assert.equal(o.format, "process");
  assert.equal(o.timeoutSeconds, 20);
  assert.equal(o.mfaTimeoutSeconds, 60);
  assert.equal(o.cacheMode, "use");
  assert.equal(o.verbose, false);
  assert.equal(o.roleSessionName, undefined);
  assert.equal(o.durationSeconds, undefined);
  assert.deepEqual(o.tags, []);
});

Deno.test("help and version win over everything else", () => {
  assert.deepEqual(parseCommand(["--help"]), { kind: "help" });
  assert.deepEqual(parseCommand(["-h", "--bogus-value-is-not-parsed", "x"].slice(0, 1)), { kind: "help" });
  assert.deepEqual(parseCommand(["--version"]), { kind: "version" });
  assert.deepEqual(parseCommand(["--role-arn", "nonsense", "--help"]), { kind: "help" });
});

Deno.test("cache clear subcommand", () => {
  assert.deepEqual(parseCommand(["cache", "clear"]), {
    kind: "cacheClear",
    cacheDir: undefined,
    verbose: false,
  });
  assert.deepEqual(parseCommand(["cache", "clear", "--cache-dir", "/tmp/x", "-v"]), {
    kind: "cacheClear",
    cacheDir: "/tmp/x",
    verbose: true,
  });
  assert.deepEqual(parseCommand(["cache"]), { kind: "help", topic: "cache" });
  assert.deepEqual(parseCommand(["cache", "list", "--json", "--cache-dir", "/tmp/x"]), {
    kind: "cacheList",
    cacheDir: "/tmp/x",
    json: true,
  });
  rejects(["cache", "purge"], "bad arguments", /^unexpected argument "purge"$/);
  rejects(["cache", "list", "extra"], "bad arguments", /^unexpected argument "extra"$/);
  rejects(["--role-arn", ROLE, "--json"], "--json", /only makes sense with credproc cache list/);
});

Deno.test("role ARNs in every partition, with paths", () => {
  for (
    const arn of [
      "arn:aws:iam::123456789012:role/deploy",
      "arn:aws-cn:iam::123456789012:role/deploy",
      "arn:aws-us-gov:iam::123456789012:role/a/b/c/deploy",
      "arn:aws-iso-b:iam::123456789012:role/x+=,.@_-y",
      "arn:aws-eusc:iam::123456789012:role/service-role/r",
    ]
  ) {
    assert.deepEqual(assume("--role-arn", arn).roleArns, [ROLE, arn]);
  }
  for (
    const bad of [
      "deploy",
      "arn:aws:iam::12345678901:role/x",
      "arn:aws:iam::123456789012:user/x",
      "arn:aws:sts::123456789012:role/x",
      "arn:aws:iam::123456789012:role/",
      "arn:gcp:iam::123456789012:role/x",
      `arn:aws:iam::123456789012:role/${"x".repeat(65)}`,
    ]
  ) {
    rejects(["--role-arn", bad], "--role-arn", /is not an IAM role ARN/);
  }
  // Without any role flag the command still parses: AWS_PROFILE or AWS_ROLE_ARN may name the role (see
  // profile_test). With no arguments at all it is the short usage instead.
  assert.equal(parseCommand(["-v"]).kind, "assume");
  assert.deepEqual(parseCommand([]), { kind: "usage" });
});

Deno.test("session name, duration, external id, source identity", () => {
  assert.equal(assume("--role-session-name", "ci@example.com").roleSessionName, "ci@example.com");
  assert.equal(assume("--role-session-name", "x".repeat(64)).roleSessionName, "x".repeat(64));
  rejects(["--role-arn", ROLE, "--role-session-name", "a"], "--role-session-name", /2-64/);
  rejects(["--role-arn", ROLE, "--role-session-name", "x".repeat(65)], "--role-session-name", /2-64/);
  rejects(["--role-arn", ROLE, "--role-session-name", "has space"], "--role-session-name", /2-64/);
  assert.equal(assume("--duration-seconds", "900").durationSeconds, 900);
  assert.equal(assume("--duration-seconds", "43200").durationSeconds, 43200);
  for (const bad of ["899", "43201", "1e3", "3600.5", "", "0x400"]) {
    rejects(
      ["--role-arn", ROLE, "--duration-seconds", bad],
      "--duration-seconds",
      /whole number from 900 to 43200/,
    );
  }
  rejects(
    ["--role-arn", ROLE, "--duration-seconds", "-900"],
    "bad arguments",
    /'--duration-seconds' argument is ambiguous/,
  );
  rejects(["--role-arn", ROLE, "--duration-seconds=-900"], "--duration-seconds", /whole number/);
  assert.equal(assume("--external-id", "abc:/=+,.@-_").externalId, "abc:/=+,.@-_");
  rejects(["--role-arn", ROLE, "--external-id", "a"], "--external-id", /2-1224/);
  rejects(["--role-arn", ROLE, "--external-id", "x".repeat(1225)], "--external-id", /2-1224/);
  assert.equal(assume("--source-identity", "alice@corp").sourceIdentity, "alice@corp");
  rejects(["--role-arn", ROLE, "--source-identity", "a/b"], "--source-identity", /2-64/);
});

Deno.test("MFA flags", () => {
  const o = assume("--serial-number", "arn:aws:iam::123456789012:mfa/alice", "--token-code", "123456");
  assert.equal(o.serialNumber, "arn:aws:iam::123456789012:mfa/alice");
  assert.equal(o.tokenCode, "123456");
  // A serial without a code is allowed: the code comes from the env or the terminal prompt.
  assert.equal(assume("--serial-number", "GAHT12345678").tokenCode, undefined);
  rejects(["--role-arn", ROLE, "--token-code", "123456"], "--token-code", /needs --serial-number/);
  rejects(
    ["--role-arn", ROLE, "--serial-number", "GAHT12345678", "--token-code", "12345"],
    "--token-code",
    /6 digits/,
  );
  rejects(["--role-arn", ROLE, "--serial-number", "short"], "--serial-number", /MFA device/);
  rejects(
    ["--role-arn", ROLE, "--mfa-session-duration", "3600"],
    "--mfa-session-duration",
    /only makes sense/,
  );
});

Deno.test("policies", () => {
  const o = assume("--policy", '{ "Version": "2012-10-17",\n "Statement": [] }');
  assert.deepEqual(o.policy, { kind: "inline", json: '{"Version":"2012-10-17","Statement":[]}' });
  assert.deepEqual(assume("--policy-file", "p.json").policy, { kind: "file", path: "p.json" });
  rejects(["--role-arn", ROLE, "--policy", "{nope"], "--policy", /not valid JSON/);
  rejects(["--role-arn", ROLE, "--policy", "[1]"], "--policy", /JSON object/);
  const big = JSON.stringify({ Statement: [{ Sid: "x".repeat(2100) }] });
  rejects(["--role-arn", ROLE, "--policy", big], "--policy", /STS allows 2048/);
  // 2048 characters once whitespace is removed is fine even if the text is longer.
  const fits = JSON.stringify({ S: "x".repeat(2040) }, null, 8);
  assert.equal(JSON.stringify(JSON.parse(fits)).length, 2048);
  assert.equal(assume("--policy", fits).policy?.kind, "inline");
  rejects(["--role-arn", ROLE, "--policy", "{}", "--policy-file", "p.json"], "--policy", /not both/);
  const arns = Array.from({ length: 10 }, (_, i) => ["--policy-arn", `arn:aws:iam::aws:policy/P${i}`]).flat();
  assert.equal(assume(...arns).policyArns.length, 10);
  rejects(
    ["--role-arn", ROLE, ...arns, "--policy-arn", "arn:aws:iam::aws:policy/X"],
    "--policy-arn",
    /at most 10/,
  );
  rejects(["--role-arn", ROLE, "--policy-arn", "ReadOnlyAccess"], "--policy-arn", /IAM policy ARN/);
});

Deno.test("session tags", () => {
  const o = assume(
    "--tag",
    "team=platform",
    "--tag",
    "cost center=42/a",
    "--tag",
    "empty=",
    "--transitive-tag-key",
    "team",
  );
  assert.deepEqual(o.tags, [
    { key: "team", value: "platform" },
    { key: "cost center", value: "42/a" },
    { key: "empty", value: "" },
  ]);
  assert.deepEqual(o.transitiveTagKeys, ["team"]);
  rejects(["--role-arn", ROLE, "--tag", "novalue"], "--tag", /KEY=VALUE/);
  rejects(["--role-arn", ROLE, "--tag", "=v"], "--tag", /KEY=VALUE/);
  rejects(["--role-arn", ROLE, "--tag", "a=1", "--tag", "A=2"], "--tag", /more than once/);
  rejects(["--role-arn", ROLE, "--tag", "k=v;rm"], "--tag", /value of "k"/);
  rejects(["--role-arn", ROLE, "--tag", `${"k".repeat(129)}=v`], "--tag", /1-128/);
  rejects(
    ["--role-arn", ROLE, "--tag", "a=1", "--transitive-tag-key", "b"],
    "--transitive-tag-key",
    /does not name a tag/,
  );
  const tags = Array.from({ length: 51 }, (_, i) => ["--tag", `k${i}=v`]).flat();
  rejects(["--role-arn", ROLE, ...tags], "--tag", /at most 50/);
});

Deno.test("region, endpoint, format, timeout", () => {
  for (
    const r of ["us-east-1", "cn-north-1", "us-gov-west-1", "eu-isoe-west-1", "aws-global", "ap-southeast-5"]
  ) {
    assert.equal(assume("--region", r).region, r);
  }
  for (const r of ["US-EAST-1", "us-east", "useast1", "us-east-1.evil.test", ""]) {
    rejects(["--role-arn", ROLE, "--region", r], "--region", /AWS region/);
  }
  assert.equal(assume("--endpoint-url", "http://127.0.0.1:5000/").endpointUrl, "http://127.0.0.1:5000/");
  assert.equal(
    assume("--endpoint-url", "https://sts.eu-west-1.amazonaws.com").endpointUrl,
    "https://sts.eu-west-1.amazonaws.com",
  );
  assert.equal(
    assume("--endpoint-url", "https://vpce-1.sts.us-east-1.vpce.amazonaws.com").endpointUrl !== undefined,
    true,
  );
  rejects(
    ["--role-arn", ROLE, "--endpoint-url", "https://evil.test/"],
    "--endpoint-url",
    /evil\.test is outside the allowed endpoints/,
  );
  rejects(
    ["--role-arn", ROLE, "--endpoint-url", "https://amazonaws.com.evil.test/"],
    "--endpoint-url",
    /outside the allowed/,
  );
  rejects(["--role-arn", ROLE, "--endpoint-url", "ftp://127.0.0.1/"], "--endpoint-url", /http or https/);
  rejects(["--role-arn", ROLE, "--endpoint-url", "not a url"], "--endpoint-url", /not a URL/);
  rejects(["--role-arn", ROLE, "--endpoint-url", "http://u:p@127.0.0.1/"], "--endpoint-url", /credentials/);
  for (const f of ["process", "env", "env-no-export", "powershell", "windows-cmd"]) {
    assert.equal(assume("--format", f).format, f);
  }
  rejects(["--role-arn", ROLE, "--format", "json"], "--format", /not one of process, env/);
  assert.equal(assume("--timeout", "5").timeoutSeconds, 5);
  rejects(["--role-arn", ROLE, "--timeout", "0"], "--timeout", /1 to 3600/);
});

Deno.test("web identity and profile make --role-arn optional", () => {
  const p = parseCommand(["--profile", "prod"]);
  assert.equal(p.kind === "assume" && p.options.profile, "prod");
  const w = assume("--web-identity-token-env", "CREDPROC_OIDC_TOKEN");
  assert.deepEqual(w.webIdentity, { kind: "env", name: "CREDPROC_OIDC_TOKEN" });
  rejects(
    ["--role-arn", ROLE, "--web-identity-token-env", "GITLAB_TOKEN"],
    "--web-identity-token-env",
    /AWS_ or CREDPROC_/,
  );
  rejects(
    ["--role-arn", ROLE, "--web-identity-token-env", "AWS_T", "--web-identity-token-file", "t"],
    "--web-identity-token-file",
    /not both/,
  );
  rejects(["--profile", ""], "--profile", /must not be empty/);
});

Deno.test("cache flags", () => {
  assert.equal(assume("--no-cache").cacheMode, "off");
  assert.equal(assume("--refresh").cacheMode, "refresh");
  assert.equal(assume("--refresh-margin", "0").refreshMarginSeconds, 0);
  rejects(["--role-arn", ROLE, "--no-cache", "--refresh"], "--refresh", /cannot be combined/);
  rejects(["--role-arn", ROLE, "--refresh-margin", "-1"], "bad arguments", /-1|argument/);
});

Deno.test("unknown flags, repeats, missing values, stray arguments", () => {
  rejects(["--bogus"], "bad arguments", /^unknown option "--bogus"$/);
  rejects(["--role-arn"], "bad arguments", /argument missing/);
  rejects(
    ["--role-arn", ROLE, "--region", "us-east-1", "--region", "eu-west-1"],
    "--region",
    /more than once/,
  );
  rejects(["--role-arn", ROLE, "extra"], "bad arguments", /unexpected argument "extra"/);
  assert.deepEqual(assume("--role-arn", "arn:aws:iam::210987654321:role/b").roleArns, [
    ROLE,
    "arn:aws:iam::210987654321:role/b",
  ]);
});

/** The words that name each command on the line. */
const WORDS: Record<CommandName, string[]> = {
  "assume": [],
  "console": ["console"],
  "serve": ["serve"],
  "eks-token": ["eks-token"],
  "cache list": ["cache", "list"],
  "cache clear": ["cache", "clear"],
};

Deno.test("the table: every command refuses each option it does not take, and only those", () => {
  let refusals = 0;
  for (const command of COMMANDS) {
    for (const [name, o] of Object.entries(OPTIONS) as [OptionName, (typeof OPTIONS)[OptionName]][]) {
      if (name === "help" || name === "version") continue;
      const argv = [...WORDS[command], `--${name}`, ...(o.type === "string" ? ["x"] : [])];
      let refused: UsageError | undefined;
      try {
        parseCommand(argv);
      } catch (e) {
        if (
          e instanceof UsageError && e.what === `--${name}` &&
          /^(only makes sense|does not apply)/.test(e.message)
        ) {
          refused = e;
        }
      }
      const takers: readonly CommandName[] = o.takenBy;
      assert.equal(refused !== undefined, !takers.includes(command), JSON.stringify(argv));
      if (refused === undefined) continue;
      refusals++;
      // One other command takes it: that one is named; else what this command does says why not.
      const home = takers.length === 1 && takers[0] !== "assume" ? takers[0] : undefined;
      assert.match(
        refused.message,
        home
          ? new RegExp(`^only makes sense with credproc ${home}$`)
          : /^does not apply to credproc \S.* \(it .*\)$/,
        JSON.stringify(argv),
      );
    }
  }
  assert.ok(refusals > 50, `${refusals}`);
});

Deno.test("the table: the lines the per-command code used to refuse are refused with the same words", () => {
  const lines: [string[], string, string][] = [
    [["--role-arn", ROLE, "--json"], "--json", "only makes sense with credproc cache list"],
    [["console", "--json"], "--json", "only makes sense with credproc cache list"],
    [
      ["--destination", "https://console.aws.amazon.com/"],
      "--destination",
      "only makes sense with credproc console",
    ],
    [["serve", "--destination", "x"], "--destination", "only makes sense with credproc console"],
    [["console", "--port", "1"], "--port", "only makes sense with credproc serve"],
    [["cache", "list", "--token-file", "t"], "--token-file", "only makes sense with credproc serve"],
    [["cache", "clear", "--cluster-name", "c"], "--cluster-name", "only makes sense with credproc eks-token"],
    [["console", "--format", "env"], "--format", "does not apply to credproc console (it prints one URL)"],
    [
      ["console", "--include-account-id"],
      "--include-account-id",
      "does not apply to credproc console (it prints one URL)",
    ],
    [
      ["serve", "--format", "env"],
      "--format",
      "does not apply to credproc serve (it prints export lines for sh)",
    ],
    [
      ["eks-token", "--include-account-id"],
      "--include-account-id",
      "does not apply to credproc eks-token (it prints an ExecCredential)",
    ],
  ];
  for (const [argv, what, why] of lines) rejects(argv, what, new RegExp(`^${why.replace(/[()]/g, "\\$&")}$`));
  // serve takes --include-account-id (its documents carry AccountId); console and eks-token carry neither option.
  const serve = parseCommand(["serve", "--include-account-id"]);
  assert.equal(serve.kind === "serve" && serve.options.includeAccountId, true);
  const signIn = parseCommand(["console"]);
  assert.deepEqual(
    signIn.kind === "console" && ["format" in signIn.options, "includeAccountId" in signIn.options],
    [false, false],
  );
});

Deno.test("the cache commands take only their own options: a role option would not narrow what they do", () => {
  rejects(
    ["cache", "clear", "--profile", "prod"],
    "--profile",
    /^does not apply to credproc cache clear \(it clears every entry of the cache directory\)$/,
  );
  rejects(
    ["--role-arn", ROLE, "cache", "list"],
    "--role-arn",
    /^does not apply to credproc cache list \(it lists every entry of the cache directory\)$/,
  );
  rejects(["cache", "clear", "--json"], "--json", /^only makes sense with credproc cache list$/);
  rejects(["cache", "list", "--log-file", "l"], "--log-file", /^does not apply to credproc cache list/);
  // Wherever the words stand.
  assert.deepEqual(parseCommand(["--json", "--cache-dir", "/d", "cache", "list"]), {
    kind: "cacheList",
    cacheDir: "/d",
    json: true,
  });
  assert.deepEqual(parseCommand(["-v", "cache", "clear"]), {
    kind: "cacheClear",
    cacheDir: undefined,
    verbose: true,
  });
});

Deno.test("the usage pages: each command's page names the options only it takes, and none it refuses", () => {
  const pages: [CommandName, string][] = [
    ["console", CONSOLE_USAGE],
    ["serve", SERVE_USAGE],
    ["eks-token", EKS_USAGE],
    ["cache list", CACHE_LIST_USAGE],
    ["cache clear", CACHE_CLEAR_USAGE],
  ];
  for (const [command, page] of pages) {
    const named = new Set([...page.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => m[1]));
    for (const [name, o] of Object.entries(OPTIONS)) {
      const takers: readonly CommandName[] = o.takenBy;
      if (takers.includes(command) && !takers.includes("assume")) {
        assert.ok(named.has(name), `credproc ${command} --help does not name --${name}`);
      }
      if (named.has(name)) assert.ok(takers.includes(command), `credproc ${command} --help names --${name}`);
    }
  }
});
