/**
 * Pacing for the fleet sweep: how many AWS calls a second it may make, so that a sweep never takes the account's
 * request tokens a failover needs. EC2 throttles per account and Region with token buckets (AWS documents 100 tokens,
 * refilled 20 a second, for its Describe calls; mutating calls have buckets of their own), Route 53 at five requests
 * a second per account. The actuator (a failover) is never paced: only the sweep is, below those limits.
 */

/** One token bucket: `burst` calls at once, then `ratePerSecond` on average. */
export interface BudgetRate {
  ratePerSecond: number;
  burst: number;
}

/** The sweep's budgets: EC2 reads (Describe), EC2 mutations, and every Route 53 call. */
export interface ReconcileBudgets {
  ec2Reads: BudgetRate;
  ec2Writes: BudgetRate;
  route53: BudgetRate;
}

/**
 * The defaults (RECONCILE_EC2_READS_PER_SECOND etc. in the reconcile function's environment change them): a quarter of
 * EC2's documented Describe refill, a trickle of mutations with room for a small drift at once, and two of Route 53's
 * five requests a second. What is left of each account limit belongs to failovers and to everything else in the account.
 */
export const DEFAULT_RECONCILE_BUDGETS: Readonly<ReconcileBudgets> = {
  ec2Reads: { ratePerSecond: 5, burst: 10 },
  ec2Writes: { ratePerSecond: 2, burst: 10 },
  route53: { ratePerSecond: 2, burst: 3 },
};

/** What a bucket did so far. */
export interface BucketStats {
  taken: number;
  /** Calls that had to wait for a token, and how long they waited in all (ms). */
  delayed: number;
  waitedMs: number;
}

/**
 * A token bucket: `take()` resolves when a token is available and removes it. Waiters are served in arrival order (a
 * late caller never overtakes an earlier one). Starts full. The clock and the pause are injectable (tests use a fake
 * clock); the defaults are `performance.now()` and a timer.
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #tokens: number;
  #at: number;
  #queue: Promise<void> = Promise.resolve();
  readonly #stats: BucketStats = { taken: 0, delayed: 0, waitedMs: 0 };

  constructor(rate: BudgetRate, options: { now?: () => number; sleep?: (ms: number) => Promise<void> } = {}) {
    if (!(rate.ratePerSecond > 0) || !Number.isFinite(rate.ratePerSecond)) throw new RangeError(`ratePerSecond must be a positive number, got ${rate.ratePerSecond}`);
    if (!Number.isInteger(rate.burst) || rate.burst < 1) throw new RangeError(`burst must be a positive integer, got ${rate.burst}`);
    this.#rate = rate.ratePerSecond;
    this.#burst = rate.burst;
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#tokens = rate.burst;
    this.#at = this.#now();
  }

  /** Wait for one token and take it. */
  take(): Promise<void> {
    const turn = this.#queue.then(() => this.#acquire());
    // The next waiter queues behind this one whatever happens to it.
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  stats(): BucketStats {
    return { ...this.#stats };
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
  }

  async #acquire(): Promise<void> {
    this.#refill();
    if (this.#tokens < 1) {
      const waitMs = ((1 - this.#tokens) / this.#rate) * 1000;
      this.#stats.delayed++;
      const started = this.#now();
      await this.#sleep(waitMs);
      this.#stats.waitedMs += this.#now() - started;
      this.#refill();
      // A pause that ended a hair early (timer granularity) still counts as the token it waited for.
      this.#tokens = Math.max(this.#tokens, 1);
    }
    this.#tokens -= 1;
    this.#stats.taken++;
  }
}
