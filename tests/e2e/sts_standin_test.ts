/**
 * Tests of the STS stand-in (tests/support/sts_standin/mod.ts): the JS SDK, the AWS CLI v1 and v2 and raw requests
 * against it, signature checks, faults, MFA, web identity and the control endpoints.
 */

import assert from "node:assert/strict";
import { AWS_V2 } from "../support/helpers.ts";
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import { FetchHttpHandler } from "@smithy/fetch-http-handler";
import {
  type Fault,
  signStsRequest,
  type Standin,
  STANDIN_ACCESS_KEY_ID,
  STANDIN_KEYS,
  STANDIN_SECRET_ACCESS_KEY,
  STANDIN_USER_ARN,
  startStandin,
  STS_XMLNS,
} from "../support/sts_standin/mod.ts";

const ROLE_ARN = "arn:aws:iam::111122223333:role/team/Deployer";
const ROLE_SESSION_ARN = "arn:aws:sts::111122223333:assumed-role/Deployer/ci";
const REPO = new URL("../..", import.meta.url);

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const BASE: Creds = { accessKeyId: STANDIN_ACCESS_KEY_ID, secretAccessKey: STANDIN_SECRET_ACCESS_KEY };

function sdkClient(standin: Standin, credentials: Creds = BASE, region = "us-east-1"): STSClient {
  return new STSClient({
    region,
    endpoint: standin.url,
    credentials,
    requestHandler: new FetchHttpHandler(),
    maxAttempts: 1,
  });
}

/** Sends a raw STS Query request, signed with `creds` unless `creds` is null. */
async function rawCall(
  standin: Standin,
  params: Record<string, string>,
  creds: Creds | null = BASE,
  init: { region?: string; now?: number; tamper?: (h: Headers) => void; signal?: AbortSignal } = {},
): Promise<Response> {
  const body = new URLSearchParams({ Version: "2011-06-15", ...params }).toString();
  const headers = creds === null
    ? new Headers({ "content-type": "application/x-www-form-urlencoded; charset=utf-8" })
    : await signStsRequest({ url: standin.url, body, ...creds, region: init.region, now: init.now });
  init.tamper?.(headers);
  return await fetch(standin.url, { method: "POST", headers, body, signal: init.signal });
}

/** The text of the first `<name>` element. */
function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m?.[1].replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");
}

async function expectStsError(
  res: Response,
  status: number,
  code: string,
  message?: RegExp,
): Promise<string> {
  const xml = await res.text();
  assert.equal(res.status, status, xml);
  assert.equal(res.headers.get("content-type"), "text/xml");
  assert.ok(xml.startsWith(`<ErrorResponse xmlns="${STS_XMLNS}">`), xml);
  assert.equal(tag(xml, "Type"), status >= 500 ? "Receiver" : "Sender");
  assert.equal(tag(xml, "Code"), code);
  if (message) assert.match(tag(xml, "Message") ?? "", message);
  assert.match(tag(xml, "RequestId") ?? "", /^[0-9a-f-]{36}$/);
  return xml;
}

