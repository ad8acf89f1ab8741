/**
 * Timing the rows. Rounds are interleaved — each round runs every row once, in an order of its own (seeded
 * shuffle) — so load that comes and goes on a shared machine falls on all rows alike, and two rows' figures of
 * the same round can be divided (paired ratios, see stats.ts). Each run is timed by hyperfine (`--runs 1`:
 * fork, exec, wait) or, without it, by a spawn-and-wait timer; peak RSS is GNU time's `%M`, in rounds of its
 * own (the wrapper is not in the timed runs). Every run's STS and sign-in requests are counted at the stand-ins.
 */
import type { Answerer, Row } from "./rows.ts";
import { run } from "./trees.ts";
import { shuffled } from "./stats.ts";
import type { World } from "./world.ts";

/** What the rounds measured, by row key; arrays are indexed by round. */
export interface Measured {
  /** Wall time of each timed round's run, ms. */
  readonly ms: Map<string, number[]>;
  /** Peak RSS of each RSS round's run, MiB. */
  readonly rssMiB: Map<string, number[]>;
  /** STS requests (AssumeRole) and sign-in refreshes over the timed and RSS runs. */
  readonly requests: Map<string, { runs: number; sts: number; signIn: number }>;
  /** Which program answered, for rows checked or classified with the permission audit. */
  readonly answerer: Map<string, Answerer>;
}

const quote = (argv: readonly string[]) =>
  argv.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`).join(" ");

/** The timer: hyperfine when installed, else a spawn-and-wait timer. */
export function timer(hyperfine: string | undefined, env: Record<string, string>, cwd: string) {
  const json = `${cwd}/hyperfine.json`;
  return async (row: Row, argv: string[]): Promise<number> => {
    if (hyperfine === undefined) {
      const t0 = performance.now();
      const r = await run(argv, env, cwd);
      const ms = performance.now() - t0;
      if (r.code !== 0) throw new Error(`${row.name}: exit ${r.code}: ${r.err}`);
      return ms;
    }
    const h = await new Deno.Command(hyperfine, {
      args: [
        "--shell=none",
        "--style=none",
        "--runs",
        "1",
        "--export-json",
        json,
        "-n",
        row.key,
        quote(argv),
      ],
      env,
      clearEnv: true,
      cwd,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!h.success) throw new Error(`${row.name}: hyperfine failed:\n${new TextDecoder().decode(h.stderr)}`);
    const result = JSON.parse(await Deno.readTextFile(json)).results[0] as { times: number[] };
    return result.times[0] * 1000;
  };
}

/**
 * Each row must work before it is timed: one run each, output checked. Rows that fail are returned (a REV that
 * lacks a command, say); `mustWork` rows that fail throw.
 */
export async function probe(
  rows: readonly Row[],
  world: World,
  mustWork: (row: Row) => boolean,
): Promise<Row[]> {
  const failed: Row[] = [];
  for (const row of rows) {
    await row.prepare?.();
    const r = await run(row.argv(), world.env, world.work);
    if (r.code !== 0 || (row.output !== undefined && !row.output.test(r.out))) {
      if (mustWork(row)) throw new Error(`${row.name} does not work (exit ${r.code}):\n${r.err || r.out}`);
      failed.push(row);
    }
  }
  return failed;
}

/**
 * Which program answers each row that names or classifies its answerer: the full program reads
 * CREDPROC_MFA_TOKEN_CODE, the fast path never does (Deno's permission audit log, `DENO_AUDIT_PERMISSIONS`,
 * shows every check). Two runs each: the first may write what the second reads (a memo).
 */
export async function answerers(rows: readonly Row[], world: World): Promise<Map<string, Answerer>> {
  const out = new Map<string, Answerer>();
  for (const row of rows.filter((r) => r.answerer !== undefined || r.classify)) {
    if (row.tree?.root === undefined) continue; // a compiled binary: no audit
    const audit = `${world.work}/audit.jsonl`;
    await row.prepare?.();
    const r = await run(row.argv(), { ...world.env, DENO_AUDIT_PERMISSIONS: audit }, world.work);
    const text = await Deno.readTextFile(audit).catch(() => "");
    await Deno.remove(audit).catch(() => {});
    if (r.code !== 0 || text === "") continue;
    out.set(row.key, text.includes('"CREDPROC_MFA_TOKEN_CODE"') ? "full program" : "fast path");
  }
  return out;
}

/** Times `rows` in `warmup + runs` interleaved rounds, then measures peak RSS in `rssRuns` rounds. */
export async function measure(
  rows: readonly Row[],
  world: World,
  o: {
    readonly runs: number;
    readonly warmup: number;
    readonly rssRuns: number;
    readonly hyperfine?: string;
    readonly progress: (line: string) => void;
  },
): Promise<Measured> {
  const time = timer(o.hyperfine, world.env, world.work);
  const ms = new Map(rows.map((r) => [r.key, [] as number[]]));
  const rssMiB = new Map(rows.map((r) => [r.key, [] as number[]]));
  const requests = new Map(rows.map((r) => [r.key, { runs: 0, sts: 0, signIn: 0 }]));
  const counted = async <T>(row: Row, f: () => Promise<T>): Promise<T> => {
    const sts = world.sts.count("AssumeRole");
    const signIn = world.login.refreshes();
    const out = await f();
    const c = requests.get(row.key)!;
    c.runs++;
    c.sts += world.sts.count("AssumeRole") - sts;
    c.signIn += world.login.refreshes() - signIn;
    return out;
  };
  const started = performance.now();
  for (let round = 0; round < o.warmup + o.runs; round++) {
    for (const row of shuffled(rows, round + 1)) {
      await row.prepare?.();
      const argv = row.argv();
      const t = round < o.warmup ? await time(row, argv) : await counted(row, () => time(row, argv));
      if (round >= o.warmup) ms.get(row.key)!.push(t);
    }
    if ((round + 1) % 10 === 0) {
      o.progress(
        `  round ${round + 1}/${o.warmup + o.runs} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
  }
  if (await isFile("/usr/bin/time")) {
    const out = `${world.work}/rss.txt`;
    for (let round = 0; round < o.rssRuns; round++) {
      for (const row of shuffled(rows, 1000 + round)) {
        await row.prepare?.();
        const argv = row.argv();
        const r = await counted(
          row,
          () => run(["/usr/bin/time", "-f", "%M", "-o", out, ...argv], world.env, world.work),
        );
        if (r.code !== 0) throw new Error(`${row.name}: exit ${r.code} under /usr/bin/time: ${r.err}`);
        const kib = Number((await Deno.readTextFile(out)).trim().split("\n").pop());
        rssMiB.get(row.key)!.push(kib / 1024);
      }
    }
  }
  return { ms, rssMiB, requests, answerer: new Map() };
}

/** Whether `path` is a regular file. */
export async function isFile(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => undefined))?.isFile === true;
}
