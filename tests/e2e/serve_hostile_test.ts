/**
 * `credproc serve` against hostile local clients, end to end (the real program, the STS stand-in on
 * loopback). Every flood is bounded in count and time, targets 127.0.0.1 only, and stops by itself.
 *
 * - Idle connections beyond the descriptor limit (`ulimit -n 256`, 300 sockets): the server keeps running,
 *   answers a client with the token during the flood and once the flood's sockets are timed out, and every
 *   idle socket is closed by the server.
 * - Slowloris (a head a byte at a time), a partial head, an idle keep-alive connection: closed by the server.
 * - A flood of refused requests with `--log-file`: the log stays a few lines, with the count.
 * - `DENO_SERVE_ADDRESS` in the environment: ignored.
 * - Requests the fetch API cannot send: absolute-form targets, port-less Host (the AWS CRT's), trailing dot,
 *   `127.1`, user info, Host lists and duplicates, the exact target limit, pipelining, `Connection: close`.
 * - `-v` says why a request was refused.
 */
import assert from "node:assert/strict";
import { freePort } from "../support/helpers.ts";
import { startStandin } from "../support/sts_standin/mod.ts";
import {
  getCredentials,
  rawRequest,
  serveArgs,
  sourceHome,
  startServe,
  statusOf,
} from "../support/serve_helpers.ts";

/** Opens up to `n` connections (each connect bounded by 3 s); returns those that opened. */
async function flood(port: number, n: number): Promise<Deno.Conn[]> {
  const opened: (Deno.Conn | undefined)[] = await Promise.all(
    Array.from({ length: n }, () => {
      const attempt = Deno.connect({ hostname: "127.0.0.1", port }).then((c) => c, () => undefined);
      const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000));
      return Promise.race([attempt, timeout]).then((c) => {
        if (c === undefined) attempt.then((late) => late?.close());
        return c;
      });
    }),
  );
  return opened.filter((c): c is Deno.Conn => c !== undefined);
}

/** Resolves with how many of `conns` the server closed (EOF or reset) within `ms`; closes the rest. */
async function closedByServer(conns: Deno.Conn[], ms: number): Promise<number> {
  const deadline = setTimeout(() => conns.forEach((c) => c.close()), ms);
  let closed = 0;
  await Promise.all(conns.map(async (c) => {
    try {
      const n = await c.read(new Uint8Array(64));
      if (n === null) closed++;
    } catch (e) {
      if (!(e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted)) closed++;
    }
  }));
  clearTimeout(deadline);
  for (const c of conns) {
    try {
      c.close();
    } catch { /* closed */ }
  }
  return closed;
}

const GRACE_MS = 20_000;

Deno.test("serve: 300 idle connections under ulimit -n 256 do not end it; a client with the token is answered", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  await using server = await startServe(serveArgs(standin, "--verbose"), env, { fdLimit: 256 });
  const idle = await flood(server.port, 300);
  await new Promise((r) => setTimeout(r, 500));
  if (!server.running()) {
    const ended = await server.stop();
    assert.fail(
      `serve ended during the flood: exit ${ended.code}: ${ended.stderr.split("\n").slice(-3).join(" | ")}`,
    );
  }
  assert.ok(idle.length >= 250, `${idle.length} connections opened`);
  const during = await getCredentials(server);
  assert.equal(during.status, 200, "answered during the flood");
  const started = performance.now();
  const closed = await closedByServer(idle, GRACE_MS);
  const closedMs = Math.round(performance.now() - started);
  assert.equal(closed, idle.length, "the server closed every idle socket");
  const t0 = performance.now();
  const after = await getCredentials(server);
  const answeredMs = Math.round(performance.now() - t0);
  assert.equal(after.status, 200);
  assert.ok(server.running());
  const r = await server.stop();
  assert.equal(r.code, 0);
  // The descriptors did run out, and that was survived: the cap came down below the ceiling.
  assert.match(
    r.stderr,
    /^credproc: serve: out of file descriptors \(EMFILE\) with \d+ connections; at most \d+ from now on$/m,
  );
  assert.doesNotMatch(r.stderr, /internal error|Too many open files/);
  console.log(
    `idle flood: ${idle.length} sockets closed by the server within ${closedMs} ms; answered in ${answeredMs} ms`,
  );
});

