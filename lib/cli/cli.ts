/**
 * The full program behind main.ts: parse → plan → provider → credentials → text. It gets argv, the
 * environment and its two output streams from the caller ({@link CliIo}) and returns the exit code, so
 * main.ts stays the only module that touches Deno.args, stdout and Deno.exit.
 */
import { type Command, parseCommand, REPLACEMENT_CHARACTER } from "./args.ts";
import { judgeCacheDir } from "../cache/session.ts";
import { clearCache, clearReport } from "../cache/clear.ts";
import { formatListing, listCache, type ListedDir, listingJson } from "../cache/list.ts";
import { appendFailureRecord } from "../cache/failures.ts";
import { scanCacheDir } from "../fast_path.ts";
import { planCacheDir } from "../cache/dir.ts";
import { scanFlag } from "../cache/key.ts";
import { CredprocError, FailureError } from "../errors.ts";
import { createLogger, type Logger } from "../log.ts";
import { logFileSink } from "./log_file.ts";
import { escapeControls, outputErrorReason, render } from "../output.ts";
import { unhandled } from "../model.ts";
import { consoleUrl, SIGNIN_URL_ENV } from "../providers/signin.ts";
import type { CliDeps, CliIo } from "./deps.ts";
import { SHORT_USAGE, usageFor } from "./usage.ts";
import { VERSION } from "./version.ts";
import { report } from "./report.ts";
import { roleProvider, sdkLine, snapshotEnv } from "./role.ts";
import { serve } from "./serve.ts";
import { eksToken } from "./eks_token.ts";

export { type CliDeps, type CliIo, realDeps } from "./deps.ts";
export { reportUncaught } from "./report.ts";

/**
 * The cache directory a cache command works on (`--cache-dir`, `CREDPROC_CACHE_DIR`, the platform's), judged
 * as a call judges it (`judgeCacheDir`, never created here); a named path that is not a directory, or no
 * directory at all, is bad input.
 */
async function commandCacheDir(
  what: string,
  flag: string | undefined,
  io: CliIo,
  deps: CliDeps,
): Promise<ListedDir> {
  const verdict = await judgeCacheDir(planCacheDir(flag, snapshotEnv(io, []), deps.os), deps.uid(), {
    create: false,
  });
  if (verdict.state === "none") {
    throw new CredprocError(what, "no cache directory (set HOME or --cache-dir)", 2);
  }
  return verdict;
}

async function run(
  command: Command,
  argv: readonly string[],
  io: CliIo,
  deps: CliDeps,
  log: Logger & { readonly toFile: boolean },
): Promise<string> {
  const writeErr = (line: string) => io.err(escapeControls(line));
  switch (command.kind) {
    case "help":
      return usageFor(command.topic);
    case "usage":
      // Handled by cli() (stderr, exit 2); never printed on stdout.
      throw new Error("the short usage is not command output");
    case "cacheList": {
      const dir = await commandCacheDir("cache list", command.cacheDir, io, deps);
      const listing = await listCache(dir, deps.clock(), deps.uid());
      return command.json ? listingJson(listing) : formatListing(listing);
    }
    case "version":
      return `credproc ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})\n`;
    case "cacheClear": {
      const { path } = await commandCacheDir("cache clear", command.cacheDir, io, deps);
      return clearReport(path, await clearCache(path, createLogger(command.verbose, writeErr)));
    }
    case "assume": {
      const { plan, provider } = await roleProvider(command.options, argv, io, deps, log, { memo: "assume" });
      const credentials = await provider();
      try {
        return render(credentials, plan.format, plan.includeAccountId === true);
      } catch (e) {
        // A value the chosen shell format cannot quote (output.ts stays free of imports: the fast path loads it).
        throw new FailureError("output", e instanceof Error ? e.message : String(e), { cause: e });
      }
    }
    case "console": {
      const { plan, provider, deadline } = await roleProvider(command.options, argv, io, deps, log);
      return await consoleUrl(plan, provider, {
        destination: command.destination,
        signinUrl: io.getEnv(SIGNIN_URL_ENV) || undefined,
        fetch: deps.fetch,
        deadline,
        log,
      });
    }
    case "serve":
      return await serve(command, argv, io, deps, log);
    case "eksToken":
      return await eksToken(command, argv, io, deps, log);
    default:
      return unhandled(command, "command");
  }
}

/** The variable naming a file that receives the `--verbose` lines (like `--log-file`). */
export const LOG_FILE_ENV = "CREDPROC_LOG_FILE";

/**
 * Appends timestamped lines to the user's log file (0600 when created; see lib/cli/log_file.ts for what is
 * refused, without blocking). Best effort: a log file that cannot be written never fails the call; after the
 * first failure it is left, and `note` (a `--verbose` line) says why.
 */
