/**
 * argv → {@link Command}. Pure: no I/O, no environment. Every flag value is validated here, so a bad value
 * fails before anything is read or sent. Files named by flags (policy, token) are read later, in `lib/plan/referenced_files.ts`.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import {
  type AssumeOptions,
  type Format,
  FORMATS,
  isFormat,
  type PolicySource,
  type Tag,
  type TokenSource,
} from "../model.ts";
import { ALLOWED_URL } from "../sandbox.ts";
import { oneLine } from "../output.ts";
import {
  CLUSTER_NAME,
  REGION,
  ROLE_ARN,
  ROLE_ARN_EXPECTED,
  validatePolicy,
  validateUrl,
  wholeNumberExpected,
  wholeNumberIn,
} from "../validate.ts";
import { closest, quoteArg, suggestOption } from "../suggest.ts";
import { validateDestination } from "../console/destination.ts";

/** The parsed command line: a tagged union handled by an exhaustive switch in `cli.ts`. */
export type Command =
  /** `--help`, `-h` or `help`: the whole page, or one command's own (`credproc serve --help`). */
  | { readonly kind: "help"; readonly topic?: HelpTopic }
  /** No arguments at all: the short usage, on stderr, exit 2. */
  | { readonly kind: "usage" }
  | { readonly kind: "version" }
  | { readonly kind: "assume"; readonly options: AssumeOptions }
  /** `credproc eks-token --cluster-name NAME [role options]`: a Kubernetes ExecCredential for an EKS cluster. */
  | { readonly kind: "eksToken"; readonly options: AssumeOptions; readonly clusterName: string }
  /** `credproc console [role options]`: a console sign-in URL for the assumed role. */
  | { readonly kind: "console"; readonly options: AssumeOptions; readonly destination?: string }
  /** `credproc serve [role options]`: a container-credentials endpoint on 127.0.0.1. */
  | {
    readonly kind: "serve";
    readonly options: AssumeOptions;
    readonly port?: number;
    readonly tokenFile?: string;
  }
  | { readonly kind: "cacheClear"; readonly cacheDir?: string; readonly verbose: boolean }
  | { readonly kind: "cacheList"; readonly cacheDir?: string; readonly json: boolean };

/** The commands with a usage of their own. */
export const HELP_TOPICS = ["console", "serve", "eks-token", "cache", "cache list", "cache clear"] as const;
/** A command with a usage of its own. */
export type HelpTopic = typeof HELP_TOPICS[number];

/** Defaults that the usage text quotes. */
export const DEFAULT_TIMEOUT_SECONDS = 20;
export const DEFAULT_MFA_TIMEOUT_SECONDS = 60;

