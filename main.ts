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
import { currentUid } from "./lib/cache/dir.ts";
import { outputErrorReason, writeAll, writeAllSync } from "./lib/output.ts";

/** Not a literal: keeps the full program out of the start-up module graph (see above). */
const FULL_PROGRAM = "./lib/cli/cli.ts";

function getEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (e) {
    // Refused by the sandbox: reads as unset. Anything else (a value that is not valid UTF-8) is passed on,
    // so that the full program reports it as bad input rather than silently ignoring the variable.
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) return undefined;
    throw e;
  }
}

function writeErr(line: string): void {
  try {
    writeAllSync(Deno.stderr, `${line}\n`);
  } catch {
    // stderr closed: the exit code still tells the caller.
  }
}

/** Proxy variables Deno's fetch honours by itself (outside `--allow-net`): credproc decides them here. */
const PLAIN_PROXY_VARS = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/**
 * Before the first request: a plain-http request never goes through a proxy (it would carry a signed request
 * and its answer in clear, to a host the allow list never saw), so HTTP_PROXY and ALL_PROXY are dropped;
 * HTTPS_PROXY stays (a CONNECT tunnel, TLS end to end to AWS); loopback and metadata addresses are always
 * direct (`direct`, lib/sandbox.ts's `DIRECT_HOSTS`, added to NO_PROXY). Deno's fetch reads these variables when
 * it makes its first request.
 */
function pinProxies(direct: readonly string[]): void {
  try {
    for (const name of PLAIN_PROXY_VARS) Deno.env.delete(name);
    const user = [Deno.env.get("NO_PROXY"), Deno.env.get("no_proxy")].filter((v) => v).join(",");
    Deno.env.delete("no_proxy");
    Deno.env.set("NO_PROXY", [user, ...direct].filter((v) => v).join(","));
  } catch {
    // Refused by a narrower sandbox than deno.json's: then no proxy variable can be read by fetch either.
  }
}

if (import.meta.main) {
  // argv is read once, by lib/argv.ts, on both paths (a leading `--`, bytes that are not UTF-8: see there).
  const text = await fastPath({
    argv: Deno.args,
    getEnv,
    cwd: Deno.cwd(),
    os: Deno.build.os,
    uid: currentUid(),
    now: Date.now(),
  });
  if (text !== undefined) {
    try {
      writeAllSync(Deno.stdout, text);
    } catch (e) {
      // A full device or a closed pipe: one line, exit 1, as on the full path (lib/cli/cli.ts).
      writeErr(`credproc: stdout: cannot write the credentials: ${outputErrorReason(e)}`);
      Deno.exit(1);
    }
    Deno.exit(0);
  }
  const cli = await import(FULL_PROGRAM) as typeof import("./lib/cli/cli.ts");
  // Loading the program makes no request: the proxy variables are settled before its first one.
  pinProxies(cli.DIRECT_HOSTS);
  // Nothing may escape as a stack trace: late rejections from SDK internals end the process the same way.
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    Deno.exit(cli.reportUncaught(ev.reason, writeErr));
  });
  Deno.exit(
    await cli.cli(Deno.args, {
      getEnv,
      cwd: Deno.cwd(),
      out: (text) => writeAll(Deno.stdout, text),
      err: writeErr,
      captureConsole: true,
    }, cli.realDeps()),
  );
}
