/**
 * Shared test harness: runs the real program as a subprocess (`deno run -P main.ts`, or the compiled binary
 * named by CREDPROC_BIN), makes temp homes, and starts real peers on loopback.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The compiled binary under test, when the release workflow sets it. */
export const CREDPROC_BIN = Deno.env.get("CREDPROC_BIN") || undefined;

/**
 * Deno's module cache. A clean child environment with a temp HOME would otherwise point `deno run` at an
 * empty cache and make it download npm packages again.
 */
export const DENO_DIR = Deno.env.get("DENO_DIR") ||
  (Deno.build.os === "darwin"
    ? `${Deno.env.get("HOME")}/Library/Caches/deno`
    : Deno.build.os === "windows"
    ? `${Deno.env.get("LOCALAPPDATA")}\\deno`
    : `${Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME")}/.cache`}/deno`);

/** argv prefix that runs credproc under the shipping permission set (the binary when CREDPROC_BIN is set). */
export function credprocCommand(): string[] {
  return CREDPROC_BIN ? [CREDPROC_BIN] : sourceCommand();
}

/** argv prefix that runs credproc from source (`deno run -P main.ts`) under the shipping permission set. */
export function sourceCommand(): string[] {
  return [
    Deno.execPath(),
    "run",
    "-q",
    "-P",
    "--no-prompt",
    "--cached-only",
    "--config",
    `${ROOT}deno.json`,
    `${ROOT}main.ts`,
  ];
}

/**
 * A test's name and `ignore` for a test that cannot run here, with why: when `why` is a string the test is
 * ignored and its name ends ` [ignored: why]`, which `deno task test` quotes in its closing line. Every
 * ignored test says why (tests/e2e/test_runner_test.ts holds that); use as
 * `Deno.test(ignoreIf("name", IS_ROOT && "root reads any file"), fn)` or `Deno.test({ ...ignoreIf(…), fn })`.
 */
export function ignoreIf(name: string, why: string | false | undefined): { name: string; ignore: boolean } {
  return why ? { name: `${name} ${IGNORED_MARK}${why}]`, ignore: true } : { name, ignore: false };
}

/** How an ignored test's name carries its reason (see {@link ignoreIf}). */
export const IGNORED_MARK = "[ignored: ";

/** The line credproc prints to stdout/stderr and its exit code. */
export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  /** stderr split into lines, without empty ones. */
  lines: string[];
  ms: number;
}

/** A temporary HOME with an `.aws` directory; removed by `cleanup`. */
export interface TempHome {
  readonly dir: string;
  readonly configFile: string;
  readonly credentialsFile: string;
  readonly cacheDir: string;
  writeConfig(text: string): Promise<void>;
  writeCredentials(text: string): Promise<void>;
  /** The base environment for a run: nothing from the test runner's own environment leaks in. */
  env(extra?: Record<string, string>): Record<string, string>;
  cleanup(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates a temp HOME. */
export async function tempHome(): Promise<TempHome> {
  const dir = await Deno.makeTempDir({ prefix: "credproc-test-" });
  await Deno.mkdir(`${dir}/.aws`, { mode: 0o700 });
  const configFile = `${dir}/.aws/config`;
  const credentialsFile = `${dir}/.aws/credentials`;
  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  return {
    dir,
    configFile,
    credentialsFile,
    cacheDir: `${dir}/cache`,
    writeConfig: (text) => Deno.writeTextFile(configFile, text),
    writeCredentials: (text) => Deno.writeTextFile(credentialsFile, text),
    env: (extra = {}) => ({
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: dir,
      AWS_CONFIG_FILE: configFile,
      AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
      // Never let an SDK look for instance metadata: that address is not on loopback.
      AWS_EC2_METADATA_DISABLED: "true",
      CREDPROC_CACHE_DIR: `${dir}/cache`,
      NO_COLOR: "1",
      DENO_DIR,
      // Deno's own update check would look up its download host: nothing here may leave loopback.
      DENO_NO_UPDATE_CHECK: "1",
      ...extra,
    }),
    cleanup,
    [Symbol.asyncDispose]: cleanup,
  };
}

/** Runs credproc with `args` and exactly `env` (no inherited variables), stdin closed. */
export async function runCredproc(
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; signal?: AbortSignal } = {},
): Promise<Result> {
  const [cmd, ...pre] = credprocCommand();
  return await runProcess(cmd, [...pre, ...args], env, opts);
}

/** Runs any program with an argv array, a clean environment and stdin closed. */
export async function runProcess(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  opts: { cwd?: string; signal?: AbortSignal; stdin?: string } = {},
): Promise<Result> {
  const started = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    env,
    clearEnv: true,
    cwd: opts.cwd,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: opts.signal,
  }).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  return {
    code: out.code,
    stdout,
    stderr,
    lines: stderr.split("\n").filter((l) => l !== ""),
    ms: performance.now() - started,
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Waits until something accepts connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** A running moto_server (an STS implementation nobody here wrote). */
export interface Moto {
  readonly url: string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts `moto_server` on a free loopback port; `env` adds moto settings (e.g. INITIAL_NO_AUTH_ACTION_COUNT). */
export async function startMoto(env: Record<string, string> = {}): Promise<Moto> {
  const port = freePort();
  const child = new Deno.Command("moto_server", {
    args: ["-H", "127.0.0.1", "-p", String(port)],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", AWS_EC2_METADATA_DISABLED: "true", ...env },
  }).spawn();
  try {
    await waitForPort(port);
  } catch (e) {
    child.kill("SIGKILL");
    await child.status;
    throw e;
  }
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
  };
  return { url: `http://127.0.0.1:${port}/`, stop, [Symbol.asyncDispose]: stop };
}

