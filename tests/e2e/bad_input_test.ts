/**
 * Bad input, as a table that reads as documentation: each row is one way to call credproc wrongly, what it
 * exits with and the one `credproc:` line it prints. Every row runs the real program under the shipping
 * permission set (or CREDPROC_BIN) with a clean environment in a temp HOME, and asserts:
 *
 * - the exit code (2 for bad input: flags, values, files, config, environment values; 1 where the failure is
 *   not the input's),
 * - stdout is empty,
 * - stderr is exactly one `credproc: <what failed>: <why>` line matching the row, plus at most one `hint:` line,
 * - no stack trace (`    at …`) and no `error:` line from Deno itself.
 *
 * Nothing here reaches a real host: rows that get past validation name `--endpoint-url` on a closed loopback
 * port, and every child's environment points the SDK's own endpoints and any proxy at that port too.
 *
 * Placeholders in args and env values: `{home}` is the row's temp HOME, `{dead}` a closed loopback URL.
 * `files` are written under `{home}` before the run: text, bytes, `{dir: true}`, `{size}` filler or `{text, mode}`.
 */
import assert from "node:assert/strict";
import { ignoreIf, ROLE, runCredproc, tempHome } from "../support/helpers.ts";
import { assertOneErrorLine, deadUrl, safeEnv } from "../support/hardening_helpers.ts";

/** A URL on loopback where nothing listens (a connection is refused at once). */
const DEAD = deadUrl();
const ROLE2 = "arn:aws:iam::123456789012:role/second";
const MFA_SERIAL = "arn:aws:iam::123456789012:mfa/alice";

/** `--role-arn ROLE --endpoint-url {dead}`: a valid start that never reaches a real host. */
const R = ["--role-arn", ROLE, "--endpoint-url", "{dead}"];

type FileSpec =
  | string
  | Uint8Array
  | { dir: true }
  | { size: number; fill?: string }
  | { text: string; mode: number };

export interface Row {
  /** What is wrong, as a sentence fragment. */
  name: string;
  args: string[];
  env?: Record<string, string>;
  files?: Record<string, FileSpec>;
  code: 1 | 2;
  /** Matched against the first stderr line (the `credproc:` line). */
  stderr: RegExp;
  /** Skip with a reason (e.g. file modes mean nothing to root). */
  skip?: string;
}

const isRoot = Deno.build.os !== "windows" && Deno.uid() === 0;

const longPolicy = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::x/".padEnd(2100, "y") }],
});

