/**
 * Every `credential_process` line credproc shows its users — the README, docs/, `--help` and each command's
 * page, the short usage, the lines install.sh and install.ps1 print — run as written, both ways the AWS tools
 * name a profile: `aws --profile prod …` and `AWS_PROFILE=prod aws …` (Terraform's way). The AWS tools pass
 * `AWS_PROFILE` down to credential_process, so a line that does not name its source with `--profile` works
 * the first way and fails the second (`its credential_process runs credproc itself`, exit 2).
 *
 * The world around the lines is the one the docs describe: source keys in `[default]` (the README's set-up),
 * `prod-role` with `source_profile = base` and an MFA device (docs/profiles.md), a CI OIDC token in a file
 * and in `CREDPROC_OIDC_TOKEN` (docs/ci.md), an `aws login` session in `work` (README, docs/profiles.md).
 * Only the endpoints are pointed at stand-ins: STS (`AWS_ENDPOINT_URL_STS` for credproc, `--endpoint-url` for
 * the AWS CLI v2's own call) and the sign-in token endpoint (`AWS_ENDPOINT_URL_SIGNIN`).
 */
import assert from "node:assert/strict";
import { AWS_V2, credprocOnPath, ROOT, runProcess, tempHome } from "../support/helpers.ts";
import {
  STANDIN_ACCESS_KEY_ID,
  STANDIN_ACCOUNT,
  STANDIN_SECRET_ACCESS_KEY,
  startStandin,
} from "../support/sts_standin/mod.ts";
import { startLoginStandin } from "../support/login_standin.ts";
import {
  CACHE_CLEAR_USAGE,
  CACHE_LIST_USAGE,
  CACHE_USAGE,
  CONSOLE_USAGE,
  SERVE_USAGE,
  SHORT_USAGE,
  USAGE,
} from "../../lib/cli/usage.ts";

const MARK = "credential_process = ";

/** Where users see lines, and how a line ends in each kind of file. */
const SHOWN = ["README.md", "ARCHITECTURE.md", "scripts/install.sh", "scripts/install.ps1"];
/** Files outside tests/ that hold the mark but show no line to users, and why. */
const NOT_SHOWN: Record<string, string> = {
  "scripts/bench/world.ts": "the benchmark's own profile, written to a temporary config, never printed",
  "scripts/demo.ts": "the demo's own profile, built from its argv and run with --profile, never printed",
  "lib/plan/profiles.ts": "a hint with placeholders (credproc --profile SOURCE ...), not a line to paste",
};

/** One line as shown, and where. */
interface Shown {
  readonly where: string;
  readonly line: string;
}

/** The value after the mark on each line of `text` that holds it, cut where the file's own quoting ends. */
function linesIn(where: string, text: string): Shown[] {
  const out: Shown[] = [];
  for (const raw of text.split("\n")) {
    const at = raw.indexOf(MARK);
    if (at < 0) continue;
    let line = raw.slice(at + MARK.length);
    // docs/ci.md's GitLab recipe writes it with printf: the value ends at the format's `\n'`.
    const printf = line.indexOf("\\n'");
    if (printf >= 0) line = line.slice(0, printf);
    // install.sh's `say "…"` and install.ps1's `Write-Output "…"`.
    if (/\.(?:sh|ps1)$/.test(where)) line = line.replace(/"$/, "");
    out.push({ where, line: line.trim() });
  }
  return out;
}

/** Every line shown to users, from the files and from the usage texts. */
async function shownLines(): Promise<Shown[]> {
  const docs = [...Deno.readDirSync(`${ROOT}docs`)].map((e) => `docs/${e.name}`).filter((n) =>
    n.endsWith(".md")
  );
  const out: Shown[] = [];
  for (const file of [...SHOWN, ...docs.sort()]) {
    out.push(...linesIn(file, await Deno.readTextFile(`${ROOT}${file}`)));
  }
  const usages = {
    USAGE,
    SHORT_USAGE,
    CONSOLE_USAGE,
    SERVE_USAGE,
    CACHE_USAGE,
    CACHE_LIST_USAGE,
    CACHE_CLEAR_USAGE,
  };
  for (const [name, text] of Object.entries(usages)) out.push(...linesIn(`lib/cli/usage.ts ${name}`, text));
  return out;
}

/** Files outside tests/ and node_modules that hold the mark. */
async function filesWithMark(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(`${ROOT}${dir}`)) {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory) {
        if (!["tests", "node_modules", ".git", "dist", ".tmp"].includes(e.name)) await walk(path);
      } else if (e.isFile && /\.(?:md|ts|sh|ps1|yml|yaml)$/.test(e.name)) {
        if ((await Deno.readTextFile(`${ROOT}${path}`)).includes(MARK)) found.push(path);
      }
    }
  };
  await walk("");
  return found.sort();
}

const ROLE_DEPLOY = `arn:aws:iam::${STANDIN_ACCOUNT}:role/deploy`;
const OIDC_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm9yZy9yZXBvIn0.c2lnbmF0dXJl";
/** The placeholders the lines use, and what a CI runner or the installer would put there. */
const PLACEHOLDERS = (home: string, launcher: string): Record<string, string> => ({
  // The installers print the path they installed to.
  $shown: launcher,
  $program: launcher,
  $HOME: home,
  $RUNNER_TEMP: `${home}/runner-temp`,
  $GITHUB_RUN_ID: "4242",
  "%s": ROLE_DEPLOY, // GitLab's printf of "$DEPLOY_ROLE_ARN"
});

