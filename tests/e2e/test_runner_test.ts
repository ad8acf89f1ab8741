/**
 * `deno task test`'s own promises (scripts/test.ts): Debian packages are installed only when missing, without
 * apt-get's or dpkg's noise, and named in one line; a failed install shows its log; the closing line keeps
 * `N passed, N failed` and names each ignored test with why. The runner runs for real, with a stand-in
 * `apt-get` first on PATH (it prints what apt-get and dpkg print, records how it was called, and installs
 * nothing) and, for the closing line, on a test file of its own.
 */
import assert from "node:assert/strict";
import { ignoreIf, ROOT, runProcess } from "../support/helpers.ts";
import { closingLine, noCounts, tally } from "../../scripts/test.ts";
import lintTests, { ASSERTING_HELPERS, MUST_ASSERT } from "../../scripts/lint_tests.ts";

const RUNNER = [Deno.execPath(), "run", "-A", `${ROOT}scripts/test.ts`];
const IS_ROOT = Deno.uid() === 0;

/** What apt-get and dpkg print while installing one package with two dependencies. */
const NOISE = [
  "debconf: delaying package configuration, since apt-utils is not installed",
  "Selecting previously unselected package awscli.",
  "(Reading database ... 50%",
  "Setting up awscli (2.9.19-1) ...",
  "0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.",
];

/** A directory with a stand-in `apt-get` that prints {@link NOISE}, records its argv, and exits `installCode`. */
async function fakeAptGet(dir: string, installCode: number): Promise<string> {
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/apt-get`,
    [
      "#!/bin/sh",
      `echo "$DEBIAN_FRONTEND $*" >> ${dir}/calls`,
      '[ "$1" = --version ] && { echo "apt 2.6.1 (amd64)"; exit 0; }',
      '[ "$1" = update ] && { echo "Get:1 http://deb.debian.org/debian bookworm InRelease"; exit 0; }',
      ...NOISE.map((l) => `echo ${JSON.stringify(l)}`),
      'echo "dpkg: warning: something on stderr" >&2',
      `[ ${installCode} = 0 ] || echo "E: Unable to locate package awscli"`,
      `exit ${installCode}`,
    ].join("\n") + "\n",
  );
  await Deno.chmod(`${bin}/apt-get`, 0o755);
  return bin;
}

/** The runner with the stand-in apt-get first on PATH and the AWS CLI v2 looked for where it is not. */
async function runWithFakeApt(installCode: number) {
  const dir = await Deno.makeTempDir({ prefix: "credproc-runner-" });
  const bin = await fakeAptGet(dir, installCode);
  const env = {
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    HOME: Deno.env.get("HOME") ?? dir,
    DENO_NO_UPDATE_CHECK: "1",
    CREDPROC_TEST_AWS_V2: `${dir}/nowhere/aws`,
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
  };
  const r = await runProcess(RUNNER[0], [...RUNNER.slice(1), "--no-isolate"], env, { cwd: ROOT });
  const calls = await Deno.readTextFile(`${dir}/calls`).catch(() => "");
  return { r, calls, dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test({
  ...ignoreIf(
    "test runner: a missing Debian package is installed quietly and named in one line",
    !IS_ROOT && "the runner installs only as root",
  ),
}, async () => {
  await using run = await runWithFakeApt(0);
  const { r, calls, dir } = run;
  assert.equal(
    calls,
    // `apt-get --version` is the probe (no DEBIAN_FRONTEND); update and install run non-interactive.
    " --version\nnoninteractive update -q\n" +
      "noninteractive install -y -q --no-install-recommends awscli\n",
  );
  // The CLI is still missing (the stand-in installs nothing): the run fails, naming it, after one line.
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.deepEqual(r.lines, [
    "test: installed with apt-get: awscli (and 2 packages they need)",
    `test: missing the AWS CLI v2 at ${dir}/nowhere/aws: install it with \`apt-get install -y awscli\``,
  ]);
  assert.deepEqual([...Deno.readDirSync("/tmp")].filter((e) => e.name.startsWith("credproc-apt-")), []);
});

