/**
 * The full program behind main.ts: parse → plan → provider → credentials → text. It gets argv, the
 * environment and its two output streams from the caller ({@link CliIo}) and returns the exit code, so
 * main.ts stays the only module that touches Deno.args, stdout and Deno.exit.
 */
import { type Command, parseCommand, REPLACEMENT_CHARACTER } from "./args.ts";
import { cachePlanProvider, checkNamedCacheDir, mfaSessionCache } from "../cache/plan_cache.ts";
import { clearCache, clearReport } from "../cache/clear.ts";
import { formatListing, listCache, listingJson } from "../cache/list.ts";
import { recordFailure } from "../cache/failures.ts";
import { scanCacheDir } from "../fast_path.ts";
import { planCacheDir } from "../cache/dir.ts";
import { inputSecretValues, scanFlag, sourceSecrets } from "../cache/key.ts";
import { chainProvider } from "../providers/chain.ts";
import { sharedConfigPaths, ssoTokenFile } from "../plan/shared_config.ts";
import { ConfigError, CredprocError, FailureError, missingModule } from "../errors.ts";
import { fileErrorReason, loadPolicy, loadToken, MAX_TOKEN_BYTES } from "../plan/referenced_files.ts";
import { createLogger, type Logger } from "../log.ts";
import { logFileSink } from "./log_file.ts";
import { createMfaCodeSource } from "../providers/mfa.ts";
import { escapeControls, oneLine, outputErrorReason, render } from "../output.ts";
import {
  type AssumeOptions,
  type CredentialProvider,
  type Env,
  ENV_NAMES,
  type Plan,
  type PolicySource,
  type RawEnv,
  SECRET_ENV_NAMES,
  type TokenSource,
  unhandled,
} from "../model.ts";
import { createDeadline, type Deadline } from "../providers/deadline.ts";
import { resolvePlan } from "../plan/planner.ts";
import { consoleUrl, SIGNIN_URL_ENV } from "../providers/signin.ts";
import type { SdkLogger } from "../providers/sources.ts";
import type { CliDeps } from "./deps.ts";
import { CACHE_USAGE, USAGE } from "./usage.ts";
import { VERSION } from "./version.ts";
import { DEFAULT_REFRESH_MARGIN_SECONDS, effectiveMarginMs } from "../cache/store.ts";
import {
  createHandler,
  CREDENTIALS_PATH,
  exportLines,
  listen,
  MAX_TOKEN_FILE_BYTES,
  newToken,
  sharedCredentials,
  tokenFromFile,
  untilSignal,
} from "../serve/server.ts";
import { CONTROL_CHARACTER_REASON, hasControlCharacter } from "../validate.ts";

export { type CliDeps, realDeps } from "./deps.ts";

/** What the program reads from and writes to the outside world; main.ts passes the real ones. */
export interface CliIo {
  /** Reads one environment variable; `undefined` when unset or refused by the sandbox. */
  readonly getEnv: (name: string) => string | undefined;
  readonly cwd: string;
  /** Writes the program's output (stdout: the credentials, help, version). */
  readonly out: (text: string) => Promise<void>;
  /** Writes one diagnostic line (stderr), newline added. */
  readonly err: (line: string) => void;
  /**
   * Route `console` (which SDK internals write warnings to) into `--verbose` for the run: nothing but
   * credproc's own lines may reach stderr. main.ts sets it; in-process tests leave their console alone.
   */
  readonly captureConsole?: boolean;
}

/** One diagnostic line made safe to print: control and bidi characters escaped (user paths, values). */
export const printable = escapeControls;

/** The same call as a shell line, to run once in a terminal so the cache holds what an SDK will ask for. */
function warmCommand(argv: readonly string[]): string {
  const quote = (a: string) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
  return ["credproc", ...argv].map(quote).join(" ");
}

/** Reads the variables credproc uses, once. A value that is not valid UTF-8 is bad input (exit 2). */
function snapshotEnv(io: CliIo, extra: readonly string[]): Env & RawEnv {
  const env: Record<string, string | undefined> = {};
  for (const name of [...ENV_NAMES, ...extra]) {
    try {
      env[name] = io.getEnv(name);
    } catch {
      throw new ConfigError(name, "its value is not valid UTF-8");
    }
  }
  return env;
}

