/**
 * `deno task compile`: builds the release binaries with `deno compile` under the `default` permission set,
 * packs each with README.md and LICENSE, and writes SHA256SUMS.
 *
 *   deno task compile [--host | --target TRIPLE...] [--out-dir DIR] [--tag vX.Y.Z] [--no-archive]
 *                     [--bundle] [--minify] [--no-code-cache]
 *   deno task compile sums DIR          (re)writes DIR/SHA256SUMS over every file in DIR
 *
 * Without --target it builds all five release targets (cross-compiling: `deno compile` downloads the
 * `denort` base binary for each one); --host builds this machine's target only. With DENORT_BIN set, that
 * file is the base binary: `deno compile` uses it for any --target, so this script then builds one target
 * only (the host's unless --target says otherwise). When a base binary cannot be fetched, it prints one
 * `compile:` line and exits 1. Each binary's embedded permissions are read back and must match deno.json.
 *
 * Outputs in DIR (default dist/): `credproc-<version>-<target>[.exe]`, `credproc-<version>-<target>.tar.gz`
 * (`.zip` for Windows) holding `credproc[.exe]`, `README.md` and `LICENSE` at its root, and `SHA256SUMS`
 * over the archives (the format `sha256sum` writes).
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { type Entry, sha256sums, tarGz, zip } from "./archive.ts";
import { permissionProblems, readEmbeddedMetadata } from "./embedded_metadata.ts";
import { LAZY_MODULES } from "../lib/cli/lazy.ts";

export const ROOT = fileURLToPath(new URL("../", import.meta.url));

export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;
export type Target = typeof TARGETS[number];

/**
 * Size/startup switches of `deno compile` used for releases. Set from `deno task bench` on the compiled
 * binary; until a benchmark run on a machine that can fetch `denort` says otherwise, none is used (the
 * defaults are the supported path: `--bundle`/`--minify` are experimental; V8's code cache stays on).
 * Measured here: `--bundle` shrinks the binary by 4.4 MB (104.0 → 99.6 MB), `--minify` by 0.7 MB more;
 * startup could not be measured (no runnable base binary on this machine).
 */
export const RELEASE_TUNING: readonly string[] = [];

/**
 * The program's entry point, and modules the module graph cannot see that must be embedded too: main.ts
 * imports the full program through a non-literal specifier (the fast path), so lib/cli/cli.ts must be included,
 * and so must the modules it loads the same way for the commands that need them (`LAZY_MODULES`,
 * lib/cli/lazy.ts); the full program loads every npm module through a specifier in a variable too
 * (lib/npm.ts), so their list, lib/npm_modules.ts, is included for `--exclude-unused-npm` to keep their packages
 * (without it the binary would hold none). tests/release/compile_test.ts checks that the binary holds each.
 */
export const ENTRYPOINT = "main.ts";
export const INCLUDES: readonly string[] = [
  "lib/cli/cli.ts",
  ...Object.values(LAZY_MODULES).map((s) => new URL(s, "file:///lib/cli/").pathname.slice(1)),
  "lib/npm_modules.ts",
];

export function isWindows(target: string): boolean {
  return target.includes("windows");
}

export function binaryName(version: string, target: string): string {
  return `credproc-${version}-${target}${isWindows(target) ? ".exe" : ""}`;
}

export function archiveName(version: string, target: string): string {
  return `credproc-${version}-${target}${isWindows(target) ? ".zip" : ".tar.gz"}`;
}

export async function readVersion(root = ROOT): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  if (typeof config.version !== "string" || !/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(config.version)) {
    throw new Error(`deno.json "version" must be X.Y.Z, got ${JSON.stringify(config.version)}`);
  }
  return config.version;
}

/**
 * The `deno compile` argv for one target: the `default` permission set, no prompt, lockfile frozen, unused npm
 * packages left out.
 */
