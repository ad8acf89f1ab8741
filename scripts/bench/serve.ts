/**
 * `credproc serve` under keep-alive load: throughput and CPU per request against a reference — a minimal
 * `Deno.serve` with the same token check answering the same document — under wrk (`apt-get install wrk`) with
 * 16 and 64 connections, rounds interleaved over the servers; then this tree's memory over a long run.
 * CPU per request is the server process's user + system time over a run (`/proc/PID/stat`) divided by the
 * requests wrk counted. Loopback only; every wrk run is bounded in time.
 */
import { which } from "../../tests/support/helpers.ts";
import { DENO, type Tree } from "./trees.ts";
import { median, pairedRatios, shuffled } from "./stats.ts";
import { ROLE, type World } from "./world.ts";

/** The reference: Deno.serve, the same token check, the same body. Run as its own process. */
const REFERENCE = `
const [token, body] = [Deno.args[0], await Deno.readTextFile(Deno.args[1])];
Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: (a) => console.log(a.port) }, (req) =>
  req.headers.get("authorization") === token
    ? new Response(body, { headers: { "content-type": "application/json", "cache-control": "no-store" } })
    : new Response('{"Code":"Unauthorized"}', { status: 401 }));
`;

export const CONNECTIONS = [16, 64] as const;

/** A server under test. */
interface Server {
  readonly label: string;
  readonly pid: number;
  readonly port: number;
  readonly token: string;
  /**
   * The heap in use (MiB) after each garbage collection so far, in order: filled only for a server started with
   * `DENO_V8_FLAGS=--trace-gc` (its stdout then carries V8's GC lines).
   */
  readonly heapAfterGcMiB: number[];
  stop(): Promise<void>;
}

/** One server's runs at one connection count, by round. */
export interface ServeRuns {
  readonly rps: number[];
  readonly cpuUsPerRequest: number[];
}

/** What {@link serveFigures} measured. */
export interface ServeFigures {
  readonly seconds: number;
  readonly rounds: number;
  /** Server labels: `reference`, then one per tree. */
  readonly labels: readonly string[];
  /** `runs[label][connections]`. */
  readonly runs: Record<string, Record<number, ServeRuns>>;
  /**
   * The long run of this tree's server (one of its own, started with `--trace-gc`): after each wrk run, the
   * requests so far, RSS, and the heap in use after the last garbage collection V8 reported (MiB).
   */
  readonly memory?: {
    readonly samples: readonly {
      readonly requests: number;
      readonly rssMiB: number;
      readonly heapMiB?: number;
    }[];
  };
}

/**
 * A file of /proc/PID/, read by `cat`: reading /proc/* in-process needs -A, and `deno task bench` runs with the
 * narrower `-P=dev`.
 */
async function procFile(pid: number, name: string): Promise<string> {
  const o = await new Deno.Command("cat", {
    args: [`/proc/${pid}/${name}`],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!o.success) throw new Error(`/proc/${pid}/${name}: ${new TextDecoder().decode(o.stderr).trim()}`);
  return new TextDecoder().decode(o.stdout);
}

/** CPU seconds (user + system) of `pid` so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await procFile(pid, "stat")).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** Resident memory of `pid`, MiB. */
async function rssMiB(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await procFile(pid, "status"));
  return Number(m?.[1] ?? 0) / 1024;
}

/** Spawns `argv`, reads stdout until `ready` finds the port and token. */
async function start(
  label: string,
  argv: readonly string[],
  env: Record<string, string>,
  ready: (out: string) => { port: number; token: string } | undefined,
): Promise<Server> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const errText = new Response(child.stderr).text();
  let out = "";
  let found: { port: number; token: string } | undefined;
  while (found === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${label}: ended before it listened:\n${await errText}`);
    out += value;
    found = ready(out);
  }
  const heapAfterGcMiB: number[] = [];
  let rest = out;
  const collect = () => {
    // V8's --trace-gc line: "…: Scavenge 12.0 (19.5) -> 5.6 (19.5) MB, …" (or Mark-Compact): in use before
    // (committed) -> in use after (committed), in MB of 2^20 bytes.
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      const m = / [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/.exec(line);
      if (m) heapAfterGcMiB.push(Number(m[1]));
    }
  };
  collect();
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += value;
      collect();
    }
  })();
  return {
    label,
    pid: child.pid,
    ...found,
    heapAfterGcMiB,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await errText;
    },
  };
}

/** One wrk run: requests per second and requests done. */
async function load(wrk: string, server: Server, connections: number, seconds: number, dir: string) {
  const script = `${dir}/wrk-${server.pid}.lua`;
  await Deno.writeTextFile(script, `wrk.headers["Authorization"] = "${server.token}"\n`);
  const out = await new Deno.Command(wrk, {
    args: [
      "-t2",
      `-c${connections}`,
      `-d${seconds}s`,
      "-s",
      script,
      `http://127.0.0.1:${server.port}/credentials`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (/Non-2xx/.test(text)) throw new Error(`${server.label}: wrk saw refusals:\n${text}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const done = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  if (!Number.isFinite(done) || done === 0) throw new Error(`${server.label}: wrk did no requests:\n${text}`);
  return { rps, done };
}