async function assumeRaw(standin: Standin, creds: Creds = BASE, extra: Record<string, string> = {}) {
  const res = await rawCall(standin, {
    Action: "AssumeRole",
    RoleArn: ROLE_ARN,
    RoleSessionName: "ci",
    ...extra,
  }, creds);
  const xml = await res.text();
  assert.equal(res.status, 200, xml);
  return {
    xml,
    creds: {
      accessKeyId: tag(xml, "AccessKeyId")!,
      secretAccessKey: tag(xml, "SecretAccessKey")!,
      sessionToken: tag(xml, "SessionToken")!,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The JS SDK
// ---------------------------------------------------------------------------------------------------------

Deno.test("JS SDK: AssumeRole is signed, verified and answered with usable credentials", async () => {
  await using standin = await startStandin();
  const before = Date.now();
  const out = await sdkClient(standin, BASE, "eu-west-1").send(
    new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "ci" }),
  );
  const c = out.Credentials!;
  assert.match(c.AccessKeyId!, /^ASIA[A-Z0-9]{16}$/);
  assert.equal(c.SecretAccessKey!.length, 40);
  assert.ok(c.SessionToken!.length > 400);
  assert.ok(c.Expiration instanceof Date);
  const lifetime = c.Expiration.getTime() - before;
  assert.ok(lifetime > 3590_000 && lifetime <= 3600_000 + 5_000, `lifetime ${lifetime}`);
  assert.equal(out.AssumedRoleUser?.Arn, ROLE_SESSION_ARN);
  assert.match(out.AssumedRoleUser?.AssumedRoleId ?? "", /^AROA[A-Z0-9]{17}:ci$/);
  assert.equal(out.PackedPolicySize, undefined); // real STS omits it without session policies or tags

  assert.equal(standin.count(), 1);
  const [rec] = standin.requests;
  assert.equal(rec.action, "AssumeRole");
  assert.equal(rec.signatureValid, true);
  assert.equal(rec.accessKeyId, STANDIN_ACCESS_KEY_ID);
  assert.equal(rec.region, "eu-west-1");
  assert.equal(rec.params.RoleArn, ROLE_ARN);
  assert.equal(rec.params.Version, "2011-06-15");
  assert.equal(rec.status, 200);
  assert.equal(standin.issued.get(c.AccessKeyId!)?.sessionToken, c.SessionToken);
});

Deno.test("JS SDK: chained AssumeRole with issued credentials verifies; GetCallerIdentity names the session", async () => {
  await using standin = await startStandin();
  const first = await sdkClient(standin).send(
    new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "ci" }),
  );
  const session: Creds = {
    accessKeyId: first.Credentials!.AccessKeyId!,
    secretAccessKey: first.Credentials!.SecretAccessKey!,
    sessionToken: first.Credentials!.SessionToken!,
  };
  const who = await sdkClient(standin, session).send(new GetCallerIdentityCommand({}));
  assert.equal(who.Arn, ROLE_SESSION_ARN);
  assert.equal(who.Account, "111122223333");
  assert.match(who.UserId!, /^AROA[A-Z0-9]{17}:ci$/);

  // Chained into another partition and account: both taken from the RoleArn.
  const chained = await sdkClient(standin, session, "cn-north-1").send(
    new AssumeRoleCommand({ RoleArn: "arn:aws-cn:iam::999988887777:role/Reader", RoleSessionName: "hop2" }),
  );
  assert.equal(chained.AssumedRoleUser?.Arn, "arn:aws-cn:sts::999988887777:assumed-role/Reader/hop2");
  const hop2: Creds = {
    accessKeyId: chained.Credentials!.AccessKeyId!,
    secretAccessKey: chained.Credentials!.SecretAccessKey!,
    sessionToken: chained.Credentials!.SessionToken!,
  };
  const who2 = await sdkClient(standin, hop2).send(new GetCallerIdentityCommand({}));
  assert.equal(who2.Arn, "arn:aws-cn:sts::999988887777:assumed-role/Reader/hop2");

  // Role chaining is limited to one hour, like STS.
  await assert.rejects(
    sdkClient(standin, session).send(
      new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "long", DurationSeconds: 7200 }),
    ),
    (e: Error) => e.name === "ValidationError" && /1 hour session limit/.test(e.message),
  );

  const base = await sdkClient(standin).send(new GetCallerIdentityCommand({}));
  assert.equal(base.Arn, STANDIN_USER_ARN);
  assert.equal(base.Account, "123456789012");
  assert.ok(standin.requests.every((r) => r.signatureValid === true), JSON.stringify(standin.requests));
  assert.deepEqual(standin.requests.map((r) => r.hasSessionToken), [false, true, true, true, true, false]);
  assert.equal(standin.count("GetCallerIdentity"), 3);
  assert.equal(standin.count("AssumeRole"), 3);
});

Deno.test("JS SDK: GetSessionToken lasts 12 hours by default and its credentials can AssumeRole", async () => {
  await using standin = await startStandin();
  const before = Date.now();
  const out = await sdkClient(standin).send(new GetSessionTokenCommand({}));
  const c = out.Credentials!;
  const lifetime = c.Expiration!.getTime() - before;
  assert.ok(lifetime > 43190_000 && lifetime <= 43205_000, `lifetime ${lifetime}`);
  const session: Creds = {
    accessKeyId: c.AccessKeyId!,
    secretAccessKey: c.SecretAccessKey!,
    sessionToken: c.SessionToken!,
  };
  assert.equal(
    (await sdkClient(standin, session).send(new GetCallerIdentityCommand({}))).Arn,
    STANDIN_USER_ARN,
  );
  const role = await sdkClient(standin, session).send(
    new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "ci", DurationSeconds: 7200 }),
  );
  assert.equal(role.AssumedRoleUser?.Arn, ROLE_SESSION_ARN);
  await assert.rejects(
    sdkClient(standin, session).send(new GetSessionTokenCommand({})),
    (e: Error) => e.name === "AccessDenied" && /session credentials/.test(e.message),
  );
});

