/**
 * The compile pipeline: the permissions embedded in a compiled binary are exactly deno.json's `default` set
 * and allow no remote import; the archives and SHA256SUMS; the one-line failure when `denort` cannot be had.
 *
 * The build here uses DENORT_BIN=<this deno>: the output is not runnable (deno, not denort, is its base), but
 * its embedded metadata is what `deno compile` writes for any base. The release workflow runs this file again
 * with CREDPROC_BIN set to each real binary, which is then checked the same way.
 */
import assert from "node:assert/strict";
import {
  archiveName,
  binaryName,
  ENTRYPOINT,
  explainBaseBinaryFailure,
  packTarget,
  ROOT,
  TARGETS,
} from "../../scripts/compile.ts";
import { NPM_MODULES } from "../../lib/npm_modules.ts";
import { LAZY_MODULES } from "../../lib/cli/lazy.ts";
import {
  type EmbeddedPermissions,
  expectedPermissions,
  permissionProblems,
  readEmbeddedMetadata,
  readEmbeddedMetadataFile,
  remoteImportHostsAllowed,
} from "../../scripts/embedded_metadata.ts";
import { sha256Hex, sha256sums } from "../../scripts/archive.ts";
import { VERSION } from "../../lib/cli/version.ts";
import { CREDPROC_BIN, ignoreIf, runCredproc, runProcess, tempHome } from "../support/helpers.ts";

const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
const DEFAULT_SET: Record<string, unknown> = config.permissions.default;
const HOST = Deno.build.target;

