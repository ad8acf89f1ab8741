/**
 * `deno task bench`: what credproc costs, every figure of the performance goals (issue 25) with its goal and a
 * verdict, side by side in one run against the STS and sign-in stand-ins on loopback. Parts (scripts/bench/):
 *
 * - rows.ts: the rows (floors, credproc's hits and cold calls for `assume`, `eks-token` and an `aws login`
 *   source, the first hit from a new working directory, the SDK reference, the AWS CLI's rows);
 * - timing.ts: interleaved rounds (hyperfine, or a spawn-and-wait timer), peak RSS (GNU time), the requests
 *   each run made, which program answered (Deno's permission audit);
 * - concurrent.ts: N concurrent cold callers against N bare-SDK calls;
 * - serve.ts: `credproc serve` against a minimal `Deno.serve` under wrk, and its memory over a long run;
 * - trees.ts: this tree, and with `--against REV` REV's credproc in the same rounds;
 * - report.ts: the tables and the goals; world.ts: the temporary HOME and the stand-ins.
 *
 * Then what refusing a bad input or answer costs (scripts/bench_refusals.ts). `--help` for the options. The real
 * `deno` executable is run (Deno.execPath()), never an npm wrapper.
 */
import { which } from "../tests/support/helpers.ts";
import { refusalFigures } from "./bench_refusals.ts";
import { concurrentCallers } from "./bench/concurrent.ts";
import { parseOptions } from "./bench/options.ts";
import { againstTable, callersTable, goalTable, type Results, rowTable } from "./bench/report.ts";
import { credprocRows, floorRows, referenceRows, type Row } from "./bench/rows.ts";
import { serveFigures, serveTable } from "./bench/serve.ts";
import { answerers, measure, probe } from "./bench/timing.ts";
import { revTree, thisTree, type Tree } from "./bench/trees.ts";
import { makeWorld } from "./bench/world.ts";

const o = parseOptions(Deno.args, (name) => Deno.env.get(name));
const progress = (line: string) => console.error(line);
const hyperfine = which("hyperfine");
const treeCount = o.against ? 2 : 1;
// Every run of a login cold row refreshes once (probe, audit, warm-up, timed and RSS rounds), per tree.
await using world = await makeWorld((o.warmup + o.runs + o.rssRuns + 4) * treeCount + 8);

const trees: Tree[] = [thisTree(world.work, o.bin)];
if (o.against) {
  progress(`bench: ${o.against} into a temporary directory (git archive)…`);
  try {
    trees.push(await revTree(o.against, world.work, world.env));
  } catch (e) {
    console.error(`bench: --against ${o.against}: ${e instanceof Error ? e.message : e}`);
    await world[Symbol.asyncDispose]();
    Deno.exit(2);
  }
}
let rows: Row[] = [
  ...floorRows(world, o.floorBin),
  ...trees.flatMap((t) => credprocRows(t, world)),
  ...(await referenceRows(world, o.bin === undefined)),
];
// Every row must work before it is timed (this also fills each tree's cache and memos); REV may lack a row.
const missing = await probe(rows, world, (row) => row.tree?.id !== "rev");
rows = rows.filter((r) => !missing.includes(r));
const answeredBy = await answerers(rows, world);
for (const row of rows) {
  const by = answeredBy.get(row.key);
  if (row.answerer !== undefined && by !== undefined && by !== row.answerer && row.tree?.id === "this") {
    throw new Error(`${row.name} was answered by the ${by}, not the ${row.answerer}`);
  }
}

progress(
  `bench: ${rows.length} rows, ${o.runs} interleaved rounds after ${o.warmup} warm-up rounds, ${
    hyperfine ? "hyperfine" : "a spawn-and-wait timer (no hyperfine)"
  }${
    missing.length ? `; ${missing.length} rows REV cannot run: ${missing.map((r) => r.spec).join(", ")}` : ""
  }…`,
);
const measured = await measure(rows, world, { ...o, hyperfine, progress });
for (const [k, v] of answeredBy) measured.answerer.set(k, v);

let batches;
if (o.callers > 0) {
  progress(`bench: ${o.callers} concurrent cold callers, ${o.callersRounds} rounds…`);
  batches = await concurrentCallers(trees, world, o.callers, o.callersRounds);
}
let serve;
if (o.serve && !which("wrk")) {
  progress("bench: serve skipped: wrk is missing (apt-get install -y wrk)");
} else if (o.serve) {
  progress(`bench: serve under wrk (${o.serveRounds} rounds of ${o.serveSeconds} s × 2 connection counts)…`);
  serve = await serveFigures(trees, world, {
    seconds: o.serveSeconds,
    rounds: o.serveRounds,
    long: o.serveRequests,
    progress,
  });
}
const results: Results = { rows, trees, measured, callers: o.callers, batches, serve };

const expectedHitRequests = rows.filter((r) => /hit/.test(r.spec)).map((r) => measured.requests.get(r.key)!)
  .reduce((n, c) => n + c.sts + c.signIn, 0);
console.log(
  [
    `credproc benchmark — ${
      new Date().toISOString().slice(0, 10)
    }, deno ${Deno.version.deno}, ${Deno.build.target}, ${navigator.hardwareConcurrency} CPUs, ${
      hyperfine ? "hyperfine" : "spawn timer"
    }; ${o.runs} interleaved rounds (own order each), ${o.rssRuns} RSS rounds; medians, ratios paired by round`,
    ...trees.map((t) => `${t.label}: ${t.command.join(" ")}`),
    "",
    ...rowTable(results),
    "",
    ...(trees.length > 1 ? [...againstTable(results), ""] : []),
    ...(batches ? [...callersTable(results), ""] : []),
    ...(serve ? [...serveTable(serve), ""] : []),
    "Goals (issue 25, then the earlier ones):",
    "",
    ...goalTable(results),
    "",
    `- STS and sign-in requests made by the hit rows while measured: ${expectedHitRequests} (each must be 0)`,
  ].join("\n"),
);
if (o.refusals) {
  progress("bench: what refusing costs…");
  console.log(
    `\n${(await refusalFigures([...trees[0].command], world.env, Math.max(o.rssRuns, 1))).join("\n")}`,
  );
}
if (o.json) {
  await Deno.writeTextFile(
    o.json,
    JSON.stringify(
      {
        trees,
        rows: rows.map((r) => ({
          key: r.key,
          name: r.name,
          ms: measured.ms.get(r.key),
          rssMiB: measured.rssMiB.get(r.key),
          requests: measured.requests.get(r.key),
          answeredBy: measured.answerer.get(r.key),
        })),
        batches,
        serve,
      },
      null,
      2,
    ),
  );
}