Deno.test("expirationMs pins Expiration (with milliseconds); expired credentials get ExpiredToken", async () => {
  const at = Date.parse("2031-11-25T20:57:01.884Z");
  await using standin = await startStandin({ expirationMs: at });
  const { xml } = await assumeRaw(standin);
  assert.equal(tag(xml, "Expiration"), "2031-11-25T20:57:01.884Z");
  assert.ok(xml.startsWith(`<AssumeRoleResponse xmlns="${STS_XMLNS}">`));
  assert.match(tag(xml, "RequestId") ?? "", /^[0-9a-f-]{36}$/);

  standin.configure({ expirationMs: Date.now() - 1000 });
  const { creds: stale } = await assumeRaw(standin);
  await expectStsError(
    await rawCall(standin, { Action: "GetCallerIdentity" }, stale),
    400,
    "ExpiredToken",
    /expired/,
  );
});

// ---------------------------------------------------------------------------------------------------------
// Signature checks
// ---------------------------------------------------------------------------------------------------------

Deno.test("signatures: tampering, unknown keys, tokens and stale dates are refused like STS", async (t) => {
  await using standin = await startStandin();
  const gci = { Action: "GetCallerIdentity" };

  await t.step("a correct raw signature verifies", async () => {
    const res = await rawCall(standin, gci);
    const xml = await res.text();
    assert.equal(res.status, 200, xml);
    assert.equal(tag(xml, "Arn"), STANDIN_USER_ARN);
    assert.equal(standin.requests.at(-1)?.signatureValid, true);
  });

  await t.step("a flipped signature character → 403 SignatureDoesNotMatch", async () => {
    const res = await rawCall(standin, gci, BASE, {
      tamper(h) {
        const auth = h.get("authorization")!;
        const last = auth.at(-1) === "0" ? "1" : "0";
        h.set("authorization", auth.slice(0, -1) + last);
      },
    });
    await expectStsError(res, 403, "SignatureDoesNotMatch", /signature we calculated does not match/);
    const rec = standin.requests.at(-1)!;
    assert.equal(rec.signatureValid, false);
    assert.equal(rec.errorCode, "SignatureDoesNotMatch");
  });

  await t.step("a body changed after signing → SignatureDoesNotMatch", async () => {
    const body = "Action=GetCallerIdentity&Version=2011-06-15";
    const headers = await signStsRequest({ url: standin.url, body, ...BASE });
    const res = await fetch(standin.url, { method: "POST", headers, body: body + "&Extra=1" });
    await expectStsError(res, 403, "SignatureDoesNotMatch");
  });

  await t.step("the wrong secret → SignatureDoesNotMatch", async () => {
    await expectStsError(
      await rawCall(standin, gci, { ...BASE, secretAccessKey: "not-the-secret" }),
      403,
      "SignatureDoesNotMatch",
    );
  });

  await t.step("an unknown key → 403 InvalidClientTokenId", async () => {
    await expectStsError(
      await rawCall(standin, gci, { accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "x" }),
      403,
      "InvalidClientTokenId",
      /security token included in the request is invalid/,
    );
  });

  await t.step("issued keys need their own session token", async () => {
    const { creds } = await assumeRaw(standin);
    const { sessionToken: _, ...noToken } = creds;
    await expectStsError(await rawCall(standin, gci, noToken), 403, "InvalidClientTokenId");
    assert.equal(standin.requests.at(-1)?.signatureValid, true); // the signature itself was right
    await expectStsError(
      await rawCall(standin, gci, { ...creds, sessionToken: creds.sessionToken.slice(0, -4) + "AAAA" }),
      403,
      "InvalidClientTokenId",
    );
    const ok = await rawCall(standin, gci, creds);
    assert.equal(tag(await ok.text(), "Arn"), ROLE_SESSION_ARN);
  });

  await t.step("a token with long-term keys → InvalidClientTokenId", async () => {
    await expectStsError(
      await rawCall(standin, gci, { ...BASE, sessionToken: "bogus" }),
      403,
      "InvalidClientTokenId",
    );
  });

  await t.step("no Authorization → 403 MissingAuthenticationToken", async () => {
    await expectStsError(await rawCall(standin, gci, null), 403, "MissingAuthenticationToken");
    assert.equal(standin.requests.at(-1)?.signatureValid, null);
  });

  await t.step("an X-Amz-Date 20 minutes old → SignatureDoesNotMatch (signature expired)", async () => {
    const res = await rawCall(standin, gci, BASE, { now: Date.now() - 20 * 60_000 });
    await expectStsError(
      res,
      403,
      "SignatureDoesNotMatch",
      /^Signature expired: \d{8}T\d{6}Z is now earlier than/,
    );
  });

  await t.step("a scope for another service → SignatureDoesNotMatch", async () => {
    const res = await rawCall(standin, gci, BASE, {
      tamper(h) {
        h.set("authorization", h.get("authorization")!.replace("/sts/aws4_request", "/iam/aws4_request"));
      },
    });
    await expectStsError(res, 403, "SignatureDoesNotMatch", /correct service: 'sts'/);
  });
});

