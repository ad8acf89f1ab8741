/**
 * lib/cli/serve.ts: `serve(...)`'s wiring with fake collaborators (tests/support/fake_deps.ts) and a real
 * listener on 127.0.0.1 — the token-file rule before anything else, a failed first call, long-term keys, the
 * export lines and the endpoint they name, the one shadowing warning after them, stdout that cannot be
 * written, and the stop on SIGTERM. The endpoint's own checks are tests/unit/serve_test.ts's; the real program
 * with every SDK is tests/e2e/serve_*_test.ts's. Nothing may be left running once `serve` ends: its port
 * refuses connections, and a `--token-file` turned bad says nothing (its watcher would, within a second).
 */
import assert from "node:assert/strict";
import { scanArgv } from "../../lib/argv.ts";
import { type Command, parseCommand } from "../../lib/cli/args.ts";
import type { CliDeps } from "../../lib/cli/deps.ts";
import { serve } from "../../lib/cli/serve.ts";
import { CredprocError, StsError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { emptySharedConfig } from "../../lib/plan/shared_config.ts";
import { FAKE_ASSUMED, FAKE_SOURCE, fakeDeps } from "../support/fake_deps.ts";
import { fakeIo } from "../support/fake_io.ts";
import { type TempHome, tempHome } from "../support/helpers.ts";

const ROLE = "arn:aws:iam::123456789012:role/deploy";
const TOKEN = "tok_0123456789abcdefghijklmnopqrstuvwxyzABCDEF";

/** `credproc serve …args`, parsed by the real parser. */
function serveCommand(...args: string[]): Extract<Command, { kind: "serve" }> {
  const command = parseCommand(["serve", ...args]);
  assert.equal(command.kind, "serve");
  return command as Extract<Command, { kind: "serve" }>;
}

/** A logger whose lines (all of them, `-v` or not) are kept, marked as cli.ts marks it. */
function logger() {
  const lines: string[] = [];
  return { lines, log: Object.assign(createLogger(false, (l) => lines.push(l)), { toFile: false }) };
}

/** The environment of a call whose cache and shared files live in `home`. */
function envOf(home: TempHome, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: home.dir,
    CREDPROC_CACHE_DIR: home.cacheDir,
    AWS_CONFIG_FILE: home.configFile,
    AWS_SHARED_CREDENTIALS_FILE: home.credentialsFile,
    ...extra,
  };
}

/** Keys in `[default]`: the SDKs use them before the container endpoint. */
const DEFAULT_KEYS: Record<string, string> = {
  aws_access_key_id: FAKE_SOURCE.accessKeyId,
  aws_secret_access_key: "x",
};

const NO_PROFILES: Record<string, Record<string, string>> = {};

/** The credentials document the endpoint serves for {@link FAKE_ASSUMED}. */
const SERVED = {
  AccessKeyId: FAKE_ASSUMED.accessKeyId,
  SecretAccessKey: FAKE_ASSUMED.secretAccessKey,
  Token: FAKE_ASSUMED.sessionToken,
  Expiration: "2026-11-25T13:00:00Z",
};

/**
 * Runs `serve` until its export lines are out, then `visit`s the endpoint they name and sends this process
 * SIGTERM (serve's listener takes it; the test runner has none). Returns what serve returned, every line out
 * and err in the order written, and what `visit` returned.
 */
async function serveAndVisit<T>(
  command: Extract<Command, { kind: "serve" }>,
  env: Record<string, string>,
  deps: CliDeps,
  visit: (exported: string) => Promise<T>,
) {
  const io = fakeIo(env);
  const order: string[] = [];
  let visited: Promise<T> | undefined;
  const { log, lines } = logger();
  const result = await serve(command, {
    argv: scanArgv(["serve"]),
    io: {
      ...io,
      out: (text) => {
        order.push(`out: ${text}`);
        visited ??= (async () => {
          try {
            return await visit(text);
          } finally {
            Deno.kill(Deno.pid, "SIGTERM");
          }
        })();
        return io.out(text);
      },
      err: (line) => {
        order.push(`err: ${line}`);
        io.err(line);
      },
    },
    deps,
    log,
  });
  assert.ok(visited, "serve printed no export lines");
  return { result, order, logLines: lines, visit: await visited };
}

