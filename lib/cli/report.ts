/** Failures as credproc's lines: one `credproc: <what>: <why>` line, at most one hint, and the exit code. */
import { CredprocError, missingModule } from "../errors.ts";
import { createLogger, type Logger } from "../log.ts";
import { escapeControls, oneLine } from "../output.ts";

/**
 * Reports a failure as credproc's one `credproc:` line (plus a hint line) and returns the exit code: 2 for
 * bad input, 1 for anything else. Also for late rejections main.ts catches outside {@link cli}.
 */
export function report(caught: unknown, log: Logger, writeErr: (line: string) => void): number {
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
  const writeErr = escaping(err);
  return report(e, createLogger(false, writeErr), writeErr);
}

/**
 * A diagnostic line writer that shows every control, bidi and line-separator character escaped (a path, a
 * value or an SDK message may hold any): `cli()` wraps its `err` in it once, so everything it calls writes
 * through the escape.
 */
export function escaping(err: (line: string) => void): (line: string) => void {
  return (line) => err(escapeControls(line));
}
