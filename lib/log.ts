/**
 * The `--verbose` logger. It writes lines to a sink passed in (stderr in `lib/cli/cli.ts`, a buffer in tests).
 * It has no way to print a secret: every secret the program handles is registered with {@link Logger.secret}
 * and scrubbed from every line, and anything shaped like an access key id is masked.
 */
/** Diagnostics for `--verbose`. */
export interface Logger {
  /** Writes one diagnostic line (when verbose). */
  debug(message: string): void;
  /** Registers a value that must never appear in output (secret key, session token, MFA code, OIDC token). */
  secret(value: string | undefined): void;
  /** Scrubs registered secrets and masks key ids in `text` (used for error messages too). */
  scrub(text: string): string;
}

const KEY_ID = /\b(?:AKIA|ASIA|AIDA|AROA|ABIA|ACCA)[A-Z0-9]{8,}\b/g;

/** Masks an access key id for logs: the 4-char prefix and last 4 chars stay (`ASIA…WXYZ`). */
export function maskKeyId(accessKeyId: string): string {
  if (accessKeyId.length <= 8) return "****";
  return `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`;
}

/** Creates a logger; `write` receives whole lines without the trailing newline. */
export function createLogger(verbose: boolean, write: (line: string) => void): Logger {
  const secrets = new Set<string>();
  const scrub = (text: string): string => {
    let out = text;
    for (const s of secrets) out = out.split(s).join("[redacted]");
    return out.replace(KEY_ID, (id) => maskKeyId(id));
  };
  return {
    debug(message) {
      if (verbose) write(`credproc: ${scrub(message)}`);
    },
    secret(value) {
      // Short values would scrub innocent text; real secrets are long.
      if (value !== undefined && value.length >= 6) secrets.add(value);
    },
    scrub,
  };
}