/** Runs `deno task compile ARGS` (the same command, spelled out) with the given environment changes. */
async function runCompile(args: string[], env: Record<string, string | undefined>) {
  const base = Deno.env.toObject();
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return await runProcess(
    Deno.execPath(),
    [
      "run",
      "-q",
      "-P=dev",
      "--no-prompt",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}scripts/compile.ts`,
      ...args,
    ],
    base as Record<string, string>,
    { cwd: ROOT },
  );
}

function assertShippedSandbox(permissions: EmbeddedPermissions) {
  // The explicit checks the issue names, then the whole set.
  assert.deepEqual(permissions.allow_net, DEFAULT_SET.net);
  assert.deepEqual(permissions.allow_env, DEFAULT_SET.env);
  assert.equal(permissions.allow_run, null, "no subprocess");
  assert.equal(permissions.allow_ffi, null, "no FFI");
  assert.equal(permissions.prompt, false, "prompt off");
  assert.deepEqual(remoteImportHostsAllowed(permissions), [], "no remote import host may be allowed");
  const expected = expectedPermissions(DEFAULT_SET);
  const { allow_import: _ignored, ...rest } = permissions;
  assert.deepEqual(rest, expected);
}

Deno.test({
  name:
    "deno task compile (DENORT_BIN=deno, host target): embedded permissions are exactly deno.json's default set",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "credproc-compile-" });
    try {
      const r = await runCompile(["--target", HOST, "--out-dir", dir], { DENORT_BIN: Deno.execPath() });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.match(r.stdout, new RegExp(`^compile: base binary for ${HOST} from DENORT_BIN=`));

      const bin = `${dir}/${binaryName(VERSION, HOST)}`;
      const archive = archiveName(VERSION, HOST);
      const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.deepEqual(names, [archive, binaryName(VERSION, HOST), "SHA256SUMS"].sort());

      const binary = await Deno.readFile(bin);
      // Every npm package the program loads through lib/npm.ts is embedded (the binary holds its package.json),
      // though no literal import of the program's graph names it: lib/npm_modules.ts is included. A test-only
      // package is not (--exclude-unused-npm).
      const text = new TextDecoder().decode(binary);
      const packages = new Set(
        Object.keys(NPM_MODULES).map((s) => s.split("/").slice(0, s.startsWith("@") ? 2 : 1).join("/")),
      );
      for (const p of packages) assert.ok(text.includes(`"name": "${p}"`), `${p} is not in the binary`);
      assert.ok(!text.includes(`"name": "fast-check"`), "fast-check (a test-only package) is in the binary");
      // Every module the graph cannot see (loaded through a specifier in a variable) is embedded: the binary
      // holds its code, whose module comment's first line the transpiled copy keeps.
      const unseen = ["lib/cli/cli.ts", ...Object.values(LAZY_MODULES).map((s) => `lib/cli/${s}`)];
      for (const m of unseen.map((p) => new URL(p, "file:///").pathname.slice(1))) {
        const line = (await Deno.readTextFile(`${ROOT}${m}`)).split("\n")[1];
        assert.match(line, /^ \* \S/, `${m}: no module comment`);
        assert.ok(text.includes(line), `${m} is not in the binary`);
      }
      const meta = readEmbeddedMetadata(binary);
      assertShippedSandbox(meta.permissions);
      assert.deepEqual(permissionProblems(meta, DEFAULT_SET), []);
      // Built with --cached-only: not even Deno's default import hosts are allowed, and all imports are denied.
      assert.deepEqual(meta.permissions.allow_import, []);
      assert.deepEqual(meta.permissions.deny_import, []);
      assert.deepEqual(meta.argv, []);
      assert.equal(meta.entrypoint_key, ENTRYPOINT);
      assert.equal(meta.app_version, VERSION);
      assert.equal(meta.unsafely_ignore_certificate_errors, null);
      assert.deepEqual(meta.env_vars_from_env_file, {});

      const archiveBytes = await Deno.readFile(`${dir}/${archive}`);
      assert.equal(
        await Deno.readTextFile(`${dir}/SHA256SUMS`),
        `${await sha256Hex(archiveBytes)}  ${archive}\n`,
      );
      const exe = HOST.includes("windows") ? "credproc.exe" : "credproc";
      const entries = await unpack(archive, archiveBytes);
      assert.deepEqual([...entries.keys()], [exe, "README.md", "LICENSE"]);
      assert.equal(entries.get(exe)!.mode, 0o755);
      assert.equal(await sha256Hex(entries.get(exe)!.data), await sha256Hex(binary));
      assert.deepEqual(entries.get("LICENSE")!.data, await Deno.readFile(`${ROOT}LICENSE`));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function inflate(data: Uint8Array, format: CompressionFormat): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream(format),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Reads a release archive (ustar in gzip, or zip) without system tools, so it works on every runner. */
async function unpack(
  name: string,
  bytes: Uint8Array,
): Promise<Map<string, { data: Uint8Array; mode: number }>> {
  const out = new Map<string, { data: Uint8Array; mode: number }>();
  const str = (b: Uint8Array) => new TextDecoder().decode(b).replace(/\0.*$/s, "");
  if (name.endsWith(".tar.gz")) {
    const tar = await inflate(bytes, "gzip");
    for (let off = 0; off + 512 <= tar.length;) {
      const h = tar.subarray(off, off + 512);
      if (h.every((b) => b === 0)) break;
      assert.equal(str(h.subarray(257, 263)), "ustar");
      const size = parseInt(str(h.subarray(124, 136)), 8);
      const mode = parseInt(str(h.subarray(100, 108)), 8);
      out.set(str(h.subarray(0, 100)), { data: tar.slice(off + 512, off + 512 + size), mode });
      off += 512 + Math.ceil(size / 512) * 512;
    }
    return out;
  }
  // zip: walk the central directory from the end-of-central-directory record.
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = bytes.length - 22;
  assert.equal(v.getUint32(eocd, true), 0x06054b50);
  let p = v.getUint32(eocd + 16, true);
  for (let i = 0; i < v.getUint16(eocd + 10, true); i++) {
    assert.equal(v.getUint32(p, true), 0x02014b50);
    const csize = v.getUint32(p + 20, true);
    const nlen = v.getUint16(p + 28, true);
    const elen = v.getUint16(p + 30, true);
    const clen = v.getUint16(p + 32, true);
    const local = v.getUint32(p + 42, true);
    const entryName = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nlen));
    const mode = (v.getUint32(p + 38, true) >>> 16) & 0o7777;
    const dataAt = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    out.set(entryName, { data: await inflate(bytes.subarray(dataAt, dataAt + csize), "deflate-raw"), mode });
    p += 46 + nlen + elen + clen;
  }
  return out;
}

/** A loopback HTTP proxy that refuses every tunnel and records the request lines. */
function refusingProxy() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  const done = (async () => {
    for await (const conn of listener) {
      try {
        const buf = new Uint8Array(8192);
        const n = await conn.read(buf);
        requests.push(new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0]);
        await conn.write(new TextEncoder().encode("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n"));
      } catch { /* the client went away */ }
      conn.close();
    }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    requests,
    async close() {
      listener.close();
      await done.catch(() => {});
    },
  };
}

Deno.test("deno task compile: a base binary that cannot be fetched gives one compile: line, exit 1, no output", async () => {
  // A target other than the host's, so no earlier build on this machine has its denort in DENO_DIR. The download
  // goes to a proxy on loopback that refuses it: nothing outside this machine is resolved or contacted.
  const target = TARGETS.find((t) => t !== HOST)!;
  const proxy = refusingProxy();
  const dir = await Deno.makeTempDir({ prefix: "credproc-compile-" });
  try {
    const r = await runCompile(["--target", target, "--out-dir", dir], {
      DENORT_BIN: undefined,
      HTTPS_PROXY: proxy.url,
      https_proxy: proxy.url,
      HTTP_PROXY: proxy.url,
      http_proxy: proxy.url,
      ALL_PROXY: undefined,
      all_proxy: undefined,
      NO_PROXY: undefined,
      no_proxy: undefined,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.lines.length, 1, r.stderr);
    assert.match(
      r.lines[0],
      new RegExp(
        `^compile: cannot fetch the Deno runtime \\(denort [0-9.]+\\) for ${target} from https://\\S+/denort-${target}\\.zip: .+; .*DENORT_BIN`,
      ),
    );
    assert.ok(
      proxy.requests.length > 0 && proxy.requests.every((l) => /^CONNECT \S+:443 HTTP\/1\.1$/.test(l)),
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing left in the output directory");
  } finally {
    await proxy.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task compile: a DENORT_BIN that does not exist gives one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "credproc-compile-" });
  try {
    const r = await runCompile(["--out-dir", dir, "--no-archive"], { DENORT_BIN: `${dir}/no-such-denort` });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.lines.length, 1, r.stderr);
    assert.match(
      r.lines[0],
      /^compile: Could not find denort at '.*no-such-denort' \(DENORT_BIN\); point DENORT_BIN at a denort /,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task compile: refuses DENORT_BIN for several targets, a tag that is not the version, an unknown target", async () => {
  const several = await runCompile(["--target", TARGETS[0], "--target", TARGETS[1]], {
    DENORT_BIN: Deno.execPath(),
  });
  assert.equal(several.code, 1);
  assert.match(several.stderr, /^compile: DENORT_BIN names one base binary/);
  const tag = await runCompile(["--tag", "v9.9.9"], { DENORT_BIN: Deno.execPath() });
  assert.equal(tag.code, 1);
  assert.equal(
    tag.stderr.trim(),
    `compile: tag v9.9.9 does not match deno.json version ${VERSION} (expected v${VERSION})`,
  );
  const unknown = await runCompile(["--target", "riscv64-unknown-linux-gnu"], {});
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^compile: unknown target riscv64-unknown-linux-gnu/);
});

