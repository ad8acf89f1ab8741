/**
 * `credproc serve` without sockets (lib/serve/): the strict request parser, each check of the handler alone
 * and composed (every refusal with its status, body and the reason `-v` logs), the bounded refusal log, the
 * shared credentials and their margin, the token and token-file rules, the export lines and the warning when
 * the environment would shadow the endpoint.
 */
import assert from "node:assert/strict";
import {
  type Answer,
  MAX_HEAD_BYTES,
  MAX_TARGET_CHARS,
  parseHead,
  type RequestHead,
  responseBytes,
  wantsClose,
} from "../../lib/serve/http.ts";
import {
  createEndpoint,
  credentialsDocument,
  type EndpointOptions,
  type Handler,
  hostProblem,
  requestLog,
  withConcurrencyLimit,
  withHostCheck,
  withNoBody,
  withRoute,
  withTokenCheck,
} from "../../lib/serve/handler.ts";
import { sharedCredentials } from "../../lib/serve/shared.ts";
import {
  judgeTokenFile,
  MIN_TOKEN_CHARS,
  newToken,
  sameToken,
  type TokenFileFacts,
  tokenFromFile,
} from "../../lib/serve/token.ts";
import { exportLines, type ProfileFiles, shadowWarning } from "../../lib/serve/exports.ts";
import { effectiveMarginMs, entryFor, judgeEntry } from "../../lib/cache/store.ts";
import { InputError, StsError } from "../../lib/errors.ts";
import type { Credentials } from "../../lib/model.ts";

const TOKEN = "tok_0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
const PORT = 41234;
const CREDS: Credentials = {
  accessKeyId: "ASIAEXAMPLEEXAMPLE01",
  secretAccessKey: "secret/EXAMPLE+key",
  sessionToken: "session+token/EXAMPLE=",
  expiration: new Date("2026-12-06T02:00:00.999Z"),
  accountId: "123456789012",
};
const enc = new TextEncoder();

/** Parses `text` as one request head (it must parse). */
function head(text: string): RequestHead {
  const bytes = enc.encode(text);
  const r = parseHead(bytes, bytes.length);
  assert.equal(r.kind, "head", `${JSON.stringify(text.slice(0, 80))}: ${JSON.stringify(r)}`);
  return (r as { head: RequestHead }).head;
}

/** A request with the token, the Host and `extra` header lines, for `target`. */
function request(target = "/credentials", extra: string[] = [], method = "GET"): string {
  const lines = [
    `${method} ${target} HTTP/1.1`,
    `Host: 127.0.0.1:${PORT}`,
    `Authorization: ${TOKEN}`,
    ...extra,
  ];
  return `${lines.join("\r\n")}\r\n\r\n`;
}

function endpoint(over: Partial<EndpointOptions> = {}) {
  const lines: string[] = [];
  const e = createEndpoint({
    token: () => ({ token: TOKEN }),
    port: () => PORT,
    credentials: { held: () => CREDS, get: () => Promise.resolve(CREDS) },
    includeAccountId: false,
    timeoutMs: 1000,
    log: requestLog(true, (l) => lines.push(l), () => 0, 1000),
    scrub: (t) => t.replaceAll(CREDS.secretAccessKey, "[redacted]"),
    ...over,
  });
  /** Sends raw request text through the parser and the endpoint. */
  const ask = async (text: string): Promise<Answer> => {
    const bytes = enc.encode(text);
    const r = parseHead(bytes, bytes.length);
    if (r.kind === "incomplete") throw new Error("incomplete");
    return r.kind === "malformed" ? e.malformed(r.malformed) : await e.handle(r.head);
  };
  return { e, ask, lines };
}

const body = (a: Answer) => JSON.parse(new TextDecoder().decode(a.body));

async function expectRefusal(a: Answer | Promise<Answer>, status: number, code: string): Promise<Answer> {
  const answer = await a;
  assert.equal(answer.status, status, answer.why);
  assert.equal(body(answer).Code, code);
  return answer;
}

// ── the parser ───────────────────────────────────────────────────────────────────────────────────────