Deno.test("signatures: verifySignatures false records but does not refuse", async () => {
  await using standin = await startStandin({ verifySignatures: false });
  const res = await rawCall(standin, { Action: "GetCallerIdentity" }, { ...BASE, secretAccessKey: "wrong" });
  assert.equal(res.status, 200, await res.text());
  assert.equal(standin.requests[0].signatureValid, false);
  const unsigned = await rawCall(standin, { Action: "GetCallerIdentity" }, null);
  assert.equal(unsigned.status, 200, await unsigned.text());
  assert.equal(standin.requests[1].signatureValid, null);
});

Deno.test("custom keys replace the default ones", async () => {
  await using standin = await startStandin({ keys: { AKIAOTHERKEY00000001: "other-secret" } });
  assert.equal(standin.accessKeyId, "AKIAOTHERKEY00000001");
  await expectStsError(await rawCall(standin, { Action: "GetCallerIdentity" }), 403, "InvalidClientTokenId");
  const res = await rawCall(standin, { Action: "GetCallerIdentity" }, {
    accessKeyId: "AKIAOTHERKEY00000001",
    secretAccessKey: "other-secret",
  });
  assert.equal(res.status, 200, await res.text());
  assert.deepEqual(Object.keys(STANDIN_KEYS), [STANDIN_ACCESS_KEY_ID]);
});

Deno.test("validation errors look like STS's", async () => {
  await using standin = await startStandin();
  await expectStsError(
    await rawCall(standin, { Action: "AssumeRole", RoleSessionName: "ci" }),
    400,
    "ValidationError",
    /Value null at 'roleArn' failed to satisfy constraint: Member must not be null/,
  );
  await expectStsError(
    await rawCall(standin, { Action: "AssumeRole", RoleArn: ROLE_ARN, RoleSessionName: "bad name" }),
    400,
    "ValidationError",
    /roleSessionName/,
  );
  await expectStsError(
    await rawCall(standin, {
      Action: "AssumeRole",
      RoleArn: ROLE_ARN,
      RoleSessionName: "ci",
      DurationSeconds: "60",
    }),
    400,
    "ValidationError",
    /greater than or equal to 900/,
  );
  await expectStsError(
    await rawCall(standin, {
      Action: "AssumeRole",
      RoleArn: ROLE_ARN,
      RoleSessionName: "ci",
      Policy: "{nope",
    }),
    400,
    "MalformedPolicyDocument",
  );
  await expectStsError(await rawCall(standin, { Action: "DeleteEverything" }), 400, "InvalidAction");
  const { xml } = await assumeRaw(standin, BASE, {
    Policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }],
    }),
  });
  assert.match(tag(xml, "PackedPolicySize") ?? "", /^\d+$/);
});

// ---------------------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------------------

