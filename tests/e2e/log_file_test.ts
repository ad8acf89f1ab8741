/**
 * `--log-file` / CREDPROC_LOG_FILE naming something that is not a regular file. A FIFO with no reader used to
 * hang the call forever (a blocking open before any deadline); now a FIFO, a socket, a directory or a device
 * (directly or through a symlink) is left unwritten and the call goes on: exit 0, the credentials on stdout,
 * and one `--verbose` note saying why. `/dev/null` is accepted and discards. Every run here is killed after
 * 20 s, so a hang fails the test instead of stalling the suite.
 */
import assert from "node:assert/strict";
import { mkfifo, PROCESS_DOC, ROLE, ROOT, runCredproc, runProcess, tempHome } from "../support/helpers.ts";
import { startFakeStsHome } from "../support/fake_sts.ts";

const KILL_AFTER_MS = 20_000;

/** A Unix socket at `path` that nobody reads (closed at dispose). */
function unixSocket(path: string): Disposable {
  const listener = Deno.listen({ transport: "unix", path });
  return { [Symbol.dispose]: () => listener.close() };
}

Deno.test("log file: a FIFO with no reader, directly, by symlink or from the environment, never blocks", async () => {
  await using f = await startFakeStsHome("AKIALOGFILEFIFO00001");
  const fifo = `${f.home.dir}/log.fifo`;
  await mkfifo(fifo);
  await Deno.symlink(fifo, `${f.home.dir}/log.link`);
  const args = ["--role-arn", ROLE, "--no-cache"];
  const runs: [string, string[], Record<string, string>][] = [
    ["--log-file FIFO", [...args, "--log-file", fifo], f.env],
    ["--log-file symlink to a FIFO", [...args, "--log-file", `${f.home.dir}/log.link`], f.env],
    ["CREDPROC_LOG_FILE FIFO", args, { ...f.env, CREDPROC_LOG_FILE: fifo }],
  ];
  for (const [name, argv, env] of runs) {
    const r = await runCredproc(argv, env, { signal: AbortSignal.timeout(KILL_AFTER_MS) });
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.match(r.stdout, PROCESS_DOC, name);
    assert.equal(r.stderr, "", `${name}: nothing on stderr without --verbose`);
  }
  // With --verbose, one note says why the log was left (and the FIFO is still a FIFO, never replaced).
  const v = await runCredproc([...args, "--verbose", "--log-file", fifo], f.env, {
    signal: AbortSignal.timeout(KILL_AFTER_MS),
  });
  assert.equal(v.code, 0, v.stderr);
  assert.deepEqual(
    v.lines.filter((l) => l.includes("log file")),
    [`credproc: log file ${fifo} not written: it is a FIFO, not a regular file`],
  );
  assert.ok(Deno.lstatSync(fifo).isFifo);
  // A failed call with a FIFO log: still one line, exit 2, at once.
  const bad = await runCredproc([...args, "--region", "nowhere-1x", "--log-file", fifo], f.env, {
    signal: AbortSignal.timeout(KILL_AFTER_MS),
  });
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(bad.lines.length, 2, bad.stderr);
  assert.match(bad.lines[0], /^credproc: --region: /);
  assert.equal(f.sts.requests(), 4);
});

