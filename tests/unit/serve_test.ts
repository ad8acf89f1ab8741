/**
 * `credproc serve`'s request handling without sockets (lib/serve/server.ts): every refusal with its status
 * and body, the exact credentials document, one shared call for concurrent requests, the token rules.
 */
import assert from "node:assert/strict";
import {
  createHandler,
  credentialsDocument,
  exportLines,
  type HandlerOptions,
  MIN_TOKEN_CHARS,
  newToken,
  sameToken,
  sharedCredentials,
  tokenFromFile,
} from "../../lib/serve/server.ts";
import { InputError, StsError } from "../../lib/errors.ts";
import type { Credentials } from "../../lib/model.ts";

const TOKEN = "tok_0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
const PORT = 41234;
const URL_OK = `http://127.0.0.1:${PORT}/credentials`;
const CREDS: Credentials = {
  accessKeyId: "ASIAEXAMPLEEXAMPLE01",
  secretAccessKey: "secret/EXAMPLE+key",
  sessionToken: "session+token/EXAMPLE=",
  expiration: new Date("2026-12-06T02:00:00.999Z"),
  accountId: "123456789012",
};

function handler(over: Partial<HandlerOptions> = {}) {
  const lines: string[] = [];
  const h = createHandler({
    token: TOKEN,
    port: () => PORT,
    credentials: () => Promise.resolve(CREDS),
    includeAccountId: false,
    timeoutMs: 1000,
    log: (l) => lines.push(l),
    scrub: (t) => t.replaceAll(CREDS.secretAccessKey, "[redacted]"),
    ...over,
  });
  return { h, lines };
}

function get(url = URL_OK, headers: Record<string, string> = {}, init: RequestInit = {}): Request {
  return new Request(url, {
    headers: { host: `127.0.0.1:${PORT}`, authorization: TOKEN, ...headers },
    ...init,
  });
}

async function expectRefusal(res: Response, status: number, code: string): Promise<void> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal((await res.json()).Code, code);
}

Deno.test("serve: a request with the token gets exactly the document the SDKs parse", async () => {
  const { h, lines } = handler();
  const res = await h(get());
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(
    await res.text(),
    '{"AccessKeyId":"ASIAEXAMPLEEXAMPLE01","SecretAccessKey":"secret/EXAMPLE+key",' +
      '"Token":"session+token/EXAMPLE=","Expiration":"2026-12-06T02:00:00Z"}',
  );
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^serve: GET \/credentials 200 \d+ ms$/);
  // localhost and the loopback address, any case, with the port
  for (const host of [`localhost:${PORT}`, `LOCALHOST:${PORT}`]) {
    assert.equal((await h(get(URL_OK, { host }))).status, 200, host);
  }
});

Deno.test("serve: --include-account-id adds AccountId (botocore reads it)", () => {
  assert.equal(JSON.parse(credentialsDocument(CREDS, true)).AccountId, "123456789012");
  assert.equal(JSON.parse(credentialsDocument(CREDS, false)).AccountId, undefined);
});

Deno.test("serve: missing, wrong, longer, shorter and differently-cased tokens are refused with 401", async () => {
  const { h, lines } = handler();
  const cases: (string | undefined)[] = [
    undefined,
    "",
    "wrong",
    `${TOKEN}x`,
    TOKEN.slice(0, -1),
    TOKEN.toUpperCase(),
    `Bearer ${TOKEN}`,
    "x".repeat(5000),
  ];
  for (const auth of cases) {
    const headers = new Headers({ host: `127.0.0.1:${PORT}` });
    if (auth !== undefined) headers.set("authorization", auth);
    const res = await h(new Request(URL_OK, { headers }));
    assert.equal(res.status, 401, `token ${auth?.slice(0, 20)}`);
    assert.deepEqual(await res.json(), {
      Code: "Unauthorized",
      Message: "the Authorization header is missing or wrong",
    });
  }
  for (const line of lines) assert.ok(!line.includes(TOKEN.slice(0, 10)), line);
});

