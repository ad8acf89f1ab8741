/**
 * Value shapes shared by the flag parser and the planner, so a region or a policy is checked the same way
 * wherever it comes from.
 */
import { UsageError } from "./errors.ts";

/** AWS region names (`us-east-1`, `cn-north-1`, `us-gov-west-1`, `eu-isoe-west-1`) and STS's `aws-global`. */
export const REGION = /^(?:[a-z]{2}(?:-[a-z]+)+-\d{1,2}|aws-global)$/;
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
