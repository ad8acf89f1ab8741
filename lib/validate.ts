/**
 * Value shapes: one validator per shape of value, shared by the flag parser and the planner, so a region or a
 * policy is checked the same way wherever it comes from. A validator takes the value and what to call it in
 * the message (`--region`), and returns the value (or what it parses to) or throws bad input (exit 2).
 */
import { UsageError } from "./errors.ts";
import { PARTITION_NAME, REGION_LABEL } from "./partitions.ts";
import { type Format, FORMATS, isFormat, type Tag } from "./model.ts";
import { quoteArg } from "./suggest.ts";

/** `value` when it matches `pattern`; else bad input naming `what` and what was `expected` (the value quoted). */
export function matching(what: string, value: string, pattern: RegExp, expected: string): string {
  if (!pattern.test(value)) throw new UsageError(what, `${quoteArg(value)} is not ${expected}`);
  return value;
}

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
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

/** A region name (from a flag, or anything else that must name a region). */
export function validateRegion(value: string, what = "--region"): string {
  return matching(what, value, REGION, "an AWS region such as us-east-1");
}

/** A role ARN (see {@link ROLE_ARN}). */
export function validateRoleArn(value: string, what: string): string {
  return matching(what, value, ROLE_ARN, ROLE_ARN_EXPECTED);
}

/** STS's `RoleSessionName` and `SourceIdentity` share one shape: 2-64 of `[\w+=,.@-]`. */
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** A role session name or a source identity. */
export function validateSessionName(value: string, what: string): string {
  return matching(what, value, SESSION_NAME, "2-64 characters of letters, digits and +=,.@_-");
}

const EXTERNAL_ID = /^[\w+=,.@:\/-]{2,1224}$/;

/** An external id (`ExternalId`: 2-1224 characters). */
export function validateExternalId(value: string, what: string): string {
  return matching(what, value, EXTERNAL_ID, "2-1224 characters of letters, digits and +=,.@:/_-");
}

const SERIAL_NUMBER = /^[\w+=\/:,.@-]{9,256}$/;

/** An MFA device: its ARN or a hardware token's serial number (`SerialNumber`: 9-256 characters). */
export function validateSerialNumber(value: string, what: string): string {
  return matching(what, value, SERIAL_NUMBER, "an MFA device ARN or serial number (9-256 characters)");
}

/** An MFA code: 6 digits, wherever it comes from (flag, environment, prompt). */
export const MFA_CODE = /^\d{6}$/;

/** An MFA code from a flag. Never echoed: a mistyped code (`123 456`) is still a code. */
export function validateTokenCode(value: string, what: string): string {
  if (!MFA_CODE.test(value)) throw new UsageError(what, "is not 6 digits (the value is not shown)");
  return value;
}

const POLICY_ARN = new RegExp(
  `^arn:${PARTITION_NAME}:iam::(?:\\d{12}|aws):policy\\/(?:[\\x21-\\x7e]*\\/)?[\\w+=,.@-]{1,128}$`,
);

/** A managed policy ARN (an AWS managed one, `arn:aws:iam::aws:policy/…`, or an account's). */
export function validatePolicyArn(value: string, what: string): string {
  return matching(
    what,
    value,
    POLICY_ARN,
    "an IAM policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess",
  );
}

/** Managed session policies: `MaxItems: 10`; session tags: `MaxItems: 50` in the STS API. */
export const MAX_POLICY_ARNS = 10;
export const MAX_TAGS = 50;

/** The characters STS allows in a tag key or value. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:\/=+\-@]*$/u;

/** A session tag written `KEY=VALUE` (key 1-128, value 0-256 of STS's tag characters). */
export function validateTag(text: string, what: string): Tag {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(what, `${JSON.stringify(text)} is not KEY=VALUE`);
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (key.length > 128 || !TAG_TEXT.test(key)) {
    throw new UsageError(
      what,
      `key ${JSON.stringify(key)} must be 1-128 letters, digits, spaces or _.:/=+-@`,
    );
  }
  if (value.length > 256 || !TAG_TEXT.test(value)) {
    throw new UsageError(
      what,
      `value of ${JSON.stringify(key)} must be 0-256 letters, digits, spaces or _.:/=+-@`,
    );
  }
  return { key, value };
}

/** One of the output formats. */
export function validateFormat(value: string, what: string): Format {
  if (isFormat(value)) return value;
  throw new UsageError(what, `${JSON.stringify(value)} is not one of ${FORMATS.join(", ")}`);
}

/** Env variables the sandbox lets credproc read, so the only ones a token variable may be. */
const TOKEN_ENV_NAME = /^(?:AWS|CREDPROC)_[A-Za-z0-9_]+$/;

/** The name of a variable that holds a web identity token: one the sandbox lets credproc read. */
export function validateTokenEnvName(value: string, what: string): string {
  if (TOKEN_ENV_NAME.test(value)) return value;
  throw new UsageError(
    what,
    `${
      JSON.stringify(value)
    } is not readable in the sandbox: name a variable starting with AWS_ or CREDPROC_`,
  );
}

/** An EKS cluster name. */
export function validateClusterName(value: string, what: string): string {
  return matching(
    what,
    value,
    CLUSTER_NAME,
    "an EKS cluster name (1-100 letters, digits, - and _, starting with a letter or digit)",
  );
}

/** A flag's whole number from `min` to `max` (see {@link wholeNumberIn}). */
export function wholeNumber(value: string, what: string, min: number, max: number): number {
  const n = wholeNumberIn(value, min, max);
  if (n === undefined) {
    throw new UsageError(what, `${quoteArg(value)} is not ${wholeNumberExpected(min, max)}`);
  }
  return n;
}

/** A flag value that must not be empty (compare {@link ifSet} for environment values, where empty is unset). */
export function nonEmpty(value: string, what: string): string {
  if (value === "") throw new UsageError(what, "must not be empty");
  return value;
}

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
