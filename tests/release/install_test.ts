/**
 * scripts/install.sh against a release served on loopback: the asset chosen per `uname`, the checksum check,
 * missing assets, and nothing left behind on failure. Each run gets a PATH made of symlinks to the tools the
 * script may use plus a fake `uname`, a temp HOME and a temp TMPDIR, and no other environment.
 */
import assert from "node:assert/strict";
import { sha256sums, tarGz } from "../../scripts/archive.ts";
import { ignoreIf, ROOT, runProcess, which } from "../support/helpers.ts";

const INSTALL_SH = `${ROOT}scripts/install.sh`;
/** install.sh is for Linux and macOS (Windows has install.ps1, which no machine here can run). */
const WINDOWS = Deno.build.os === "windows";

function shTest(name: string, fn: (t: Deno.TestContext) => Promise<void>) {
  Deno.test({ ...ignoreIf(name, WINDOWS && "install.sh is for Linux and macOS"), fn });
}
const enc = new TextEncoder();

const SH = which("sh") ?? "/bin/sh";
/** What install.sh may call, besides the shell's builtins. */
const TOOLS = [
  "sh",
  "curl",
  "wget",
  "sha256sum",
  "shasum",
  "openssl",
  "tar",
  "gzip",
  "mktemp",
  "rm",
  "rmdir",
  "mkdir",
  "cp",
  "mv",
  "chmod",
  "awk",
  "tr",
  "grep",
  "head",
  "dirname",
];

const TARGET_OF: Record<string, string> = {
  "Linux x86_64": "x86_64-unknown-linux-gnu",
  "Linux amd64": "x86_64-unknown-linux-gnu",
  "Linux aarch64": "aarch64-unknown-linux-gnu",
  "Linux arm64": "aarch64-unknown-linux-gnu",
  "Darwin x86_64": "x86_64-apple-darwin",
  "Darwin arm64": "aarch64-apple-darwin",
};
const ALL_TARGETS = [...new Set(Object.values(TARGET_OF))];

/** A fake `credproc` that says which build it is. */
function fakeBinary(version: string, target: string, runs = true): string {
  return runs
    ? `#!/bin/sh\necho "credproc ${version} (fake, ${target})"\n`
    : `#!/bin/sh\necho "cannot execute binary file: Exec format error" >&2\nexit 126\n`;
}

type Files = Map<string, Uint8Array>;

/** A release as the workflow publishes it: archives per target, SHA256SUMS, and latest/VERSION. */
async function fakeRelease(
  version: string,
  opts: { targets?: string[]; runs?: boolean; files?: Files; latest?: boolean } = {},
): Promise<Files> {
  const files = opts.files ?? new Map<string, Uint8Array>();
  const archives: { name: string; data: Uint8Array }[] = [];
  for (const target of opts.targets ?? ALL_TARGETS) {
    const name = `credproc-${version}-${target}.tar.gz`;
    const data = await tarGz([
      { name: "credproc", data: enc.encode(fakeBinary(version, target, opts.runs ?? true)), mode: 0o755 },
      { name: "README.md", data: enc.encode("# credproc\n"), mode: 0o644 },
      { name: "LICENSE", data: enc.encode("MIT\n"), mode: 0o644 },
    ]);
    archives.push({ name, data });
    files.set(`/v${version}/${name}`, data);
  }
  files.set(`/v${version}/SHA256SUMS`, enc.encode(await sha256sums(archives)));
  if (opts.latest ?? true) files.set("/latest/VERSION", enc.encode(`${version}\n`));
  return files;
}

interface Server {
  base: string;
  requests: string[];
  files: Files;
  close(): Promise<void>;
}

function serve(files: Files): Server {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    const body = files.get(path);
    return body
      ? new Response(body as Uint8Array<ArrayBuffer>)
      : new Response("not found\n", { status: 404 });
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    requests,
    files,
    close: () => server.shutdown(),
  };
}