export const ROWS: Row[] = [
  // ── flags ──────────────────────────────────────────────────────────────────────────────────────────────
  // No arguments at all prints the short usage (tests/e2e/first_hour_test.ts); one flag and no role:
  { name: "no role anywhere", args: ["-v"], code: 2, stderr: /^credproc: --role-arn: required/ },
  {
    name: "an unknown flag",
    args: [...R, "--bogus"],
    code: 2,
    stderr: /^credproc: bad arguments: unknown option "--bogus"$/,
  },
  {
    name: "a flag without its value",
    args: ["--role-arn"],
    code: 2,
    stderr: /^credproc: bad arguments: Option '--role-arn <value>' argument missing/,
  },
  {
    name: "a stray positional argument",
    args: [...R, "assume"],
    code: 2,
    stderr: /^credproc: bad arguments: unexpected argument "assume"/,
  },
  {
    name: "`cache` with an unknown subcommand",
    args: ["cache", "purge"],
    code: 2,
    stderr: /^credproc: bad arguments: unexpected argument "purge"$/,
  },
  {
    name: "a single-use flag given twice",
    args: [...R, "--region", "us-east-1", "--region", "eu-west-1"],
    code: 2,
    stderr: /^credproc: --region: given more than once/,
  },
  {
    name: "a role ARN that is not one",
    args: ["--role-arn", "deploy"],
    code: 2,
    stderr: /^credproc: --role-arn: "deploy" is not an IAM role ARN/,
  },
  {
    name: "a user ARN where a role ARN belongs",
    args: ["--role-arn", "arn:aws:iam::123456789012:user/alice"],
    code: 2,
    stderr: /^credproc: --role-arn: .* is not an IAM role ARN/,
  },
  {
    name: "a session name of one character",
    args: [...R, "--role-session-name", "a"],
    code: 2,
    stderr: /^credproc: --role-session-name: "a" is not 2-64 characters/,
  },
  {
    name: "a session name with a space",
    args: [...R, "--role-session-name", "my session"],
    code: 2,
    stderr: /^credproc: --role-session-name: "my session" is not 2-64/,
  },
  {
    name: "a duration below 900 s",
    args: [...R, "--duration-seconds", "60"],
    code: 2,
    stderr: /^credproc: --duration-seconds: "60" is not a whole number from 900 to 43200/,
  },
  {
    name: "a duration that is not a number",
    args: [...R, "--duration-seconds", "1h"],
    code: 2,
    stderr: /^credproc: --duration-seconds: "1h" is not a whole number/,
  },
  {
    name: "a negative duration",
    args: [...R, "--duration-seconds=-3600"],
    code: 2,
    stderr: /^credproc: --duration-seconds: "-3600" is not a whole number/,
  },
  {
    name: "a chained hop longer than AWS's one-hour role-chaining cap",
    args: [...R, "--role-arn", ROLE2, "--duration-seconds", "7200"],
    code: 2,
    stderr: /^credproc: --duration-seconds: 7200 s is too long for .*role chaining/,
  },
  {
    name: "an external id with a forbidden character",
    args: [...R, "--external-id", "abc def"],
    code: 2,
    stderr: /^credproc: --external-id: "abc def" is not 2-1224 characters/,
  },
  {
    name: "a source identity with a forbidden character",
    args: [...R, "--source-identity", "me!"],
    code: 2,
    stderr: /^credproc: --source-identity: "me!" is not 2-64/,
  },
  {
    name: "an MFA serial that is too short",
    args: [...R, "--serial-number", "abc"],
    code: 2,
    stderr: /^credproc: --serial-number: "abc" is not an MFA device ARN/,
  },
  {
    name: "an MFA code of five digits",
    args: [...R, "--serial-number", MFA_SERIAL, "--token-code", "12345"],
    code: 2,
    stderr: /^credproc: --token-code: is not 6 digits \(the value is not shown\)/,
  },
  {
    name: "an MFA code without a device",
    args: [...R, "--token-code", "123456"],
    code: 2,
    stderr: /^credproc: --token-code: needs --serial-number/,
  },
  {
    name: "`--mfa-session` without a device",
    args: [...R, "--mfa-session"],
    code: 2,
    stderr: /^credproc: --mfa-session: needs --serial-number/,
  },
  {
    name: "`--mfa-session-duration` without `--mfa-session`",
    args: [...R, "--mfa-session-duration", "3600"],
    code: 2,
    stderr: /^credproc: --mfa-session-duration: only makes sense with --mfa-session/,
  },
  {
    name: "a tag without `=`",
    args: [...R, "--tag", "team"],
    code: 2,
    stderr: /^credproc: --tag: "team" is not KEY=VALUE/,
  },
  {
    name: "a tag key given twice, ignoring case",
    args: [...R, "--tag", "Team=a", "--tag", "team=b"],
    code: 2,
    stderr: /^credproc: --tag: tag key "team" given more than once/,
  },
  {
    name: "a transitive tag key that names no tag",
    args: [...R, "--tag", "team=a", "--transitive-tag-key", "project"],
    code: 2,
    stderr: /^credproc: --transitive-tag-key: "project" does not name a tag/,
  },
  {
    name: "eleven managed session policies",
    args: [
      ...R,
      ...Array.from({ length: 11 }, (_, i) => ["--policy-arn", `arn:aws:iam::aws:policy/P${i}`]).flat(),
    ],
    code: 2,
    stderr: /^credproc: --policy-arn: at most 10 managed policies, got 11/,
  },
  {
    name: "a policy ARN that is a role ARN",
    args: [...R, "--policy-arn", ROLE],
    code: 2,
    stderr: /^credproc: --policy-arn: .* is not an IAM policy ARN/,
  },
  {
    name: "an inline policy that is not JSON",
    args: [...R, "--policy", "{Version:"],
    code: 2,
    stderr: /^credproc: --policy: not valid JSON/,
  },
  {
    name: "an inline policy that is a JSON array",
    args: [...R, "--policy", "[]"],
    code: 2,
    stderr: /^credproc: --policy: a policy document must be a JSON object/,
  },
  {
    name: "an inline policy over 2048 characters",
    args: [...R, "--policy", longPolicy],
    code: 2,
    stderr: /^credproc: --policy: policy is \d+ characters without whitespace; STS allows 2048/,
  },
  {
    name: "both `--policy` and `--policy-file`",
    args: [...R, "--policy", "{}", "--policy-file", "{home}/p.json"],
    code: 2,
    stderr: /^credproc: --policy: give either --policy or --policy-file, not both/,
  },
  {
    name: "a region that is not one",
    args: [...R, "--region", "moon-1"],
    code: 2,
    stderr: /^credproc: --region: "moon-1" is not an AWS region/,
  },
  {
    name: "an endpoint URL that is not a URL",
    args: ["--role-arn", ROLE, "--endpoint-url", "sts.local"],
    code: 2,
    stderr: /^credproc: --endpoint-url: "sts.local" is not a URL/,
  },
  {
    name: "an endpoint URL with another scheme",
    args: ["--role-arn", ROLE, "--endpoint-url", "ftp://127.0.0.1/"],
    code: 2,
    stderr: /^credproc: --endpoint-url: "ftp:\/\/127.0.0.1\/" must use http or https/,
  },
  {
    name: "an endpoint URL with credentials in it",
    args: ["--role-arn", ROLE, "--endpoint-url", "http://user:pw@127.0.0.1/"],
    code: 2,
    stderr: /^credproc: --endpoint-url: must not contain credentials/,
  },
  {
    name: "an output format that does not exist",
    args: [...R, "--format", "yaml"],
    code: 2,
    stderr: /^credproc: --format: "yaml" is not one of process, env/,
  },
  {
    name: "an output format in the wrong case",
    args: [...R, "--format", "JSON"],
    code: 2,
    stderr: /^credproc: --format: "JSON" is not one of/,
  },
  {
    name: "a timeout of zero",
    args: [...R, "--timeout", "0"],
    code: 2,
    stderr: /^credproc: --timeout: "0" is not a whole number from 1 to 3600/,
  },
  {
    name: "a timeout with a unit",
    args: [...R, "--timeout", "5s"],
    code: 2,
    stderr: /^credproc: --timeout: "5s" is not a whole number/,
  },
  {
    name: "an MFA prompt timeout over an hour",
    args: [...R, "--mfa-timeout", "3601"],
    code: 2,
    stderr: /^credproc: --mfa-timeout: "3601" is not a whole number from 1 to 3600/,
  },
  {
    name: "`--no-cache` with `--refresh`",
    args: [...R, "--no-cache", "--refresh"],
    code: 2,
    stderr: /^credproc: --refresh: cannot be combined with --no-cache/,
  },
  {
    name: "a refresh margin that is not a number",
    args: [...R, "--refresh-margin", "soon"],
    code: 2,
    stderr: /^credproc: --refresh-margin: "soon" is not a whole number/,
  },
  {
    name: "an empty cache directory",
    args: [...R, "--cache-dir", ""],
    code: 2,
    stderr: /^credproc: --cache-dir: must not be empty/,
  },
  {
    name: "an empty profile name",
    args: ["--profile", ""],
    code: 2,
    stderr: /^credproc: --profile: must not be empty/,
  },
  {
    name: "both web identity token sources",
    args: [...R, "--web-identity-token-file", "{home}/t", "--web-identity-token-env", "AWS_TOKEN"],
    code: 2,
    stderr: /^credproc: --web-identity-token-file: give either .* not both/,
  },
  {
    name: "a token variable the sandbox cannot read",
    args: [...R, "--web-identity-token-env", "PATH"],
    code: 2,
    stderr: /^credproc: --web-identity-token-env: "PATH" is not readable in the sandbox/,
  },
  {
    name: "web identity with `--mfa-session`",
    args: [...R, "--web-identity-token-env", "AWS_TOKEN", "--mfa-session", "--serial-number", MFA_SERIAL],
    env: { AWS_TOKEN: "eyJhbGciOi.eyJzdWIiOi.c2ln" },
    code: 2,
    stderr: /^credproc: --mfa-session: cannot be combined with web identity/,
  },

  // ── policy files ───────────────────────────────────────────────────────────────────────────────────────
  {
    name: "a policy file that does not exist",
    args: [...R, "--policy-file", "{home}/missing.json"],
    code: 2,
    stderr: /^credproc: --policy-file .*missing\.json: no such file/,
  },
  {
    name: "a policy file path with a newline and a terminal escape (shown escaped, on one line)",
    args: [...R, "--policy-file", "{home}/a\nb\x1b[31mred"],
    code: 2,
    stderr: /^credproc: --policy-file .*\/a\\nb\\u001b\[31mred: no such file$/,
  },
  {
    name: "a policy file that is not JSON",
    args: [...R, "--policy-file", "{home}/p.json"],
    files: { "p.json": "Version: 2012-10-17\n" },
    code: 2,
    stderr: /^credproc: --policy-file .*p\.json: not valid JSON/,
  },
  {
    name: "a policy file that is empty",
    args: [...R, "--policy-file", "{home}/p.json"],
    files: { "p.json": "" },
    code: 2,
    stderr: /^credproc: --policy-file .*p\.json: the file is empty; leave the flag out for no policy$/,
  },
  {
    name: "a policy file over 2048 characters",
    args: [...R, "--policy-file", "{home}/p.json"],
    files: { "p.json": longPolicy },
    code: 2,
    stderr: /^credproc: --policy-file .*p\.json: policy is \d+ characters without whitespace/,
  },
  {
    name: "a policy file far too large to read",
    args: [...R, "--policy-file", "{home}/p.json"],
    files: { "p.json": { size: 300 * 1024, fill: " " } },
    code: 2,
    stderr: /^credproc: --policy-file .*p\.json: larger than 262144 bytes/,
  },
  {
    name: "a policy file that is a directory",
    args: [...R, "--policy-file", "{home}/policies"],
    files: { "policies": { dir: true } },
    code: 2,
    stderr: /^credproc: --policy-file .*policies: is a directory, not a file/,
  },

  // ── web identity token files ───────────────────────────────────────────────────────────────────────────
  {
    name: "a token file that does not exist",
    args: [...R, "--web-identity-token-file", "{home}/token"],
    code: 2,
    stderr: /^credproc: web identity token file .*token: no such file/,
  },
  {
    name: "a token file that is empty",
    args: [...R, "--web-identity-token-file", "{home}/token"],
    files: { "token": "\n" },
    code: 2,
    stderr: /^credproc: web identity token file .*token: the token is empty/,
  },
  {
    name: "a token file holding two tokens",
    args: [...R, "--web-identity-token-file", "{home}/token"],
    files: { "token": "eyJhbGciOi.eyJzdWIiOi.c2ln\neyJhbGciOi.eyJzdWIiOi.c2ln\n" },
    code: 2,
    stderr: /^credproc: web identity token file .*token: the token contains white space/,
  },
  {
    name: "a token file that is binary",
    args: [...R, "--web-identity-token-file", "{home}/token"],
    files: { "token": new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x41, 0x42, 0x43, 0x44]) },
    code: 2,
    stderr: /^credproc: web identity token file .*token: the token is not text/,
  },
  {
    name: "a token file too large to be a token",
    args: [...R, "--web-identity-token-file", "{home}/token"],
    files: { "token": { size: 70 * 1024, fill: "A" } },
    code: 2,
    stderr: /^credproc: web identity token file .*token: larger than 65536 bytes/,
  },
  {
    name: "a token file below a regular file (unreadable path)",
    args: [...R, "--web-identity-token-file", "{home}/plain/token"],
    files: { "plain": "not a directory" },
    code: 2,
    stderr: /^credproc: web identity token file .*plain\/token: a parent of the path is not a directory/,
  },
  {
    name: "a token file without read permission",
    args: [...R, "--web-identity-token-file", "{home}/token"],
    files: { "token": { text: "eyJhbGciOi.eyJzdWIiOi.c2ln", mode: 0o000 } },
    code: 2,
    stderr: /^credproc: web identity token file .*token: permission denied/,
    skip: isRoot ? "root reads any file whatever its mode" : undefined,
  },
  {
    name: "a token variable that is not set",
    args: [...R, "--web-identity-token-env", "AWS_OIDC_TOKEN"],
    code: 2,
    stderr: /^credproc: web identity token in AWS_OIDC_TOKEN: the variable is not set/,
  },

  // ── environment values ─────────────────────────────────────────────────────────────────────────────────
  {
    name: "AWS_REGION that is not a region",
    args: R,
    env: { AWS_REGION: "us east 1" },
    code: 2,
    stderr: /^credproc: AWS_REGION: "us east 1" is not an AWS region/,
  },
  {
    name: "AWS_DEFAULT_REGION that is not a region",
    args: R,
    env: { AWS_DEFAULT_REGION: "$(reboot)" },
    code: 2,
    stderr: /^credproc: AWS_DEFAULT_REGION: "\$\(reboot\)" is not an AWS region/,
  },
  {
    name: "AWS_MAX_ATTEMPTS that is not a number",
    args: R,
    env: { AWS_MAX_ATTEMPTS: "three" },
    code: 2,
    stderr: /^credproc: AWS_MAX_ATTEMPTS: "three" is not a whole number from 1 to 10/,
  },
  {
    name: "AWS_MAX_ATTEMPTS of zero",
    args: R,
    env: { AWS_MAX_ATTEMPTS: "0" },
    code: 2,
    stderr: /^credproc: AWS_MAX_ATTEMPTS: "0" is not a whole number from 1 to 10/,
  },
  {
    name: "AWS_MAX_ATTEMPTS in the thousands",
    args: R,
    env: { AWS_MAX_ATTEMPTS: "1000" },
    code: 2,
    stderr: /^credproc: AWS_MAX_ATTEMPTS: "1000" is not a whole number from 1 to 10/,
  },
  {
    name: "AWS_RETRY_MODE that is not a mode",
    args: R,
    env: { AWS_RETRY_MODE: "aggressive" },
    code: 2,
    stderr: /^credproc: AWS_RETRY_MODE: "aggressive" is not standard, adaptive or legacy/,
  },
  {
    name: "AWS_USE_FIPS_ENDPOINT that is not a boolean",
    args: R,
    env: { AWS_USE_FIPS_ENDPOINT: "yes" },
    code: 2,
    stderr: /^credproc: AWS_USE_FIPS_ENDPOINT: "yes" is not true or false/,
  },
  {
    name: "AWS_STS_REGIONAL_ENDPOINTS that is not a setting",
    args: R,
    env: { AWS_STS_REGIONAL_ENDPOINTS: "global" },
    code: 2,
    stderr: /^credproc: sts_regional_endpoints: "global" is not regional or legacy/,
  },
  {
    name: "CREDPROC_MFA_TOKEN_CODE that is not 6 digits (an MFA failure: exit 1)",
    args: [...R, "--serial-number", MFA_SERIAL],
    env: { CREDPROC_MFA_TOKEN_CODE: "12ab56" },
    code: 1,
    stderr: /^credproc: CREDPROC_MFA_TOKEN_CODE: must be 6 digits/,
  },

  // ── shared config files (lib/plan/) ───────────────────────────────────────────────────────────────
  {
    name: "a profile that is not in the config",
    args: ["--profile", "nope", "--endpoint-url", "{dead}"],
    files: { ".aws/config": "[profile dev]\nregion = us-east-1\n" },
    code: 2,
    stderr: /^credproc: profile nope: not found in .*\/\.aws\/config/,
  },
  {
    name: "a config file that is not INI (the profile's section header is broken)",
    args: ["--profile", "dev", "--endpoint-url", "{dead}"],
    files: { ".aws/config": `[profile dev\nrole_arn = ${ROLE}\nsource_profile = base\n` },
    code: 2,
    stderr: /^credproc: profile dev: not found in /,
  },
  {
    name: "an unknown credential_source",
    args: ["--profile", "dev", "--endpoint-url", "{dead}"],
    files: { ".aws/config": `[profile dev]\nrole_arn = ${ROLE}\ncredential_source = Laptop\n` },
    code: 2,
    stderr:
      /^credproc: profile dev: credential_source "Laptop" is not one of Environment, Ec2InstanceMetadata/,
  },
  {
    name: "a source_profile loop",
    args: ["--profile", "a", "--endpoint-url", "{dead}"],
    files: {
      ".aws/config": `[profile a]\nrole_arn = ${ROLE}\nsource_profile = b\n` +
        `[profile b]\nrole_arn = ${ROLE2}\nsource_profile = a\n`,
    },
    code: 2,
    stderr: /^credproc: profiles a → b → a: source_profile loop/,
  },
  {
    name: "a profile whose region is not a region",
    args: ["--profile", "dev", "--endpoint-url", "{dead}"],
    files: {
      ".aws/config": `[profile dev]\nrole_arn = ${ROLE}\nsource_profile = base\nregion = mars\n` +
        `[profile base]\naws_access_key_id = AKIAEXAMPLEBASE00001\naws_secret_access_key = s\n`,
    },
    code: 2,
    stderr: /^credproc: region in the profile: "mars" is not an AWS region/,
  },
  {
    name: "AWS_CONFIG_FILE that is a directory",
    args: ["--profile", "dev", "--endpoint-url", "{dead}"],
    env: { AWS_CONFIG_FILE: "{home}/confdir" },
    files: { "confdir": { dir: true } },
    code: 2,
    stderr: /^credproc: config file .*confdir: is a directory, not a file$/,
  },

  // ── cache directory (lib/cache/) ─────────────────────────────────────────────────────────────────────
  {
    name: "a cache directory that is a regular file",
    args: [...R, "--cache-dir", "{home}/cachefile"],
    files: { "cachefile": "not a directory" },
    code: 2,
    stderr: /^credproc: --cache-dir .*cachefile: not a directory/,
  },
  {
    name: "CREDPROC_CACHE_DIR that is a regular file",
    args: R,
    env: { CREDPROC_CACHE_DIR: "{home}/cachefile" },
    files: { "cachefile": "not a directory" },
    code: 2,
    stderr: /^credproc: CREDPROC_CACHE_DIR .*cachefile: not a directory/,
  },
  {
    name: "`cache clear` on a regular file",
    args: ["cache", "clear", "--cache-dir", "{home}/cachefile"],
    files: { "cachefile": "not a directory" },
    code: 2,
    stderr: /^credproc: --cache-dir .*cachefile: not a directory/,
  },
  {
    name: "`cache clear` with a role option (it clears every entry, not one role's)",
    args: ["--profile", "prod", "cache", "clear"],
    code: 2,
    stderr:
      /^credproc: --profile: does not apply to credproc cache clear \(it clears every entry of the cache directory\)$/,
  },

  // ── not the input's fault (exit 1) ─────────────────────────────────────────────────────────────────────
  {
    name: "no source credentials anywhere",
    args: R,
    env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
    code: 1,
    stderr: /^credproc: source credentials: none found/,
  },
  {
    name: "an STS endpoint where nothing listens",
    args: R,
    code: 1,
    stderr:
      /^credproc: AssumeRole arn:aws:iam::123456789012:role\/deploy: cannot connect to 127\.0\.0\.1:\d+: connection refused$/,
  },
];

