/** Exponential backoff with full jitter: retry n waits a uniform random time in [0, min(cap, base * 2^(n-1))). */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** The foreground policy: short, because repmgr waits for the hook with no timeout of its own. */
export const FOREGROUND_BACKOFF: BackoffPolicy = { baseMs: 100, capMs: 1000 };
/** The `flush` policy (a timer; nobody waits on it). */
export const FLUSH_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 5000 };

/** Upper bound (exclusive) of the wait before retry number `retry` (1 = the first retry). */
export function backoffCeiling(retry: number, policy: BackoffPolicy): number {
  const exponent = Math.min(Math.max(retry, 1) - 1, 30);
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

/**
 * The wait before retry number `retry`. `random` returns [0, 1) like Math.random (injected for tests). A server's
 * Retry-After raises the wait to at least that; the caller decides whether the budget still allows it.
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, random: () => number = Math.random, retryAfterMs: number | null = null): number {
  const jittered = Math.floor(random() * backoffCeiling(retry, policy));
  return Math.max(jittered, retryAfterMs ?? 0);
}