Deno.test({
  ...ignoreIf(
    "test runner: a failed install shows the step and its log, and the run fails",
    !IS_ROOT && "the runner installs only as root",
  ),
}, async () => {
  await using run = await runWithFakeApt(100);
  const { r } = run;
  assert.equal(r.code, 1);
  const m =
    /^test: set-up failed: `apt-get install -y -q --no-install-recommends awscli` did not succeed; the last lines of its log \((\/\S+\.log)\):$/
      .exec(r.lines[0]);
  assert.ok(m, r.stderr);
  try {
    assert.deepEqual(r.lines.slice(1), [
      "  $ apt-get update -q",
      "  Get:1 http://deb.debian.org/debian bookworm InRelease",
      "  $ apt-get install -y -q --no-install-recommends awscli",
      ...NOISE.map((l) => `  ${l}`),
      "  E: Unable to locate package awscli",
      "  dpkg: warning: something on stderr",
    ]);
    assert.ok((await Deno.readTextFile(m[1])).includes("E: Unable to locate package awscli"));
  } finally {
    await Deno.remove(m[1]);
  }
});

Deno.test("test runner: the closing line keeps N passed, N failed and names each ignored test with why", () => {
  const counts = noCounts();
  // deno test's own lines, colours included.
  const transcript = [
    "\x1b[0m\x1b[38;5;245mrunning 3 tests from ./tests/e2e/x_test.ts\x1b[0m",
    "a ... \x1b[0m\x1b[32mok\x1b[0m \x1b[0m\x1b[38;5;245m(4ms)\x1b[0m",
    "cache: a read-only cache dir still prints credentials [ignored: root writes a 0500 directory anyway] ... " +
    "\x1b[0m\x1b[33mignored\x1b[0m \x1b[0m\x1b[38;5;245m(0ms)\x1b[0m",
    "old style ... ignored (0ms)",
    "",
    "\x1b[0m\x1b[32mok\x1b[0m | 1 passed | 0 failed | 2 ignored \x1b[0m\x1b[38;5;245m(10ms)\x1b[0m",
    "\x1b[0m\x1b[31mFAILED\x1b[0m | 470 passed (12 steps) | 2 failed \x1b[0m\x1b[38;5;245m(3m)\x1b[0m",
  ];
  for (const line of transcript) tally(line, counts);
  assert.equal(
    closingLine(counts, 1),
    "471 passed, 3 failed, 2 ignored (cache: a read-only cache dir still prints credentials: root writes a " +
      "0500 directory anyway; old style: no reason given)",
  );
  assert.equal(closingLine({ ...noCounts(), passed: 5 }), "5 passed, 0 failed");
});

