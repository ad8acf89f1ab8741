/**
 * argv → {@link Command}: the strict parse. Pure: no I/O, no environment. It reads the pre-scan (lib/argv.ts:
 * the words, each option's values), has node's strict parser check the syntax, refuses any option the command
 * does not take (by the table of options, `OPTIONS` in lib/argv.ts) and validates every value (lib/validate.ts),
 * so a bad value fails before anything is read or sent. Files named by flags (policy, token) are read later, in
 * `lib/plan/referenced_files.ts`.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";
import { type ArgvScan, type CommandName, hasFlag, type OptionName, OPTIONS, scanArgv } from "../argv.ts";
import {
  type AssumeOptions,
  type OutputOptions,
  type PolicySource,
  type RoleOptions,
  type Tag,
  type TokenSource,
  unhandled,
} from "../model.ts";
import { ALLOWED_URL } from "../sandbox.ts";
import { oneLine } from "../output.ts";
import {
  MAX_POLICY_ARNS,
  MAX_TAGS,
  nonEmpty,
  validateClusterName,
  validateExternalId,
  validateFormat,
  validatePolicy,
  validatePolicyArn,
  validateRegion,
  validateRoleArn,
  validateSerialNumber,
  validateSessionName,
  validateTag,
  validateTokenCode,
  validateTokenEnvName,
  validateUrl,
  wholeNumber,
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
  | { readonly kind: "eksToken"; readonly options: RoleOptions; readonly clusterName: string }
  /** `credproc console [role options]`: a console sign-in URL for the assumed role. */
  | { readonly kind: "console"; readonly options: RoleOptions; readonly destination?: string }
  /** `credproc serve [role options]`: a container-credentials endpoint on 127.0.0.1. */
  | {
    readonly kind: "serve";
    /** The role, and whether the endpoint's documents carry `AccountId`. */
    readonly options: RoleOptions & Pick<OutputOptions, "includeAccountId">;
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

/** The words that may come first without dashes. */
const SUBCOMMANDS = ["cache", "console", "serve", "eks-token", "help"];
const CACHE_SUBCOMMANDS = ["list", "clear"];

/**
 * What each command does, said when it refuses an option that another command takes (`--format: does not
 * apply to credproc console (it prints one URL)`).
 */
const WHAT_IT_DOES: Readonly<Record<CommandName, string>> = {
  "assume": "it prints credentials",
  "console": "it prints one URL",
  "serve": "it prints export lines for sh",
  "eks-token": "it prints an ExecCredential",
  "cache list": "it lists every entry of the cache directory",
  "cache clear": "it clears every entry of the cache directory",
};

/** The options as node's parser wants them (every one `multiple`: a repeat is refused here, by name). */
const PARSE_OPTIONS: NonNullable<ParseArgsConfig["options"]> = Object.fromEntries(
  Object.entries(OPTIONS).map(([name, o]) => [
    name,
    { type: o.type, multiple: true, ...("short" in o ? { short: o.short } : {}) },
  ]),
);

/**
 * The command whose usage `--help` asks for, from the words on the line (`help` first is dropped, so
 * `credproc help serve` is `credproc serve --help`): the longest known one they start with, else the whole page.
 */
function helpTopic(words: readonly string[]): HelpTopic | undefined {
  const [first, second] = words[0] === "help" ? words.slice(1) : words;
  if (first === "cache" && (second === "list" || second === "clear")) return `cache ${second}`;
  return HELP_TOPICS.find((t) => t === first);
}

/**
 * Argv that was not valid UTF-8 is bad input, as it is in the environment: `Deno.args` turns such bytes into
 * U+FFFD, so two different `--cache-dir` paths would name one directory. A U+FFFD typed on purpose cannot be
 * told apart and is refused too. The line names the argument by position and flag, never its bytes.
 */
function refuseInvalidUtf8({ lossy }: ArgvScan): void {
  if (lossy === undefined) return;
  const which = lossy.option === undefined ? "" : ` (the value of --${lossy.option})`;
  throw new UsageError("bad arguments", `argument ${lossy.index + 1}${which} is not valid UTF-8`, {
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
 * Parses and validates argv (without the program name), or what lib/argv.ts found in it. Throws
 * {@link UsageError}; a mistake on a command's line points at that command's usage
 * (`run credproc serve --help for usage`).
 */
export function parseCommand(argv: ArgvScan | readonly string[]): Command {
  const scan = "redacted" in argv ? argv : scanArgv(argv);
  // Nothing at all: a first try, not a call with a role in the environment (bare credproc used to fail with
  // "profile default has no role_arn"). Any argument, `-v` included, still plans from the environment.
  if (scan.argv.length === 0) return { kind: "usage" };
  refuseInvalidUtf8(scan);
  // --help and --version win over any other mistake on the line.
  const topic = helpTopic(scan.words);
  if (scan.help) return topic === undefined ? { kind: "help" } : { kind: "help", topic };
  if (scan.version) return { kind: "version" };
  try {
    return parseScanned(scan);
  } catch (e) {
    if (topic === undefined || !(e instanceof UsageError) || e.hint !== HELP_HINT) throw e;
    throw new UsageError(e.what, e.message, {
      hint: `run credproc ${topic} --help for usage`,
      cause: e.cause,
    });
  }
}

/**
 * {@link parseCommand} past `--help` and `--version`: the syntax, the words, the options the command takes,
 * then every value. In this order, so that of two mistakes the same one is always reported first.
 */
function parseScanned(scan: ArgvScan): Command {
  if (scan.unknown !== undefined) throw unknownOption(scan.unknown);
  checkSyntax(scan.argv);
  refuseRepeats(scan);
  const command = namedCommand(scan);
  if (command === "cache") return { kind: "help", topic: "cache" };
  refuseNotTaken(scan, command);
  const flags = flagsOf(scan);
  const cacheDir = optional(flags.one("cache-dir"), "--cache-dir", nonEmpty);
  switch (command) {
    case "assume": {
      const role = roleOptions(flags, cacheDir);
      return {
        kind: "assume",
        options: {
          ...role,
          format: optional(flags.one("format"), "--format", validateFormat) ?? "process",
          includeAccountId: flags.flag("include-account-id"),
        },
      };
    }
    case "console": {
      const options = roleOptions(flags, cacheDir);
      return {
        kind: "console",
        options,
        destination: optional(flags.one("destination"), "--destination", validateDestination),
      };
    }
    case "serve": {
      const options = { ...roleOptions(flags, cacheDir), includeAccountId: flags.flag("include-account-id") };
      return {
        kind: "serve",
        options,
        port: optional(flags.one("port"), "--port", (v, n) => wholeNumber(v, n, 0, 65535)),
        tokenFile: optional(flags.one("token-file"), "--token-file", nonEmpty),
      };
    }
    case "eks-token": {
      const options = roleOptions(flags, cacheDir);
      const clusterName = flags.one("cluster-name");
      if (clusterName === undefined) {
        throw new UsageError("--cluster-name", "required by credproc eks-token (the EKS cluster's name)");
      }
      return { kind: "eksToken", options, clusterName: validateClusterName(clusterName, "--cluster-name") };
    }
    case "cache list":
      return { kind: "cacheList", cacheDir, json: flags.flag("json") };
    case "cache clear":
      return { kind: "cacheClear", cacheDir, verbose: flags.flag("verbose") };
    default:
      return unhandled(command, "command");
  }
}

/**
 * node's strict parse, for its syntax errors only (a value missing, a value that looks like an option, a flag
 * given a value); what the line means is the pre-scan's. Unknown options were refused before.
 */
function checkSyntax(argv: readonly string[]): void {
  try {
    parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError("bad arguments", parseArgsMessage(e), { cause: e });
  }
}

/** An option given twice that counts once. */
function refuseRepeats(scan: ArgvScan): void {
  for (const [name, values] of scan.options) {
    if (!("repeatable" in OPTIONS[name]) && values.length > 1) {
      throw new UsageError(`--${name}`, "given more than once");
    }
  }
}

/** The command the words name, or bad input for a word that names none or follows the command's own. */
function namedCommand(scan: ArgvScan): CommandName | "cache" {
  const words = [...scan.words, ...scan.operands];
  const { command } = scan;
  if (command === undefined) throw unexpectedWord(words[0], SUBCOMMANDS, "");
  if (command === "cache" && words.length > 1) {
    throw unexpectedWord(words[1], CACHE_SUBCOMMANDS, "cache ", true);
  }
  const own = command === "assume" ? 0 : command.split(" ").length;
  if (words.length > own) throw unexpectedWord(words[own], [], "");
  return command;
}

/**
 * The first option given (in the order of the line) that `command` does not take, by the table: an option only
 * one other command takes "only makes sense with" that command; any other "does not apply" to this one.
 */
function refuseNotTaken(scan: ArgvScan, command: CommandName): void {
  for (const name of scan.options.keys()) {
    const takenBy: readonly CommandName[] = OPTIONS[name].takenBy;
    if (takenBy.includes(command)) continue;
    const home = takenBy.length === 1 && takenBy[0] !== "assume" ? takenBy[0] : undefined;
    throw new UsageError(
      `--${name}`,
      home !== undefined
        ? `only makes sense with credproc ${home}`
        : `does not apply to credproc${command === "assume" ? "" : ` ${command}`} (${WHAT_IT_DOES[command]})`,
    );
  }
}

/** The options read by name: the one value of an option, a flag, or every value of a repeatable option. */
interface Flags {
  one(name: OptionName): string | undefined;
  flag(name: OptionName): boolean;
  many(name: OptionName): string[];
}

/** {@link Flags} over the pre-scan's values (the syntax and repeats already checked). */
function flagsOf(scan: ArgvScan): Flags {
  const many = (name: OptionName) =>
    (scan.options.get(name) ?? []).filter((v): v is string => typeof v === "string");
  return { one: (name) => many(name)[0], flag: (name) => hasFlag(scan, name), many };
}

/** The options every role command takes, each value validated. */
function roleOptions(flags: Flags, cacheDir: string | undefined): RoleOptions {
  const { one, flag, many } = flags;
  const roleArns = many("role-arn").map((arn) => validateRoleArn(arn, "--role-arn"));
  const profile = optional(one("profile"), "--profile", nonEmpty);
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
  const seconds = (name: OptionName, min: number, max: number) =>
    optional(one(name), `--${name}`, (v, n) => wholeNumber(v, n, min, max));
  return {
    roleArns,
    roleSessionName: optional(one("role-session-name"), "--role-session-name", validateSessionName),
    durationSeconds: seconds("duration-seconds", 900, 43200),
    externalId: optional(one("external-id"), "--external-id", validateExternalId),
    sourceIdentity: optional(one("source-identity"), "--source-identity", validateSessionName),
    ...device,
    policy,
    policyArns,
    tags,
    transitiveTagKeys,
    region: optional(one("region"), "--region", validateRegion),
    endpointUrl: optional(one("endpoint-url"), "--endpoint-url", validateEndpointUrl),
    verbose: flag("verbose"),
    logFile: optional(one("log-file"), "--log-file", nonEmpty),
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
): Pick<RoleOptions, "serialNumber" | "tokenCode"> {
  const serialNumber = optional(one("serial-number"), "--serial-number", validateSerialNumber);
  const tokenCode = optional(one("token-code"), "--token-code", validateTokenCode);
  if (tokenCode !== undefined && serialNumber === undefined && profile === undefined) {
    throw new UsageError("--token-code", "needs --serial-number (or a profile with mfa_serial)");
  }
  return { serialNumber, tokenCode };
}

/** `--mfa-session` and `--mfa-session-duration`. */
function mfaSessionOptions(
  { one, flag }: Flags,
): Pick<RoleOptions, "mfaSession" | "mfaSessionDurationSeconds"> {
  const mfaSession = flag("mfa-session");
  const mfaSessionDurationSeconds = optional(
    one("mfa-session-duration"),
    "--mfa-session-duration",
    (v, n) => wholeNumber(v, n, 900, 129600),
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
  const tags = given.map((t) => validateTag(t, "--tag"));
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
  const policyArns = arns.map((arn) => validatePolicyArn(arn, "--policy-arn"));
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
    ? { kind: "file", path: nonEmpty(policyFile, "--policy-file") }
    : undefined;
  return { policy, policyArns };
}

function validateEndpointUrl(value: string, what: string): string {
  validateUrl(value, what, ALLOWED_URL);
  return value;
}

/** `--web-identity-token-file` or `--web-identity-token-env` (not both). */
function tokenSource(file: string | undefined, env: string | undefined): TokenSource | undefined {
  if (file !== undefined && env !== undefined) {
    throw new UsageError(
      "--web-identity-token-file",
      "give either --web-identity-token-file or --web-identity-token-env, not both",
    );
  }
  if (file !== undefined) return { kind: "file", path: nonEmpty(file, "--web-identity-token-file") };
  if (env !== undefined) return { kind: "env", name: validateTokenEnvName(env, "--web-identity-token-env") };
  return undefined;
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