Deno.test("http: a request head is parsed strictly: names lower-cased, values trimmed, forms of the target", () => {
  const h = head("GET /credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A:\t v \t\r\n\r\n");
  assert.deepEqual(h, {
    method: "GET",
    target: "/credentials",
    path: "/credentials",
    query: undefined,
    authority: undefined,
    version: "1.1",
    headers: [["host", "127.0.0.1"], ["x-a", "v"]],
  });
  assert.equal(head("GET /credentials? HTTP/1.1\r\n\r\n").query, "");
  assert.equal(head("GET /credentials?a=b HTTP/1.0\r\n\r\n").version, "1.0");
  const abs = head("GET http://evil.example:80/credentials?x HTTP/1.1\r\n\r\n");
  assert.deepEqual([abs.authority, abs.path, abs.query], ["evil.example:80", "/credentials", "x"]);
  assert.deepEqual([head("GET HTTP://127.0.0.1 HTTP/1.1\r\n\r\n").path], ["/"]);
  assert.equal(head("CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n").path, "127.0.0.1:1");
  // What follows the head (a pipelined request) is not part of it.
  const two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  const r = parseHead(enc.encode(two), two.length);
  assert.ok(r.kind === "head");
  assert.equal(r.length, 19);
});

Deno.test("http: the target limit measures the target: 2048 characters pass, 2049 are 414", () => {
  const at = `/credentials?${"a".repeat(MAX_TARGET_CHARS - 13)}`;
  assert.equal(at.length, MAX_TARGET_CHARS);
  assert.equal(head(`GET ${at} HTTP/1.1\r\n\r\n`).target, at);
  const over = `GET ${at}a HTTP/1.1\r\n\r\n`;
  const r = parseHead(enc.encode(over), over.length);
  assert.ok(r.kind === "malformed");
  assert.equal(r.malformed.status, 414);
  assert.equal(r.malformed.why, "the request target is 2049 characters, over 2048");
  // A request line that goes on without its end is refused as soon as it cannot hold a 2048-character target.
  const endless = `GET /${"a".repeat(4000)}`;
  const e = parseHead(enc.encode(endless), endless.length);
  assert.ok(e.kind === "malformed");
  assert.equal(e.malformed.status, 414);
});

