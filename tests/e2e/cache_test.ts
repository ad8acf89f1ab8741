/**
 * End to end for the credential cache and its cross-process lock: the real program as subprocesses (under the
 * shipping permission set, or the compiled binary named by CREDPROC_BIN) against the STS stand-in on
 * loopback, which counts the requests it receives.
 */
import assert from "node:assert/strict";
import { writeEntry } from "../../lib/cache/write.ts";
import { entryFor } from "../../lib/cache/store.ts";
import { startStandin } from "../support/sts_standin/mod.ts";
import {
  CREDPROC_BIN,
  credprocCommand,
  ignoreIf,
  ok,
  okVerbose,
  type Result,
  runCredproc,
  runProcess,
  sourceCommand,
  startupModules,
  type TempHome,
  tempHome,
  until,
} from "../support/helpers.ts";
import { standinArgs, standinEnv } from "../support/standin_call.ts";

const IS_ROOT = Deno.uid() === 0;

/** The one cache entry in `dir` (asserts there is exactly one). */
async function entryPath(dir: string): Promise<string> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (/^[0-9a-f]{64}\.json$/.test(e.name)) names.push(e.name);
  assert.equal(names.length, 1, `expected one cache entry, found ${names.join(", ")}`);
  return `${dir}/${names[0]}`;
}

Deno.test("cache: the second call is a hit; files are private; --verbose names the path, never the secrets", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const first = await runCredproc(standinArgs(standin, ["--verbose"]), standinEnv(home, standin));
  const a = okVerbose(first);
  assert.equal(standin.count("AssumeRole"), 1);
  const file = await entryPath(home.cacheDir);
  assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  assert.equal((await Deno.stat(home.cacheDir)).mode! & 0o777, 0o700);
  assert.match(first.stderr, /cache: miss .*\.json \(no entry\)/);
  assert.match(first.stderr, /cache: stored /);

  const second = await runCredproc(standinArgs(standin, ["--verbose"]), standinEnv(home, standin));
  assert.equal(second.stdout, first.stdout);
  assert.equal(standin.count("AssumeRole"), 1, "the second call must not reach STS");
  assert.ok(second.stderr.includes(`cache: hit ${file}`), second.stderr);
  for (const text of [first.stderr, second.stderr]) {
    assert.ok(!text.includes(a.SecretAccessKey) && !text.includes(a.SessionToken), text);
    assert.ok(!text.includes(standin.secretAccessKey), text);
  }
  // A hit loads no SDK: nothing logged an STS call.
  assert.ok(!/AssumeRole|source credentials/.test(second.stderr), second.stderr);

  // Another format of the same credentials is a hit too; another role is a miss.
  const envFormat = await runCredproc(standinArgs(standin, ["--format", "env"]), standinEnv(home, standin));
  assert.equal(envFormat.code, 0);
  assert.ok(envFormat.stdout.includes(`AWS_ACCESS_KEY_ID=${a.AccessKeyId}`));
  assert.equal(standin.count("AssumeRole"), 1);
  const other = await runCredproc(
    [
      "--role-arn",
      "arn:aws:iam::123456789012:role/other",
      "--endpoint-url",
      standin.url,
      "--region",
      "us-east-1",
    ],
    standinEnv(home, standin),
  );
  assert.notEqual(ok(other).AccessKeyId, a.AccessKeyId);
  assert.equal(standin.count("AssumeRole"), 2);
});

Deno.test("cache: --no-cache bypasses read and write; --refresh calls STS and rewrites the entry", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  ok(await runCredproc(standinArgs(standin, ["--no-cache"]), standinEnv(home, standin)));
  ok(await runCredproc(standinArgs(standin, ["--no-cache"]), standinEnv(home, standin)));
  assert.equal(standin.count("AssumeRole"), 2);
  await assert.rejects(Deno.lstat(home.cacheDir), Deno.errors.NotFound);

  const cached = ok(await runCredproc(standinArgs(standin), standinEnv(home, standin)));
  assert.equal(standin.count("AssumeRole"), 3);
  const refreshed = ok(await runCredproc(standinArgs(standin, ["--refresh"]), standinEnv(home, standin)));
  assert.equal(standin.count("AssumeRole"), 4);
  assert.notEqual(refreshed.AccessKeyId, cached.AccessKeyId);
  const after = ok(await runCredproc(standinArgs(standin), standinEnv(home, standin)));
  assert.equal(after.AccessKeyId, refreshed.AccessKeyId);
  assert.equal(standin.count("AssumeRole"), 4);
  // --no-cache does not read the entry either.
  const bypass = ok(await runCredproc(standinArgs(standin, ["--no-cache"]), standinEnv(home, standin)));
  assert.notEqual(bypass.AccessKeyId, refreshed.AccessKeyId);
});

