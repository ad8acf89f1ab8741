/**
 * lib/fast_path.ts: a repeated call answered from the memo the full path left — printed only when every
 * input, watched file and the entry still match; any doubt falls through — and its light import graph.
 */
import assert from "node:assert/strict";
import { scanArgv } from "../../lib/argv.ts";
import { startupModules } from "../support/helpers.ts";
import { entryFor, tokenEntryFor } from "../../lib/cache/store.ts";
import {
  fileHmac,
  importDigestKey,
  inputSecretValues,
  inputsKey,
  newDigestKeyText,
} from "../../lib/cache/digests.ts";
import { memoText } from "../../lib/cache/memo.ts";
import { writeEntry, writeFileAtomic } from "../../lib/cache/write.ts";
import { argvKind, fastPath, type FastPathIo } from "../../lib/fast_path.ts";
import { execCredentialJson } from "../../lib/eks/exec_credential.ts";
import { render } from "../../lib/output.ts";
import {
  type Credentials,
  ENV_NAMES,
  type Format,
  INPUT_ENV_NAMES,
  SECRET_ENV_NAMES,
} from "../../lib/model.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const MIN = 60_000;
const ROLE = "arn:aws:iam::123456789012:role/deploy";
const KEY = "a".repeat(64);
const UID = Deno.uid();

Deno.test("fast path lists stay in step with model.ts", () => {
  assert.deepEqual(
    [...INPUT_ENV_NAMES].sort(),
    ENV_NAMES.filter((n) =>
      n !== "CREDPROC_MFA_TOKEN_CODE" && !(SECRET_ENV_NAMES as readonly string[]).includes(n)
    )
      .sort(),
    "INPUT_ENV_NAMES must be ENV_NAMES less the MFA code and the secrets (digested apart): a variable that shapes the plan must change the inputs key",
  );
});

