/**
 * Typed errors: everything in `lib/` throws a {@link CredprocError} (or a subclass), and `lib/cli/report.ts` turns it
 * into one `credproc: <what failed>: <why>` line, an optional hint line and the exit code.
 */

/** Exit code for bad input (flags, values, files) and for everything else. */
export type ExitCode = 1 | 2;

/** Options shared by every credproc error. */
export interface CredprocErrorOptions {
  /** One short line telling the user what to do next. */
  hint?: string;
  /** The underlying error, kept for `--verbose`. */
  cause?: unknown;
}

/** Base error: `what` names the step that failed, `message` says why. */
export class CredprocError extends Error {
  readonly exitCode: ExitCode;
  readonly what: string;
  readonly hint?: string;

  constructor(what: string, why: string, exitCode: ExitCode, options: CredprocErrorOptions = {}) {
    super(why, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.what = what;
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

/** Bad input: flags, values, configuration, files (exit 2). The subclasses only name where it came from. */
export class InputError extends CredprocError {
  constructor(what: string, why: string, options?: CredprocErrorOptions) {
    super(what, why, 2, options);
  }
}

/** Bad flags or flag values (exit 2); the hint points at `--help` unless one is given. */
export class UsageError extends InputError {
  constructor(what: string, why: string, options?: CredprocErrorOptions) {
    super(what, why, { hint: "run credproc --help for usage", ...options });
  }
}

/** Bad configuration or input files: shared config, policy files, token files (exit 2). */
export class ConfigError extends InputError {}

/** A failure that is not the input's fault (exit 1). The subclasses only name the kind, for tests and `cause`. */
export class FailureError extends CredprocError {
  constructor(what: string, why: string, options?: CredprocErrorOptions) {
    super(what, why, 1, options);
  }
}

/** STS answered with an error; `code` is the STS error code, passed through verbatim (exit 1). */
export class StsError extends FailureError {
  readonly code: string;
  constructor(what: string, code: string, why: string, options?: CredprocErrorOptions) {
    super(what, `${code}: ${why}`, options);
    this.code = code;
  }
}

/** The endpoint could not be reached or answered with something that is not STS (exit 1). */
export class NetworkError extends FailureError {}

/** The sandbox refused an operation: a host outside the allow list, a subprocess, … (exit 1). */
export class SandboxError extends FailureError {}

/** Source credentials could not be found or loaded (exit 1). */
export class CredentialsError extends FailureError {}

/** MFA code missing, malformed or not entered in time (exit 1; a malformed flag value is a UsageError). */
export class MfaError extends FailureError {}

/** A cache lock stayed held by another credproc for the whole wait (lib/cache/lock.ts; exit 1). */
export class LockTimeoutError extends FailureError {
  constructor(path: string, waitedMs: number) {
    super("cache lock", `another credproc has held ${path} for over ${Math.round(waitedMs / 1000)} s`, {
      hint:
        "it may be waiting for an MFA code or a slow endpoint; retry when it ends, or run with --no-cache",
    });
  }
}

/** The system refused a path as too long (ENAMETOOLONG): no such file can ever exist. */
export function isNameTooLong(e: unknown): boolean {
  return e instanceof Error && (e as { code?: unknown }).code === "ENAMETOOLONG";
}

/**
 * Running from source (`deno run --cached-only`, as every documented way does), a module missing from Deno's
 * cache is an installation problem, whatever step happened to load it first (exit 1).
 */
export class InstallationError extends FailureError {}

/** Deno's words for a module that `--cached-only` may not fetch (npm packages; remote modules). */
const NOT_CACHED = /npm package not found in cache: "([^"]+)"|Specifier not found in cache: "([^"]+)"/;

/**
 * The {@link InstallationError} behind `e` (anywhere in its `cause` chain), or undefined: a run from source
 * whose Deno cache lacks a module must say so, not blame the step that loaded it (a source credential, STS).
 */
export function missingModule(e: unknown): InstallationError | undefined {
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 8; depth++) {
    const m = NOT_CACHED.exec(c instanceof Error ? c.message : String(c));
    if (m) {
      return new InstallationError(
        "installation",
        `${m[1] ?? m[2]} is not in Deno's module cache, and a run never downloads code`,
        {
          hint:
            "run deno task setup in the credproc source directory (with the same DENO_DIR), or use a release binary",
          cause: e,
        },
      );
    }
    c = c instanceof Error ? c.cause : undefined;
  }
  return undefined;
}
