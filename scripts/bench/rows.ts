/**
 * The rows: whole processes, each started through `/usr/bin/env` (so that exec's small cost is the same in every
 * row) with the world's environment plus the row's own words.
 *
 * - floors: an empty Deno program run bare (`deno run empty.ts`) and with the bench's flags (those of
 *   `deno task credproc`: `-q -P --no-prompt --cached-only --config deno.json`);
 * - credproc, per tree: cache hits through the fast path (without and with `~/.aws/config`), the first hit from
 *   a working directory no call has used, the same hit through the full program (`--verbose` is never answered
 *   by the fast path), the cold call (`--refresh`: lock, AssumeRole, atomic write), `eks-token` hit and cold,
 *   and an `aws login` source printed as it is: hit, and cold with its token refreshed at the sign-in stand-in;
 * - references: scripts/sdk_floor.ts (one AssumeRole through `@aws-sdk/client-sts`, nothing else: what any
 *   cold call built on the SDK costs at least), the seed pipeline `aws sts assume-role … | jq`,
 *   `aws eks get-token` and `aws configure export-credentials` for a profile with static keys.
 */
import { which } from "../../tests/support/helpers.ts";
import { DENO, denoRunFlags, ROOT, run, type Tree } from "./trees.ts";
import { ROLE, type World } from "./world.ts";

/** Which program answered a run: the fast path (lib/fast_path.ts) or the full one (lib/cli/cli.ts). */
export type Answerer = "fast path" | "full program";

/** One row of the table. */
export interface Row {
  /** Unique: `floor-bare`, `this:hit`, `rev:hit`, `sdk`, … */
  readonly key: string;
  /** The same for a credproc row of either tree (`hit`): what pairs this tree's row with REV's. */
  readonly spec: string;
  readonly name: string;
  readonly tree?: Tree;
  /** The argv of one run (a new one per run: the first-hit row names a new working directory each time). */
  readonly argv: () => string[];
  /** Before each run, untimed. */
  readonly prepare?: () => Promise<void>;
  /** What a run must print to count. */
  readonly output?: RegExp;
  /** The program that must answer (checked with Deno's permission audit before timing). */
  readonly answerer?: Answerer;
  /** The answerer is measured, not required (the first hit from a new directory). */
  readonly classify?: boolean;
}

const CREDENTIALS = /"AccessKeyId"/;
const EXEC_CREDENTIAL = /"ExecCredential"/;

/** sh -c quoting. */
export function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The credproc rows of `tree` (keys `<tree.id>:<spec>`). */
export function credprocRows(tree: Tree, world: World): Row[] {
  const cache = `CREDPROC_CACHE_DIR=${tree.cacheDir}`;
  const e = (words: readonly string[], args: readonly string[]) => () => [
    "/usr/bin/env",
    cache,
    ...words,
    ...tree.command,
    ...args,
  ];
  const role = ["--role-arn", ROLE, "--endpoint-url", world.sts.url];
  const eks = ["eks-token", "--cluster-name", "bench", ...role];
  const row = (spec: string, name: string, o: Omit<Row, "key" | "spec" | "name" | "tree">): Row => ({
    key: `${tree.id}:${spec}`,
    spec,
    name: `credproc ${name}`,
    tree,
    ...o,
  });
  return [
    row("hit", "cache hit (fast path)", {
      argv: e([], role),
      output: CREDENTIALS,
      answerer: "fast path",
    }),
    row("hit-config", "cache hit (fast path), ~/.aws/config present", {
      argv: e(world.withConfig, role),
      output: CREDENTIALS,
      answerer: "fast path",
    }),
    row("hit-new-dir", "first hit from a working directory not used before", {
      argv: () => [
        "/usr/bin/env",
        "-C",
        world.freshDir(tree.id),
        cache,
        ...tree.command,
        ...role,
      ],
      output: CREDENTIALS,
      classify: true,
    }),
    row("hit-full", "cache hit, full program (--verbose)", {
      argv: e([], [...role, "--verbose"]),
      output: CREDENTIALS,
      answerer: "full program",
    }),
    row("hit-full-config", "cache hit, full program (--verbose), ~/.aws/config present", {
      argv: e(world.withConfig, [...role, "--verbose"]),
      output: CREDENTIALS,
      answerer: "full program",
    }),
    row("cold", "cold call (--refresh)", { argv: e([], [...role, "--refresh"]), output: CREDENTIALS }),
    row("eks-hit", "eks-token hit (fast path)", {
      argv: e([], eks),
      output: EXEC_CREDENTIAL,
      answerer: "fast path",
    }),
    row("eks-cold", "eks-token cold (--refresh)", {
      argv: e([], [...eks, "--refresh"]),
      output: EXEC_CREDENTIAL,
    }),
    row("login-hit", "aws login source: hit (fast path)", {
      argv: e(world.withLogin, ["--profile", "login-hit"]),
      output: CREDENTIALS,
      answerer: "fast path",
    }),
    row("login-cold", "aws login source: cold (--refresh, token refreshed at the sign-in stand-in)", {
      argv: e(world.withLogin, ["--profile", "login-cold", "--refresh"]),
      prepare: () => world.expireColdLogin(),
      output: CREDENTIALS,
    }),
  ];
}