/**
 * The AWS CLI v2 the end-to-end tests drive (`deno task test` checks it is there). CREDPROC_TEST_AWS_V2 names
 * another path (hosted CI runners keep it in /usr/local/bin); the set-up step checks that one instead.
 */
export const AWS_V2 = Deno.env.get("CREDPROC_TEST_AWS_V2") || "/usr/bin/aws";

/** Keys for moto (it accepts any) and credproc's source in tests. */
export const MOTO_KEYS = {
  AWS_ACCESS_KEY_ID: "AKIAMOTOEXAMPLE00001",
  AWS_SECRET_ACCESS_KEY: "moto-secret-example",
};

/** argv for one credproc call against moto: {@link ROLE} as role session `session`, in us-east-1 (then `extra`). */
export function motoArgs(moto: Moto, session: string, extra: readonly string[] = []): string[] {
  return [
    "--role-arn",
    ROLE,
    "--role-session-name",
    session,
    "--endpoint-url",
    moto.url,
    "--region",
    "us-east-1",
    ...extra,
  ];
}

/** A role ARN used across tests. */
export const ROLE = "arn:aws:iam::123456789012:role/deploy";

/** The credential_process document's shape, as a regular expression over the whole of stdout. */
export const PROCESS_DOC =
  /^\{\n {2}"AccessKeyId": "[A-Z0-9]{16,}",\n {2}"SecretAccessKey": "[^"]+",\n {2}"SessionToken": "[^"]+",\n {2}"Expiration": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",\n {2}"Version": 1\n\}\n$/;

/**
 * Quotes one argument for `credential_process`. botocore splits the value with `shlex.split` (POSIX rules) and
 * runs it without a shell; the JS SDK hands the whole value to `/bin/sh -c`. POSIX single quotes mean the same
 * to both; a single quote inside is written `'\''`.
 */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/**
 * A `credproc` on PATH, as the documented `credential_process` lines expect: `DIR/bin/credproc`, a launcher
 * running the program under test. Returns `DIR/bin`.
 */
export async function credprocOnPath(dir: string): Promise<string> {
  await Deno.mkdir(`${dir}/bin`);
  const launcher = `${dir}/bin/credproc`;
  await Deno.writeTextFile(launcher, `#!/bin/sh\nexec ${credprocCommand().map(shellQuote).join(" ")} "$@"\n`);
  await Deno.chmod(launcher, 0o755);
  return `${dir}/bin`;
}

/** The path of an executable named `name` on PATH, or undefined (tests that need a tool skip without it). */
export function which(name: string): string | undefined {
  for (const d of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    if (!d) continue;
    try {
      const st = Deno.statSync(`${d}/${name}`);
      if (st.isFile && (st.mode ?? 0o111) & 0o111) return `${d}/${name}`;
    } catch { /* not there */ }
  }
  return undefined;
}

/** Polls `ok` every 10 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(
  what: string,
  ok: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What a finished run of any program shows a check (a {@link Result}, or a run of another harness). */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** A credential_process document, parsed (`AccountId` only with `--include-account-id`). */
export interface ProcessDoc {
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
  Version: 1;
  AccountId?: string;
}

/**
 * A successful credential call, the one strict check: nothing on stderr, exit 0, and stdout exactly a
 * credential_process document ({@link PROCESS_DOC}); returns it parsed. Runs that need less say so by name:
 * {@link okVerbose} (log lines on stderr), {@link okJson} (other JSON on stdout), {@link okText} (any stdout).
 */
export function ok(r: Ran, what = "credproc"): ProcessDoc {
  okText(r, what);
  assert.match(r.stdout, PROCESS_DOC, `${what}: stdout is not a credential_process document`);
  return JSON.parse(r.stdout);
}

/**
 * A successful `--verbose` credential call: exit 0, stdout exactly a credential_process document, and stderr
 * nothing but credproc's own log lines (`credproc: …`, no hint, no stack, no other program's words).
 */
export function okVerbose(r: Ran, what = "credproc"): ProcessDoc {
  const context = `${what} (exit ${r.code}):\n${r.stderr}`;
  assert.equal(r.code, 0, `${what} failed ${context}`);
  for (const line of r.stderr.split("\n").filter((l) => l !== "")) {
    assert.match(line, /^credproc: (?!internal error)\S/, `a line that is not a log line: ${context}`);
  }
  assert.match(r.stdout, PROCESS_DOC, `${what}: stdout is not a credential_process document`);
  return JSON.parse(r.stdout);
}

/** A successful run whose stdout is JSON but not the document (`cache list --json`, `--include-account-id`). */
export function okJson<T = Record<string, unknown>>(r: Ran, what = "credproc"): T {
  return JSON.parse(okText(r, what));
}

/**
 * A successful run whose stdout is text (another format, a listing, a URL, another program): nothing on
 * stderr, exit 0; returns stdout.
 */
export function okText(r: Ran, what = "credproc"): string {
  assert.equal(r.stderr, "", `${what} wrote to stderr (exit ${r.code}):\n${r.stderr}`);
  assert.equal(r.code, 0, `${what} exited ${r.code}`);
  return r.stdout;
}

/** The `credential_process` value that runs credproc (as {@link credprocCommand}) with `args`, quoted. */
export function credprocLine(args: readonly string[]): string {
  return [...credprocCommand(), ...args].map(shellQuote).join(" ");
}

/** A FIFO (mode 0600) at `path`, in place of whatever file was there. */
export async function mkfifo(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
  const out = await new Deno.Command("mkfifo", { args: ["-m", "600", path], stdin: "null" }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.ok((await Deno.lstat(path)).isFifo, `${path} is not a FIFO`);
}

/** Every regular file under `dir` (recursively) as text, by path; nothing when `dir` does not exist. */
export async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  try {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) { for (const [p, t] of await filesUnder(path)) out.set(p, t); }
      else if (e.isFile) out.set(path, await Deno.readTextFile(path));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

/**
 * The modules `deno run` loads at start-up for `entry` (a path under the repository): its static import graph
 * from `deno info --json`, dynamic imports left out. With `dynamic`, literal dynamic imports are followed too:
 * what `deno run` prepares at start-up (it resolves every literal import of the graph, dynamic ones included,
 * and reads each npm package's registry metadata for them). `--no-npm`: resolving npm packages would fetch
 * registry metadata; an npm import still shows up as a specifier.
 */
export async function startupModules(entry: string, { dynamic = false } = {}): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--no-npm", "--config", `${ROOT}deno.json`, `${ROOT}${entry}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: { specifier: string; dependencies?: { code?: { specifier?: string }; isDynamic?: boolean }[] }[];
    redirects?: Record<string, string>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const s = stack.pop()!;
    const spec = info.redirects?.[s] ?? s;
    if (seen.has(spec)) continue;
    seen.add(spec);
    for (const d of bySpecifier.get(spec)?.dependencies ?? []) {
      // Only code imports (type-only imports never load), dynamic ones when asked.
      if ((dynamic || !d.isDynamic) && d.code?.specifier) stack.push(d.code.specifier);
    }
  }
  const root = new URL(`file://${ROOT}`).href;
  return [...seen].map((s) => s.startsWith(root) ? s.slice(root.length) : s).sort();
}
