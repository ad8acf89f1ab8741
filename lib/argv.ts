/**
 * The one reading of argv. {@link scanArgv} walks the command line once, leniently (it never throws), and
 * finds what every reader needs: the command the words name wherever they stand among the options,
 * `--help`/`--version`, the first option credproc does not know, each option's values, argv with the MFA code
 * blanked, and the first argument that was not valid UTF-8. The fast path (lib/fast_path.ts), the inputs key
 * (lib/cache/digests.ts), the strict parser (lib/cli/args.ts) and the error path (lib/cli/cli.ts: log file,
 * failure record) all read its result; none of them looks at argv on its own.
 *
 * Also here: {@link OPTIONS}, every option with its value type and the commands that take it — the table the
 * walk needs to tell a value from an option, and the parser refuses by.
 *
 * A leaf that imports nothing: the fast path loads it on every call.
 */

/** The commands, by the words that name them (`assume` has none: it is `credproc` with role options). */
export const COMMANDS = ["assume", "console", "serve", "eks-token", "cache list", "cache clear"] as const;
/** One of {@link COMMANDS}. */
export type CommandName = typeof COMMANDS[number];

/** The commands that assume a role: they take the role, source, endpoint, cache and logging options. */
const ROLE = ["assume", "console", "serve", "eks-token"] as const;

/** One option: its value, and who takes it. */
interface OptionSpec {
  /** `string`: takes a value (`--flag V` or `--flag=V`); `boolean`: a flag. */
  readonly type: "string" | "boolean";
  /** Its one-letter form (flags only: `-v`, clustered as `-hV`). */
  readonly short?: string;
  /** May be given more than once, each value counting; any other option given twice is refused. */
  readonly repeatable?: true;
  /** A one-time secret: blanked where argv is hashed (the inputs key), so a new code still finds the memo. */
  readonly secret?: true;
  /** Its value is a path: a relative one makes the working directory one of the inputs (`cwdIsInput`, digests.ts). */
  readonly path?: true;
  /** The commands that take it; the parser refuses it on any other. */
  readonly takenBy: readonly CommandName[];
}

/**
 * Every option credproc knows, in the order did-you-mean prefers them, with the commands that take it. The
 * parser refuses an option on a command that does not take it; which refusal it words depends only on this
 * table (see `refuseNotTaken` in lib/cli/args.ts).
 */
export const OPTIONS = {
  "role-arn": { type: "string", repeatable: true, takenBy: ROLE },
  "role-session-name": { type: "string", takenBy: ROLE },
  "duration-seconds": { type: "string", takenBy: ROLE },
  "external-id": { type: "string", takenBy: ROLE },
  "source-identity": { type: "string", takenBy: ROLE },
  "serial-number": { type: "string", takenBy: ROLE },
  "token-code": { type: "string", secret: true, takenBy: ROLE },
  "policy": { type: "string", takenBy: ROLE },
  "policy-file": { type: "string", path: true, takenBy: ROLE },
  "policy-arn": { type: "string", repeatable: true, takenBy: ROLE },
  "tag": { type: "string", repeatable: true, takenBy: ROLE },
  "transitive-tag-key": { type: "string", repeatable: true, takenBy: ROLE },
  "region": { type: "string", takenBy: ROLE },
  "endpoint-url": { type: "string", takenBy: ROLE },
  "format": { type: "string", takenBy: ["assume"] },
  "timeout": { type: "string", takenBy: ROLE },
  "profile": { type: "string", takenBy: ROLE },
  "web-identity-token-file": { type: "string", path: true, takenBy: ROLE },
  "web-identity-token-env": { type: "string", takenBy: ROLE },
  "mfa-session": { type: "boolean", takenBy: ROLE },
  "mfa-session-duration": { type: "string", takenBy: ROLE },
  "mfa-timeout": { type: "string", takenBy: ROLE },
  "cache-dir": { type: "string", path: true, takenBy: [...ROLE, "cache list", "cache clear"] },
  "no-cache": { type: "boolean", takenBy: ROLE },
  "refresh": { type: "boolean", takenBy: ROLE },
  "refresh-margin": { type: "string", takenBy: ROLE },
  "include-account-id": { type: "boolean", takenBy: ["assume", "serve"] },
  "log-file": { type: "string", path: true, takenBy: ROLE },
  "json": { type: "boolean", takenBy: ["cache list"] },
  "destination": { type: "string", takenBy: ["console"] },
  "port": { type: "string", takenBy: ["serve"] },
  "token-file": { type: "string", path: true, takenBy: ["serve"] },
  "cluster-name": { type: "string", takenBy: ["eks-token"] },
  "verbose": { type: "boolean", short: "v", takenBy: [...ROLE, "cache clear"] },
  "help": { type: "boolean", short: "h", takenBy: COMMANDS },
  "version": { type: "boolean", short: "V", takenBy: COMMANDS },
} as const satisfies Record<string, OptionSpec>;

/** The name of an option credproc knows (without the dashes). */
export type OptionName = keyof typeof OPTIONS;

/** Whether option `name` takes a path (see {@link OptionSpec.path}). */
export function takesPath(name: OptionName): boolean {
  return (OPTIONS[name] as OptionSpec).path === true;
}

/** Whether `name` (without dashes) is an option credproc knows. */
export function isOptionName(name: string): name is OptionName {
  return Object.hasOwn(OPTIONS, name);
}

