/**
 * Value shapes shared by the flag parser and the planner, so a region or a policy is checked the same way
 * wherever it comes from.
 */
import { UsageError } from "./errors.ts";

/** AWS region names (`us-east-1`, `cn-north-1`, `us-gov-west-1`, `eu-isoe-west-1`) and STS's `aws-global`. */
export const REGION = /^(?:[a-z]{2}(?:-[a-z]+)+-\d{1,2}|aws-global)$/;
/**
 * IAM role ARNs: a partition, a 12-digit account, an optional path and a name of 1–64 of IAM's characters.
 * The one check for a role ARN from `--role-arn`, a profile's `role_arn` and `AWS_ROLE_ARN` alike.
 */
export const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/(?:[\x21-\x7e]*\/)?[\w+=,.@-]{1,64}$/;
/** What a message says a role ARN must be. */
export const ROLE_ARN_EXPECTED = "an IAM role ARN such as arn:aws:iam::123456789012:role/name";

/** EKS cluster names (`CreateCluster`): 1-100 letters, digits, `-` and `_`, a letter or digit first. */
export const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

/**
 * `value` as a whole number from `min` to `max` (decimal digits only), or `undefined` when it is not one; the
 * caller words the error with {@link wholeNumberExpected}. Flags, profile values and variables alike.
 */
export function wholeNumberIn(value: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n < min || n > max ? undefined : n;
}

/** What a message says a whole number must be. */
export function wholeNumberExpected(min: number, max: number): string {
  return `a whole number from ${min} to ${max}`;
}

/** A value from the environment or a profile, or `undefined` when unset or empty (both mean "not set"). */
export function ifSet(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** STS limits the session policy to 2048 characters once whitespace is removed. */
export const MAX_POLICY_CHARS = 2048;

/** Validates a session policy document: JSON, at most 2048 characters without whitespace. Returns it minified. */
export function validatePolicy(text: string, what: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    // V8's messages quote the input ("Unexpected token 'w', "wJalrXUtnF"... is not valid JSON"): a secret file
    // named by mistake must never reach stderr, so only the position is kept.
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new UsageError(what, `not valid JSON${at === undefined ? "" : ` (error at character ${at})`}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError(what, "a policy document must be a JSON object");
  }
  const minified = JSON.stringify(parsed);
  if (minified.length > MAX_POLICY_CHARS) {
    throw new UsageError(
      what,
      `policy is ${minified.length} characters without whitespace; STS allows ${MAX_POLICY_CHARS}`,
    );
  }
  return minified;
}

/** Control characters (C0, DEL, C1) and the Unicode line and paragraph separators. */
const CONTROL_CHARACTER = /[\p{Cc}\u2028\u2029]/u;

/**
 * Whether a key, token or code holds a control character — a stray line break pasted with it, binary garbage.
 * Such a value is refused before any request: sent as a header it fails with an error that quotes it.
 */
export function hasControlCharacter(value: string): boolean {
  return CONTROL_CHARACTER.test(value);
}

/** The reason given for such a value: never the value itself. */
export const CONTROL_CHARACTER_REASON =
  "holds a control character (a stray line break?); the value is not shown";
