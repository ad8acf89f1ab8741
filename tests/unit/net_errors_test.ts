/**
 * lib/net_errors.ts: the one classifier of failures before any answer, fed the errors Deno's fetch really
 * throws on loopback (refused, a blocked port, plain HTTP on https, a TLS handshake cut short, an untrusted
 * certificate, a connection closed early, a timeout, an abort, a proxy refusing the tunnel), the sandbox's
 * refusal and Deno 2.9's text for a failed lookup (the suite's tripwire forbids a real one). Then the same
 * errors through the callers that word them: the STS client (sts_errors.ts) and the federation call.
 */
import assert from "node:assert/strict";
import { type ClassifiedFailure, classifyNetworkError, errorText } from "../../lib/net_errors.ts";
import { mapStsError } from "../../lib/providers/sts_errors.ts";
import { getSigninToken } from "../../lib/console/federation.ts";
import { CredprocError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { createDeadline } from "../../lib/providers/deadline.ts";
import { hasOpenssl, makeTlsFixture } from "../support/net_fixtures.ts";
import { freePort } from "../support/helpers.ts";

/** A loopback listener that does `serve` with each connection; closed (and its connections) on dispose. */
function listener(serve: (conn: Deno.Conn) => Promise<void>): { port: number } & AsyncDisposable {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const loop = (async () => {
    try {
      for await (const c of l) {
        conns.add(c);
        serve(c).catch(() => {});
      }
    } catch { /* closed */ }
  })();
  return {
    port: (l.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
      await loop;
    },
  };
}

/** What `f` throws (it must throw). */
async function thrown(f: () => Promise<unknown>): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure");
}

/** Reads a request head, then closes the connection without an answer. */
const closeAfterRead = async (c: Deno.Conn) => {
  await c.read(new Uint8Array(4096)).catch(() => null);
  c.close();
};

/** The failures, each from a real fetch on loopback where one can be had. */
async function realFailures(): Promise<Record<string, { error: unknown; url: string }>> {
  const out: Record<string, { error: unknown; url: string }> = {};
  const at = async (name: string, url: string, init?: RequestInit & { client?: Deno.HttpClient }) => {
    out[name] = { error: await thrown(() => fetch(url, init)), url };
  };
  await at("refused", `http://127.0.0.1:${freePort()}/`);
  await at("blocked-port", "http://127.0.0.1:1/");
  {
    await using plain = listener(async (c) => {
      await c.read(new Uint8Array(4096)).catch(() => null);
      await c.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")).catch(() => 0);
      c.close();
    });
    await at("plain-http-on-https", `https://127.0.0.1:${plain.port}/`);
  }
  {
    await using closing = listener(closeAfterRead);
    await at("tls-cut-short", `https://127.0.0.1:${closing.port}/`);
    await at("closed", `http://127.0.0.1:${closing.port}/`);
  }
  {
    await using silent = listener(() => new Promise(() => {}));
    await at("timeout", `http://127.0.0.1:${silent.port}/`, { signal: AbortSignal.timeout(100) });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    await at("aborted", `http://127.0.0.1:${silent.port}/`, { signal: abort.signal });
  }
  {
    await using proxy = listener(async (c) => {
      await c.read(new Uint8Array(4096)).catch(() => null);
      await c.write(new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")).catch(
        () => 0,
      );
      c.close();
    });
    using client = Deno.createHttpClient({ proxy: { url: `http://127.0.0.1:${proxy.port}` } });
    await at("proxy", `https://127.0.0.1:${freePort()}/`, { client });
  }
  if (hasOpenssl()) {
    // A certificate from a CA this process does not trust.
    const tls = await makeTlsFixture();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, cert: tls.cert, key: tls.key, onListen() {} },
      () => new Response(""),
    );
    try {
      await at("untrusted-certificate", `https://127.0.0.1:${server.addr.port}/`);
    } finally {
      await server.shutdown();
      await tls.cleanup();
    }
  }
  // Deno 2.9's text for a name that does not resolve (hyper-util's), as fetch wraps it.
  out.dns = {
    url: "https://sts.nowhere.invalid/",
    error: new TypeError("fetch failed", {
      cause: new Error(
        "error sending request for url (https://sts.nowhere.invalid/): client error (Connect): dns error: failed to lookup address information: Name or service not known",
      ),
    }),
  };
  out.sandbox = {
    url: "https://evil.test/",
    error: new Deno.errors.NotCapable(
      'Requires net access to "evil.test:443", run again with the --allow-net flag',
    ),
  };
  out.other = { url: "https://127.0.0.1:9/", error: new Error("something else") };
  return out;
}

const failures = await realFailures();

Deno.test("net errors: each kind, from the errors Deno really throws", () => {
  const kinds = Object.fromEntries(
    Object.entries(failures).map(([name, { error }]) => [name, classifyNetworkError(error).kind]),
  );
  assert.deepEqual(kinds, {
    ...(hasOpenssl() ? { "untrusted-certificate": "tls" } : {}),
    "refused": "refused",
    "blocked-port": "blocked-port",
    "plain-http-on-https": "tls",
    "tls-cut-short": "tls",
    "closed": "closed",
    "timeout": "timeout",
    "aborted": "timeout",
    "proxy": "proxy",
    "dns": "dns",
    "sandbox": "sandbox",
    "other": "other",
  });
});

