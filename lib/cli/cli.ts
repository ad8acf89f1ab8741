/**
 * The full program behind main.ts: parse → plan → provider → credentials → text. It gets argv, the
 * environment and its two output streams from the caller ({@link CliIo}) and returns the exit code, so
 * main.ts stays the only module that touches Deno.args, stdout and Deno.exit.
 */
import { type Command, parseCommand } from "./args.ts";
import {
  type ArgvScan,
  hasFlag,
  isCacheCommand,
  lastValue,
  type OptionName,
  REPLACEMENT_CHARACTER,
  scanArgv,
} from "../argv.ts";
import { judgeCacheDir } from "../cache/session.ts";
import type { ListedDir } from "../cache/list.ts";
import { planCacheDir } from "../cache/dir.ts";
import { CredprocError, FailureError } from "../errors.ts";
import { createLogger, type Logger } from "../log.ts";
import { escapeControls, oneLine, outputErrorReason, render } from "../output.ts";
import { type Os, unhandled } from "../model.ts";
import type { CliDeps, CliIo, Invocation } from "./deps.ts";
import { VERSION } from "./version.ts";
import { escaping, report } from "./report.ts";
import { roleProvider, sdkLine, snapshotEnv } from "./role.ts";
import { lazy } from "./lazy.ts";

export { type CliDeps, type CliIo, realDeps } from "./deps.ts";
export { reportUncaught } from "./report.ts";
export { DIRECT_HOSTS } from "../sandbox.ts";

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

