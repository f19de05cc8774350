/** Percentiles and summaries of bench samples (milliseconds). */

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

/** One decimal: enough for milliseconds measured with performance.now(). */
export const round1 = (x: number): number => Math.round(x * 10) / 10;

/**
 * Nearest-rank percentiles (p99 of fewer than 100 samples is the largest one, not an interpolation). Non-finite
 * samples (a segment a sample could not measure) are left out; `n` counts what remains. `null` when nothing remains.
 */
export function summarize(samples: readonly number[]): Summary | null {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  return { n: s.length, p50: round1(q(50)), p95: round1(q(95)), p99: round1(q(99)), min: round1(s[0]!), max: round1(s.at(-1)!), mean: round1(s.reduce((a, b) => a + b, 0) / s.length) };
}
