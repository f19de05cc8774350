import { TokenBucket } from '../../shared/app/reconcile-budget';

/** A clock that only moves when the bucket pauses. */
function fakeClock() {
  let t = 0;
  const pauses: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      pauses.push(ms);
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
    pauses,
  };
}

describe('TokenBucket', () => {
  it('lets a burst through at once, then paces at the rate', async () => {
    // Arrange
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 4, burst: 3 }, clock);
    const times: number[] = [];

    // Act: 7 calls at t=0.
    await Promise.all(Array.from({ length: 7 }, () => bucket.take().then(() => times.push(clock.now()))));

    // Assert: 3 at once, then one every 250 ms.
    expect(times).toEqual([0, 0, 0, 250, 500, 750, 1000]);
    expect(bucket.stats()).toEqual({ taken: 7, delayed: 4, waitedMs: 1000 });
  });

  it('refills while idle, never above the burst', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 2 }, clock);
    await bucket.take();
    await bucket.take();

    clock.advance(10_000);
    const before = clock.pauses.length;
    await bucket.take();
    await bucket.take();
    await bucket.take();

    expect(clock.pauses.slice(before)).toEqual([100]);
  });

  it('serves waiters in arrival order', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 }, clock);
    const order: string[] = [];

    await Promise.all(['a', 'b', 'c'].map((name) => bucket.take().then(() => order.push(name))));

    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('refuses a rate or burst that could never let a call through', () => {
    expect(() => new TokenBucket({ ratePerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new TokenBucket({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
  });

  it('waits on the real clock by default', async () => {
    const bucket = new TokenBucket({ ratePerSecond: 50, burst: 1 });
    const started = performance.now();
    await bucket.take();
    await bucket.take();
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });
});