Deno.test("faults: each kind, seen from a raw fetch", async (t) => {
  await using standin = await startStandin();
  const gci = { Action: "GetCallerIdentity" };

  await t.step("error, with Retry-After", async () => {
    standin.pushFault({
      kind: "error",
      status: 503,
      code: "ServiceUnavailable",
      message: "down",
      retryAfter: 7,
    });
    const res = await rawCall(standin, gci);
    assert.equal(res.headers.get("retry-after"), "7");
    await expectStsError(res, 503, "ServiceUnavailable", /^down$/);
    assert.deepEqual(standin.requests.at(-1)?.fault, {
      kind: "error",
      status: 503,
      code: "ServiceUnavailable",
      message: "down",
      retryAfter: 7,
    });
  });

  await t.step("deny aliases carry STS's status and message", async () => {
    const cases: [string, number, RegExp][] = [
      [
        "AccessDenied",
        403,
        /^User: arn:aws:iam::123456789012:user\/standin is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role\/team\/Deployer$/,
      ],
      ["ExpiredToken", 400, /expired/],
      ["Throttling", 400, /^Rate exceeded$/],
      ["RegionDisabledException", 403, /not activated in this region/],
    ];
    for (const [code, status, message] of cases) {
      standin.pushFault({ kind: "deny", code });
      const res = await rawCall(standin, { Action: "AssumeRole", RoleArn: ROLE_ARN, RoleSessionName: "ci" });
      await expectStsError(res, status, code, message);
    }
    assert.equal(standin.issued.size, 0, "denied calls issue nothing");
  });

  await t.step("delay, then a normal answer", async () => {
    standin.pushFault({ kind: "delay", ms: 250 });
    const started = performance.now();
    const res = await rawCall(standin, gci);
    const xml = await res.text();
    assert.ok(performance.now() - started >= 240);
    assert.equal(res.status, 200);
    assert.equal(tag(xml, "Arn"), STANDIN_USER_ARN);
  });

  await t.step("hang: no answer until the client gives up", async () => {
    standin.pushFault({ kind: "hang" });
    const started = performance.now();
    await assert.rejects(rawCall(standin, gci, BASE, { signal: AbortSignal.timeout(300) }), (e: Error) => {
      return e.name === "TimeoutError";
    });
    assert.ok(performance.now() - started >= 290);
    assert.equal(standin.requests.at(-1)?.fault?.kind, "hang");
  });

  await t.step("close-mid-body: 200 headers, part of the body, then the connection drops", async () => {
    standin.pushFault({ kind: "close-mid-body" });
    const res = await rawCall(standin, { Action: "AssumeRole", RoleArn: ROLE_ARN, RoleSessionName: "ci" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/xml");
    await assert.rejects(res.text(), TypeError);
  });

  await t.step("truncated-xml: a complete 200 answer holding a valid prefix of the XML", async () => {
    standin.pushFault({ kind: "truncated-xml" });
    const res = await rawCall(standin, { Action: "AssumeRole", RoleArn: ROLE_ARN, RoleSessionName: "ci" });
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.ok(text.startsWith(`<AssumeRoleResponse xmlns="${STS_XMLNS}">`), text);
    assert.ok(text.includes("<SessionToken>"));
    assert.ok(!text.includes("</SessionToken>"));
    assert.ok(!text.includes("</AssumeRoleResponse>"));
  });

  await t.step("malformed-xml: 200 text/xml that is not XML", async () => {
    standin.pushFault({ kind: "malformed-xml" });
    const res = await rawCall(standin, gci);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/xml");
    assert.ok(!text.trimStart().startsWith("<"));
  });

  await t.step("html: a proxy's error page", async () => {
    standin.pushFault({ kind: "html", status: 504 });
    const res = await rawCall(standin, gci);
    const text = await res.text();
    assert.equal(res.status, 504);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(text, /<title>504 Gateway Time-out<\/title>/);
  });

  await t.step("the queue comes before the default fault, and is consumed one per request", async () => {
    standin.reset();
    standin.setDefaultFault({ kind: "deny", code: "Throttling" });
    standin.pushFault({ kind: "deny", code: "AccessDenied" });
    assert.equal(standin.faults.length, 1);
    await expectStsError(await rawCall(standin, gci), 403, "AccessDenied");
    await expectStsError(await rawCall(standin, gci), 400, "Throttling");
    await expectStsError(await rawCall(standin, gci), 400, "Throttling");
    standin.setDefaultFault(null);
    assert.equal((await rawCall(standin, gci).then(async (r) => [r.status, await r.text()]))[0], 200);
    assert.deepEqual(standin.requests.map((r) => r.errorCode ?? r.status), [
      "AccessDenied",
      "Throttling",
      "Throttling",
      200,
    ]);
    assert.equal(standin.requests[3].fault, undefined);
  });

  await t.step("bad faults are refused", () => {
    assert.throws(() => standin.pushFault({ kind: "explode" } as unknown as Fault), TypeError);
  });
});

Deno.test("faults seen by the JS SDK", async () => {
  await using standin = await startStandin();
  const client = sdkClient(standin);
  const assume = () => client.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "ci" }));
  standin.pushFault({ kind: "deny", code: "Throttling" });
  await assert.rejects(assume(), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
    return e.name === "Throttling" && e.message === "Rate exceeded" && e.$metadata?.httpStatusCode === 400;
  });
  standin.pushFault({ kind: "truncated-xml" });
  await assert.rejects(assume(), /XML parse error/);
  standin.pushFault({ kind: "close-mid-body" });
  await assert.rejects(assume());
});