Deno.test("serve: another Host (DNS rebinding), path, query, method or a body is refused before the token", async () => {
  const { h, lines } = handler();
  await expectRefusal(await h(get(URL_OK, { host: `evil.example:${PORT}` })), 403, "Forbidden");
  await expectRefusal(await h(get(URL_OK, { host: `127.0.0.1:${PORT + 1}` })), 403, "Forbidden");
  await expectRefusal(await h(get(URL_OK, { host: "127.0.0.1" })), 403, "Forbidden");
  await expectRefusal(await h(get(`http://127.0.0.1:${PORT}/`)), 404, "NotFound");
  await expectRefusal(await h(get(`http://127.0.0.1:${PORT}/credentials/`)), 404, "NotFound");
  await expectRefusal(await h(get(`${URL_OK}?token=${TOKEN}`)), 404, "NotFound");
  await expectRefusal(await h(get(`${URL_OK}?${"a".repeat(3000)}`)), 414, "URITooLong");
  const post = await h(get(URL_OK, {}, { method: "POST" }));
  assert.equal(post.headers.get("allow"), "GET");
  await expectRefusal(post, 405, "MethodNotAllowed");
  await expectRefusal(await h(get(URL_OK, {}, { method: "PUT", body: "x" })), 405, "MethodNotAllowed");
  await expectRefusal(await h(get(URL_OK, { "content-length": "5" })), 413, "PayloadTooLarge");
  await expectRefusal(await h(get(URL_OK, { "transfer-encoding": "chunked" })), 413, "PayloadTooLarge");
  // The query string (which held the token above) is never logged.
  for (const line of lines) assert.ok(!line.includes(TOKEN.slice(0, 10)), line);
  assert.ok(lines.some((l) => /^serve: GET \/credentials 404 \d+ ms$/.test(l)));
});

Deno.test("serve: a failed call is a 500 naming the kind, scrubbed, reported once for the requests sharing it", async () => {
  const failure = new StsError("AssumeRole", "AccessDenied", `not allowed ${CREDS.secretAccessKey}`);
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const shared = gate.then(() => Promise.reject(failure));
  shared.catch(() => {});
  const reported: unknown[] = [];
  const { h } = handler({ credentials: () => shared, onFailure: (e) => reported.push(e) });
  const pending = [h(get()), h(get()), h(get())];
  release();
  for (const res of await Promise.all(pending)) {
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), {
      Code: "StsError",
      Message: "AssumeRole: AccessDenied: not allowed [redacted]",
    });
  }
  assert.deepEqual(reported, [failure]);
});

Deno.test("serve: more requests in flight than the bound get 503; a slow call gets 504 in time", async () => {
  let release!: (c: Credentials) => void;
  const slow = new Promise<Credentials>((r) => release = r);
  const { h } = handler({ credentials: () => slow, maxInFlight: 2 });
  const first = [h(get()), h(get())];
  const third = await h(get());
  assert.equal(third.headers.get("retry-after"), "1");
  await expectRefusal(third, 503, "TooManyRequests");
  release(CREDS);
  for (const res of await Promise.all(first)) assert.equal(res.status, 200);
  assert.equal((await h(get())).status, 200, "the slots are given back");

  const never = new Promise<Credentials>(() => {});
  const t = handler({ credentials: () => never, timeoutMs: 200 }).h;
  const started = performance.now();
  await expectRefusal(await t(get()), 504, "Timeout");
  const ms = performance.now() - started;
  assert.ok(ms >= 190 && ms < 2000, `${ms} ms`);
});

Deno.test("serve: concurrent requests share one call; fresh credentials are held; stale ones and failures are fetched again", async () => {
  let now = Date.parse("2026-12-06T01:00:00Z");
  let calls = 0;
  let fail = false;
  const margin = 60_000;
  const shared = sharedCredentials(
    async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      if (fail) throw new Error("boom");
      return { ...CREDS, accessKeyId: `ASIA${calls}`, expiration: new Date(now + 120_000) };
    },
    () => now,
    () => margin,
  );
  const got = await Promise.all(Array.from({ length: 50 }, () => shared.get()));
  assert.equal(calls, 1);
  assert.ok(got.every((c) => c.accessKeyId === "ASIA1"));
  now += 59_000; // 61 s left > 60 s margin: held
  assert.equal((await shared.get()).accessKeyId, "ASIA1");
  assert.equal(calls, 1);
  now += 2_000; // 59 s left: inside the margin
  fail = true;
  await assert.rejects(Promise.all([shared.get(), shared.get()]), /boom/);
  assert.equal(calls, 2, "the two requests shared the failed call");
  fail = false;
  assert.equal((await shared.get()).accessKeyId, "ASIA3", "a failure is not remembered");
  // The margin is asked for with the lifetime left when the credentials arrived.
  const lifetimes: number[] = [];
  const halves = sharedCredentials(
    () => Promise.resolve({ ...CREDS, expiration: new Date(now + 900_000) }),
    () => now,
    (lifetime) => (lifetimes.push(lifetime), lifetime / 2),
  );
  await halves.get();
  now += 449_000;
  await halves.get();
  assert.deepEqual(lifetimes, [900_000]);
  now += 2_000;
  await halves.get();
  assert.deepEqual(lifetimes, [900_000, 900_000]);
});

Deno.test("serve: tokens are compared whole; a new token is 43 URL-safe characters, different each time", () => {
  assert.equal(sameToken(TOKEN, TOKEN), true);
  assert.equal(sameToken("", TOKEN), false);
  assert.equal(sameToken(TOKEN + TOKEN, TOKEN), false);
  assert.equal(sameToken(TOKEN.replace(/.$/, "!"), TOKEN), false);
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