const POLICY_ARN = /^arn:aws(?:-[a-z]+)*:iam::(?:\d{12}|aws):policy\/(?:[\x21-\x7e]*\/)?[\w+=,.@-]{1,128}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:\/-]{2,1224}$/;
const SOURCE_IDENTITY = /^[\w+=,.@-]{2,64}$/;
const SERIAL_NUMBER = /^[\w+=\/:,.@-]{9,256}$/;
const TOKEN_CODE = /^\d{6}$/;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:\/=+\-@]*$/u;
/** Env variables the sandbox lets credproc read, so the only ones `--web-identity-token-env` may name. */
const TOKEN_ENV_NAME = /^(?:AWS|CREDPROC)_[A-Za-z0-9_]+$/;
/** Managed session policies: `MaxItems: 10`; session tags: `MaxItems: 50` in the STS API. */
const MAX_POLICY_ARNS = 10;
const MAX_TAGS = 50;
const OPTIONS = {
  "role-arn": { type: "string", multiple: true },
  "role-session-name": { type: "string", multiple: true },
  "duration-seconds": { type: "string", multiple: true },
  "external-id": { type: "string", multiple: true },
  "source-identity": { type: "string", multiple: true },
  "serial-number": { type: "string", multiple: true },
  "token-code": { type: "string", multiple: true },
  "policy": { type: "string", multiple: true },
  "policy-file": { type: "string", multiple: true },
  "policy-arn": { type: "string", multiple: true },
  "tag": { type: "string", multiple: true },
  "transitive-tag-key": { type: "string", multiple: true },
  "region": { type: "string", multiple: true },
  "endpoint-url": { type: "string", multiple: true },
  "format": { type: "string", multiple: true },
  "timeout": { type: "string", multiple: true },
  "profile": { type: "string", multiple: true },
  "web-identity-token-file": { type: "string", multiple: true },
  "web-identity-token-env": { type: "string", multiple: true },
  "mfa-session": { type: "boolean", multiple: true },
  "mfa-session-duration": { type: "string", multiple: true },
  "mfa-timeout": { type: "string", multiple: true },
  "cache-dir": { type: "string", multiple: true },
  "no-cache": { type: "boolean", multiple: true },
  "refresh": { type: "boolean", multiple: true },
  "refresh-margin": { type: "string", multiple: true },
  "include-account-id": { type: "boolean", multiple: true },
  "log-file": { type: "string", multiple: true },
  "json": { type: "boolean", multiple: true },
  "destination": { type: "string", multiple: true },
  "port": { type: "string", multiple: true },
  "token-file": { type: "string", multiple: true },
  "cluster-name": { type: "string", multiple: true },
  "verbose": { type: "boolean", short: "v", multiple: true },
  "help": { type: "boolean", short: "h", multiple: true },
  "version": { type: "boolean", short: "V", multiple: true },
} as const;

type Values = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]["type"] extends "string" ? string[] : boolean[];
};

const REPEATABLE = new Set(["role-arn", "policy-arn", "tag", "transitive-tag-key"]);

/** The words that may come first without dashes. */
const SUBCOMMANDS = ["cache", "console", "serve", "eks-token", "help"];
const CACHE_SUBCOMMANDS = ["list", "clear"];

/**
 * What a look over raw argv finds before the strict parse: `--help`/`--version` (which win over any other
 * mistake on the line), and the first option credproc does not know. Values of string options are skipped,
 * as the parser will take them; nothing after `--` is an option.
 */
function scan(
  argv: readonly string[],
): { help: boolean; version: boolean; unknown?: string; words: string[] } {
  const shorts = new Map<string, string>();
  for (const [name, o] of Object.entries(OPTIONS)) {
    if ("short" in o) shorts.set(o.short, name);
  }
  let help = false;
  let version = false;
  let unknown: string | undefined;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") break;
    if (!a.startsWith("-") || a === "-") {
      if (words.length === 0 && a === "help") help = true;
      words.push(a);
      continue;
    }
    if (a.startsWith("--")) {
      const name = a.slice(2).replace(/=.*$/s, "");
      const option = (OPTIONS as Record<string, { type: string }>)[name];
      if (option === undefined) {
        unknown ??= a.replace(/=.*$/s, "");
        continue;
      }
      if (name === "help") help = true;
      if (name === "version") version = true;
      if (option.type === "string" && !a.includes("=")) i++;
      continue;
    }
    // `-v`, `-hV`: every letter a known short flag; anything else (`-role-arn`) is one unknown option.
    const letters = [...a.slice(1)];
    if (!letters.every((c) => shorts.has(c))) {
      unknown ??= a;
      continue;
    }
    if (letters.some((c) => shorts.get(c) === "help")) help = true;
    if (letters.some((c) => shorts.get(c) === "version")) version = true;
  }
  return { help, version, unknown, words };
}

/**
 * The command whose usage `--help` asks for, from the words on the line (`help` first is dropped, so
 * `credproc help serve` is `credproc serve --help`): the longest known one they start with, else the whole page.
 */