Deno.test("serve: slowloris, a partial head and an idle keep-alive connection are closed by the server", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  await using server = await startServe(serveArgs(standin), env);
  const token = server.vars.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  const request =
    `GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: ${token}\r\n` +
    `X-Padding: ${"p".repeat(200)}\r\n\r\n`;

  // Slowloris: one byte every 200 ms would take over 50 s to finish the head.
  const slow = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  let sent = 0;
  let stopped = false;
  const sender = (async () => {
    for (const byte of new TextEncoder().encode(request)) {
      if (stopped) return;
      try {
        await slow.write(Uint8Array.of(byte));
        sent++;
      } catch {
        return; // closed by the server
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  // A partial head, then silence.
  const partial = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await partial.write(
    new TextEncoder().encode(`GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n`),
  );
  // A keep-alive connection after one answer.
  const kept = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await kept.write(new TextEncoder().encode(request));
  const first = new Uint8Array(4096);
  const n = await kept.read(first);
  assert.match(new TextDecoder().decode(first.subarray(0, n ?? 0)), /^HTTP\/1\.1 200 OK\r\n/);

  const closed = await closedByServer([slow, partial, kept], GRACE_MS);
  stopped = true;
  await sender;
  assert.equal(closed, 3, "all three closed by the server");
  assert.ok(sent < request.length, `the slow head was cut off after ${sent} of ${request.length} bytes`);
  assert.equal((await getCredentials(server)).status, 200);
  const r = await server.stop();
  assert.deepEqual([r.code, r.stderr], [0, ""]);
});

Deno.test("serve: a flood of refused requests leaves a few log lines with the count", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  const logFile = `${home.dir}/serve.log`;
  await using server = await startServe(serveArgs(standin, "--log-file", logFile), env);
  const N = 5000;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const one =
    `GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: wrong-token\r\n\r\n`;
  const started = performance.now();
  const reading = (async () => {
    // Counts the status lines as they arrive (a line cut between two reads is counted once it is whole).
    let seen = 0;
    let tail = "";
    const buf = new Uint8Array(65536);
    const dec = new TextDecoder();
    while (seen < N) {
      const n = await conn.read(buf);
      if (n === null) break;
      const text = tail + dec.decode(buf.subarray(0, n));
      const parts = text.split("HTTP/1.1 401 ");
      seen += parts.length - 1;
      tail = parts[parts.length - 1].slice(-12);
    }
    return seen;
  })();
  for (let i = 0; i < N; i += 100) await conn.write(new TextEncoder().encode(one.repeat(100)));
  assert.equal(await reading, N, "every request answered 401");
  const seconds = (performance.now() - started) / 1000;
  conn.close();
  const r = await server.stop();
  assert.equal(r.code, 0);
  const lines = (await Deno.readTextFile(logFile)).split("\n").filter((l) => / serve: /.test(l));
  const refused = lines.filter((l) => / 401 /.test(l) || /refused \d+ more/.test(l));
  assert.ok(
    refused.length <= 2 * Math.ceil(seconds) + 4,
    `${refused.length} lines for ${N} refusals in ${seconds} s`,
  );
  let counted = 0;
  for (const l of refused) {
    const m = /serve: refused (\d+) more requests in 1 s \(401: (\d+)\)$/.exec(l);
    if (m) {
      assert.equal(m[1], m[2]);
      counted += Number(m[1]);
    } else {
      assert.match(l, /serve: GET \/credentials 401 \d+ ms \(not the token\)$/);
      counted++;
    }
  }
  assert.equal(counted, N, "every refusal is in a line or a count");
  console.log(`refusal flood: ${N} refused in ${seconds.toFixed(1)} s, ${refused.length} log lines`);
});

Deno.test("serve: DENO_SERVE_ADDRESS in the environment does not move the listener", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  const want = freePort();
  const elsewhere = freePort();
  await using server = await startServe(
    serveArgs(standin, "--port", String(want)),
    { ...env, DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${elsewhere}` },
  );
  assert.equal(server.url, `http://127.0.0.1:${want}/credentials`);
  assert.equal((await getCredentials(server)).status, 200);
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: elsewhere }).then((c) => c.close()));
});

