/**
 * The token `credproc serve` asks every request for: a fresh random one, or the contents of `--token-file`.
 *
 * A token file is held to ssh's rule for a private key: a regular file (after symbolic links), owned by this
 * user, with no permission for the group or others (`chmod 600`). Anything else is refused at start (exit 2)
 * — anyone who can read the file can get credentials, and anyone who can write it can choose the token.
 *
 * The file is looked at again every {@link TOKEN_FILE_CHECK_MS} while serving: the SDKs read it for every
 * request (botocore, the JS SDK), so a token rotated by rewriting the file is what they send next, and the
 * old token must stop working. A file that has become unusable (removed, another mode or owner, a bad token)
 * fails closed: every request is refused until it is right again; the old token is never kept as a fallback.
 */
import { InputError } from "../errors.ts";
import { readUpTo, shellWord } from "../output.ts";

/** A token file larger than this is refused. */
export const MAX_TOKEN_FILE_BYTES = 4096;
/** Shortest token accepted from `--token-file`: anything shorter can be guessed. */
export const MIN_TOKEN_CHARS = 16;
/** How often a `--token-file` is looked at again while serving (a `stat`; read again only when it changed). */
export const TOKEN_FILE_CHECK_MS = 1000;

/** A fresh token: 32 random bytes, base64url without padding (43 characters, safe in a shell and a header). */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

const HINT = "write the token without a newline: printf %s TOKEN > FILE (chmod 600)";

/**
 * The token in a `--token-file`'s text, or an error: the SDKs send the file's bytes as the header verbatim
 * (botocore and the JS SDK refuse a line break, and would send spaces as they are), so the file must hold
 * the token alone — visible ASCII, no trailing newline, at least {@link MIN_TOKEN_CHARS} characters.
 */
export function tokenFromFile(text: string, path: string): string {
  const what = `--token-file ${path}`;
  if (/^[\x21-\x7e]*[\r\n]+$/.test(text) && text.trim() !== "") {
    throw new InputError(what, "the token ends with a line break, which the SDKs refuse to send", {
      hint: HINT,
    });
  }
  if (!/^[\x21-\x7e]*$/.test(text)) {
    throw new InputError(
      what,
      "the token may hold only visible ASCII characters (no spaces, no line breaks)",
      {
        hint: HINT,
      },
    );
  }
  if (text.length < MIN_TOKEN_CHARS) {
    throw new InputError(what, `the token is shorter than ${MIN_TOKEN_CHARS} characters`, { hint: HINT });
  }
  return text;
}

/** Compares two strings in time that depends only on their lengths, not on where they differ. */
export function sameToken(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  const n = Math.max(given.length, 1);
  for (let i = 0; i < expected.length; i++) {
    diff |= (given.charCodeAt(i % n) | 0) ^ expected.charCodeAt(i);
  }
  return diff === 0;
}

/** What the token-file rule looks at; a subset of `Deno.FileInfo`, so tests can fake it. */
export interface TokenFileFacts {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  /** null on Windows. */
  readonly mode: number | null;
  readonly uid: number | null;
  readonly size: number;
}

/**
 * Why a token file (its `stat`, symbolic links followed) must not be used, or undefined. `uid` is this
 * process's (null where unknown: then ownership is not judged, nor is the mode where the OS has none).
 */
export function judgeTokenFile(facts: TokenFileFacts, uid: number | null): string | undefined {
  if (facts.isDirectory) return "is a directory, not a file";
  if (!facts.isFile) return "not a regular file (a FIFO, device or socket)";
  if (uid !== null && facts.uid !== null && facts.uid !== uid) {
    return `it belongs to uid ${facts.uid}, not to this user (uid ${uid})`;
  }
  if (facts.mode !== null && (facts.mode & 0o077) !== 0) {
    const mode = (facts.mode & 0o777).toString(8).padStart(4, "0");
    const who = (facts.mode & 0o066) !== 0 ? "other users can read or write it" : "it is not private";
    return `its mode is ${mode}: ${who}`;
  }
  if (facts.size > MAX_TOKEN_FILE_BYTES) return `larger than ${MAX_TOKEN_FILE_BYTES} bytes`;
  return undefined;
}