Deno.test("explainBaseBinaryFailure: the message deno 2.9 prints when the download fails", () => {
  const stderr = [
    "\x1b[0m\x1b[1m\x1b[31merror\x1b[0m: Writing deno compile executable to temporary file '/tmp/x.tmp-12adec8e97336568'",
    "",
    "Caused by:",
    "    0: Setting up base binary.",
    "    1: error sending request for url (https://example.invalid/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known",
    "    2: client error (Connect)",
    "    3: dns error",
    "    4: failed to lookup address information: Name or service not known",
    "",
    "Stack backtrace:",
    "   0: <unknown>",
  ].join("\n");
  const line = explainBaseBinaryFailure(stderr, "x86_64-unknown-linux-gnu")!;
  assert.ok(!line.includes("\n"));
  assert.match(
    line,
    /^compile: cannot fetch the Deno runtime \(denort [0-9.]+\) for x86_64-unknown-linux-gnu from https:\/\/example\.invalid\/release\/v2\.9\.6\/denort-x86_64-unknown-linux-gnu\.zip: failed to lookup address information: Name or service not known; /,
  );
  assert.equal(
    explainBaseBinaryFailure("error: Type checking failed.\n  TS2322 ...", "x86_64-unknown-linux-gnu"),
    undefined,
  );
});