Deno.test("cache: tampered entries are ignored and replaced", async (t) => {
  const tampers: [string, (file: string, home: TempHome) => Promise<void>, RegExp][] = [
    ["mode 0644", (f) => Deno.chmod(f, 0o644), /mode is 0644, not 0600/],
    ["symlink", async (f, home) => {
      const target = `${home.dir}/elsewhere.json`;
      await Deno.copyFile(f, target);
      await Deno.chmod(target, 0o600);
      await Deno.remove(f);
      await Deno.symlink(target, f);
    }, /symbolic link/],
    ["garbage", (f) => Deno.writeTextFile(f, "\u0000garbage{"), /not valid JSON/],
    ["wrong shape", (f) => Deno.writeTextFile(f, '{"credproc":1,"key":"x"}'), /no valid key/],
    ["expired", async (f) => {
      const doc = JSON.parse(await Deno.readTextFile(f));
      const now = Date.now();
      await writeEntry(
        f,
        entryFor(doc.key, {
          accessKeyId: doc.credentials.AccessKeyId,
          secretAccessKey: doc.credentials.SecretAccessKey,
          sessionToken: doc.credentials.SessionToken,
          expiration: new Date(now - 60_000),
        }, now - 3600_000),
      );
    }, /expired/],
    ["inside the refresh margin", async (f) => {
      const doc = JSON.parse(await Deno.readTextFile(f));
      // An hour-long session with 10 minutes left (issued 50 minutes ago).
      doc.issuedAt = new Date(Date.now() - 50 * 60_000).toISOString();
      doc.credentials.Expiration = new Date(Date.now() + 10 * 60_000).toISOString();
      await writeEntry(f, doc);
    }, /within the refresh margin of 900 s/],
  ];
  if (IS_ROOT) tampers.push(["another owner", (f) => Deno.chown(f, 4242, 4242), /owned by uid 4242/]);

  await using standin = await startStandin();
  for (const [name, tamper, reason] of tampers) {
    await t.step(name, async () => {
      await using home = await tempHome();
      standin.reset();
      const first = ok(await runCredproc(standinArgs(standin), standinEnv(home, standin)));
      const file = await entryPath(home.cacheDir);
      await tamper(file, home);
      const r = await runCredproc(standinArgs(standin, ["--verbose"]), standinEnv(home, standin));
      const second = okVerbose(r);
      assert.equal(standin.count("AssumeRole"), 2, "the tampered entry must not be used");
      assert.notEqual(second.AccessKeyId, first.AccessKeyId);
      assert.match(r.stderr, reason);
      assert.match(r.stderr, /it will be replaced/);
      const st = await Deno.lstat(file);
      assert.ok(
        st.isFile && (st.mode! & 0o777) === 0o600 && st.uid === Deno.uid(),
        "replaced by a good file",
      );
      assert.equal(
        ok(await runCredproc(standinArgs(standin), standinEnv(home, standin))).AccessKeyId,
        second.AccessKeyId,
      );
      assert.equal(standin.count("AssumeRole"), 2, "the replacement is used");
    });
  }
});