Deno.test("serve: Host and target forms the fetch API cannot send, the target limit, pipelining, -v's reasons", async () => {
  await using standin = await startStandin();
  const { home, env } = await sourceHome(standin);
  await using _home = home;
  await using server = await startServe(serveArgs(standin, "--verbose"), env);
  const port = server.port;
  const token = server.vars.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  const ask = (host: string, target = "/credentials", extra = "") =>
    rawRequest(
      port,
      `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${token}\r\n${extra}Connection: close\r\n\r\n`,
    ).then(statusOf);
  const cases: [string, string, number][] = [
    ["127.0.0.1", "/credentials", 200], // the AWS CRT's port-less Host
    ["localhost", "/credentials", 200],
    [`127.0.0.1:${port}`, `http://127.0.0.1:${port}/credentials`, 200],
    [`127.0.0.1:${port}`, "http://evil.example/credentials", 403],
    [`127.0.0.1:${port}`, `http://evil.example:${port}/credentials`, 403],
    [`localhost.:${port}`, "/credentials", 403],
    ["localhost.", "/credentials", 403],
    [`127.1:${port}`, "/credentials", 403],
    [`127.0.0.1:${port + 1}`, "/credentials", 403],
    [`user@127.0.0.1:${port}`, "/credentials", 400],
    [`127.0.0.1:${port}, 127.0.0.1:${port}`, "/credentials", 400],
    [`127.0.0.1:${port}\r\nHost: 127.0.0.1:${port}`, "/credentials", 400],
    [`127.0.0.1:${port}`, `/credentials?${"a".repeat(2048 - 13)}`, 404],
    [`127.0.0.1:${port}`, `/credentials?${"a".repeat(2048 - 12)}`, 414],
  ];
  const got: [string, string, number][] = [];
  for (const [host, target] of cases) got.push([host, target, await ask(host, target)]);
  assert.deepEqual(got, cases);
  // Two requests in one write: two answers, in order; Connection: close ends it after the second.
  const two = `GET /credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${token}\r\n\r\n` +
    `GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${token}\r\nConnection: close\r\n\r\n`;
  const answers = (await rawRequest(port, two)).match(/HTTP\/1\.1 \d{3}/g);
  assert.deepEqual(answers, ["HTTP/1.1 200", "HTTP/1.1 404"]);
  // HEAD is refused, and the connection ends after it (its answer has a body a HEAD client would not read).
  const head = `HEAD /credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${token}\r\n\r\n`;
  const headAnswer = await rawRequest(port, head + head);
  assert.deepEqual(headAnswer.match(/HTTP\/1\.1 \d{3}/g), ["HTTP/1.1 405"]);
  assert.match(headAnswer, /\r\nconnection: close\r\n/);
  // -v says why: one refusal after a quiet second is logged in full (a flood only as a count).
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal(await ask(`127.0.0.1:${port}`, "http://evil.example/credentials"), 403);
  const r = await server.stop();
  assert.equal(r.code, 0);
  assert.match(
    r.stderr,
    new RegExp(
      String.raw`^credproc: serve: GET /credentials 403 \d+ ms \(the target's host "evil\.example" is not ` +
        String.raw`127\.0\.0\.1 or localhost, with port ${port} or none\)$`,
      "m",
    ),
  );
  assert.match(r.stderr, /^credproc: serve: GET \/credentials 200 \d+ ms$/m);
  assert.doesNotMatch(r.stderr, new RegExp(token));
});