/**
 * An io for a serve that must fail before it listens: if it prints export lines after all, it is stopped
 * (SIGTERM), so the test fails on its outcome instead of waiting for ever.
 */
function mustNotServe(env: Record<string, string>) {
  const io = fakeIo(env);
  return {
    ...io,
    out: (text: string) => {
      Deno.kill(Deno.pid, "SIGTERM");
      return io.out(text);
    },
  };
}

/** The port and token of generated-token export lines (asserting their exact shape). */
function exported(text: string): { port: number; token: string } {
  const m =
    /^export AWS_CONTAINER_CREDENTIALS_FULL_URI=http:\/\/127\.0\.0\.1:(\d+)\/credentials\nexport AWS_CONTAINER_AUTHORIZATION_TOKEN=([A-Za-z0-9_-]{43})\n$/
      .exec(text);
  assert.ok(m, text);
  return { port: Number(m[1]), token: m[2] };
}

/** How long a stopped token-file watcher is given to speak anyway (it looks every second). */
const WATCH_MS = 2500;

/** Asserts nothing listens on 127.0.0.1:`port` any more. */
async function assertClosed(port: number): Promise<void> {
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }), Deno.errors.ConnectionRefused);
}

/** Makes the token file bad, waits longer than the watcher's period, and asserts no line came of it. */
async function assertNotWatched(file: string, stderr: () => readonly string[]): Promise<void> {
  await Deno.chmod(file, 0o644);
  await new Promise((r) => setTimeout(r, WATCH_MS));
  assert.deepEqual(stderr(), [], "the token file is still watched");
}

