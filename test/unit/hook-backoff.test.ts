import fc from 'fast-check';
import { backoffCeiling, backoffDelay, FLUSH_BACKOFF, FOREGROUND_BACKOFF } from '../../hooks/src/backoff';
import { sendEvent, type DeliverOptions } from '../../hooks/src/deliver';
import type { PostResult } from '../../hooks/src/http-post';
import type { HookLog } from '../../hooks/src/log';
import { Spool } from '../../hooks/src/spool';
import type { VipEvent } from '../../shared/domain/event';
import { hookEvent } from '../support/events';

describe('backoff', () => {
  it('doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => backoffCeiling(n, FOREGROUND_BACKOFF))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffCeiling(n, FLUSH_BACKOFF))).toEqual([250, 500, 1000, 2000, 4000, 5000]);
    expect(backoffCeiling(0, FOREGROUND_BACKOFF)).toBe(100);
    expect(backoffCeiling(10_000, FOREGROUND_BACKOFF)).toBe(1000);
  });

  it('draws the full jitter range [0, ceiling)', () => {
    expect(backoffDelay(3, FOREGROUND_BACKOFF, () => 0)).toBe(0);
    expect(backoffDelay(3, FOREGROUND_BACKOFF, () => 0.999999)).toBe(399);
    expect(backoffDelay(3, FOREGROUND_BACKOFF, () => 0.5)).toBe(200);
  });

  it('stays within [0, min(cap, base * 2^(n-1))) for any retry and any draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (retry, draw) => {
        const delay = backoffDelay(retry, FOREGROUND_BACKOFF, () => draw);
        return Number.isInteger(delay) && delay >= 0 && delay < Math.min(1000, 100 * 2 ** (retry - 1));
      }),
    );
  });

  it('waits at least what Retry-After asks', () => {
    expect(backoffDelay(1, FOREGROUND_BACKOFF, () => 0, 3000)).toBe(3000);
    expect(backoffDelay(4, FOREGROUND_BACKOFF, () => 0.99, 100)).toBe(792);
  });
});

describe('sendEvent within a budget (fake clock, fake transport)', () => {
  const event: VipEvent = hookEvent('4f1c0a52-1f0e-4a55-9f5e-0d2a4c3f9b10');
  const silentLog: HookLog = { line: () => undefined, message: () => undefined };

  /** A clock that only moves when the code under test sleeps or a fake request takes time. */
  function harness(answers: (attempt: number, timeoutMs: number) => { result: PostResult; takesMs: number }, deadline: number, random = () => 0.999) {
    let t = 0;
    const sleeps: number[] = [];
    const attempts: { at: number; timeoutMs: number; timestamp: string }[] = [];
    const options: DeliverOptions = {
      spool: new Spool('/nonexistent'),
      endpoint: 'http://127.0.0.1:9/v1/events',
      key: 'k',
      deadline,
      attemptTimeoutMs: 2000,
      backoff: FOREGROUND_BACKOFF,
      staleLockMs: 60_000,
      probingGiveUpMs: 10_000,
      log: silentLog,
      userAgent: 'test',
      now: () => t,
      wallClock: () => new Date(Date.UTC(2026, 10, 22, 2, 8, 22) + t),
      random,
      sleep: async (ms) => {
        sleeps.push(ms);
        t += ms;
      },
      post: async (_url, headers, _body, timeoutMs) => {
        attempts.push({ at: t, timeoutMs, timestamp: headers['x-vipswitch-timestamp']! });
        const { result, takesMs } = answers(attempts.length, timeoutMs);
        t += Math.min(takesMs, timeoutMs);
        return takesMs > timeoutMs ? { kind: 'failure', reason: `timeout after ${timeoutMs} ms` } : result;
      },
    };
    return { options, sleeps, attempts, now: () => t };
  }

  it('retries 503 with growing jittered waits and never runs past the deadline', async () => {
    const h = harness(() => ({ result: { kind: 'answer', status: 503, body: '{"code":"unavailable"}', retryAfterMs: null }, takesMs: 30 }), 2000);

    const outcome = await sendEvent(event, h.options);

    expect(outcome).toMatchObject({ kind: 'kept', status: 503, reason: 'HTTP 503' });
    expect(h.now()).toBeLessThanOrEqual(2000);
    h.sleeps.forEach((ms, i) => expect(ms).toBeLessThan(backoffCeiling(i + 1, FOREGROUND_BACKOFF)));
    expect(h.attempts.length).toBeGreaterThanOrEqual(4);
    h.attempts.forEach((attempt) => expect(attempt.at + attempt.timeoutMs).toBeLessThanOrEqual(2000));
    // Signed afresh per attempt: each timestamp is the wall clock of that attempt.
    h.attempts.forEach((attempt) => expect(attempt.timestamp).toBe(String(Math.floor((Date.UTC(2026, 10, 22, 2, 8, 22) + attempt.at) / 1000))));
    expect(new Set(h.attempts.map((attempt) => attempt.timestamp)).size).toBeGreaterThan(1);
  });

  it('cuts the last wait so one more attempt fits, and bounds each attempt by what is left', async () => {
    const h = harness((n) => ({ result: n < 3 ? { kind: 'failure', reason: 'network error ECONNREFUSED' } : { kind: 'answer', status: 200, body: '{"decision":"accepted"}', retryAfterMs: null }, takesMs: 5 }), 400);

    const outcome = await sendEvent(event, h.options);

    expect(outcome).toMatchObject({ kind: 'delivered', status: 200, code: 'accepted', attempts: 3 });
    expect(h.sleeps).toEqual([99, 191]); // 0.999 * 100, then cut from 199 to leave 100 ms for the attempt
    expect(h.attempts[2]!.timeoutMs).toBe(400 - h.attempts[2]!.at);
  });

  it('gives up at once when Retry-After is beyond the budget', async () => {
    const h = harness(() => ({ result: { kind: 'answer', status: 429, body: '{"code":"throttled"}', retryAfterMs: 5000 }, takesMs: 10 }), 2000);

    const outcome = await sendEvent(event, h.options);

    expect(outcome).toMatchObject({ kind: 'kept', status: 429, code: 'throttled', attempts: 1 });
    expect(h.sleeps).toEqual([]);
  });

  it('stops at the deadline when the server hangs', async () => {
    const h = harness(() => ({ result: { kind: 'answer', status: 200, body: '{}', retryAfterMs: null }, takesMs: Infinity }), 2000);

    const outcome = await sendEvent(event, h.options);

    expect(outcome).toMatchObject({ kind: 'kept', reason: 'timeout after 2000 ms', attempts: 1 });
    expect(h.now()).toBe(2000);
  });
});
