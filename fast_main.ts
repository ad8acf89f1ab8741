/**
 * credproc's entry point with the cache fast path: a repeated call is answered from the cache before the
 * full program (flag parser, shared-config loader, SDK) is even loaded; anything else runs `main.ts` as usual.
 * See lib/fast_path.ts for what is checked. Like main.ts, it is an I/O edge: it reads Deno.args, the
 * environment and the clock, writes stdout and exits.
 *
 * The full program is imported through a specifier in a variable, on purpose: `deno run` prepares the whole
 * graph of every statically analyzable import — dynamic ones too — at start-up, which costs a hit about 40 %
 * more than the fast path itself. `deno compile` must therefore be told to embed it: `--include main.ts`.
 */
import { fastPath } from "./lib/fast_path.ts";

/** Not a literal: keeps the full program out of the start-up module graph (see above). */
const FULL_PROGRAM = "./main.ts";

function uid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

if (import.meta.main) {
  const text = await fastPath({
    argv: Deno.args,
    getEnv: (name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined;
      }
    },
    cwd: Deno.cwd(),
    os: Deno.build.os,
    uid: uid(),
    now: Date.now(),
  });
  if (text !== undefined) {
    const bytes = new TextEncoder().encode(text);
    for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
    Deno.exit(0);
  }
  const { main } = await import(FULL_PROGRAM) as typeof import("./main.ts");
  Deno.exit(await main(Deno.args));
}