/** GET /credentials with `authorization`; the status and the body. */
async function get(port: number, authorization: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${port}/credentials`, { headers: { authorization } });
  return { status: r.status, body: await r.text() };
}

Deno.test("cli serve: a bad --token-file is exit 2 before any credentials call, and nothing is printed", async (t) => {
  await using home = await tempHome();
  const file = `${home.dir}/token`;
  const cases: [string, () => Promise<void>, Partial<CliDeps>, string, string | undefined][] = [
    ["missing", () => Promise.resolve(), {}, "no such file", undefined],
    [
      "readable by others",
      () => Deno.writeTextFile(file, TOKEN, { mode: 0o644 }).then(() => Deno.chmod(file, 0o644)),
      {},
      "its mode is 0644: other users can read or write it",
      `chmod 600 ${file}`,
    ],
    [
      "another user's",
      () => Deno.writeTextFile(file, TOKEN, { mode: 0o600 }).then(() => Deno.chmod(file, 0o600)),
      { uid: () => 4242 },
      `it belongs to uid ${Deno.uid()}, not to this user (uid 4242)`,
      "use a token file of your own: printf %s TOKEN > FILE; chmod 600 FILE",
    ],
    [
      "a token with a line break after it",
      () => Deno.writeTextFile(file, `${TOKEN}\n`, { mode: 0o600 }).then(() => Deno.chmod(file, 0o600)),
      {},
      "the token ends with a line break, which the SDKs refuse to send",
      "write the token without a newline: printf %s TOKEN > FILE (chmod 600)",
    ],
  ];
  for (const [name, make, over, why, hint] of cases) {
    await t.step(name, async () => {
      await Deno.remove(file).catch(() => {});
      await make();
      const { deps, calls } = fakeDeps(undefined, over);
      const io = mustNotServe(envOf(home));
      const { log } = logger();
      await assert.rejects(
        serve(serveCommand("--role-arn", ROLE, "--token-file", file), {
          argv: scanArgv(["serve"]),
          io,
          deps,
          log,
        }),
        (e: unknown) => {
          assert.ok(e instanceof CredprocError, String(e));
          assert.equal(e.exitCode, 2);
          assert.equal(e.what, `--token-file ${file}`);
          assert.equal(e.message, why);
          assert.equal(e.hint, hint);
          return true;
        },
      );
      assert.equal(calls.length, 0, "no credentials call before the token file is right");
      assert.deepEqual(io.stdout, []);
      assert.deepEqual(io.stderr, []);
    });
  }
});

Deno.test("cli serve: a failed first call ends the command with its error: no export lines, nothing left running", async (t) => {
  const refusal = new StsError(`AssumeRole ${ROLE}`, "AccessDenied", "not allowed");
  const cases: [string, string[]][] = [
    ["a generated token", []],
    ["--token-file (its watcher stops)", ["--token-file", "TOKEN_FILE"]],
  ];
  for (const [name, args] of cases) {
    await t.step(name, async () => {
      // A home each: a failure is shared with the next caller of the same key for a moment (failure record).
      await using home = await tempHome();
      const file = `${home.dir}/token`;
      await Deno.writeTextFile(file, TOKEN, { mode: 0o600 });
      const { deps, calls } = fakeDeps(() => Promise.reject(refusal));
      const io = mustNotServe(envOf(home));
      const { log } = logger();
      await assert.rejects(
        serve(
          serveCommand("--role-arn", ROLE, ...args.map((a) => a === "TOKEN_FILE" ? file : a)),
          { argv: scanArgv(["serve"]), io, deps, log },
        ),
        (e: unknown) => e === refusal,
      );
      assert.equal(calls.length, 1);
      assert.deepEqual(io.stdout, []);
      assert.deepEqual(io.stderr, []);
      if (args.length > 0) await assertNotWatched(file, () => io.stderr);
    });
  }
});

Deno.test("cli serve: credentials without a session token are refused, exit 2: an endpoint serves temporary ones only", async () => {
  await using home = await tempHome();
  // Only an `aws login` session is served without a role, and it is temporary; the guard holds whatever the
  // chain gives: here an answer without a session token.
  const { deps, calls } = fakeDeps(() => Promise.resolve({ ...FAKE_ASSUMED, sessionToken: undefined }));
  const io = mustNotServe(envOf(home));
  const { log } = logger();
  await assert.rejects(
    serve(serveCommand("--role-arn", ROLE), { argv: scanArgv(["serve"]), io, deps, log }),
    (e: unknown) => {
      assert.ok(e instanceof CredprocError, String(e));
      assert.equal(e.exitCode, 2);
      assert.equal(e.what, "serve");
      assert.equal(
        e.message,
        "these are long-term keys; a container endpoint serves temporary credentials only",
      );
      assert.equal(e.hint, "name a role to assume (--role-arn, or a profile with role_arn)");
      return true;
    },
  );
  assert.equal(calls.length, 1);
  assert.deepEqual(io.stdout, []);
  assert.deepEqual(io.stderr, []);
});

Deno.test("cli serve: the export lines name a working endpoint; nothing on stderr; SIGTERM ends it (no output)", async () => {
  await using home = await tempHome();
  const { deps, calls } = fakeDeps();
  const { result, order, logLines, visit } = await serveAndVisit(
    serveCommand("--role-arn", ROLE),
    envOf(home),
    deps,
    async (text) => {
      const { port, token } = exported(text);
      return { port, token, good: await get(port, token), bad: await get(port, `${token.slice(0, -1)}x`) };
    },
  );
  assert.equal(result, "");
  await assertClosed(visit.port);
  assert.equal(order.length, 1, order.join("\n"));
  assert.equal(visit.good.status, 200);
  assert.deepEqual(JSON.parse(visit.good.body), SERVED);
  assert.equal(visit.bad.status, 401);
  assert.equal(calls.length, 1, "the endpoint served the credentials of the first call");
  // The token is registered as a secret: no log line holds it, even unfiltered by -v.
  assert.ok(logLines.every((l) => !l.includes(visit.token)), logLines.join("\n"));
});

Deno.test("cli serve: --token-file: the export lines name the file, never the token; the file's token opens it", async () => {
  await using home = await tempHome();
  const file = `${home.dir}/token`;
  await Deno.writeTextFile(file, TOKEN, { mode: 0o600 });
  const { deps } = fakeDeps();
  const { order, visit } = await serveAndVisit(
    serveCommand("--role-arn", ROLE, "--token-file", file),
    envOf(home),
    deps,
    async (text) => {
      const port = Number(/127\.0\.0\.1:(\d+)\//.exec(text)?.[1]);
      return {
        text,
        port,
        good: await get(port, TOKEN),
        bad: await get(port, "tok_not-the-one-in-the-file-0000"),
      };
    },
  );
  assert.deepEqual(order, [
    `out: export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:${visit.port}/credentials\n` +
    `export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=${file}\n`,
  ]);
  assert.equal(visit.good.status, 200);
  assert.deepEqual(JSON.parse(visit.good.body), SERVED);
  assert.equal(visit.bad.status, 401);
  await assertClosed(visit.port);
  await assertNotWatched(file, () => order.slice(1));
});

Deno.test("cli serve: one warning after the export lines when the environment or [default] would shadow the endpoint", async (t) => {
  await using home = await tempHome();
  const cases: [string, Record<string, string>, boolean, string][] = [
    [
      "AWS_ACCESS_KEY_ID",
      { AWS_ACCESS_KEY_ID: FAKE_SOURCE.accessKeyId },
      false,
      "AWS_ACCESS_KEY_ID from the environment before AWS_CONTAINER_CREDENTIALS_FULL_URI; where the export lines " +
      "are used, also run: unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN",
    ],
    [
      "[default] with keys in the credentials file",
      {},
      true,
      `the keys of profile default (in ${home.credentialsFile}) before AWS_CONTAINER_CREDENTIALS_FULL_URI; ` +
      "where the export lines are used, also run: export AWS_SHARED_CREDENTIALS_FILE=/dev/null",
    ],
  ];
  for (const [name, extra, defaultKeys, warning] of cases) {
    await t.step(name, async () => {
      const { deps } = fakeDeps(undefined, {
        loadSharedConfig: (paths) =>
          Promise.resolve({
            ...emptySharedConfig(paths.configPath, paths.credentialsPath),
            credentialsFile: defaultKeys ? { default: DEFAULT_KEYS } : NO_PROFILES,
          }),
      });
      const { order } = await serveAndVisit(
        serveCommand("--role-arn", ROLE),
        envOf(home, extra),
        deps,
        (text) => Promise.resolve(exported(text)),
      );
      assert.equal(order.length, 2, order.join("\n"));
      assert.match(order[0], /^out: export AWS_CONTAINER_CREDENTIALS_FULL_URI=/);
      assert.equal(order[1], `err: credproc: warning: the AWS SDKs use ${warning}`);
    });
  }
});

Deno.test("cli serve: stdout that cannot be written: exit 1 naming stdout, and the listener is closed", async () => {
  await using home = await tempHome();
  const { deps } = fakeDeps();
  const io = fakeIo(envOf(home));
  const { log } = logger();
  let written = "";
  await assert.rejects(
    serve(serveCommand("--role-arn", ROLE), {
      argv: scanArgv(["serve"]),
      io: {
        ...io,
        out: (text) => {
          written = text;
          return Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)"));
        },
      },
      deps,
      log,
    }),
    (e: unknown) => {
      assert.ok(e instanceof CredprocError, String(e));
      assert.equal(e.exitCode, 1);
      assert.equal(e.what, "stdout");
      assert.equal(e.message, "cannot write the export lines: the reader closed the pipe");
      return true;
    },
  );
  assert.deepEqual(io.stderr, []);
  await assertClosed(exported(written).port);
});