/** A one-argument loader that runs once per argument: a file is read once and the same text used everywhere. */
function once<A, R>(load: (a: A) => Promise<R>, id: (a: A) => string): (a: A) => Promise<R> {
  const seen = new Map<string, Promise<R>>();
  return (a) => {
    const k = id(a);
    let p = seen.get(k);
    if (p === undefined) seen.set(k, p = load(a));
    return p;
  };
}

/** The proxy in force, for `--verbose` (without user info). */
function proxyLine(io: CliIo): string {
  let proxy: string | undefined;
  try {
    proxy = io.getEnv("HTTPS_PROXY") || io.getEnv("https_proxy") || undefined;
  } catch {
    proxy = undefined;
  }
  if (proxy === undefined) return "proxy: none (HTTPS_PROXY unset)";
  let shown = "(not a URL)";
  try {
    const u = new URL(proxy);
    shown = `${u.protocol}//${u.host}`;
  } catch { /* shown as not a URL */ }
  return `proxy: https endpoints through ${shown} (CONNECT); plain http, loopback and metadata always direct`;
}

/**
 * The cache directory a cache command works on (`--cache-dir`, `CREDPROC_CACHE_DIR`, the platform's); a named
 * path that is not a directory, or no directory at all, is bad input.
 */
async function commandCacheDir(
  what: string,
  flag: string | undefined,
  io: CliIo,
  os: string,
): Promise<string> {
  const dir = planCacheDir(flag, snapshotEnv(io, []), os);
  await checkNamedCacheDir(dir);
  if (dir === undefined) throw new CredprocError(what, "no cache directory (set HOME or --cache-dir)", 2);
  return dir.path;
}

