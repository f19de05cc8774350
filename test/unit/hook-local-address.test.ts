import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverSpool, type DeliverOptions } from '../../hooks/src/deliver';
import type { PostResult } from '../../hooks/src/http-post';
import { ensureLocalAddress, execIp, findAddress, intentFromAnswer, intentFromEvent, type IpResult, type IpRunner } from '../../hooks/src/local-address';
import { Spool } from '../../hooks/src/spool';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';

const PRIMARY: NodeFacts = { inRecovery: false, timeline: 2, lsn: '0/3000060', systemIdentifier: '7710811430681400266' };
const STANDBY: NodeFacts = { inRecovery: true, timeline: 2, lsn: '0/3000060', systemIdentifier: '7710811430681400266' };
const LOCAL = { address: '10.0.1.100/24', interface: 'eth0', ip: '/usr/sbin/ip' };

/** `ip -j addr show dev eth0` as iproute2 6.1 prints it, with the given IPv4 addresses. */
function shown(...addresses: string[]): string {
  const addr_info: Record<string, unknown>[] = addresses.map((cidr) => {
    const [local, prefixlen] = cidr.split('/');
    return { family: 'inet', local, prefixlen: Number(prefixlen), scope: 'global', label: 'eth0', valid_life_time: 4294967295, preferred_life_time: 4294967295 };
  });
  addr_info.push({ family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link', valid_life_time: 4294967295, preferred_life_time: 4294967295 });
  return JSON.stringify([{ ifindex: 2, ifname: 'eth0', flags: ['BROADCAST', 'UP'], mtu: 9001, operstate: 'UP', addr_info }]);
}

/** A fake `ip`: answers `-j addr show` with `show`, and the rest from `answers` (ok by default); records argv. */
function fakeIp(show: IpResult, answers: IpResult[] = []): { run: IpRunner; calls: { file: string; args: readonly string[]; timeoutMs: number }[] } {
  const calls: { file: string; args: readonly string[]; timeoutMs: number }[] = [];
  const run: IpRunner = async (file, args, timeoutMs) => {
    calls.push({ file, args, timeoutMs });
    if (args[0] === '-j') return show;
    return answers.shift() ?? { ok: true, stdout: '' };
  };
  return { run, calls };
}

function event(patch: Partial<VipEvent>): VipEvent {
  return { v: 1, id: 'e1', cluster: 'pg-main', node: 'node2', source: 'repmgr', type: 'standby_promote', success: true, role: null, occurredAt: '2026-11-22T02:08:22.720Z', details: '', facts: PRIMARY, raw: { argv: [] }, ...patch };
}

describe('intentFromEvent (the call itself)', () => {
  it.each([
    ['repmgr event in recovery', event({ type: 'standby_follow', facts: STANDBY }), 'facts: in recovery'],
    ['patroni replica', event({ source: 'patroni', type: 'on_role_change', role: 'replica', facts: null }), 'patroni role replica'],
    ['patroni demoted', event({ source: 'patroni', type: 'on_role_change', role: 'demoted', facts: PRIMARY }), 'patroni role demoted'],
    ['patroni on_stop of a primary', event({ source: 'patroni', type: 'on_stop', role: 'master', facts: PRIMARY }), 'patroni on_stop'],
    ['patroni on_start replica', event({ source: 'patroni', type: 'on_start', role: 'replica', facts: null }), 'patroni role replica'],
  ])('%s: absent', (_label, e, why) => {
    expect(intentFromEvent(e)).toEqual({ want: 'absent', why });
  });

  it.each([
    ['a claim out of recovery', event({})],
    ['facts unknown (probe failed)', event({ type: 'repmgrd_reload', facts: null })],
    ['patroni master', event({ source: 'patroni', type: 'on_role_change', role: 'master' })],
    ['patroni standby_leader', event({ source: 'patroni', type: 'on_role_change', role: 'standby_leader', facts: null })],
  ])('%s: left to the answer', (_label, e) => {
    expect(intentFromEvent(e)).toBeNull();
  });
});

describe("intentFromAnswer (the answer to the call's own event)", () => {
  const answer = (status: number, body: unknown): { status: number; body: string } => ({ status, body: JSON.stringify(body) });
  const accepted = { code: 'accepted', decision: 'accepted', message: 'ok', primary: 'node2', epoch: 7, timeline: 2, actions: [] };

  it('accepted naming this node: present', () => {
    expect(intentFromAnswer(answer(200, accepted), 'node2')).toEqual({ want: 'present', why: 'accepted: primary node2 epoch 7' });
  });

  it('duplicate whose first answer was accepted for this node: present', () => {
    const dup = { code: 'duplicate', decision: 'duplicate', message: 'seen', first: { status: 200, body: accepted } };
    expect(intentFromAnswer(answer(200, dup), 'node2')).toEqual({ want: 'present', why: 'duplicate of accepted: primary node2 epoch 7' });
  });

  it('stale_claim (direct or as a duplicate): absent, unless it names this node as primary', () => {
    const stale = { code: 'stale_claim', decision: 'rejected', message: 'older', primary: 'node1', timeline: 3, epoch: 9 };
    expect(intentFromAnswer(answer(409, stale), 'node2')).toEqual({ want: 'absent', why: 'stale_claim: primary is node1' });
    expect(intentFromAnswer(answer(200, { code: 'duplicate', first: { status: 409, body: stale } }), 'node2')).toEqual({ want: 'absent', why: 'duplicate of stale_claim: primary is node1' });
    expect(intentFromAnswer(answer(409, { ...stale, primary: null }), 'node2')).toEqual({ want: 'absent', why: 'stale_claim: primary is no node' });
    expect(intentFromAnswer(answer(409, { ...stale, primary: 'node2' }), 'node2')).toBeNull();
  });

  it.each([
    ['accepted for another node', answer(200, { ...accepted, primary: 'node1' })],
    ['a dry run', answer(200, { ...accepted, code: 'dry_run', dryRun: true })],
    ['accepted with dryRun set', answer(200, { ...accepted, dryRun: true })],
    ['ignored', answer(200, { code: 'ignored', decision: 'ignored' })],
    ['unverified_claim', answer(409, { code: 'unverified_claim' })],
    ['a duplicate without first', answer(200, { code: 'duplicate' })],
    ['a duplicate of ignored', answer(200, { code: 'duplicate', first: { status: 200, body: { code: 'ignored' } } })],
    ['not JSON', { status: 200, body: '<html>' }],
    ['a JSON array', answer(200, [accepted])],
  ])('%s: nothing', (_label, a) => {
    expect(intentFromAnswer(a, 'node2')).toBeNull();
  });
});

describe('findAddress', () => {
  it('finds the IPv4 address on the interface, whatever its prefix', () => {
    expect(findAddress(shown('10.0.1.5/24', '10.0.1.100/24'), 'eth0', '10.0.1.100')).toEqual([{ local: '10.0.1.100', prefixlen: 24 }]);
    expect(findAddress(shown('10.0.1.100/32'), 'eth0', '10.0.1.100')).toEqual([{ local: '10.0.1.100', prefixlen: 32 }]);
    expect(findAddress(shown('10.0.1.5/24'), 'eth0', '10.0.1.100')).toEqual([]);
    expect(findAddress(shown('10.0.1.1000/24'), 'eth0', '10.0.1.100')).toEqual([]);
  });

  it('throws on output that is not iproute2 JSON', () => {
    expect(() => findAddress('2: eth0: <BROADCAST> mtu 9001', 'eth0', '10.0.1.100')).toThrow();
    expect(() => findAddress('{"ifname":"eth0"}', 'eth0', '10.0.1.100')).toThrow(/not a JSON array/);
    expect(() => findAddress('[{"ifname":"eth0"}]', 'eth0', '10.0.1.100')).toThrow(/addr_info/);
  });
});

describe('ensureLocalAddress (fake ip)', () => {
  const ok = (stdout: string): IpResult => ({ ok: true, stdout });

  it('adds a missing address with the configured argv, after checking', async () => {
    const ip = fakeIp(ok(shown('10.0.1.5/24')));
    await expect(ensureLocalAddress('present', LOCAL, 1000, ip.run)).resolves.toMatchObject({ outcome: 'added' });
    expect(ip.calls.map((call) => [call.file, ...call.args])).toEqual([
      ['/usr/sbin/ip', '-j', 'addr', 'show', 'dev', 'eth0'],
      ['/usr/sbin/ip', 'addr', 'add', '10.0.1.100/24', 'dev', 'eth0'],
    ]);
  });

  it('does nothing when the address is already there, or already gone', async () => {
    const present = fakeIp(ok(shown('10.0.1.100/24')));
    const absent = fakeIp(ok(shown('10.0.1.5/24')));
    await expect(ensureLocalAddress('present', LOCAL, 1000, present.run)).resolves.toMatchObject({ outcome: 'present' });
    await expect(ensureLocalAddress('absent', LOCAL, 1000, absent.run)).resolves.toMatchObject({ outcome: 'absent' });
    expect(present.calls).toHaveLength(1);
    expect(absent.calls).toHaveLength(1);
  });

  it('removes the address with the prefix it actually has', async () => {
    const same = fakeIp(ok(shown('10.0.1.100/24')));
    const other = fakeIp(ok(shown('10.0.1.100/32')));
    await expect(ensureLocalAddress('absent', LOCAL, 1000, same.run)).resolves.toMatchObject({ outcome: 'removed' });
    await expect(ensureLocalAddress('absent', LOCAL, 1000, other.run)).resolves.toMatchObject({ outcome: 'removed' });
    expect(same.calls[1]!.args).toEqual(['addr', 'del', '10.0.1.100/24', 'dev', 'eth0']);
    expect(other.calls[1]!.args).toEqual(['addr', 'del', '10.0.1.100/32', 'dev', 'eth0']);
  });

  it('takes a concurrent add or del by another call as done', async () => {
    const raced = { ok: false as const, reason: 'exit 2: RTNETLINK answers: File exists', stderr: 'RTNETLINK answers: File exists\n' };
    const gone = { ok: false as const, reason: 'exit 2', stderr: 'RTNETLINK answers: Cannot assign requested address\n' };
    await expect(ensureLocalAddress('present', LOCAL, 1000, fakeIp(ok(shown()), [raced]).run)).resolves.toMatchObject({ outcome: 'present' });
    await expect(ensureLocalAddress('absent', LOCAL, 1000, fakeIp(ok(shown('10.0.1.100/24')), [gone]).run)).resolves.toMatchObject({ outcome: 'removed' });
  });

  it('reports the failing step and why', async () => {
    const denied = { ok: false as const, reason: 'exit 2: RTNETLINK answers: Operation not permitted', stderr: 'RTNETLINK answers: Operation not permitted\n' };
    await expect(ensureLocalAddress('present', LOCAL, 1000, fakeIp(ok(shown()), [denied]).run)).resolves.toMatchObject({ outcome: 'failed', step: 'add', reason: denied.reason });
    await expect(ensureLocalAddress('absent', LOCAL, 1000, fakeIp(ok(shown('10.0.1.100/24')), [denied]).run)).resolves.toMatchObject({ outcome: 'failed', step: 'del' });
    await expect(ensureLocalAddress('present', LOCAL, 1000, fakeIp({ ok: false, reason: 'exit 1: Device "eth0" does not exist.', stderr: '' }).run)).resolves.toMatchObject({ outcome: 'failed', step: 'show', reason: 'exit 1: Device "eth0" does not exist.' });
    await expect(ensureLocalAddress('present', LOCAL, 1000, fakeIp(ok('garbage')).run)).resolves.toMatchObject({ outcome: 'failed', step: 'show', reason: expect.stringMatching(/^unreadable output of ip -j addr show/) });
  });

  it('shares one bound between the calls: each gets what is left, none runs once it is used up', async () => {
    let clock = 0;
    const calls: number[] = [];
    const run: IpRunner = async (_file, args, timeoutMs) => {
      calls.push(timeoutMs);
      clock += 300; // each call "takes" 300 ms of the fake clock
      return args[0] === '-j' ? { ok: true, stdout: shown() } : { ok: true, stdout: '' };
    };
    await expect(ensureLocalAddress('present', LOCAL, 500, run, () => clock)).resolves.toMatchObject({ outcome: 'added', ms: 600 });
    expect(calls).toEqual([500, 200]);

    clock = 0;
    calls.length = 0;
    await expect(ensureLocalAddress('present', LOCAL, 250, run, () => clock)).resolves.toMatchObject({ outcome: 'failed', step: 'add', reason: 'no time left of the 250 ms bound' });
    expect(calls).toEqual([250]);
  });
});

describe('execIp (real processes, argv only)', () => {
  it('returns stdout, exit status with the first stderr line, and a timeout', async () => {
    const run = execIp({ PATH: process.env.PATH });
    await expect(run(process.execPath, ['-e', 'process.stdout.write(process.argv.slice(1).join("|"))', 'a b', '$(id)'], 5000)).resolves.toEqual({ ok: true, stdout: 'a b|$(id)' });
    await expect(run(process.execPath, ['-e', 'console.error("\\nRTNETLINK answers: File exists\\nmore"); process.exit(2)'], 5000)).resolves.toMatchObject({ ok: false, reason: 'exit 2: RTNETLINK answers: File exists' });
    await expect(run(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], 200)).resolves.toMatchObject({ ok: false, reason: 'timeout after 200 ms' });
    await expect(run('/nonexistent/ip', ['-j'], 1000)).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/^ENOENT/) });
  });
});

