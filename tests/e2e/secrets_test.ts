/**
 * Secret hygiene. Every end-to-end scenario (tests/support/scenarios.ts) runs with `--verbose`, and neither the secret
 * access keys nor the session tokens the STS stand-in knows or issued — nor the web identity token or the MFA
 * code — may appear (whole, or any 8-character piece in any shape: tests/support/leaks.ts) on stderr, in the permission audit log, or in any file
 * outside the cache directory that credproc wrote.
 * Access key ids appear only masked (`ASIA…WXYZ`). Inside the cache directory, files holding secrets are 0600.
 */
import assert from "node:assert/strict";
import { pool } from "../support/hardening_helpers.ts";
import { runScenario, SCENARIOS } from "../support/scenarios.ts";
import { leaks } from "../support/leaks.ts";

const decoder = new TextDecoder();

Deno.test(`secret hygiene: ${SCENARIOS.length} scenarios with --verbose`, async (t) => {
  const runs = await pool(2, SCENARIOS.map((s) => () => runScenario(s)));
  let checks = 0;
  let masked = 0;
  for (const run of runs) {
    await t.step(run.scenario.name, async () => {
      const where = `scenario "${run.scenario.name}"\nstderr: ${run.stderr}`;
      assert.equal(run.code, run.scenario.code, where);
      const secrets = run.secrets.filter((s) => s.length >= 6);
      for (const secret of secrets) {
        checks += 3;
        assert.deepEqual(leaks(run.stderr, secret), [], `a secret on stderr\n${where}`);
        assert.deepEqual(leaks(run.auditText, secret), [], `a secret in the audit log\n${where}`);
        if (run.code !== 0) {
          assert.deepEqual(leaks(run.stdout, secret), [], `a secret on stdout of a failure\n${where}`);
        }
        for (const [path, bytes] of run.after) {
          // Inputs the scenario wrote (a credentials file, a token file) hold secrets by design; unchanged, they
          // are not credproc's doing.
          const input = run.before.get(path);
          if (input !== undefined && decoder.decode(input) === decoder.decode(bytes)) continue;
          // The aws login token the SDK rotated holds the session's secrets by design (as `aws login` leaves
          // it); the audit checks it stays 0600.
          if (path === run.loginToken) continue;
          checks++;
          assert.deepEqual(
            leaks(decoder.decode(bytes), secret),
            [],
            `a secret in ${path}, outside the cache\n${where}`,
          );
        }
      }
      for (const id of run.keyIds) {
        checks++;
        assert.ok(!run.stderr.includes(id), `access key id ${id} unmasked on stderr\n${where}`);
      }
      masked += (run.stderr.match(/\b(?:ASIA|AKID|AKIA)…[A-Z0-9]{4}\b/g) ?? []).length;
      // The cache is the one place secrets live: only in files nobody else can read.
      for (const [path, bytes] of run.all) {
        if (!path.startsWith(`${run.cacheDir}/`)) continue;
        const text = decoder.decode(bytes);
        if (!secrets.some((s) => text.includes(s))) continue;
        checks++;
        assert.equal(
          (await Deno.stat(path).catch(() => ({ mode: 0o600 }))).mode! & 0o777,
          0o600,
          `${path} mode`,
        );
      }
    });
  }
  const successes = runs.filter((r) => r.code === 0 && r.requests > 0);
  assert.ok(successes.length >= 8, "most scenarios reach STS and succeed (the checks are not vacuous)");
  assert.ok(masked > 0, "masked key ids do appear under --verbose");
  console.log(`secret hygiene: ${runs.length} scenarios, ${checks} checks, ${masked} masked key ids seen`);
});

Deno.test("the leak detector finds a whole secret, a piece of one, a split one, and nothing else", () => {
  const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  assert.equal(leaks(`x ${secret} y`, secret).length, secret.length - 8 + 1);
  assert.ok(leaks(`<SecretAccessKey>${secret.slice(5, 22)}`, secret).length > 0);
  // Split in two (a line break, a truncated answer): each half still shows 8 characters in a row. The
  // 16-character window this file used before let both halves through.
  assert.deepEqual(leaks(`${secret.slice(0, 15)} ${secret.slice(15, 30)}`, secret), [
    ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => secret.slice(i, i + 8)),
    ...[15, 16, 17, 18, 19, 20, 21, 22].map((i) => secret.slice(i, i + 8)),
  ]);
  // JSON-escaped: the piece across the escaped break is found too.
  const broken = "abcdEFGH\nijklMNOP";
  assert.ok(leaks(JSON.stringify({ m: broken }), broken).includes("GH\\nijkl"));
  // Seven characters in a row are not a leak; neither is a text without the secret.
  assert.deepEqual(leaks(`${secret.slice(0, 7)} ${secret.slice(7, 14)} ${secret.slice(14, 21)}`, secret), []);
  assert.deepEqual(leaks("credproc: AssumeRole: AccessDenied: not allowed (ASIA…WXYZ)", secret), []);
});
