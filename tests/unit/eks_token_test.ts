/**
 * lib/eks and the `eks-token` command line, without a process: the flag rules, KUBERNETES_EXEC_INFO, the
 * expiry rule, the document's bytes, and a token vector the AWS CLI v2 printed for fixed inputs.
 */
import assert from "node:assert/strict";
import { parseCommand } from "../../lib/cli/args.ts";
import { FailureError, InputError, UsageError } from "../../lib/errors.ts";
import { execCredentialJson, execInfoVersion, MAX_EXEC_INFO_CHARS } from "../../lib/eks/exec_credential.ts";
import { execCredentialVersion } from "../../lib/cli/eks_token.ts";
import { eksToken, presignedUrl, tokenExpiration } from "../../lib/eks/token.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
const V1BETA1 = "client.authentication.k8s.io/v1beta1";
const V1 = "client.authentication.k8s.io/v1";

Deno.test("eks-token: --cluster-name and the role options", () => {
  const c = parseCommand([
    "eks-token",
    "--cluster-name",
    "prod-1",
    "--role-arn",
    ROLE,
    "--region",
    "eu-west-1",
  ]);
  assert.equal(c.kind, "eksToken");
  if (c.kind !== "eksToken") return;
  assert.equal(c.clusterName, "prod-1");
  assert.deepEqual(c.options.roleArns, [ROLE]);
  assert.equal(c.options.region, "eu-west-1");
});

Deno.test("eks-token: cluster names follow EKS's rule (1-100, letter or digit first, then [A-Za-z0-9_-])", () => {
  const ok = ["a", "9", "my_cluster-2", "A".repeat(100)];
  for (const name of ok) {
    const c = parseCommand(["eks-token", "--cluster-name", name]);
    assert.equal(c.kind === "eksToken" && c.clusterName, name);
  }
  const bad = ["", "_a", "-a", "a.b", "a b", "a/b", "A".repeat(101), "é", "a\n"];
  for (const name of bad) {
    assert.throws(() => parseCommand(["eks-token", `--cluster-name=${name}`]), (e) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.what, "--cluster-name");
      assert.match(e.message, /is not an EKS cluster name/);
      return true;
    });
  }
});

Deno.test("eks-token: flags that do not apply, and --cluster-name elsewhere, are bad input", () => {
  const refused: [string[], string, RegExp][] = [
    [["eks-token"], "--cluster-name", /required by credproc eks-token/],
    [
      ["eks-token", "--cluster-name", "a", "--format", "env"],
      "--format",
      /does not apply to credproc eks-token/,
    ],
    [["eks-token", "--cluster-name", "a", "--include-account-id"], "--include-account-id", /does not apply/],
    [["eks-token", "--cluster-name", "a", "--port", "1"], "--port", /only makes sense with credproc serve/],
    [["eks-token", "--cluster-name", "a", "--destination", "https://x"], "--destination", /only .* console/],
    [["eks-token", "--cluster-name", "a", "--cluster-name", "b"], "--cluster-name", /given more than once/],
    [["eks-token", "extra", "--cluster-name", "a"], "bad arguments", /unexpected argument "extra"/],
    [
      ["--cluster-name", "a", "--role-arn", ROLE],
      "--cluster-name",
      /only makes sense with credproc eks-token/,
    ],
    [["console", "--cluster-name", "a"], "--cluster-name", /only makes sense with credproc eks-token/],
    [["serve", "--cluster-name", "a"], "--cluster-name", /only makes sense with credproc eks-token/],
  ];
  for (const [argv, what, why] of refused) {
    assert.throws(() => parseCommand(argv), (e) => {
      assert.ok(e instanceof UsageError, `${argv.join(" ")}: ${e}`);
      assert.equal(e.what, what, argv.join(" "));
      assert.match(e.message, why, argv.join(" "));
      return true;
    });
  }
});

Deno.test("KUBERNETES_EXEC_INFO: unset or empty is v1beta1; v1beta1 and v1 as asked; anything else exit 2", () => {
  assert.equal(execCredentialVersion(undefined), V1BETA1);
  assert.equal(execCredentialVersion(""), V1BETA1);
  const info = (o: unknown) => JSON.stringify(o);
  assert.equal(execCredentialVersion(info({ kind: "ExecCredential", apiVersion: V1, spec: {} })), V1);
  assert.equal(execCredentialVersion(info({ apiVersion: V1BETA1 })), V1BETA1);
  const refused: [string, RegExp][] = [
    [
      info({ apiVersion: "client.authentication.k8s.io/v1alpha1" }),
      /^apiVersion client\.authentication\.k8s\.io\/v1alpha1 is not supported \(v1beta1 or v1\)$/,
    ],
    [info({ apiVersion: "v1\u001b[31m" }), /^apiVersion \(not shown\) is not supported/],
    [info({ apiVersion: 1 }), /^it names no apiVersion$/],
    [info({ kind: "Pod", apiVersion: V1 }), /^its kind is not ExecCredential$/],
    ["{", /^not JSON$/],
    ["null", /^not a JSON object$/],
    ['["x"]', /^not a JSON object$/],
    [" ".repeat(MAX_EXEC_INFO_CHARS + 1), /^longer than 262144 characters$/],
  ];
  for (const [raw, why] of refused) {
    // The fast path's reading (no error: it falls through to the full path, which prints this one).
    const fast = execInfoVersion(raw);
    assert.ok(typeof fast === "object" && why.test(fast.refused), raw.slice(0, 80));
    assert.throws(() => execCredentialVersion(raw), (e) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.exitCode, 2);
      assert.equal(e.what, "KUBERNETES_EXEC_INFO");
      assert.match(e.message, why);
      return true;
    });
  }
  // Whitespace around a valid document is JSON too (the bound is on characters, not on the version).
  assert.equal(execCredentialVersion(` ${info({ apiVersion: V1 })} `), V1);
});

