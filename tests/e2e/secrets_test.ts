/**
 * Secret hygiene. Every end-to-end scenario (tests/support/scenarios.ts) runs with `--verbose`, and neither the secret
 * access keys nor the session tokens the STS stand-in knows or issued — nor the web identity token or the MFA
 * code — may appear (whole, or any 16-character piece) on stderr, in the permission audit log, or in any file
 * outside the cache directory that credproc wrote.
 * Access key ids appear only masked (`ASIA…WXYZ`). Inside the cache directory, files holding secrets are 0600.
 */
import assert from "node:assert/strict";
import { pool } from "../support/hardening_helpers.ts";
import { runScenario, SCENARIOS } from "../support/scenarios.ts";

const decoder = new TextDecoder();

/** Whether `text` holds `secret`, or any 16-character piece of it (a truncated answer carries only part). */
function leaks(text: string, secret: string): boolean {
  if (secret.length <= 16) return text.includes(secret);
  for (let i = 0; i + 16 <= secret.length; i++) if (text.includes(secret.slice(i, i + 16))) return true;
  return false;
}

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
        assert.ok(!leaks(run.stderr, secret), `a secret on stderr\n${where}`);
        assert.ok(!leaks(run.auditText, secret), `a secret in the audit log\n${where}`);
        if (run.code !== 0) {
          assert.ok(!leaks(run.stdout, secret), `a secret on stdout of a failure\n${where}`);
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
          assert.ok(
            !leaks(decoder.decode(bytes), secret),
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

Deno.test("the leak detector finds a whole secret and a 16-character piece of one", () => {
  const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  assert.ok(leaks(`x ${secret} y`, secret));
  assert.ok(leaks(`<SecretAccessKey>${secret.slice(5, 22)}`, secret));
  assert.ok(!leaks(`${secret.slice(0, 15)} ${secret.slice(15, 30)}`, secret));
});
