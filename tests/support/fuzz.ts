/**
 * One seed policy for the property tests. The suite (and so CI) replays a fixed seed, so a run's verdict
 * depends only on the code; a long run (`CREDPROC_FUZZ_RUNS`, as `deno task fuzz` sets) explores from a
 * random seed.
 * Every file prints its seed, so a failure found while exploring is replayed with `CREDPROC_FUZZ_SEED=<n>`.
 */

/** The seed the suite uses when none is given (any fixed value; changing it is a deliberate act). */
export const SUITE_SEED = 20261129;

/** Extra runs asked for by `CREDPROC_FUZZ_RUNS` (0 = the suite's bounded counts). */
export const FUZZ_LONG = Number(Deno.env.get("CREDPROC_FUZZ_RUNS") ?? "0");

/**
 * The base seed of this run: `CREDPROC_FUZZ_SEED` (a number, or `random`); else random in a long run and
 * {@link SUITE_SEED} in the suite.
 */
export const FUZZ_SEED: number = (() => {
  const given = Deno.env.get("CREDPROC_FUZZ_SEED") || (FUZZ_LONG > 0 ? "random" : "");
  if (given === "") return SUITE_SEED;
  if (given === "random") return (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const n = Number(given);
  if (!Number.isInteger(n)) {
    throw new Error(`CREDPROC_FUZZ_SEED must be an integer or "random", not ${given}`);
  }
  return n;
})();

/** Prints the seed line for one test file. */
export function announceSeed(file: string, counts: string): void {
  console.log(`${file}: seed ${FUZZ_SEED} (CREDPROC_FUZZ_SEED=${FUZZ_SEED} replays), ${counts}`);
}
