/**
 * `credproc serve` as a subprocess for the end-to-end tests: start it (optionally under a smaller descriptor
 * limit), read its export lines, talk raw HTTP to it, stop it with a signal. The source credentials are the
 * STS stand-in's keys in a named profile (`--profile src`), so nothing shadows the endpoint unless a test
 * puts it there.
 */
import assert from "node:assert/strict";
import { credprocCommand, ROLE, type TempHome, tempHome } from "./helpers.ts";
import type { Standin } from "./sts_standin/mod.ts";

/** How long a server may take to print its lines (start-up, SDK load and one STS call, on a loaded machine). */
export const START_MS = 30_000;
export const SESSION = "serve-e2e";
/** The ARN the stand-in answers GetCallerIdentity with for the role credproc serves. */
export const ARN = `arn:aws:sts::123456789012:assumed-role/deploy/${SESSION}`;

/** A running `credproc serve`. */
export interface Server {
  /** The export lines it printed. */
  readonly lines: string[];
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The variables the export lines set. */
  readonly vars: Record<string, string>;
  /** Whether the process is still running. */
  running(): boolean;
  /** Sends `signal`, waits (bounded) for the exit; the exit code, the rest of stdout, stderr, ms. */
  stop(signal?: Deno.Signal): Promise<{ code: number; stdout: string; stderr: string; ms: number }>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Everything a subprocess printed when it exited before its export lines. */
export class EndedEarly extends Error {
  constructor(readonly code: number, readonly stdout: string, readonly stderr: string) {
    super(`credproc serve exited ${code} before its export lines: ${stderr}`);
  }
}

/**
 * Starts `credproc serve ARGS` with exactly `env`; resolves once both export lines are printed. `fdLimit`
 * runs it under `ulimit -n` (soft and hard) through sh.
 */
export async function startServe(
  args: string[],
  env: Record<string, string>,
  opts: { readonly fdLimit?: number } = {},
): Promise<Server> {
  const [cmd, ...pre] = credprocCommand();
  const argv = [cmd, ...pre, "serve", ...args];
  const [program, ...rest] = opts.fdLimit === undefined
    ? argv
    : ["sh", "-c", `ulimit -n ${opts.fdLimit} && exec "$@"`, "sh", ...argv];
  const child = new Deno.Command(program, {
    args: rest,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), START_MS);
  try {
    while ((out.match(/\n/g) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
  } finally {
    clearTimeout(timer);
  }
  if ((out.match(/\n/g) ?? []).length < 2) {
    const status = await child.status;
    throw new EndedEarly(status.code, out, await stderr);
  }
  const rest2 = (async () => {
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += value;
    }
  })();
  const lines = out.split("\n").filter((l) => l !== "");
  const vars: Record<string, string> = {};
  for (const line of lines) {
    const m = /^export (AWS_CONTAINER_[A-Z_]+)=(.*)$/.exec(line);
    assert.ok(m, `not an export line: ${line}`);
    vars[m[1]] = m[2].startsWith("'") ? m[2].slice(1, -1).replaceAll(`'\\''`, "'") : m[2];
  }
  const url = vars.AWS_CONTAINER_CREDENTIALS_FULL_URI;
  let stopped: Promise<{ code: number; stdout: string; stderr: string; ms: number }> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM") =>
    stopped ??= (async () => {
      const started = performance.now();
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const status = await child.status;
      clearTimeout(kill);
      return {
        code: status.code,
        stdout: await rest2,
        stderr: await stderr,
        ms: performance.now() - started,
      };
    })();
  return {
    lines,
    url,
    port: Number(new URL(url).port),
    pid: child.pid,
    vars,
    running: () => !exited,
    stop,
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}

/** A temp home whose credentials file holds the stand-in's base keys as profile `src` (credproc's source). */
export async function sourceHome(standin: Standin): Promise<{ home: TempHome; env: Record<string, string> }> {
  const home = await tempHome();
  await home.writeCredentials(
    `[src]\naws_access_key_id = ${standin.accessKeyId}\naws_secret_access_key = ${standin.secretAccessKey}\n`,
  );
  return { home, env: home.env() };
}

/** serve's arguments: the role from profile `src` at the stand-in. */
export function serveArgs(standin: Standin, ...more: string[]): string[] {
  return [
    "--profile",
    "src",
    "--role-arn",
    ROLE,
    "--role-session-name",
    SESSION,
    "--endpoint-url",
    standin.url,
    "--region",
    "us-east-1",
    ...more,
  ];
}

/** A consumer's environment: the server's variables and nothing else that could give it credentials. */
export function consumerEnv(
  home: TempHome,
  server: Server,
  extra: Record<string, string> = {},
): Record<string, string> {
  return home.env({
    ...server.vars,
    AWS_PAGER: "",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...extra,
  });
}

/** GET the endpoint with `headers` (the token by default). */
export async function getCredentials(
  server: Server,
  headers: Record<string, string> = { authorization: server.vars.AWS_CONTAINER_AUTHORIZATION_TOKEN },
): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(server.url, { headers, signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: await res.json() };
}

/**
 * Sends `request` as it is on a new connection and reads until the server closes it or `ms` pass (the
 * answer so far). For requests the fetch API cannot send: odd Host headers, absolute-form targets.
 */
export async function rawRequest(port: number, request: string, ms = 10_000): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), ms);
  let text = "";
  try {
    await conn.write(new TextEncoder().encode(request));
    const buf = new Uint8Array(16384);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
  return text;
}

/** The status of a raw HTTP answer (0 when there was none). */
export function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? 0);
}

/**
 * Waits until credentials expiring at `expiresMs`, received before `startedAt`, are due under a
 * `--refresh-margin` of `marginMs` (the cache's rule: half the lifetime left for a session no longer than the
 * margin) — normally `expiresMs - marginMs`, later only when a slow start left less than the margin.
 */
export async function untilDue(expiresMs: number, marginMs: number, startedAt: number): Promise<void> {
  const left = expiresMs - startedAt;
  const due = left > marginMs ? expiresMs - marginMs : expiresMs - left / 2;
  await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now() + 200)));
}