Deno.test("stop() is prompt with hanging and delayed requests, and can be called twice", async () => {
  const standin = await startStandin();
  standin.pushFault({ kind: "hang" }, { kind: "delay", ms: 60_000 });
  const hanging = rawCall(standin, { Action: "GetCallerIdentity" }).then((r) => r.text());
  const delayed = rawCall(standin, { Action: "GetCallerIdentity" }).then((r) => r.text());
  while (standin.count() < 2) await new Promise((r) => setTimeout(r, 10));
  const started = performance.now();
  await Promise.all([standin.stop(), standin.stop()]);
  assert.ok(performance.now() - started < 2000);
  await assert.rejects(hanging);
  // The delayed request is answered normally once the wait is cut short.
  const delayedXml = await delayed.catch(() => "");
  assert.ok(delayedXml === "" || tag(delayedXml, "Arn") === STANDIN_USER_ARN);
});

// ---------------------------------------------------------------------------------------------------------
// MFA and web identity
// ---------------------------------------------------------------------------------------------------------

Deno.test("MFA: required when configured, accepted when right, carried by GetSessionToken credentials", async () => {
  const serial = "arn:aws:iam::123456789012:mfa/standin";
  await using standin = await startStandin({ mfa: { serial, code: "123456" } });
  const client = sdkClient(standin);

  await assert.rejects(
    client.send(new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "ci" })),
    (e: Error) => e.name === "AccessDenied" && /is not authorized to perform: sts:AssumeRole/.test(e.message),
  );
  await assert.rejects(
    client.send(
      new AssumeRoleCommand({
        RoleArn: ROLE_ARN,
        RoleSessionName: "ci",
        SerialNumber: serial,
        TokenCode: "654321",
      }),
    ),
    (e: Error) =>
      e.name === "AccessDenied" && /^MultiFactorAuthentication failed with invalid MFA/.test(e.message),
  );
  await assert.rejects(
    client.send(
      new AssumeRoleCommand({
        RoleArn: ROLE_ARN,
        RoleSessionName: "ci",
        SerialNumber: "arn:aws:iam::123456789012:mfa/other",
        TokenCode: "123456",
      }),
    ),
    (e: Error) =>
      e.name === "AccessDenied" && /^MultiFactorAuthentication failed, unable to validate/.test(e.message),
  );
  const ok = await client.send(
    new AssumeRoleCommand({
      RoleArn: ROLE_ARN,
      RoleSessionName: "ci",
      SerialNumber: serial,
      TokenCode: "123456",
    }),
  );
  assert.equal(ok.AssumedRoleUser?.Arn, ROLE_SESSION_ARN);
  assert.deepEqual(standin.requests.map((r) => r.mfa), [
    undefined,
    { serial, code: "654321" },
    { serial: "arn:aws:iam::123456789012:mfa/other", code: "123456" },
    { serial, code: "123456" },
  ]);

  await assert.rejects(client.send(new GetSessionTokenCommand({})), (e: Error) => e.name === "AccessDenied");
  const gst = await client.send(new GetSessionTokenCommand({ SerialNumber: serial, TokenCode: "123456" }));
  const session: Creds = {
    accessKeyId: gst.Credentials!.AccessKeyId!,
    secretAccessKey: gst.Credentials!.SecretAccessKey!,
    sessionToken: gst.Credentials!.SessionToken!,
  };
  const viaSession = await sdkClient(standin, session).send(
    new AssumeRoleCommand({ RoleArn: ROLE_ARN, RoleSessionName: "ci" }),
  );
  assert.equal(viaSession.AssumedRoleUser?.Arn, ROLE_SESSION_ARN);
});

Deno.test("web identity: unsigned, token checked, JWT claims echoed", async () => {
  const b64url = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const jwt = `${b64url({ alg: "RS256" })}.${
    b64url({
      sub: "system:serviceaccount:ci:deployer",
      aud: "sts.amazonaws.com",
      iss: "https://oidc.example.test",
    })
  }.c2lnbmF0dXJl`;
  await using standin = await startStandin({ webIdentityToken: jwt });
  const client = new STSClient({
    region: "us-east-1",
    endpoint: standin.url,
    requestHandler: new FetchHttpHandler(),
  });
  const params = { RoleArn: ROLE_ARN, RoleSessionName: "ci" };

  await assert.rejects(
    client.send(new AssumeRoleWithWebIdentityCommand({ ...params, WebIdentityToken: "other-token" })),
    (e: Error & { $metadata?: { httpStatusCode?: number } }) =>
      // The SDK maps the wire code InvalidIdentityToken to its modeled InvalidIdentityTokenException.
      e.name === "InvalidIdentityTokenException" && e.$metadata?.httpStatusCode === 400,
  );
  const out = await client.send(new AssumeRoleWithWebIdentityCommand({ ...params, WebIdentityToken: jwt }));
  assert.equal(out.AssumedRoleUser?.Arn, ROLE_SESSION_ARN);
  assert.equal(out.SubjectFromWebIdentityToken, "system:serviceaccount:ci:deployer");
  assert.equal(out.Audience, "sts.amazonaws.com");
  assert.equal(out.Provider, "oidc.example.test");
  assert.match(out.Credentials!.AccessKeyId!, /^ASIA[A-Z0-9]{16}$/);
  assert.deepEqual(standin.requests.map((r) => [r.signatureValid, r.status]), [[null, 400], [null, 200]]);

  await expectStsError(
    await rawCall(standin, { Action: "AssumeRoleWithWebIdentity", ...params }, null),
    400,
    "ValidationError",
    /webIdentityToken/,
  );
});