function helpTopic(words: readonly string[]): HelpTopic | undefined {
  const [first, second] = words[0] === "help" ? words.slice(1) : words;
  if (first === "cache" && (second === "list" || second === "clear")) return `cache ${second}`;
  return HELP_TOPICS.find((t) => t === first);
}

/** What `Deno.args` puts where argv had bytes that are not UTF-8 (it decodes lossily). */
export const REPLACEMENT_CHARACTER = "\uFFFD";

/**
 * Argv that was not valid UTF-8 is bad input, as it is in the environment: `Deno.args` turns such bytes into
 * U+FFFD, so two different `--cache-dir` paths would name one directory. A U+FFFD typed on purpose cannot be
 * told apart and is refused too. The line names the argument by position and flag, never its bytes.
 */
function refuseInvalidUtf8(argv: readonly string[]): void {
  const i = argv.findIndex((a) => a.includes(REPLACEMENT_CHARACTER));
  if (i < 0) return;
  const options = OPTIONS as Record<string, { type: string }>;
  const a = argv[i];
  const name = a.startsWith("--") ? a.slice(2).replace(/=.*$/s, "") : undefined;
  const before = i > 0 && argv[i - 1].startsWith("--") ? argv[i - 1].slice(2) : undefined;
  const which = name !== undefined && options[name] !== undefined
    ? ` (the value of --${name})`
    : before !== undefined && options[before]?.type === "string"
    ? ` (the value of --${before})`
    : "";
  throw new UsageError("bad arguments", `argument ${i + 1}${which} is not valid UTF-8`, {
    hint:
      "pass paths and values as UTF-8 (a file name in another encoding cannot be named on the command line)",
  });
}

/** The hint of a usage error that has no better one. */
const HELP_HINT = "run credproc --help for usage";

/** The usage error for an option credproc does not know, with a suggestion when one is close. */
function unknownOption(arg: string): UsageError {
  const suggestion = suggestOption(arg, Object.keys(OPTIONS));
  return new UsageError("bad arguments", `unknown option ${quoteArg(arg)}`, {
    hint: suggestion ? `did you mean ${suggestion}?` : HELP_HINT,
  });
}

/**
 * The usage error for a word credproc does not expect, with a suggestion when one is close; when none is and
 * the choice is small (the cache commands), the hint names every choice.
 */
function unexpectedWord(
  word: string,
  known: readonly string[],
  prefix: string,
  listChoices = false,
): UsageError {
  const suggestion = closest(word, known);
  const choices = known.map((k) => `credproc ${prefix}${k}`).join(" or ");
  return new UsageError("bad arguments", `unexpected argument ${quoteArg(word)}`, {
    hint: suggestion
      ? `did you mean credproc ${prefix}${suggestion}?`
      : listChoices
      ? `did you mean ${choices}?`
      : HELP_HINT,
  });
}

/**
 * Parses and validates argv (without the program name). Throws {@link UsageError}; a mistake on a command's
 * line points at that command's usage (`run credproc serve --help for usage`).
 */
export function parseCommand(argv: readonly string[]): Command {
  // Nothing at all: a first try, not a call with a role in the environment (bare credproc used to fail with
  // "profile default has no role_arn"). Any argument, `-v` included, still plans from the environment.
  if (argv.length === 0) return { kind: "usage" };
  refuseInvalidUtf8(argv);
  const scanned = scan(argv);
  if (scanned.help) {
    const topic = helpTopic(scanned.words);
    return topic === undefined ? { kind: "help" } : { kind: "help", topic };
  }
  if (scanned.version) return { kind: "version" };
  const topic = helpTopic(scanned.words);
  try {
    return parseScanned(argv, scanned.unknown);
  } catch (e) {
    if (topic === undefined || !(e instanceof UsageError) || e.hint !== HELP_HINT) throw e;
    throw new UsageError(e.what, e.message, {
      hint: `run credproc ${topic} --help for usage`,
      cause: e.cause,
    });
  }
}