// ── the runner ──────────────────────────────────────────────────────────────────────────────────────────

function fill(text: string, home: string): string {
  return text.replaceAll("{home}", home).replaceAll("{dead}", DEAD);
}

async function writeFiles(home: string, files: Record<string, FileSpec>): Promise<void> {
  for (const [name, spec] of Object.entries(files)) {
    const path = `${home}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    if (typeof spec === "string") await Deno.writeTextFile(path, spec);
    else if (spec instanceof Uint8Array) await Deno.writeFile(path, spec);
    else if ("dir" in spec) await Deno.mkdir(path, { recursive: true });
    else if ("text" in spec) {
      await Deno.writeTextFile(path, spec.text);
      await Deno.chmod(path, spec.mode);
    } else await Deno.writeTextFile(path, (spec.fill ?? "x").repeat(spec.size));
  }
}

for (const row of ROWS) {
  Deno.test({
    ...ignoreIf(`bad input: ${row.name} → exit ${row.code}`, row.skip),
    async fn() {
      await using home = await tempHome();
      await writeFiles(home.dir, row.files ?? {});
      const env = home.env({ ...safeEnv(home.dir, { sts: DEAD }), ...row.env });
      for (const k of Object.keys(env)) env[k] = fill(env[k], home.dir);
      const r = await runCredproc(row.args.map((a) => fill(a, home.dir)), env);
      assertOneErrorLine(r, row.code, row.stderr);
    },
  });
}

Deno.test("the bad-input table has at least 40 rows, each named once", () => {
  assert.ok(ROWS.length >= 40, `${ROWS.length} rows`);
  assert.equal(new Set(ROWS.map((r) => r.name)).size, ROWS.length);
});
