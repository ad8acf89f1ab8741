/**
 * `credproc eks-token` on the cache: the token is an entry of its own (`eks-token`), a repeated call is a
 * fast-path hit (no SDK, no network: the permission audit shows the full program never ran), the memo records
 * its kind so an `assume` memo never answers `eks-token` and the reverse, `--refresh`, `--no-cache`,
 * `cache list` and `cache clear` treat token entries like the others, a plan without a role signs with the
 * source's own credentials, and a token over 4 KiB is refused. Real kubectl, the fake API server and the STS
 * stand-in on loopback, as in eks_token_test.ts.
 */
import assert from "node:assert/strict";
import {
  CREDPROC_BIN,
  credprocCommand,
  ignoreIf,
  PROCESS_DOC,
  ROLE,
  runCredproc,
  runProcess,
  sourceCommand,
  type TempHome,
  tempHome,
  which,
} from "../support/helpers.ts";
import { assertOneErrorLine } from "../support/hardening_helpers.ts";
import { type KubeApi, kubeconfig, startKubeApi } from "../support/kube_api.ts";
import { type Standin, startStandin } from "../support/sts_standin/mod.ts";

const KUBECTL = which("kubectl");
const CLUSTER = "demo";
/** The ExecCredential document's shape (the AWS CLI's layout), over the whole of stdout. */
const EXEC_CREDENTIAL =
  /^\{"kind": "ExecCredential", "apiVersion": "client\.authentication\.k8s\.io\/(v1beta1|v1)", "spec": \{\}, "status": \{"expirationTimestamp": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", "token": "(k8s-aws-v1\.[A-Za-z0-9_-]+)"\}\}\n$/;
/** Whether a run is from source (the permission audit needs `deno run`; a compiled binary cannot log it). */
const FROM_SOURCE = CREDPROC_BIN === undefined;
const NEEDS_SOURCE = !FROM_SOURCE &&
  "the permission audit needs main.ts run from source; CREDPROC_BIN names a binary";

interface Rig extends AsyncDisposable {
  sts: Standin;
  kube: KubeApi;
  home: TempHome;
  env: Record<string, string>;
  audit: string;
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
    audit: `${home.dir}/audit.jsonl`,
    async [Symbol.asyncDispose]() {
      await kube.stop();
      await sts.stop();
      await home.cleanup();
    },
  };
}

const eksArgs = (
  extra: readonly string[] = [],
) => ["eks-token", "--cluster-name", CLUSTER, "--role-arn", ROLE, ...extra];

/**
 * Runs credproc (from source) with the permission audit on; says what it printed and whether the full program
 * ran: it reads CREDPROC_MFA_TOKEN_CODE, the fast path never does (as tests/e2e/cache_mtime_test.ts).
 */
async function audited(r: Rig, args: string[], env: Record<string, string> = r.env) {
  await Deno.remove(r.audit).catch(() => {});
  const [cmd, ...pre] = sourceCommand();
  const res = await runProcess(cmd, [...pre, ...args], { ...env, DENO_AUDIT_PERMISSIONS: r.audit });
  const log = await Deno.readTextFile(r.audit).catch(() => "");
  return { ...res, full: log.includes('"CREDPROC_MFA_TOKEN_CODE"'), net: log.includes('"net"') };
}

/** The cache entries in the directory, by the kind their description names. */
function entries(home: TempHome): { kind: string; doc: Record<string, unknown> }[] {
  return [...Deno.readDirSync(home.cacheDir)]
    .filter((e) => /^[0-9a-f]{64}\.json$/.test(e.name))
    .map((e) => JSON.parse(Deno.readTextFileSync(`${home.cacheDir}/${e.name}`)))
    .map((doc) => ({ kind: doc.meta?.kind ?? "?", doc }));
}

/** The memo files in the directory, as documents, with their paths. */
function memos(home: TempHome): { path: string; doc: Record<string, unknown> }[] {
  return [...Deno.readDirSync(home.cacheDir)]
    .filter((e) => e.name.endsWith(".inputs.json"))
    .map((e) => `${home.cacheDir}/${e.name}`)
    .map((path) => ({ path, doc: JSON.parse(Deno.readTextFileSync(path)) }));
}

Deno.test({
  ...ignoreIf(
    "kubectl twice: one AssumeRole, and the second kubectl's eks-token is a fast-path hit",
    NEEDS_SOURCE,
  ),
}, async () => {
  assert.ok(KUBECTL, "kubectl is not installed (deno task test installs it)");
  await using r = await rig();
  const config = `${r.home.dir}/kubeconfig`;
  await Deno.writeTextFile(config, kubeconfig(r.kube, [...credprocCommand(), ...eksArgs()]));
  // kubectl passes its environment to the plugin: the audit log records what credproc did.
  const kubectl = async () => {
    await Deno.remove(r.audit).catch(() => {});
    const k = await runProcess(KUBECTL!, ["get", "--raw", "/api"], {
      ...r.env,
      KUBECONFIG: config,
      DENO_AUDIT_PERMISSIONS: r.audit,
    });
    assert.equal(k.code, 0, k.stderr);
    assert.equal(JSON.parse(k.stdout).kind, "APIVersions");
    const log = await Deno.readTextFile(r.audit);
    return { full: log.includes('"CREDPROC_MFA_TOKEN_CODE"'), net: log.includes('"net"') };
  };
  const first = await kubectl();
  assert.ok(first.full && first.net, "the first kubectl's plugin ran the full program and called STS");
  const second = await kubectl();
  assert.deepEqual(second, { full: false, net: false }, "the second plugin run: fast path, no network");
  assert.equal(r.sts.count("AssumeRole"), 1);
  // Both kubectl runs carried the same token, which the API server's STS check accepted every time.
  assert.ok(r.kube.requests.every((q) => q.status === 200), JSON.stringify(r.kube.requests));
  assert.deepEqual(entries(r.home).map((e) => e.kind).sort(), ["eks-token", "role"]);
  assert.deepEqual(memos(r.home).map((m) => m.doc.kind), ["eks-token"]);
});

Deno.test({
  ...ignoreIf(
    "an assume memo never answers eks-token, and an eks-token memo never answers assume",
    NEEDS_SOURCE,
  ),
}, async () => {
  await using r = await rig();
  const assume = ["--role-arn", ROLE];
  // Each line twice: a cold call that leaves its memo, then a fast-path hit.
  const e1 = await audited(r, eksArgs());
  const e2 = await audited(r, eksArgs());
  assert.ok(e1.full && !e2.full, "eks-token: the second is a fast-path hit");
  assert.equal(e2.stdout, e1.stdout);
  assert.match(e2.stdout, EXEC_CREDENTIAL);
  const a1 = await audited(r, assume);
  const a2 = await audited(r, assume);
  assert.ok(a1.full && !a2.full, "assume: the second is a fast-path hit");
  assert.match(a2.stdout, PROCESS_DOC);
  assert.equal(r.sts.count("AssumeRole"), 1, "one role entry serves both commands");
  const byKind = Object.fromEntries(memos(r.home).map((m) => [m.doc.kind, m]));
  assert.deepEqual(Object.keys(byKind).sort(), ["assume", "eks-token"]);
  const swap = async (from: "assume" | "eks-token", to: "assume" | "eks-token") => {
    const target = byKind[to];
    const forged = { ...byKind[from].doc, inputs: target.doc.inputs };
    await Deno.writeTextFile(target.path, JSON.stringify(forged), { mode: 0o600 });
  };
  // The assume memo's document under the eks-token line's name: the fast path refuses it (its kind), the full
  // program prints the ExecCredential and writes the right memo back.
  await swap("assume", "eks-token");
  const e3 = await audited(r, eksArgs());
  assert.ok(e3.full, "an assume memo did not answer eks-token");
  assert.match(e3.stdout, EXEC_CREDENTIAL);
  assert.equal(e3.stdout, e1.stdout, "the token entry is still fresh");
  assert.equal(JSON.parse(await Deno.readTextFile(byKind["eks-token"].path)).kind, "eks-token");
  // And the reverse.
  await swap("eks-token", "assume");
  const a3 = await audited(r, assume);
  assert.ok(a3.full, "an eks-token memo did not answer assume");
  assert.equal(a3.stdout, a1.stdout);
  assert.equal(r.sts.count("AssumeRole"), 1);
});

Deno.test("--refresh signs anew (and assumes the role anew); --no-cache leaves nothing behind", async () => {
  await using r = await rig();
  const first = await runCredproc(eksArgs(), r.env);
  assert.equal(first.code, 0, first.stderr);
  const token = EXEC_CREDENTIAL.exec(first.stdout)![3];
  const refreshed = await runCredproc(eksArgs(["--refresh"]), r.env);
  assert.equal(refreshed.code, 0, refreshed.stderr);
  assert.notEqual(EXEC_CREDENTIAL.exec(refreshed.stdout)![3], token);
  assert.equal(r.sts.count("AssumeRole"), 2);
  // The refreshed token replaced the first one: the next call prints it.
  assert.equal((await runCredproc(eksArgs(), r.env)).stdout, refreshed.stdout);
  await using other = await tempHome();
  const env = { ...r.env, CREDPROC_CACHE_DIR: other.cacheDir };
  for (let i = 0; i < 2; i++) {
    const res = await runCredproc(eksArgs(["--no-cache"]), env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, EXEC_CREDENTIAL);
  }
  assert.equal(r.sts.count("AssumeRole"), 4, "--no-cache assumes the role every time");
  assert.ok(!(await Deno.stat(other.cacheDir).catch(() => undefined)), "--no-cache made no cache directory");
});

Deno.test("cache list names the token's kind, cluster and expiry, never the token; cache clear removes it", async () => {
  await using r = await rig();
  const res = await runCredproc(eksArgs(), r.env);
  assert.equal(res.code, 0, res.stderr);
  const [, , expiry, token] = EXEC_CREDENTIAL.exec(res.stdout)!;
  const list = await runCredproc(["cache", "list"], r.env);
  assert.equal(list.code, 0, list.stderr);
  const row = list.stdout.split("\n").find((l) => l.startsWith("EKS token"));
  assert.match(
    row ?? list.stdout,
    /^EKS token for demo \(arn:aws:iam::123456789012:role\/deploy\) +credproc-\d+ +environment +eu-west-1 http:\/\/127\.0\.0\.1:\d+\/ +- +1[34]m\d\ds +served from cache$/,
  );
  const json = await runCredproc(["cache", "list", "--json"], r.env);
  const listed = JSON.parse(json.stdout).entries.find((e: { kind: string }) => e.kind === "eks-token");
  assert.equal(listed.cluster, CLUSTER);
  assert.equal(listed.accessKeyId, null);
  assert.equal(listed.expiration, new Date(expiry).toISOString());
  assert.equal(listed.refreshMarginSeconds, 300);
  for (const text of [list.stdout, json.stdout]) {
    assert.ok(!text.includes(token.slice(11, 40)), "cache list shows the token");
  }
  const clear = await runCredproc(["cache", "clear"], r.env);
  assert.equal(clear.code, 0, clear.stderr);
  assert.equal(clear.stdout, `credproc: removed 2 cache entries from ${r.home.cacheDir}\n`);
  assert.deepEqual(entries(r.home), []);
  // The next call signs anew (the role entry went too).
  const again = await runCredproc(eksArgs(), r.env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(r.sts.count("AssumeRole"), 2);
});

Deno.test("without a role: eks-token signs with the source's credentials, as aws eks get-token --profile does", async (t) => {
  await using r = await rig();
  await t.step("static keys in a profile: signed with them, cached only inside the token", async () => {
    await r.home.writeConfig("[profile keys]\nregion = eu-west-1\n");
    await r.home.writeCredentials(
      `[keys]\naws_access_key_id = ${r.sts.accessKeyId}\naws_secret_access_key = ${r.sts.secretAccessKey}\n`,
    );
    const args = ["eks-token", "--cluster-name", CLUSTER, "--profile", "keys"];
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...env } = r.env;
    const res = await runCredproc(args, env);
    assert.equal(res.code, 0, res.stderr);
    const token = EXEC_CREDENTIAL.exec(res.stdout)![3];
    const url = new URL(atob(token.slice(11).replaceAll("-", "+").replaceAll("_", "/")));
    assert.match(url.searchParams.get("X-Amz-Credential")!, new RegExp(`^${r.sts.accessKeyId}/`));
    assert.equal(url.searchParams.get("X-Amz-Security-Token"), null);
    // The long-term keys are never an entry; the token is.
    assert.deepEqual(entries(r.home).map((e) => e.kind), ["eks-token"]);
    for (const e of entries(r.home)) assert.ok(!JSON.stringify(e.doc).includes(r.sts.secretAccessKey));
    assert.equal((await runCredproc(args, env)).stdout, res.stdout, "the token is served from the cache");
    // The API server's STS check accepts it.
    const config = `${r.home.dir}/kubeconfig`;
    await Deno.writeTextFile(config, kubeconfig(r.kube, [...credprocCommand(), ...args]));
    const k = await runProcess(KUBECTL!, ["get", "--raw", "/api"], { ...env, KUBECONFIG: config });
    assert.equal(k.code, 0, k.stderr);
    assert.equal(r.sts.count("AssumeRole"), 0);
  });
  await t.step("a role flag without a role to apply it to: exit 2, naming it", async () => {
    const res = await runCredproc(
      ["eks-token", "--cluster-name", CLUSTER, "--profile", "keys", "--duration-seconds", "900"],
      r.env,
    );
    assertOneErrorLine(
      res,
      2,
      /^credproc: --duration-seconds: applies to a role, and profile keys has none \(eks-token signs with its credentials as they are\); give --role-arn ARN$/,
    );
  });
  await t.step("assume still needs a role for such a profile", async () => {
    const res = await runCredproc(["--profile", "keys"], r.env);
    assertOneErrorLine(res, 2, /^credproc: --role-arn: profile keys has no role_arn: nothing to assume/);
  });
});

Deno.test("a token over 4 KiB (a large session token): one line, exit 1, nothing printed or cached", async () => {
  await using r = await rig();
  // Temporary keys in the environment with a session token as large as many session tags make one.
  const env = { ...r.env, AWS_SESSION_TOKEN: `IQoJb3JpZ2luX2Vj${"A".repeat(3000)}` };
  const res = await runCredproc(["eks-token", "--cluster-name", CLUSTER], env);
  assertOneErrorLine(
    res,
    1,
    /^credproc: eks-token: the token would be \d{4} bytes, over the 4096 aws-iam-authenticator accepts \(the credentials' session token alone is 3016 characters\)$/,
  );
  assert.match(
    res.lines[1],
    /^hint: session tags, a session policy or policy ARNs make the role's session token large/,
  );
  assert.equal(res.stdout, "");
  assert.deepEqual(entries(r.home), []);
  assert.equal(r.sts.count(), 0);
});