// ---------------------------------------------------------------------------------------------------------
// Control over HTTP
// ---------------------------------------------------------------------------------------------------------

Deno.test("control endpoints drive the log, the faults and the settings", async () => {
  await using standin = await startStandin();
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(new URL(`__standin/${path}`, standin.url), {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  };

  await (await rawCall(standin, { Action: "GetCallerIdentity" })).text();
  const log = await control("GET", "requests");
  assert.equal(log.status, 200);
  assert.equal(log.json.length, 1);
  assert.equal(log.json[0].action, "GetCallerIdentity");
  assert.equal(log.json[0].signatureValid, true);

  const set = await control("POST", "faults", {
    queue: [{ kind: "deny", code: "AccessDenied" }],
    default: { kind: "html", status: 502 },
  });
  assert.equal(set.status, 200);
  assert.deepEqual(set.json.queue, [{ kind: "deny", code: "AccessDenied" }]);
  await expectStsError(await rawCall(standin, { Action: "GetCallerIdentity" }), 403, "AccessDenied");
  const html = await rawCall(standin, { Action: "GetCallerIdentity" });
  assert.equal(html.status, 502);
  await html.text();
  assert.equal((await control("POST", "faults", { default: null })).json.default, null);
  assert.equal(
    (await rawCall(standin, { Action: "GetCallerIdentity" }).then(async (r) => (await r.text(), r))).status,
    200,
  );

  assert.equal((await control("POST", "faults", { queue: [{ kind: "nope" }] })).status, 400);
  assert.equal((await control("GET", "nothing-here")).status, 404);
  assert.equal(standin.count(), 4, "control requests are not recorded");

  assert.equal((await control("POST", "reset")).status, 200);
  assert.deepEqual((await control("GET", "requests")).json, []);
  assert.equal(standin.requests.length, 0);

  assert.equal((await control("POST", "config", { webIdentityToken: "only-this" })).status, 200);
  await expectStsError(
    await rawCall(
      standin,
      {
        Action: "AssumeRoleWithWebIdentity",
        RoleArn: ROLE_ARN,
        RoleSessionName: "ci",
        WebIdentityToken: "else",
      },
      null,
    ),
    400,
    "InvalidIdentityToken",
  );
  assert.equal((await control("POST", "config", { bogus: 1 })).status, 400);
});

// ---------------------------------------------------------------------------------------------------------
// The AWS CLI (v2 and v1), the CLI entry point and TLS
// ---------------------------------------------------------------------------------------------------------

/** Whether `cmd args` runs and its output starts with `versionPrefix` (the tool and the major version). */
function reportsVersion(cmd: string, args: string[], versionPrefix: string): boolean {
  try {
    const out = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).outputSync();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return out.success && text.startsWith(versionPrefix);
  } catch {
    return false;
  }
}

const HAS_AWS_V2 = reportsVersion(AWS_V2, ["--version"], "aws-cli/2.");
const HAS_AWS_V1 = reportsVersion("python3", ["-m", "awscli", "--version"], "aws-cli/1.");