export function compileArgs(
  target: string,
  output: string,
  tuning: readonly string[] = RELEASE_TUNING,
): string[] {
  return [
    "compile",
    "-q",
    "-P",
    "--no-prompt",
    "--frozen",
    // Modules come from the cache `deno task setup` filled (main() runs it first): the build never resolves a
    // package against the registry on its own, so a fresh cache is one clear step, not a silent download.
    "--cached-only",
    // Only the npm packages the program's module graph reaches (package granularity): without it, test-only
    // packages from deno.json's imports (fast-check, pure-rand: 1.5 MB) ship inside the binary.
    "--exclude-unused-npm",
    "--config",
    `${ROOT}deno.json`,
    "--target",
    target,
    "--output",
    output,
    ...INCLUDES.flatMap((m) => ["--include", `${ROOT}${m}`]),
    ...tuning,
    `${ROOT}${ENTRYPOINT}`,
  ];
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * One line for a failed `deno compile`, or undefined when the failure is not about the base binary.
 * Deno 2.9 says, for a download it cannot make:
 *   error: Writing deno compile executable to temporary file '…'
 *   Caused by:
 *       0: Setting up base binary.
 *       1: error sending request for url (https://…/denort-<target>.zip): client error (Connect): dns error: …
 * and for a DENORT_BIN that does not exist: `0: Could not find denort at '<path>'`.
 */
export function explainBaseBinaryFailure(stderr: string, target: string): string | undefined {
  const text = stderr.replace(ANSI, "").split(/^Stack backtrace:/m)[0];
  const causes = [...text.matchAll(/^\s*\d+: (.*)$/gm)].map((m) => m[1].trim());
  const missing = causes.find((c) => c.startsWith("Could not find denort at"));
  if (missing) {
    return `compile: ${missing} (DENORT_BIN); point DENORT_BIN at a denort ${Deno.version.deno} binary for ${target}`;
  }
  if (!causes.some((c) => /base binary/i.test(c)) && !/denort-/.test(text)) return undefined;
  const url = /url \((\S+?)\)/.exec(text)?.[1];
  const reason = causes.at(-1) ?? "unknown error";
  const from = url ? ` from ${url}` : "";
  return `compile: cannot fetch the Deno runtime (denort ${Deno.version.deno}) for ${target}${from}: ${reason}; ` +
    `build where it can be downloaded, or set DENORT_BIN to a local denort binary for ${target} ` +
    `and pass --target ${target}`;
}

export interface CompileResult {
  ok: boolean;
  /** The line to print on failure. */
  message?: string;
  /** deno compile's own stderr, for failures that are not about the base binary. */
  stderr?: string;
}

export async function compileTarget(
  target: string,
  output: string,
  tuning: readonly string[] = RELEASE_TUNING,
): Promise<CompileResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(target, output, tuning),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return { ok: true };
  const stderr = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  const line = explainBaseBinaryFailure(stderr, target);
  if (line) return { ok: false, message: line };
  return { ok: false, message: `compile: deno compile failed for ${target} (exit ${out.code})`, stderr };
}

/** Packs one binary with the documents into its release archive and returns the archive's bytes. */
export async function packTarget(
  target: string,
  binary: Uint8Array,
  docs: { name: string; data: Uint8Array }[],
): Promise<Uint8Array> {
  const entries: Entry[] = [
    { name: isWindows(target) ? "credproc.exe" : "credproc", data: binary, mode: 0o755 },
    ...docs.map((d) => ({ ...d, mode: 0o644 })),
  ];
  return isWindows(target) ? await zip(entries) : await tarGz(entries);
}

/** Writes DIR/SHA256SUMS over the regular files in DIR (all but itself, or those `keep` accepts). */
export async function writeSums(dir: string, keep: (name: string) => boolean = () => true): Promise<string> {
  const files: { name: string; data: Uint8Array }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || e.name === "SHA256SUMS" || !keep(e.name)) continue;
    files.push({ name: e.name, data: await Deno.readFile(`${dir}/${e.name}`) });
  }
  const text = await sha256sums(files);
  await Deno.writeTextFile(`${dir}/SHA256SUMS`, text);
  return text;
}