Deno.test("expectedPermissions and remoteImportHostsAllowed follow Deno's list semantics", () => {
  assert.deepEqual(
    expectedPermissions({ read: true, net: ["a.example"], run: false, import: { deny: true } }),
    {
      allow_env: null,
      deny_env: null,
      ignore_env: null,
      allow_net: ["a.example"],
      deny_net: null,
      allow_ffi: null,
      deny_ffi: null,
      allow_read: [],
      deny_read: null,
      ignore_read: null,
      allow_run: null,
      deny_run: null,
      allow_sys: null,
      deny_sys: null,
      allow_write: null,
      deny_write: null,
      deny_import: [],
      prompt: false,
    },
  );
  assert.throws(() => expectedPermissions({ nett: true }), /unknown permission names/);
  const defaults = ["jsr.io:443", "deno.land:443", "esm.sh:443"];
  assert.deepEqual(remoteImportHostsAllowed({ allow_import: defaults, deny_import: null }), defaults);
  assert.deepEqual(remoteImportHostsAllowed({ allow_import: defaults, deny_import: [] }), []);
  assert.deepEqual(
    remoteImportHostsAllowed({ allow_import: defaults, deny_import: ["jsr.io", "esm.sh:443"] }),
    [
      "deno.land:443",
    ],
  );
  assert.deepEqual(remoteImportHostsAllowed({ allow_import: null, deny_import: null }), []);
  assert.deepEqual(
    remoteImportHostsAllowed({ allow_import: [], deny_import: null }),
    ["*"],
    "[] allows every host",
  );
});

Deno.test("permissionProblems names every difference, Deno's default import hosts and baked-in arguments", () => {
  const set = { net: ["a.example"], env: ["AWS_*"], run: false, import: { deny: true } };
  const good = { argv: [], entrypoint_key: "main.ts", permissions: { ...expectedPermissions(set) } };
  good.permissions.allow_import = ["jsr.io:443", "deno.land:443"];
  assert.deepEqual(permissionProblems(good, set), []);
  const bad = {
    argv: ["--role-arn", "x"],
    entrypoint_key: "main.ts",
    permissions: { ...good.permissions, allow_net: [], allow_run: ["sh"], deny_import: null },
  };
  assert.deepEqual(permissionProblems(bad, set), [
    'allow_net: embedded [], deno.json says ["a.example"]',
    'allow_run: embedded ["sh"], deno.json says null',
    "deny_import: embedded null, deno.json says []",
    "remote imports allowed from jsr.io:443, deno.land:443",
    'arguments baked in: ["--role-arn","x"]',
  ]);
});

Deno.test("readEmbeddedMetadata: finds the one section after the magic bytes, refuses none or two", () => {
  const meta = { argv: [], permissions: { prompt: false }, entrypoint_key: "main.ts" };
  const section = (m: unknown) => {
    const json = new TextEncoder().encode(JSON.stringify(m));
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(json.length), true);
    return [
      ...new TextEncoder().encode("d3n0l4nd"),
      ...len,
      ...json,
      ...new TextEncoder().encode("d3n0l4nd"),
    ];
  };
  // The base binary mentions the magic bytes as a string too: such hits are skipped.
  const noise = [...new TextEncoder().encode("xx d3n0l4nd d3n0l4nd{oops yy"), 0, 1, 2];
  assert.deepEqual(readEmbeddedMetadata(new Uint8Array([...noise, ...section(meta), ...noise])), meta);
  assert.throws(() => readEmbeddedMetadata(new Uint8Array(noise)), /no deno compile metadata found/);
  assert.throws(
    () => readEmbeddedMetadata(new Uint8Array([...section(meta), ...section(meta)])),
    /2 metadata candidates/,
  );
});

