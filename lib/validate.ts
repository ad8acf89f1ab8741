/**
 * Value shapes shared by the flag parser and the planner, so a region or a policy is checked the same way
 * wherever it comes from.
 */
import { UsageError } from "./errors.ts";
import { PARTITION_NAME, REGION_LABEL } from "./partitions.ts";

/** AWS region names (`us-east-1`, `cn-north-1`, `us-gov-west-1`, `eu-isoe-west-1`) and STS's `aws-global`. */
export const REGION = new RegExp(`^(?:${REGION_LABEL}|aws-global)$`);
/**
 * IAM role ARNs: a partition, a 12-digit account, an optional path and a name of 1–64 of IAM's characters.
 * The one check for a role ARN from `--role-arn`, a profile's `role_arn` and `AWS_ROLE_ARN` alike.
 */
export const ROLE_ARN = new RegExp(
  `^arn:${PARTITION_NAME}:iam::\\d{12}:role\\/(?:[\\x21-\\x7e]*\\/)?[\\w+=,.@-]{1,64}$`,
);
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

/** Why a URL may not be used, and what to do instead. */
export interface UrlProblem {
  readonly why: string;
  readonly hint?: string;
}

/**
 * What a URL must be for one use (`--endpoint-url`, `--destination`, a sign-in endpoint), checked in this
 * order: length, characters, URL syntax, scheme, no user info, port, query, then the use's own rule.
 */
export interface UrlRule {
  /** The schemes taken (`https`, or `http` and `https`). */
  readonly schemes: readonly ("http" | "https")[];
  /** The longest value taken, in characters. */
  readonly maxChars?: number;
  /** Refuse white space, control and format characters: the URL parser would drop or encode them silently. */
  readonly printable?: boolean;
  /** Refuse a port. */
  readonly noPort?: boolean;
  /** Refuse a query or a fragment. */
  readonly noQuery?: boolean;
  /** The use's own rule for the parsed URL (its host, scheme, port or path): the problem, or undefined. */
  readonly check?: (url: URL) => UrlProblem | undefined;
}

/** `value` as a URL that satisfies `rule`, or the first problem found. The one URL check credproc has. */
export function urlProblem(value: string, rule: UrlRule): URL | UrlProblem {
  if (rule.maxChars !== undefined && value.length > rule.maxChars) {
    return { why: `longer than ${rule.maxChars} characters` };
  }
  if (rule.printable && /[\s\p{Cc}\p{Cf}]/u.test(value)) {
    return { why: "must not contain spaces or control characters (percent-encode them)" };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { why: `${JSON.stringify(value)} is not a URL` };
  }
  if (!rule.schemes.some((s) => url.protocol === `${s}:`)) {
    return { why: `${JSON.stringify(value)} must use ${rule.schemes.join(" or ")}` };
  }
  if (url.username !== "" || url.password !== "") return { why: "must not contain credentials" };
  if (rule.noPort && url.port !== "") return { why: "must not name a port" };
  if (rule.noQuery && (url.search !== "" || url.hash !== "")) {
    return { why: "must not have a query or a fragment" };
  }
  return rule.check?.(url) ?? url;
}

/** {@link urlProblem} for a flag or variable: the URL, or a {@link UsageError} (exit 2) naming `what`. */
export function validateUrl(value: string, what: string, rule: UrlRule): URL {
  const url = urlProblem(value, rule);
  if (url instanceof URL) return url;
  throw new UsageError(what, url.why, url.hint === undefined ? {} : { hint: url.hint });
}
