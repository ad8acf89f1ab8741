/**
 * The `--log-file` / `CREDPROC_LOG_FILE` sink, checked like a file credproc reads: a regular file (or a new
 * one) is appended to, `/dev/null` discards (a common idiom), and anything else — a FIFO, a socket, a
 * directory, another device, a symlink to one of those — is left alone without blocking. The log is best
 * effort: it never fails the call; why it was not written is one `--verbose` note.
 *
 * No step can block: the path is `stat`ed first (a FIFO is refused before any open), and the open that
 * follows is read-write, which Linux (and the BSDs) never block on a FIFO, so a FIFO swapped in between the
 * check and the open is opened at once, seen by `fstat` and closed unwritten. Only a log file the user may
 * write but not read is opened write-only, after the same check; that leaves a swap in the instant between
 * the check and the open, on such a file alone.
 */

/** Why a path cannot take log lines, or `undefined` when it is a regular file (or none yet). */
function refusal(info: Deno.FileInfo): string | undefined {
  if (info.isFile) return undefined;
  if (info.isDirectory) return "it is a directory";
  if (info.isFifo) return "it is a FIFO, not a regular file";
  if (info.isSocket) return "it is a socket, not a regular file";
  if (info.isCharDevice || info.isBlockDevice) return "it is a device, not a regular file";
  return "it is not a regular file";
}

/** The device number of `/dev/null`, when there is one. */
function devNull(): number | null | undefined {
  try {
    const info = Deno.statSync("/dev/null");
    return info.isCharDevice ? info.rdev : undefined;
  } catch {
    return undefined;
  }
}

/** Short words for a failed open or write (no path: the note names it already). */
function reason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "its directory does not exist";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "it is a directory";
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" ? code : "it cannot be written";
}

/**
 * A sink that appends each line given (already one printable line, without newline) to `path`, created
 * 0600. After the first refusal or failure it stops and calls `note` once with the reason.
 */
export function logFileSink(path: string, note: (why: string) => void): (line: string) => void {
  let done = false;
  const stop = (why: string) => {
    done = true;
    note(why);
  };
  const encoder = new TextEncoder();
  return (line) => {
    if (done) return;
    try {
      let info: Deno.FileInfo | undefined;
      try {
        info = Deno.statSync(path);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      if (info !== undefined && info.isCharDevice && info.rdev === devNull()) return; // /dev/null: discard
      const refused = info && refusal(info);
      if (refused !== undefined) return stop(refused);
      const file = openNonBlocking(path);
      try {
        const refusedNow = refusal(file.statSync());
        if (refusedNow !== undefined) return stop(refusedNow);
        const bytes = encoder.encode(`${line}\n`);
        for (let off = 0; off < bytes.length;) off += file.writeSync(bytes.subarray(off));
      } finally {
        file.close();
      }
    } catch (e) {
      stop(reason(e));
    }
  };
}

/** Opens `path` for appending without blocking on a FIFO: read-write first, write-only for a file we may not read. */
export function openNonBlocking(path: string): Deno.FsFile {
  const options = { append: true, create: true, mode: 0o600 } as const;
  try {
    return Deno.openSync(path, { ...options, read: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.PermissionDenied)) throw e;
    return Deno.openSync(path, options);
  }
}
