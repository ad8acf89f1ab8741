/**
 * lib/fast_path.ts: a repeated call answered from the memo the full path left — printed only when every
 * input, watched file and the entry still match; any doubt falls through — and its light import graph.
 */
import assert from "node:assert/strict";
import { startupModules } from "../support/helpers.ts";
import { entryFor } from "../../lib/cache/store.ts";
import {
  fileHmac,
  importDigestKey,
  inputSecretValues,
  inputsKey,
  newDigestKeyText,
} from "../../lib/cache/key.ts";
import { memoText } from "../../lib/cache/memo.ts";
import { writeEntry, writeFileAtomic } from "../../lib/cache/write.ts";
import { fastPath, type FastPathIo } from "../../lib/fast_path.ts";
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
async function fastHarness() {
  const dir = await Deno.makeTempDir({ prefix: "credproc-fast-unit-" });
  const cacheDir = `${dir}/cache`;
  const configFile = `${dir}/config`;
  await Deno.writeTextFile(configFile, "[default]\nregion = us-east-1\n");
  const argv = ["--role-arn", ROLE, "--cache-dir", cacheDir];
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
  await writeFileAtomic(`${cacheDir}/digest.key`, keyText, false);
  const digestKey = (await importDigestKey(keyText))!;
  const inputs = await inputsKey(argv, env, dir, {
    key: digestKey,
    secretValues: inputSecretValues(argv, (n) => env[n]),
  });
  // The memo as the full path leaves it (session.ts `remember`).
  const remember = async (format: Format = "process") => {
    const files = [configFile, `${dir}/missing-credentials`];
    const watched = await Promise.all(
      files.map(async (path) => ({ path, hmac: await fileHmac(path, digestKey) })),
    );
    const text = memoText({ kind: "assume", inputs, key: KEY, format, marginMs: 15 * MIN, files: watched });
    await writeFileAtomic(`${cacheDir}/${inputs}.inputs.json`, text, false);
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
    ["another working directory", () => Promise.resolve({ cwd: "/" })],
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

Deno.test("fast path: its static import graph is light (no node: built-ins, no npm)", async () => {
  // An npm import in the fast path's graph would show up here as a specifier, and fail the test.
  assert.deepEqual(await startupModules("main.ts"), [
    "lib/cache/dir.ts",
    "lib/cache/key.ts",
    "lib/cache/store.ts",
    // The ExecCredential document and the KUBERNETES_EXEC_INFO rule: an eks-token hit (it imports nothing).
    "lib/eks/exec_credential.ts",
    "lib/fast_path.ts",
    "lib/model.ts",
    "lib/output.ts",
    "main.ts",
  ]);
});
