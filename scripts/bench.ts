/**
 * `deno task bench`: start-up and end-to-end cost of credproc, side by side in one run, against the STS
 * stand-in on loopback. Every row is a whole process, timed by hyperfine (`apt-get install hyperfine`) or, if
 * it is missing, by a plain spawn-and-wait timer; peak RSS comes from GNU time (`/usr/bin/time -f %M`).
 *
 * Rows:
 * - floor: an empty Deno program, run the same way as credproc (`deno run -q -P --config deno.json`);
 * - credproc cache hit through the fast path, without and with a shared config file present (`~/.aws/config`:
 *   real users have one), and the same hits through the full program (`--verbose` skips the fast path);
 * - credproc cold call (`--refresh`: lock, STS AssumeRole, atomic write);
 * - `credproc eks-token` hit through the fast path (the token entry, printed as an ExecCredential) and cold
 *   (`--refresh`: AssumeRole, then the token signed locally), beside `aws eks get-token` for a profile with
 *   static keys (signed locally: no network at all, the AWS CLI's floor for a token);
 * - reference: scripts/sdk_floor.ts, one AssumeRole through the SDK and nothing else — what any cold call
 *   built on `@aws-sdk/client-sts` costs at least (its peak RSS is the floor for credproc's);
 * - the seed pipeline `aws sts assume-role … | jq '.Credentials + {Version: 1}'`;
 * - `aws configure export-credentials` for a profile with static keys (no STS at all: the CLI's floor).
 * Then what refusing a bad input or answer costs (scripts/bench_refusals.ts).
 *
 * Options:
 *   --runs N          timed rounds (default 30); each round runs every row once, interleaved
 *   --warmup N        untimed rounds first (default 3)
 *   --rss-runs N      runs under /usr/bin/time per row for peak RSS (default 5)
 *   --bin PATH        time a compiled credproc instead of `deno run main.ts` (CREDPROC_BIN works too)
 *   --floor-bin PATH  the floor for --bin: a compiled empty program (default: `deno run` of one)
 *   --json FILE       write the raw numbers
 * The real `deno` binary is invoked (Deno.execPath()), never an npm wrapper.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { which } from "../tests/support/helpers.ts";
import { startStandin } from "../tests/support/sts_standin/mod.ts";
import { refusalFigures } from "./bench_refusals.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DENO = Deno.realPathSync(Deno.execPath());
const ROLE = "arn:aws:iam::123456789012:role/bench";

const USAGE =
  `usage: deno task bench [--runs N] [--warmup N] [--rss-runs N] [--bin PATH --floor-bin PATH] [--json FILE]
  --runs N          timed rounds (default 30); each round runs every row once, interleaved
  --warmup N        untimed rounds first (default 3)
  --rss-runs N      runs under /usr/bin/time per row for peak RSS (default 5)
  --bin PATH        time a compiled credproc instead of \`deno run main.ts\` (CREDPROC_BIN works too)
  --floor-bin PATH  the floor for --bin: a compiled empty program (default: \`deno run\` of one)
  --json FILE       write the raw numbers`;

function parseOptions() {
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        runs: { type: "string", default: "30" },
        warmup: { type: "string", default: "3" },
        "rss-runs": { type: "string", default: "5" },
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
    for (const k of ["runs", "warmup", "rss-runs"] as const) {
      if (!/^\d+$/.test(values[k]) || (k === "runs" && Number(values[k]) < 1)) {
        throw new Error(`--${k} must be a whole number${k === "runs" ? " ≥ 1" : ""}, not ${values[k]}`);
      }
    }
    return values;
  } catch (e) {
    console.error(`bench: ${e instanceof Error ? e.message : e}\n${USAGE}`);
    Deno.exit(2);
  }
}

const values = parseOptions();
const RUNS = Number(values.runs);
const WARMUP = Number(values.warmup);
const RSS_RUNS = Number(values["rss-runs"]);
const BIN = values.bin ?? (Deno.env.get("CREDPROC_BIN") || undefined);

interface Row {
  name: string;
  argv: string[];
  /** Medians etc. in ms, filled in. */
  median?: number;
  mean?: number;
  min?: number;
  max?: number;
  rssMiB?: number;
}

async function run(
  argv: string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout), err: new TextDecoder().decode(o.stderr) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** sh -c quoting for the one row that is a shell pipeline. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const hyperfine = which("hyperfine");
const gnuTime = (await Deno.stat("/usr/bin/time").catch(() => undefined))?.isFile
  ? "/usr/bin/time"
  : undefined;
