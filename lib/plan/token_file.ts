/**
 * The sign-in token files other tools write and the SDK's providers read for credproc's sources — the one
 * `aws sso login` caches (lib/plan/sso_token.ts) and the one `aws login` caches (lib/plan/login_token.ts) — and
 * the one rule credproc judges both by before the SDK reads them: a regular file (symlinks followed, as the SDK
 * does), of this user and writable by no one else (whoever can write it decides whose credentials come back:
 * the same rule as credproc's own cache files), at most a bound, and a JSON object. What each kind of file must
 * hold besides is its reader's. A file that fails is a {@link TokenFileError}: exit 1, with what to run.
 */
import { CredentialsError } from "../errors.ts";
import { fileErrorReason, readRegularFile } from "./referenced_files.ts";

/** Who may be trusted to have written the file: this user, where the OS says who that is. */
export interface TokenFileJudge {
  /** This process's uid; null where unknown (Windows): then owner and mode are not checked. */
  readonly uid: number | null;
  readonly stat?: (path: string) => Promise<Deno.FileInfo>;
  readonly read?: (path: string, maxBytes: number) => Promise<string>;
}

/** Why a token file cannot be used: not there, not trusted, or not what its tool writes. */
export type TokenFileProblem = "missing" | "untrusted" | "malformed";

/** A kind of token file: who writes it, how large one may be, how its errors read. */
export interface TokenFileKind {
  /** Who writes the file, for "not a token … wrote" (`aws login`). */
  readonly writer: string;
  readonly maxBytes: number;
  /** The step that failed, as the error line names it for a profile (`aws login session of profile dev`). */
  readonly what: (profile: string) => string;
  /** The command that writes a profile's file anew (`aws login --profile dev`). */
  readonly signIn: (profile: string) => string;
}

/** A token file that cannot be used; `kind` says whether reading again (under a lock) may help. */
export class TokenFileError extends CredentialsError {
  constructor(
    readonly kind: TokenFileProblem,
    file: TokenFileKind,
    profile: string,
    path: string,
    reason: string,
    cause?: unknown,
  ) {
    super(file.what(profile), `${path}: ${reason}`, {
      hint: kind === "untrusted"
        ? `only you may write it: run ${file.signIn(profile)} to write it anew (mode 0600)`
        : `run ${file.signIn(profile)}, then retry`,
      cause,
    });
  }
}

/** Makes a token file's error: the kind's own subclass of {@link TokenFileError}, so callers can tell them apart. */
export type TokenFileRefusal<E extends TokenFileError> = new (
  ...args: ConstructorParameters<typeof TokenFileError>
) => E;

/**
 * Reads and judges `profile`'s token file of kind `file` at `path` by the rule above; returns its JSON object
 * for the kind's own checks, and `refuse`, which makes the kind's error (`Refusal`) for them.
 */
export async function readTokenFile<E extends TokenFileError>(
  path: string,
  profile: string,
  judge: TokenFileJudge,
  file: TokenFileKind,
  Refusal: TokenFileRefusal<E>,
): Promise<{
  readonly doc: Record<string, unknown>;
  readonly refuse: (kind: TokenFileProblem, reason: string, cause?: unknown) => E;
}> {
  const refuse = (kind: TokenFileProblem, reason: string, cause?: unknown) =>
    new Refusal(kind, file, profile, path, reason, cause);
  const stat = judge.stat ?? Deno.stat;
  const read = judge.read ?? readRegularFile;
  let info: Deno.FileInfo;
  try {
    info = await stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw refuse("missing", "not signed in (no such file)", e);
    throw refuse("malformed", fileErrorReason(e), e);
  }
  if (!info.isFile) throw refuse("malformed", "not a regular file");
  if (judge.uid !== null && info.uid !== null && info.uid !== judge.uid) {
    throw refuse("untrusted", `owned by uid ${info.uid}, not by you`);
  }
  if (judge.uid !== null && info.mode !== null && (info.mode & 0o022) !== 0) {
    throw refuse(
      "untrusted",
      `mode ${(info.mode & 0o777).toString(8).padStart(4, "0")}: others may write it`,
    );
  }
  let text: string;
  try {
    text = await read(path, file.maxBytes);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw refuse("missing", "not signed in (no such file)", e);
    throw refuse("malformed", fileErrorReason(e), e);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw refuse("malformed", `not a token ${file.writer} wrote (not JSON)`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw refuse("malformed", `not a token ${file.writer} wrote (not a JSON object)`);
  }
  return { doc: doc as Record<string, unknown>, refuse };
}

/** A region as a token file names it (it becomes a host name): `us-east-1`, `eusc-de-east-1`. */
export const TOKEN_REGION = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;

/** A string field that is there and not empty, else undefined. */
export function textField(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}