function fileSink(path: string, clock: () => number, note: (why: string) => void): (line: string) => void {
  const append = logFileSink(path, note);
  return (line) => append(`${new Date(clock()).toISOString()} ${escapeControls(line)}`);
}

/** Runs one credproc invocation; returns the exit code. Never throws. */
export async function cli(argv: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const writeErr = (line: string) => io.err(escapeControls(line));
  let toStderr = false;
  let toFile: ((line: string) => void) | undefined;
  const sink = (line: string) => {
    if (toStderr) writeErr(line);
    toFile?.(line);
  };
  let log = Object.assign(createLogger(false, writeErr), { toFile: false });
  try {
    const command = parseCommand(argv);
    if (command.kind === "usage") {
      // No arguments at all: the short usage, on stderr (stdout carries only credentials), exit 2.
      for (const line of SHORT_USAGE.trimEnd().split("\n")) io.err(line);
      return 2;
    }
    if ("options" in command) {
      const { options } = command;
      const logFile = options.logFile ?? (io.getEnv(LOG_FILE_ENV) || undefined);
      toStderr = options.verbose;
      if (logFile !== undefined) {
        toFile = fileSink(logFile, deps.clock, logFileNote(logFile, toStderr, writeErr));
      }
      log = Object.assign(createLogger(toStderr || toFile !== undefined, sink), {
        toFile: toFile !== undefined,
      });
    }
    const restore = io.captureConsole ? captureConsole(log) : undefined;
    let text: string;
    try {
      text = await run(command, argv, io, deps, log);
    } finally {
      restore?.();
    }
    try {
      await io.out(text);
    } catch (e) {
      throw new CredprocError(
        "stdout",
        `cannot write the ${command.kind === "assume" ? "credentials" : "output"}: ${outputErrorReason(e)}`,
        1,
        {
          cause: e,
        },
      );
    }
    return 0;
  } catch (e) {
    if (toFile === undefined && argv[0] !== "cache") {
      // The command line itself was refused: the log file is still the one it (or the environment) names.
      const named = fromArgvOrEnv(argv, "--log-file", () => io.getEnv(LOG_FILE_ENV) || undefined);
      if (named !== undefined) toFile = fileSink(named, deps.clock, logFileNote(named, toStderr, writeErr));
    }
    const lines: string[] = [];
    const code = report(e, log, (line) => {
      lines.push(escapeControls(line));
      writeErr(line);
    });
    for (const line of lines) toFile?.(line);
    // Bad arguments too: a consumer that hides stderr hides a mistyped credential_process line as well.
    // Not for the cache commands (run in a terminal) nor under --no-cache (which writes nothing there).
    const recordIn = argv.includes("--no-cache") || argv[0] === "cache"
      ? undefined
      : failureRecordDir(argv, io, deps.os);
    if (recordIn !== undefined) {
      const why = await appendFailureRecord(recordIn, {
        time: new Date(deps.clock()).toISOString(),
        line: lines[0],
        hint: lines[1]?.replace(/^hint: /, "") ?? null,
      }, deps.uid());
      if (why !== undefined) log.debug(`failure record not written: ${why}`);
    }
    return code;
  }
}

/** The `--verbose` note for a log file left unwritten (nothing without `--verbose`: the log is best effort). */
function logFileNote(
  path: string,
  verbose: boolean,
  writeErr: (line: string) => void,
): (why: string) => void {
  return (why) => {
    if (verbose) writeErr(`credproc: log file ${path} not written: ${why}`);
  };
}

/** Whether argv names `flag` with a value that was not valid UTF-8 (then that path is not the one meant). */
function lossyFlag(argv: readonly string[], flag: string): boolean {
  return scanFlag(argv, flag)?.includes(REPLACEMENT_CHARACTER) === true;
}

/** A path flag's value from raw argv, else the environment's; none when the flag's value was not UTF-8. */
function fromArgvOrEnv(
  argv: readonly string[],
  flag: string,
  env: () => string | undefined,
): string | undefined {
  if (lossyFlag(argv, flag)) return undefined;
  return (scanFlag(argv, flag) || undefined) ?? env();
}

/** The cache directory for the failure record, found from raw argv and the environment (no parse needed). */
function failureRecordDir(argv: readonly string[], io: CliIo, os: string): string | undefined {
  try {
    if (lossyFlag(argv, "--cache-dir")) return undefined;
    return planCacheDir(scanCacheDir(argv), snapshotEnv(io, []), os)?.path;
  } catch {
    return undefined;
  }
}

/** Sends `console` output (SDK internals warn there) to `--verbose` until the returned function is called. */
function captureConsole(log: Logger): () => void {
  const c = console as unknown as Record<string, unknown>;
  const names = ["log", "info", "warn", "error", "debug", "trace"];
  const saved = names.map((n) => c[n]);
  for (const n of names) c[n] = sdkLine(log, n);
  return () => names.forEach((n, i) => c[n] = saved[i]);
}