/** {@link parseCommand} past `--help` and `--version`. */
function parseScanned(argv: readonly string[], unknown: string | undefined): Command {
  if (unknown !== undefined) throw unknownOption(unknown);
  const { flags, positionals } = parseFlags(argv);
  if (flags.flag("help")) return { kind: "help" };
  if (flags.flag("version")) return { kind: "version" };
  const cacheDir = optional(flags.one("cache-dir"), "--cache-dir", rejectEmpty);
  if (positionals[0] === "console" || positionals[0] === "serve" || positionals[0] === "eks-token") {
    return roleCommand(positionals, flags, cacheDir);
  }
  onlyWith(flags, "cluster-name", "eks-token");
  onlyWith(flags, "destination", "console");
  onlyWith(flags, "port", "serve");
  onlyWith(flags, "token-file", "serve");
  if (positionals.length > 0) return cacheCommand(positionals, flags, cacheDir);
  if (flags.flag("json")) throw new UsageError("--json", "only makes sense with credproc cache list");
  return { kind: "assume", options: assumeOptions(flags, cacheDir) };
}

/** A flag that belongs to one subcommand, given without it. */
function onlyWith(flags: Flags, name: keyof Values, subcommand: string): void {
  if (flags.one(name) !== undefined) {
    throw new UsageError(`--${name}`, `only makes sense with credproc ${subcommand}`);
  }
}

/** `credproc console` and `credproc serve`: the assume options, plus each one's own flags. */
function roleCommand(positionals: readonly string[], flags: Flags, cacheDir: string | undefined): Command {
  if (positionals.length > 1) throw unexpectedWord(positionals[1], [], "");
  if (flags.flag("json")) throw new UsageError("--json", "only makes sense with credproc cache list");
  const options = assumeOptions(flags, cacheDir);
  if (positionals[0] === "eks-token") return eksTokenCommand(flags, options);
  onlyWith(flags, "cluster-name", "eks-token");
  if (positionals[0] === "console") {
    onlyWith(flags, "port", "serve");
    onlyWith(flags, "token-file", "serve");
    // It prints one URL: an output format or an account id would be ignored, so they are refused.
    if (flags.one("format") !== undefined) {
      throw new UsageError("--format", "does not apply to credproc console (it prints one URL)");
    }
    if (flags.flag("include-account-id")) {
      throw new UsageError("--include-account-id", "does not apply to credproc console (it prints one URL)");
    }
    return {
      kind: "console",
      options,
      destination: optional(flags.one("destination"), "--destination", validateDestination),
    };
  }
  onlyWith(flags, "destination", "console");
  if (flags.one("format") !== undefined) {
    throw new UsageError("--format", "does not apply to credproc serve (it prints export lines for sh)");
  }
  return {
    kind: "serve",
    options,
    port: optional(flags.one("port"), "--port", (v, n) => integer(v, n, 0, 65535)),
    tokenFile: optional(flags.one("token-file"), "--token-file", rejectEmpty),
  };
}

/** `credproc eks-token`: the role options and `--cluster-name` (required); it prints one ExecCredential. */
function eksTokenCommand(flags: Flags, options: AssumeOptions): Command {
  onlyWith(flags, "destination", "console");
  onlyWith(flags, "port", "serve");
  onlyWith(flags, "token-file", "serve");
  const notHere = (name: string) =>
    new UsageError(name, "does not apply to credproc eks-token (it prints an ExecCredential)");
  if (flags.one("format") !== undefined) throw notHere("--format");
  if (flags.flag("include-account-id")) throw notHere("--include-account-id");
  const clusterName = flags.one("cluster-name");
  if (clusterName === undefined) {
    throw new UsageError("--cluster-name", "required by credproc eks-token (the EKS cluster's name)");
  }
  return {
    kind: "eksToken",
    options,
    clusterName: check(
      "--cluster-name",
      clusterName,
      CLUSTER_NAME,
      "an EKS cluster name (1-100 letters, digits, - and _, starting with a letter or digit)",
    ),
  };
}

