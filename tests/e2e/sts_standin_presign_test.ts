/**
 * The STS stand-in's check of presigned (query-string) SigV4 GETs, the request inside an EKS token: a good URL
 * with the signed `x-k8s-aws-id` header answers GetCallerIdentity (JSON when asked, as aws-iam-authenticator
 * asks); another header value, a changed parameter, an old `X-Amz-Date` or a wrong session token are refused
 * with STS's codes. The URLs are made with lib/eks (the SDK's signer); the stand-in verifies on its own.
 */
import assert from "node:assert/strict";
import { startStandin } from "../support/sts_standin/mod.ts";
import { presignedUrl } from "../../lib/eks/token.ts";

Deno.test("stand-in: presigned GetCallerIdentity GETs are verified like STS does", async () => {
  await using sts = await startStandin();
  const base = {
    credentials: { accessKeyId: sts.accessKeyId, secretAccessKey: sts.secretAccessKey },
    clusterName: "demo",
    endpoint: sts.url,
    signingRegion: "eu-west-1",
    now: new Date(),
    marginMs: 0,
  };
  const get = (url: string, cluster = "demo", accept = "application/json") =>
    fetch(url, { headers: { "x-k8s-aws-id": cluster, accept } }).then(async (r) => ({
      status: r.status,
      type: r.headers.get("content-type"),
      body: await r.text(),
    }));
  const url = await presignedUrl(base);

  const ok = await get(url);
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.type, "application/json");
  const result = JSON.parse(ok.body).GetCallerIdentityResponse.GetCallerIdentityResult;
  assert.equal(result.Account, "123456789012");
  assert.match(result.Arn, /^arn:aws:iam::123456789012:user\//);
  const xml = await get(url, "demo", "*/*");
  assert.equal(xml.status, 200);
  assert.match(xml.body, /^<GetCallerIdentityResponse /);

  const refused = async (u: string, cluster: string, code: RegExp) => {
    const r = await get(u, cluster);
    assert.equal(r.status, 403, r.body);
    assert.match(JSON.parse(r.body).Error.Code, code);
  };
  await refused(url, "other", /^SignatureDoesNotMatch$/);
  await refused(url.replace("X-Amz-Expires=60", "X-Amz-Expires=61"), "demo", /^SignatureDoesNotMatch$/);
  await refused(
    await presignedUrl({ ...base, now: new Date(Date.now() - 16 * 60_000) }),
    "demo",
    /^SignatureDoesNotMatch$/,
  );
  await refused(
    await presignedUrl({ ...base, credentials: { ...base.credentials, secretAccessKey: "wrong" } }),
    "demo",
    /^SignatureDoesNotMatch$/,
  );
  // Base keys sent with a session token are refused, as STS refuses them.
  await refused(
    await presignedUrl({ ...base, credentials: { ...base.credentials, sessionToken: "not-issued" } }),
    "demo",
    /^InvalidClientTokenId$/,
  );
  const gets = sts.requests.filter((q) => q.action === "GetCallerIdentity");
  assert.deepEqual(gets.map((q) => q.signatureValid), [true, true, false, false, false, false, true]);
  assert.equal(gets[0].method, "GET");
});