async function awsCli(argv: string[], standin: Standin, extraEnv: Record<string, string> = {}) {
  const home = await Deno.makeTempDir({ prefix: "standin-aws-home-" });
  try {
    const out = await new Deno.Command(argv[0], {
      args: [...argv.slice(1), "--endpoint-url", standin.url, "--output", "json"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: home,
        AWS_CONFIG_FILE: `${home}/config`,
        AWS_SHARED_CREDENTIALS_FILE: `${home}/credentials`,
        AWS_ACCESS_KEY_ID: STANDIN_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: STANDIN_SECRET_ACCESS_KEY,
        AWS_EC2_METADATA_DISABLED: "true",
        AWS_MAX_ATTEMPTS: "1",
        AWS_PAGER: "",
        ...extraEnv,
      },
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `${argv.join(" ")} failed:\n${stderr}`);
    return JSON.parse(stdout);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

for (
  const [name, argv, present] of [
    ["AWS CLI v2", [AWS_V2], HAS_AWS_V2],
    ["AWS CLI v1", ["python3", "-m", "awscli"], HAS_AWS_V1],
  ] as const
) {
  Deno.test({
    name: `${name}: get-caller-identity and assume-role verify against the stand-in`,
    async fn() {
      assert.ok(present, `${name} is missing (deno task test names its install command)`);
      await using standin = await startStandin();
      const who = await awsCli([...argv, "sts", "get-caller-identity", "--region", "us-east-1"], standin);
      assert.equal(who.Arn, STANDIN_USER_ARN);
      assert.equal(who.Account, "123456789012");

      const role = await awsCli([
        ...argv,
        "sts",
        "assume-role",
        "--region",
        "eu-central-1",
        "--role-arn",
        ROLE_ARN,
        "--role-session-name",
        "ci",
        "--duration-seconds",
        "900",
      ], standin);
      assert.equal(role.AssumedRoleUser.Arn, ROLE_SESSION_ARN);
      const who2 = await awsCli([...argv, "sts", "get-caller-identity", "--region", "us-west-2"], standin, {
        AWS_ACCESS_KEY_ID: role.Credentials.AccessKeyId,
        AWS_SECRET_ACCESS_KEY: role.Credentials.SecretAccessKey,
        AWS_SESSION_TOKEN: role.Credentials.SessionToken,
      });
      assert.equal(who2.Arn, ROLE_SESSION_ARN);

      assert.deepEqual(
        standin.requests.map((r) => [r.action, r.signatureValid, r.region, r.status]),
        [
          ["GetCallerIdentity", true, "us-east-1", 200],
          ["AssumeRole", true, "eu-central-1", 200],
          ["GetCallerIdentity", true, "us-west-2", 200],
        ],
      );
      assert.match(standin.requests[0].userAgent ?? "", /^aws-cli\//);
    },
  });
}

Deno.test("CLI entry: prints one JSON line, serves, and exits 0 on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-P=dev", "--quiet", "tests/support/sts_standin/mod.ts"],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeTo(new WritableStream());
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  try {
    const line = text.slice(0, text.indexOf("\n"));
    const info = JSON.parse(line);
    assert.deepEqual(Object.keys(info), ["url", "accessKeyId", "secretAccessKey"]);
    assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const body = "Action=GetCallerIdentity&Version=2011-06-15";
    const headers = await signStsRequest({ url: info.url, body, ...info });
    const res = await fetch(info.url, { method: "POST", headers, body });
    assert.equal(tag(await res.text(), "Arn"), STANDIN_USER_ARN);
    const log = await fetch(new URL("__standin/requests", info.url)).then((r) => r.json());
    assert.equal(log[0].signatureValid, true);
  } finally {
    child.kill("SIGTERM");
    while (!(await reader.read()).done) { /* drain */ }
    await stderr;
  }
  const status = await child.status;
  assert.equal(status.code, 0);
});

Deno.test({
  name: "TLS: serves https with the given certificate",
  async fn() {
    assert.ok(
      reportsVersion("openssl", ["version"], "OpenSSL"),
      "openssl is missing (deno task test installs it)",
    );
    const dir = await Deno.makeTempDir({ prefix: "standin-tls-" });
    try {
      const out = await new Deno.Command("openssl", {
        args: [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-days",
          "2",
          "-subj",
          "/CN=127.0.0.1",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
          "-addext",
          "basicConstraints=critical,CA:FALSE",
          "-keyout",
          `${dir}/key.pem`,
          "-out",
          `${dir}/cert.pem`,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const cert = await Deno.readTextFile(`${dir}/cert.pem`);
      const key = await Deno.readTextFile(`${dir}/key.pem`);
      await using standin = await startStandin({ tls: { cert, key } });
      assert.match(standin.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
      using client = Deno.createHttpClient({ caCerts: [cert] });
      const body = "Action=GetCallerIdentity&Version=2011-06-15";
      const headers = await signStsRequest({ url: standin.url, body, ...BASE });
      const res = await fetch(standin.url, { method: "POST", headers, body, client });
      const xml = await res.text();
      assert.equal(res.status, 200, xml);
      assert.equal(tag(xml, "Arn"), STANDIN_USER_ARN);
      assert.equal(standin.requests[0].signatureValid, true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