/** The parsed flags, read by name: the one value of a flag, a boolean, or every value of a repeatable flag. */
interface Flags {
  one(name: keyof Values): string | undefined;
  flag(name: keyof Values): boolean;
  many(name: keyof Values): string[];
}

/** The strict parse: unknown options and values are refused, and so is a non-repeatable flag given twice. */
function parseFlags(argv: readonly string[]): { flags: Flags; positionals: string[] } {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    throw new UsageError("bad arguments", parseArgsMessage(e), { cause: e });
  }
  for (const [name, given] of Object.entries(values)) {
    if (!REPEATABLE.has(name) && Array.isArray(given) && given.length > 1) {
      throw new UsageError(`--${name}`, "given more than once");
    }
  }
  const flags: Flags = {
    one: (name) => (values[name] as string[] | undefined)?.[0],
    flag: (name) => (values[name] as boolean[] | undefined)?.[0] === true,
    many: (name) => (values[name] as string[] | undefined) ?? [],
  };
  return { flags, positionals };
}

/** `credproc cache`, `cache clear`, `cache list`. */
function cacheCommand(positionals: readonly string[], flags: Flags, cacheDir: string | undefined): Command {
  if (positionals[0] !== "cache") throw unexpectedWord(positionals[0], SUBCOMMANDS, "");
  if (positionals.length === 1) return { kind: "help", topic: "cache" };
  if (positionals.length > 2) throw unexpectedWord(positionals[2], [], "");
  if (positionals[1] === "clear") return { kind: "cacheClear", cacheDir, verbose: flags.flag("verbose") };
  if (positionals[1] === "list") return { kind: "cacheList", cacheDir, json: flags.flag("json") };
  throw unexpectedWord(positionals[1], CACHE_SUBCOMMANDS, "cache ", true);
}

/** The `assume` command's options, each value validated. */
function assumeOptions(flags: Flags, cacheDir: string | undefined): AssumeOptions {
  const { one, flag, many } = flags;
  const roleArns = many("role-arn").map((arn) => check("--role-arn", arn, ROLE_ARN, ROLE_ARN_EXPECTED));
  const profile = optional(one("profile"), "--profile", rejectEmpty);
  const webIdentity = tokenSource(one("web-identity-token-file"), one("web-identity-token-env"));
  // No role flag at all is still valid: AWS_PROFILE or AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE may name one,
  // as for the SDK. Profile resolution says "--role-arn: required" when nothing does.
  // In this order, so that of two mistakes the same one is always reported first.
  const device = mfaDevice(flags, profile);
  const { tags, transitiveTagKeys } = sessionTags(many("tag"), many("transitive-tag-key"));
  const { policy, policyArns } = sessionPolicies(one("policy"), one("policy-file"), many("policy-arn"));
  const mfaSession = mfaSessionOptions(flags);
  const noCache = flag("no-cache");
  const refresh = flag("refresh");
  if (noCache && refresh) throw new UsageError("--refresh", "cannot be combined with --no-cache");
  const seconds = (name: keyof Values, min: number, max: number) =>
    optional(one(name), `--${name}`, (v, n) => integer(v, n, min, max));
  return {
    roleArns,
    roleSessionName: optional(
      one("role-session-name"),
      "--role-session-name",
      (v, n) => check(n, v, SESSION_NAME, "2-64 characters of letters, digits and +=,.@_-"),
    ),
    durationSeconds: seconds("duration-seconds", 900, 43200),
    externalId: optional(
      one("external-id"),
      "--external-id",
      (v, n) => check(n, v, EXTERNAL_ID, "2-1224 characters of letters, digits and +=,.@:/_-"),
    ),
    sourceIdentity: optional(
      one("source-identity"),
      "--source-identity",
      (v, n) => check(n, v, SOURCE_IDENTITY, "2-64 characters of letters, digits and +=,.@_-"),
    ),
    ...device,
    policy,
    policyArns,
    tags,
    transitiveTagKeys,
    region: optional(one("region"), "--region", validateRegion),
    endpointUrl: optional(one("endpoint-url"), "--endpoint-url", validateEndpointUrl),
    format: optional(one("format"), "--format", validateFormat) ?? "process",
    verbose: flag("verbose"),
    includeAccountId: flag("include-account-id"),
    logFile: optional(one("log-file"), "--log-file", rejectEmpty),
    timeoutSeconds: seconds("timeout", 1, 3600) ?? DEFAULT_TIMEOUT_SECONDS,
    profile,
    webIdentity,
    ...mfaSession,
    mfaTimeoutSeconds: seconds("mfa-timeout", 1, 3600) ?? DEFAULT_MFA_TIMEOUT_SECONDS,
    cacheDir,
    cacheMode: noCache ? "off" : refresh ? "refresh" : "use",
    refreshMarginSeconds: seconds("refresh-margin", 0, 43200),
  };
}

