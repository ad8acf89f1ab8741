/** `deno task bench`'s options. */
import { parseArgs } from "node:util";

export const USAGE = `usage: deno task bench [options]
  --runs N             timed rounds (default 30); each round runs every row once, in its own order
  --warmup N           untimed rounds first (default 3)
  --rss-runs N         rounds under /usr/bin/time for peak RSS (default 5; the median is shown)
  --against REV        also time REV's credproc (git archive into a temporary directory), in the same rounds
  --callers N          concurrent cold callers (default 50; 0 skips that part)
  --callers-rounds N   rounds of them (default 3)
  --no-serve           skip the serve part (wrk runs: about 2 minutes, more with --against)
  --serve-seconds N    each wrk run (default 8)
  --serve-rounds N     interleaved wrk rounds per connection count (default 3)
  --serve-requests N   requests of the serve memory run (default 3000000; 0 skips it)
  --no-refusals        skip what refusing costs (scripts/bench_refusals.ts)
  --bin PATH           time a compiled credproc instead of \`deno run main.ts\` (CREDPROC_BIN works too)
  --floor-bin PATH     the floor for --bin: a compiled empty program (default: \`deno run\` of one)
  --json FILE          write the raw numbers`;

/** The options, checked. */
export interface Options {
  readonly runs: number;
  readonly warmup: number;
  readonly rssRuns: number;
  readonly against?: string;
  readonly callers: number;
  readonly callersRounds: number;
  readonly serve: boolean;
  readonly serveSeconds: number;
  readonly serveRounds: number;
  readonly serveRequests: number;
  readonly refusals: boolean;
  readonly bin?: string;
  readonly floorBin?: string;
  readonly json?: string;
}

const NUMBERS = {
  runs: ["30", 1],
  warmup: ["3", 0],
  "rss-runs": ["5", 0],
  callers: ["50", 0],
  "callers-rounds": ["3", 1],
  "serve-seconds": ["8", 1],
  "serve-rounds": ["3", 1],
  "serve-requests": ["3000000", 0],
} as const;

/** Reads `args`; prints the usage and exits 0 for --help, 2 for a bad option. */
export function parseOptions(args: readonly string[], env: (name: string) => string | undefined): Options {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        ...Object.fromEntries(
          Object.entries(NUMBERS).map(([k, [d]]) => [k, { type: "string" as const, default: d }]),
        ),
        against: { type: "string" },
        "no-serve": { type: "boolean" },
        "no-refusals": { type: "boolean" },
        bin: { type: "string" },
        "floor-bin": { type: "string" },
        json: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(USAGE);
      Deno.exit(0);
    }
    const n: Record<string, number> = {};
    for (const [k, [, min]] of Object.entries(NUMBERS)) {
      const v = (values as Record<string, unknown>)[k] as string;
      if (!/^\d+$/.test(v) || Number(v) < min) {
        throw new Error(`--${k} must be a whole number ≥ ${min}, not ${v}`);
      }
      n[k] = Number(v);
    }
    const bin = (values.bin as string | undefined) ?? (env("CREDPROC_BIN") || undefined);
    if (bin !== undefined && values.against !== undefined) {
      throw new Error("--against times REV from source: it cannot be combined with --bin");
    }
    return {
      runs: n.runs,
      warmup: n.warmup,
      rssRuns: n["rss-runs"],
      against: values.against as string | undefined,
      callers: n.callers,
      callersRounds: n["callers-rounds"],
      serve: !values["no-serve"],
      serveSeconds: n["serve-seconds"],
      serveRounds: n["serve-rounds"],
      serveRequests: n["serve-requests"],
      refusals: !values["no-refusals"],
      bin,
      floorBin: values["floor-bin"] as string | undefined,
      json: values.json as string | undefined,
    };
  } catch (e) {
    console.error(`bench: ${e instanceof Error ? e.message : e}\n${USAGE}`);
    Deno.exit(2);
  }
}
