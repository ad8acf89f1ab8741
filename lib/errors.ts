/**
 * Typed errors: everything in `lib/` throws a {@link CredprocError} (or a subclass), and `lib/cli/cli.ts` turns it
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

/** Bad flags or flag values (exit 2). */
export class UsageError extends CredprocError {
  constructor(what: string, why: string, options?: CredprocErrorOptions) {
    super(what, why, 2, { hint: "run credproc --help for usage", ...options });
  }
}

/** Bad configuration or input files: shared config, policy files, token files (exit 2). */
export class ConfigError extends CredprocError {
  constructor(what: string, why: string, options?: CredprocErrorOptions) {
    super(what, why, 2, options);
  }
}

/** STS answered with an error; `code` is the STS error code, passed through verbatim (exit 1). */
export class StsError extends CredprocError {
  readonly code: string;
  constructor(what: string, code: string, why: string, options?: CredprocErrorOptions) {
    super(what, `${code}: ${why}`, 1, options);
    this.code = code;
  }
}

/** The endpoint could not be reached or answered with something that is not STS (exit 1). */
export class NetworkError extends CredprocError {
  constructor(what: string, why: string, options?: CredprocErrorOptions) {
    super(what, why, 1, options);
  }
}

/** The sandbox refused an operation: a host outside the allow list, a subprocess, … (exit 1). */
export class SandboxError extends CredprocError {
  constructor(what: string, why: string, options?: CredprocErrorOptions) {
    super(what, why, 1, options);
  }
}

/** Source credentials could not be found or loaded (exit 1). */
export class CredentialsError extends CredprocError {
  constructor(what: string, why: string, options?: CredprocErrorOptions) {
    super(what, why, 1, options);
  }
}

/** MFA code missing, malformed or not entered in time (exit 1; a malformed flag value is a UsageError). */
export class MfaError extends CredprocError {
  constructor(what: string, why: string, options?: CredprocErrorOptions) {
    super(what, why, 1, options);
  }
}
