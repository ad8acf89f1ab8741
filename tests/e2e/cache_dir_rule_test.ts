/**
 * The cache directory's safety rule on every path: a directory that is group- or world-writable, or owned by
 * another user, is never read or written — not by the fast path, the lookup, the memo, the digest key, the
 * failure markers or the failure record — and `cache list` says so without reading it. The directory is
 * filled by a normal run first (entry, memo, digest key), then made unsafe: every call must reach STS, and
 * nothing in the directory may change.
 */
import assert from "node:assert/strict";
import { startStandin } from "../support/sts_standin/mod.ts";
import { ignoreIf, ok, ROLE, runCredproc, tempHome } from "../support/helpers.ts";
import { sha256Hex } from "../support/sts_standin/util.ts";
import { standinArgs, standinEnv } from "../support/standin_call.ts";

const IS_ROOT = Deno.uid() === 0;

/** Every file in `dir` with its mode, owner, size, mtime and SHA-256: equal before and after means untouched. */
async function fileStats(dir: string): Promise<string[]> {
  const rows: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    const st = await Deno.lstat(path);
    const sha = st.isFile ? await sha256Hex(await Deno.readFile(path)) : "-";
    rows.push(`${e.name} ${st.mode} ${st.uid} ${st.size} ${st.mtime?.getTime()} ${sha}`);
  }
  return rows.sort();
}

const UNSAFE: {
  name: string;
  make: (dir: string) => Promise<void>;
  problem: RegExp;
  skip?: string | false;
}[] = [
  {
    name: "world-writable (0777)",
    make: (d) => Deno.chmod(d, 0o777),
    problem: /writable by others \(mode 0777\)/,
  },
  {
    name: "group-writable (0775)",
    make: (d) => Deno.chmod(d, 0o775),
    problem: /writable by others \(mode 0775\)/,
  },
  {
    name: "owned by nobody (0700)",
    make: (d) => Deno.chown(d, 65534, 65534),
    problem: /owned by uid 65534, not 0/,
    skip: !IS_ROOT && "needs root (chown)",
  },
];

for (const unsafe of UNSAFE) {
  Deno.test({
    ...ignoreIf(`cache dir rule: a directory ${unsafe.name} is never read or written`, unsafe.skip),
  }, async () => {
    await using standin = await startStandin();
    await using home = await tempHome();
    // A config file older than the memo window, so that the first run leaves a memo for the fast path.
    await home.writeConfig("[default]\nregion = us-east-1\n");
    const past = new Date(Date.now() - 60_000);
    await Deno.utime(home.configFile, past, past);
    ok(await runCredproc(standinArgs(standin), standinEnv(home, standin)));
    ok(await runCredproc(standinArgs(standin), standinEnv(home, standin)));
    assert.equal(standin.count("AssumeRole"), 1, "the directory works before it is made unsafe");
    const names = (await fileStats(home.cacheDir)).map((r) => r.split(" ")[0]);
    assert.ok(names.includes("digest.key") && names.some((n) => n.endsWith(".inputs.json")), names.join(" "));

    await unsafe.make(home.cacheDir);
    const before = await fileStats(home.cacheDir);

    // The same call twice (fast path first, then the full program), a --verbose call, and a failing call (which would record a failure and a marker): each reaches STS or fails on its own.
    ok(await runCredproc(standinArgs(standin), standinEnv(home, standin)));
    ok(await runCredproc(standinArgs(standin), standinEnv(home, standin)));
    assert.equal(standin.count("AssumeRole"), 3, "neither the fast path nor the full path used the entry");
    const verbose = await runCredproc(standinArgs(standin, ["--verbose"]), standinEnv(home, standin));
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.equal(standin.count("AssumeRole"), 4);
    assert.match(verbose.stderr, /cache: off: cannot use .*: it (is writable by others|is owned by uid)/);
    assert.doesNotMatch(verbose.stderr, /cache: hit/);
    const failing = await runCredproc(
      [
        "--role-arn",
        ROLE,
        "--endpoint-url",
        "http://127.0.0.1:9/",
        "--region",
        "us-east-1",
        "--timeout",
        "5",
      ],
      standinEnv(home, standin),
    );
    assert.equal(failing.code, 1, failing.stderr);

    // cache list: not usable, the next call fetches, and nothing read from the directory.
    const list = await runCredproc(["cache", "list"], standinEnv(home, standin));
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`NOT usable: it is ${unsafe.problem.source}`));
    assert.match(list.stdout, /credproc neither reads nor writes it: every call fetches new credentials/);
    assert.match(list.stdout, /entries not read \(the directory is not usable\)/);
    assert.doesNotMatch(list.stdout, /served from cache/);
    const json = JSON.parse(
      (await runCredproc(["cache", "list", "--json"], standinEnv(home, standin))).stdout,
    );
    assert.equal(json.cacheDir.usable, false);
    assert.deepEqual(json.entries, []);
    assert.deepEqual(json.failures, []);

    assert.deepEqual(await fileStats(home.cacheDir), before, "nothing in the directory changed");
    await Deno.chmod(home.cacheDir, 0o700);
    if (IS_ROOT) await Deno.chown(home.cacheDir, 0, 0);
  });
}
