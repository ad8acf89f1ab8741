/** Order statistics for the bench: medians and quartiles of timings and of per-round ratios. */

/** The `q` quantile (0..1) of `xs`, linear between neighbours; NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
}

/** The median of `xs`. */
export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** Median and interquartile range: how a figure is printed with its noise. */
export interface Spread {
  readonly median: number;
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly n: number;
}

/** The spread of `xs`. */
export function spread(xs: readonly number[]): Spread {
  return {
    median: median(xs),
    p25: quantile(xs, 0.25),
    p75: quantile(xs, 0.75),
    min: xs.length ? Math.min(...xs) : NaN,
    n: xs.length,
  };
}

/**
 * The per-round ratios `a[i] ÷ b[i]` of two rows timed in the same rounds: paired, so load that falls on a round
 * falls on both sides of its ratio. Rounds missing on either side are skipped.
 */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i]) && b[i] > 0) out.push(a[i] / b[i]);
  }
  return out;
}

/** The per-round differences `a[i] − b[i]`. */
export function pairedDiffs(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (Number.isFinite(a[i]) && Number.isFinite(b[i])) out.push(a[i] - b[i]);
  }
  return out;
}

/** `n` with `d` decimals, or `n/a`. */
export function fmt(n: number | undefined, d = 1): string {
  return n === undefined || !Number.isFinite(n) ? "n/a" : n.toFixed(d);
}

/** A spread as `median (p25–p75)`. */
export function fmtSpread(s: Spread | undefined, d = 1): string {
  return s === undefined || s.n === 0 ? "n/a" : `${fmt(s.median, d)} (${fmt(s.p25, d)}–${fmt(s.p75, d)})`;
}

/** Fisher–Yates with a small seeded generator: every round runs the rows in its own order, reproducibly. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
