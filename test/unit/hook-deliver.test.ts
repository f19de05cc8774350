import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FOREGROUND_BACKOFF } from '../../hooks/src/backoff';
import { classifyAnswer, deliverSpool, type DeliverOptions } from '../../hooks/src/deliver';
import type { PostResult } from '../../hooks/src/http-post';
import type { HookLog } from '../../hooks/src/log';
import { Spool, type SpoolRecord } from '../../hooks/src/spool';
import type { VipEvent } from '../../shared/domain/event';
import { hookEvent } from '../support/events';
import { deadPid, killStarted, liveProcess } from '../support/processes';

function answer(status: number, body: Record<string, unknown> = {}): PostResult {
  return { kind: 'answer', status, body: JSON.stringify(body), retryAfterMs: null };
}

describe('classifyAnswer', () => {
  const failure = (reason: string): PostResult => ({ kind: 'failure', reason });
  const table: { label: string; result: PostResult; kind: string }[] = [
    { label: '202 accepted (committed, the move follows)', result: answer(202, { code: 'accepted', decision: 'accepted', actuation: 'pending' }), kind: 'delivered' },
    { label: '200 duplicate', result: answer(200, { decision: 'duplicate' }), kind: 'delivered' },
    { label: '202', result: answer(202), kind: 'delivered' },
    { label: '409 event_id_reused', result: answer(409, { code: 'event_id_reused' }), kind: 'final' },
    { label: '408', result: answer(408), kind: 'retry' },
    { label: '429 throttled', result: answer(429, { code: 'throttled' }), kind: 'retry' },
    { label: '500', result: answer(500), kind: 'retry' },
    { label: '503', result: answer(503), kind: 'retry' },
    { label: 'connection refused', result: failure('network error ECONNREFUSED'), kind: 'retry' },
    { label: 'timeout', result: failure('timeout after 2000 ms'), kind: 'retry' },
    { label: '302 (unexpected)', result: answer(302), kind: 'retry' },
    { label: '400 invalid_body', result: answer(400, { code: 'invalid_body' }), kind: 'final' },
    { label: '401 bad_signature', result: answer(401, { code: 'bad_signature' }), kind: 'final' },
    { label: '401 replayed_request (own earlier attempt, same second)', result: answer(401, { code: 'replayed_request' }), kind: 'retry' },
    { label: '404 unknown_node', result: answer(404, { code: 'unknown_node' }), kind: 'final' },
    { label: '409 stale_claim', result: answer(409, { code: 'stale_claim' }), kind: 'final' },
    { label: '409 unverified_claim', result: answer(409, { code: 'unverified_claim' }), kind: 'final' },
    { label: '409 system_identifier_mismatch', result: answer(409, { code: 'system_identifier_mismatch' }), kind: 'final' },
    { label: '413 payload_too_large', result: answer(413, { code: 'payload_too_large' }), kind: 'final' },
  ];
  it.each(table)('$label is $kind', ({ result, kind }) => {
    expect(classifyAnswer(result).kind).toBe(kind);
  });

  it('keeps the code and message of a final answer, and copes with a non-JSON body', () => {
    expect(classifyAnswer(answer(409, { code: 'stale_claim', message: 'timeline 2 is not newer than 3' }))).toMatchObject({ kind: 'final', status: 409, code: 'stale_claim', message: 'timeline 2 is not newer than 3' });
    expect(classifyAnswer({ kind: 'answer', status: 404, body: '<html>Not Found</html>', retryAfterMs: null })).toMatchObject({ kind: 'final', code: null, message: null });
  });
});

