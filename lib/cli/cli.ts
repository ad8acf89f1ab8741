/**
 * The full program behind main.ts: parse → plan → provider → credentials → text. It gets argv, the
 * environment and its two output streams from the caller ({@link CliIo}) and returns the exit code, so
 * main.ts stays the only module that touches Deno.args, stdout and Deno.exit.
 */
import { homedir } from "node:os";
import { type Command, parseCommand } from "./args.ts";
import { cachePlanProvider, checkNamedCacheDir, clearCache, mfaSessionCache } from "../cache/wrapper.ts";
import { resolveCacheDir } from "../cache/dir.ts";
import { chainProvider } from "../providers/chain.ts";
import { loadSharedConfig, sharedConfigPaths } from "../plan/shared_config.ts";
import { CredprocError } from "../errors.ts";
import { loadPolicy, loadToken } from "../plan/referenced_files.ts";
import { createLogger, type Logger } from "../log.ts";
import { createMfaCodeSource } from "../providers/mfa.ts";
import { render } from "../output.ts";
import { type Env, ENV_NAMES, type PolicySource } from "../model.ts";
import { resolveRetry } from "../plan/endpoint.ts";
import { resolvePlan } from "../plan/planner.ts";
import { createTerminalPrompt } from "../providers/prompt.ts";
import { sourceProvider } from "../providers/sources.ts";
import { createStsCaller } from "../providers/sts.ts";
import { USAGE } from "./usage.ts";
import { VERSION } from "./version.ts";

/** What the program reads from and writes to the outside world; main.ts passes the real ones. */
export interface CliIo {
  /** Reads one environment variable; `undefined` when unset or refused by the sandbox. */
  readonly getEnv: (name: string) => string | undefined;
  readonly cwd: string;
  /** Writes the program's output (stdout: the credentials, help, version). */
  readonly out: (text: string) => Promise<void>;
  /** Writes one diagnostic line (stderr), newline added. */
  readonly err: (line: string) => void;
  /** The account's home directory from the OS, for when HOME is unset; `undefined` when unknown. */
  readonly homeDir?: () => string | undefined;
}

/** Control and bidi characters from user input (paths, values) are shown escaped: one line, no terminal tricks. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;
const ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** One diagnostic line made safe to print: control characters escaped. */
export function printable(line: string): string {
  return line.replace(
    UNPRINTABLE,
    (c) => ESCAPES[c] ?? `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`,
  );
}

/** The account's home directory as the OS knows it (what the SDK falls back to without HOME). */
export function osHomeDir(): string | undefined {
  try {
    return homedir() || undefined;
  } catch {
    return undefined; // refused by the sandbox, or no account entry
  }
}

/** Reads the variables credproc uses, once. */
function snapshotEnv(io: CliIo, extra: readonly string[]): Env {
  const env: Record<string, string | undefined> = {};
  for (const name of [...ENV_NAMES, ...extra]) env[name] = io.getEnv(name);
  return env;
}

async function run(command: Command, argv: readonly string[], io: CliIo, log: Logger): Promise<string> {
  const writeErr = (line: string) => io.err(printable(line));
  switch (command.kind) {
    case "help":
      return USAGE;
    case "version":
      return `credproc ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})\n`;
    case "cacheClear": {
      const cacheEnv = snapshotEnv(io, []);
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
      const env = snapshotEnv(io, options.webIdentity?.kind === "env" ? [options.webIdentity.name] : []);
      const configPaths = sharedConfigPaths(env, io.homeDir?.());
      const plan = resolvePlan(options, env, await loadSharedConfig(configPaths), new Date());
      if (plan.profiles) log.debug(`profiles: ${plan.profiles.join(" → ")}`);
      const timeoutMs = options.timeoutSeconds * 1000;
      const read = (path: string) => Deno.readTextFile(path);
      let warned = false;
      const cacheOptions = {
        plan,
        env,
        options,
        loadPolicy: (p: PolicySource) => loadPolicy(p, read),
        log,
        // One warning per call, however many entries (role, MFA session) the cache could not use.
        warn: (message: string) => {
          if (!warned) writeErr(log.scrub(`credproc: warning: ${message}`));
          warned = true;
        },
        inputs: { argv, cwd: io.cwd, files: Object.values(configPaths) },
      };
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
        wrapMfaSession: mfaSessionCache(cacheOptions),
      });
      const cached = await cachePlanProvider(provider, cacheOptions);
      return render(await cached(), plan.format);
    }
    default: {
      const unreachable: never = command;
      throw new Error(`unhandled command ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Runs one credproc invocation; returns the exit code. Never throws. */
export async function cli(argv: readonly string[], io: CliIo): Promise<number> {
  const writeErr = (line: string) => io.err(printable(line));
  let log = createLogger(false, writeErr);
  try {
    const command = parseCommand(argv);
    log = createLogger(command.kind === "assume" ? command.options.verbose : false, writeErr);
    const text = await run(command, argv, io, log);
    await io.out(text);
    return 0;
  } catch (e) {
    return report(e, log, writeErr);
  }
}

/**
 * Reports a failure as credproc's one `credproc:` line (plus a hint line) and returns the exit code: 2 for
 * bad input, 1 for anything else. Also for late rejections main.ts catches outside {@link cli}.
 */
function report(e: unknown, log: Logger, writeErr: (line: string) => void): number {
  if (e instanceof CredprocError) {
    writeErr(log.scrub(`credproc: ${e.what}: ${e.message}`));
    if (e.hint) writeErr(log.scrub(`hint: ${e.hint}`));
    return e.exitCode;
  }
  const message = e instanceof Error ? e.message : String(e);
  writeErr(log.scrub(`credproc: internal error: ${message.replace(/\s+/g, " ")}`));
  return 1;
}

/** {@link report} for an error that reached no logger (secrets it saw cannot be known here: none logged). */
export function reportUncaught(e: unknown, err: (line: string) => void): number {
  const writeErr = (line: string) => err(printable(line));
  return report(e, createLogger(false, writeErr), writeErr);
}