/** `line` as a shell would run it in `home`: placeholders filled, the program the one under test. */
function runnable(line: string, home: string, launcher: string): string {
  let out = line;
  for (const [k, v] of Object.entries(PLACEHOLDERS(home, launcher))) out = out.replaceAll(k, v);
  assert.doesNotMatch(out, /[$%"']/, `a placeholder or quoting this test does not know: ${line}`);
  const [program, ...args] = out.split(/\s+/);
  assert.match(program, /(?:^|\/)credproc$/, `the program of ${line}`);
  // `credproc` alone is found on PATH (the launcher's directory comes first); a path names the launcher.
  return [program === "credproc" ? program : launcher, ...args].join(" ");
}

/** The `login_session` of the `work` profile. */
const LOGIN_SESSION = "arn:aws:iam::123456789012:user/alice";

/** Whether `line` prints the `aws login` session's own credentials (the `work` profile, no role). */
function loginOnly(line: string): boolean {
  return /--profile work(?:\s|$)/.test(line) && !/--role-arn/.test(line);
}

/**
 * What the caller must be: the login session's user for a line that prints the session's own credentials,
 * else the line's role and session name (any session name when it sets none).
 */
function expectedArn(line: string): RegExp {
  if (loginOnly(line)) return new RegExp(`^${LOGIN_SESSION}$`);
  const role = /--role-arn (\S+)/.exec(line)?.[1] ?? ROLE_DEPLOY; // --profile prod-role: deploy
  const name = role.replace(/^.*:role\/(?:.*\/)?/, "");
  const session = /--role-session-name (\S+)/.exec(line)?.[1];
  return new RegExp(`^arn:aws:sts::${STANDIN_ACCOUNT}:assumed-role/${name}/${session ?? "[\\w+=,.@-]+"}$`);
}

Deno.test("config lines: every file that holds one is read, or named here with why not", async () => {
  const docs = [...Deno.readDirSync(`${ROOT}docs`)].map((e) => `docs/${e.name}`);
  const read = new Set([...SHOWN, ...docs, "lib/cli/usage.ts"]);
  const unread = (await filesWithMark()).filter((f) => !read.has(f));
  assert.deepEqual(unread, Object.keys(NOT_SHOWN).sort());
});

Deno.test("config lines: each one shown works with aws --profile prod and with AWS_PROFILE=prod", async (t) => {
  const shown = await shownLines();
  // The README's "Before" is the shell script credproc replaces, not a credproc line: it is not run here.
  const before = shown.filter((s) => s.line.startsWith("sh -c "));
  assert.deepEqual(before.map((s) => s.where), ["README.md"]);
  const lines = shown.filter((s) => !before.includes(s));
  assert.ok(lines.length >= 8, `found ${lines.length} lines`);
  for (const { where, line } of lines) {
    await t.step(`${where}: ${line}`, async () => {
      await using login = startLoginStandin();
      await using standin = await startStandin({ webIdentityToken: OIDC_TOKEN, sessions: login.pool });
      await using home = await tempHome();
      // Fresh for 14 minutes: no refresh is needed, so the sign-in stand-in sees no request.
      await login.signIn({
        dir: `${home.dir}/.aws/login/cache`,
        session: LOGIN_SESSION,
        remainingMs: 14 * 60_000,
      });
      const launcherDir = await credprocOnPath(home.dir);
      await Deno.mkdir(`${home.dir}/runner-temp`);
      await Deno.writeTextFile(`${home.dir}/runner-temp/oidc-token`, OIDC_TOKEN);
      const keys =
        `aws_access_key_id = ${STANDIN_ACCESS_KEY_ID}\naws_secret_access_key = ${STANDIN_SECRET_ACCESS_KEY}\n`;
      await home.writeCredentials(`[default]\n${keys}\n[base]\n${keys}`);
      const run = runnable(line, home.dir, `${launcherDir}/credproc`);
      await home.writeConfig(
        `[profile prod]\ncredential_process = ${run}\n\n` +
          `[profile prod-role]\nrole_arn = ${ROLE_DEPLOY}\nsource_profile = base\n` +
          "mfa_serial = arn:aws:iam::111111111111:mfa/alice\nregion = eu-west-1\n\n" +
          `[profile work]\nlogin_session = ${LOGIN_SESSION}\nregion = eu-west-1\n`,
      );
      const ways: [string, string[], Record<string, string>][] = [
        ["aws --profile prod", ["--profile", "prod"], {}],
        ["AWS_PROFILE=prod aws", [], { AWS_PROFILE: "prod" }],
      ];
      for (const [way, flags, extra] of ways) {
        const env = home.env({
          PATH: `${launcherDir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
          AWS_ENDPOINT_URL_STS: standin.url,
          AWS_ENDPOINT_URL_SIGNIN: login.url,
          AWS_PAGER: "",
          CREDPROC_OIDC_TOKEN: OIDC_TOKEN,
          CREDPROC_MFA_TOKEN_CODE: "123456",
          // Each way its own cache: the second must not be answered by the first's entry.
          CREDPROC_CACHE_DIR: `${home.dir}/cache-${flags.length}`,
          ...extra,
        });
        // The AWS CLI v2 here (2.9) predates AWS_ENDPOINT_URL_STS: its own call gets the flag.
        const r = await runProcess(
          AWS_V2,
          [...flags, "sts", "get-caller-identity", "--endpoint-url", standin.url, "--region", "us-east-1"],
          env,
        );
        assert.equal(r.stderr, "", `${way}: exit ${r.code}`);
        assert.equal(r.code, 0, way);
        const { Arn } = JSON.parse(r.stdout);
        assert.match(Arn, expectedArn(run), `${way}: ${Arn}`);
      }
      const action = /--web-identity-token-/.test(line) ? "AssumeRoleWithWebIdentity" : "AssumeRole";
      assert.equal(standin.count(action), loginOnly(line) ? 0 : 2, `one ${action} per way`);
      assert.deepEqual(login.problems, []);
    });
  }
});
