/**
 * Source credentials with a control character (a token pasted with a stray line break, an endpoint's answer
 * with one) never reach a request: the chain refuses them by field, never quoting the value — bad input for
 * keys written in a profile (exit 2), a failure for keys a source endpoint gave (exit 1).
 */
import assert from "node:assert/strict";
import { assumeOptions } from "../support/options.ts";
import { chainProvider } from "../../lib/providers/chain.ts";
import { createLogger } from "../../lib/log.ts";
import { createMfaCodeSource } from "../../lib/providers/mfa.ts";
import type { Credentials, Plan } from "../../lib/model.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";
import type { StsCaller } from "../../lib/providers/sts.ts";
import { CredprocError } from "../../lib/errors.ts";

const NOW = new Date("2026-11-25T12:00:00Z");
const ROLE = "arn:aws:iam::111111111111:role/a";
const TOKEN = "IQoJb3JpZ2luX2VjEFakeSessionToken0123456789";

/** An STS that must not be called. */
const noSts: StsCaller = {
  assumeRole: () => Promise.reject(new Error("STS was called")),
  assumeRoleWithWebIdentity: () => Promise.reject(new Error("STS was called")),
  getSessionToken: () => Promise.reject(new Error("STS was called")),
};

async function refusal(plan: Plan, source: Credentials): Promise<CredprocError> {
  const log = createLogger(false, () => {});
  try {
    await chainProvider(plan, {
      sts: noSts,
      source: () => Promise.resolve(source),
      mfaCode: createMfaCodeSource({ timeoutMs: 1000, log }),
      loadPolicy: () => Promise.resolve("{}"),
      loadToken: () => Promise.resolve("jwt-token"),
      log,
    })();
  } catch (e) {
    assert.ok(e instanceof CredprocError, String(e));
    return e;
  }
  assert.fail("the credentials were used");
}

Deno.test("chain: a source session token or key with a control character is refused before STS", async () => {
  const planned = (source: Plan["source"]): Plan => ({
    ...resolvePlan(assumeOptions("--role-arn", ROLE), {}, emptySharedConfig(), NOW, "linux"),
    source,
  });
  for (const bad of ["\n", "\r", "\t", "\x00", "\x01", "\x7f", "\u0085", "\u2028"]) {
    const broken = `${TOKEN.slice(0, 20)}${bad}${TOKEN.slice(20)}`;
    const sso = await refusal(planned({ kind: "container" }), {
      accessKeyId: "ASIAFROMSOURCE000001",
      secretAccessKey: "secret/key+0123456789",
      sessionToken: broken,
    });
    assert.deepEqual([sso.what, sso.message, sso.exitCode], [
      "source credentials (container)",
      "the aws_session_token holds a control character (a stray line break?); the value is not shown",
      1,
    ]);
    const profile = await refusal(
      planned({ kind: "static", profile: "p", accessKeyId: "AKIAPROFILE000000001", secretAccessKey: broken }),
      { accessKeyId: "AKIAPROFILE000000001", secretAccessKey: broken },
    );
    assert.deepEqual([profile.what, profile.message, profile.exitCode, profile.hint], [
      "profile p",
      "aws_secret_access_key holds a control character (a stray line break?); the value is not shown",
      2,
      "write the key on one line in the shared credentials file",
    ]);
  }
});