Deno.test("http: malformed heads are refused with their status; an unfinished one is incomplete", () => {
  const cases: [string, number, RegExp][] = [
    ["GET /credentials HTTP/1.1\n\n", 400, /bare LF/],
    ["GET /credentials HTTP/1.1\r\nHost: a\n\r\n", 400, /bare LF/],
    ["GET  /credentials HTTP/1.1\r\n\r\n", 400, /METHOD TARGET VERSION/],
    ["GET /credentials\r\n\r\n", 400, /METHOD TARGET VERSION/],
    ["GET /cred\x01entials HTTP/1.1\r\n\r\n", 400, /control character/],
    ["GET /cr\u00e9dentials HTTP/1.1\r\n\r\n", 400, /not visible ASCII/],
    ["GET /credentials#x HTTP/1.1\r\n\r\n", 400, /fragment/],
    ["GET /credentials HTTP/2.0\r\n\r\n", 505, /HTTP\/2\.0/],
    ["GET /credentials FOO\r\n\r\n", 400, /no HTTP version/],
    ["GET /credentials HTTP/1.1\r\nHost : a\r\n\r\n", 400, /header name/],
    ["GET /credentials HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400, /folded/],
    ["GET /credentials HTTP/1.1\r\nnocolon\r\n\r\n", 400, /without a name/],
    ["GET /credentials HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400, /control character/],
    ["GET /credentials HTTP/1.1\r\nX: a\rb\r\n\r\n", 400, /bare CR/],
    ["GET https://127.0.0.1/credentials HTTP/1.1\r\n\r\n", 400, /scheme https/],
    [`GET /credentials HTTP/1.1\r\n${"X: y\r\n".repeat(65)}\r\n`, 431, /more than 64 header lines/],
    [`GET /credentials HTTP/1.1\r\nX: ${"y".repeat(MAX_HEAD_BYTES)}`, 431, /larger than 8192/],
  ];
  for (const [text, status, why] of cases) {
    const bytes = enc.encode(text);
    const r = parseHead(bytes, bytes.length);
    assert.ok(r.kind === "malformed", JSON.stringify(text.slice(0, 60)));
    assert.equal(r.malformed.status, status, JSON.stringify(text.slice(0, 60)));
    assert.match(r.malformed.why, why);
  }
  for (const text of ["", "GET /credentials HTTP/1.1\r\nHost: a\r\n", "GET /cred"]) {
    assert.equal(parseHead(enc.encode(text), text.length).kind, "incomplete", JSON.stringify(text));
  }
});

Deno.test("http: parsing a head that arrives a byte at a time gives the same head (scanFrom)", () => {
  const text = request("/credentials", ["User-Agent: x"]);
  const bytes = enc.encode(text);
  let scanned = 0;
  for (let n = 1; n < bytes.length; n++) {
    assert.equal(parseHead(bytes, n, scanned).kind, "incomplete", `at ${n}`);
    scanned = n;
  }
  assert.deepEqual(parseHead(bytes, bytes.length, scanned), parseHead(bytes, bytes.length));
});

Deno.test("http: an answer on the wire: status line, headers, Content-Length, Connection: close when ending", () => {
  const a: Answer = { status: 405, body: enc.encode("{}"), headers: [["allow", "GET"]] };
  const date = "Sun, 06 Dec 2026 09:00:00 GMT";
  assert.equal(
    new TextDecoder().decode(responseBytes(a, date, false)),
    "HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncache-control: no-store\r\n" +
      `allow: GET\r\ndate: ${date}\r\ncontent-length: 2\r\n\r\n{}`,
  );
  assert.match(
    new TextDecoder().decode(responseBytes(a, date, true)),
    /content-length: 2\r\nconnection: close\r\n\r\n/,
  );
  assert.equal(wantsClose(head("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n")), true);
  assert.equal(wantsClose(head("GET / HTTP/1.0\r\n\r\n")), true);
  assert.equal(wantsClose(head("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n")), false);
});

// ── the checks, alone ────────────────────────────────────────────────────────────────────────────────

const OK: Handler = () => ({ status: 200, body: enc.encode("{}") });

Deno.test("serve: the Host rule: loopback or localhost with our port or none; nothing else", () => {
  for (const host of ["127.0.0.1", "localhost", "LocalHost", `127.0.0.1:${PORT}`, `LOCALHOST:${PORT}`]) {
    assert.equal(hostProblem(host, PORT), undefined, host);
  }
  const refused: [string, number][] = [
    [`evil.example:${PORT}`, 403],
    [`127.0.0.1:${PORT + 1}`, 403],
    [`127.0.0.1:0${PORT}`, 403],
    ["localhost.", 403],
    [`localhost.:${PORT}`, 403],
    ["127.0.0.1.", 403],
    ["127.1", 403],
    [`127.1:${PORT}`, 403],
    [`[::1]:${PORT}`, 403],
    [`127.0.0.1:${PORT}:${PORT}`, 403],
    [`user@127.0.0.1:${PORT}`, 400],
    [`127.0.0.1:${PORT}, 127.0.0.1:${PORT}`, 400],
    [`127.0.0.1:${PORT},evil.example`, 400],
    ["127.0.0.1 ", 400],
    ["", 400],
  ];
  for (const [host, status] of refused) assert.equal(hostProblem(host, PORT)?.status, status, host);
  assert.equal(
    hostProblem(`evil.example:${PORT}`, PORT)?.why,
    `"evil.example:${PORT}" is not 127.0.0.1 or localhost, with port ${PORT} or none`,
  );
});

Deno.test("serve: withHostCheck applies the rule to Host, once, and to an absolute-form target's host", async () => {
  const h = withHostCheck(() => PORT)(OK);
  assert.equal((await h(head(request()))).status, 200);
  assert.equal((await h(head(`GET /credentials HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`))).status, 200);
  assert.equal(
    (await h(head(`GET http://localhost/credentials HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`))).status,
    200,
  );
  const cases: [string, number, string][] = [
    ["GET /credentials HTTP/1.1\r\n\r\n", 400, "no Host header"],
    [
      `GET /credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\n\r\n`,
      400,
      "more than one Host header",
    ],
    [
      `GET /credentials HTTP/1.1\r\nHost: evil.example\r\n\r\n`,
      403,
      `Host "evil.example" is not 127.0.0.1 or localhost, with port ${PORT} or none`,
    ],
    [
      `GET http://evil.example/credentials HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\n\r\n`,
      403,
      `the target's host "evil.example" is not 127.0.0.1 or localhost, with port ${PORT} or none`,
    ],
    [
      `GET http://user@127.0.0.1/credentials HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\n\r\n`,
      400,
      `the target's host "user@127.0.0.1" has user info`,
    ],
  ];
  for (const [text, status, why] of cases) {
    const a = await h(head(text));
    assert.deepEqual([a.status, a.why], [status, why], text);
    assert.deepEqual(body(a), {
      Code: status === 403 ? "Forbidden" : "BadRequest",
      Message: "the Host header must be 127.0.0.1:PORT or localhost:PORT",
    });
  }
});

Deno.test("serve: withRoute, withNoBody, withTokenCheck and withConcurrencyLimit, each alone", async () => {
  const route = withRoute(OK);
  assert.equal((await route(head(request()))).status, 200);
  for (
    const t of [
      "/",
      "/credentials/",
      "/Credentials",
      "/credentials?",
      `/credentials?token=${TOKEN}`,
      "//credentials",
      "/%63redentials",
      "/credentials/../credentials",
    ]
  ) {
    assert.equal((await route(head(request(t)))).status, 404, t);
  }
  const post = await route(head(request("/credentials", [], "POST")));
  assert.deepEqual([post.status, post.headers], [405, [["allow", "GET"]]]);

  const noBody = withNoBody(OK);
  assert.equal((await noBody(head(request("/credentials", ["Content-Length: 0"])))).status, 200);
  const bodies: [string[], number][] = [
    [["Content-Length: 5"], 413],
    [["Transfer-Encoding: chunked"], 413],
    [["Content-Length: 0", "Content-Length: 0"], 400],
    [["Content-Length: -1"], 400],
  ];
  for (const [lines, status] of bodies) {
    const a = await noBody(head(request("/credentials", lines)));
    assert.deepEqual([a.status, a.close], [status, true], lines.join());
  }

  let state: { token: string } | { problem: string } = { token: TOKEN };
  const token = withTokenCheck(() => state)(OK);
  assert.equal((await token(head(request()))).status, 200);
  const refused: [string, string][] = [
    ["GET /credentials HTTP/1.1\r\n\r\n", "no Authorization header"],
    [
      `GET /credentials HTTP/1.1\r\nAuthorization: ${TOKEN}\r\nAuthorization: ${TOKEN}\r\n\r\n`,
      "more than one Authorization header",
    ],
    [`GET /credentials HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`, "not the token"],
  ];
  for (const [text, why] of refused) {
    const a = await token(head(text));
    assert.deepEqual([a.status, a.why], [401, why]);
  }
  state = { problem: "--token-file /t: its mode is 0644: other users can read or write it" };
  const closed = await token(head(request()));
  assert.deepEqual([closed.status, body(closed).Code, closed.why], [503, "TokenFileUnusable", state.problem]);

  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const limited = withConcurrencyLimit(2)(() => gate.then(() => ({ status: 200, body: enc.encode("{}") })));
  const first = [limited(head(request())), limited(head(request()))];
  const third = await limited(head(request()));
  assert.deepEqual([third.status, third.headers], [503, [["retry-after", "1"]]]);
  release();
  for (const a of await Promise.all(first)) assert.equal(a.status, 200);
  assert.equal((await limited(head(request()))).status, 200, "the slots are given back");
});

// ── the endpoint, composed ───────────────────────────────────────────────────────────────────────────

Deno.test("serve: a request with the token gets exactly the document the SDKs parse, and one log line", async () => {
  const { ask, lines } = endpoint();
  const a = await ask(request());
  assert.equal(a.status, 200);
  assert.equal(
    new TextDecoder().decode(a.body),
    '{"AccessKeyId":"ASIAEXAMPLEEXAMPLE01","SecretAccessKey":"secret/EXAMPLE+key",' +
      '"Token":"session+token/EXAMPLE=","Expiration":"2026-12-06T02:00:00Z"}',
  );
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^serve: GET \/credentials 200 \d+ ms$/);
  // The CRT's port-less Host, and localhost in any case.
  for (const host of ["127.0.0.1", "localhost", `LOCALHOST:${PORT}`]) {
    assert.equal(
      (await ask(`GET /credentials HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${TOKEN}\r\n\r\n`)).status,
      200,
    );
  }
  assert.equal(JSON.parse(credentialsDocument(CREDS, true)).AccountId, "123456789012");
  assert.equal(JSON.parse(credentialsDocument(CREDS, false)).AccountId, undefined);
});

Deno.test("serve: refusals come in order (parse, Host, path, method, body, token) and -v says why", async () => {
  const { ask } = endpoint();
  const long = `/credentials?${"a".repeat(3000)}`;
  await expectRefusal(ask(`GET ${long} HTTP/1.1\r\nHost: evil.example\r\n\r\n`), 414, "URITooLong");
  await expectRefusal(ask(`GET /x HTTP/1.1\r\nHost: evil.example\r\n\r\n`), 403, "Forbidden");
  await expectRefusal(ask(`POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`), 404, "NotFound");
  await expectRefusal(
    ask(`POST /credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\n`),
    405,
    "MethodNotAllowed",
  );
  await expectRefusal(
    ask(`GET /credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\n`),
    413,
    "PayloadTooLarge",
  );
  await expectRefusal(ask(`GET /credentials HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`), 401, "Unauthorized");
  const m = await expectRefusal(ask("GET / HTTP/1.1\n\n"), 400, "BadRequest");
  assert.equal(m.close, true);
  await expectRefusal(ask("GET /credentials HTTP/3.0\r\n\r\n"), 505, "VersionNotSupported");
  const cases: [string, string][] = [
    [
      `GET http://evil.example/credentials HTTP/1.1\r\nHost: 127.0.0.1:${PORT}\r\nAuthorization: ${TOKEN}\r\n\r\n`,
      "Forbidden",
    ],
    [`GET /credentials HTTP/1.1\r\nHost: localhost.\r\nAuthorization: ${TOKEN}\r\n\r\n`, "Forbidden"],
    [`GET /credentials HTTP/1.1\r\nHost: 127.1\r\nAuthorization: ${TOKEN}\r\n\r\n`, "Forbidden"],
    [`GET /credentials HTTP/1.1\r\nHost: u@127.0.0.1\r\nAuthorization: ${TOKEN}\r\n\r\n`, "BadRequest"],
  ];
  for (const [text, code] of cases) await expectRefusal(ask(text), code === "Forbidden" ? 403 : 400, code);
});

Deno.test("serve: missing, wrong, longer, shorter and differently-cased tokens are refused with 401", async () => {
  const { ask, lines } = endpoint({ log: requestLog(true, (l) => lines.push(l), () => 0, 0) });
  for (
    const auth of [
      "",
      "wrong",
      `${TOKEN}x`,
      TOKEN.slice(0, -1),
      TOKEN.toUpperCase(),
      `Bearer ${TOKEN}`,
      "x".repeat(5000),
    ]
  ) {
    const a = await ask(`GET /credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${auth}\r\n\r\n`);
    assert.equal(a.status, 401, auth.slice(0, 20));
    assert.deepEqual(body(a), {
      Code: "Unauthorized",
      Message: "the Authorization header is missing or wrong",
    });
  }
  assert.equal(lines.length, 7);
  for (const line of lines) assert.match(line, /^serve: GET \/credentials 401 \d+ ms \(not the token\)$/);
});

Deno.test("serve: a failed call is a 500 naming the kind, scrubbed, reported once for the requests sharing it", async () => {
  const failure = new StsError("AssumeRole", "AccessDenied", `not allowed ${CREDS.secretAccessKey}`);
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const call = gate.then(() => Promise.reject(failure));
  call.catch(() => {});
  const reported: unknown[] = [];
  const { ask } = endpoint({
    credentials: { held: () => undefined, get: () => call },
    onFailure: (e) => reported.push(e),
  });
  const pending = [ask(request()), ask(request()), ask(request())];
  release();
  for (const a of await Promise.all(pending)) {
    assert.equal(a.status, 500);
    assert.deepEqual(body(a), {
      Code: "StsError",
      Message: "AssumeRole: AccessDenied: not allowed [redacted]",
    });
  }
  assert.deepEqual(reported, [failure]);
});

Deno.test("serve: a slow call gets 504 in time; more waiting requests than the bound get 503", async () => {
  const never = new Promise<Credentials>(() => {});
  const { ask } = endpoint({
    credentials: { held: () => undefined, get: () => never },
    timeoutMs: 200,
    maxInFlight: 1,
  });
  const started = performance.now();
  const first = ask(request());
  await expectRefusal(ask(request()), 503, "TooManyRequests");
  await expectRefusal(first, 504, "Timeout");
  const ms = performance.now() - started;
  assert.ok(ms >= 190 && ms < 5000, `${ms} ms`);
});

// ── the refusal log ──────────────────────────────────────────────────────────────────────────────────

Deno.test("serve: refusals are logged at most once a second, the rest as one count; 200s always", async () => {
  let now = 0;
  const lines: string[] = [];
  const log = requestLog(true, (l) => lines.push(l), () => now, 1000);
  const refused = (status: number): Answer => ({ status, body: new Uint8Array(), why: "why" });
  log.answered("GET", "/credentials", refused(401), 0);
  for (let i = 0; i < 1000; i++) log.answered("GET", "/credentials", refused(i % 10 === 0 ? 403 : 401), 0);
  log.answered("GET", "/credentials", { status: 200, body: new Uint8Array() }, 1.4);
  assert.deepEqual(lines, ["serve: GET /credentials 401 0 ms (why)", "serve: GET /credentials 200 1 ms"]);
  now = 1000; // the period is over: the count, then this one in full
  log.answered(undefined, undefined, refused(400), 0);
  assert.deepEqual(lines.slice(2), [
    "serve: refused 1000 more requests in 1 s (401: 900, 403: 100)",
    "serve: ? ? 400 0 ms (why)",
  ]);
  log.answered("GET", "/x", refused(404), 0);
  log.flush();
  assert.deepEqual(lines.slice(4), ["serve: refused 1 more requests in 1 s (404: 1)"]);
  // Under a steady flood the timer writes the count once a period: a few lines, and no refusal lost.
  const timed: string[] = [];
  const flood = requestLog(true, (l) => timed.push(l), () => performance.now(), 100);
  const started = performance.now();
  let sent = 0;
  while (performance.now() < started + 350) {
    flood.answered("GET", "/credentials", refused(401), 0);
    sent++;
    await new Promise((r) => setTimeout(r, 1));
  }
  flood.flush();
  const periods = Math.ceil((performance.now() - started) / 100);
  assert.ok(
    timed.length >= 2 && timed.length <= 2 * periods + 1,
    `${timed.length} lines in ${periods} periods`,
  );
  let counted = 0;
  for (const line of timed) {
    const m = /^serve: refused (\d+) more requests in 0\.1 s \(401: \1\)$/.exec(line);
    if (m) counted += Number(m[1]);
    else (assert.equal(line, "serve: GET /credentials 401 0 ms (why)"), counted++);
  }
  assert.equal(counted, sent);
  // Without -v or a log file nothing is built or written.
  const quiet: string[] = [];
  requestLog(false, (l) => quiet.push(l)).answered("GET", "/", refused(401), 0);
  assert.deepEqual(quiet, []);
});

// ── shared credentials and the margin ────────────────────────────────────────────────────────────────

Deno.test("serve: concurrent requests share one call; fresh credentials are held; stale ones and failures are fetched again", async () => {
  let now = Date.parse("2026-12-06T01:00:00Z");
  let calls = 0;
  let fail = false;
  const shared = sharedCredentials(
    async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      if (fail) throw new Error("boom");
      return { ...CREDS, accessKeyId: `ASIA${calls}`, expiration: new Date(now + 120_000) };
    },
    () => now,
    () => 60_000,
  );
  assert.equal(shared.held(), undefined);
  const got = await Promise.all(Array.from({ length: 50 }, () => shared.get()));
  assert.equal(calls, 1);
  assert.ok(got.every((c) => c.accessKeyId === "ASIA1"));
  now += 59_000; // 61 s left > 60 s margin: held
  assert.equal(shared.held()?.accessKeyId, "ASIA1");
  assert.equal((await shared.get()).accessKeyId, "ASIA1");
  assert.equal(calls, 1);
  now += 2_000; // 59 s left: inside the margin
  assert.equal(shared.held(), undefined);
  fail = true;
  await assert.rejects(Promise.all([shared.get(), shared.get()]), /boom/);
  assert.equal(calls, 2, "the two requests shared the failed call");
  fail = false;
  assert.equal((await shared.get()).accessKeyId, "ASIA3", "a failure is not remembered");
});