async function run(
  command: Command,
  argv: readonly string[],
  io: CliIo,
  deps: CliDeps,
  log: Logger & { readonly toFile: boolean },
): Promise<string> {
  const writeErr = (line: string) => io.err(printable(line));
  switch (command.kind) {
    case "help":
      return USAGE;
    case "cacheUsage":
      return CACHE_USAGE;
    case "cacheList": {
      const dir = await commandCacheDir("cache list", command.cacheDir, io, deps.os);
      const listing = await listCache(dir, deps.clock(), deps.uid());
      return command.json ? listingJson(listing) : formatListing(listing);
    }
    case "version":
      return `credproc ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})\n`;
    case "cacheClear": {
      const dir = await commandCacheDir("cache clear", command.cacheDir, io, deps.os);
      return clearReport(dir, await clearCache(dir, createLogger(command.verbose, writeErr)));
    }
    case "assume": {
      const { plan, provider } = await roleProvider(command.options, argv, io, deps, log, { memo: true });
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
    default:
      return unhandled(command, "command");
  }
}

/**
 * The role the options name, as one cached provider: plan, then the chain with the cache and lock around it.
 * `assume` renders what it returns; `console` and `serve` call it for the same credentials (the same cache
 * entry, so no extra STS call while it is fresh).
 */
export async function roleProvider(
  options: AssumeOptions,
  argv: readonly string[],
  io: CliIo,
  deps: CliDeps,
  log: Logger & { readonly toFile: boolean },
  /**
   * `memo`: leave a memo for the fast path, which prints the credential document for these inputs — only
   * `assume` may, or a repeated `credproc console …` would be answered with credentials instead of a URL.
   * `longRunning`: for `serve`, which calls again while it runs: a failure another call recorded earlier is not
   * this call's.
   */
  { memo = false, longRunning = false }: { readonly memo?: boolean; readonly longRunning?: boolean } = {},
): Promise<{ readonly plan: Plan; readonly provider: CredentialProvider; readonly deadline: Deadline }> {
  const env = snapshotEnv(io, options.webIdentity?.kind === "env" ? [options.webIdentity.name] : []);
  log.secret(options.tokenCode);
  const configPaths = sharedConfigPaths(env, deps.homeDir());
  const config = await deps.loadSharedConfig(configPaths);
  const plan = resolvePlan(options, env, config, new Date(deps.clock()), deps.os);
  checkCredentialEnv(plan, env, log);
  if (plan.profiles) log.debug(`profiles: ${plan.profiles.join(" → ")}`);
  log.debug(
    plan.endpoint.endpointUrl === undefined
      ? `endpoint: STS in ${plan.endpoint.region} (the SDK's endpoint rules)`
      : `endpoint: ${plan.endpoint.endpointUrl} (from ${plan.endpoint.endpointFrom})`,
  );
  log.debug(proxyLine(io));
  const timeoutMs = options.timeoutSeconds * 1000;
  const deadline = createDeadline(timeoutMs);
  // Each file is read once (stat first, bounded) and the same text serves the cache key and the call.
  const loadPolicyOnce = once(
    (p: PolicySource) => loadPolicy(p, deps.readFile),
    (p) => p.kind === "file" ? `file:${p.path}` : `inline:${p.json}`,
  );
  const loadTokenOnce = once(
    (t: TokenSource) => loadToken(t, deps.readFile, env),
    (t) => `${t.kind}:${t.kind === "file" ? t.path : t.name}`,
  );
  // The SSO sign-in decides whose credentials come back: its access token is keyed like a secret, and the
  // token file is watched by the fast path like the shared config.
  const ssoToken = plan.source.kind === "sso" ? await ssoTokenFile(plan.source) : undefined;
  const secretValues = async () => {
    const tokens = await Promise.all(plan.hops.map((h) => h.webIdentity && loadTokenOnce(h.webIdentity)));
    tokens.forEach((t) => log.secret(t));
    const sso = ssoToken === undefined ? [] : [await readSsoAccessToken(ssoToken, deps.readFile)];
    sso.forEach((t) => log.secret(t));
    return [...sourceSecrets(plan), ...tokens, ...sso];
  };
  const cacheOptions = {
    plan,
    // A call that logs to a file takes the full path every time (the fast path logs nothing).
    options: { ...options, verbose: options.verbose || log.toFile },
    loadPolicy: loadPolicyOnce,
    secretValues,
    log,
    // Cache trouble never fails a call and never reaches stderr on success: `--verbose` says it.
    warn: (message: string) => log.debug(`cache: warning: ${message}`),
    inputs: !memo ? undefined : {
      argv,
      cwd: io.cwd,
      env,
      secretValues: inputSecretValues(argv, (name) => env[name]),
      files: [
        configPaths.configPath,
        configPaths.credentialsPath,
        ...(ssoToken === undefined ? [] : [ssoToken]),
      ],
    },
    uid: deps.uid(),
    clock: deps.clock,
    longRunning,
  };
  const mfaCode = createMfaCodeSource({
    tokenCode: options.tokenCode,
    envCode: env.CREDPROC_MFA_TOKEN_CODE,
    timeoutMs: options.mfaTimeoutSeconds * 1000,
    prompt: deps.prompt(),
    log,
    warmCommand: options.cacheMode === "off" ? undefined : warmCommand(argv),
    mfaSession: options.mfaSession,
  });
  const provider = chainProvider(plan, {
    sts: deps.sts({ ...plan.endpoint, timeoutMs, deadline, ...plan.retry }, log),
    source: deps.source(plan.source, deadline, sdkLogger(log)),
    // A person typing a code is not a network step: that time does not count against --timeout.
    mfaCode: (serial) => deadline.exclude(mfaCode(serial)),
    loadPolicy: loadPolicyOnce,
    loadToken: loadTokenOnce,
    log,
    wrapMfaSession: mfaSessionCache(cacheOptions),
  });
  return { plan, provider: await cachePlanProvider(provider, cacheOptions), deadline };
}

/** How long a stop waits for the requests in progress (and a credentials call in flight) to finish. */
const SERVE_GRACE_MS = 2000;

/**
 * `credproc serve`: credentials first (a failure ends the command like `assume`'s), then the endpoint on
 * 127.0.0.1, the export lines on stdout, and requests until SIGINT or SIGTERM (then exit 0). Each call for
 * new credentials plans again (a fresh `--timeout` budget, the shared files as they are now) and goes
 * through the same cache entry and lock as `assume`.
 */
async function serve(
  command: Extract<Command, { kind: "serve" }>,
  argv: readonly string[],
  io: CliIo,
  deps: CliDeps,
  log: Logger & { readonly toFile: boolean },
): Promise<string> {
  const { options, tokenFile } = command;
  let token: string;
  if (tokenFile === undefined) {
    token = newToken();
  } else {
    let text: string;
    try {
      text = await deps.readFile(tokenFile, MAX_TOKEN_FILE_BYTES);
    } catch (e) {
      throw new ConfigError(`--token-file ${tokenFile}`, fileErrorReason(e), { cause: e });
    }
    token = tokenFromFile(text, tokenFile);
  }
  log.secret(token);
  let calls = 0;
  let includeAccountId = false;
  const fetchCredentials = async () => {
    // --refresh forces the first call only; later ones use the cache like any other caller.
    const cacheMode = calls++ > 0 && options.cacheMode === "refresh" ? "use" : options.cacheMode;
    const { plan, provider } = await roleProvider({ ...options, cacheMode }, argv, io, deps, log, {
      longRunning: true,
    });
    includeAccountId = plan.includeAccountId === true;
    const credentials = await provider();
    if (credentials.sessionToken === undefined || credentials.expiration === undefined) {
      throw new ConfigError(
        "serve",
        "these are long-term keys; a container endpoint serves temporary credentials only",
        { hint: "name a role to assume (--role-arn, or a profile with role_arn)" },
      );
    }
    return credentials;
  };
  const marginMs = (options.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000;
  const shared = sharedCredentials(
    fetchCredentials,
    deps.clock,
    (lifetimeMs) => effectiveMarginMs(marginMs, lifetimeMs),
  );
  await shared.get();
  const writeErr = (line: string) => io.err(printable(line));
  let port = 0;
  const stop = untilSignal();
  try {
    const server = listen(
      command.port ?? 0,
      createHandler({
        token,
        port: () => port,
        credentials: shared.get,
        includeAccountId,
        timeoutMs: options.timeoutSeconds * 1000 + 1000,
        log: (line) => log.debug(line),
        scrub: log.scrub,
        onFailure: (e) => report(e, log, writeErr),
      }),
    );
    port = server.port;
    log.debug(`serve: listening on http://127.0.0.1:${port}${CREDENTIALS_PATH}`);
    try {
      await io.out(exportLines(port, tokenFile === undefined ? { token } : { tokenFile }));
    } catch (e) {
      await server.stop(0);
      throw new CredprocError("stdout", `cannot write the export lines: ${outputErrorReason(e)}`, 1, {
        cause: e,
      });
    }
    const signal = await Promise.race([stop.signalled, server.finished.then(() => undefined)]);
    log.debug(`serve: ${signal ?? "server ended"}; stopping`);
    await server.stop(SERVE_GRACE_MS);
    await Promise.race([shared.settled(), new Promise((r) => setTimeout(r, SERVE_GRACE_MS))]);
  } finally {
    stop.dispose();
  }
  return "";
}

/** The variables the SDK's environment provider sends from: refused with a control character, by name. */
const CREDENTIAL_ENV = ["AWS_ACCESS_KEY_ID", ...SECRET_ENV_NAMES] as const;

/**
 * Registers the secrets the environment and the plan hold before anything can fail with them, and refuses
 * a control character in the credential variables the plan's source reads (the environment provider, first
 * in the default chain): sent as a header it would fail with an error that quotes it. Exit 2, naming the
 * variable, never the value. Variables the source does not read are left alone, as the AWS CLI does.
 */
function checkCredentialEnv(plan: Plan, env: Env & RawEnv, log: Logger): void {
  for (const name of SECRET_ENV_NAMES) log.secret(env[name]);
  for (const hop of plan.hops) {
    if (hop.webIdentity?.kind === "env") log.secret(env[hop.webIdentity.name]);
  }
  sourceSecrets(plan).forEach((s) => log.secret(s));
  if (plan.source.kind !== "environment" && plan.source.kind !== "default-chain") return;
  for (const name of CREDENTIAL_ENV) {
    const value = env[name];
    if (value !== undefined && hasControlCharacter(value)) {
      throw new ConfigError(name, CONTROL_CHARACTER_REASON, {
        hint: `set ${name} again, on one line and without control characters`,
      });
    }
  }
}

/**
 * The access token of the SDK's SSO token cache file: the sign-in, not the file (its expiry and refresh
 * fields change without changing who signed in). Undefined when missing or unreadable: the SDK then fails
 * with its own sign-in error.
 */
async function readSsoAccessToken(path: string, read: CliDeps["readFile"]): Promise<string | undefined> {
  try {
    const token = JSON.parse(await read(path, MAX_TOKEN_BYTES))?.accessToken;
    return typeof token === "string" ? token : undefined;
  } catch {
    return undefined;
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
  return (line) => append(`${new Date(clock()).toISOString()} ${printable(line)}`);
}

/** Runs one credproc invocation; returns the exit code. Never throws. */
export async function cli(argv: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const writeErr = (line: string) => io.err(printable(line));
  let toStderr = false;
  let toFile: ((line: string) => void) | undefined;
  const sink = (line: string) => {
    if (toStderr) writeErr(line);
    toFile?.(line);
  };
  let log = Object.assign(createLogger(false, writeErr), { toFile: false });
  try {
    const command = parseCommand(argv);
    if (command.kind === "assume" || command.kind === "console" || command.kind === "serve") {
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
      lines.push(printable(line));
      writeErr(line);
    });
    for (const line of lines) toFile?.(line);
    // Bad arguments too: a consumer that hides stderr hides a mistyped credential_process line as well.
    // Not for the cache commands (run in a terminal) nor under --no-cache (which writes nothing there).
    const recordIn = argv.includes("--no-cache") || argv[0] === "cache"
      ? undefined
      : failureRecordDir(argv, io, deps.os);
    if (recordIn !== undefined) {
      const why = await recordFailure(recordIn, {
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

/** A `--verbose` line for what the SDK logs at `level` (errors by their message, never to stderr). */
function sdkLine(log: Logger, level: string): (...content: unknown[]) => void {
  return (...content) =>
    log.debug(`sdk ${level}: ${content.map((c) => c instanceof Error ? c.message : String(c)).join(" ")}`);
}

/** A logger for the SDK's providers: every line goes to `--verbose`, none to stderr. */
function sdkLogger(log: Logger): SdkLogger {
  return { debug: () => {}, info: () => {}, warn: sdkLine(log, "warning"), error: sdkLine(log, "error") };
}

/** Sends `console` output (SDK internals warn there) to `--verbose` until the returned function is called. */
function captureConsole(log: Logger): () => void {
  const c = console as unknown as Record<string, unknown>;
  const names = ["log", "info", "warn", "error", "debug", "trace"];
  const saved = names.map((n) => c[n]);
  for (const n of names) c[n] = sdkLine(log, n);
  return () => names.forEach((n, i) => c[n] = saved[i]);
}

/**
 * Reports a failure as credproc's one `credproc:` line (plus a hint line) and returns the exit code: 2 for
 * bad input, 1 for anything else. Also for late rejections main.ts catches outside {@link cli}.
 */
function report(caught: unknown, log: Logger, writeErr: (line: string) => void): number {
  const e = missingModule(caught) ?? caught;
  if (e instanceof CredprocError) {
    writeErr(log.scrub(`credproc: ${e.what}: ${e.message}`));
    if (e.hint) writeErr(log.scrub(`hint: ${e.hint}`));
    return e.exitCode;
  }
  writeErr(log.scrub(`credproc: internal error: ${oneLine(e)}`));
  return 1;
}

/** {@link report} for an error that reached no logger (secrets it saw cannot be known here: none logged). */
export function reportUncaught(e: unknown, err: (line: string) => void): number {
  const writeErr = (line: string) => err(printable(line));
  return report(e, createLogger(false, writeErr), writeErr);
}
