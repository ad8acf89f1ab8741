/**
 * "Did you mean …?" for the command line and the profile names in the shared files: the closest known name by
 * edit distance (optimal string alignment: insertions, deletions, substitutions and swaps of two neighbours
 * each cost 1). Pure; a leaf (the planner suggests profile names, the argument parser options and words).
 */

/** Edit distance between `a` and `b` (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => {
    const row = new Array<number>(cols).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[rows - 1][cols - 1];
}

/** Arguments longer than this get no suggestion (the longest option name is a few dozen characters). */
export const MAX_SUGGEST_LENGTH = 200;

/** Characters of an unknown argument quoted in an error line; the rest is cut and marked with `…`. */
export const MAX_QUOTED_LENGTH = 80;

/** An argument quoted for an error line (`"--x…"`), at most {@link MAX_QUOTED_LENGTH} characters of it. */
export function quoteArg(arg: string): string {
  // MAX + 1 characters take at most 2 (MAX + 1) code units: enough to tell whether anything is cut.
  const chars = [...arg.slice(0, (MAX_QUOTED_LENGTH + 1) * 2)];
  return chars.length > MAX_QUOTED_LENGTH
    ? `${JSON.stringify(chars.slice(0, MAX_QUOTED_LENGTH).join(""))}…`
    : JSON.stringify(arg);
}

/**
 * The known name closest to `given`, if it is close enough to be a typo: at most 2 edits, and at most a third
 * of the name's length for longer ones (so `--tag` is not offered for `--foo`). Ties go to the first in `known`.
 */
export function closest(given: string, known: readonly string[]): string | undefined {
  // Nothing this long is a typo of a name, and the distance matrix grows with the product of both lengths.
  if (given.length > MAX_SUGGEST_LENGTH) return undefined;
  const word = given.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    // The distance is at least the difference in length: a name more than 2 longer or shorter cannot win.
    if (Math.abs(word.length - name.length) > 2) continue;
    const distance = editDistance(word, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(1, Math.min(2, Math.floor(best.length / 3)));
  return bestDistance <= allowed ? best : undefined;
}

/**
 * A suggestion for an unknown option as typed (`--role-ar`, `-role-arn`, `--Role-Arn=x`): the option's name
 * with its dashes and any `=value` taken off, matched against the long option names. Returns `--name`.
 */
export function suggestOption(arg: string, longNames: readonly string[]): string | undefined {
  const name = arg.replace(/^-+/, "").replace(/=.*$/s, "");
  if (name === "") return undefined;
  const found = closest(name, longNames);
  return found === undefined ? undefined : `--${found}`;
}

/** Longest profile name offered as a suggestion (what is offered is printed in a hint line). */
export const MAX_SUGGESTED_NAME = 64;

/**
 * Whether a name read from a file looks like a credential rather than a name: an access key id, or a run of
 * 20 or more base64 characters mixing upper case, lower case and digits (a secret key, a token). A section
 * named with a pasted key must never be echoed back as a suggestion.
 */
export function looksSecret(name: string): boolean {
  if (/(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}/.test(name)) return true;
  return (name.match(/[A-Za-z0-9+/=]{20,}/g) ?? []).some((run) =>
    /[a-z]/.test(run) && /[A-Z]/.test(run) && /\d/.test(run)
  );
}

/** Names compared at most (the first in the files' order): a suggestion stays cheap whatever the files hold. */
export const MAX_SUGGEST_CANDIDATES = 1000;

/**
 * The profile name closest to `given` among `names` (the sections of the shared files), under the same rule as
 * {@link closest}. Only plain names are offered: printable ASCII without spaces, at most
 * {@link MAX_SUGGESTED_NAME} characters, nothing {@link looksSecret}; only the first
 * {@link MAX_SUGGEST_CANDIDATES} such names are compared.
 */
export function suggestName(given: string, names: Iterable<string>): string | undefined {
  const plain: string[] = [];
  for (const n of names) {
    if (plain.length >= MAX_SUGGEST_CANDIDATES) break;
    if (n.length <= MAX_SUGGESTED_NAME && /^[\x21-\x7e]+$/.test(n) && !looksSecret(n)) plain.push(n);
  }
  return closest(given, plain);
}