describe('deliverSpool (real spool directory, fake transport)', () => {
  let root: string;
  let spool: Spool;
  const lines: Record<string, unknown>[] = [];
  const log: HookLog = { line: (fields) => void lines.push(fields), message: () => undefined };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'vipswitch-deliver-'));
    spool = new Spool(join(root, 'spool'));
    lines.length = 0;
  });
  afterEach(() => {
    killStarted();
    rmSync(root, { recursive: true, force: true });
  });

  function event(type: string): VipEvent {
    return hookEvent(`id-${type}`, type);
  }

  function add(type: string, at: number, patch: Partial<SpoolRecord> = {}): string {
    return spool.add({ spool: 1, state: 'ready', pid: process.pid, spooledAt: new Date().toISOString(), event: event(type), ...patch }, new Date(at));
  }

  function options(post: (body: VipEvent) => PostResult, deadlineMs = 1500): { options: DeliverOptions; posted: string[] } {
    const posted: string[] = [];
    const t0 = performance.now();
    return {
      posted,
      options: {
        spool,
        endpoint: 'http://127.0.0.1:9/v1/events',
        key: 'k',
        deadline: t0 + deadlineMs,
        attemptTimeoutMs: 1000,
        backoff: { baseMs: 5, capMs: 20 },
        staleLockMs: 60_000,
        probingGiveUpMs: 60_000,
        log,
        userAgent: 'test',
        post: async (_url, _headers, body) => {
          const parsed = JSON.parse(body) as VipEvent;
          posted.push(parsed.type);
          return post(parsed);
        },
      },
    };
  }

  it('sends oldest first and stops at the first record it cannot deliver, keeping the rest in order', async () => {
    add('c_third', 3000);
    add('a_first', 1000);
    add('b_second', 2000);
    const { options: o, posted } = options((e) => (e.type === 'b_second' ? answer(503) : answer(200, { decision: 'accepted' })), 300);

    const report = await deliverSpool(o);

    expect(posted[0]).toBe('a_first');
    expect(new Set(posted.slice(1))).toEqual(new Set(['b_second']));
    expect(report).toMatchObject({ delivered: 1, answered: 0, remaining: 2 });
    expect(report.stoppedBecause).toMatch(/id-b_second not delivered \(HTTP 503\)/);
    expect(spool.list().map((name) => spool.read(name)!.event.type)).toEqual(['b_second', 'c_third']);
    expect(lines.map((line) => line.outcome)).toEqual(['delivered', 'spooled']);
  });

  it('moves a final answer aside and goes on with the next record', async () => {
    add('a_first', 1000);
    add('b_second', 2000);
    const { options: o, posted } = options((e) => (e.type === 'a_first' ? answer(409, { code: 'stale_claim', message: 'older' }) : answer(200, { decision: 'ignored' })));

    const report = await deliverSpool(o);

    expect(posted).toEqual(['a_first', 'b_second']);
    expect(report).toMatchObject({ delivered: 1, answered: 1, remaining: 0, stoppedBecause: null });
    expect(readdirSync(join(spool.dir, 'answered'))).toHaveLength(2);
    expect(lines[0]).toMatchObject({ id: 'id-a_first', outcome: 'answered', status: 409, code: 'stale_claim', attempts: 1 });
  });

  it('waits for a record whose writer is still probing (order), and sends one whose writer died with facts null', async () => {
    const live = await liveProcess();
    add('a_probing', 1000, { state: 'probing', pid: live });
    add('b_ready', 2000);
    const blocked = options(() => answer(200), 200);

    const first = await deliverSpool(blocked.options);

    expect(blocked.posted).toEqual([]);
    expect(first.remaining).toBe(2);
    expect(first.stoppedBecause).toMatch(/still being probed by pid/);

    rmSync(join(spool.dir, spool.list()[0]!));
    add('a_orphan', 1000, { state: 'probing', pid: await deadPid() });
    const freed = options(() => answer(200));

    const second = await deliverSpool(freed.options);

    expect(freed.posted).toEqual(['a_orphan', 'b_ready']);
    expect(second.remaining).toBe(0);
    expect(lines.find((line) => line.id === 'id-a_orphan')).toMatchObject({ outcome: 'delivered', facts: 'null' });
  });

  it('leaves everything spooled while another live sender holds the lock', async () => {
    add('a_first', 1000);
    spool.ensure();
    writeFileSync(join(spool.dir, '.lock'), `${await liveProcess()}\n`);
    const { options: o, posted } = options(() => answer(200), 150);

    const report = await deliverSpool(o);

    expect(posted).toEqual([]);
    expect(report).toMatchObject({ delivered: 0, remaining: 1, stoppedBecause: 'another sender holds the spool lock' });
  });

  it('quarantines an unreadable record instead of letting it block the spool', async () => {
    spool.ensure();
    writeFileSync(join(spool.dir, '000000000000001-0000001-0001-broken.json'), 'not json');
    add('b_second', 2000);
    const { options: o, posted } = options(() => answer(200));

    const report = await deliverSpool(o);

    expect(posted).toEqual(['b_second']);
    expect(report.remaining).toBe(0);
    expect(readdirSync(join(spool.dir, 'unparsed'))).toEqual(['000000000000001-0000001-0001-broken.json']);
    expect(lines[0]).toMatchObject({ outcome: 'quarantined' });
  });
});
