/** A spy on Deno's own `stat` family, for tests that count how often a path is examined. */

/** Counts `stat`/`statSync`/`lstat`/`lstatSync` calls on `path` while `run` runs; restores them after. */
export async function statsOf(path: string, run: () => Promise<void>): Promise<number> {
  const names = ["stat", "statSync", "lstat", "lstatSync"] as const;
  const d = Deno as unknown as Record<string, (p: string | URL) => unknown>;
  const saved = names.map((n) => d[n]);
  let count = 0;
  names.forEach((n, i) => {
    d[n] = (p) => {
      if (String(p) === path) count++;
      return saved[i](p);
    };
  });
  try {
    await run();
  } finally {
    names.forEach((n, i) => d[n] = saved[i]);
  }
  return count;
}
