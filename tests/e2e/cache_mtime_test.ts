/**
 * A file with an mtime in the future (a clock that was ahead, `touch -d '+1 hour'`, an unpacked archive) does
 * not switch the fast path's memo off: the second call is still answered before the full program loads.
 */
import assert from "node:assert/strict";
import { startStandin } from "../support/sts_standin/mod.ts";
import {
  CREDPROC_BIN,
  ignoreIf,
  PROCESS_DOC,
  ROLE,
  runProcess,
  sourceCommand,
  tempHome,
} from "../support/helpers.ts";

Deno.test({
  ...ignoreIf(
    "fast path: a config file with an mtime an hour ahead still gives a fast-path hit",
    CREDPROC_BIN !== undefined && "runs main.ts from source; CREDPROC_BIN names a binary",
  ),
}, async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  await home.writeConfig("[default]\nregion = us-east-1\n");
  const future = new Date(Date.now() + 3600_000);
  await Deno.utime(home.configFile, future, future);
  const audit = `${home.dir}/audit.jsonl`;
  const [cmd, ...pre] = sourceCommand();
  /** Runs main.ts; says whether the full program ran (it reads CREDPROC_MFA_TOKEN_CODE; the fast path never does). */
  const call = async () => {
    await Deno.remove(audit).catch(() => {});
    const r = await runProcess(
      cmd,
      [...pre, "--role-arn", ROLE, "--endpoint-url", standin.url, "--region", "us-east-1"],
      home.env({
        AWS_ACCESS_KEY_ID: standin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: standin.secretAccessKey,
        DENO_AUDIT_PERMISSIONS: audit,
      }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, PROCESS_DOC);
    assert.equal(r.stderr, "");
    const log = await Deno.readTextFile(audit).catch(() => "");
    return { stdout: r.stdout, full: log.includes('"CREDPROC_MFA_TOKEN_CODE"') };
  };
  const first = await call();
  assert.ok(first.full, "a cold call runs the full program");
  const second = await call();
  assert.ok(!second.full, "the second call is a fast-path hit despite the future mtime");
  assert.equal(second.stdout, first.stdout);
  assert.equal(standin.count("AssumeRole"), 1);
  // An edit still counts: new content (mtime still ahead) sends the call down the full path once.
  await home.writeConfig("# edited\n[default]\nregion = us-east-1\n");
  await Deno.utime(home.configFile, future, future);
  assert.ok((await call()).full, "a changed file is noticed by its digest");
  assert.ok(!(await call()).full, "…and remembered again");
  assert.equal(standin.count("AssumeRole"), 1);
});