const aws = (await Deno.stat("/usr/bin/aws").catch(() => undefined)) ? "/usr/bin/aws" : which("aws");
const jq = which("jq");

await using standin = await startStandin();
const work = await Deno.makeTempDir({ prefix: "credproc-bench-" });
try {
  const home = `${work}/home`;
  await Deno.mkdir(`${home}/.aws`, { recursive: true });
  const configFile = `${home}/.aws/config`;
  const credentialsFile = `${home}/.aws/credentials`;
  await Deno.writeTextFile(
    configFile,
    `[default]\nregion = us-east-1\n\n[profile bench-static]\nregion = us-east-1\n\n` +
      `[profile bench]\ncredential_process = credproc --role-arn ${ROLE} --endpoint-url ${standin.url}\n`,
  );
  await Deno.writeTextFile(
    credentialsFile,
    `[bench-static]\naws_access_key_id = ${standin.accessKeyId}\naws_secret_access_key = ${standin.secretAccessKey}\n`,
  );
  await Deno.writeTextFile(`${work}/empty.ts`, "");

  const denoDir = Deno.env.get("DENO_DIR") ||
    `${Deno.env.get("XDG_CACHE_HOME") || `${Deno.env.get("HOME")}/.cache`}/deno`;
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    DENO_DIR: denoDir,
    NO_COLOR: "1",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_PAGER: "",
    AWS_ACCESS_KEY_ID: standin.accessKeyId,
    AWS_SECRET_ACCESS_KEY: standin.secretAccessKey,
    AWS_REGION: "us-east-1",
    AWS_CONFIG_FILE: `${work}/no-config`,
    AWS_SHARED_CREDENTIALS_FILE: `${work}/no-credentials`,
    CREDPROC_CACHE_DIR: `${work}/cache`,
  };
  const withConfig = [`AWS_CONFIG_FILE=${configFile}`, `AWS_SHARED_CREDENTIALS_FILE=${credentialsFile}`];
  // Every row goes through `env` so that the (tiny) cost of that exec is the same everywhere.
  const e = (extra: string[], argv: string[]) => ["/usr/bin/env", ...extra, ...argv];

  const denoRun = ["-q", "-P", "--no-prompt", "--cached-only", "--config", `${ROOT}deno.json`];
  const credproc = (entry: string[]) => (extra: string[]) => [
    ...entry,
    "--role-arn",
    ROLE,
    "--endpoint-url",
    standin.url,
    ...extra,
  ];
  const program = credproc(BIN ? [BIN] : [DENO, "run", ...denoRun, `${ROOT}main.ts`]);
  const floor = values["floor-bin"] ? [values["floor-bin"]] : [DENO, "run", ...denoRun, `${work}/empty.ts`];
  // The fast path only remembers inputs whose files are not brand new (see `remember` in lib/cache/session.ts).
  const past = new Date(Date.now() - 60_000);
  for (const f of [configFile, credentialsFile]) await Deno.utime(f, past, past);

  const EKS = ["eks-token", "--cluster-name", "bench"];
  const rows: Row[] = [
    { name: "floor: empty Deno program", argv: e([], floor) },
    { name: "credproc cache hit (fast path)", argv: e([], program([])) },
    { name: "credproc cache hit (fast path), ~/.aws/config present", argv: e(withConfig, program([])) },
    // --verbose is never answered by the fast path (its memo is not written for it): the full program's hit.
    { name: "credproc cache hit, full program (--verbose)", argv: e([], program(["--verbose"])) },
    {
      name: "credproc cache hit, full program (--verbose), ~/.aws/config present",
      argv: e(withConfig, program(["--verbose"])),
    },
    { name: "credproc cold call (--refresh)", argv: e([], program(["--refresh"])) },
    { name: "credproc eks-token hit (fast path)", argv: e([], program(EKS)) },
    { name: "credproc eks-token cold (--refresh)", argv: e([], program([...EKS, "--refresh"])) },
  ];
  if (!BIN) {
    rows.push({
      name: "reference: one AssumeRole through the SDK, nothing else (scripts/sdk_floor.ts)",
      argv: e([], [DENO, "run", ...denoRun, `${ROOT}scripts/sdk_floor.ts`, ROLE, standin.url]),
    });
  }
  if (aws && jq) {
    const pipeline =
      `${aws} sts assume-role --role-arn ${ROLE} --role-session-name bench --endpoint-url ${standin.url}` +
      ` --output json | ${jq} ${sq(".Credentials + {Version: 1}")}`;
    rows.push({ name: "seed: aws sts assume-role | jq", argv: e([], ["/bin/sh", "-c", pipeline]) });
    rows.push({
      name: "aws eks get-token (static keys, signed locally)",
      argv: e(withConfig, [aws, "eks", "get-token", "--cluster-name", "bench", "--profile", "bench-static"]),
    });
    const help = await run([aws, "configure", "export-credentials", "help"], env);
    if (help.code === 0) {
      rows.push({
        name: "aws configure export-credentials (static keys)",
        argv: e(withConfig, [aws, "configure", "export-credentials", "--profile", "bench-static"]),
      });
    }
  }

  // Every row must work before it is timed; this also fills the cache (and the fast path's memo).
  for (const row of rows) {
    const r = await run(row.argv, env);
    if (
      r.code !== 0 ||
      (row.name !== rows[0].name && !/AccessKeyId|AWS_ACCESS_KEY_ID|"ExecCredential"/.test(r.out))
    ) {
      throw new Error(`${row.name} does not work (exit ${r.code}):\n${r.err || r.out}`);
    }
  }
  // A fast-path row must really be answered by the fast path, a full-program row by the full program: the
  // full program reads CREDPROC_MFA_TOKEN_CODE, the fast path never does (Deno's permission audit log tells).
  for (const row of BIN ? [] : rows.filter((r) => /^credproc (cache|eks-token) hit/.test(r.name))) {
    const audit = `${work}/audit.jsonl`;
    await run(row.argv, { ...env, DENO_AUDIT_PERMISSIONS: audit });
    const full = (await Deno.readTextFile(audit)).includes('"CREDPROC_MFA_TOKEN_CODE"');
    if (full !== row.name.includes("full program")) {
      throw new Error(`${row.name} ran the ${full ? "full program" : "fast path"}`);
    }
    await Deno.remove(audit);
  }
  const before = standin.count("AssumeRole");

  console.error(
    `timing ${rows.length} rows, ${RUNS} interleaved rounds after ${WARMUP} warm-up rounds, with ${
      hyperfine ? "hyperfine" : "a spawn-and-wait timer"
    }…`,
  );
  // Interleaved rounds: each round runs every row once, in order, so load that comes and goes on a shared
  // machine falls on all rows alike instead of on whichever row ran during it (the ratios are what matter).
  // hyperfine times each round (`--runs 1` per row) for its precision; without it, a spawn-and-wait timer.
  const times: number[][] = rows.map(() => []);
  const jsonPath = `${work}/hyperfine.json`;
  const quote = (argv: string[]) => argv.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : sq(a)).join(" ");
  for (let round = 0; round < WARMUP + RUNS; round++) {
    const keep = round >= WARMUP;
    if (hyperfine) {
      const h = await new Deno.Command(hyperfine, {
        args: [
          "--shell=none",
          "--style=none",
          "--runs",
          "1",
          "--export-json",
          jsonPath,
          ...rows.flatMap((r) => ["-n", r.name, quote(r.argv)]),
        ],
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!h.success) throw new Error(`hyperfine failed:\n${new TextDecoder().decode(h.stderr)}`);
      const results = JSON.parse(await Deno.readTextFile(jsonPath)).results as { times: number[] }[];
      if (keep) results.forEach((res, i) => times[i].push(res.times[0] * 1000));
    } else {
      for (const [i, row] of rows.entries()) {
        const t0 = performance.now();
        await run(row.argv, env);
        if (keep) times[i].push(performance.now() - t0);
      }
    }
  }
  rows.forEach((row, i) => {
    row.median = median(times[i]);
    row.mean = times[i].reduce((a, b) => a + b, 0) / times[i].length;
    row.min = Math.min(...times[i]);
    row.max = Math.max(...times[i]);
  });
  if (gnuTime) {
    for (const row of rows) {
      let peak = 0;
      for (let i = 0; i < RSS_RUNS; i++) {
        const r = await run([gnuTime, "-f", "RSS_KIB=%M", ...row.argv], env);
        const kib = Number(/RSS_KIB=(\d+)/.exec(r.err)?.[1] ?? 0);
        peak = Math.max(peak, kib);
      }
      row.rssMiB = peak / 1024;
    }
  }

  // The hit rows must really have been hits: every STS request is accounted for by the rows that call STS.
  const stsCalls = standin.count("AssumeRole") - before;
  const callingRows = rows.filter((r) => /cold|seed|reference/.test(r.name)).length;
  const expected = callingRows * (WARMUP + RUNS + (gnuTime ? RSS_RUNS : 0));
  if (stsCalls !== expected) {
    console.error(`warning: ${stsCalls} STS requests, expected ${expected}: a hit row may have missed`);
  }

  const floorMs = rows[0].median!;
  const seed = rows.find((r) => r.name.startsWith("seed"));
  const fmt = (n: number | undefined, d = 1) => n === undefined ? "n/a" : n.toFixed(d);
  const lines = [
    `| | median ms | min ms | × floor | seed ÷ this | peak RSS MiB |`,
    `|---|---:|---:|---:|---:|---:|`,
    ...rows.map((r) =>
      `| ${r.name.replaceAll("|", "\\|")} | ${fmt(r.median)} | ${fmt(r.min)} | ${
        fmt(r.median! / floorMs, 2)
      } | ${seed ? fmt(seed.median! / r.median!, 1) : "n/a"} | ${fmt(r.rssMiB)} |`
    ),
  ];
  const target = (name: string, ok: boolean | undefined, detail: string) =>
    `- ${ok === undefined ? "n/a " : ok ? "PASS" : "MISS"} ${name}: ${detail}`;
  const hit = rows[1];
  const hitConfig = rows[2];
  const cold = rows.find((r) => r.name.startsWith("credproc cold"))!;
  const eksHit = rows.find((r) => r.name.startsWith("credproc eks-token hit"))!;
  const getToken = rows.find((r) => r.name.startsWith("aws eks get-token"));
  const sdkFloor = rows.find((r) => r.name.startsWith("reference"));
  const maxRss = Math.max(...rows.filter((r) => r.name.startsWith("credproc")).map((r) => r.rssMiB ?? 0));
  const targets = [
    target(
      "hit ≤ 1.2× the floor",
      hit.median! / floorMs <= 1.2,
      `${fmt(hit.median! / floorMs, 2)}× (with ~/.aws/config: ${fmt(hitConfig.median! / floorMs, 2)}×)`,
    ),
    target(
      "hit ≥ 10× faster than the seed pipeline",
      seed && seed.median! / hit.median! >= 10,
      seed
        ? `${fmt(seed.median! / hit.median!)}× (with ~/.aws/config: ${
          fmt(seed.median! / hitConfig.median!)
        }×)`
        : "no aws/jq",
    ),
    target(
      "cold call ≥ 2.5× faster than the seed pipeline",
      seed && seed.median! / cold.median! >= 2.5,
      seed ? `${fmt(seed.median! / cold.median!)}×` : "no aws/jq",
    ),
    target(
      "eks-token hit ≥ 10× faster than aws eks get-token",
      getToken && getToken.median! / eksHit.median! >= 10,
      getToken
        ? `${fmt(getToken.median! / eksHit.median!)}× (eks-token hit ${fmt(eksHit.median)} ms, assume hit ${
          fmt(hit.median)
        } ms)`
        : "no aws",
    ),
    target(
      "peak RSS ≤ 60 MiB",
      gnuTime ? maxRss <= 60 : undefined,
      gnuTime ? `${fmt(maxRss)} MiB (credproc rows)` : "no /usr/bin/time",
    ),
  ];
  console.log(
    [
      `credproc benchmark — ${
        new Date().toISOString().slice(0, 10)
      }, deno ${Deno.version.deno}, ${Deno.build.target}, ${navigator.hardwareConcurrency} CPUs, ${
        hyperfine ? "hyperfine" : "spawn timer"
      }, ${RUNS} interleaved runs/row, STS stand-in on ${standin.url}`,
      BIN ? `credproc: ${BIN}` : `credproc: ${DENO} run ${denoRun.join(" ")} main.ts`,
      "",
      ...lines,
      "",
      ...targets,
      ...(sdkFloor?.rssMiB !== undefined && cold.rssMiB !== undefined
        ? [
          `- peak RSS of one bare SDK AssumeRole (the reference row): ${
            fmt(sdkFloor.rssMiB)
          } MiB; credproc's ` +
          `cold call adds ${fmt(cold.rssMiB - sdkFloor.rssMiB)} MiB to it`,
        ]
        : []),
      `- STS requests while timing: ${stsCalls}, all from the cold, reference and seed rows (${expected} expected): the hit rows made ${
        stsCalls - expected
      }`,
    ].join("\n"),
  );
  // What refusing a bad input or answer costs (scripts/bench_refusals.ts), after the table.
  console.log(
    `\n${
      (await refusalFigures(
        BIN ? [BIN] : [DENO, "run", ...denoRun, `${ROOT}main.ts`],
        env,
        Math.max(RSS_RUNS, 1),
      )).join("\n")
    }`,
  );
  if (values.json) {
    await Deno.writeTextFile(values.json, JSON.stringify({ rows, stsCalls, floorMs }, null, 2));
  }
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
