/**
 * `deno task bench:serve`: only the serve part of `deno task bench` (scripts/bench/serve.ts) — `credproc serve`'s
 * keep-alive throughput and CPU per request against a minimal `Deno.serve` with the same token check, under wrk
 * with 16 and 64 connections, then its memory over a long run.
 *
 * Options: --seconds N (each wrk run, default 8), --rounds N (default 3), --long N (requests of the memory
 * run, default 3000000), --json FILE.
 */
import { parseArgs } from "node:util";
import { serveFigures, serveTable } from "./bench/serve.ts";
import { thisTree } from "./bench/trees.ts";
import { makeWorld } from "./bench/world.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    long: { type: "string", default: "3000000" },
    json: { type: "string" },
  },
});
for (const k of ["seconds", "rounds", "long"] as const) {
  if (!/^\d+$/.test(values[k])) {
    console.error(`bench:serve: --${k} must be a whole number, not ${values[k]}`);
    Deno.exit(2);
  }
}
await using world = await makeWorld(4);
const figures = await serveFigures([thisTree(world.work, undefined)], world, {
  seconds: Number(values.seconds),
  rounds: Number(values.rounds),
  long: Number(values.long),
  progress: (line) => console.error(line),
});
console.log(serveTable(figures).join("\n"));
if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(figures, null, 2));
