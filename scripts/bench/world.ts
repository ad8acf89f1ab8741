/**
 * The bench's world: a temporary HOME with the shared files the rows read, the STS stand-in and the `aws login`
 * sign-in stand-in on 127.0.0.1, and the environment every row starts from (exactly that: `clearEnv`).
 *
 * Files: `no-config`/`no-credentials` (absent: the plain rows run without shared files, as a CI job does);
 * `~/.aws/config` and `~/.aws/credentials` (the "~/.aws/config present" rows, the static-keys profile of the
 * AWS CLI rows); `login-config` (two `aws login` sessions: one that stays fresh for the hit row, one made to
 * expire before each cold run so that every cold run refreshes at the sign-in stand-in).
 */
import { DENO_DIR } from "../../tests/support/helpers.ts";
import { type LoginStandin, startLoginStandin } from "../../tests/support/login_standin.ts";
import { type Standin, startStandin } from "../../tests/support/sts_standin/mod.ts";

export const ROLE = "arn:aws:iam::123456789012:role/bench";
/** The `aws login` session of the login hit row (its token stays fresh) and of the cold row (made to expire). */
export const LOGIN_HIT_SESSION = "arn:aws:iam::123456789012:user/bench-hit";
export const LOGIN_COLD_SESSION = "arn:aws:iam::123456789012:user/bench-cold";

/** What the rows run in. */
export interface World {
  readonly work: string;
  readonly home: string;
  readonly sts: Standin;
  readonly login: LoginStandin;
  /** The environment of every row (PATH, HOME, DENO_DIR, source keys, no shared files, …). */
  readonly env: Record<string, string>;
  /** `KEY=VALUE` words for `/usr/bin/env` that put `~/.aws/config` and `~/.aws/credentials` in force. */
  readonly withConfig: readonly string[];
  /** The same for the `aws login` profiles (`login-hit`, `login-cold`) and the sign-in stand-in. */
  readonly withLogin: readonly string[];
  /** An empty program (the floors). */
  readonly emptyProgram: string;
  /** Makes the cold session's token expire in 2 minutes (the SDK refreshes under 5), keeping its refresh token. */
  expireColdLogin(): Promise<void>;
  /** A new, empty directory under the work directory (a working directory no call has used). */
  freshDir(prefix: string): string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Sets up the world; `loginPool` bounds how many sign-in refreshes the bench may make. */
export async function makeWorld(loginPool: number): Promise<World> {
  const work = await Deno.makeTempDir({ prefix: "credproc-bench-" });
  const login = startLoginStandin(loginPool);
  const sts = await startStandin({ sessions: login.pool });
  const home = `${work}/home`;
  await Deno.mkdir(`${home}/.aws`, { recursive: true });
  const configFile = `${home}/.aws/config`;
  const credentialsFile = `${home}/.aws/credentials`;
  const loginConfig = `${work}/login-config`;
  await Deno.writeTextFile(
    configFile,
    `[default]\nregion = us-east-1\n\n[profile bench-static]\nregion = us-east-1\n\n` +
      `[profile bench]\ncredential_process = credproc --role-arn ${ROLE} --endpoint-url ${sts.url}\n`,
  );
  await Deno.writeTextFile(
    credentialsFile,
    `[bench-static]\naws_access_key_id = ${sts.accessKeyId}\naws_secret_access_key = ${sts.secretAccessKey}\n`,
  );
  await Deno.writeTextFile(
    loginConfig,
    `[profile login-hit]\nlogin_session = ${LOGIN_HIT_SESSION}\nregion = us-east-1\n\n` +
      `[profile login-cold]\nlogin_session = ${LOGIN_COLD_SESSION}\nregion = us-east-1\n`,
  );
  const loginDir = `${home}/.aws/login/cache`;
  // The hit session lasts an hour (no refresh, a cache entry fresh for the whole run); the cold one expires.
  await login.signIn({ dir: loginDir, session: LOGIN_HIT_SESSION, remainingMs: 60 * 60_000 });
  const cold = await login.signIn({ dir: loginDir, session: LOGIN_COLD_SESSION, remainingMs: 2 * 60_000 });
  const emptyProgram = `${work}/empty.ts`;
  await Deno.writeTextFile(emptyProgram, "");
  // The fast path only remembers inputs whose files are not brand new (see `remember` in lib/cache/session.ts).
  const past = new Date(Date.now() - 60_000);
  const tokens = Array.from(Deno.readDirSync(loginDir), (e) => `${loginDir}/${e.name}`);
  for (const path of [configFile, credentialsFile, loginConfig, ...tokens]) {
    await Deno.utime(path, past, past);
  }
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    DENO_DIR,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
    AWS_ACCESS_KEY_ID: sts.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sts.secretAccessKey,
    AWS_REGION: "us-east-1",
    AWS_CONFIG_FILE: `${work}/no-config`,
    AWS_SHARED_CREDENTIALS_FILE: `${work}/no-credentials`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  let dirs = 0;
  return {
    work,
    home,
    sts,
    login,
    env,
    withConfig: [`AWS_CONFIG_FILE=${configFile}`, `AWS_SHARED_CREDENTIALS_FILE=${credentialsFile}`],
    withLogin: [`AWS_CONFIG_FILE=${loginConfig}`, `AWS_ENDPOINT_URL_SIGNIN=${login.url}`],
    emptyProgram,
    async expireColdLogin() {
      const doc = JSON.parse(await Deno.readTextFile(cold.path));
      doc.accessToken.expiresAt = new Date(Date.now() + 2 * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
      const tmp = `${cold.path}.bench.tmp`;
      await Deno.writeTextFile(tmp, JSON.stringify(doc), { mode: 0o600 });
      await Deno.rename(tmp, cold.path);
    },
    freshDir(prefix) {
      const dir = `${work}/dirs/${prefix}-${++dirs}`;
      Deno.mkdirSync(dir, { recursive: true });
      return dir;
    },
    async [Symbol.asyncDispose]() {
      await sts[Symbol.asyncDispose]();
      await login[Symbol.asyncDispose]();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    },
  };
}