function fail(line: string, code = 1): never {
  console.error(line);
  Deno.exit(code);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: "string", multiple: true },
      host: { type: "boolean", default: false },
      "out-dir": { type: "string", default: "dist" },
      tag: { type: "string" },
      "no-archive": { type: "boolean", default: false },
      bundle: { type: "boolean", default: false },
      minify: { type: "boolean", default: false },
      "no-code-cache": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno task compile [--host | --target TRIPLE...] [--out-dir DIR] [--tag vX.Y.Z] [--no-archive]",
    );
    console.log("                         [--bundle] [--minify] [--no-code-cache]");
    console.log("       deno task compile sums DIR");
    return;
  }
  if (positionals[0] === "sums") {
    if (positionals.length !== 2) fail("compile: usage: compile.ts sums DIR", 2);
    const text = await writeSums(positionals[1]);
    const n = text.split("\n").length - 1;
    console.log(`wrote ${positionals[1]}/SHA256SUMS (${n} file${n === 1 ? "" : "s"})`);
    return;
  }
  if (positionals.length > 0) fail(`compile: unexpected argument ${positionals[0]}`, 2);

  const version = await readVersion();
  if (values.tag !== undefined && values.tag !== `v${version}`) {
    fail(`compile: tag ${values.tag} does not match deno.json version ${version} (expected v${version})`);
  }
  const host = Deno.build.target;
  const denort = Deno.env.get("DENORT_BIN");
  if (values.host && values.target) fail("compile: pass --host or --target, not both", 2);
  let targets: string[] = values.host ? [host] : values.target ?? (denort ? [host] : [...TARGETS]);
  for (const t of targets) {
    if (!(TARGETS as readonly string[]).includes(t)) {
      fail(`compile: unknown target ${t} (one of ${TARGETS.join(", ")})`, 2);
    }
  }
  targets = [...new Set(targets)];
  if (denort && targets.length > 1) {
    fail(
      "compile: DENORT_BIN names one base binary, which deno compile would use for every target; pass one --target",
    );
  }
  if (denort) console.log(`compile: base binary for ${targets[0]} from DENORT_BIN=${denort}`);
  const setup = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "--config", `${ROOT}deno.json`, "setup"],
    stdin: "null",
  }).spawn().status;
  if (!setup.success) fail("compile: caching the program's modules failed (deno task setup, above)");

  const tuning = [...RELEASE_TUNING];
  if (values.bundle) tuning.push("--bundle");
  if (values.minify) tuning.push("--minify");
  if (values["no-code-cache"]) tuning.push("--no-code-cache");
  const uniqueTuning = [...new Set(tuning)];

  const permissionSet = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).permissions.default;
  const outDir = resolve(values["out-dir"]);
  await Deno.mkdir(outDir, { recursive: true });
  let docs: { name: string; data: Uint8Array }[] = [];
  if (!values["no-archive"]) {
    try {
      docs = await Promise.all(
        ["README.md", "LICENSE"].map(async (name) => ({ name, data: await Deno.readFile(`${ROOT}${name}`) })),
      );
    } catch (e) {
      fail(`compile: cannot read the documents to pack: ${e instanceof Error ? e.message : e}`);
    }
  }

  const archives: string[] = [];
  for (const target of targets) {
    const output = `${outDir}/${binaryName(version, target)}`;
    const started = performance.now();
    const result = await compileTarget(target, output, uniqueTuning);
    if (!result.ok) {
      if (result.stderr) console.error(result.stderr.trimEnd());
      fail(result.message ?? `compile: failed for ${target}`);
    }
    const binary = await Deno.readFile(output);
    // The shipped sandbox must be the tested one: read it back from the binary before packing it.
    let problems: string[];
    try {
      problems = permissionProblems(readEmbeddedMetadata(binary), permissionSet);
    } catch (e) {
      problems = [e instanceof Error ? e.message : String(e)];
    }
    if (problems.length > 0) {
      await Deno.remove(output);
      fail(
        `compile: ${output}: embedded permissions differ from deno.json's "default" set: ${
          problems.join("; ")
        }`,
      );
    }
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`built ${output} (${(binary.length / 1e6).toFixed(1)} MB, ${secs} s)`);
    if (values["no-archive"]) continue;
    const name = archiveName(version, target);
    await Deno.writeFile(`${outDir}/${name}`, await packTarget(target, binary, docs));
    archives.push(name);
    console.log(`packed ${outDir}/${name}`);
  }
  if (archives.length > 0) {
    // Every archive of this version in DIR, so targets built one run at a time add up.
    const ours = (n: string) => TARGETS.some((t) => n === archiveName(version, t));
    const text = await writeSums(outDir, ours);
    const n = text.split("\n").length - 1;
    console.log(`wrote ${outDir}/SHA256SUMS (${n} archive${n === 1 ? "" : "s"})`);
  }
}

if (import.meta.main) {
  await main(Deno.args);
}