Deno.test("serve: the margin is the cache's rule on the session's lifetime, from the entry's issuedAt", async () => {
  const margin = 900_000; // the default 15 min: a 900 s session is due at half its lifetime, 450 s left
  let now = Date.parse("2026-12-06T01:00:00Z");
  // The cache hands over the entry's issuedAt with the credentials.
  const issued = now - 449_000;
  const c: Credentials = { ...CREDS, expiration: new Date(issued + 900_000) };
  const v = judgeEntry(
    { isFile: true, isSymlink: false, mode: 0o100600, uid: 1000, size: 500 },
    JSON.stringify(entryFor("a".repeat(64), c, issued)),
    { key: "a".repeat(64), now, marginMs: margin, uid: 1000 },
  );
  assert.ok(v.ok, "451 s left of 900: the cache trusts it");
  assert.equal(v.credentials.issuedAt?.getTime(), issued);
  let calls = 0;
  const shared = sharedCredentials(
    () => (calls++, Promise.resolve(calls === 1 ? v.credentials : { ...c, issuedAt: undefined })),
    () => now,
    (lifetime) => effectiveMarginMs(margin, lifetime),
  );
  await shared.get();
  assert.ok(shared.held(), "451 s left: held");
  now += 2000; // 449 s left of a 900 s session: due by the cache's rule (not 224.5 s, half of what was left)
  assert.equal(shared.held(), undefined);
  await shared.get();
  assert.equal(calls, 2);
  // Credentials without issuedAt (fresh from STS): their lifetime counts from when they arrived.
  now += 1000;
  const fresh = sharedCredentials(
    () => Promise.resolve({ ...CREDS, expiration: new Date(now + 900_000) }),
    () => now,
    (lifetime) => effectiveMarginMs(margin, lifetime),
  );
  await fresh.get();
  now += 449_000;
  assert.ok(fresh.held());
  now += 2000;
  assert.equal(fresh.held(), undefined);
});

