import assert from "node:assert/strict";
import { assumeOptions } from "../support/options.ts";
import { type ChainDeps, chainProvider } from "../../lib/providers/chain.ts";
import { createLogger } from "../../lib/log.ts";
import { createMfaCodeSource } from "../../lib/providers/mfa.ts";
import type { Credentials, Plan } from "../../lib/model.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";
import type {
  AssumeRoleParams,
  SessionTokenParams,
  StsCaller,
  WebIdentityParams,
} from "../../lib/providers/sts.ts";

const NOW = new Date("2026-11-25T12:00:00Z");
const SOURCE: Credentials = { accessKeyId: "AKIASOURCE0000000001", secretAccessKey: "source-secret" };

type Call =
  | { op: "assumeRole"; by: string; params: AssumeRoleParams }
  | { op: "webIdentity"; params: WebIdentityParams }
  | { op: "getSessionToken"; by: string; params: SessionTokenParams };

/** A fake STS that issues ASIA<n> credentials and records who called what. */
function fakeSts(): StsCaller & { calls: Call[] } {
  const calls: Call[] = [];
  let n = 0;
  const issue = (): Credentials => ({
    accessKeyId: `ASIAFAKE${String(++n).padStart(12, "0")}`,
    secretAccessKey: `secret-${n}`,
    sessionToken: `token-${n}`,
    expiration: new Date(NOW.getTime() + 3600_000),
  });
  return {
    calls,
    assumeRole(source, params) {
      calls.push({ op: "assumeRole", by: source.accessKeyId, params });
      return Promise.resolve({ credentials: issue(), assumedRoleArn: params.roleArn });
    },
    assumeRoleWithWebIdentity(params) {
      calls.push({ op: "webIdentity", params });
      return Promise.resolve({ credentials: issue() });
    },
    getSessionToken(source, params) {
      calls.push({ op: "getSessionToken", by: source.accessKeyId, params });
      return Promise.resolve({ credentials: issue() });
    },
  };
}

function deps(sts: StsCaller, extra: Partial<ChainDeps> = {}): ChainDeps {
  const log = createLogger(false, () => {});
  return {
    sts,
    source: () => Promise.resolve(SOURCE),
    mfaCode: createMfaCodeSource({ timeoutMs: 1000, log }),
    loadPolicy: (p) => Promise.resolve(p.kind === "inline" ? p.json : "{}"),
    loadToken: () => Promise.resolve("jwt-token"),
    log,
    ...extra,
  };
}

const A = "arn:aws:iam::111111111111:role/a";
const B = "arn:aws:iam::222222222222:role/b";
const C = "arn:aws:iam::333333333333:role/c";

Deno.test("a three-hop chain assumes each role with the previous hop's credentials", async () => {
  const sts = fakeSts();
  const plan = resolvePlan(
    assumeOptions("--role-arn", A, "--role-arn", B, "--role-arn", C),
    {},
    emptySharedConfig(),
    NOW,
    "linux",
  );
  const creds = await chainProvider(plan, deps(sts))();
  assert.deepEqual(
    sts.calls.map((c) => [c.op, "by" in c ? c.by : "-", "roleArn" in c.params ? c.params.roleArn : ""]),
    [
      ["assumeRole", SOURCE.accessKeyId, A],
      ["assumeRole", "ASIAFAKE000000000001", B],
      ["assumeRole", "ASIAFAKE000000000002", C],
    ],
  );
  assert.equal(creds.accessKeyId, "ASIAFAKE000000000003");
  assert.equal(creds.sessionToken, "token-3");
});

Deno.test("per-hop options: external id, MFA, tags on the first hop; policies on the last", async () => {
  const sts = fakeSts();
  const plan = resolvePlan(
    assumeOptions(
      "--role-arn",
      A,
      "--role-arn",
      B,
      "--external-id",
      "ext-123",
      "--serial-number",
      "arn:aws:iam::111111111111:mfa/me",
      "--token-code",
      "123456",
      "--tag",
      "team=x",
      "--transitive-tag-key",
      "team",
      "--source-identity",
      "alice",
      "--policy",
      '{"Version":"2012-10-17"}',
      "--policy-arn",
      "arn:aws:iam::aws:policy/ReadOnlyAccess",
      "--role-session-name",
      "sess",
      "--duration-seconds",
      "900",
    ),
    {},
    emptySharedConfig(),
    NOW,
    "linux",
  );
  await chainProvider(plan, deps(sts))();
  const [first, second] = sts.calls.map((c) => c.params as AssumeRoleParams);
  assert.deepEqual(first, {
    roleArn: A,
    roleSessionName: "sess",
    durationSeconds: 900,
    policy: undefined,
    policyArns: undefined,
    externalId: "ext-123",
    serialNumber: "arn:aws:iam::111111111111:mfa/me",
    tokenCode: "123456",
    tags: [{ key: "team", value: "x" }],
    transitiveTagKeys: ["team"],
    sourceIdentity: "alice",
  });
  assert.deepEqual(second, {
    roleArn: B,
    roleSessionName: "sess",
    durationSeconds: 900,
    policy: '{"Version":"2012-10-17"}',
    policyArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    externalId: undefined,
    serialNumber: undefined,
    tokenCode: undefined,
    tags: undefined,
    transitiveTagKeys: undefined,
    sourceIdentity: undefined,
  });
});