describe('deliverSpool answerOf', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'vipswitch-local-address-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("returns only the named event's answer, not an older record's", async () => {
    const spool = new Spool(join(root, 'spool'));
    const older = event({ id: 'older' });
    const own = event({ id: 'own', type: 'repmgrd_reload', facts: null });
    spool.add({ spool: 1, state: 'ready', pid: process.pid, spooledAt: new Date().toISOString(), event: older }, new Date(1000));
    spool.add({ spool: 1, state: 'ready', pid: process.pid, spooledAt: new Date().toISOString(), event: own }, new Date(2000));
    const bodies: Record<string, unknown> = { older: { code: 'accepted', primary: 'node2' }, own: { code: 'ignored' } };
    const post = async (_url: string, _headers: Record<string, string>, body: string): Promise<PostResult> => {
      const id = (JSON.parse(body) as VipEvent).id;
      return { kind: 'answer', status: 200, body: JSON.stringify(bodies[id]), retryAfterMs: null };
    };
    const options: DeliverOptions = {
      spool,
      endpoint: 'http://127.0.0.1:9/v1/events',
      key: 'k',
      deadline: performance.now() + 2000,
      attemptTimeoutMs: 1000,
      backoff: { baseMs: 5, capMs: 20 },
      staleLockMs: 60_000,
      probingGiveUpMs: 60_000,
      log: { line: () => undefined, message: () => undefined },
      userAgent: 'test',
      post,
    };

    const withOwn = await deliverSpool({ ...options, answerOf: 'own' });

    expect(withOwn).toMatchObject({ delivered: 2, answer: { status: 200, body: JSON.stringify({ code: 'ignored' }) } });
    spool.add({ spool: 1, state: 'ready', pid: process.pid, spooledAt: new Date().toISOString(), event: older }, new Date(3000));
    expect((await deliverSpool(options)).answer).toBeNull();
  });
});
