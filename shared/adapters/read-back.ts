import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How to verify a change whose reads may lag (EC2 Describe calls can answer the old value for up to about a second
 * after a change): bounded re-reads, the pause doubling from `intervalMs` up to `maxIntervalMs`.
 */
export interface ReadBackOptions {
  /** Reads at most (the first one right after the change). */
  attempts: number;
  /** Pause before the second read, milliseconds; each later pause doubles it. */
  intervalMs: number;
  /** Longest pause, milliseconds (a value below `intervalMs` means the pause stays at `intervalMs`). */
  maxIntervalMs?: number;
}

/**
 * The default read-back: 9 reads, pausing 50, 100, 200, then 400 ms. The last read starts 2.35 s after the first, so a
 * Describe lagging a change by 1.5 s (and then some) still confirms it, and a change that never shows is reported
 * within about 2.5 s instead of holding the failover.
 */
export const DEFAULT_READ_BACK = { attempts: 9, intervalMs: 50, maxIntervalMs: 400 } as const satisfies ReadBackOptions;

/** The pause before read number `read` (1-based; read 0 has none). */
function pauseBefore(read: number, options: ReadBackOptions): number {
  const cap = Math.max(options.intervalMs, options.maxIntervalMs ?? options.intervalMs);
  return Math.min(options.intervalMs * 2 ** (read - 1), cap);
}

/**
 * Read until `done` holds or the attempts run out. A read that throws counts as "not yet" (its error is kept for
 * the report), because a transient error on a verification read says nothing about the change.
 */
export async function readBack<T>(read: () => Promise<T>, done: (seen: T) => boolean, options: ReadBackOptions): Promise<{ ok: boolean; last: T | undefined; error: unknown; reads: number }> {
  let last: T | undefined;
  let error: unknown;
  const attempts = Math.max(1, options.attempts);
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(pauseBefore(i, options));
    try {
      last = await read();
      error = undefined;
      if (done(last)) return { ok: true, last, error, reads: i + 1 };
    } catch (caught) {
      error = caught;
    }
  }
  return { ok: false, last, error, reads: attempts };
}
