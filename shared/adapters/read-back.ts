import { setTimeout as sleep } from 'node:timers/promises';

/** How to verify a change whose reads may lag (EC2 is eventually consistent): bounded re-reads. */
export interface ReadBackOptions {
  /** Reads at most (the first one right after the change). */
  attempts: number;
  /** Pause between two reads, milliseconds. */
  intervalMs: number;
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
    if (i > 0) await sleep(options.intervalMs);
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