Deno.test("cache: a cache dir that cannot be created still prints credentials, stderr empty (--verbose says why)", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  await Deno.writeTextFile(`${home.dir}/not-a-dir`, "");
  const r = await runCredproc(
    standinArgs(standin),
    standinEnv(home, standin, { CREDPROC_CACHE_DIR: `${home.dir}/not-a-dir/cache` }),
  );
  ok(r);
  // Consumers (Go, Ruby, older AWS CRT) show or even parse stderr: cache trouble goes to --verbose only.
  assert.equal(r.stderr, "");
  const verbose = await runCredproc(
    standinArgs(standin, ["--verbose"]),
    standinEnv(home, standin, { CREDPROC_CACHE_DIR: `${home.dir}/not-a-dir/cache` }),
  );
  okVerbose(verbose);
  assert.match(verbose.stderr, /^credproc: cache: off: cannot use .*not-a-dir\/cache: /m);
  // --cache-dir wins over the environment, and the same holds for it.
  const flag = await runCredproc(
    standinArgs(standin, ["--cache-dir", `${home.dir}/not-a-dir/x`, "--verbose"]),
    standinEnv(home, standin),
  );
  okVerbose(flag);
  assert.match(flag.stderr, /cannot use .*not-a-dir\/x/);
});

Deno.test("cache: a read-only cache dir still prints credentials, with nothing on stderr; --verbose says why", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  await Deno.mkdir(home.cacheDir, { mode: 0o500 });
  // Root writes a 0500 directory anyway: as root, credproc runs without the capabilities that let it.
  const noOverride = [
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
  ];
  const run = (extra: string[]) =>
    IS_ROOT
      ? runProcess(
        "setpriv",
        [...noOverride, ...credprocCommand(), ...standinArgs(standin, extra)],
        standinEnv(home, standin),
      )
      : runCredproc(standinArgs(standin, extra), standinEnv(home, standin));
  ok(await run([]));
  const verbose = await run(["--verbose"]);
  okVerbose(verbose);
  assert.match(verbose.stderr, /^credproc: cache: off: cannot use .*\/cache: Permission denied/m);
  assert.equal(standin.count("AssumeRole"), 2);
  await Deno.chmod(home.cacheDir, 0o700);
});

Deno.test("cache: the platform cache dir is used when CREDPROC_CACHE_DIR is unset", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const e = standinEnv(home, standin);
  delete e.CREDPROC_CACHE_DIR;
  ok(await runCredproc(standinArgs(standin), { ...e, XDG_CACHE_HOME: `${home.dir}/xdg` }));
  await entryPath(`${home.dir}/xdg/credproc`);
  ok(await runCredproc(standinArgs(standin), e));
  await entryPath(`${home.dir}/.cache/credproc`);
  assert.equal(standin.count("AssumeRole"), 2);
});

Deno.test("cache clear removes the entries; the next call is a miss", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  ok(await runCredproc(standinArgs(standin), standinEnv(home, standin)));
  await Deno.writeTextFile(`${home.cacheDir}/keep-me.txt`, "not ours");
  const r = await runCredproc(["cache", "clear"], standinEnv(home, standin));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `credproc: removed 1 cache entry from ${home.cacheDir}\n`);
  const left = [];
  for await (const e of Deno.readDir(home.cacheDir)) left.push(e.name);
  assert.deepEqual(left, ["keep-me.txt"]);
  ok(await runCredproc(standinArgs(standin), standinEnv(home, standin)));
  assert.equal(standin.count("AssumeRole"), 2);
});

