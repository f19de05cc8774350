/**
 * A small seeded PRNG (mulberry32) for the reliability schedules: a schedule is a pure function of its seed, so a
 * failing one is printed with its seed and replayed from it (the interleaving of real concurrency is not replayed:
 * the schedule is).
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => items[Math.floor(next() * items.length)]!,
  };
}

/** The seed of schedule `index` of a run: distinct, stable, printable. */
export function scheduleSeed(runSeed: number, index: number): number {
  return (Math.imul(runSeed ^ 0x5bd1e995, 2654435761) + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
}
