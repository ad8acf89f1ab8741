/**
 * The bench's tables: every row with its noise, this tree beside REV (`--against`), and the goals of issue 25
 * (and the earlier ones still held), each with its figure and a met/missed verdict per tree.
 *
 * Ratios are medians of per-round ratios (two rows of the same round divided: paired), so a slow round moves
 * both sides of its ratio; the spread printed is the interquartile range (p25–p75) over the rounds.
 */
import type { Batch } from "./concurrent.ts";
import type { Row } from "./rows.ts";
import { fmt, median, pairedRatios, type Spread, spread } from "./stats.ts";
import type { Measured } from "./timing.ts";
import type { Tree } from "./trees.ts";
import { CONNECTIONS, memoryGrowth, type ServeFigures, serveRatio } from "./serve.ts";

/** Everything measured, for the tables and `--json`. */
export interface Results {
  readonly rows: readonly Row[];
  readonly trees: readonly Tree[];
  readonly measured: Measured;
  readonly callers: number;
  readonly batches?: readonly Batch[];
  readonly serve?: ServeFigures;
}

/** Goals of issue 25 (and the earlier ones kept), their thresholds in one place. */
export const GOALS = {
  hitOverFloor: 1.15,
  coldOverSdk: 1.10,
  coldRssOverSdkMiB: 5,
  serveThroughput: 0.85,
  serveCpu: 1.3,
  serveGrowthMiB: 2,
  callersFaster: 1.5,
  hitVsSeed: 10,
  coldVsSeed: 2.5,
  eksHitVsGetToken: 10,
} as const;

/** The figures of one row (undefined: not timed). */
function figures(r: Results, key: string): { ms: Spread; rss: Spread } | undefined {
  const ms = r.measured.ms.get(key);
  if (ms === undefined || ms.length === 0) return undefined;
  return { ms: spread(ms), rss: spread(r.measured.rssMiB.get(key) ?? []) };
}

/** Median of the paired per-round ratios of two rows. */
function ratio(r: Results, a: string, b: string): number {
  return median(pairedRatios(r.measured.ms.get(a) ?? [], r.measured.ms.get(b) ?? []));
}

const times = (x: number) => Number.isFinite(x) ? `${fmt(x)}×` : "n/a";
const esc = (s: string) => s.replaceAll("|", "\\|");

/** Requests a row made per run: `STS n`, `sign-in n`. */
function requestsPerRun(r: Results, key: string): string {
  const c = r.measured.requests.get(key);
  if (c === undefined || c.runs === 0) return "";
  const parts = [`${fmt(c.sts / c.runs, c.sts % c.runs ? 2 : 0)}`];
  if (c.signIn) parts.push(`${fmt(c.signIn / c.runs, c.signIn % c.runs ? 2 : 0)} sign-in`);
  return parts.join(" + ");
}

/** The main table: the floors, this tree's credproc rows and the references. */
export function rowTable(r: Results): string[] {
  const lines = [
    "| row | median ms | p25–p75 | min | × floor | peak RSS MiB | STS requests/run | answered by |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
  ];
  for (const row of r.rows.filter((x) => x.tree === undefined || x.tree.id === "this")) {
    const f = figures(r, row.key);
    if (f === undefined) continue;
    lines.push(
      `| ${esc(row.name)} | ${fmt(f.ms.median)} | ${fmt(f.ms.p25)}–${fmt(f.ms.p75)} | ${fmt(f.ms.min)} | ${
        fmt(ratio(r, row.key, "floor"), 2)
      } | ${fmt(f.rss.median)} | ${requestsPerRun(r, row.key)} | ${r.measured.answerer.get(row.key) ?? ""} |`,
    );
  }
  return lines;
}

/** This tree's credproc rows beside REV's (`--against`): medians, the paired ratio, peak RSS. */
export function againstTable(r: Results): string[] {
  const rev = r.trees.find((t) => t.id === "rev");
  if (rev === undefined) return [];
  const lines = [
    `| credproc row | this tree ms | ${rev.label} ms | this ÷ ${rev.label} | this RSS MiB | ${rev.label} RSS MiB | answered by (this / ${rev.label}) |`,
    "|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const row of r.rows.filter((x) => x.tree?.id === "this")) {
    const mine = figures(r, row.key);
    const theirs = figures(r, `rev:${row.spec}`);
    const by = [r.measured.answerer.get(row.key), r.measured.answerer.get(`rev:${row.spec}`)];
    lines.push(
      `| ${esc(row.name.replace(/^credproc /, ""))} | ${fmt(mine?.ms.median)} | ${
        theirs ? fmt(theirs.ms.median) : "n/a (no such row)"
      } | ${theirs ? fmt(ratio(r, row.key, `rev:${row.spec}`), 2) : "n/a"} | ${fmt(mine?.rss.median)} | ${
        fmt(theirs?.rss.median)
      } | ${by.every((b) => b === undefined) ? "" : by.map((b) => b ?? "n/a").join(" / ")} |`,
    );
  }
  return lines;
}