/** A credproc subprocess we can watch and kill. */
function spawnCredproc(argv: string[], environment: Record<string, string>) {
  const [cmd, ...pre] = credprocCommand();
  const child = new Deno.Command(cmd, {
    args: [...pre, ...argv],
    env: environment,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let stderr = "";
  const stderrDone = (async () => {
    for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const stdout = new Response(child.stdout).text();
  return {
    child,
    stderr: () => stderr,
    async result(): Promise<Result> {
      const [status, out] = await Promise.all([child.status, stdout, stderrDone]);
      return { code: status.code, stdout: out, stderr, lines: stderr.split("\n").filter(Boolean), ms: 0 };
    },
  };
}

Deno.test("stampede: 20 processes on a cold cache make exactly one STS request and print the same", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  // Hold the first request long enough that every process is started and waiting before it is answered.
  standin.pushFault({ kind: "delay", ms: 1500 });
  const started = performance.now();
  const results = await Promise.all(
    Array.from(
      { length: 20 },
      () => runCredproc(standinArgs(standin, ["--verbose"]), standinEnv(home, standin)),
    ),
  );
  const elapsed = performance.now() - started;
  const docs = results.map((r) => okVerbose(r));
  assert.equal(standin.count("AssumeRole"), 1, `${standin.count("AssumeRole")} STS requests`);
  assert.equal(standin.requests.length, 1);
  for (const r of results) assert.equal(r.stdout, results[0].stdout);
  assert.equal(new Set(docs.map((d) => d.AccessKeyId)).size, 1);
  const waited = results.filter((r) => /cache: waiting for lock/.test(r.stderr)).length;
  console.log(
    `stampede: 20 processes, ${standin.count("AssumeRole")} STS request, ${waited} waited for the lock, ${
      Math.round(elapsed)
    } ms in all`,
  );
  assert.ok(waited >= 1, "at least one process waited for the lock");
});

Deno.test("kill -9 of the lock holder mid-call: the next caller proceeds", async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  standin.pushFault({ kind: "hang" });
  const holder = spawnCredproc(standinArgs(standin, ["--verbose"]), standinEnv(home, standin));
  await until("the holder's STS request", () => standin.count("AssumeRole") === 1);
  assert.match(holder.stderr(), /cache: lock .* acquired/);
  const waiter = spawnCredproc(standinArgs(standin, ["--verbose"]), standinEnv(home, standin));
  await until(
    "the second process to wait for the lock",
    () => /cache: waiting for lock/.test(waiter.stderr()),
  );
  const killedAt = performance.now();
  holder.child.kill("SIGKILL");
  const h = await holder.result();
  assert.notEqual(h.code, 0);
  const w = await waiter.result();
  const afterKill = performance.now() - killedAt;
  okVerbose(w);
  assert.equal(standin.count("AssumeRole"), 2, "the waiter made its own request once the holder died");
  assert.match(w.stderr, /cache: lock .* acquired after \d+ ms/);
  console.log(
    `kill -9: the waiter got the lock and printed credentials ${Math.round(afterKill)} ms after the kill`,
  );
  assert.ok(afterKill < 10_000, `${afterKill} ms`);
  await entryPath(home.cacheDir);
});

Deno.test({
  ...ignoreIf(
    "fast path: the full program's (lib/cli/cli.ts) import graph, literal dynamic imports included, holds no npm package",
    CREDPROC_BIN !== undefined && "runs main.ts from source; CREDPROC_BIN names a binary",
  ),
}, async () => {
  // A literal npm specifier, even in a dynamic import, makes deno run read its registry metadata at start-up:
  // npm modules load through lib/npm.ts (a specifier in a variable).
  const seen = await startupModules("lib/cli/cli.ts", { dynamic: true });
  const heavy = seen.filter((s) => s.includes(":") && !s.startsWith("node:"));
  assert.deepEqual(heavy, [], `prepared at start-up: ${heavy.join(", ")}`);
  // lib/ alone is about 60 modules (lib/cache/, lib/plan/ and lib/console/ split by concept); an npm graph
  // would be hundreds.
  assert.ok(seen.length > 5 && seen.length < 80, `${seen.length} modules at start-up`);
});

Deno.test({
  ...ignoreIf(
    "fast path: a hit runs with no npm package available at all; a miss needs them",
    CREDPROC_BIN !== undefined && "runs main.ts from source; CREDPROC_BIN names a binary",
  ),
}, async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  ok(await runCredproc(standinArgs(standin), standinEnv(home, standin)));
  // An empty Deno cache and a registry that refuses connections: any npm module load fails.
  const emptyDenoDir = `${home.dir}/deno-dir`;
  const noNpm = standinEnv(home, standin, {
    DENO_DIR: emptyDenoDir,
    NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/",
  });
  ok(await runCredproc(standinArgs(standin), noNpm));
  assert.equal(standin.count("AssumeRole"), 1);
  const miss = await runCredproc(standinArgs(standin, ["--no-cache"]), noNpm);
  assert.notEqual(miss.code, 0, "the control: a miss must load the SDK and fail here");
  assert.equal(standin.count("AssumeRole"), 1);
});

Deno.test("stampede with MFA: one GetSessionToken and one AssumeRole for 8 processes", async () => {
  const serial = "arn:aws:iam::123456789012:mfa/alice";
  await using standin = await startStandin({ mfa: { serial, code: "123456" } });
  await using home = await tempHome();
  standin.pushFault({ kind: "delay", ms: 1000 });
  const e = standinEnv(home, standin, { CREDPROC_MFA_TOKEN_CODE: "123456" });
  const results = await Promise.all(
    Array.from(
      { length: 8 },
      () => runCredproc(standinArgs(standin, ["--serial-number", serial, "--mfa-session"]), e),
    ),
  );
  for (const r of results) ok(r);
  assert.equal(standin.count("GetSessionToken"), 1);
  assert.equal(standin.count("AssumeRole"), 1);
  assert.equal(new Set(results.map((r) => r.stdout)).size, 1);
});

Deno.test("MFA session: cached on its own — another role needs no code; --refresh and --no-cache ask again", async () => {
  const serial = "arn:aws:iam::123456789012:mfa/alice";
  const other = "arn:aws:iam::123456789012:role/other";
  await using standin = await startStandin({ mfa: { serial, code: "123456" } });
  await using home = await tempHome();
  const e = standinEnv(home, standin); // no CREDPROC_MFA_TOKEN_CODE, stdin is null: nobody to ask for a code
  const ms = ["--serial-number", serial, "--mfa-session"];
  const counts = () => [standin.count("GetSessionToken"), standin.count("AssumeRole")];

  ok(await runCredproc(standinArgs(standin, [...ms, "--token-code", "123456"]), e));
  assert.deepEqual(counts(), [1, 1]);

  const second = await runCredproc(
    ["--role-arn", other, "--endpoint-url", standin.url, "--region", "us-east-1", ...ms, "--verbose"],
    e,
  );
  okVerbose(second);
  assert.deepEqual(counts(), [1, 2], "the second role used the cached session: no GetSessionToken, no code");
  assert.match(second.stderr, /cache: MFA session entry\ncredproc: cache: hit .*\.json \(\d+ min left\)/);
  const call = standin.requests.at(-1)!;
  assert.equal(call.params.RoleArn, other);
  assert.equal(standin.issued.get(call.accessKeyId!)?.action, "GetSessionToken");

  for (const flag of ["--refresh", "--no-cache"]) {
    const r = await runCredproc(standinArgs(standin, [...ms, flag]), e);
    assert.equal(r.code, 1, `${flag}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^credproc: MFA code for ${serial}: no code given and no terminal`));
    assert.deepEqual(counts(), [1, 2], `${flag} asks for a new session, so for a code, before any call`);
  }
  const names = [];
  for await (const f of Deno.readDir(home.cacheDir)) if (/^[0-9a-f]{64}\.json$/.test(f.name)) names.push(f);
  assert.equal(names.length, 3, "one session entry and one entry per role");
});

