/**
 * credproc's entry point: the only module that touches Deno.args, the environment, stdout and the exit code.
 * parse → plan → provider → credentials → text on stdout.
 */
import { type Command, parseCommand } from "./lib/args.ts";
import { cachePlanProvider, checkNamedCacheDir, clearCache } from "./lib/cache.ts";
import { resolveCacheDir } from "./lib/cache_dir.ts";
import { chainProvider } from "./lib/chain.ts";
import { loadSharedConfig, sharedConfigPaths } from "./lib/config_files.ts";
import { CredprocError } from "./lib/errors.ts";
import { loadPolicy, loadToken } from "./lib/inputs.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { createMfaCodeSource } from "./lib/mfa.ts";
import { render } from "./lib/output.ts";
import { type Env, ENV_NAMES, resolveRetry } from "./lib/plan.ts";
import { resolvePlan } from "./lib/profile.ts";
import { createTerminalPrompt } from "./lib/prompt.ts";
import { sourceProvider } from "./lib/sources.ts";
import { createStsCaller } from "./lib/sts.ts";
import { USAGE } from "./lib/usage.ts";
import { VERSION } from "./lib/version.ts";

const encoder = new TextEncoder();

async function writeAll(stream: { write(p: Uint8Array): Promise<number> }, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  for (let off = 0; off < bytes.length;) off += await stream.write(bytes.subarray(off));
}

/** Control and bidi characters from user input (paths, values) are shown escaped: one line, no terminal tricks. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
const ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function writeErr(line: string): void {
  const safe = line.replace(
    UNPRINTABLE,
    (c) => ESCAPES[c] ?? `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`,
  );
  Deno.stderr.writeSync(encoder.encode(`${safe}\n`));
}

/** Reads the variables credproc uses, once; a variable the sandbox refuses reads as unset. */
function snapshotEnv(extra: readonly string[]): Env {
  const env: Record<string, string | undefined> = {};
  for (const name of [...ENV_NAMES, ...extra]) {
    try {
      env[name] = Deno.env.get(name);
    } catch {
      env[name] = undefined;
    }
  }
  return env;
}

async function run(command: Command, log: Logger): Promise<string> {
  switch (command.kind) {
    case "help":
      return USAGE;
    case "version":
      return `credproc ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})\n`;
    case "cacheClear": {
      const cacheEnv = snapshotEnv([]);
      await checkNamedCacheDir(command.cacheDir, cacheEnv);
      const dir = resolveCacheDir(command.cacheDir, cacheEnv, Deno.build.os);
      if (dir === undefined) {
        throw new CredprocError("cache clear", "no cache directory (set HOME or --cache-dir)", 2);
      }
      const { removed, inUse } = await clearCache(dir, createLogger(command.verbose, writeErr));
      return `credproc: removed ${removed} cache entr${removed === 1 ? "y" : "ies"} from ${dir}${
        inUse ? ` (${inUse} lock${inUse === 1 ? "" : "s"} in use left)` : ""
      }\n`;
    }
    case "assume": {
      const { options } = command;
      const env = snapshotEnv(options.webIdentity?.kind === "env" ? [options.webIdentity.name] : []);
      const plan = resolvePlan(options, env, await loadSharedConfig(sharedConfigPaths(env)), new Date());
      if (plan.profiles) log.debug(`profiles: ${plan.profiles.join(" → ")}`);
      const timeoutMs = options.timeoutSeconds * 1000;
      const read = (path: string) => Deno.readTextFile(path);
      const provider = chainProvider(plan, {
        sts: createStsCaller({
          ...plan.endpoint,
          timeoutMs,
          ...resolveRetry(env),
        }, log),
        source: sourceProvider(plan.source, timeoutMs),
        mfaCode: createMfaCodeSource({
          tokenCode: options.tokenCode,
          envCode: env.CREDPROC_MFA_TOKEN_CODE,
          timeoutMs: options.mfaTimeoutSeconds * 1000,
          prompt: createTerminalPrompt(),
          log,
        }),
        loadPolicy: (p) => loadPolicy(p, read),
        loadToken: (t) => loadToken(t, read, env),
        log,
      });
      const cached = await cachePlanProvider(provider, {
        plan,
        env,
        options,
        loadPolicy: (p) => loadPolicy(p, read),
        log,
        warn: (message) => writeErr(log.scrub(`credproc: warning: ${message}`)),
        inputs: { argv: Deno.args, cwd: Deno.cwd(), files: Object.values(sharedConfigPaths(env)) },
      });
      return render(await cached(), plan.format);
    }
    default: {
      const unreachable: never = command;
      throw new Error(`unhandled command ${JSON.stringify(unreachable)}`);
    }
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  let log = createLogger(false, writeErr);
  try {
    const command = parseCommand(argv);
    log = createLogger(command.kind === "assume" ? command.options.verbose : false, writeErr);
    const text = await run(command, log);
    await writeAll(Deno.stdout, text);
    return 0;
  } catch (e) {
    return report(e, log);
  }
}

function report(e: unknown, log: Logger): number {
  if (e instanceof CredprocError) {
    writeErr(log.scrub(`credproc: ${e.what}: ${e.message}`));
    if (e.hint) writeErr(log.scrub(`hint: ${e.hint}`));
    return e.exitCode;
  }
  const message = e instanceof Error ? e.message : String(e);
  writeErr(log.scrub(`credproc: internal error: ${message.replace(/\s+/g, " ")}`));
  return 1;
}

// Nothing may escape as a stack trace: late rejections from SDK internals end the process the same way.
globalThis.addEventListener("unhandledrejection", (ev) => {
  ev.preventDefault();
  Deno.exit(report(ev.reason, createLogger(false, writeErr)));
});

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
