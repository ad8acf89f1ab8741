/**
 * The fault matrix: the real program (shipping permission set) against the STS stand-in on loopback, with
 * one fault per case. For each case the exit code, stdout (empty on failure, the credential document on
 * success), the stderr line, the number of attempts the stand-in saw and the total time are all asserted.
 *
 * Retries are the SDK's (standard mode unless AWS_RETRY_MODE says adaptive), 3 attempts unless
 * AWS_MAX_ATTEMPTS says otherwise, and bounded by `--timeout`, which is split into per-attempt timeouts under
 * one overall deadline. Cases run a few at a time; the 20-second default-timeout hang overlaps the rest.
 * A table of the figures is printed at the end.
 */
import assert from "node:assert/strict";
import {
  type Fault,
  STANDIN_ACCESS_KEY_ID,
  STANDIN_SECRET_ACCESS_KEY,
  startStandin,
} from "../support/sts_standin/mod.ts";
import { PROCESS_DOC, ROLE, runCredproc, tempHome } from "../support/helpers.ts";
import { assertNoCrash, assertOneErrorLine, deadUrl, pool, safeEnv } from "../support/hardening_helpers.ts";
import { hasOpenssl, makeTlsFixture, startConnectProxy, type TlsFixture } from "../support/net_fixtures.ts";

const WHAT = "^credproc: AssumeRole arn:aws:iam::123456789012:role\\/deploy: ";
const line = (why: string) => new RegExp(`${WHAT}${why}$`);
/** Start-up of a `deno run` child on a busy 2-core machine, on top of the time a case is expected to take. */
const SLACK_MS = 3000;

interface FaultCase {
  name: string;
  /** Faults queued for the first requests, in order. */
  faults?: Fault[];
  /** The fault for every request after the queue. */
  always?: Fault;
  /** Extra flags (e.g. `--timeout 3`). */
  args?: string[];
  env?: Record<string, string>;
  /** Where credproc is pointed: the stand-in (default), a closed port, or the stand-in over TLS. */
  target?: "standin" | "dead" | "tls";
  /** How the TLS stand-in's CA is supplied. */
  ca?: "DENO_CERT" | "NODE_EXTRA_CA_CERTS";
  /** HTTPS_PROXY: the CONNECT proxy on loopback, or a closed port. */
  proxy?: "live" | "dead";
  code: 0 | 1;
  /** The first stderr line (failures only). */
  stderr?: RegExp;
  /** A hint that must follow (failures only). */
  hint?: RegExp;
  /** Requests the stand-in must have seen: exactly, or [min, max]. */
  attempts: number | [number, number];
  /** Total time bounds in ms; the upper bound gets {@link SLACK_MS} added. */
  ms: [number, number];
}