async function run(command: Command, inv: Invocation): Promise<string> {
  const { io, deps } = inv;
  switch (command.kind) {
    case "help":
      return (await lazy("usage")).usageFor(command.topic);
    case "usage":
      // Handled by cli() (stderr, exit 2); never printed on stdout.
      throw new Error("the short usage is not command output");
    case "cacheList": {
      const dir = await commandCacheDir("cache list", command.cacheDir, io, deps);
      const { listCache, listingJson, formatListing } = await lazy("cacheList");
      const listing = await listCache(dir, deps.clock(), deps.uid());
      return command.json ? listingJson(listing) : formatListing(listing);
    }
    case "version":
      return `credproc ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})\n`;
    case "cacheClear": {
      const { path } = await commandCacheDir("cache clear", command.cacheDir, io, deps);
      const { clearCache, clearReport } = await lazy("cacheClear");
      return clearReport(path, await clearCache(path, createLogger(command.verbose, io.err)));
    }
    case "assume": {
      const { plan, provider } = await roleProvider(command.options, inv, { memo: "assume" });
      const credentials = await provider();
      try {
        return render(credentials, plan.format, plan.includeAccountId === true);
      } catch (e) {
        // A value the chosen shell format cannot quote (output.ts stays free of imports: the fast path loads it).
        throw new FailureError("output", e instanceof Error ? e.message : String(e), { cause: e });
      }
    }
    case "console": {
      const { plan, provider, deadline } = await roleProvider(command.options, inv);
      const { consoleUrl, SIGNIN_URL_ENV } = await lazy("console");
      return await consoleUrl(plan, provider, {
        destination: command.destination,
        signinUrl: io.getEnv(SIGNIN_URL_ENV) || undefined,
        fetch: deps.fetch,
        deadline,
        log: inv.log,
      });
    }
    case "serve":
      return await (await lazy("serve")).serve(command, inv);
    case "eksToken":
      return await (await lazy("eksToken")).eksToken(command, inv);
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
async function fileSink(
  path: string,
  clock: () => number,
  note: (why: string) => void,
): Promise<(line: string) => void> {
  const append = await lazy("logFile").then(({ logFileSink }) => logFileSink(path, note)).catch((e) => {
    note(oneLine(e)); // its module not loaded: the log is best effort
    return () => {};
  });
  return (line) => append(`${new Date(clock()).toISOString()} ${escapeControls(line)}`);
}

/** Runs one credproc invocation; returns the exit code. Never throws. */
export async function cli(given: readonly string[], streams: CliIo, deps: CliDeps): Promise<number> {
  // Every diagnostic line shows its control characters escaped: a path, a value or an SDK message may hold any.
  const io: CliIo = { ...streams, err: escaping(streams.err) };
  const argv = scanArgv(given);
  let toStderr = false;
  let toFile: ((line: string) => void) | undefined;
  const sink = (line: string) => {
    if (toStderr) io.err(line);
    toFile?.(line);
  };
  let log = Object.assign(createLogger(false, io.err), { toFile: false });
  try {
    const command = parseCommand(argv);
    if (command.kind === "usage") {
      // No arguments at all: the short usage, on stderr (stdout carries only credentials), exit 2.
      for (const line of (await lazy("usage")).SHORT_USAGE.trimEnd().split("\n")) io.err(line);
      return 2;
    }
    if ("options" in command) {
      const { options } = command;
      const logFile = options.logFile ?? (io.getEnv(LOG_FILE_ENV) || undefined);
      toStderr = options.verbose;
      if (logFile !== undefined) {
        toFile = await fileSink(logFile, deps.clock, logFileNote(logFile, toStderr, io.err));
      }
      log = Object.assign(createLogger(toStderr || toFile !== undefined, sink), {
        toFile: toFile !== undefined,
      });
    }
    const restore = io.captureConsole ? captureConsole(log) : undefined;
    let text: string;
    try {
      text = await run(command, { argv, io, deps, log });
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
    // The cache commands run in a terminal: they write neither the log file nor the failure record, wherever
    // their words stand on the line.
    const cacheCommand = isCacheCommand(argv.command);
    if (toFile === undefined && !cacheCommand) {
      // The command line itself was refused: the log file is still the one it (or the environment) names.
      const named = fromArgvOrEnv(argv, "log-file", () => io.getEnv(LOG_FILE_ENV) || undefined);
      if (named !== undefined) {
        toFile = await fileSink(named, deps.clock, logFileNote(named, toStderr, io.err));
      }
    }
    const lines: string[] = [];
    const code = report(e, log, (line) => {
      lines.push(escapeControls(line));
      io.err(line);
    });
    for (const line of lines) toFile?.(line);
    // Bad arguments too: a consumer that hides stderr hides a mistyped credential_process line as well.
    // Not under --no-cache either (which writes nothing there).
    const recordIn = cacheCommand || hasFlag(argv, "no-cache")
      ? undefined
      : failureRecordDir(argv, io, deps.os);
    if (recordIn !== undefined) {
      const why = await lazy("failureRecord").then(({ appendFailureRecord }) =>
        appendFailureRecord(recordIn, {
          time: new Date(deps.clock()).toISOString(),
          line: lines[0],
          hint: lines[1]?.replace(/^hint: /, "") ?? null,
        }, deps.uid())
      ).catch((e) => oneLine(e)); // its module not loaded: this function never throws
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

/** Whether the value argv gives a path option was not valid UTF-8 (then that path is not the one meant). */
function lossyValue(argv: ArgvScan, name: OptionName): boolean {
  return lastValue(argv, name)?.includes(REPLACEMENT_CHARACTER) === true;
}

/**
 * A path option's value as the pre-scan read it (the last one given: the parse may have refused the line),
 * else the environment's; none when the value given was not valid UTF-8.
 */
function fromArgvOrEnv(argv: ArgvScan, name: OptionName, env: () => string | undefined): string | undefined {
  if (lossyValue(argv, name)) return undefined;
  return (lastValue(argv, name) || undefined) ?? env();
}

/** The cache directory for the failure record, from the pre-scan and the environment (no parse needed). */
function failureRecordDir(argv: ArgvScan, io: CliIo, os: Os): string | undefined {
  try {
    if (lossyValue(argv, "cache-dir")) return undefined;
    return planCacheDir(lastValue(argv, "cache-dir"), snapshotEnv(io, []), os)?.path;
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