// ── the token ────────────────────────────────────────────────────────────────────────────────────────

Deno.test("serve: tokens are compared whole; a new token is 43 URL-safe characters, different each time", () => {
  assert.equal(sameToken(TOKEN, TOKEN), true);
  assert.equal(sameToken("", TOKEN), false);
  assert.equal(sameToken(TOKEN + TOKEN, TOKEN), false);
  assert.equal(sameToken(TOKEN.replace(/.$/, "!"), TOKEN), false);
  assert.equal(sameToken(TOKEN.slice(0, 20), TOKEN.slice(0, 20) + TOKEN.slice(0, 20)), false);
  const a = newToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(newToken(), a);
});

Deno.test("serve: a token file must hold the token alone", () => {
  assert.equal(tokenFromFile(TOKEN, "/t"), TOKEN);
  const refused: [string, RegExp][] = [
    [`${TOKEN}\n`, /ends with a line break/],
    [`${TOKEN}\r\n`, /ends with a line break/],
    [`a b${TOKEN}`, /only visible ASCII/],
    [`${TOKEN}\u00e9`, /only visible ASCII/],
    [`${TOKEN}\n${TOKEN}`, /only visible ASCII/],
    ["", /shorter than 16/],
    ["x".repeat(MIN_TOKEN_CHARS - 1), /shorter than 16/],
  ];
  for (const [text, why] of refused) {
    assert.throws(() => tokenFromFile(text, "/t"), (e) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.what, "--token-file /t");
      assert.match(e.message, why);
      assert.match(e.hint ?? "", /printf %s/);
      return true;
    });
  }
});