const CASES: FaultCase[] = [
  {
    name: "hang, default --timeout (20 s): fails in under 30 s",
    always: { kind: "hang" },
    code: 1,
    stderr: line("no answer within 20 s \\(--timeout; 3 attempts\\)"),
    attempts: 3,
    ms: [19_000, 26_000],
  },
  {
    name: "HTTP 500 InternalFailure",
    always: {
      kind: "error",
      status: 500,
      code: "InternalFailure",
      message: "We encountered an internal error.",
    },
    code: 1,
    stderr: line("InternalFailure: We encountered an internal error\\. \\(after 3 attempts\\)"),
    hint: /^hint: STS is throttling or failing/,
    attempts: 3,
    ms: [0, 2000],
  },
  {
    name: "HTTP 500 with Retry-After: 1",
    always: { kind: "error", status: 500, code: "InternalFailure", retryAfter: 1 },
    code: 1,
    stderr: line("InternalFailure: .* \\(after 3 attempts\\)"),
    attempts: 3,
    ms: [0, 4000],
  },
  {
    name: "HTTP 503 ServiceUnavailable",
    always: {
      kind: "error",
      status: 503,
      code: "ServiceUnavailable",
      message: "Service is unable to handle request.",
    },
    code: 1,
    stderr: line("ServiceUnavailable: Service is unable to handle request\\. \\(after 3 attempts\\)"),
    hint: /^hint: STS is throttling or failing/,
    attempts: 3,
    ms: [0, 2000],
  },
  {
    name: "HTTP 503 with Retry-After: 1 (the SDK waits it out between attempts)",
    always: { kind: "error", status: 503, code: "ServiceUnavailable", retryAfter: 1 },
    code: 1,
    stderr: line("ServiceUnavailable: .* \\(after 3 attempts\\)"),
    attempts: 3,
    ms: [1900, 4000],
  },
  {
    name: "STS Throttling",
    always: { kind: "deny", code: "Throttling" },
    code: 1,
    stderr: line("Throttling: Rate exceeded \\(after 3 attempts\\)"),
    hint: /^hint: STS is throttling or failing/,
    attempts: 3,
    ms: [0, 3000],
  },
  {
    name: "STS Throttling, AWS_RETRY_MODE=adaptive",
    always: { kind: "deny", code: "Throttling" },
    env: { AWS_RETRY_MODE: "adaptive" },
    code: 1,
    stderr: line("Throttling: Rate exceeded \\(after 3 attempts\\)"),
    attempts: 3,
    ms: [0, 4000],
  },
  {
    name: "HTTP 500, AWS_MAX_ATTEMPTS=1 (no retry)",
    always: { kind: "error", status: 500, code: "InternalFailure", message: "boom" },
    env: { AWS_MAX_ATTEMPTS: "1" },
    code: 1,
    stderr: line("InternalFailure: boom"),
    attempts: 1,
    ms: [0, 1000],
  },
  {
    name: "HTTP 500, AWS_MAX_ATTEMPTS=5",
    always: { kind: "error", status: 500, code: "InternalFailure", message: "boom" },
    env: { AWS_MAX_ATTEMPTS: "5" },
    code: 1,
    stderr: line("InternalFailure: boom \\(after 5 attempts\\)"),
    attempts: 5,
    ms: [0, 6000],
  },
  {
    name: "one HTTP 503, then an answer: the retry succeeds",
    faults: [{ kind: "error", status: 503, code: "ServiceUnavailable" }],
    code: 0,
    attempts: 2,
    ms: [0, 1500],
  },
  {
    name: "one Throttling, then an answer: the retry succeeds",
    faults: [{ kind: "deny", code: "Throttling" }],
    code: 0,
    attempts: 2,
    ms: [0, 1500],
  },
  {
    name: "a slow answer (1 s) within the timeout",
    always: { kind: "delay", ms: 1000 },
    code: 0,
    attempts: 1,
    ms: [1000, 1500],
  },
  {
    name: "a slow answer (10 s) with --timeout 3",
    always: { kind: "delay", ms: 10_000 },
    args: ["--timeout", "3"],
    code: 1,
    stderr: line("no answer within 3 s \\(--timeout; 3 attempts\\)"),
    hint: /^hint: check --endpoint-url/,
    attempts: 3,
    ms: [2900, 3500],
  },
  {
    name: "one slow answer (10 s) with --timeout 6: the 2-s attempt times out, the retry succeeds",
    faults: [{ kind: "delay", ms: 10_000 }],
    args: ["--timeout", "6"],
    code: 0,
    attempts: 2,
    ms: [1900, 4000],
  },
  {
    name: "a server that accepts and never answers, --timeout 3",
    always: { kind: "hang" },
    args: ["--timeout", "3"],
    code: 1,
    stderr: line("no answer within 3 s \\(--timeout; 3 attempts\\)"),
    attempts: 3,
    ms: [2900, 3500],
  },
  {
    name: "a connection closed mid-body",
    always: { kind: "close-mid-body" },
    code: 1,
    stderr: line("the connection closed before the answer was complete \\(HTTP 200\\)"),
    hint: /^hint: check --endpoint-url/,
    attempts: 1,
    ms: [0, 1000],
  },
  {
    name: "a truncated XML body",
    always: { kind: "truncated-xml" },
    code: 1,
    stderr: line(
      "the endpoint answered HTTP 200 with XML that cannot be read \\(missing closing tag <\\/\\w+>\\)",
    ),
    attempts: 1,
    ms: [0, 1000],
  },
  {
    name: "a malformed XML body",
    always: { kind: "malformed-xml" },
    code: 1,
    stderr: line("the endpoint answered HTTP 200 with XML that cannot be read \\([^)]+\\)"),
    attempts: 1,
    ms: [0, 1000],
  },
  {
    name: "an HTML error page (HTTP 502, as a proxy sends it)",
    always: { kind: "html", status: 502 },
    code: 1,
    stderr: line(
      "the endpoint answered HTTP 502 with an HTML page, not an STS response \\(after 3 attempts\\)",
    ),
    hint: /^hint: a proxy, firewall or captive portal answered instead of STS/,
    attempts: 3,
    ms: [0, 2000],
  },
  {
    name: "an HTML page with HTTP 200 (a captive portal)",
    always: { kind: "html", status: 200 },
    code: 1,
    stderr: line("the endpoint answered HTTP 200 with an HTML page, not an STS response"),
    attempts: 1,
    ms: [0, 1000],
  },
  {
    name: "a refused port",
    target: "dead",
    code: 1,
    stderr: line("cannot connect to 127\\.0\\.0\\.1:\\d+: connection refused"),
    hint:
      /^hint: nothing listens there: check --endpoint-url \(plain http, loopback and metadata addresses are always reached directly, never through a proxy\)$/,
    attempts: 0,
    ms: [0, 2000],
  },
  {
    name: "https with an untrusted certificate",
    target: "tls",
    code: 1,
    stderr: line(
      "TLS: the certificate of 127\\.0\\.0\\.1:\\d+ is not trusted: self-signed or from an unknown certificate authority",
    ),
    hint: /^hint: .*point DENO_CERT \(or NODE_EXTRA_CA_CERTS\) at the CA's PEM file/,
    attempts: 0,
    ms: [0, 2000],
  },
  {
    name: "https with the CA in DENO_CERT",
    target: "tls",
    ca: "DENO_CERT",
    code: 0,
    attempts: 1,
    ms: [0, 1500],
  },
  {
    name: "https with the CA in NODE_EXTRA_CA_CERTS",
    target: "tls",
    ca: "NODE_EXTRA_CA_CERTS",
    code: 0,
    attempts: 1,
    ms: [0, 1500],
  },
  {
    // Loopback is always reached directly (NO_PROXY is extended), whatever HTTPS_PROXY says.
    name: "https on loopback with a live HTTPS_PROXY: direct",
    target: "tls",
    ca: "DENO_CERT",
    proxy: "live",
    code: 0,
    attempts: 1,
    ms: [0, 1500],
  },
  {
    name: "https on loopback with a dead HTTPS_PROXY: direct, so it works",
    target: "tls",
    ca: "DENO_CERT",
    proxy: "dead",
    code: 0,
    attempts: 1,
    ms: [0, 1500],
  },
];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  lines: string[];
  ms: number;
  attempts: number;
  proxyConnects: string[];
  standinAddr: string;
}