/**
 * Runs main.ts from source against the stand-in (in `cwd`, else here) under Deno's permission audit, and says
 * whether the full program ran: it reads CREDPROC_MFA_TOKEN_CODE, the fast path never does.
 */
async function runAudited(
  home: Awaited<ReturnType<typeof tempHome>>,
  standin: Awaited<ReturnType<typeof startStandin>>,
  extra: string[],
  cwd?: string,
) {
  const fast = sourceCommand();
  const audit = `${home.dir}/audit.jsonl`;
  await Deno.remove(audit).catch(() => {});
  const r = await runProcess(
    fast[0],
    [...fast.slice(1), ...standinArgs(standin, extra)],
    standinEnv(home, standin, { DENO_AUDIT_PERMISSIONS: audit }),
    { cwd },
  );
  const log = await Deno.readTextFile(audit).catch(() => "");
  return { r, full: log.includes('"CREDPROC_MFA_TOKEN_CODE"') };
}

Deno.test({
  ...ignoreIf(
    "fast entry: a repeated call is answered before the full program is loaded",
    CREDPROC_BIN !== undefined && "runs main.ts from source; CREDPROC_BIN names a binary",
  ),
}, async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const past = new Date(Date.now() - 60_000);
  await home.writeConfig("[default]\nregion = us-east-1\n");
  await Deno.utime(home.configFile, past, past);
  const runFast = (extra: string[] = []) => runAudited(home, standin, extra);
  const first = await runFast();
  ok(first.r);
  assert.ok(first.full, "a cold call runs the full program");
  const memos = [];
  for await (const e of Deno.readDir(home.cacheDir)) if (e.name.endsWith(".inputs.json")) memos.push(e.name);
  assert.equal(memos.length, 1);

  const second = await runFast();
  assert.equal(second.r.stdout, first.r.stdout);
  assert.equal(second.r.stderr, "");
  assert.ok(!second.full, "the second call is answered by the fast path");
  assert.equal(standin.count("AssumeRole"), 1);

  // Other argv: the full program runs (and hits the entry); the shared config changing does the same.
  const other = await runFast(["--format", "env"]);
  assert.ok(other.full);
  assert.equal(standin.count("AssumeRole"), 1);
  assert.ok(!(await runFast(["--format", "env"])).full, "remembered too now");
  // The same settings with a comment: another file content, the same plan.
  await home.writeConfig("# edited\n[default]\nregion = us-east-1\n");
  await Deno.utime(home.configFile, past, past);
  const changed = await runFast();
  assert.ok(changed.full, "a changed config file sends the call down the full path");
  assert.equal(changed.r.stdout, first.r.stdout, "…which still hits the same entry");
  assert.ok(!(await runFast()).full);
  assert.equal(standin.count("AssumeRole"), 1);

  // --verbose always takes the full path (it has something to say), and is never remembered.
  const verbose = await runFast(["--verbose"]);
  assert.ok(verbose.full && /cache: hit/.test(verbose.r.stderr));
  assert.ok((await runFast(["--verbose"])).full);
  // A miss through the fast entry still locks, fetches and stores.
  ok((await runFast(["--refresh"])).r);
  assert.equal(standin.count("AssumeRole"), 2);
});

