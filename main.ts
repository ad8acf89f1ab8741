/**
 * credproc's entry point: the only module that touches Deno.args, the environment, stdout and the exit code.
 * parse → plan → provider → credentials → text on stdout.
 */
import { type Command, parseCommand } from "./lib/args.ts";
import { chainProvider } from "./lib/chain.ts";
import { CredprocError } from "./lib/errors.ts";
import { loadPolicy, loadToken } from "./lib/inputs.ts";
import { createLogger, type Logger } from "./lib/log.ts";
import { createMfaCodeSource } from "./lib/mfa.ts";
import { render } from "./lib/output.ts";
import { type Env, ENV_NAMES, planFromFlags } from "./lib/plan.ts";
import { sourceProvider } from "./lib/sources.ts";
import { createStsCaller } from "./lib/sts.ts";
import { USAGE } from "./lib/usage.ts";
import { VERSION } from "./lib/version.ts";

const encoder = new TextEncoder();

async function writeAll(stream: { write(p: Uint8Array): Promise<number> }, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  for (let off = 0; off < bytes.length;) off += await stream.write(bytes.subarray(off));
}

function writeErr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(`${line}\n`));
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
    case "cacheClear":
      return "";
    case "assume": {
      const { options } = command;
      const env = snapshotEnv(options.webIdentity?.kind === "env" ? [options.webIdentity.name] : []);
      const plan = planFromFlags(options, env, new Date());
      const timeoutMs = options.timeoutSeconds * 1000;
      const read = (path: string) => Deno.readTextFile(path);
      const provider = chainProvider(plan, {
        sts: createStsCaller({
          ...plan.endpoint,
          timeoutMs,
          maxAttempts: 3,
          retryMode: "standard",
        }, log),
        source: sourceProvider(plan.source, timeoutMs),
        mfaCode: createMfaCodeSource({
          tokenCode: options.tokenCode,
          envCode: env.CREDPROC_MFA_TOKEN_CODE,
          timeoutMs: options.mfaTimeoutSeconds * 1000,
          log,
        }),
        loadPolicy: (p) => loadPolicy(p, read),
        loadToken: (t) => loadToken(t, read, env),
        log,
      });
      return render(await provider(), plan.format);
    }
    default: {
      const unreachable: never = command;
      throw new Error(`unhandled command ${JSON.stringify(unreachable)}`);
    }
  }
}

async function main(argv: readonly string[]): Promise<number> {
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