const TLS = hasOpenssl();

async function runCase(c: FaultCase, tls: TlsFixture | undefined): Promise<Outcome> {
  await using standin = await startStandin(
    c.target === "tls" ? { tls: { cert: tls!.cert, key: tls!.key } } : {},
  );
  await using proxy = startConnectProxy();
  await using home = await tempHome();
  if (c.faults) standin.pushFault(...c.faults);
  if (c.always) standin.setDefaultFault(c.always);
  const dead = deadUrl();
  const endpoint = c.target === "dead" ? dead : standin.url;
  const env = home.env({
    ...safeEnv(home.dir, {
      sts: endpoint,
      dead,
      keys: { id: STANDIN_ACCESS_KEY_ID, secret: STANDIN_SECRET_ACCESS_KEY },
    }),
    ...(c.ca ? { [c.ca]: tls!.caFile } : {}),
    ...(c.proxy ? { HTTPS_PROXY: c.proxy === "live" ? proxy.url : dead } : {}),
    ...c.env,
  });
  const r = await runCredproc([
    "--role-arn",
    ROLE,
    "--endpoint-url",
    endpoint,
    "--no-cache",
    ...(c.args ?? []),
  ], env);
  return {
    ...r,
    attempts: standin.count(),
    proxyConnects: [...proxy.connects],
    standinAddr: `127.0.0.1:${standin.port}`,
  };
}

Deno.test("fault matrix", async (t) => {
  const tls = TLS ? await makeTlsFixture() : undefined;
  const runnable = CASES.filter((c) => c.target !== "tls" || tls !== undefined);
  let outcomes: Outcome[];
  try {
    // The long default-timeout hang is first, so it overlaps everything else.
    outcomes = await pool(3, runnable.map((c) => () => runCase(c, tls)));
  } finally {
    await tls?.cleanup();
  }
  const table: string[] = [];
  for (const [i, c] of runnable.entries()) {
    const o = outcomes[i];
    table.push(
      `${c.name} | exit ${o.code} | ${o.attempts} attempt(s) | ${Math.round(o.ms)} ms | ${
        o.lines[0] ?? "(credentials)"
      }`,
    );
    await t.step(c.name, () => {
      if (c.code === 0) {
        assert.equal(o.code, 0, o.stderr);
        assert.match(o.stdout, PROCESS_DOC);
        assert.equal(o.stderr, "", "a success prints nothing on stderr");
        assertNoCrash(o);
      } else {
        assertOneErrorLine(o, c.code, c.stderr);
        if (c.hint) assert.match(o.lines[1] ?? "", c.hint, o.stderr);
      }
      const [min, max] = typeof c.attempts === "number" ? [c.attempts, c.attempts] : c.attempts;
      assert.ok(o.attempts >= min && o.attempts <= max, `attempts ${o.attempts}, expected ${c.attempts}`);
      assert.ok(o.ms >= c.ms[0], `took ${Math.round(o.ms)} ms, expected at least ${c.ms[0]}`);
      assert.ok(
        o.ms <= c.ms[1] + SLACK_MS,
        `took ${Math.round(o.ms)} ms, expected at most ${c.ms[1]} + slack`,
      );
      if (c.proxy === "live") {
        assert.deepEqual(o.proxyConnects, [], "loopback never goes through the proxy");
      }
    });
  }
  if (!TLS) console.log("fault matrix: openssl not found, TLS and proxy cases skipped");
  console.log(`fault matrix (${runnable.length} cases):\n${table.join("\n")}`);
});