/** A temp cache with a memo and an entry as the full path leaves them, and fast path io pointing at them. */
async function fastHarness(extraArgv: readonly string[] = []) {
  const dir = await Deno.makeTempDir({ prefix: "credproc-fast-unit-" });
  const cacheDir = `${dir}/cache`;
  const configFile = `${dir}/config`;
  await Deno.writeTextFile(configFile, "[default]\nregion = us-east-1\n");
  const argv = ["--role-arn", ROLE, "--cache-dir", cacheDir, ...extraArgv];
  const env: Record<string, string> = { HOME: dir, AWS_CONFIG_FILE: configFile };
  const io = (over: Partial<FastPathIo> = {}): FastPathIo => ({
    argv,
    getEnv: (n) => env[n],
    cwd: dir,
    os: "linux",
    uid: UID,
    now: NOW,
    ...over,
  });
  const credentials: Credentials = {
    accessKeyId: "ASIAEXAMPLE000000001",
    secretAccessKey: "secret",
    sessionToken: "token",
    expiration: new Date(NOW + 60 * MIN),
  };
  await Deno.mkdir(cacheDir, { mode: 0o700 });
  await writeEntry(`${cacheDir}/${KEY}.json`, entryFor(KEY, credentials, NOW));
  const keyText = newDigestKeyText();
  await writeFileAtomic(`${cacheDir}/digest.key`, keyText);
  const digestKey = (await importDigestKey(keyText))!;
  const keyOfInputs = () =>
    inputsKey(scanArgv(argv), env, { cwd: dir, os: "linux" }, {
      key: digestKey,
      secretValues: inputSecretValues(scanArgv(argv), (n) => env[n]),
    });
  let inputs = await keyOfInputs();
  // The memo as the full path leaves it (session.ts `remember`).
  const remember = async (format: Format = "process") => {
    const files = [configFile, `${dir}/missing-credentials`];
    const watched = await Promise.all(
      files.map(async (path) => ({ path, hmac: await fileHmac(path, digestKey) })),
    );
    const text = memoText({ kind: "assume", inputs, key: KEY, format, marginMs: 15 * MIN, files: watched });
    await writeFileAtomic(`${cacheDir}/${inputs}.inputs.json`, text);
  };
  await remember();
  return {
    dir,
    cacheDir,
    configFile,
    env,
    io,
    inputs,
    remember,
    /** Remembers again under the inputs key of the environment as it now is. */
    async rekey() {
      inputs = await keyOfInputs();
      await remember();
    },
    digestKey,
    memoPath: `${cacheDir}/${inputs}.inputs.json`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("fast path: a remembered hit is printed; the memo holds no secret", async () => {
  await using f = await fastHarness();
  const text = await fastPath(f.io());
  assert.equal(
    text,
    render({
      accessKeyId: "ASIAEXAMPLE000000001",
      secretAccessKey: "secret",
      sessionToken: "token",
      expiration: new Date(NOW + 60 * MIN),
    }, "process"),
  );
  const memo = await Deno.readTextFile(f.memoPath);
  assert.ok(!memo.includes("secret") && !memo.includes('token"'), memo);
  assert.equal((await Deno.stat(f.memoPath)).mode! & 0o777, 0o600);
  const doc = JSON.parse(memo);
  assert.equal(doc.files[1].sha256, null, "a missing file is remembered as missing");
  assert.match(
    doc.files[0].sha256,
    /^[0-9a-f]{64}$/,
    "on disk, the keyed digest keeps format 1's field name",
  );
  await f.remember("env");
  assert.match((await fastPath(f.io()))!, /^export AWS_ACCESS_KEY_ID=ASIAEXAMPLE000000001$/m);
});

Deno.test("fast path: any doubt falls through to the full path", async (t) => {
  const cases: [
    string,
    (f: Awaited<ReturnType<typeof fastHarness>>) => Promise<Partial<FastPathIo> | void>,
  ][] = [
    [
      "a shared config file changed",
      (f) => Deno.writeTextFile(f.configFile, "[default]\nregion = eu-west-1\n"),
    ],
    [
      "a remembered-missing file appeared",
      (f) => Deno.writeTextFile(`${f.dir}/missing-credentials`, "[x]\n"),
    ],
    [
      "a variable changed",
      (f) => Promise.resolve({ getEnv: (n: string) => ({ ...f.env, AWS_PROFILE: "other" })[n] }),
    ],
    ["another argv", () => Promise.resolve({ argv: ["--role-arn", ROLE, "--format", "env"] })],
    ["the entry is inside the margin", () => Promise.resolve({ now: NOW + 50 * MIN })],
    ["the entry expired", () => Promise.resolve({ now: NOW + 61 * MIN })],
    ["the entry is gone", (f) => Deno.remove(`${f.cacheDir}/${KEY}.json`)],
    ["the memo has mode 0644", (f) => Deno.chmod(f.memoPath, 0o644)],
    ["the memo is garbage", (f) => Deno.writeTextFile(f.memoPath, "{")],
    ["the memo names bad format", async (f) => {
      const doc = JSON.parse(await Deno.readTextFile(f.memoPath));
      doc.format = "yaml";
      await Deno.writeTextFile(f.memoPath, JSON.stringify(doc));
    }],
    ["the memo points at another key's entry", async (f) => {
      const doc = JSON.parse(await Deno.readTextFile(f.memoPath));
      doc.key = "c".repeat(64);
      await Deno.writeTextFile(f.memoPath, JSON.stringify(doc));
      await Deno.copyFile(`${f.cacheDir}/${KEY}.json`, `${f.cacheDir}/${"c".repeat(64)}.json`);
      await Deno.chmod(`${f.cacheDir}/${"c".repeat(64)}.json`, 0o600);
    }],
    ["another owner", () => Promise.resolve({ uid: (UID ?? 0) + 1 })],
    ["no cache dir at all", () => Promise.resolve({ argv: ["--role-arn", ROLE], getEnv: () => undefined })],
  ];
  for (const [name, change] of cases) {
    await t.step(name, async () => {
      await using f = await fastHarness();
      assert.ok(await fastPath(f.io()), "the unchanged case hits");
      const over = await change(f);
      assert.equal(await fastPath(f.io(over ?? {})), undefined);
    });
  }
});

Deno.test("fast path: a call that leaves no memo is not looked up, whatever memo is there", async (t) => {
  const cases: [string, string[], Record<string, string>][] = [
    ["--refresh", ["--refresh"], {}],
    ["--no-cache", ["--no-cache"], {}],
    ["--verbose", ["--verbose"], {}],
    ["-v", ["-v"], {}],
    ["--log-file", ["--log-file", "/dev/null"], {}],
    ["CREDPROC_LOG_FILE", [], { CREDPROC_LOG_FILE: "/dev/null" }],
  ];
  for (const [name, extra, vars] of cases) {
    await t.step(name, async () => {
      // A memo for exactly these inputs, as no credproc leaves one (planted): never used.
      await using f = await fastHarness(extra);
      Object.assign(f.env, vars);
      await f.rekey();
      assert.equal(await fastPath(f.io()), undefined);
    });
  }
  await t.step("the control: an empty CREDPROC_LOG_FILE names no log file", async () => {
    await using f = await fastHarness();
    f.env.CREDPROC_LOG_FILE = "";
    await f.rekey();
    assert.ok(await fastPath(f.io()));
  });
});

Deno.test("fast path: a hit from any working directory, unless a path among the inputs is relative", async (t) => {
  await t.step("every path absolute: another working directory hits", async () => {
    await using f = await fastHarness();
    assert.ok(await fastPath(f.io({ cwd: "/" })));
    assert.ok(await fastPath(f.io({ cwd: `${f.dir}/elsewhere` })));
  });
  await t.step("a relative path in argv: the working directory is an input", async () => {
    await using f = await fastHarness(["--web-identity-token-file", "token"]);
    assert.ok(await fastPath(f.io()), "the same working directory hits");
    assert.equal(await fastPath(f.io({ cwd: "/" })), undefined);
  });
  await t.step("a relative path in a variable: the working directory is an input", async () => {
    await using f = await fastHarness();
    f.env.AWS_SHARED_CREDENTIALS_FILE = "credentials";
    await f.rekey();
    assert.ok(await fastPath(f.io()), "the same working directory hits");
    assert.equal(await fastPath(f.io({ cwd: "/" })), undefined);
  });
});

/**
 * The fast path's harness for an `eks-token` line: a token entry and its memo (kind `eks-token`) beside the
 * assume harness's role entry and memo, in the same directory and under the same digest key.
 */
async function eksHarness() {
  const f = await fastHarness();
  const argv = ["eks-token", "--cluster-name", "prod", "--role-arn", ROLE, "--cache-dir", f.cacheDir];
  const inputs = await inputsKey(scanArgv(argv), f.env, { cwd: f.dir, os: Deno.build.os }, {
    key: f.digestKey,
    secretValues: inputSecretValues(scanArgv(argv), (n) => f.env[n]),
  });
  const TOKEN_KEY = "b".repeat(64);
  const token = { token: "k8s-aws-v1.aHR0cHM6Ly9zdHM", expiration: new Date(NOW + 14 * MIN) };
  await writeEntry(`${f.cacheDir}/${TOKEN_KEY}.json`, tokenEntryFor(TOKEN_KEY, token, NOW));
  const memoPath = `${f.cacheDir}/${inputs}.inputs.json`;
  /** Writes the memo for the eks-token argv: of `kind`, pointing at `key`. */
  const remember = async (kind: "assume" | "eks-token" = "eks-token", key = TOKEN_KEY) => {
    const files = [{ path: f.configFile, hmac: await fileHmac(f.configFile, f.digestKey) }];
    const text = kind === "eks-token"
      ? memoText({
        kind,
        inputs,
        key,
        marginMs: 5 * MIN,
        role: KEY,
        cluster: "prod",
        tokenEndpoint: "https://sts.eu-west-1.amazonaws.com/",
        signingRegion: "eu-west-1",
        files,
      })
      : memoText({ kind, inputs, key, format: "process", marginMs: 15 * MIN, files });
    await writeFileAtomic(memoPath, text);
  };
  await remember();
  return { ...f, argv, eksInputs: inputs, token, TOKEN_KEY, remember, eksMemoPath: memoPath };
}

const V1 = "client.authentication.k8s.io/v1";
const V1BETA1 = "client.authentication.k8s.io/v1beta1";

Deno.test("fast path: an eks-token hit prints the ExecCredential of the version KUBERNETES_EXEC_INFO asks for now", async () => {
  await using f = await eksHarness();
  const io = (execInfo?: string, over: Partial<FastPathIo> = {}) =>
    f.io({
      argv: f.argv,
      getEnv: (n) => n === "KUBERNETES_EXEC_INFO" ? execInfo : f.env[n],
      ...over,
    });
  assert.equal(await fastPath(io()), execCredentialJson(V1BETA1, f.token.token, f.token.expiration));
  assert.equal(
    await fastPath(
      io(JSON.stringify({ kind: "ExecCredential", apiVersion: V1, spec: { interactive: false } })),
    ),
    execCredentialJson(V1, f.token.token, f.token.expiration),
  );
  // A value the full program refuses: the full program prints that error.
  assert.equal(
    await fastPath(io(JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1alpha1" }))),
    undefined,
  );
  assert.equal(await fastPath(io("{")), undefined);
  // The token's own margin: 5 minutes. 8 min 59 s after signing it is served; at 9 min it is not.
  assert.ok(await fastPath(io(undefined, { now: NOW + 9 * MIN - 1000 })));
  assert.equal(await fastPath(io(undefined, { now: NOW + 9 * MIN })), undefined);
  // The role entry of the assume harness is still served to the assume line, unaffected.
  assert.match((await fastPath(f.io()))!, /"AccessKeyId": "ASIAEXAMPLE000000001"/);
});

Deno.test("fast path: an assume memo never answers eks-token, an eks-token memo never answers assume", async (t) => {
  const eksIo = (f: Awaited<ReturnType<typeof eksHarness>>) => f.io({ argv: f.argv });
  await t.step("an assume memo under the eks-token line's inputs (pointing at the role entry)", async () => {
    await using f = await eksHarness();
    await f.remember("assume", KEY);
    assert.equal(await fastPath(eksIo(f)), undefined);
  });
  await t.step("an assume memo under the eks-token line's inputs (pointing at the token entry)", async () => {
    await using f = await eksHarness();
    await f.remember("assume", f.TOKEN_KEY);
    assert.equal(await fastPath(eksIo(f)), undefined);
  });
  await t.step("an eks-token memo under the assume line's inputs", async () => {
    await using f = await eksHarness();
    const doc = JSON.parse(await Deno.readTextFile(f.eksMemoPath));
    await writeFileAtomic(f.memoPath, JSON.stringify({ ...doc, inputs: f.inputs }));
    assert.equal(await fastPath(f.io()), undefined);
    // Even pointing at the role entry, whose payload the assume line could print.
    await writeFileAtomic(f.memoPath, JSON.stringify({ ...doc, inputs: f.inputs, key: KEY }));
    assert.equal(await fastPath(f.io()), undefined);
  });
  await t.step(
    "an eks-token memo that points at a credentials entry: the token judge refuses it",
    async () => {
      await using f = await eksHarness();
      await f.remember("eks-token", KEY);
      assert.equal(await fastPath(eksIo(f)), undefined);
    },
  );
  await t.step("the control: the eks-token memo as written is a hit", async () => {
    await using f = await eksHarness();
    assert.match((await fastPath(eksIo(f)))!, /^\{"kind": "ExecCredential"/);
  });
});

Deno.test("fast path: argvKind — the command the pre-scan reads, as the parser does; only assume and eks-token", () => {
  const cases: [string[], string | undefined][] = [
    [["eks-token", "--cluster-name", "x"], "eks-token"],
    [["--profile", "p", "eks-token", "--cluster-name", "x"], "eks-token"],
    [["--profile=p", "eks-token"], "eks-token"],
    [["--mfa-session", "eks-token", "--cluster-name", "x"], "eks-token"],
    [["--role-arn", "r"], "assume"],
    [["--profile", "eks-token"], "assume"],
    // A leading `--` separates nothing (main.ts's rule, now the pre-scan's): the parser runs eks-token too.
    [["--", "eks-token"], "eks-token"],
    [[], "assume"],
    [["console", "--role-arn", "r"], undefined],
    [["serve"], undefined],
    [["cache", "list"], undefined],
  ];
  for (const [argv, kind] of cases) assert.equal(argvKind(scanArgv(argv)), kind, argv.join(" "));
});

Deno.test("fast path: its static import graph is light (no node: built-ins, no npm)", async () => {
  // An npm import in the fast path's graph would show up here as a specifier, and fail the test.
  assert.deepEqual(await startupModules("main.ts"), [
    "lib/argv.ts",
    "lib/cache/digests.ts",
    "lib/cache/dir.ts",
    // The memo document (its shape check; the rules for writing one import nothing more).
    "lib/cache/memo.ts",
    "lib/cache/store.ts",
    // The ExecCredential document and the KUBERNETES_EXEC_INFO rule: an eks-token hit (it imports nothing).
    "lib/eks/exec_credential.ts",
    "lib/fast_path.ts",
    "lib/model.ts",
    "lib/output.ts",
    "main.ts",
  ]);
});
