/**
 * Where a call's CPU time goes, by module: V8 CPU profiles (`deno run --cpu-prof`) of N runs each of an empty
 * program, a cache hit (fast path), a hit through the full program (`--verbose`), a cold call (`--refresh`) and
 * the SDK reference (scripts/sdk_floor.ts), in the bench's world (scripts/bench/world.ts); self time summed by
 * category — one of credproc's modules, an npm package, a part of Deno's runtime (`ext:`), or V8's own
 * `(program)`, `(garbage collector)` and `(idle)` (the main thread waiting: module loading, I/O, other threads)
 * — and the median over the runs printed as a Markdown table.
 *
 *   deno run -P=dev scripts/bench/profile.ts [--runs N] [--interval µs] [--keep DIR]
 *
 * Sampling slows a run down (the spans are longer than the bench's times) and a 100 µs sample is the finest
 * grain: read the table for where time goes, and the bench for how much a call costs.
 */
import { parseArgs } from "node:util";
import { median } from "./stats.ts";
import { DENO, denoRunFlags, ROOT } from "./trees.ts";
import { makeWorld, ROLE } from "./world.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "15" },
    interval: { type: "string", default: "100" },
    keep: { type: "string" },
  },
});
const RUNS = Number(values.runs);
const INTERVAL = Number(values.interval);
if (!(RUNS >= 1) || !(INTERVAL >= 10)) {
  console.error(
    "usage: deno run -P=dev scripts/bench/profile.ts [--runs N ≥ 1] [--interval µs ≥ 10] [--keep DIR]",
  );
  Deno.exit(2);
}

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The category a frame's self time is summed under. */
export function category(frame: { functionName: string; url: string }): string {
  const { url, functionName } = frame;
  if (!url) return functionName || "(anonymous)";
  const npm = /\/npm\/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (npm) return `npm: ${npm[1]}`;
  const ext = /^ext:([^/]+)\//.exec(url);
  if (ext) return `runtime: ${ext[1]}`;
  if (url.startsWith("node:")) return `runtime: ${url}`;
  if (url.startsWith(`file://${ROOT}`)) return `credproc: ${url.slice(`file://${ROOT}`.length)}`;
  return url.replace(/^file:\/\/.*\//, "");
}

/** Self time (ms) by category, and the profile's span. */
function selfTimes(p: Profile): { byCategory: Map<string, number>; spanMs: number } {
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const byCategory = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const c = category(nodes.get(id)!.callFrame);
    byCategory.set(c, (byCategory.get(c) ?? 0) + p.timeDeltas[i] / 1000);
  });
  return { byCategory, spanMs: (p.endTime - p.startTime) / 1000 };
}

await using world = await makeWorld(4);
const dir = values.keep ?? `${world.work}/profiles`;
const role = ["--role-arn", ROLE, "--endpoint-url", world.sts.url];
const cases: Record<string, string[]> = {
  "empty program": [world.emptyProgram],
  "hit (fast path)": [`${ROOT}main.ts`, ...role],
  "hit, full program": [`${ROOT}main.ts`, ...role, "--verbose"],
  "cold (--refresh)": [`${ROOT}main.ts`, ...role, "--refresh"],
  "SDK reference": [`${ROOT}scripts/sdk_floor.ts`, ROLE, world.sts.url],
};
const env = { ...world.env, CREDPROC_CACHE_DIR: `${world.work}/cache` };
const runCase = async (name: string, args: string[], out?: string) => {
  const profile = out ? ["--cpu-prof", `--cpu-prof-dir=${out}`, `--cpu-prof-interval=${INTERVAL}`] : [];
  const o = await new Deno.Command(DENO, {
    args: ["run", ...denoRunFlags(ROOT), ...profile, ...args],
    env,
    clearEnv: true,
    cwd: world.work,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!o.success) throw new Error(`${name}: exit ${o.code}: ${new TextDecoder().decode(o.stderr)}`);
};
// Unprofiled first runs fill the cache, the memo and Deno's code cache.
for (const [name, args] of Object.entries(cases)) await runCase(name, args);
const slug = (name: string) => name.replace(/[^a-z]+/gi, "-");
for (let i = 0; i < RUNS; i++) {
  for (const [name, args] of Object.entries(cases)) await runCase(name, args, `${dir}/${slug(name)}`);
}
const results = new Map<string, ReturnType<typeof selfTimes>[]>();
for (const name of Object.keys(cases)) {
  const files = [...Deno.readDirSync(`${dir}/${slug(name)}`)].map((e) => `${dir}/${slug(name)}/${e.name}`);
  results.set(name, files.map((f) => selfTimes(JSON.parse(Deno.readTextFileSync(f)) as Profile)));
}
const categories = new Set(
  [...results.values()].flatMap((rs) => rs.flatMap((r) => [...r.byCategory.keys()])),
);
const names = Object.keys(cases);
const rows = [...categories].map((c) => ({
  c,
  ms: names.map((n) => median(results.get(n)!.map((r) => r.byCategory.get(c) ?? 0))),
})).filter((r) => Math.max(...r.ms) >= 0.3).sort((a, b) => Math.max(...b.ms) - Math.max(...a.ms));
console.log(
  [
    `CPU self time by category, ms, median of ${RUNS} profiles each (deno run --cpu-prof, ${INTERVAL} µs samples)`,
    `| category | ${names.join(" | ")} |`,
    `|---|${names.map(() => "---:|").join("")}`,
    ...rows.map((r) => `| ${r.c} | ${r.ms.map((x) => x.toFixed(1)).join(" | ")} |`),
    `| profile span (sampling slows a run) | ${
      names.map((n) => median(results.get(n)!.map((r) => r.spanMs)).toFixed(1)).join(" | ")
    } |`,
  ].join("\n"),
);