/** `--serial-number` and `--token-code`. */
function mfaDevice(
  { one }: Flags,
  profile: string | undefined,
): Pick<AssumeOptions, "serialNumber" | "tokenCode"> {
  const serialNumber = optional(
    one("serial-number"),
    "--serial-number",
    (v) =>
      check("--serial-number", v, SERIAL_NUMBER, "an MFA device ARN or serial number (9-256 characters)"),
  );
  const tokenCode = optional(
    one("token-code"),
    "--token-code",
    // Never echoed: a mistyped code (`123 456`) is still a code.
    (v) => {
      if (!TOKEN_CODE.test(v)) {
        throw new UsageError("--token-code", "is not 6 digits (the value is not shown)");
      }
      return v;
    },
  );
  if (tokenCode !== undefined && serialNumber === undefined && profile === undefined) {
    throw new UsageError("--token-code", "needs --serial-number (or a profile with mfa_serial)");
  }
  return { serialNumber, tokenCode };
}

/** `--mfa-session` and `--mfa-session-duration`. */
function mfaSessionOptions(
  { one, flag }: Flags,
): Pick<AssumeOptions, "mfaSession" | "mfaSessionDurationSeconds"> {
  const mfaSession = flag("mfa-session");
  const mfaSessionDurationSeconds = optional(
    one("mfa-session-duration"),
    "--mfa-session-duration",
    (v, n) => integer(v, n, 900, 129600),
  );
  if (mfaSessionDurationSeconds !== undefined && !mfaSession) {
    throw new UsageError("--mfa-session-duration", "only makes sense with --mfa-session");
  }
  return { mfaSession, mfaSessionDurationSeconds };
}

/** `--tag KEY=VALUE` (at most 50, keys unique ignoring case) and `--transitive-tag-key` (naming given tags). */
function sessionTags(
  given: readonly string[],
  transitiveTagKeys: string[],
): { tags: Tag[]; transitiveTagKeys: string[] } {
  const tags = given.map(parseTag);
  if (tags.length > MAX_TAGS) {
    throw new UsageError("--tag", `at most ${MAX_TAGS} session tags, got ${tags.length}`);
  }
  const seen = new Set<string>();
  for (const t of tags) {
    const k = t.key.toLowerCase();
    if (seen.has(k)) {
      throw new UsageError(
        "--tag",
        `tag key ${JSON.stringify(t.key)} given more than once (keys are case-insensitive)`,
      );
    }
    seen.add(k);
  }
  for (const key of transitiveTagKeys) {
    if (!seen.has(key.toLowerCase())) {
      throw new UsageError(
        "--transitive-tag-key",
        `${JSON.stringify(key)} does not name a tag given with --tag`,
      );
    }
  }
  return { tags, transitiveTagKeys };
}

