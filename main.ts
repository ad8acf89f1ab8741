/**
 * credproc's entry point, and the only module that touches Deno.args, the environment, stdout and the exit
 * code. A repeated call is answered from the cache by the fast path (lib/fast_path.ts) before the full program
 * (lib/cli/cli.ts: flag parser, shared-config loader, SDK) is even loaded; anything else runs the full program.
 *
 * The full program is imported through a specifier in a variable, on purpose: `deno run` prepares the whole
 * graph of every literal import — dynamic ones too — at start-up, which costs a hit about 40 % more than the
 * fast path itself. `deno compile` must therefore be told to embed it: `--include lib/cli/cli.ts`
 * (scripts/compile.ts does).
 */
import { fastPath } from "./lib/fast_path.ts";

/** Not a literal: keeps the full program out of the start-up module graph (see above). */
const FULL_PROGRAM = "./lib/cli/cli.ts";

const encoder = new TextEncoder();

function getEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // refused by the sandbox: reads as unset
  }
}

function uid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

function writeOut(text: string): void {
  const bytes = encoder.encode(text);
  for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
}

function writeErr(line: string): void {
  const bytes = encoder.encode(`${line}\n`);
  for (let off = 0; off < bytes.length;) off += Deno.stderr.writeSync(bytes.subarray(off));
}

if (import.meta.main) {
  // `deno task credproc -- --version` passes the `--` on: a leading one separates nothing here.
  const argv = Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args;
  const text = await fastPath({
    argv,
    getEnv,
    cwd: Deno.cwd(),
    os: Deno.build.os,
    uid: uid(),
    now: Date.now(),
  });
  if (text !== undefined) {
    writeOut(text);
    Deno.exit(0);
  }
  const cli = await import(FULL_PROGRAM) as typeof import("./lib/cli/cli.ts");
  // Nothing may escape as a stack trace: late rejections from SDK internals end the process the same way.
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    Deno.exit(cli.reportUncaught(ev.reason, writeErr));
  });
  const out = async (t: string) => {
    const bytes = encoder.encode(t);
    for (let off = 0; off < bytes.length;) off += await Deno.stdout.write(bytes.subarray(off));
  };
  Deno.exit(await cli.cli(argv, { getEnv, cwd: Deno.cwd(), out, err: writeErr, homeDir: cli.osHomeDir }));
}