/** The two floors; `floorBin` (a compiled empty program) replaces the one with flags. */
export function floorRows(world: World, floorBin: string | undefined): Row[] {
  return [
    {
      key: "floor-bare",
      spec: "floor-bare",
      name: "floor: deno run empty.ts",
      argv: () => ["/usr/bin/env", DENO, "run", world.emptyProgram],
    },
    {
      key: "floor",
      spec: "floor",
      name: floorBin
        ? "floor: a compiled empty program"
        : "floor: deno run <the bench's flags> empty.ts (-q -P --no-prompt --cached-only --config)",
      argv: () => [
        "/usr/bin/env",
        ...(floorBin ? [floorBin] : [DENO, "run", ...denoRunFlags(ROOT), world.emptyProgram]),
      ],
    },
  ];
}

/** The rows that are not credproc: the SDK reference (from source only) and the AWS CLI's. */
export async function referenceRows(world: World, fromSource: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  if (fromSource) {
    rows.push({
      key: "sdk",
      spec: "sdk",
      name: "reference: one AssumeRole through the SDK, nothing else (scripts/sdk_floor.ts)",
      argv: () => [
        "/usr/bin/env",
        DENO,
        "run",
        ...denoRunFlags(ROOT),
        `${ROOT}scripts/sdk_floor.ts`,
        ROLE,
        world.sts.url,
      ],
      output: CREDENTIALS,
    });
  }
  const aws = (await Deno.stat("/usr/bin/aws").catch(() => undefined)) ? "/usr/bin/aws" : which("aws");
  const jq = which("jq");
  if (aws && jq) {
    const pipeline =
      `${aws} sts assume-role --role-arn ${ROLE} --role-session-name bench --endpoint-url ${world.sts.url} --output json | ${jq} ${
        sq(".Credentials + {Version: 1}")
      }`;
    rows.push({
      key: "seed",
      spec: "seed",
      name: "seed: aws sts assume-role | jq",
      argv: () => ["/usr/bin/env", "/bin/sh", "-c", pipeline],
      output: CREDENTIALS,
    });
    rows.push({
      key: "get-token",
      spec: "get-token",
      name: "aws eks get-token (static keys, signed locally)",
      argv: () => [
        "/usr/bin/env",
        ...world.withConfig,
        aws,
        "eks",
        "get-token",
        "--cluster-name",
        "bench",
        "--profile",
        "bench-static",
      ],
      output: EXEC_CREDENTIAL,
    });
    if ((await run([aws, "configure", "export-credentials", "help"], world.env)).code === 0) {
      rows.push({
        key: "export-credentials",
        spec: "export-credentials",
        name: "aws configure export-credentials (static keys)",
        argv: () => [
          "/usr/bin/env",
          ...world.withConfig,
          aws,
          "configure",
          "export-credentials",
          "--profile",
          "bench-static",
        ],
        output: /AccessKeyId/,
      });
    }
  }
  return rows;
}