/** One goal's line per tree: figure and verdict. */
interface Goal {
  readonly figure: string;
  readonly goal: string;
  /** Per tree: [figure text, met?] (met undefined: not measured). */
  readonly per: (tree: Tree) => [string, boolean | undefined];
}

const verdict = (met: boolean | undefined) => met === undefined ? "n/a" : met ? "met" : "**MISSED**";

/** The goals table: one line per goal, a figure and a verdict per tree. */
export function goalTable(r: Results): string[] {
  const key = (t: Tree, spec: string) => `${t.id}:${spec}`;
  const has = (k: string) => (r.measured.ms.get(k)?.length ?? 0) > 0;
  const rss = (k: string) => median(r.measured.rssMiB.get(k) ?? []);
  const goals: Goal[] = [
    {
      figure: "cache hit ÷ empty Deno program with the bench's flags",
      goal: `≤ ${GOALS.hitOverFloor}`,
      per: (t) => {
        const x = ratio(r, key(t, "hit"), "floor");
        const c = ratio(r, key(t, "hit-config"), "floor");
        return [
          `${fmt(x, 2)} (with ~/.aws/config ${fmt(c, 2)})`,
          has(key(t, "hit")) ? x <= GOALS.hitOverFloor : undefined,
        ];
      },
    },
    {
      figure: "cold call ÷ the bare-SDK reference (scripts/sdk_floor.ts)",
      goal: `≤ ${GOALS.coldOverSdk.toFixed(2)}`,
      per: (t) => {
        const x = ratio(r, key(t, "cold"), "sdk");
        return [fmt(x, 2), has("sdk") && has(key(t, "cold")) ? x <= GOALS.coldOverSdk : undefined];
      },
    },
    {
      figure: "cold call peak RSS − the reference's",
      goal: `≤ +${GOALS.coldRssOverSdkMiB} MiB`,
      per: (t) => {
        const d = rss(key(t, "cold")) - rss("sdk");
        if (!Number.isFinite(d)) {
          return [has("sdk") ? "n/a (no RSS rounds)" : "n/a (no reference row)", undefined];
        }
        return [
          `${d >= 0 ? "+" : ""}${fmt(d)} MiB (${fmt(rss(key(t, "cold")))} vs ${fmt(rss("sdk"))})`,
          Number.isFinite(d) ? d <= GOALS.coldRssOverSdkMiB : undefined,
        ];
      },
    },
    {
      figure: "first hit from a working directory not used before",
      goal: "a fast-path hit",
      per: (t) => {
        const k = key(t, "hit-new-dir");
        // Without the audit (a compiled binary), by its peak RSS: nearer the fast-path hit's or the full program's.
        const byRss = Math.abs(rss(k) - rss(key(t, "hit"))) < Math.abs(rss(k) - rss(key(t, "hit-full")))
          ? "fast path (by RSS)"
          : "full program (by RSS)";
        const by = r.measured.answerer.get(k) ?? (Number.isFinite(rss(k)) ? byRss : undefined);
        return [
          `${by ?? "?"}: ${fmt(median(r.measured.ms.get(k) ?? []))} ms, ${
            fmt(ratio(r, k, "floor"), 2)
          }× floor, ${fmt(rss(k))} MiB`,
          by === undefined ? undefined : by.startsWith("fast path"),
        ];
      },
    },
    ...CONNECTIONS.flatMap((c): Goal[] => [
      {
        figure: `serve keep-alive throughput ÷ minimal Deno.serve, ${c} clients`,
        goal: `≥ ${GOALS.serveThroughput}`,
        per: (t) => {
          const x = r.serve ? serveRatio(r.serve, `serve (${t.label})`, c, "rps") : NaN;
          return [fmt(x, 2), Number.isFinite(x) ? x >= GOALS.serveThroughput : undefined];
        },
      },
      {
        figure: `serve CPU per request ÷ minimal Deno.serve, ${c} clients`,
        goal: `≤ ${GOALS.serveCpu}`,
        per: (t) => {
          const x = r.serve ? serveRatio(r.serve, `serve (${t.label})`, c, "cpuUsPerRequest") : NaN;
          return [fmt(x, 2), Number.isFinite(x) ? x <= GOALS.serveCpu : undefined];
        },
      },
    ]),
    {
      figure: "serve memory over a long run",
      goal: `flat: heap in use after collections ≤ +${GOALS.serveGrowthMiB} MiB over the second half`,
      per: (t) => {
        const m = t.id === "this" ? r.serve?.memory : undefined;
        if (m === undefined) return ["n/a", undefined];
        const rss = memoryGrowth(m.samples);
        const heap = memoryGrowth(m.samples, "heapMiB");
        const first = m.samples[0];
        return [
          `heap in use after collections ${fmt(first.heapMiB ?? NaN)} → ${
            fmt((first.heapMiB ?? NaN) + heap.total)
          } MiB over ${heap.requests} requests, ${heap.secondHalf >= 0 ? "+" : ""}${
            fmt(heap.secondHalf)
          } over the second half; RSS ${fmt(first.rssMiB)} → ${fmt(first.rssMiB + rss.total)} MiB`,
          // RSS steps up when V8 grows its young generation (to a bound); a leak is what stays in use after
          // every collection. A second half of fewer than two wrk runs says nothing about a leak.
          m.samples.length >= 5 && Number.isFinite(heap.secondHalf)
            ? heap.secondHalf <= GOALS.serveGrowthMiB
            : undefined,
        ];
      },
    },
    {
      figure: `${
        r.callers || "N"
      } concurrent cold callers: STS requests; wall time vs as many bare-SDK calls`,
      goal: `1; ≥ ${GOALS.callersFaster}× faster`,
      per: (t) => {
        const b = r.batches?.find((x) => x.label === `credproc (${t.label})`);
        const sdk = r.batches?.find((x) => x.label.startsWith("bare SDK"));
        if (b === undefined || sdk === undefined) return ["n/a (--callers 0)", undefined];
        const faster = median(pairedRatios(sdk.ms, b.ms));
        const requests = [...new Set(b.requests)].join(",");
        return [
          `${requests} request(s); ${fmt(median(b.ms), 0)} vs ${fmt(median(sdk.ms), 0)} ms: ${
            fmt(faster, 2)
          }× faster`,
          b.requests.every((n) => n === 1) && faster >= GOALS.callersFaster,
        ];
      },
    },
    {
      figure: "earlier: cache hit vs the seed pipeline (aws sts assume-role | jq)",
      goal: `≥ ${GOALS.hitVsSeed}× faster`,
      per: (t) => {
        const x = ratio(r, "seed", key(t, "hit"));
        return [times(x), has("seed") ? x >= GOALS.hitVsSeed : undefined];
      },
    },
    {
      figure: "earlier: cold call vs the seed pipeline",
      goal: `≥ ${GOALS.coldVsSeed}× faster`,
      per: (t) => {
        const x = ratio(r, "seed", key(t, "cold"));
        return [times(x), has("seed") ? x >= GOALS.coldVsSeed : undefined];
      },
    },
    {
      figure: "earlier: eks-token hit vs aws eks get-token",
      goal: `≥ ${GOALS.eksHitVsGetToken}× faster`,
      per: (t) => {
        const x = ratio(r, "get-token", key(t, "eks-hit"));
        return [
          times(x),
          has("get-token") && has(key(t, "eks-hit")) ? x >= GOALS.eksHitVsGetToken : undefined,
        ];
      },
    },
  ];
  const trees = r.trees;
  const lines = [
    `| figure | goal | ${trees.map((t) => `${t.label} | verdict`).join(" | ")} |`,
    `|---|---|${trees.map(() => "---|---|").join("")}`,
  ];
  for (const g of goals) {
    const cells = trees.map((t) => {
      const [text, met] = g.per(t);
      return `${text} | ${verdict(met)}`;
    });
    lines.push(`| ${esc(g.figure)} | ${g.goal} | ${cells.join(" | ")} |`);
  }
  return lines;
}

/** Concurrent callers, each side's rounds. */
export function callersTable(r: Results): string[] {
  if (!r.batches) return [];
  return [
    `${r.callers} concurrent cold callers (an empty cache directory each round), ${
      r.batches[0].ms.length
    } rounds:`,
    "| side | wall ms, median (min–max) | STS requests per batch |",
    "|---|---:|---:|",
    ...r.batches.map((b) =>
      `| ${b.label} | ${fmt(median(b.ms), 0)} (${fmt(Math.min(...b.ms), 0)}–${fmt(Math.max(...b.ms), 0)}) | ${
        [...new Set(b.requests)].join(", ")
      } |`
    ),
  ];
}
