/**
 * The terminal MFA prompt, an {@link MfaPrompt} for `mfa.ts`. Where it asks:
 * - stdin is a terminal — botocore runs credential_process with stdout and stderr captured but stdin
 *   inherited, the Go SDK inherits stdin and stderr: the prompt is written to that terminal through fd 0
 *   (`node:tty`), the answer is read from stdin. (Writing to `/dev/tty` is not an option: Deno refuses it
 *   without `--allow-all`.)
 * - stdin is not a terminal but stderr is: the prompt goes to stderr, the answer is read from `/dev/tty`
 *   (opening it for reading needs only the read permission the sandbox grants).
 * - neither: there is nobody to ask; the prompt answers `undefined` and the caller fails at once with a
 *   message saying how to pass the code.
 * Never stdout: that belongs to the credentials. The terminal stays in its normal (cooked) mode — the line
 * discipline echoes and edits the line — so a timeout or Ctrl-C leaves no terminal state to restore.
 */
import { MfaError } from "../errors.ts";
import type { MfaPrompt } from "./mfa.ts";
import { MFA_ENV } from "../model.ts";
import { writeAllSync } from "../output.ts";

/** A terminal to ask on. */
export interface Terminal {
  /** Shows text to the person (never on stdout). */
  write(text: string): void;
  /** Reads input bytes; `null` at end of input. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Releases what `open` acquired (a pending `read` may reject). */
  close(): void;
}

/** Finds the terminal to ask on; `undefined` when there is none. */
export type OpenTerminal = () => Promise<Terminal | undefined>;

/** Calls `handler` on an interrupt (Ctrl-C) until the returned function is called. */
export type OnInterrupt = (handler: () => void) => () => void;

/** The longest line read; a code is 6 digits. */
const MAX_LINE_BYTES = 1024;

/** Builds the prompt; the defaults use the real terminal and SIGINT. */
export function createTerminalPrompt(
  opts: { open?: OpenTerminal; onInterrupt?: OnInterrupt } = {},
): MfaPrompt {
  const open = opts.open ?? openTerminal;
  const onInterrupt = opts.onInterrupt ?? onSigint;
  return async (serial, timeoutMs) => {
    const term = await open();
    if (term === undefined) return undefined;
    const what = `MFA code for ${serial}`;
    let stop: (e: Error) => void = () => {};
    const stopped = new Promise<never>((_, reject) => stop = reject);
    const timer = setTimeout(
      () =>
        stop(
          new MfaError(what, `no code entered within ${Math.round(timeoutMs / 1000)} s`, {
            hint: `pass --token-code CODE or set ${MFA_ENV}; --mfa-timeout SECONDS changes the wait`,
          }),
        ),
      timeoutMs,
    );
    const removeInterrupt = onInterrupt(() => stop(new MfaError(what, "interrupted")));
    try {
      term.write(`Enter MFA code for ${serial}: `);
      const line = await Promise.race([readLine(term), stopped]);
      if (line === null) throw new MfaError(what, "the terminal closed before a code was entered");
      return line;
    } catch (e) {
      // Leave the terminal on a fresh line after an unanswered prompt.
      term.write("\n");
      throw e;
    } finally {
      clearTimeout(timer);
      removeInterrupt();
      term.close();
    }
  };
}

/** Reads up to a newline; `null` if input ends first. */
async function readLine(term: Terminal): Promise<string | null> {
  const chunks: number[] = [];
  const buffer = new Uint8Array(64);
  while (chunks.length < MAX_LINE_BYTES) {
    const n = await term.read(buffer);
    if (n === null || n === 0) return chunks.length > 0 ? decode(chunks) : null;
    for (const byte of buffer.subarray(0, n)) {
      if (byte === 0x0a) return decode(chunks);
      chunks.push(byte);
    }
  }
  return decode(chunks);
}

function decode(bytes: number[]): string {
  return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\r$/, "");
}

/** The real terminal, as described in the module comment. */
export async function openTerminal(): Promise<Terminal | undefined> {
  if (Deno.stdin.isTerminal()) {
    const write = await ttyWriter(0) ?? (Deno.stderr.isTerminal() ? stderrWriter : undefined);
    if (write === undefined) return undefined;
    return { write, read: (b) => Deno.stdin.read(b), close: () => {} };
  }
  if (!Deno.stderr.isTerminal()) return undefined;
  let tty: Deno.FsFile;
  try {
    tty = await Deno.open("/dev/tty", { read: true });
  } catch {
    return undefined; // no controlling terminal (or not a Unix)
  }
  let closed = false;
  return {
    write: stderrWriter,
    read: (b) => tty.read(b),
    close: () => {
      if (!closed) tty.close();
      closed = true;
    },
  };
}

function stderrWriter(text: string): void {
  writeAllSync(Deno.stderr, text);
}

/** A writer to the terminal on `fd` through `node:tty` (works without --allow-all), if it can be opened. */
async function ttyWriter(fd: number): Promise<((text: string) => void) | undefined> {
  try {
    const tty = await import("node:tty");
    const stream = new tty.WriteStream(fd);
    return (text) => void stream.write(text);
  } catch {
    return undefined;
  }
}

function onSigint(handler: () => void): () => void {
  try {
    Deno.addSignalListener("SIGINT", handler);
  } catch {
    return () => {};
  }
  return () => Deno.removeSignalListener("SIGINT", handler);
}
