/**
 * The full program's collaborators with the outside world (besides argv, the environment and the two output
 * streams, which are {@link CliIo}'s): STS, the source providers, the MFA prompt, file reads, the user id,
 * the OS, the clock and the home directory. main.ts passes {@link realDeps}; tests pass fakes, so a whole
 * `assume` runs against buffers with no network and no terminal.
 */
import { homedir } from "node:os";
import type { ArgvScan } from "../argv.ts";
import type { Logger } from "../log.ts";
import type { CredentialProvider, LoginToken, Os, SourcePlan } from "../model.ts";
import type { Deadline } from "../providers/deadline.ts";
import type { MfaPrompt } from "../providers/mfa.ts";
import { createTerminalPrompt } from "../providers/prompt.ts";
import { type SdkLogger, sourceProvider } from "../providers/sources.ts";
import { createStsCaller, type StsCaller, type StsConfig } from "../providers/sts.ts";
import { loadSharedConfig, type SharedConfigPaths } from "../plan/shared_config.ts";
import type { SharedConfig } from "../plan/shared_config.ts";
import { readRegularFile, type ReadTextFile } from "../plan/referenced_files.ts";
import { currentUid } from "../cache/dir.ts";
import type { Fetch } from "../console/federation.ts";

/** What `cli()` needs besides argv and its streams. */
export interface CliDeps {
  /** Makes the STS caller for one invocation (endpoint, retries, deadline decided by the plan). */
  readonly sts: (config: StsConfig, log: Logger) => StsCaller;
  /** The provider of a plan's first credentials. */
  readonly source: (
    source: SourcePlan,
    deadline: Deadline,
    logger: SdkLogger,
    readLoginToken?: () => Promise<LoginToken>,
  ) => CredentialProvider;
  /** The MFA prompt (the real one asks on the terminal). */
  readonly prompt: () => MfaPrompt;
  /** Reads a file a plan names (policy, web identity token): regular files only, at most `maxBytes`. */
  readonly readFile: ReadTextFile;
  /** Loads the shared config and credentials files. */
  readonly loadSharedConfig: (paths: SharedConfigPaths) => Promise<SharedConfig>;
  /** This process's uid; null where unknown (Windows, or refused by the sandbox). */
  readonly uid: () => number | null;
  readonly os: Os;
  /** Wall clock, epoch ms. */
  readonly clock: () => number;
  /** The account's home directory from the OS, for when HOME is unset; `undefined` when unknown. */
  readonly homeDir: () => string | undefined;
  /** HTTP for `credproc console`'s federation call (Deno's fetch; a fake in tests). */
  readonly fetch: Fetch;
}

/** The real collaborators. */
export function realDeps(): CliDeps {
  return {
    sts: createStsCaller,
    source: sourceProvider,
    prompt: () => createTerminalPrompt(),
    readFile: readRegularFile,
    loadSharedConfig: (paths) => loadSharedConfig(paths),
    uid: currentUid,
    os: Deno.build.os,
    clock: Date.now,
    homeDir: osHomeDir,
    fetch: (url, init) => fetch(url, init),
  };
}

/** The account's home directory as the OS knows it (what the SDK falls back to without HOME). */
export function osHomeDir(): string | undefined {
  try {
    return homedir() || undefined;
  } catch {
    return undefined; // refused by the sandbox, or no account entry
  }
}

/** What the program reads from and writes to the outside world; main.ts passes the real ones. */
export interface CliIo {
  /** Reads one environment variable; `undefined` when unset or refused by the sandbox. */
  readonly getEnv: (name: string) => string | undefined;
  readonly cwd: string;
  /** Writes the program's output (stdout: the credentials, help, version). */
  readonly out: (text: string) => Promise<void>;
  /** Writes one diagnostic line (stderr), newline added (`cli()` escapes control characters before). */
  readonly err: (line: string) => void;
  /**
   * Route `console` (which SDK internals write warnings to) into `--verbose` for the run: nothing but
   * credproc's own lines may reach stderr. main.ts sets it; in-process tests leave their console alone.
   */
  readonly captureConsole?: boolean;
}

/**
 * One invocation as each command runs it (`run` in cli.ts, `serve`, `eksToken`, `roleProvider`): argv as the
 * pre-scan read it, the io, the collaborators, and the logger the options made.
 */
export interface Invocation {
  readonly argv: ArgvScan;
  readonly io: CliIo;
  readonly deps: CliDeps;
  /** The `--verbose` logger; `toFile`: its lines also go to a log file (`--log-file`, `CREDPROC_LOG_FILE`). */
  readonly log: Logger & { readonly toFile: boolean };
}