Deno.test({
  ...ignoreIf(
    "release archives: system tar and Python's zipfile read them (binary 0755, documents 0644, at the root)",
    // Windows runners' tar may be MSYS GNU tar, which takes "C:" for a remote host.
    Deno.build.os === "windows" && "Windows runners' tar takes C: for a remote host",
  ),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "credproc-pack-" });
    try {
      const binary = new TextEncoder().encode("#!/bin/sh\necho fake credproc\n");
      const docs = [
        { name: "README.md", data: new TextEncoder().encode("# readme\n") },
        { name: "LICENSE", data: new TextEncoder().encode("MIT\n") },
      ];
      const env = { PATH: Deno.env.get("PATH") ?? "" };

      const tgz = `${dir}/a.tar.gz`;
      await Deno.writeFile(tgz, await packTarget("x86_64-unknown-linux-gnu", binary, docs));
      const listed = await runProcess("tar", ["-tvzf", tgz], env);
      assert.equal(listed.code, 0, listed.stderr);
      const rows = listed.stdout.trim().split("\n");
      assert.deepEqual(rows.map((l) => l.split(/\s+/).at(-1)), ["credproc", "README.md", "LICENSE"]);
      assert.match(rows[0], /^-rwxr-xr-x /);
      assert.match(rows[1], /^-rw-r--r-- /);
      await Deno.mkdir(`${dir}/t`);
      assert.equal((await runProcess("tar", ["-xzf", tgz, "-C", `${dir}/t`], env)).code, 0);
      assert.deepEqual(await Deno.readFile(`${dir}/t/credproc`), binary);
      assert.equal(await Deno.readTextFile(`${dir}/t/LICENSE`), "MIT\n");

      // Read the zip with Python's zipfile, an implementation independent of ours.
      const zipPath = `${dir}/a.zip`;
      await Deno.writeFile(zipPath, await packTarget("x86_64-pc-windows-msvc", binary, docs));
      const py = await runProcess("python3", [
        "-c",
        "import sys,zipfile,json\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n" +
        "print(json.dumps([[i.filename, i.external_attr >> 16, z.read(i).decode()] for i in z.infolist()]))",
        zipPath,
      ], env);
      assert.equal(py.code, 0, py.stderr);
      assert.deepEqual(JSON.parse(py.stdout), [
        ["credproc.exe", 0o100755, "#!/bin/sh\necho fake credproc\n"],
        ["README.md", 0o100644, "# readme\n"],
        ["LICENSE", 0o100644, "MIT\n"],
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("sha256sums writes what sha256sum writes", async () => {
  const files = [
    { name: "b.tar.gz", data: new TextEncoder().encode("bbb") },
    { name: "a.zip", data: new TextEncoder().encode("") },
  ];
  assert.equal(
    await sha256sums(files),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.zip\n" +
      "3e744b9dc39389baf0c5a0660589b8402f3dbb49b89b3e75f2c9355852a3c677  b.tar.gz\n",
  );
});

Deno.test({
  ...ignoreIf(
    "CREDPROC_BIN: the release binary under test embeds exactly deno.json's default set",
    CREDPROC_BIN === undefined && "CREDPROC_BIN is not set: no release binary under test",
  ),
  fn: async () => {
    const meta = await readEmbeddedMetadataFile(CREDPROC_BIN!);
    assertShippedSandbox(meta.permissions);
    assert.deepEqual(permissionProblems(meta, DEFAULT_SET), []);
    assert.equal(meta.app_version, VERSION);
  },
});

Deno.test("credproc --version prints the version, the Deno version and the target", async () => {
  await using home = await tempHome();
  const r = await runCredproc(["--version"], home.env());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, `credproc ${VERSION} (deno ${Deno.version.deno}, ${HOST})\n`);
});