/** A token file's identity and state: when any of it changes, the file is read again. */
function stamp(info: Deno.FileInfo): string {
  return [info.dev, info.ino, info.mode, info.uid, info.size, info.mtime?.getTime(), info.ctime?.getTime()]
    .join(":");
}

/** A refused token file: exit 2, with the `chmod 600` hint where the mode or owner is the problem. */
function refused(path: string, why: string): InputError {
  const hint = why.startsWith("its mode")
    ? `chmod 600 ${shellWord(path)}`
    : why.startsWith("it belongs")
    ? "use a token file of your own: printf %s TOKEN > FILE; chmod 600 FILE"
    : undefined;
  return new InputError(`--token-file ${path}`, why, hint === undefined ? {} : { hint });
}

/** Short words for a failed `stat` or read. */
function reason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return "permission denied";
  }
  if (e instanceof Deno.errors.IsADirectory) return "is a directory, not a file";
  return e instanceof Error ? e.message : String(e);
}

/**
 * Reads and judges the token file: `stat` first (a FIFO would block the open), then the opened file's own
 * `stat` is judged again (the file read is the file judged), then at most {@link MAX_TOKEN_FILE_BYTES} + 1
 * bytes. Throws an {@link InputError} (exit 2) naming the file and why.
 */
export async function readTokenFile(
  path: string,
  uid: number | null,
): Promise<{ readonly token: string; readonly stamp: string }> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw refused(path, reason(e));
  }
  const before = judgeTokenFile(info, uid);
  if (before !== undefined) throw refused(path, before);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw refused(path, reason(e));
  }
  try {
    const opened = await file.stat();
    const why = judgeTokenFile(opened, uid);
    if (why !== undefined) throw refused(path, why);
    const bytes = await readUpTo(file, MAX_TOKEN_FILE_BYTES + 1);
    if (bytes.length > MAX_TOKEN_FILE_BYTES) throw refused(path, `larger than ${MAX_TOKEN_FILE_BYTES} bytes`);
    // Lossy on purpose: invalid UTF-8 becomes U+FFFD, which the token rule refuses by name.
    return {
      token: tokenFromFile(new TextDecoder().decode(bytes), path),
      stamp: stamp(opened),
    };
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw refused(path, reason(e));
  } finally {
    file.close();
  }
}

/** The token a request must carry now, or why none is accepted (the token file became unusable). */
export type TokenState = { readonly token: string } | { readonly problem: string };

/** The token of a running server: fixed, or a `--token-file` looked at again every second. */
export interface TokenSource {
  /** The token in force (synchronous: the file is looked at in the background). */
  current(): TokenState;
  /** Stops looking at the file. */
  stop(): void;
}

/** A token that never changes (the generated one). */
export function fixedToken(token: string): TokenSource {
  const state = { token };
  return { current: () => state, stop: () => {} };
}

/**
 * The token of `path`, first read at start (`initial`), then looked at every `everyMs`: a change of the
 * file (identity, mode, owner, size, times) reads it again; a read that fails makes every request fail
 * until the file is right again. `onChange` hears each new state once (the CLI registers the new token as
 * a secret, and says when the file becomes unusable or usable again).
 */
export function watchedTokenFile(
  path: string,
  uid: number | null,
  initial: { readonly token: string; readonly stamp: string },
  onChange: (state: TokenState) => void,
  everyMs = TOKEN_FILE_CHECK_MS,
): TokenSource {
  let state: TokenState = { token: initial.token };
  let seen = initial.stamp;
  let busy = false;
  const check = async () => {
    if (busy) return;
    busy = true;
    try {
      let now: string;
      try {
        now = stamp(await Deno.stat(path));
      } catch (e) {
        now = `missing:${reason(e)}`;
      }
      if (now === seen && "token" in state) return;
      seen = now;
      let next: TokenState;
      try {
        const read = await readTokenFile(path, uid);
        seen = read.stamp;
        next = { token: read.token };
      } catch (e) {
        next = { problem: e instanceof InputError ? `${e.what}: ${e.message}` : String(e) };
      }
      const changed = "token" in next
        ? !("token" in state) || state.token !== next.token
        : !("problem" in state) || state.problem !== next.problem;
      state = next;
      if (changed) onChange(next);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(check, everyMs);
  Deno.unrefTimer(timer);
  return { current: () => state, stop: () => clearInterval(timer) };
}