/** `--policy` or `--policy-file` (not both), and `--policy-arn` (at most 10). */
function sessionPolicies(
  inline: string | undefined,
  policyFile: string | undefined,
  arns: readonly string[],
): { policy?: PolicySource; policyArns: string[] } {
  const policyArns = arns.map((arn) =>
    check("--policy-arn", arn, POLICY_ARN, "an IAM policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess")
  );
  if (policyArns.length > MAX_POLICY_ARNS) {
    throw new UsageError(
      "--policy-arn",
      `at most ${MAX_POLICY_ARNS} managed policies, got ${policyArns.length}`,
    );
  }
  if (inline !== undefined && policyFile !== undefined) {
    throw new UsageError("--policy", "give either --policy or --policy-file, not both");
  }
  const policy: PolicySource | undefined = inline !== undefined
    ? { kind: "inline", json: validatePolicy(inline, "--policy") }
    : policyFile !== undefined
    ? { kind: "file", path: rejectEmpty(policyFile, "--policy-file") }
    : undefined;
  return { policy, policyArns };
}

/** Validates a region name (from a flag, the environment or a profile). */
export function validateRegion(value: string, what = "--region"): string {
  return check(what, value, REGION, "an AWS region such as us-east-1");
}

function validateEndpointUrl(value: string, what: string): string {
  validateUrl(value, what, ALLOWED_URL);
  return value;
}

function validateFormat(value: string, what: string): Format {
  if (isFormat(value)) return value;
  throw new UsageError(what, `${JSON.stringify(value)} is not one of ${FORMATS.join(", ")}`);
}

function tokenSource(file: string | undefined, env: string | undefined): TokenSource | undefined {
  if (file !== undefined && env !== undefined) {
    throw new UsageError(
      "--web-identity-token-file",
      "give either --web-identity-token-file or --web-identity-token-env, not both",
    );
  }
  if (file !== undefined) return { kind: "file", path: rejectEmpty(file, "--web-identity-token-file") };
  if (env !== undefined) {
    if (!TOKEN_ENV_NAME.test(env)) {
      throw new UsageError(
        "--web-identity-token-env",
        `${
          JSON.stringify(env)
        } is not readable in the sandbox: name a variable starting with AWS_ or CREDPROC_`,
      );
    }
    return { kind: "env", name: env };
  }
  return undefined;
}

function parseTag(text: string): Tag {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError("--tag", `${JSON.stringify(text)} is not KEY=VALUE`);
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (key.length > 128 || !TAG_TEXT.test(key)) {
    throw new UsageError(
      "--tag",
      `key ${JSON.stringify(key)} must be 1-128 letters, digits, spaces or _.:/=+-@`,
    );
  }
  if (value.length > 256 || !TAG_TEXT.test(value)) {
    throw new UsageError(
      "--tag",
      `value of ${JSON.stringify(key)} must be 0-256 letters, digits, spaces or _.:/=+-@`,
    );
  }
  return { key, value };
}

function check(what: string, value: string, pattern: RegExp, expected: string): string {
  if (!pattern.test(value)) throw new UsageError(what, `${quoteArg(value)} is not ${expected}`);
  return value;
}

function integer(value: string, what: string, min: number, max: number): number {
  const n = wholeNumberIn(value, min, max);
  if (n === undefined) {
    throw new UsageError(what, `${quoteArg(value)} is not ${wholeNumberExpected(min, max)}`);
  }
  return n;
}

/** A flag value that must not be empty (throws; compare `ifSet` for environment values). */
function rejectEmpty(value: string, what: string): string {
  if (value === "") throw new UsageError(what, "must not be empty");
  return value;
}

function optional<T>(
  value: string | undefined,
  what: string,
  validate: (v: string, what: string) => T,
): T | undefined {
  return value === undefined ? undefined : validate(value, what);
}

function parseArgsMessage(e: unknown): string {
  // node:util's messages end with advice meant for JavaScript callers; keep the first sentence.
  return oneLine(oneLine(e).replace(/(?<=[.?]) To specify .*$/s, ""));
}