Deno.test("expirationTimestamp: +14 min, capped by the credentials' expiry minus the margin, never before signing", () => {
  const now = new Date("2026-12-06T10:00:00.750Z");
  const margin = 15 * 60_000;
  const at = (iso: string) => new Date(iso).toISOString();
  assert.equal(tokenExpiration(now, undefined, margin).toISOString(), at("2026-12-06T10:14:00Z"));
  assert.equal(
    tokenExpiration(now, new Date("2026-12-06T11:00:00Z"), margin).toISOString(),
    at("2026-12-06T10:14:00Z"),
  );
  assert.equal(
    tokenExpiration(now, new Date("2026-12-06T10:20:30.900Z"), margin).toISOString(),
    at("2026-12-06T10:05:30Z"),
  );
  assert.equal(
    tokenExpiration(now, new Date("2026-12-06T10:29:00Z"), margin).toISOString(),
    at("2026-12-06T10:14:00Z"),
  );
  // Credentials already inside the margin: the token expires at once (the client asks again next time).
  assert.equal(
    tokenExpiration(now, new Date("2026-12-06T10:10:00Z"), margin).toISOString(),
    at("2026-12-06T10:00:00Z"),
  );
  assert.equal(
    tokenExpiration(now, new Date("2026-12-06T10:10:00Z"), 0).toISOString(),
    at("2026-12-06T10:10:00Z"),
  );
});

/** What `aws eks get-token --cluster-name my-cluster --region eu-west-1` (AWS CLI 2.9.19) printed for these keys. */
const AWS_CLI_VECTOR = {
  credentials: {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    sessionToken: "FwoGZXIvYXdzEXAMPLETOKEN",
  },
  clusterName: "my-cluster",
  endpoint: "https://sts.eu-west-1.amazonaws.com/",
  signingRegion: "eu-west-1",
  now: new Date("2026-12-06T09:27:38Z"),
  marginMs: 15 * 60_000,
  url: "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15" +
    "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261206%2Feu-west-1%2Fsts%2Faws4_request" +
    "&X-Amz-Date=20261206T092738Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id" +
    "&X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLETOKEN" +
    "&X-Amz-Signature=891ed45c9ec14844a636bb0da28bfea465aac47211ba386fe89855bd9a7700f5",
};

Deno.test("the presigned URL and token equal the AWS CLI's for the same inputs", async () => {
  assert.equal(await presignedUrl(AWS_CLI_VECTOR), AWS_CLI_VECTOR.url);
  const t = await eksToken(AWS_CLI_VECTOR);
  const b64 = btoa(AWS_CLI_VECTOR.url).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  assert.equal(t.token, `k8s-aws-v1.${b64}`);
  assert.equal(t.expiration.toISOString(), "2026-12-06T09:41:38.000Z");
  // Another cluster, another signature: the name is signed.
  const other = await presignedUrl({ ...AWS_CLI_VECTOR, clusterName: "my-cluster2" });
  assert.notEqual(other, AWS_CLI_VECTOR.url);
  assert.equal(other.replace(/Signature=\w+$/, ""), AWS_CLI_VECTOR.url.replace(/Signature=\w+$/, ""));
  // Long-term keys: no X-Amz-Security-Token.
  const { sessionToken: _, ...keys } = AWS_CLI_VECTOR.credentials;
  assert.doesNotMatch(await presignedUrl({ ...AWS_CLI_VECTOR, credentials: keys }), /Security-Token/);
  // A configured endpoint with a port: the host header (signed) carries it, as the client will send it.
  const local = new URL(await presignedUrl({ ...AWS_CLI_VECTOR, endpoint: "http://127.0.0.1:4566" }));
  assert.equal(local.origin, "http://127.0.0.1:4566");
  assert.equal(local.pathname, "/");
});

Deno.test("a token over the 4096 bytes aws-iam-authenticator accepts is a failure, never returned", async () => {
  // Session tokens of growing size (session tags make them so): every token returned fits, every refusal
  // names a size over the limit, and the limit lies in between.
  let fits = 0;
  let refused = 0;
  for (let n = 2500; n <= 2900; n += 8) {
    const credentials = { ...AWS_CLI_VECTOR.credentials, sessionToken: `IQoJ${"A".repeat(n)}` };
    try {
      const t = await eksToken({ ...AWS_CLI_VECTOR, credentials });
      assert.ok(t.token.length <= 4096, String(t.token.length));
      fits++;
    } catch (e) {
      assert.ok(e instanceof FailureError, String(e));
      assert.equal(e.exitCode, 1);
      assert.equal(e.what, "eks-token");
      const size = Number(
        /^the token would be (\d+) bytes, over the 4096 aws-iam-authenticator accepts \(the credentials' session token alone is (\d+) characters\)$/
          .exec(e.message)?.[1],
      );
      assert.ok(size > 4096, e.message);
      assert.match(
        e.hint ?? "",
        /^session tags, a session policy or policy ARNs make the role's session token large/,
      );
      refused++;
    }
  }
  assert.ok(fits > 0 && refused > 0, `${fits} fit, ${refused} refused`);
});

Deno.test("the ExecCredential document: the AWS CLI's bytes", () => {
  assert.equal(
    execCredentialJson(V1BETA1, "k8s-aws-v1.abc", new Date("2026-12-06T10:14:00.999Z")),
    '{"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1beta1", "spec": {}, "status": ' +
      '{"expirationTimestamp": "2026-12-06T10:14:00Z", "token": "k8s-aws-v1.abc"}}\n',
  );
});