Deno.test("log file: a socket, a directory, a device are refused by name; /dev/null discards silently", async () => {
  await using f = await startFakeStsHome("AKIALOGFILEFIFO00002");
  using _socket = unixSocket(`${f.home.dir}/log.sock`);
  const args = ["--role-arn", ROLE, "--no-cache", "--verbose"];
  const cases: [string, string | undefined][] = [
    [`${f.home.dir}/log.sock`, "it is a socket, not a regular file"],
    [f.home.dir, "it is a directory"],
    ["/dev/zero", "it is a device, not a regular file"],
    ["/dev/null", undefined],
  ];
  for (const [path, why] of cases) {
    const r = await runCredproc([...args, "--log-file", path], f.env, {
      signal: AbortSignal.timeout(KILL_AFTER_MS),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, PROCESS_DOC);
    assert.deepEqual(
      r.lines.filter((l) => l.includes("log file")),
      why === undefined ? [] : [`credproc: log file ${path} not written: ${why}`],
      path,
    );
  }
  // A regular file still gets every line, and a new one is made 0600.
  const log = `${f.home.dir}/new.log`;
  const r = await runCredproc([...args, "--log-file", log], f.env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(Deno.statSync(log).mode! & 0o777, 0o600);
  const lines = Deno.readTextFileSync(log).trimEnd().split("\n");
  assert.equal(lines.length, r.lines.length);
  assert.deepEqual(lines.map((l) => l.replace(/^\S+ /, "")), r.lines);
});

Deno.test("log file: the open that follows the check does not block on a FIFO swapped in", async () => {
  // The window between the check and the open cannot be hit on demand from outside: open a FIFO with no
  // reader directly with the sink's open, in a child that is killed if it blocks.
  const dir = await Deno.makeTempDir({ prefix: "credproc-fifo-" });
  try {
    const fifo = `${dir}/swapped`;
    await mkfifo(fifo);
    const code = `
      import { openNonBlocking } from "${ROOT}lib/cli/log_file.ts";
      const f = openNonBlocking(${JSON.stringify(fifo)});
      console.log(f.statSync().isFifo);
      f.close();
    `;
    const r = await runProcess(Deno.execPath(), ["eval", "-q", "--cached-only", code], {
      PATH: "/usr/bin:/bin",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      DENO_NO_UPDATE_CHECK: "1",
    }, { signal: AbortSignal.timeout(KILL_AFTER_MS) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "true\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** What a path holds now: its text, or absent (a log file or failure record that was never written). */
async function contents(path: string): Promise<string> {
  return await Deno.readTextFile(path).catch((e) => e instanceof Deno.errors.NotFound ? "absent" : String(e));
}

Deno.test("log file: a cache command writes neither the log file nor the failure record, wherever its words stand", async () => {
  await using home = await tempHome();
  const log = `${home.dir}/credproc.log`;
  const notDir = `${home.dir}/not-a-directory`;
  await Deno.writeTextFile(notDir, "x");
  const env = home.env({ CREDPROC_LOG_FILE: log });
  const notDirLines = [`credproc: --cache-dir ${notDir}: not a directory`];
  const extraLines = [
    'credproc: bad arguments: unexpected argument "extra"',
    "hint: run credproc cache clear --help for usage",
  ];
  // Each failing cache command line in two orders: the words first, and an option before the words.
  const cases: [string[], string[], string[]][] = [
    [
      ["cache", "list", "--json", "--cache-dir", notDir],
      ["--json", "cache", "list", "--cache-dir", notDir],
      notDirLines,
    ],
    [["cache", "list", "--cache-dir", notDir], ["--cache-dir", notDir, "cache", "list"], notDirLines],
    [["cache", "clear", "extra", "-v"], ["-v", "cache", "clear", "extra"], extraLines],
  ];
  for (const [wordsFirst, optionFirst, lines] of cases) {
    for (const argv of [wordsFirst, optionFirst]) {
      const r = await runCredproc(argv, env);
      assert.deepEqual([r.code, r.stdout, r.lines], [2, "", lines], JSON.stringify(argv));
      assert.equal(await contents(log), "absent", `${JSON.stringify(argv)} wrote the log file`);
      assert.equal(
        await contents(`${home.cacheDir}/failures.json`),
        "absent",
        `${JSON.stringify(argv)} recorded its failure`,
      );
    }
  }
  // The same environment records a role command's failure in both: the checks above can see them.
  const r = await runCredproc(["--role-arn", ROLE, "--region", "moon-1"], env);
  assert.equal(r.code, 2);
  const line = 'credproc: --region: "moon-1" is not an AWS region such as us-east-1';
  assert.deepEqual(r.lines, [line, "hint: run credproc --help for usage"]);
  assert.match(await contents(log), new RegExp(`^\\S+Z ${line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n`));
  const record = JSON.parse(await contents(`${home.cacheDir}/failures.json`));
  assert.deepEqual(record.failures.map((f: { line: string }) => f.line), [line]);
});