Deno.test("role chaining over one hour fails before any call", () => {
  assert.throws(
    () =>
      resolvePlan(
        assumeOptions("--role-arn", A, "--role-arn", B, "--duration-seconds", "7200"),
        {},
        emptySharedConfig(),
        NOW,
        "linux",
      ),
    /7200 s is too long for arn:aws:iam::222222222222:role\/b: AWS caps role chaining .* at 3600 s/,
  );
  // A single hop may ask for up to 12 hours.
  assert.equal(
    resolvePlan(
      assumeOptions("--role-arn", A, "--duration-seconds", "43200"),
      {},
      emptySharedConfig(),
      NOW,
      "linux",
    )
      .hops
      .length,
    1,
  );
});

Deno.test("default session name is credproc-<unix seconds>", () => {
  const plan: Plan = resolvePlan(assumeOptions("--role-arn", A), {}, emptySharedConfig(), NOW, "linux");
  assert.equal(plan.hops[0].roleSessionName, `credproc-${NOW.getTime() / 1000}`);
});

Deno.test("--mfa-session: one GetSessionToken with the code, then roles with that session", async () => {
  const sts = fakeSts();
  const plan = resolvePlan(
    assumeOptions(
      "--role-arn",
      A,
      "--mfa-session",
      "--serial-number",
      "arn:aws:iam::1:mfa/me-device",
      "--mfa-session-duration",
      "3600",
    ),
    {},
    emptySharedConfig(),
    NOW,
    "linux",
  );
  const prompts: string[] = [];
  const log = createLogger(false, () => {});
  await chainProvider(
    plan,
    deps(sts, {
      mfaCode: createMfaCodeSource({
        timeoutMs: 1000,
        log,
        prompt: (serial) => {
          prompts.push(serial);
          return Promise.resolve("654321");
        },
      }),
    }),
  )();
  assert.deepEqual(prompts, ["arn:aws:iam::1:mfa/me-device"]);
  assert.deepEqual(sts.calls[0], {
    op: "getSessionToken",
    by: SOURCE.accessKeyId,
    params: { serialNumber: "arn:aws:iam::1:mfa/me-device", tokenCode: "654321", durationSeconds: 3600 },
  });
  assert.equal(sts.calls[1].op, "assumeRole");
  assert.equal((sts.calls[1] as { by: string }).by, "ASIAFAKE000000000001");
  assert.equal((sts.calls[1].params as AssumeRoleParams).serialNumber, undefined);
});

Deno.test("web identity starts the chain without source credentials", async () => {
  const sts = fakeSts();
  let sourceCalled = false;
  const plan = resolvePlan(
    assumeOptions("--role-arn", A, "--role-arn", B, "--web-identity-token-file", "/t"),
    {},
    emptySharedConfig(),
    NOW,
    "linux",
  );
  await chainProvider(plan, deps(sts, { source: () => (sourceCalled = true, Promise.resolve(SOURCE)) }))();
  assert.equal(sourceCalled, false);
  assert.equal(sts.calls[0].op, "webIdentity");
  assert.equal((sts.calls[0].params as WebIdentityParams).webIdentityToken, "jwt-token");
  assert.equal(sts.calls[1].op, "assumeRole");
});

Deno.test("no code and no terminal: a clear MFA error before any STS call", async () => {
  const sts = fakeSts();
  const plan = resolvePlan(
    assumeOptions("--role-arn", A, "--serial-number", "arn:aws:iam::1:mfa/me-device"),
    {},
    emptySharedConfig(),
    NOW,
    "linux",
  );
  await assert.rejects(chainProvider(plan, deps(sts))(), (e: Error & { hint?: string }) => {
    assert.match(e.message, /no code given and no terminal/);
    assert.match(e.hint ?? "", /--token-code CODE or set CREDPROC_MFA_TOKEN_CODE/);
    return true;
  });
  assert.equal(sts.calls.length, 0);
});

Deno.test("a bad policy file fails before the source is asked or STS is called", async () => {
  const sts = fakeSts();
  let sourceCalled = false;
  const plan = resolvePlan(
    assumeOptions("--role-arn", A, "--policy-file", "/p.json"),
    {},
    emptySharedConfig(),
    NOW,
    "linux",
  );
  await assert.rejects(
    chainProvider(
      plan,
      deps(sts, {
        source: () => (sourceCalled = true, Promise.resolve(SOURCE)),
        loadPolicy: () => Promise.reject(new Error("bad policy")),
      }),
    )(),
    /bad policy/,
  );
  assert.equal(sourceCalled, false);
  assert.equal(sts.calls.length, 0);
});