Deno.test("test runner: on a test file of its own, the closing line names the ignored tests", async () => {
  const dir = await Deno.makeTempDir({ prefix: "credproc-runner-suite-" });
  try {
    const helpers = new URL("../support/helpers.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/fixture_test.ts`,
      [
        `import { ignoreIf } from ${JSON.stringify(helpers)};`,
        'Deno.test("runs", () => {});',
        'Deno.test({ ...ignoreIf("not here", "the reason it cannot run"), fn() {} });',
        'Deno.test({ ...ignoreIf("here", false), fn() {} });',
      ].join("\n") + "\n",
    );
    const env = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? dir,
      DENO_NO_UPDATE_CHECK: "1",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
    };
    const r = await runProcess(
      RUNNER[0],
      [...RUNNER.slice(1), "--no-isolate", `${dir}/fixture_test.ts`],
      env,
      {
        cwd: ROOT,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.trimEnd().split("\n").at(-1),
      "2 passed, 0 failed, 1 ignored (not here: the reason it cannot run)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("test runner: every ignored test says why (through ignoreIf)", async () => {
  const bare: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(`${ROOT}${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && e.name !== "node_modules") await walk(path);
      else if (e.isFile && e.name.endsWith(".ts") && path !== "tests/support/helpers.ts") {
        const text = await Deno.readTextFile(`${ROOT}${path}`);
        text.split("\n").forEach((line, i) => {
          if (/\bignore:\s/.test(line) && !/^\s*(?:\/\/|\*)/.test(line)) bare.push(`${path}:${i + 1}`);
        });
      }
    }
  };
  await walk("tests");
  assert.deepEqual(bare, []);
});

// ── No test runs without an assertion (scripts/lint_tests.ts, also run by `deno task check`) ──────────────

/** Every `*_test.ts` under tests/, as [path from the root, text]. */
async function testFiles(): Promise<[string, string][]> {
  const out: [string, string][] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(`${ROOT}${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && e.name !== "node_modules") await walk(path);
      else if (e.isFile && e.name.endsWith("_test.ts")) {
        out.push([path, await Deno.readTextFile(`${ROOT}${path}`)]);
      }
    }
  };
  await walk("tests");
  return out.sort(([a], [b]) => a.localeCompare(b));
}

/** `path:line: message` for each body the rule flags in `source`. */
function flagged(path: string, source: string): string[] {
  return Deno.lint.runPlugin(lintTests, path, source).map((d) =>
    `${path}:${source.slice(0, d.range[0]).split("\n").length}: ${d.message}`
  );
}

Deno.test("test runner: every Deno.test and t.step body in tests/ holds an assertion", async () => {
  const files = await testFiles();
  const paths = files.map(([path]) => path);
  assert.ok(
    paths.includes("tests/e2e/test_runner_test.ts") && paths.includes("tests/unit/cli_test.ts"),
    "the walk",
  );
  assert.deepEqual(files.flatMap(([path, text]) => flagged(path, text)), []);
});

Deno.test("test runner: the assertion rule flags what cannot fail, and only that", () => {
  // Each line ending `// flagged` must be reported, and no other.
  const fixture = [
    'import assert from "node:assert/strict";',
    'import fc from "fast-check";',
    'import { ok } from "../support/helpers.ts";',
    "",
    'Deno.test("figures", () => { // flagged',
    "  console.log(`took ${Date.now()} ms`);",
    "});",
    'Deno.test({ name: "options, fn", fn() { const x = 1; void x; } }); // flagged',
    'Deno.test("only a constant", () => { // flagged',
    "  assert.ok(true);",
    "  assert.equal(1, 1);",
    "});",
    'Deno.test("a step that cannot fail", async (t) => {',
    '  await t.step("inner", () => {}); // flagged',
    '  await t.step("asserting", () => assert.equal(Math.max(1, 2), 2));',
    "});",
    "/** A local `check` that only parses: it decides for its name, not the list of helpers. */",
    "function check(text: string) {",
    "  return JSON.parse(text);",
    "}",
    'Deno.test("a weak local helper", () => { // flagged',
    '  check("{}");',
    "});",
    "function shTest(name: string, fn: () => void) {",
    "  Deno.test({ name, fn });",
    "}",
    'shTest("through a wrapper", () => {}); // flagged',
    'shTest("through a wrapper, asserting", () => assert.match(String(Math.PI), /^3\\./));',
    "",
    "/** A local helper that asserts, two calls down. */",
    "function outer(x: number) {",
    "  inner(x);",
    "}",
    "const inner = (x: number) => assert.ok(x > 0);",
    'Deno.test("a local helper, followed", () => outer(1));',
    'Deno.test("a known helper", () => {',
    '  ok({ code: 0, stdout: "", stderr: "" });',
    "});",
    'Deno.test("a throw", () => {',
    '  if (Math.random() > 2) throw new Error("never");',
    "});",
    'Deno.test("assert.fail and rejects", async () => {',
    '  if (Math.random() > 2) assert.fail("never");',
    "  await assert.rejects(Promise.reject(new Error()));",
    "});",
    'Deno.test("fast-check", () => fc.assert(fc.property(fc.nat(), (n) => n >= 0)));',
    'Deno.test("a helper passed by name", () => [{ code: 0, stdout: "", stderr: "" }].forEach(ok));',
    'Deno.test("a non-asserting function passed by name", () => ["{}"].forEach(check)); // flagged',
    'Deno.test("nested in a loop and a callback", () => {',
    "  for (const n of [1, 2]) [n].forEach((m) => assert.equal(m, n));",
    "});",
  ];
  const source = fixture.join("\n") + "\n";
  const want = fixture.flatMap((line, i) => line.endsWith("// flagged") ? [i + 1] : []);
  const got = Deno.lint.runPlugin(lintTests, "fixture_test.ts", source).map((d) =>
    source.slice(0, d.range[0]).split("\n").length
  );
  assert.deepEqual(got, want);
  assert.equal(want.length, 7);
  // Only test files: the same text in a module that is not a test is not checked.
  assert.deepEqual(Deno.lint.runPlugin(lintTests, "helpers.ts", source), []);
  // The message names the rule's reason and the way out.
  const [d] = Deno.lint.runPlugin(lintTests, "x_test.ts", 'Deno.test("x", () => {});');
  assert.equal(d.id, MUST_ASSERT);
  assert.equal(d.message, "this Deno.test body holds no assertion: it cannot fail");
});

Deno.test("test runner: each helper the assertion rule trusts is exported by tests/support and asserts", async () => {
  const support = new Map<string, string>();
  for await (const e of Deno.readDir(`${ROOT}tests/support`)) {
    if (e.isFile && e.name.endsWith(".ts")) {
      support.set(e.name, await Deno.readTextFile(`${ROOT}tests/support/${e.name}`));
    }
  }
  const probe = (source: string, name: string) =>
    Deno.lint.runPlugin(lintTests, "probe_test.ts", `${source}\nDeno.test("probe", () => ${name}());\n`);
  for (const name of ASSERTING_HELPERS) {
    const homes = [...support].filter(([, text]) =>
      new RegExp(`^export (?:async )?function ${name}\\b`, "m").test(text)
    );
    assert.equal(homes.length, 1, `${name}: exported by ${homes.map(([f]) => f).join(", ") || "no file"}`);
    // The helper's own text, followed through its local calls by the same rule: it must assert.
    assert.deepEqual(probe(homes[0][1], name), [], `${name} (tests/support/${homes[0][0]}) does not assert`);
  }
  // The probe tells: `leaks` returns what it found and asserts nothing.
  assert.equal(probe(support.get("leaks.ts")!, "leaks").length, 1);
});

Deno.test("test runner: one of each helper — no test file defines a function tests/support exports", async () => {
  const exported = new Set<string>();
  for await (const e of Deno.readDir(`${ROOT}tests/support`)) {
    if (!e.isFile || !e.name.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(`${ROOT}tests/support/${e.name}`);
    for (
      const m of text.matchAll(/^export (?:async )?function\*? ?(\w+)|^export const (\w+) = (?:async )?\(/gm)
    ) {
      exported.add(m[1] ?? m[2]);
    }
  }
  assert.ok(
    exported.has("ok") && exported.has("leaks") && exported.has("fakeDeps") && exported.has("tempHome"),
  );
  const declared =
    /\bfunction\*?\s+(\w+)\s*[<(]|\b(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?(?:\([^)]*\)|\w+)\s*(?::[^=]+)?=>|\b(?:const|let)\s+(\w+)\s*=\s*(?:async\s+)?function\b/g;
  const twice: string[] = [];
  for (const [path, text] of await testFiles()) {
    for (const m of text.matchAll(declared)) {
      const name = m[1] ?? m[2] ?? m[3];
      if (exported.has(name)) twice.push(`${path}:${text.slice(0, m.index).split("\n").length}: ${name}`);
    }
  }
  assert.deepEqual(twice, []);
});