/** Every path under `dir`, with file contents, for before/after comparisons. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of [...Deno.readDirSync(d)].sort((a, b) => a.name.localeCompare(b.name))) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) {
        out.push(`${p}/`);
        walk(p);
      } else out.push(`${p} ${e.isFile ? Deno.readTextFileSync(p).length : "link"}`);
    }
  };
  walk(dir);
  return out;
}

interface Sandbox {
  home: string;
  tmp: string;
  bin: string;
  run(args: string[], extra?: Record<string, string>): ReturnType<typeof runProcess>;
  /** Everything under HOME and TMPDIR. */
  state(): string[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function sandbox(
  server: Server,
  opts: { uname?: string; without?: string[]; base?: string | null } = {},
): Promise<Sandbox> {
  const root = await Deno.makeTempDir({ prefix: "credproc-install-test-" });
  const home = `${root}/home`;
  const tmp = `${root}/tmp`;
  const bin = `${root}/toolbox`;
  await Deno.mkdir(home);
  await Deno.mkdir(tmp);
  await Deno.mkdir(bin);
  for (const tool of TOOLS) {
    if (opts.without?.includes(tool)) continue;
    const real = which(tool);
    if (real) await Deno.symlink(real, `${bin}/${tool}`);
  }
  const [os, arch] = (opts.uname ?? "Linux x86_64").split(" ");
  await Deno.writeTextFile(
    `${bin}/uname`,
    `#!${SH}\ncase "\${1:-}" in\n  -m) echo "${arch}" ;;\n  *) echo "${os}" ;;\nesac\n`,
    { mode: 0o755 },
  );
  const base = opts.base === undefined ? server.base : opts.base;
  return {
    home,
    tmp,
    bin,
    run: (args, extra = {}) =>
      runProcess(SH, [INSTALL_SH, ...args], {
        PATH: bin,
        HOME: home,
        TMPDIR: tmp,
        ...(base === null ? {} : { CREDPROC_DOWNLOAD_BASE: base }),
        ...extra,
      }, { cwd: home }),
    state: () => [...listing(home), ...listing(tmp)],
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

async function withServer(files: Files, fn: (s: Server) => Promise<void>): Promise<void> {
  const server = serve(files);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

function assertRefused(r: { code: number; stderr: string; lines: string[] }, pattern: RegExp) {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.lines.length, 1, r.stderr);
  assert.match(r.lines[0], pattern);
}

shTest("install.sh picks the asset for each uname, verifies it, installs to ~/.local/bin", async (t) => {
  await withServer(await fakeRelease("0.1.0"), async (server) => {
    for (const [uname, target] of Object.entries(TARGET_OF)) {
      await t.step(`${uname} -> ${target}`, async () => {
        server.requests.length = 0;
        await using box = await sandbox(server, { uname });
        const r = await box.run([]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        const asset = `credproc-0.1.0-${target}.tar.gz`;
        assert.deepEqual(server.requests, ["/latest/VERSION", `/v0.1.0/${asset}`, "/v0.1.0/SHA256SUMS"]);
        const installed = `${box.home}/.local/bin/credproc`;
        assert.equal((await Deno.stat(installed)).mode! & 0o777, 0o755);
        assert.equal(await Deno.readTextFile(installed), fakeBinary("0.1.0", target));
        assert.match(r.stdout, new RegExp(`^Installed credproc 0\\.1\\.0 \\(fake, ${target}\\)$`, "m"));
        assert.match(
          r.stdout,
          new RegExp(
            `^credential_process = ${installed} --profile default --role-arn arn:aws:iam::123456789012:role/my-role$`,
            "m",
          ),
        );
        // Only the installed binary is left: no temp files, no staging file.
        assert.deepEqual(box.state(), [
          `${box.home}/.local/`,
          `${box.home}/.local/bin/`,
          `${installed} ${fakeBinary("0.1.0", target).length}`,
        ]);
      });
    }
  });
});

shTest(
  "install.sh --version and --dir: no latest lookup, nested directory created, path with a space quoted",
  async () => {
    const files = await fakeRelease("0.1.0");
    await fakeRelease("0.2.0", { files, latest: false });
    await withServer(files, async (server) => {
      await using box = await sandbox(server);
      const dir = `${box.home}/tools/my bin`;
      const r = await box.run(["--version", "v0.2.0", "--dir", dir]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(server.requests, [
        "/v0.2.0/credproc-0.2.0-x86_64-unknown-linux-gnu.tar.gz",
        "/v0.2.0/SHA256SUMS",
      ]);
      assert.equal(
        await Deno.readTextFile(`${dir}/credproc`),
        fakeBinary("0.2.0", "x86_64-unknown-linux-gnu"),
      );
      assert.match(r.stdout, /^note: .* is not on your PATH/m);
      assert.match(
        r.stdout,
        new RegExp(`^credential_process = "${dir}/credproc" --profile default --role-arn `, "m"),
      );

      // --dir=DIR and --version=X.Y.Z spellings, relative DIR, over an existing install.
      const again = await box.run(["--version=0.1.0", "--dir=tools/my bin"]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(
        await Deno.readTextFile(`${dir}/credproc`),
        fakeBinary("0.1.0", "x86_64-unknown-linux-gnu"),
      );
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["credproc"]);
    });
  },
);

shTest(
  "install.sh refuses a checksum mismatch, deletes the download, leaves an existing install alone",
  async () => {
    const files = await fakeRelease("0.1.0");
    // Someone swapped the archive after SHA256SUMS was written.
    const tampered = await tarGz([{
      name: "credproc",
      data: enc.encode("#!/bin/sh\necho evil\n"),
      mode: 0o755,
    }]);
    files.set("/v0.1.0/credproc-0.1.0-x86_64-unknown-linux-gnu.tar.gz", tampered);
    await withServer(files, async (server) => {
      await using fresh = await sandbox(server);
      const before = fresh.state();
      const r = await fresh.run([]);
      assertRefused(
        r,
        /^install\.sh: checksum mismatch for credproc-0\.1\.0-x86_64-unknown-linux-gnu\.tar\.gz: .*refusing/,
      );
      assert.deepEqual(fresh.state(), before, "nothing left behind");

      await using upgrade = await sandbox(server);
      await Deno.mkdir(`${upgrade.home}/.local/bin`, { recursive: true });
      await Deno.writeTextFile(`${upgrade.home}/.local/bin/credproc`, "old\n", { mode: 0o755 });
      const before2 = upgrade.state();
      assertRefused(await upgrade.run([]), /checksum mismatch/);
      assert.deepEqual(upgrade.state(), before2);
    });
  },
);

shTest(
  "install.sh refuses a missing asset, a missing SHA256SUMS, an asset SHA256SUMS does not list",
  async (t) => {
    await t.step("no build for this target", async () => {
      const files = await fakeRelease("0.1.0", { targets: ["x86_64-apple-darwin"] });
      await withServer(files, async (server) => {
        await using box = await sandbox(server, { uname: "Linux aarch64" });
        const before = box.state();
        const r = await box.run(["--dir", `${box.home}/a/b/c`]);
        assertRefused(
          r,
          /^install\.sh: cannot download http:\/\/127\.0\.0\.1:\d+\/v0\.1\.0\/credproc-0\.1\.0-aarch64-unknown-linux-gnu\.tar\.gz/,
        );
        assert.deepEqual(box.state(), before);
      });
    });
    await t.step("no such version", async () => {
      await withServer(await fakeRelease("0.1.0"), async (server) => {
        await using box = await sandbox(server);
        const before = box.state();
        assertRefused(await box.run(["--version", "9.9.9"]), /cannot download .*\/v9\.9\.9\//);
        assert.deepEqual(box.state(), before);
      });
    });
    await t.step("SHA256SUMS missing", async () => {
      const files = await fakeRelease("0.1.0");
      files.delete("/v0.1.0/SHA256SUMS");
      await withServer(files, async (server) => {
        await using box = await sandbox(server);
        const before = box.state();
        assertRefused(
          await box.run([]),
          /cannot download .*SHA256SUMS: .*404.*; refusing to install an unverified download/,
        );
        assert.deepEqual(box.state(), before);
      });
    });
    await t.step("asset not listed in SHA256SUMS", async () => {
      const files = await fakeRelease("0.1.0");
      const sums = new TextDecoder().decode(files.get("/v0.1.0/SHA256SUMS"));
      files.set(
        "/v0.1.0/SHA256SUMS",
        enc.encode(sums.split("\n").filter((l) => !l.includes("x86_64-unknown-linux-gnu")).join("\n")),
      );
      await withServer(files, async (server) => {
        await using box = await sandbox(server);
        const before = box.state();
        assertRefused(
          await box.run([]),
          /SHA256SUMS has no checksum for credproc-0\.1\.0-x86_64-unknown-linux-gnu/,
        );
        assert.deepEqual(box.state(), before);
      });
    });
    await t.step("latest/VERSION missing or not a version", async () => {
      const files = await fakeRelease("0.1.0", { latest: false });
      await withServer(files, async (server) => {
        await using box = await sandbox(server);
        const before = box.state();
        assertRefused(
          await box.run([]),
          /cannot find the latest version at .*\/latest\/VERSION: .*404.* \(pass --version X\.Y\.Z\)/,
        );
        files.set("/latest/VERSION", enc.encode("<html>oops</html>\n"));
        assertRefused(await box.run([]), /does not hold a version/);
        assert.deepEqual(box.state(), before);
      });
    });
  },
);

shTest("install.sh does not install a binary that does not run here, and keeps the old one", async () => {
  await withServer(await fakeRelease("0.1.0", { runs: false }), async (server) => {
    await using box = await sandbox(server);
    await Deno.mkdir(`${box.home}/.local/bin`, { recursive: true });
    await Deno.writeTextFile(`${box.home}/.local/bin/credproc`, "old\n", { mode: 0o755 });
    const before = box.state();
    const r = await box.run([]);
    assertRefused(r, /^install\.sh: the downloaded credproc does not run here: cannot execute binary file/);
    assert.deepEqual(box.state(), before, "no staging file, no temp dir, old binary intact");

    await using fresh = await sandbox(server);
    const before2 = fresh.state();
    assertRefused(await fresh.run(["--dir", `${fresh.home}/x/y`]), /does not run here/);
    assert.deepEqual(fresh.state(), before2, "directories it created are removed again");
  });
});

shTest("install.sh refuses platforms without a build before downloading anything", async () => {
  await withServer(await fakeRelease("0.1.0"), async (server) => {
    for (
      const [uname, pattern] of [
        ["Linux riscv64", /no credproc build for Linux on riscv64/],
        ["Linux armv7l", /no credproc build for Linux on armv7l/],
        ["FreeBSD amd64", /no credproc build for FreeBSD amd64/],
        ["MINGW64_NT-10.0 x86_64", /on Windows use install\.ps1/],
      ] as const
    ) {
      await using box = await sandbox(server, { uname });
      assertRefused(await box.run([]), pattern);
    }
    assert.deepEqual(server.requests, []);
  });
});

shTest("install.sh usage: --help, unknown flags and bad versions exit 2 without downloading", async () => {
  await withServer(await fakeRelease("0.1.0"), async (server) => {
    await using box = await sandbox(server);
    const help = await box.run(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: install\.sh \[--version X\.Y\.Z\] \[--dir DIR\]/);
    for (
      const args of [["--bogus"], ["--version"], ["--version", "../../etc"], ["--version", "1.2"], ["--dir"]]
    ) {
      const r = await box.run(args);
      assert.equal(r.code, 2, `${args}: ${r.stderr}`);
      assert.match(r.stderr, /^install\.sh: /);
    }
    assert.deepEqual(server.requests, []);
    assert.deepEqual(box.state(), []);
  });
});

shTest("install.sh falls back to wget, shasum and openssl, and says what it needs", async (t) => {
  await withServer(await fakeRelease("0.1.0"), async (server) => {
    // [name, tools left out, tools the variant needs]
    const variants: [string, string[], string[]][] = [
      ["wget + shasum", ["curl", "sha256sum"], ["wget", "shasum"]],
      ["curl + openssl", ["sha256sum", "shasum"], ["curl", "openssl"]],
    ];
    for (const [name, without, needs] of variants) {
      await t.step({
        name,
        fn: async () => {
          // A missing tool fails here: `deno task test` installs them, so a skip would hide a gap.
          for (const tool of needs) assert.ok(which(tool), `${tool} is missing (deno task test installs it)`);
          await using box = await sandbox(server, { without });
          const r = await box.run([]);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(
            await Deno.readTextFile(`${box.home}/.local/bin/credproc`),
            fakeBinary("0.1.0", "x86_64-unknown-linux-gnu"),
          );
        },
      });
    }
    await t.step("no downloader", async () => {
      await using box = await sandbox(server, { without: ["curl", "wget"] });
      assertRefused(await box.run([]), /needs curl or wget/);
      assert.deepEqual(box.state(), []);
    });
    await t.step("no hasher", async () => {
      await using box = await sandbox(server, { without: ["sha256sum", "shasum", "openssl"] });
      assertRefused(await box.run([]), /needs sha256sum, shasum or openssl/);
      assert.deepEqual(box.state(), []);
    });
  });
});

Deno.test({
  ...ignoreIf("install.sh passes shellcheck (POSIX sh)", WINDOWS && "install.sh is for Linux and macOS"),
  fn: async () => {
    const r = await runProcess(which("shellcheck")!, ["-s", "sh", INSTALL_SH], {
      PATH: Deno.env.get("PATH") ?? "",
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  },
});
