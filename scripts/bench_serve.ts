/**
 * `deno task bench:serve`: `credproc serve`'s keep-alive throughput and CPU per request against a reference
 * — a minimal `Deno.serve` with the same token check answering the same document — under wrk
 * (`apt-get install wrk`) with 16 and 64 connections, rounds interleaved; then its memory over a long run.
 * Loopback only; every run is bounded in time.
 *
 * Options: --seconds N (each wrk run, default 8), --rounds N (default 3), --long N (requests of the memory
 * run, default 500000), --json FILE.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { DENO_DIR, which } from "../tests/support/helpers.ts";
import { startStandin } from "../tests/support/sts_standin/mod.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DENO = Deno.realPathSync(Deno.execPath());
const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "8" },
    rounds: { type: "string", default: "3" },
    long: { type: "string", default: "500000" },
    json: { type: "string" },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const LONG = Number(values.long);
const wrk = which("wrk");
if (wrk === undefined) {
  console.error("bench:serve: wrk is missing: apt-get install -y wrk");
  Deno.exit(1);
}

/** The reference: Deno.serve, the same token check, the same body. Run as its own process. */
const REFERENCE = `
const [token, body] = [Deno.args[0], await Deno.readTextFile(Deno.args[1])];
Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: (a) => console.log(a.port) }, (req) =>
  req.headers.get("authorization") === token
    ? new Response(body, { headers: { "content-type": "application/json", "cache-control": "no-store" } })
    : new Response('{"Code":"Unauthorized"}', { status: 401 }));
`;

/** A server process and how to read its CPU time and memory. */
interface Proc {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<void>;
}

/** CPU seconds (user + system) of `pid` so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

/** Resident memory of `pid`, MiB. */
async function rssMiB(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await Deno.readTextFile(`/proc/${pid}/status`));
  return Number(m?.[1] ?? 0) / 1024;
}

/** Spawns `argv`, reads stdout lines until `ready` says the port. */
async function start(
  argv: string[],
  env: Record<string, string>,
  ready: (out: string) => number | undefined,
): Promise<Proc> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let port: number | undefined;
  while (port === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${argv.join(" ")} ended before it listened`);
    out += value;
    port = ready(out);
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return {
    pid: child.pid,
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** One wrk run: requests per second and requests done. */
async function load(port: number, token: string, connections: number, seconds: number) {
  const script = await Deno.makeTempFile({ suffix: ".lua" });
  await Deno.writeTextFile(script, `wrk.headers["Authorization"] = "${token}"\n`);
  const out = await new Deno.Command(wrk!, {
    args: ["-t2", `-c${connections}`, `-d${seconds}s`, "-s", script, `http://127.0.0.1:${port}/credentials`],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(script);
  const text = new TextDecoder().decode(out.stdout);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const done = Number(/(\d+) requests in/.exec(text)?.[1] ?? NaN);
  if (/Non-2xx/.test(text)) throw new Error(`wrk saw refusals:\n${text}`);
  return { rps, done };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await using standin = await startStandin();
const home = await Deno.makeTempDir({ prefix: "credproc-bench-serve-" });
await Deno.mkdir(`${home}/.aws`);
await Deno.writeTextFile(
  `${home}/.aws/credentials`,
  `[src]\naws_access_key_id = ${standin.accessKeyId}\naws_secret_access_key = ${standin.secretAccessKey}\n`,
);
const env = {
  HOME: home,
  DENO_DIR,
  DENO_NO_UPDATE_CHECK: "1",
  AWS_EC2_METADATA_DISABLED: "true",
  PATH: "/usr/bin:/bin",
};
let token = "";
const serve = await start(
  [
    DENO,
    "run",
    "-q",
    "-P",
    "--no-prompt",
    "--cached-only",
    "--config",
    `${ROOT}deno.json`,
    `${ROOT}main.ts`,
    "serve",
    "--profile",
    "src",
    "--role-arn",
    "arn:aws:iam::123456789012:role/bench",
    "--endpoint-url",
    standin.url,
    "--region",
    "us-east-1",
  ],
  env,
  (out) => {
    const port = /FULL_URI=http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)?.[1];
    const t = /AUTHORIZATION_TOKEN=(\S+)/.exec(out)?.[1];
    if (port === undefined || t === undefined) return undefined;
    token = t;
    return Number(port);
  },
);
const document = await (await fetch(`http://127.0.0.1:${serve.port}/credentials`, {
  headers: { authorization: token },
})).text();
const bodyFile = `${home}/body.json`;
await Deno.writeTextFile(bodyFile, document);
const refFile = `${home}/reference.ts`;
await Deno.writeTextFile(refFile, REFERENCE);
const reference = await start([DENO, "run", "-A", refFile, token, bodyFile], env, (out) => {
  const m = /^(\d+)\n/.exec(out);
  return m ? Number(m[1]) : undefined;
});

const servers = { reference, serve } as const;
const results: Record<string, { rps: number; cpuPerRequestUs: number }[]> = {};
for (const name of Object.keys(servers)) {
  await load(servers[name as keyof typeof servers].port, token, 16, 2); // warm up
}
for (const connections of [16, 64]) {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, proc] of Object.entries(servers)) {
      const cpu0 = await cpuSeconds(proc.pid);
      const { rps, done } = await load(proc.port, token, connections, SECONDS);
      const cpu = (await cpuSeconds(proc.pid)) - cpu0;
      (results[`${name} c${connections}`] ??= []).push({ rps, cpuPerRequestUs: (cpu / done) * 1e6 });
    }
  }
}

console.log(`serve keep-alive, wrk -t2, ${SECONDS} s runs, median of ${ROUNDS} interleaved rounds`);
console.log(
  "| connections | reference req/s | serve req/s | ratio (goal ≥ 0.85) | CPU µs/req ref | serve | ratio (goal ≤ 1.3) |",
);
console.log("|---|---|---|---|---|---|---|");
const summary: Record<string, unknown> = {};
for (const connections of [16, 64]) {
  const ref = results[`reference c${connections}`];
  const srv = results[`serve c${connections}`];
  const r = { rps: median(ref.map((x) => x.rps)), cpu: median(ref.map((x) => x.cpuPerRequestUs)) };
  const s = { rps: median(srv.map((x) => x.rps)), cpu: median(srv.map((x) => x.cpuPerRequestUs)) };
  summary[`c${connections}`] = { reference: r, serve: s };
  console.log(
    `| ${connections} | ${r.rps.toFixed(0)} | ${s.rps.toFixed(0)} | ${(s.rps / r.rps).toFixed(2)} | ` +
      `${r.cpu.toFixed(1)} | ${s.cpu.toFixed(1)} | ${(s.cpu / r.cpu).toFixed(2)} |`,
  );
}

// Memory over a long run: RSS after a warm-up, then after LONG more requests.
const before = await rssMiB(serve.pid);
let total = 0;
while (total < LONG) total += (await load(serve.port, token, 16, Math.min(10, SECONDS))).done;
const after = await rssMiB(serve.pid);
console.log(
  `memory: serve RSS ${before.toFixed(1)} MiB, then ${after.toFixed(1)} MiB after ${total} more requests`,
);
summary.memory = { beforeMiB: before, afterMiB: after, requests: total };

await reference.stop();
await serve.stop();
await Deno.remove(home, { recursive: true });
if (values.json) await Deno.writeTextFile(values.json, JSON.stringify({ results, summary }, null, 2));
