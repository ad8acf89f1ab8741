/**
 * `deno task install [--prefix DIR]`: credproc from source, for people with Deno and no release binary. Caches
 * every module the program can load (`deno task setup`: the only step that uses the network), then writes a
 * launcher `DIR/bin/credproc` (default DIR: `~/.local`) that runs this checkout's main.ts under the shipping
 * permission set. The launcher pins everything it depends on, so it works from any directory and in any
 * environment a `credential_process` runs in, HOME or not: the absolute path of the real `deno` executable, the
 * project's deno.json, and the Deno cache filled here. It runs with `--cached-only` (a missing module is an
 * error, never a download) and `--no-prompt` (a refused permission is an error, never a question).
 *
 * Why a launcher and not `deno install -g`: the script `deno install -g` writes runs whatever `deno` is first
 * on PATH, leaves the permission set and the lock file behind, and finds its cache through HOME.
 */
const ROOT = new URL("../", import.meta.url).pathname;

function usage(message: string): never {
  console.error(`install: ${message}`);
  console.error("usage: deno task install [--prefix DIR]   (writes DIR/bin/credproc; default DIR: ~/.local)");
  Deno.exit(2);
}

/** A word for `sh`, single-quoted. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** The launcher's text: every path absolute, every flag that keeps the run offline and unprompted. */
export function launcher(deno: string, root: string, denoDir: string): string {
  return [
    "#!/bin/sh",
    "# credproc from source, written by `deno task install` (scripts/install_source.ts). Runs main.ts under the",
    "# permission set in deno.json, from the Deno cache filled at install time: no download, no prompt.",
    `DENO_DIR=${shellQuote(denoDir)} DENO_NO_UPDATE_CHECK=1 exec ${
      shellQuote(deno)
    } run -q -P --no-prompt \\`,
    `  --cached-only --frozen --config ${shellQuote(`${root}deno.json`)} ${
      shellQuote(`${root}main.ts`)
    } "$@"`,
    "",
  ].join("\n");
}

async function denoDir(deno: string): Promise<string> {
  const out = await new Deno.Command(deno, { args: ["info", "--json"], stdin: "null", stderr: "inherit" })
    .output();
  const dir = out.success ? JSON.parse(new TextDecoder().decode(out.stdout)).denoDir : undefined;
  if (typeof dir !== "string" || dir === "") {
    console.error("install: cannot tell where the Deno cache is (`deno info --json` gave no denoDir)");
    Deno.exit(1);
  }
  return dir;
}

async function main(argv: readonly string[]): Promise<void> {
  let prefix: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--prefix" && i + 1 < argv.length) prefix = argv[++i];
    else if (argv[i].startsWith("--prefix=")) prefix = argv[i].slice("--prefix=".length);
    else usage(`unexpected argument ${JSON.stringify(argv[i])}`);
  }
  if (Deno.build.os === "windows") {
    console.error("install: the launcher is a POSIX shell script; on Windows use the release binary");
    Deno.exit(1);
  }
  const home = Deno.env.get("HOME");
  prefix ??= home ? `${home}/.local` : undefined;
  if (prefix === undefined || prefix === "") usage("HOME is unset: name the place with --prefix DIR");
  const deno = Deno.realPathSync(Deno.execPath());
  const setup = await new Deno.Command(deno, { args: ["task", "-q", "setup"], cwd: ROOT, stdin: "null" })
    .spawn().status;
  if (!setup.success) {
    console.error("install: caching the program's modules failed (`deno task setup`, above)");
    Deno.exit(1);
  }
  const bin = `${prefix.replace(/\/+$/, "")}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  const path = `${bin}/credproc`;
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temp, launcher(deno, ROOT, await denoDir(deno)), { mode: 0o755 });
  await Deno.chmod(temp, 0o755);
  await Deno.rename(temp, path);
  console.log(`installed ${path}`);
  const onPath = (Deno.env.get("PATH") ?? "").split(":").includes(bin);
  if (!onPath) console.log(`add ${bin} to PATH, or name ${path} in credential_process`);
  console.log(`try: credproc --version`);
}

if (import.meta.main) await main(Deno.args);