Deno.test({
  ...ignoreIf(
    "fast entry: a hit from a working directory no call has used; a relative path makes the directory count",
    CREDPROC_BIN !== undefined && "runs main.ts from source; CREDPROC_BIN names a binary",
  ),
}, async () => {
  await using standin = await startStandin();
  await using home = await tempHome();
  const dirs = { a: `${home.dir}/a`, b: `${home.dir}/b`, c: `${home.dir}/c` };
  for (const d of Object.values(dirs)) await Deno.mkdir(d);
  // Two different policies under one relative name: which one a call means depends on where it runs.
  const past = new Date(Date.now() - 60_000);
  for (const [d, sid] of [[dirs.a, "A"], [dirs.b, "B"]]) {
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Sid: sid, Effect: "Allow", Action: "s3:GetObject", Resource: "*" }],
    });
    await Deno.writeTextFile(`${d}/policy.json`, policy);
    await Deno.utime(`${d}/policy.json`, past, past);
  }
  const runIn = (cwd: string, extra: string[] = []) => runAudited(home, standin, extra, cwd);
  const first = await runIn(dirs.a);
  ok(first.r);
  assert.ok(first.full);
  for (const d of [dirs.b, dirs.c, "/"]) {
    const hit = await runIn(d);
    assert.equal(hit.r.stdout, first.r.stdout, d);
    assert.ok(!hit.full, `the first call from ${d} is answered by the fast path`);
  }
  assert.equal(standin.count("AssumeRole"), 1);

  // --policy-file policy.json: each directory's own file, its own credentials; the fast path answers a
  // directory only with what was fetched for it.
  const rel = ["--policy-file", "policy.json"];
  const inA = await runIn(dirs.a, rel);
  ok(inA.r);
  assert.equal(standin.count("AssumeRole"), 2);
  assert.ok(!(await runIn(dirs.a, rel)).full, "remembered for directory a");
  const inB = await runIn(dirs.b, rel);
  ok(inB.r);
  assert.ok(inB.full, "another directory: the full program");
  assert.notEqual(inB.r.stdout, inA.r.stdout, "directory b's policy gets its own credentials");
  assert.equal(standin.count("AssumeRole"), 3);
  assert.match(standin.requests.at(-1)!.params.Policy ?? "", /"Sid":"B"/);
  const inC = await runIn(dirs.c, rel);
  assert.equal(inC.r.code, 2, "no policy.json in directory c: bad input");
  assert.match(inC.r.stderr, /policy\.json/);
  assert.equal(standin.count("AssumeRole"), 3);
});
