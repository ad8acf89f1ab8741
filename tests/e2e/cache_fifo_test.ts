/**
 * Every file credproc reads or writes in the cache directory, replaced by a FIFO that has no reader (or
 * writer): the call still succeeds (or fails the way it would anyway) within seconds — on the fast path and
 * on the full path — and `--verbose` says what was refused. Opening a FIFO blocks until the other end opens,
 * so one opened anywhere before the network deadline would hang the call forever.
 */
import assert from "node:assert/strict";
import { type Standin, startStandin } from "../support/sts_standin/mod.ts";
import { mkfifo, ok, okVerbose, type Result, ROLE, runCredproc, tempHome } from "../support/helpers.ts";
import { standinArgs, standinEnv } from "../support/standin_call.ts";

/** Far below "forever", far above a loaded machine's start-up. */
const WITHIN_MS = 15_000;

/** Runs credproc, killed after twice the bound so that a hang fails the test instead of stalling it. */
async function run(argv: string[], environment: Record<string, string>): Promise<Result> {
  const r = await runCredproc(argv, environment, { signal: AbortSignal.timeout(2 * WITHIN_MS) });
  assert.ok(r.ms < WITHIN_MS, `took ${Math.round(r.ms)} ms (a FIFO blocked?):\n${r.stderr}`);
  return r;
}

/** A home whose cache holds an entry, its lock, a memo and the digest key; their names. */
async function filled(standin: Standin) {
  const home = await tempHome();
  await home.writeConfig("[default]\nregion = us-east-1\n");
  const past = new Date(Date.now() - 60_000);
  await Deno.utime(home.configFile, past, past);
  ok(await run(standinArgs(standin), standinEnv(home, standin)));
  const names: string[] = [];
  for await (const e of Deno.readDir(home.cacheDir)) names.push(e.name);
  const entry = names.find((n) => /^[0-9a-f]{64}\.json$/.test(n));
  const memo = names.find((n) => n.endsWith(".inputs.json"));
  assert.ok(entry && memo && names.includes("digest.key"), names.join(" "));
  const key = entry.slice(0, -".json".length);
  const at = (name: string) => `${home.cacheDir}/${name}`;
  return { home, key, entry: at(entry), memo: at(memo), lock: at(`${key}.lock`), at };
}

Deno.test("cache FIFOs: entry, memo and digest key on the fast path's way: the call succeeds at once", async (t) => {
  await using standin = await startStandin();
  for (const which of ["entry", "memo", "digest"] as const) {
    await t.step(which, async () => {
      const f = await filled(standin);
      await using _home = f.home;
      await mkfifo(which === "entry" ? f.entry : which === "memo" ? f.memo : f.at("digest.key"));
      // Plain: the fast path meets the FIFO first, then the full program does.
      const r = await run(standinArgs(standin), standinEnv(f.home, standin));
      ok(r);
      assert.equal(r.stderr, "");
      // And the next call is served again (the FIFO was replaced by a good file, or skipped).
      ok(await run(standinArgs(standin), standinEnv(f.home, standin)));
    });
  }
});

Deno.test("cache FIFOs: entry, lock and failure marker on a miss: fetched, with a --verbose note", async (t) => {
  await using standin = await startStandin();
  const cases = [
    [
      "entry",
      (f: Awaited<ReturnType<typeof filled>>) => f.entry,
      /ignoring .*\.json: it is not a regular file/,
    ],
    [
      "lock",
      (f: Awaited<ReturnType<typeof filled>>) => f.lock,
      /lock unavailable.*\.lock is not a regular file/,
    ],
    [
      "failure marker",
      (f: Awaited<ReturnType<typeof filled>>) => f.at(`${f.key}.failure.json`),
      /cache: stored/,
    ],
  ] as const;
  for (const [name, path, note] of cases) {
    await t.step(name, async () => {
      const f = await filled(standin);
      await using _home = f.home;
      await Deno.remove(f.entry);
      await mkfifo(path(f));
      const calls = standin.count("AssumeRole");
      const r = await run(standinArgs(standin, ["--verbose"]), standinEnv(f.home, standin));
      okVerbose(r);
      assert.match(r.stderr, note);
      assert.equal(standin.count("AssumeRole"), calls + 1);
    });
  }
});

Deno.test("cache FIFOs: failures.json and its lock: a failing call fails at once; cache list answers", async (t) => {
  await using standin = await startStandin();
  for (const name of ["failures.json", "failures.json.lock"]) {
    await t.step(name, async () => {
      const f = await filled(standin);
      await using _home = f.home;
      await mkfifo(f.at(name));
      const failing = ["--role-arn", ROLE, "--endpoint-url", "http://127.0.0.1:9/", "--region", "us-east-1"];
      const r = await run([...failing, "--timeout", "5"], standinEnv(f.home, standin));
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.lines.filter((l) => l.startsWith("credproc: ")).length, 1, r.stderr);
      const v = await run([...failing, "--timeout", "5", "--verbose"], standinEnv(f.home, standin));
      assert.equal(v.code, 1, v.stderr);
      const list = await run(["cache", "list"], standinEnv(f.home, standin));
      assert.equal(list.code, 0, list.stderr);
      if (name === "failures.json") {
        // Never opened, only replaced by the next record (an atomic rename over it).
        assert.ok((await Deno.lstat(f.at(name))).isFile);
        assert.match(list.stdout, /recent failures/);
      } else {
        assert.match(v.stderr, /failure record not written: .*\.lock is not a regular file/);
        assert.match(list.stdout, /no recorded failures/);
      }
    });
  }
});