/** The export lines `credproc serve` prints: its port and token. */
function exportLines(out: string): { port: number; token: string } | undefined {
  const port = /FULL_URI=['"]?http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)?.[1];
  const token = /AUTHORIZATION_TOKEN=['"]?([^'"\s]+)/.exec(out)?.[1];
  return port === undefined || token === undefined ? undefined : { port: Number(port), token };
}

/**
 * Serve figures for each tree's `credproc serve` and the reference, `rounds` interleaved rounds of `seconds`-long
 * wrk runs per connection count; then `long` requests more to this tree's server (0: no memory run).
 */
export async function serveFigures(
  trees: readonly Tree[],
  world: World,
  o: {
    readonly seconds: number;
    readonly rounds: number;
    readonly long: number;
    readonly progress: (l: string) => void;
  },
): Promise<ServeFigures> {
  const wrk = which("wrk");
  if (wrk === undefined) {
    throw new Error("serve: wrk is missing (apt-get install -y wrk)");
  }
  const env = {
    ...world.env,
    AWS_CONFIG_FILE: world.withConfig[0].split("=")[1],
    AWS_SHARED_CREDENTIALS_FILE: world.withConfig[1].split("=")[1],
  };
  const serveTree = (tree: Tree, label: string, extraEnv: Record<string, string> = {}) =>
    start(
      label,
      [
        ...tree.command,
        "serve",
        "--profile",
        "bench-static",
        "--role-arn",
        ROLE,
        "--endpoint-url",
        world.sts.url,
        "--region",
        "us-east-1",
      ],
      { ...env, CREDPROC_CACHE_DIR: `${tree.cacheDir}-serve`, ...extraEnv },
      exportLines,
    );
  const servers: Server[] = [];
  try {
    for (const tree of trees) servers.push(await serveTree(tree, `serve (${tree.label})`));
    const first = servers[0];
    const doc = await (await fetch(`http://127.0.0.1:${first.port}/credentials`, {
      headers: { authorization: first.token },
    })).text();
    const bodyFile = `${world.work}/serve-body.json`;
    await Deno.writeTextFile(bodyFile, doc);
    const refFile = `${world.work}/serve-reference.ts`;
    await Deno.writeTextFile(refFile, REFERENCE);
    servers.unshift(
      await start("reference", [DENO, "run", "-A", refFile, first.token, bodyFile], env, (out) => {
        const m = /^(\d+)\n/.exec(out);
        return m ? { port: Number(m[1]), token: first.token } : undefined;
      }),
    );
    for (const s of servers) await load(wrk, s, 16, 2, world.work); // warm up
    const runs: ServeFigures["runs"] = {};
    for (const connections of CONNECTIONS) {
      for (let round = 0; round < o.rounds; round++) {
        for (const s of shuffled(servers, connections + round)) {
          const cpu0 = await cpuSeconds(s.pid);
          const { rps, done } = await load(wrk, s, connections, o.seconds, world.work);
          const cpu = (await cpuSeconds(s.pid)) - cpu0;
          const r = ((runs[s.label] ??= {})[connections] ??= {
            rps: new Array(o.rounds),
            cpuUsPerRequest: new Array(o.rounds),
          });
          r.rps[round] = rps;
          r.cpuUsPerRequest[round] = (cpu / done) * 1e6;
        }
      }
      o.progress(`  serve: ${connections} connections done`);
    }
    let memory: ServeFigures["memory"];
    if (o.long > 0) {
      // A server of its own, which V8 tells about each collection: RSS alone cannot tell a leak from V8 growing
      // its young generation (RSS steps up by about 11 MiB at a time, to a bound, while the heap in use after
      // each collection stays the same); what a leak keeps is in use after every collection.
      const s = await serveTree(trees[0], `${servers[1].label}, --trace-gc`, { DENO_V8_FLAGS: "--trace-gc" });
      servers.push(s);
      await load(wrk, s, 16, 1, world.work); // warm up, as the rounds were
      const heap = () => s.heapAfterGcMiB[s.heapAfterGcMiB.length - 1];
      const samples = [{ requests: 0, rssMiB: await rssMiB(s.pid), heapMiB: heap() }];
      let requests = 0;
      while (requests < o.long) {
        requests += (await load(wrk, s, 16, 1, world.work)).done;
        samples.push({ requests, rssMiB: await rssMiB(s.pid), heapMiB: heap() });
      }
      memory = { samples };
    }
    return {
      seconds: o.seconds,
      rounds: o.rounds,
      labels: servers.slice(0, trees.length + 1).map((s) => s.label),
      runs,
      memory,
    };
  } finally {
    for (const s of servers) await s.stop();
  }
}

/** A server's figure over the reference's at `connections`: the median of the paired per-round ratios. */
export function serveRatio(
  f: ServeFigures,
  label: string,
  connections: number,
  what: keyof ServeRuns,
): number {
  const ref = f.runs.reference?.[connections]?.[what] ?? [];
  const mine = f.runs[label]?.[connections]?.[what] ?? [];
  return median(pairedRatios(mine, ref));
}

/** The serve table (Markdown lines). */
export function serveTable(f: ServeFigures): string[] {
  const lines = [
    `serve keep-alive, wrk -t2, ${f.seconds} s runs, ${f.rounds} interleaved rounds; medians, ratios paired by round`,
    "| server | connections | req/s | ÷ reference (goal ≥ 0.85) | CPU µs/req | ÷ reference (goal ≤ 1.3) |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const connections of CONNECTIONS) {
    for (const label of f.labels) {
      const r = f.runs[label][connections];
      const ref = label === "reference";
      lines.push(
        `| ${label} | ${connections} | ${median(r.rps).toFixed(0)} | ${
          ref ? "1.00" : serveRatio(f, label, connections, "rps").toFixed(2)
        } | ${median(r.cpuUsPerRequest).toFixed(1)} | ${
          ref ? "1.00" : serveRatio(f, label, connections, "cpuUsPerRequest").toFixed(2)
        } |`,
      );
    }
  }
  if (f.memory) {
    const m = memoryGrowth(f.memory.samples);
    lines.push(
      "",
      `memory: ${
        f.labels[1]
      } RSS (MiB) after the rounds, then after each 1-second wrk run of 16 connections: ${
        f.memory.samples.map((x) => x.rssMiB.toFixed(1)).join(" ")
      } (${m.requests} requests; ${m.secondHalf >= 0 ? "+" : ""}${
        m.secondHalf.toFixed(1)
      } MiB over the second half)`,
    );
    const h = memoryGrowth(f.memory.samples, "heapMiB");
    lines.push(
      `heap in use after the last collection (MiB, V8's --trace-gc), at the same points: ${
        f.memory.samples.map((x) => x.heapMiB?.toFixed(1) ?? "?").join(" ")
      } (${h.secondHalf >= 0 ? "+" : ""}${h.secondHalf.toFixed(1)} MiB over the second half)`,
    );
  }
  return lines;
}

/**
 * How the long run's RSS (or heap in use after collections) moved: over all of it, and over its second half
 * (by requests) — a heap that settles grows early and then stays; a leak keeps growing, so "flat" is judged on
 * the second half.
 */
export function memoryGrowth(
  samples: readonly { readonly requests: number; readonly rssMiB: number; readonly heapMiB?: number }[],
  what: "rssMiB" | "heapMiB" = "rssMiB",
) {
  const last = samples[samples.length - 1];
  const half = samples.find((x) => x.requests >= last.requests / 2) ?? last;
  const at = (x: typeof last) => x[what] ?? NaN;
  return {
    requests: last.requests,
    total: at(last) - at(samples[0]),
    secondHalf: at(last) - at(half),
  };
}
