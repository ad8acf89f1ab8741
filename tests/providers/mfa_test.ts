/**
 * The MFA code source (lib/providers/mfa.ts) and the terminal prompt (lib/providers/prompt.ts) with fake terminals: order of
 * sources, the prompt's text and where it goes, timeout, Ctrl-C, end of input, no terminal.
 */
import assert from "node:assert/strict";
import { MfaError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { createMfaCodeSource, type MfaPrompt } from "../../lib/providers/mfa.ts";
import { assumeOptions } from "../support/options.ts";
import { type ChainDeps, chainProvider } from "../../lib/providers/chain.ts";
import { type Credentials, MFA_ENV, type MfaSessionPlan } from "../../lib/model.ts";
import { resolvePlan } from "../../lib/plan/planner.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";
import { createTerminalPrompt, type OnInterrupt, type Terminal } from "../../lib/providers/prompt.ts";
import type { StsCaller } from "../../lib/providers/sts.ts";

const SERIAL = "arn:aws:iam::123456789012:mfa/alice";
const ROLE_A = "arn:aws:iam::111111111111:role/a";
const ROLE_B = "arn:aws:iam::222222222222:role/b";
const log = createLogger(false, () => {});

/** A terminal that answers with `chunks` one read at a time, then hangs (or ends, with `end: true`). */
function fakeTerminal(chunks: string[], opts: { end?: boolean } = {}) {
  const written: string[] = [];
  let closed = 0;
  const queue = chunks.map((c) => new TextEncoder().encode(c));
  const term: Terminal = {
    write: (text) => void written.push(text),
    read(buffer) {
      const next = queue.shift();
      if (next === undefined) return opts.end ? Promise.resolve(null) : new Promise(() => {});
      buffer.set(next.subarray(0, buffer.length));
      if (next.length > buffer.length) queue.unshift(next.subarray(buffer.length));
      return Promise.resolve(Math.min(next.length, buffer.length));
    },
    close: () => void closed++,
  };
  return { term, written, closed: () => closed };
}

/** An interrupt source the test fires by hand. */
function manualInterrupt(): { onInterrupt: OnInterrupt; fire(): void; listening(): number } {
  const handlers = new Set<() => void>();
  return {
    onInterrupt: (h) => {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    fire: () => handlers.forEach((h) => h()),
    listening: () => handlers.size,
  };
}

Deno.test("prompt: asks once on the terminal, reads one line, releases everything", async () => {
  const t = fakeTerminal(["12", "34", "56\r\n", "ignored\n"]);
  const sigint = manualInterrupt();
  const prompt = createTerminalPrompt({
    open: () => Promise.resolve(t.term),
    onInterrupt: sigint.onInterrupt,
  });
  assert.equal(await prompt(SERIAL, 5000), "123456");
  assert.deepEqual(t.written, [`Enter MFA code for ${SERIAL}: `]);
  assert.equal(t.closed(), 1);
  assert.equal(sigint.listening(), 0);
});

Deno.test("prompt: a line longer than a read buffer still comes back whole", async () => {
  const long = "1".repeat(100);
  const t = fakeTerminal([`${long}\n`]);
  const prompt = createTerminalPrompt({ open: () => Promise.resolve(t.term), onInterrupt: () => () => {} });
  assert.equal(await prompt(SERIAL, 5000), long);
});

Deno.test("prompt: no terminal → undefined, so the code source fails at once with how to pass the code", async () => {
  const prompt = createTerminalPrompt({ open: () => Promise.resolve(undefined) });
  assert.equal(await prompt(SERIAL, 60_000), undefined);
  const source = createMfaCodeSource({ prompt, timeoutMs: 60_000, log });
  const started = performance.now();
  await assert.rejects(source(SERIAL), (e) => {
    assert.ok(e instanceof MfaError);
    assert.equal(e.what, `MFA code for ${SERIAL}`);
    assert.match(e.message, /no terminal/);
    assert.match(e.hint ?? "", new RegExp(`--token-code CODE or set ${MFA_ENV}`));
    return true;
  });
  assert.ok(performance.now() - started < 1000);
});

Deno.test("prompt: nothing typed → a timeout error, the terminal left on a fresh line", async () => {
  const t = fakeTerminal([]);
  const sigint = manualInterrupt();
  const prompt = createTerminalPrompt({
    open: () => Promise.resolve(t.term),
    onInterrupt: sigint.onInterrupt,
  });
  const started = performance.now();
  await assert.rejects(prompt(SERIAL, 150), (e) => {
    assert.ok(e instanceof MfaError);
    assert.match(e.message, /no code entered within 0 s/);
    assert.match(e.hint ?? "", /--token-code.*--mfa-timeout/);
    return true;
  });
  const ms = performance.now() - started;
  assert.ok(ms >= 140 && ms < 2000, `${ms} ms`);
  assert.deepEqual(t.written, [`Enter MFA code for ${SERIAL}: `, "\n"]);
  assert.equal(t.closed(), 1);
  assert.equal(sigint.listening(), 0);
});

Deno.test("prompt: Ctrl-C ends the prompt with an error, not a hang", async () => {
  const t = fakeTerminal([]);
  const sigint = manualInterrupt();
  const prompt = createTerminalPrompt({
    open: () => Promise.resolve(t.term),
    onInterrupt: sigint.onInterrupt,
  });
  const asked = prompt(SERIAL, 60_000);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(sigint.listening(), 1);
  sigint.fire();
  await assert.rejects(asked, (e) => e instanceof MfaError && /interrupted/.test(e.message));
  assert.equal(t.closed(), 1);
  assert.equal(sigint.listening(), 0);
});

Deno.test("prompt: the terminal closing before a line is an error", async () => {
  const t = fakeTerminal([], { end: true });
  const prompt = createTerminalPrompt({ open: () => Promise.resolve(t.term), onInterrupt: () => () => {} });
  await assert.rejects(
    prompt(SERIAL, 5000),
    (e) => e instanceof MfaError && /terminal closed/.test(e.message),
  );
  // A partial line before the end counts as the answer.
  const partial = fakeTerminal(["654321"], { end: true });
  const p2 = createTerminalPrompt({ open: () => Promise.resolve(partial.term), onInterrupt: () => () => {} });
  assert.equal(await p2(SERIAL, 5000), "654321");
});

Deno.test("code source order: --token-code, then CREDPROC_MFA_TOKEN_CODE, then the prompt", async () => {
  const asked: string[] = [];
  const prompt: MfaPrompt = (serial) => {
    asked.push(serial);
    return Promise.resolve(" 111111 ");
  };
  assert.equal(
    await createMfaCodeSource({ tokenCode: "222222", envCode: "333333", prompt, timeoutMs: 1, log })(SERIAL),
    "222222",
  );
  assert.equal(await createMfaCodeSource({ envCode: "333333", prompt, timeoutMs: 1, log })(SERIAL), "333333");
  const fromPrompt = createMfaCodeSource({ envCode: "", prompt, timeoutMs: 1, log });
  assert.equal(await fromPrompt(SERIAL), "111111");
  // Asked once per device, however many hops need it.
  assert.equal(await fromPrompt(SERIAL), "111111");
  assert.equal(await fromPrompt("arn:aws:iam::123456789012:mfa/bob"), "111111");
  assert.deepEqual(asked, [SERIAL, "arn:aws:iam::123456789012:mfa/bob"]);
});

Deno.test("code source: a typed or env code that is not 6 digits is refused", async () => {
  const typed = createMfaCodeSource({ prompt: () => Promise.resolve("12345"), timeoutMs: 1, log });
  await assert.rejects(typed(SERIAL), (e) => e instanceof MfaError && /6 digits/.test(e.message));
  const env = createMfaCodeSource({ envCode: "12ab56", timeoutMs: 1, log });
  await assert.rejects(env(SERIAL), (e) => e instanceof MfaError && e.what === MFA_ENV);
});

Deno.test("code source: the timeout given reaches the prompt", async () => {
  let seen = 0;
  const source = createMfaCodeSource({
    prompt: (_, ms) => {
      seen = ms;
      return Promise.resolve("123456");
    },
    timeoutMs: 4321,
    log,
  });
  await source(SERIAL);
  assert.equal(seen, 4321);
});

Deno.test("--mfa-session: the session step can be cached on its own (a hit needs no source, code or call)", async () => {
  const options = assumeOptions(
    "--role-arn",
    ROLE_A,
    "--role-arn",
    ROLE_B,
    "--mfa-session",
    "--serial-number",
    SERIAL,
  );
  const plan = resolvePlan(options, {}, emptySharedConfig(), new Date(), "linux");
  const calls: string[] = [];
  const issued = (id: string): Credentials => ({
    accessKeyId: id,
    secretAccessKey: `${id}-secret`,
    sessionToken: `${id}-token`,
    expiration: new Date(Date.now() + 3600_000),
  });
  const sts: StsCaller = {
    assumeRole: (from, p) => {
      calls.push(`AssumeRole ${p.roleArn} by ${from.accessKeyId}${p.serialNumber ? " with MFA" : ""}`);
      return Promise.resolve({ credentials: issued(`ASIAROLE${calls.length}`) });
    },
    assumeRoleWithWebIdentity: () => Promise.reject(new Error("unexpected")),
    getSessionToken: (from, p) => {
      calls.push(`GetSessionToken by ${from.accessKeyId} ${p.serialNumber} ${p.tokenCode}`);
      return Promise.resolve({ credentials: issued("ASIASESSION") });
    },
  };
  const deps = (wrap?: ChainDeps["wrapMfaSession"]): ChainDeps => ({
    sts,
    source: () => {
      calls.push("source");
      return Promise.resolve(issued("AKIASOURCE"));
    },
    mfaCode: (serial) => {
      calls.push(`code for ${serial}`);
      return Promise.resolve("123456");
    },
    loadPolicy: () => Promise.resolve(""),
    loadToken: () => Promise.resolve(""),
    log,
    wrapMfaSession: wrap,
  });

  await chainProvider(plan, deps())();
  assert.deepEqual(calls.splice(0), [
    "source",
    `code for ${SERIAL}`,
    `GetSessionToken by AKIASOURCE ${SERIAL} 123456`,
    `AssumeRole ${ROLE_A} by ASIASESSION`,
    `AssumeRole ${ROLE_B} by ASIAROLE4`,
  ]);

  const wrapped: MfaSessionPlan[] = [];
  await chainProvider(
    plan,
    deps((_, session) => {
      wrapped.push(session);
      return () => Promise.resolve(issued("ASIACACHEDSESSION"));
    }),
  )();
  assert.deepEqual(wrapped, [{ serialNumber: SERIAL, tokenCode: undefined, durationSeconds: undefined }]);
  assert.deepEqual(calls.splice(0), [
    `AssumeRole ${ROLE_A} by ASIACACHEDSESSION`,
    `AssumeRole ${ROLE_B} by ASIAROLE1`,
  ]);
});
