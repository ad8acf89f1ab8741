/**
 * `credproc cache clear` when files cannot be removed: every file-system error becomes part of one
 * `credproc: cache clear: …` line (exit 1) that says what was removed and what could not be; the other files
 * are still removed; never `internal error`.
 */
import assert from "node:assert/strict";
import { type Standin, startStandin } from "../support/sts_standin/mod.ts";
import { ignoreIf, type Result, ROLE, runCredproc, type TempHome, tempHome } from "../support/helpers.ts";
import { standinEnv } from "../support/standin_call.ts";

const IS_ROOT = Deno.uid() === 0;

/** One call into `dir`: an entry, its lock, a memo and the digest key; their names, sorted. */
async function fill(standin: Standin, home: TempHome, dir: string): Promise<string[]> {
  const r = await runCredproc(
    ["--role-arn", ROLE, "--endpoint-url", standin.url, "--region", "us-east-1", "--cache-dir", dir],
    standinEnv(home, standin),
  );
  assert.equal(r.code, 0, r.stderr);
  return await names(dir);
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

function assertClearFailed(r: Result, line: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.lines.length, 2, r.stderr);
  assert.match(r.lines[0], line);
  assert.equal(
    r.lines[1],
    "hint: run with --verbose for every path; remove them by hand once the file system allows it",
  );
  assert.doesNotMatch(r.stderr, /internal error/);
}

async function sh(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test("cache clear: a directory where a lock or an entry should be: the rest is removed, one line, exit 1", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const dir = home.cacheDir;
  const before = await fill(standin, home, dir);
  const entry = before.find((n) => /^[0-9a-f]{64}\.json$/.test(n))!;
  const lock = before.find((n) => n.endsWith(".lock"))!;
  // The lock file replaced by a non-empty directory; another key's entry that is a non-empty directory.
  await Deno.remove(`${dir}/${lock}`);
  await Deno.mkdir(`${dir}/${lock}/sub`, { recursive: true });
  const dirEntry = `${"0".repeat(64)}.json`;
  await Deno.mkdir(`${dir}/${dirEntry}/sub`, { recursive: true });

  const r = await runCredproc(["cache", "clear", "--cache-dir", dir], standinEnv(home, standin));
  assertClearFailed(
    r,
    new RegExp(
      `^credproc: cache clear: removed 1 cache entry from ${dir}; could not remove 2 files: ` +
        `${dirEntry} \\(Directory not empty\\), ${lock} \\(Directory not empty\\)$`,
    ),
  );
  // Everything else credproc owns is gone; the two directories are left as they were.
  assert.deepEqual(await names(dir), [dirEntry, lock].sort());
  assert.ok(!before.includes(dirEntry) && before.includes(entry));
  // Once the directories are gone, clear succeeds.
  await Deno.remove(`${dir}/${lock}`, { recursive: true });
  await Deno.remove(`${dir}/${dirEntry}`, { recursive: true });
  const again = await runCredproc(["cache", "clear", "--cache-dir", dir], standinEnv(home, standin));
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, `credproc: removed 0 cache entries from ${dir}\n`);
});

Deno.test({
  ...ignoreIf(
    "cache clear: a read-only file system: one line naming what could not be removed, exit 1",
    !IS_ROOT && "needs root (mount)",
  ),
}, async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const dir = `${home.dir}/ro`;
  await Deno.mkdir(dir, { mode: 0o700 });
  await sh("mount", ["-t", "tmpfs", "-o", "mode=0700,size=1m", "tmpfs", dir]);
  try {
    const before = await fill(standin, home, dir);
    assert.equal(before.length, 4, before.join(" "));
    await sh("mount", ["-o", "remount,ro", dir]);
    const r = await runCredproc(["cache", "clear", "--cache-dir", dir], standinEnv(home, standin));
    assertClearFailed(
      r,
      new RegExp(
        `^credproc: cache clear: removed 0 cache entries from ${dir}; could not remove 4 files: ` +
          `${
            before.slice(0, 3).map((n) => `${n.replace(".", "\\.")} \\(Read-only file system\\)`).join(", ")
          } ` +
          `and 1 more$`,
      ),
    );
    assert.deepEqual(await names(dir), before, "nothing removed, nothing half done");
    const verbose = await runCredproc(
      ["cache", "clear", "--cache-dir", dir, "--verbose"],
      standinEnv(home, standin),
    );
    assert.equal(verbose.code, 1);
    for (const n of before) {
      assert.ok(
        verbose.lines.includes(`credproc: cache clear: cannot remove ${dir}/${n}: Read-only file system`),
      );
    }
  } finally {
    await sh("umount", [dir]);
  }
});
