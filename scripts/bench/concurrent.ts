/**
 * N concurrent cold callers: N credproc processes started at once against an empty cache directory (the way N
 * `aws` commands start together in a script) must make one STS request between them — one takes the lock and
 * calls, the others wait and read its entry — and the batch's wall time is set beside N bare-SDK calls
 * (scripts/sdk_floor.ts) started the same way, which make N requests. Rounds interleave the sides.
 */
import { DENO, denoRunFlags, ROOT, type Tree } from "./trees.ts";
import { shuffled } from "./stats.ts";
import { ROLE, type World } from "./world.ts";

/** One side's rounds: wall time of each batch (ms) and the STS requests it made. */
export interface Batch {
  readonly label: string;
  readonly ms: number[];
  readonly requests: number[];
}

/** Starts `n` copies of `argv` at once; resolves with the batch's wall time once all ended with exit 0. */
async function batch(argv: readonly string[], env: Record<string, string>, cwd: string, n: number) {
  const t0 = performance.now();
  const children = Array.from({ length: n }, () =>
    new Deno.Command(argv[0], {
      args: argv.slice(1),
      env,
      clearEnv: true,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output());
  const results = await Promise.all(children);
  const ms = performance.now() - t0;
  const bad = results.find((r) =>
    r.code !== 0 || !new TextDecoder().decode(r.stdout).includes('"AccessKeyId"')
  );
  if (bad) {
    throw new Error(
      `${argv.join(" ")}: a concurrent caller failed:\n${new TextDecoder().decode(bad.stderr)}`,
    );
  }
  return ms;
}

/** `rounds` rounds of `n` concurrent cold callers per tree and of `n` bare-SDK calls. */
export async function concurrentCallers(
  trees: readonly Tree[],
  world: World,
  n: number,
  rounds: number,
): Promise<Batch[]> {
  const sides = [
    ...trees.map((tree) => ({
      label: `credproc (${tree.label})`,
      argv: (round: number) => [
        "/usr/bin/env",
        `CREDPROC_CACHE_DIR=${world.work}/concurrent-${tree.id}-${round}`,
        ...tree.command,
        "--role-arn",
        ROLE,
        "--endpoint-url",
        world.sts.url,
      ],
    })),
    {
      label: "bare SDK (scripts/sdk_floor.ts)",
      argv: () => [
        "/usr/bin/env",
        DENO,
        "run",
        ...denoRunFlags(ROOT),
        `${ROOT}scripts/sdk_floor.ts`,
        ROLE,
        world.sts.url,
      ],
    },
  ];
  const out = sides.map((s) => ({ label: s.label, ms: [] as number[], requests: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    for (const i of shuffled(sides.map((_, i) => i), 77 + round)) {
      const before = world.sts.count("AssumeRole");
      out[i].ms.push(await batch(sides[i].argv(round), world.env, world.work, n));
      out[i].requests.push(world.sts.count("AssumeRole") - before);
    }
  }
  return out;
}