Deno.test("net errors: what each kind carries — the target, the port, the TLS explanation, the denied host", () => {
  const of = (name: string): ClassifiedFailure => classifyNetworkError(failures[name].error);
  const refused = of("refused");
  assert.equal(refused.scheme, "http");
  assert.equal(refused.host, new URL(failures.refused.url).host);
  assert.match(refused.text, /Connection refused/);
  assert.deepEqual(
    { ...of("blocked-port"), text: undefined },
    { kind: "blocked-port", port: "1", text: undefined },
  );
  const plain = of("plain-http-on-https");
  assert.ok(plain.kind === "tls" && plain.explained !== undefined);
  assert.equal(
    plain.explained.why,
    `${new URL(failures["plain-http-on-https"].url).host} answered in plain HTTP, not TLS`,
  );
  const cut = of("tls-cut-short");
  assert.ok(cut.kind === "tls" && cut.explained === undefined, JSON.stringify(cut));
  if (hasOpenssl()) {
    const untrusted = of("untrusted-certificate");
    assert.ok(untrusted.kind === "tls" && untrusted.explained !== undefined, JSON.stringify(untrusted));
    assert.match(
      untrusted.explained.why,
      /is not trusted: self-signed or from an unknown certificate authority$/,
    );
  }
  const sandbox = of("sandbox");
  assert.ok(sandbox.kind === "sandbox");
  assert.equal(sandbox.deniedHost, "evil.test");
  // The caller's target wins over what the text names (the federation call knows its endpoint).
  const told = classifyNetworkError(failures.refused.error, {
    scheme: "https",
    host: "signin.aws.amazon.com",
  });
  assert.deepEqual([told.kind, told.scheme, told.host], ["refused", "https", "signin.aws.amazon.com"]);
  // The sandbox's refusal as an SDK rewords it (a message, no Deno class) is still the sandbox's.
  assert.equal(
    classifyNetworkError(new Error('Failed to refresh token: Requires net access to "x.test:443"')).kind,
    "sandbox",
  );
  // Five causes deep, no further.
  const deep = (n: number): unknown =>
    n === 0 ? failures.sandbox.error : new Error("wrapped", { cause: deep(n - 1) });
  assert.equal(classifyNetworkError(deep(4)).kind, "sandbox");
  assert.equal(classifyNetworkError(deep(5)).kind, "other");
  assert.equal(errorText(new Error("a", { cause: new Error("a") })), "a", "each message once");
  assert.equal(errorText(undefined), "unknown error");
});

Deno.test("net errors: the STS client and the federation call word the same failures, each for its user", async () => {
  const sts = (name: string) => mapStsError(failures[name].error, "AssumeRole r", { timeoutMs: 20_000 });
  const consoleError = async (name: string) => {
    const e = await thrown(() =>
      getSigninToken(new URL(failures[name].url), {
        accessKeyId: "ASIAFAKEASSUMED00001",
        secretAccessKey: "fakeAssumedSecret/0123456789+abcdefghijA",
        sessionToken: "IQoJb3JpZ2luX2VjEFakeSessionToken0123456789+/abcdef==",
      }, {
        fetch: () => Promise.reject(failures[name].error),
        deadline: createDeadline(20_000),
        log: createLogger(false, () => {}),
      })
    );
    assert.ok(e instanceof CredprocError, String(e));
    return e;
  };
  const host = (name: string) => new URL(failures[name].url).host;
  const cases: [string, RegExp, RegExp][] = [
    [
      "refused",
      /^cannot connect to 127\.0\.0\.1:\d+: connection refused$/,
      /^cannot reach 127\.0\.0\.1:\d+: connection refused$/,
    ],
    [
      "blocked-port",
      /^cannot reach the endpoint: Fetch failed: Requests to port 1 are blocked$/,
      /^cannot reach 127\.0\.0\.1:1: fetch refuses port 1 \(a port browsers block\)$/,
    ],
    [
      "plain-http-on-https",
      /^TLS: 127\.0\.0\.1:\d+ answered in plain HTTP, not TLS$/,
      /^TLS: 127\.0\.0\.1:\d+ answered in plain HTTP, not TLS$/,
    ],
    [
      "tls-cut-short",
      /^TLS: the certificate of 127\.0\.0\.1:\d+ is not trusted$/,
      /^TLS: the certificate of 127\.0\.0\.1:\d+ is not trusted$/,
    ],
    [
      "closed",
      /^the connection to the endpoint was closed before an answer came$/,
      /^cannot reach 127\.0\.0\.1:\d+: the connection was closed before an answer came$/,
    ],
    [
      "timeout",
      /^no answer within 20 s \(--timeout\)$/,
      /^cannot reach 127\.0\.0\.1:\d+: the connection was closed before an answer came$/,
    ],
    [
      "proxy",
      /^the proxy refused to connect to 127\.0\.0\.1:\d+: .*unsuccessful tunnel$/,
      /^cannot reach 127\.0\.0\.1:\d+: the proxy refused to connect$/,
    ],
    [
      "dns",
      /^cannot resolve sts\.nowhere\.invalid$/,
      /^cannot reach sts\.nowhere\.invalid: cannot resolve the name$/,
    ],
    [
      "sandbox",
      /^evil\.test is outside the allowed endpoints$/,
      /^evil\.test is outside the allowed endpoints$/,
    ],
    ["other", /^cannot reach the endpoint: something else$/, /^cannot reach 127\.0\.0\.1:9: no connection$/],
  ];
  for (const [name, fromSts, fromConsole] of cases) {
    assert.match(sts(name).message, fromSts, name);
    const c = await consoleError(name);
    assert.match(c.message, fromConsole, name);
    // The federation call never repeats the error's text: its URL's query holds the credentials.
    assert.ok(!c.message.includes("fakeAssumedSecret") && !c.message.includes("error sending"), c.message);
    assert.ok(c.message.includes(host(name)), `${name}: ${c.message}`);
  }
});
