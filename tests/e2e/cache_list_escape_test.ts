/**
 * `credproc cache list` never prints a control, bidi or line-separator character raw: not in the directory
 * line (a `--cache-dir` whose name holds a newline and ESC), not in an entry's row, not in a recorded failure.
 * The JSON form keeps the values and escapes them all.
 */
import assert from "node:assert/strict";
import { startStandin } from "../support/sts_standin/mod.ts";
import { PROCESS_DOC, ROLE, runCredproc, tempHome } from "../support/helpers.ts";

const RAW = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

Deno.test("cache list: a cache dir named with a newline, ESC and a bidi override is printed escaped", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const name = "cache\n\x1b[31mred\u202eevil";
  const dir = `${home.dir}/${name}`;
  const env = home.env({
    AWS_ACCESS_KEY_ID: standin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: standin.secretAccessKey,
  });
  const call = await runCredproc(
    ["--role-arn", ROLE, "--endpoint-url", standin.url, "--region", "us-east-1", "--cache-dir", dir],
    env,
  );
  assert.equal(call.code, 0, call.stderr);
  assert.match(call.stdout, PROCESS_DOC);
  // A failure recorded by an older or tampered-with writer, with the same characters in it.
  const failures = {
    credproc: 1,
    failures: [{
      time: "2026-12-01T12:00:00.000Z",
      line: "credproc: x: a\nb\x1b[2Jc\u2028d",
      hint: "e\rf\u202eg",
    }],
  };
  await Deno.writeTextFile(`${dir}/failures.json`, JSON.stringify(failures), { mode: 0o600 });

  const list = await runCredproc(["cache", "list", "--cache-dir", dir], env);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.stderr, "");
  const lines = list.stdout.split("\n");
  assert.equal(lines[0], "cache directory: " + `${home.dir}/cache\\n\\u001b[31mred\\u202eevil`);
  assert.match(lines[1], /^ {2}usable \(owner uid \d+, mode 0700\)$/);
  for (const line of lines) assert.doesNotMatch(line, RAW, JSON.stringify(line));
  assert.ok(lines.includes("2026-12-01T12:00:00.000Z  credproc: x: a\\nb\\u001b[2Jc\\u2028d"), list.stdout);
  assert.ok(lines.some((l) => l.endsWith("  hint: e\\rf\\u202eg")), list.stdout);
  assert.equal(lines.filter((l) => l.includes("served from cache")).length, 1, list.stdout);

  const json = await runCredproc(["cache", "list", "--json", "--cache-dir", dir], env);
  assert.equal(json.code, 0, json.stderr);
  for (const line of json.stdout.split("\n")) assert.doesNotMatch(line, RAW, JSON.stringify(line));
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.cacheDir.path, dir, "the JSON keeps the value");
  assert.equal(doc.failures[0].line, failures.failures[0].line);
  assert.equal(doc.failures[0].hint, failures.failures[0].hint);

  const clear = await runCredproc(["cache", "clear", "--cache-dir", dir], env);
  assert.equal(clear.code, 0, clear.stderr);
  assert.equal(
    clear.stdout,
    `credproc: removed 1 cache entry and the failure record from ${home.dir}/cache\\n\\u001b[31mred\\u202eevil\n`,
  );
});