/** The option spelled `-<letter>`. */
const SHORTS: ReadonlyMap<string, OptionName> = new Map(
  Object.entries(OPTIONS as Record<OptionName, OptionSpec>).flatMap(([name, o]) =>
    o.short === undefined ? [] : [[o.short, name as OptionName]]
  ),
);

/** What `Deno.args` puts where argv had bytes that are not UTF-8 (it decodes lossily). */
export const REPLACEMENT_CHARACTER = "\uFFFD";

/** What {@link scanArgv} found. */
export interface ArgvScan {
  /** The arguments read: argv less a leading `--` (`deno task credproc -- --version` passes one on). */
  readonly argv: readonly string[];
  /** The words before any `--`: the arguments that are neither options nor option values. */
  readonly words: readonly string[];
  /** The arguments after a `--` that ends the options: words too, for the parser (as for node's). */
  readonly operands: readonly string[];
  /**
   * The command the words (operands included) name: `assume` when there are none, `cache` for `cache` with
   * no subcommand or an unknown one, `undefined` when the first word names no command. Words past the
   * command's own are the parser's to refuse.
   */
  readonly command: CommandName | "cache" | undefined;
  /** `--help`, `-h` (also in a cluster such as `-vh`) or `help` as the first word. */
  readonly help: boolean;
  /** `--version` or `-V`. */
  readonly version: boolean;
  /** The first argument that looks like an option credproc does not know (`--bogus`; `--bogus=1` as `--bogus`). */
  readonly unknown?: string;
  /**
   * Each option given (by name, in the order it first appears) with its values in order: the text after `=`
   * or the next argument, whatever it looks like (the parser refuses a value that looks like an option), and
   * `true` for each use of a flag. A string option last on the line, without a value, has none.
   */
  readonly options: ReadonlyMap<OptionName, readonly (string | true)[]>;
  /** {@link argv} with each secret option's value blanked (`--token-code ""`, `--token-code=`). */
  readonly redacted: readonly string[];
  /** The first argument that was not valid UTF-8: its index in {@link argv}, and whose value it is. */
  readonly lossy?: { readonly index: number; readonly option?: OptionName };
}

/** Reads argv once; never throws. See {@link ArgvScan}. */
export function scanArgv(given: readonly string[]): ArgvScan {
  const argv = given[0] === "--" ? given.slice(1) : [...given];
  const words: string[] = [];
  let operands: string[] = [];
  const options = new Map<OptionName, (string | true)[]>();
  const redacted = [...argv];
  /** Which option's value each argument is (by index), for the lossy argument's message. */
  const valueOf = new Map<number, OptionName>();
  let help = false;
  let version = false;
  let unknown: string | undefined;
  /** Records a use of `name`; `at` is the index of the argument its value came from (inline: `--name=V`). */
  const give = (name: OptionName, value: string | true, at?: number, inline = false) => {
    const values = options.get(name);
    if (values === undefined) options.set(name, [value]);
    else values.push(value);
    if (name === "help") help = true;
    if (name === "version") version = true;
    if (at === undefined) return;
    valueOf.set(at, name);
    if ((OPTIONS[name] as OptionSpec).secret) redacted[at] = inline ? `--${name}=` : "";
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      operands = argv.slice(i + 1);
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      if (words.length === 0 && a === "help") help = true;
      words.push(a);
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (!isOptionName(name)) {
        unknown ??= eq < 0 ? a : a.slice(0, eq);
        continue;
      }
      if (eq >= 0) give(name, a.slice(eq + 1), i, true);
      else if (OPTIONS[name].type === "boolean") give(name, true);
      else if (i + 1 < argv.length) give(name, argv[++i], i);
      continue;
    }
    // `-v`, `-hV`: every letter a flag's; anything else (`-x`, `-role-arn`) is one unknown option.
    const names = [...a.slice(1)].map((c) => SHORTS.get(c));
    if (names.some((n) => n === undefined)) {
      unknown ??= a;
      continue;
    }
    for (const name of names) give(name!, true);
  }
  const lossyAt = argv.findIndex((a) => a.includes(REPLACEMENT_CHARACTER));
  return {
    argv,
    words,
    operands,
    command: commandOf([...words, ...operands]),
    help,
    version,
    unknown,
    options,
    redacted,
    lossy: lossyAt < 0 ? undefined : { index: lossyAt, option: valueOf.get(lossyAt) },
  };
}

/** The command the words name (see {@link ArgvScan.command}). */
function commandOf([first, second]: readonly string[]): ArgvScan["command"] {
  if (first === undefined) return "assume";
  if (first === "cache") return second === "list" || second === "clear" ? `cache ${second}` : "cache";
  return first === "console" || first === "serve" || first === "eks-token" ? first : undefined;
}

/** Whether the words name a cache command (`cache`, `cache list`, `cache clear`, or `cache` and a typo). */
export function isCacheCommand(command: ArgvScan["command"]): boolean {
  return command === "cache" || command === "cache list" || command === "cache clear";
}

/** The last value given to a string option (the parser refuses a repeat; lenient readers take the last). */
export function lastValue(scan: ArgvScan, name: OptionName): string | undefined {
  return scan.options.get(name)?.findLast((v): v is string => typeof v === "string");
}

/** Whether a flag was given (`--no-cache`, `-v`; not `--no-cache=1`, which the parser refuses). */
export function hasFlag(scan: ArgvScan, name: OptionName): boolean {
  return scan.options.get(name)?.includes(true) === true;
}
