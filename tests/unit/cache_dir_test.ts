/** lib/cache/dir.ts: where the cache lives (flag, `CREDPROC_CACHE_DIR`, platform) and the directory rule. */
import assert from "node:assert/strict";
import { joinPath, judgeDirSync, planCacheDir, platformCacheDir } from "../../lib/cache/dir.ts";

const UID = Deno.uid() ?? 0;

Deno.test("cache dir: flag, then CREDPROC_CACHE_DIR, then the platform's cache dir", () => {
  const env = { CREDPROC_CACHE_DIR: "/env/dir", HOME: "/home/u", XDG_CACHE_HOME: "/xdg" };
  assert.deepEqual(planCacheDir("/flag", env, "linux"), { path: "/flag", namedBy: "--cache-dir" });
  assert.deepEqual(planCacheDir(undefined, env, "linux"), {
    path: "/env/dir",
    namedBy: "CREDPROC_CACHE_DIR",
  });
  assert.deepEqual(planCacheDir(undefined, { ...env, CREDPROC_CACHE_DIR: "" }, "linux"), {
    path: "/xdg/credproc",
  });
  assert.equal(platformCacheDir({ HOME: "/home/u" }, "linux"), "/home/u/.cache/credproc");
  assert.equal(platformCacheDir({ HOME: "/home/u/", XDG_CACHE_HOME: "/x/" }, "linux"), "/x/credproc");
  // The XDG spec says relative values are ignored.
  assert.equal(
    platformCacheDir({ HOME: "/home/u", XDG_CACHE_HOME: "rel" }, "linux"),
    "/home/u/.cache/credproc",
  );
  assert.equal(
    platformCacheDir({ HOME: "/Users/u", XDG_CACHE_HOME: "/x" }, "darwin"),
    "/Users/u/Library/Caches/credproc",
  );
  assert.equal(
    platformCacheDir({ LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }, "windows"),
    "C:\\Users\\u\\AppData\\Local\\credproc",
  );
  assert.equal(
    platformCacheDir({ USERPROFILE: "C:\\Users\\u" }, "windows"),
    "C:\\Users\\u\\AppData\\Local\\credproc",
  );
  assert.equal(platformCacheDir({}, "linux"), undefined);
  assert.equal(platformCacheDir({ HOME: "/h" }, "windows"), undefined);
});

Deno.test("cache dir: the rule — a directory, ours, not writable by others; a missing one is said so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "credproc-dir-unit-" });
  try {
    await Deno.chmod(dir, 0o700);
    const ok = judgeDirSync(dir, UID);
    assert.ok("ok" in ok && ok.info.isDirectory && ok.info.uid === UID, JSON.stringify(ok));
    assert.deepEqual(judgeDirSync(`${dir}/nope`, UID), { missing: true });
    await Deno.writeTextFile(`${dir}/file`, "");
    const file = judgeDirSync(`${dir}/file`, UID);
    assert.ok(
      "problem" in file && file.problem === "it is not a directory" && file.info?.isDirectory === false,
    );
    await Deno.chmod(dir, 0o1777);
    const open = judgeDirSync(dir, UID);
    assert.equal("problem" in open && open.problem, "it is writable by others (mode 1777)");
    const theirs = judgeDirSync(dir, UID + 1);
    assert.equal("problem" in theirs && theirs.problem, `it is owned by uid ${UID}, not ${UID + 1}`);
    // Where the platform has no uid (Windows), ownership is not checked.
    await Deno.chmod(dir, 0o700);
    assert.ok("ok" in judgeDirSync(dir, null));
    assert.equal(joinPath("/a/b/", "c.json"), "/a/b/c.json");
    assert.equal(joinPath("C:\\x\\", "c.json"), "C:\\x\\c.json");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