Deno.test("serve: a token file is held to ssh's rule: a regular file of ours, no access for others", () => {
  const good: TokenFileFacts = { isFile: true, isDirectory: false, mode: 0o100600, uid: 1000, size: 43 };
  assert.equal(judgeTokenFile(good, 1000), undefined);
  assert.equal(judgeTokenFile({ ...good, mode: 0o100400 }, 1000), undefined);
  assert.equal(judgeTokenFile({ ...good, mode: null, uid: null }, null), undefined, "Windows");
  const cases: [Partial<TokenFileFacts>, string][] = [
    [{ mode: 0o100644 }, "its mode is 0644: other users can read or write it"],
    [{ mode: 0o100660 }, "its mode is 0660: other users can read or write it"],
    [{ mode: 0o100602 }, "its mode is 0602: other users can read or write it"],
    [{ mode: 0o100610 }, "its mode is 0610: it is not private"],
    [{ uid: 65534 }, "it belongs to uid 65534, not to this user (uid 1000)"],
    [{ isFile: false }, "not a regular file (a FIFO, device or socket)"],
    [{ isFile: false, isDirectory: true }, "is a directory, not a file"],
    [{ size: 5000 }, "larger than 4096 bytes"],
  ];
  for (const [facts, why] of cases) assert.equal(judgeTokenFile({ ...good, ...facts }, 1000), why);
});

