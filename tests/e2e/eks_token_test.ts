/**
 * `credproc eks-token` end to end: real kubectl runs credproc as its exec plugin against a fake Kubernetes API
 * server on 127.0.0.1 (TLS) that checks the bearer token as aws-iam-authenticator does and then sends its
 * presigned GetCallerIdentity to the STS stand-in, which verifies the query-string signature. Also: errors
 * (each one line), the token's expiry against the credentials', and that the fast path never answers an
 * `eks-token` line with the credential document. The token's own cache entry: tests/e2e/eks_token_cache_test.ts.
 */
import assert from "node:assert/strict";
import {
  credprocCommand,
  PROCESS_DOC,
  ROLE,
  runCredproc,
  runProcess,
  type TempHome,
  tempHome,
  which,
} from "../support/helpers.ts";
import { assertNoCrash, assertOneErrorLine } from "../support/hardening_helpers.ts";
import { type KubeApi, kubeconfig, startKubeApi, tokenUrl } from "../support/kube_api.ts";
import { type Standin, startStandin } from "../support/sts_standin/mod.ts";
import { presignedUrl } from "../../lib/eks/token.ts";
import { EKS_USAGE, USAGE } from "../../lib/cli/usage.ts";

const KUBECTL = which("kubectl");
const CLUSTER = "demo";
const V1BETA1 = "client.authentication.k8s.io/v1beta1";
const V1 = "client.authentication.k8s.io/v1";
/** The ExecCredential document's shape (the AWS CLI's layout), over the whole of stdout. */
const EXEC_CREDENTIAL =
  /^\{"kind": "ExecCredential", "apiVersion": "client\.authentication\.k8s\.io\/(v1beta1|v1)", "spec": \{\}, "status": \{"expirationTimestamp": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", "token": "(k8s-aws-v1\.[A-Za-z0-9_-]+)"\}\}\n$/;

interface Rig extends AsyncDisposable {
  sts: Standin;
  kube: KubeApi;
  home: TempHome;
  env: Record<string, string>;
}

async function rig(): Promise<Rig> {
  const sts = await startStandin();
  const kube = await startKubeApi({ clusterName: CLUSTER, stsUrl: sts.url });
  const home = await tempHome();
  const env = home.env({
    AWS_ACCESS_KEY_ID: sts.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sts.secretAccessKey,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_REGION: "eu-west-1",
  });
  return {
    sts,
    kube,
    home,
    env,
    async [Symbol.asyncDispose]() {
      await kube.stop();
      await sts.stop();
      await home.cleanup();
    },
  };
}

/** The argv of one `eks-token` call for `cluster` (after the program). */
function eksArgs(cluster = CLUSTER, extra: readonly string[] = []): string[] {
  return ["eks-token", "--cluster-name", cluster, "--role-arn", ROLE, ...extra];
}

/** Runs `kubectl get --raw /api` with a kubeconfig whose exec user runs credproc with `args`. */
async function kubectl(r: Rig, args: readonly string[], apiVersion = V1BETA1) {
  assert.ok(KUBECTL, "kubectl is not installed (deno task test installs it)");
  const config = `${r.home.dir}/kubeconfig`;
  await Deno.writeTextFile(config, kubeconfig(r.kube, [...credprocCommand(), ...args], apiVersion));
  return await runProcess(KUBECTL, ["get", "--raw", "/api"], { ...r.env, KUBECONFIG: config });
}

/** The kubectl minor version (1.32 → 32), for the v1 ExecCredential (kubectl ≥ 1.22). */
async function kubectlMinor(): Promise<number> {
  const r = await runProcess(KUBECTL!, ["version", "--client", "-o", "json"], { PATH: "/usr/bin:/bin" });
  return Number(/"minor":\s*"(\d+)/.exec(r.stdout)?.[1] ?? 0);
}

Deno.test("kubectl get --raw /api authenticates through credproc eks-token; the role is assumed once", async () => {
  await using r = await rig();
  const first = await kubectl(r, eksArgs());
  assert.equal(first.code, 0, first.stderr);
  assert.equal(JSON.parse(first.stdout).kind, "APIVersions");
  assert.equal(first.stderr, "");
  const second = await kubectl(r, eksArgs());
  assert.equal(second.code, 0, second.stderr);
  // kubectl 1.32 asks for /version before /api; every request carried a token the server accepted.
  assert.deepEqual(r.kube.requests.filter((q) => q.path === "/api").map((q) => q.status), [200, 200]);
  assert.ok(r.kube.requests.every((q) => q.status === 200), JSON.stringify(r.kube.requests));
  for (const q of r.kube.requests) assert.match(q.arn!, /^arn:aws:sts::123456789012:assumed-role\/deploy\//);
  // Two tokens, one AssumeRole: the second kubectl run took the role from credproc's cache.
  assert.equal(r.sts.count("AssumeRole"), 1);
  const gets = r.sts.requests.filter((q) => q.action === "GetCallerIdentity");
  assert.equal(gets.length, r.kube.requests.length, "one STS check per API request");
  for (const g of gets) {
    assert.equal(g.method, "GET");
    assert.equal(g.signatureValid, true, g.signatureError);
    assert.equal(g.hasSessionToken, true);
    assert.equal(g.region, "eu-west-1");
  }
});

Deno.test("the ExecCredential version follows KUBERNETES_EXEC_INFO: kubectl with a v1 exec entry", async () => {
  assert.ok(KUBECTL, "kubectl is not installed");
  if (await kubectlMinor() < 22) return; // client.authentication.k8s.io/v1 needs kubectl 1.22
  await using r = await rig();
  const k = await kubectl(r, eksArgs(), V1);
  assert.equal(k.code, 0, k.stderr);
  assert.equal(r.kube.requests.at(-1)?.status, 200);
  const direct = await runCredproc(eksArgs(), {
    ...r.env,
    KUBERNETES_EXEC_INFO: JSON.stringify({
      kind: "ExecCredential",
      apiVersion: V1,
      spec: { interactive: false },
    }),
  });
  assert.equal(direct.code, 0, direct.stderr);
  assert.equal(EXEC_CREDENTIAL.exec(direct.stdout)?.[1], "v1");
});

Deno.test("a token for another cluster: the API server's STS check fails, kubectl is refused (401)", async () => {
  await using r = await rig();
  const k = await kubectl(r, eksArgs("other-cluster"));
  assert.notEqual(k.code, 0);
  assert.match(k.stderr, /Unauthorized/);
  assert.ok(r.kube.requests.length >= 1);
  for (const q of r.kube.requests) {
    assert.equal(q.status, 401);
    assert.match(q.reason!, /^STS answered 403: .*SignatureDoesNotMatch/);
  }
});

Deno.test("bad input: one line, exit 2, before anything is sent; kubectl shows the line", async () => {
  await using r = await rig();
  const cases: [string[], Record<string, string>, RegExp][] = [
    [
      eksArgs("bad.name"),
      {},
      /^credproc: --cluster-name: "bad\.name" is not an EKS cluster name \(1-100 letters, digits, - and _, starting with a letter or digit\)$/,
    ],
    [eksArgs("x".repeat(101)), {}, /^credproc: --cluster-name: "x+"… is not an EKS cluster name/],
    [["eks-token", "--role-arn", ROLE], {}, /^credproc: --cluster-name: required by credproc eks-token/],
    [eksArgs(CLUSTER, ["--format", "env"]), {}, /^credproc: --format: does not apply to credproc eks-token/],
    [["--cluster-name", CLUSTER, "--role-arn", ROLE], {}, /^credproc: --cluster-name: only makes sense with/],
    [
      eksArgs(),
      { KUBERNETES_EXEC_INFO: '{"apiVersion":"client.authentication.k8s.io/v1alpha1"}' },
      /^credproc: KUBERNETES_EXEC_INFO: apiVersion client\.authentication\.k8s\.io\/v1alpha1 is not supported \(v1beta1 or v1\)$/,
    ],
    [eksArgs(), { KUBERNETES_EXEC_INFO: "{not json" }, /^credproc: KUBERNETES_EXEC_INFO: not JSON$/],
    [eksArgs(), { KUBERNETES_EXEC_INFO: '["x"]' }, /^credproc: KUBERNETES_EXEC_INFO: not a JSON object$/],
  ];
  for (const [args, extra, line] of cases) {
    const res = await runCredproc(args, { ...r.env, ...extra });
    assertOneErrorLine(res, 2, line);
  }
  assert.equal(r.sts.count(), 0, "nothing reached STS");
  const k = await kubectl(r, eksArgs("bad.name"));
  assert.notEqual(k.code, 0);
  assert.match(k.stderr, /^credproc: --cluster-name: "bad\.name" is not an EKS cluster name/m);
  assert.equal(r.kube.requests.length, 0, "kubectl sent no request without a token");
});

Deno.test("credentials STS refuses: one line, exit 1, no token; kubectl shows the line", async () => {
  await using r = await rig();
  r.sts.setDefaultFault({ kind: "deny", code: "ExpiredToken" });
  const res = await runCredproc(eksArgs(), r.env);
  assertOneErrorLine(
    res,
    1,
    /^credproc: AssumeRole arn:aws:iam::123456789012:role\/deploy: ExpiredToken: The security token included in the request is expired$/,
  );
  const k = await kubectl(r, eksArgs());
  assert.notEqual(k.code, 0);
  assert.match(k.stderr, /^credproc: AssumeRole .*: ExpiredToken: /m);
  assert.equal(r.kube.requests.length, 0);
});

Deno.test("a repeated eks-token line is answered with an ExecCredential, never the credential document (the memo's kind)", async () => {
  await using r = await rig();
  const outputs = [];
  for (let i = 0; i < 3; i++) {
    const res = await runCredproc(eksArgs(), r.env);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, "");
    outputs.push(res.stdout);
  }
  // The same role through `assume` (which leaves a memo) does not change what eks-token prints either.
  const assume = await runCredproc(["--role-arn", ROLE], r.env);
  assert.match(assume.stdout, PROCESS_DOC);
  outputs.push((await runCredproc(eksArgs(), r.env)).stdout);
  for (const out of outputs) assert.match(out, EXEC_CREDENTIAL);
  // One memo per line, each of its kind (tests/e2e/eks_token_cache_test.ts swaps them).
  const kinds = [...Deno.readDirSync(r.home.cacheDir)].filter((e) => e.name.endsWith(".inputs.json"))
    .map((e) => JSON.parse(Deno.readTextFileSync(`${r.home.cacheDir}/${e.name}`)).kind).sort();
  assert.deepEqual(kinds, ["assume", "eks-token"]);
  assert.equal(r.sts.count("AssumeRole"), 1);
});

Deno.test("expirationTimestamp: 14 minutes after X-Amz-Date, never past the credentials' expiry minus the margin", async () => {
  await using r = await rig();
  // Role credentials of the default hour: 14 minutes after signing.
  const long = await runCredproc(eksArgs(), r.env);
  const [, , expiry, token] = EXEC_CREDENTIAL.exec(long.stdout)!;
  const date = tokenUrl(token).searchParams.get("X-Amz-Date")!;
  const signed = Date.parse(date.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z"));
  assert.equal(Date.parse(expiry), signed + 14 * 60_000);
  // Credentials that end in 20 minutes, default margin 15: the token ends 5 minutes from now at the latest.
  const ends = Math.floor(Date.now() / 1000) * 1000 + 20 * 60_000;
  r.sts.configure({ expirationMs: ends });
  const short = await runCredproc(eksArgs("short", ["--refresh"]), r.env);
  assert.equal(short.code, 0, short.stderr);
  assert.equal(
    EXEC_CREDENTIAL.exec(short.stdout)?.[2],
    new Date(ends - 15 * 60_000).toISOString().replace(".000", ""),
  );
  // ... with --refresh-margin 600: 10 minutes before.
  const margin = await runCredproc(eksArgs("short", ["--refresh-margin", "600"]), r.env);
  assert.equal(margin.code, 0, margin.stderr);
  assert.equal(
    EXEC_CREDENTIAL.exec(margin.stdout)?.[2],
    new Date(ends - 10 * 60_000).toISOString().replace(".000", ""),
  );
  assertNoCrash(margin);
});

Deno.test("--verbose says where the token points and never prints it or a secret", async () => {
  await using r = await rig();
  const res = await runCredproc(eksArgs(CLUSTER, ["-v"]), r.env);
  assert.equal(res.code, 0, res.stderr);
  const [, , expiry, token] = EXEC_CREDENTIAL.exec(res.stdout)!;
  const [issued] = [...r.sts.issued.values()];
  assert.ok(res.lines.every((l) => l.startsWith("credproc: ")), res.stderr);
  assert.ok(
    res.lines.includes(
      `credproc: eks-token: ${CLUSTER} via ${
        new URL(r.sts.url).host
      } (signing region eu-west-1), ${V1BETA1}, ` +
        `expires ${new Date(expiry).toISOString()}`,
    ),
    res.stderr,
  );
  for (const secret of [token.slice(11, 60), issued.secretAccessKey, issued.sessionToken.slice(0, 40)]) {
    assert.ok(!res.stderr.includes(secret), `stderr holds a secret:\n${res.stderr}`);
  }
});

Deno.test("the fake API server refuses what aws-iam-authenticator refuses, before asking STS", async () => {
  await using r = await rig();
  const client = Deno.createHttpClient({ caCerts: [r.kube.caPem] });
  try {
    const sts = new URL(r.sts.url);
    const sign = (over: Partial<Parameters<typeof presignedUrl>[0]> = {}) =>
      presignedUrl({
        credentials: { accessKeyId: r.sts.accessKeyId, secretAccessKey: r.sts.secretAccessKey },
        clusterName: CLUSTER,
        endpoint: r.sts.url,
        signingRegion: "eu-west-1",
        now: new Date(),
        marginMs: 0,
        ...over,
      });
    const b64 = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const token = (url: string) => `k8s-aws-v1.${b64(url)}`;
    const good = await sign();
    const cases: [string | undefined, RegExp][] = [
      [undefined, /^no bearer token$/],
      [b64(good), /^token is missing the k8s-aws-v1\. prefix$/],
      [`k8s-aws-v1.${btoa(good + "x")}`, /^token is not base64url$/],
      [token(good.replace(/^http:/, "https:")), /^unexpected scheme https:$/],
      [
        token(await sign({ endpoint: `http://127.0.0.2:${sts.port}/` })),
        /^unexpected hostname 127\.0\.0\.2:\d+$/,
      ],
      [token(await sign({ endpoint: `${r.sts.url}x` })), /^unexpected path$/],
      [token(`${good}&Foo=1`), /^non-whitelisted query parameter Foo$/],
      [token(`${good}&action=GetCallerIdentity`), /^duplicate query parameter action$/],
      [token(good.replace("Action=GetCallerIdentity", "Action=GetSessionToken")), /^unexpected action$/],
      [token(good.replace("Version=2011-06-15", "Version=2011-06-16")), /^unexpected version$/],
      [token(good.replace("host%3Bx-k8s-aws-id", "host")), /^x-k8s-aws-id is not signed$/],
      [token(good.replace("X-Amz-Expires=60", "X-Amz-Expires=901")), /^invalid X-Amz-Expires$/],
      [token(await sign({ now: new Date(Date.now() - 16 * 60_000) })), /^X-Amz-Date is expired$/],
      [token(`${good}${"&X-Amz-Signature=0".repeat(200)}`), /^token is too large$/],
    ];
    for (const [bearer, reason] of cases) {
      const res = await fetch(`${r.kube.url}/api`, {
        client,
        headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
      });
      await res.body?.cancel();
      assert.equal(res.status, 401, String(reason));
      assert.match(r.kube.requests.at(-1)!.reason!, reason);
    }
    assert.equal(r.sts.count(), 0, "none of them reached STS");
    // The control: the same server lets the untouched token through (STS checks it).
    const res = await fetch(`${r.kube.url}/api`, {
      client,
      headers: { authorization: `Bearer ${token(good)}` },
    });
    assert.equal(res.status, 200, await res.text());
  } finally {
    client.close();
  }
});

Deno.test("every kubeconfig entry credproc shows (README, docs/usage.md, --help) runs as written with kubectl", async (t) => {
  const shown: [string, string][] = [];
  const texts: [string, string][] = [
    ["README.md", await Deno.readTextFile(new URL("../../README.md", import.meta.url))],
    ["docs/usage.md", await Deno.readTextFile(new URL("../../docs/usage.md", import.meta.url))],
    ["--help", USAGE],
    ["eks-token --help", EKS_USAGE],
  ];
  for (const [where, text] of texts) {
    // The flow list as written (deno fmt wraps a long one over several lines).
    for (const m of text.matchAll(/args: \[\s*(eks-token,[^\]]*)\]/g)) shown.push([where, m[1]]);
  }
  assert.deepEqual(shown.map(([where]) => where), [
    "README.md",
    "docs/usage.md",
    "--help",
    "eks-token --help",
  ]);
  for (const [where, list] of shown) {
    await t.step(`${where}: ${list}`, async () => {
      const args = list.split(/,\s*/).filter((a) => a !== "");
      const cluster = args[args.indexOf("--cluster-name") + 1];
      await using sts = await startStandin();
      const kube = await startKubeApi({ clusterName: cluster, stsUrl: sts.url });
      await using home = await tempHome();
      try {
        // The world the README sets up: the source keys in [default]; only STS is the stand-in.
        await home.writeCredentials(
          `[default]\naws_access_key_id = ${sts.accessKeyId}\naws_secret_access_key = ${sts.secretAccessKey}\n`,
        );
        const config = `${home.dir}/kubeconfig`;
        await Deno.writeTextFile(config, kubeconfig(kube, [...credprocCommand(), ...args]));
        const r = await runProcess(KUBECTL!, ["get", "--raw", "/api"], {
          ...home.env({ AWS_ENDPOINT_URL_STS: sts.url }),
          KUBECONFIG: config,
        });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /"kind":\s*"APIVersions"/);
        assert.equal(sts.count("AssumeRole"), 1);
      } finally {
        await kube.stop();
      }
    });
  }
});
