/**
 * Helpers shared by the hardening suites (bad input, fuzzing, faults, audit, secrets, signals and load):
 * a child environment that can only reach loopback, the error-contract assertion, and the permission audit log.
 */
import assert from "node:assert/strict";
import { credprocCommand, freePort, type Result, ROOT, runProcess } from "./helpers.ts";

/** A URL on loopback where nothing listens: connections are refused at once. */
export function deadUrl(): string {
  return `http://127.0.0.1:${freePort()}/`;
}

/**
 * The environment every hardening run starts from (on top of `tempHome().env()`): fake source keys, and every
 * endpoint the SDK could pick on its own (STS inside the default chain, SSO, instance metadata, any other service)
 * pointed at `sts` or a dead loopback port, so that no run can resolve or contact a real host even when a case
 * forgets `--endpoint-url`.
 */
export function safeEnv(
  home: string,
  opts: { sts: string; dead?: string; keys?: { id: string; secret: string } },
): Record<string, string> {
  const dead = opts.dead ?? opts.sts;
  return {
    AWS_ACCESS_KEY_ID: opts.keys?.id ?? "AKIAEXAMPLEBADINPUT1",
    AWS_SECRET_ACCESS_KEY: opts.keys?.secret ?? "bad-input-secret-never-used",
    AWS_ENDPOINT_URL: dead,
    AWS_ENDPOINT_URL_STS: opts.sts,
    AWS_ENDPOINT_URL_SSO: dead,
    AWS_ENDPOINT_URL_SSO_OIDC: dead,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: dead,
    AWS_EC2_METADATA_DISABLED: "true",
    CREDPROC_CACHE_DIR: `${home}/cache`,
  };
}

/** What a finished run looks like (a subset of helpers.ts's Result). */
export interface RunLike {
  code: number;
  stdout: string;
  stderr: string;
  lines: string[];
}

/** Asserts the error contract: exit code, empty stdout, one `credproc:` line (+ hint), no stack trace. */
export function assertOneErrorLine(r: RunLike, code: number, first?: RegExp): void {
  const context = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.code, code, context);
  assert.equal(r.stdout, "", `stdout must be empty on failure\n${context}`);
  assert.ok(r.lines.length === 1 || r.lines.length === 2, `one error line and at most one hint\n${context}`);
  assert.match(r.lines[0], /^credproc: \S.*: \S/, context);
  if (first) assert.match(r.lines[0], first, context);
  if (r.lines.length === 2) assert.match(r.lines[1], /^hint: \S/, context);
  assertNoCrash(r);
}

/** No stack trace, no uncaught error from Deno, no error that escaped credproc's mapping. */
export function assertNoCrash(r: RunLike): void {
  const context = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace\n${context}`);
  assert.doesNotMatch(r.stderr, /^error: |Uncaught|credproc: internal error/m, context);
}

/** One entry of Deno's permission audit log (`DENO_AUDIT_PERMISSIONS=<file>`, JSON lines). */
export interface AuditEntry {
  permission: string;
  value: string | null;
}

/** Reads an audit log; a missing file means no permission was checked. */
export async function readAudit(path: string): Promise<AuditEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => {
    const o = JSON.parse(l);
    return { permission: String(o.permission), value: o.value ?? null };
  });
}

/** The shipping permission set, from deno.json. */
export interface PermissionSet {
  net: string[];
  env: string[];
  sys: string[];
  run: unknown;
  ffi: unknown;
  import: unknown;
}

export async function shippingPermissions(): Promise<PermissionSet> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  return config.permissions.default;
}

/** Whether an env name matches one of deno.json's env entries (`AWS_*` style suffix wildcards). */
export function envAllowed(name: string, allow: readonly string[]): boolean {
  return allow.some((a) => a.endsWith("*") ? name.startsWith(a.slice(0, -1)) : name === a);
}

/** The host of a net audit value (a URL, `host:port`, `[v6]:port`, or a bare host). */
export function netHost(value: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return new URL(value).hostname;
  if (value.startsWith("[")) return value.slice(0, value.indexOf("]") + 1);
  const i = value.lastIndexOf(":");
  return i > 0 && /^\d+$/.test(value.slice(i + 1)) ? value.slice(0, i) : value;
}

/** Loopback as Deno writes it in a net check. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Runs `jobs` with at most `limit` running at once; results in order. */
export async function pool<T>(limit: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]();
      }
    }),
  );
  return results;
}

/** Runs credproc under /usr/bin/time and returns the result with its peak RSS in MiB. */
export async function runMeasured(
  args: string[],
  env: Record<string, string>,
): Promise<Result & { peakMiB: number }> {
  const out = await Deno.makeTempFile();
  try {
    const [cmd, ...pre] = credprocCommand();
    const r = await runProcess("/usr/bin/time", ["-f", "%M", "-o", out, cmd, ...pre, ...args], env);
    const kb = Number((await Deno.readTextFile(out)).trim().split("\n").pop());
    return { ...r, peakMiB: Math.round(kb / 1024) };
  } finally {
    await Deno.remove(out);
  }
}