// ── what the shell is told ───────────────────────────────────────────────────────────────────────────

Deno.test("serve: the export lines, quoted for sh when needed", () => {
  assert.equal(
    exportLines(8123, { token: "abc_DEF-123" }),
    "export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:8123/credentials\n" +
      "export AWS_CONTAINER_AUTHORIZATION_TOKEN=abc_DEF-123\n",
  );
  assert.equal(
    exportLines(8123, { tokenFile: "/home/a b/it's" }),
    "export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:8123/credentials\n" +
      "export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE='/home/a b/it'\\''s'\n",
  );
});

Deno.test("serve: the warning when the environment or the profile in force would shadow the endpoint", () => {
  const files = (credentials: ProfileFiles["credentialsFile"], config: ProfileFiles["configFile"] = {}) => ({
    credentialsFile: credentials,
    configFile: config,
    credentialsPath: "/h/.aws/credentials",
    configPath: "/h/.aws/config",
  });
  const keys = { aws_access_key_id: "AKIAEXAMPLE", aws_secret_access_key: "s" };
  const head = "credproc: warning: the AWS SDKs use";
  const tail = "before AWS_CONTAINER_CREDENTIALS_FULL_URI; where the export lines are used, also run:";
  const cases: [Parameters<typeof shadowWarning>[0], ProfileFiles, string | undefined][] = [
    [{}, files({}), undefined],
    [{}, files({ src: keys }), undefined],
    [{ AWS_PROFILE: "src" }, files({ default: keys }, { src: { region: "eu-west-1" } }), undefined],
    [{ AWS_ACCESS_KEY_ID: "" }, files({ default: {} }), undefined],
    [
      { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE" },
      files({}),
      `${head} AWS_ACCESS_KEY_ID from the environment ${tail} unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN`,
    ],
    [
      {},
      files({ default: keys }),
      `${head} the keys of profile default (in /h/.aws/credentials) ${tail} export AWS_SHARED_CREDENTIALS_FILE=/dev/null`,
    ],
    [
      { AWS_PROFILE: "default" },
      files({}, { default: keys }),
      `${head} the keys of profile default (in /h/.aws/config) ${tail} export AWS_CONFIG_FILE=/dev/null`,
    ],
    [
      { AWS_PROFILE: "src" },
      files({ src: keys }),
      `${head} the keys of profile src (AWS_PROFILE, in /h/.aws/credentials) ${tail} unset AWS_PROFILE`,
    ],
    [
      { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_PROFILE: "src" },
      files({ src: keys, default: keys }),
      `${head} AWS_ACCESS_KEY_ID from the environment and the keys of profile src (AWS_PROFILE, in ` +
      `/h/.aws/credentials) and the keys of profile default (in /h/.aws/credentials) ${tail} unset ` +
      "AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; unset AWS_PROFILE; " +
      "export AWS_SHARED_CREDENTIALS_FILE=/dev/null",
    ],
  ];
  for (const [env, f, line] of cases) assert.equal(shadowWarning(env, f), line, JSON.stringify(env));
});
