/**
 * The one leak detector of the secret-hygiene tests: does a text hold a secret, or a piece of one, in any
 * shape the secret can take on its way out — as it is, folded onto one line, JSON-escaped (failures.json,
 * failure markers), escaped for a terminal (stderr, the log file), or with its breaks dropped?
 *
 * A piece is {@link LEAK_PIECE} characters, the smallest window the suites ever used: a truncated answer or a
 * secret split across two lines still leaves 8 characters in a row, and an 8-character run of a random key or
 * token does not turn up in credproc's output by chance. A secret shorter than a piece is looked for whole.
 */
import assert from "node:assert/strict";
import { escapeControls as printable, oneLine } from "../../lib/output.ts";

/** How many characters in a row of a secret count as a leak. */
export const LEAK_PIECE = 8;

/** The shapes a secret takes on its way into a line or a file, by name. */
export const SECRET_SHAPES: Readonly<Record<string, (s: string) => string>> = {
  raw: (s) => s,
  oneLine: (s) => oneLine(s),
  json: (s) => JSON.stringify(s).slice(1, -1),
  printable: (s) => printable(s),
  "printable(oneLine)": (s) => printable(oneLine(s)),
  "json(oneLine)": (s) => JSON.stringify(oneLine(s)).slice(1, -1),
  dropped: (s) => s.replace(/[\p{Cc}\s\u2028\u2029]/gu, ""),
};

/** Every {@link LEAK_PIECE}-character piece of every shape of `secret` that `text` holds (none: no leak). */
export function leaks(text: string, secret: string): string[] {
  const found = new Set<string>();
  for (const shape of Object.values(SECRET_SHAPES)) {
    const form = shape(secret);
    if (form.length < LEAK_PIECE) {
      if (form !== "" && text.includes(form)) found.add(form);
      continue;
    }
    for (let i = 0; i + LEAK_PIECE <= form.length; i++) {
      const piece = form.slice(i, i + LEAK_PIECE);
      if (text.includes(piece)) found.add(piece);
    }
  }
  return [...found];
}

/** Fails the test when `text` holds a piece of any of `secrets` ({@link leaks}); `where` names the text. */
export function assertNoLeak(text: string, secrets: string | readonly string[], where: string): void {
  for (const secret of typeof secrets === "string" ? [secrets] : secrets) {
    const pieces = leaks(text, secret);
    assert.deepEqual(pieces, [], `${JSON.stringify(secret)} in ${where}:\n${text}`);
  }
}
