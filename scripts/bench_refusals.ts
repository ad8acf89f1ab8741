/**
 * What refusing costs: the time and peak RSS of credproc turning away a file it must not read whole (a FIFO,
 * /dev/zero, a 100 MB file, as each kind of input file), a 300 MB STS answer, and the time it takes to give up
 * on an STS that never answers. The tests assert the outcome of each (exit code, the one line, a bound far
 * above these figures: tests/e2e/endpoints_and_files_test.ts, tests/e2e/network_faults_test.ts); the figures
 * themselves are printed here, by `deno task bench` after its table, or alone:
 * `deno run -P=dev scripts/bench_refusals.ts [--runs N]`.
 */
import { startFakeSts, startHangServer } from "../tests/support/fake_sts.ts";
import { DENO_DIR, sourceCommand } from "../tests/support/helpers.ts";

const ROLE = "arn:aws:iam::123456789012:role/bench";

interface Run {
  code: number;
  stderr: string;
  ms: number;
  peakMiB: number;
}

/** One run of `argv` under GNU time (peak RSS), stdin closed, exactly `env`. */
async function measure(argv: string[], env: Record<string, string>): Promise<Run> {
  const out = await Deno.makeTempFile({ prefix: "credproc-bench-rss-" });
  try {
    const t0 = performance.now();
    const o = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%M", "-o", out, ...argv],
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const ms = performance.now() - t0;
    const kib = Number((await Deno.readTextFile(out)).trim().split("\n").pop());
    return { code: o.code, stderr: new TextDecoder().decode(o.stderr), ms, peakMiB: kib / 1024 };
  } finally {
    await Deno.remove(out);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * The refusal figures as a Markdown table (lines), `runs` runs a row. `credproc` is the argv prefix that runs
 * the program under test; `base` the environment every run starts from (PATH, DENO_DIR, …).
 */
export async function refusalFigures(
  credproc: string[],
  base: Record<string, string>,
  runs = 3,
): Promise<string[]> {
  if (!(await Deno.stat("/usr/bin/time").catch(() => undefined))?.isFile) {
    return ["refusals: no /usr/bin/time (GNU time), no figures"];
  }
  const work = await Deno.makeTempDir({ prefix: "credproc-bench-refusals-" });
  await using sts = startFakeSts();
  await using hang = startHangServer();
  try {
    const fifo = `${work}/fifo`;
    const made = await new Deno.Command("mkfifo", { args: ["-m", "600", fifo], stdin: "null" }).output();
    if (!made.success) throw new Error("mkfifo failed");
    const big = `${work}/big`;
    {
      using f = await Deno.open(big, { write: true, create: true });
      await f.truncate(100 * 1024 * 1024);
    }
    const env = {
      ...base,
      HOME: work,
      AWS_CONFIG_FILE: `${work}/no-config`,
      AWS_SHARED_CREDENTIALS_FILE: `${work}/no-credentials`,
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ENDPOINT_URL_STS: sts.url,
      AWS_ACCESS_KEY_ID: "AKIABENCHREFUSAL0001",
      AWS_SECRET_ACCESS_KEY: "s",
      AWS_MAX_ATTEMPTS: "1",
      CREDPROC_CACHE_DIR: `${work}/cache`,
    };
    const role = ["--role-arn", ROLE, "--no-cache"];
    type Row = {
      name: string;
      args: string[];
      env: Record<string, string>;
      why: RegExp;
      before?: () => void;
    };
    const rows: Row[] = [];
    for (const [label, path] of [["a FIFO", fifo], ["/dev/zero", "/dev/zero"], ["a 100 MB file", big]]) {
      const why = path === big ? /: larger than \d+ bytes/ : /: not a regular file/;
      rows.push(
        { name: `--policy-file = ${label}`, args: [...role, "--policy-file", path], env, why },
        {
          name: `--web-identity-token-file = ${label}`,
          args: [...role, "--web-identity-token-file", path],
          env,
          why,
        },
        { name: `AWS_CONFIG_FILE = ${label}`, args: role, env: { ...env, AWS_CONFIG_FILE: path }, why },
        {
          name: `AWS_SHARED_CREDENTIALS_FILE = ${label}`,
          args: role,
          env: { ...env, AWS_SHARED_CREDENTIALS_FILE: path },
          why,
        },
      );
    }
    for (const declareLength of [false, true]) {
      rows.push({
        name: `a 300 MB STS answer, ${declareLength ? "with" : "without"} Content-Length`,
        args: role,
        env,
        why: /the answer is larger than 256 KiB/,
        before: () => sts.answer = { kind: "huge", bytes: 300 * 1024 * 1024, declareLength },
      });
    }
    rows.push({
      name: "an STS that never answers, --timeout 3",
      args: [...role, "--timeout", "3"],
      env: { ...env, AWS_ENDPOINT_URL_STS: hang.url },
      why: /no answer within 3 s/,
    });
    const lines = ["| refused | exit | median ms | peak RSS MiB |", "|---|---:|---:|---:|"];
    for (const row of rows) {
      row.before?.();
      const rs: Run[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await measure([...credproc, ...row.args], row.env);
        // A figure of the wrong refusal (a typo, a missing file) would be worse than none.
        if (r.code === 0 || !row.why.test(r.stderr.split("\n")[0])) {
          throw new Error(`refusals: ${row.name}: not the refusal measured (exit ${r.code}): ${r.stderr}`);
        }
        rs.push(r);
      }
      lines.push(
        `| ${row.name} | ${rs[0].code} | ${median(rs.map((r) => r.ms)).toFixed(0)} | ${
          Math.max(...rs.map((r) => r.peakMiB)).toFixed(1)
        } |`,
      );
    }
    return lines;
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const runs = Deno.args[0] === "--runs" ? Deno.args[1] : Deno.args.length === 0 ? "3" : undefined;
  if (!runs || !/^[1-9]\d*$/.test(runs)) {
    console.error("usage: deno run -P=dev scripts/bench_refusals.ts [--runs N]");
    Deno.exit(2);
  }
  const base = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", NO_COLOR: "1", DENO_DIR };
  console.log((await refusalFigures(sourceCommand(), base, Number(runs))).join("\n"));
}
