/**
 * The vipswitch drill on REAL keepalived 2.2 + repmgr 5.3 + pgbouncer 1.18 (PostgreSQL 15 on 127.0.0.1; each
 * keepalived in a network namespace the drill makes, VRRP unicast between the namespaces, the VIP only there) wired to
 * the REAL hook (keepalived's notify) and the local stack: failover → a standby forced MASTER → the old primary
 * returns → the new primary's whole host crashes, each measured from the action, while a client writes a row every
 * 50 ms through the node's pgbouncer the route table points at. Needs root (network namespaces, keepalived) and Debian's keepalived and pgbouncer.
 *
 * DRILL_VERBOSE=1 prints the live timeline; DRILL_LOGS_DIR=<dir> keeps the cluster's logs (keepalived's included).
 */
import type { DrillResult } from '../../local/drill/vipswitch-drill';
import { drillRun, expectMoved, expectOrdered, expectStayed, expectTornDown, scenario } from '../support/drill';

describe('vipswitch drill on real keepalived + repmgr + pgbouncer (keepalived in network namespaces)', () => {
  const drill = drillRun('keepalived');
  let result: DrillResult;

  beforeAll(async () => {
    result = await drill.run();
  }, 420_000);

  afterAll(() => drill.stop(), 120_000);

  it('runs every scenario, in order, with the endpoint right at the end of each', () => {
    expect(result.error).toBeUndefined();
    expect(result.scenarios.map((s) => [s.name, s.ok, s.error ?? null])).toEqual([
      ['failover', true, null],
      ['standby-master', true, null],
      ['old-primary-returns', true, null],
      ['node-crash', true, null],
    ]);
    expect(result.ok).toBe(true);
  });

  it('failover: kill -9 of the primary → repmgrd promotes → keepalived makes it MASTER → its notify claims → the endpoint and the client follow', () => {
    const s = scenario(result, 'failover');
    expect(s.from).toBe('node1');
    expect(['node2', 'node3']).toContain(s.to);
    expectMoved(s, 60_000);
    const claim = s.journal.find((j) => j.node === s.to && j.outcome === 'accepted')!;
    expect(claim.type).toBe('master');
    expect(claim.facts).toMatchObject({ inRecovery: false, timeline: 2 });
    expect(s.timeline.find((t) => t.step === 'keepalived MASTER')).toMatchObject({ node: s.to });
    // the client wrote through node1's pgbouncer, then through the new primary's, never to anything but the primary
    expect(s.client!.servers.at(-1)).toBe(s.to);
    expect(s.client!.servers.every((x) => x === 'node1' || x === s.to)).toBe(true);
  });

  it('standby-master: a standby forced MASTER by priority is journaled as a role disagreement, paged, and the endpoint stays', () => {
    const s = scenario(result, 'standby-master');
    const failover = scenario(result, 'failover');
    expectStayed(s);
    expect(s.from).toBe(failover.to);
    const standby = ['node2', 'node3'].find((n) => n !== failover.to)!;
    expect(s.refusedClaim).toMatchObject({ node: standby, type: 'master', outcome: 'role_disagreement', status: 200, code: 'ignored', paged: true });
    expect(s.journal.some((j) => j.node === standby && j.type === 'master' && j.outcome === 'ignored' && j.facts?.inRecovery === true)).toBe(true);
    expect(s.pages.some((p) => p.type === 'role_disagreement')).toBe(true);
    expect(s.timeline.find((t) => t.step === 'keepalived MASTER')).toMatchObject({ node: standby });
    expectOrdered(s, ['action', 'disagreement hook', 'refused', 'paged', 'observed', 'reverted', 'verified']);
  });

  it('old-primary-returns: the old primary back as a primary with its keepalived is answered 409 stale_claim, paged, its pgbouncer is turned off, and the endpoint stays', () => {
    const s = scenario(result, 'old-primary-returns');
    expectStayed(s);
    expect(s.staleClaim).toMatchObject({ node: 'node1', status: 409, code: 'stale_claim', claimedTimeline: 1, paged: true });
    expect(s.pages.some((p) => p.type === 'stale_claim' && p.severity === 'critical')).toBe(true);
    expect(s.timeline.find((t) => t.step === 'pgbouncer off')).toMatchObject({ node: 'node1' });
    expectOrdered(s, ['action', 'started', 'stale claim hook', 'rejected', 'paged', 'observed', 'rejoined', 'verified']);
  });

  it('node-crash: the MASTER\'s whole host dies (keepalived -9, link cut, PostgreSQL -9) → the others elect a MASTER, repmgrd promotes → the new primary\'s MASTER claims → the endpoint and the client follow; the host comes back a standby', () => {
    const s = scenario(result, 'node-crash');
    const returned = scenario(result, 'old-primary-returns');
    expect(s.from).toBe(returned.to);
    expect(s.to).not.toBe(s.from);
    expectMoved(s, 60_000);
    const claim = s.journal.find((j) => j.node === s.to && j.outcome === 'accepted')!;
    expect(claim.type).toBe('master');
    expect(claim.facts).toMatchObject({ inRecovery: false, timeline: 3 });
    // no notify from the crashed node, which never comes back as a primary
    expect(s.journal.filter((j) => j.node === s.from && j.outcome !== 'ignored')).toEqual([]);
    expect(s.timeline.find((t) => t.step === 'keepalived MASTER')).toMatchObject({ node: s.to });
    // a standby elected first, before repmgrd's promotion, is a role disagreement: journaled, never a move
    for (const t of s.timeline.filter((x) => x.step === 'standby MASTER')) {
      expect(s.journal.some((j) => j.node === t.node && j.type === 'master' && j.outcome === 'ignored' && j.facts?.inRecovery === true)).toBe(true);
    }
    expectOrdered(s, ['action', 'promote hook', 'committed', 'moved', 'verified', 'rejoined']);
    expect(s.client!.servers.at(-1)).toBe(s.to);
    expect(s.client!.servers.every((x) => x === s.from || x === s.to)).toBe(true);
  });

  it('tears the cluster and its network namespaces down', () => {
    expect(result.namespaces?.length).toBe(5);
    expectTornDown(result);
  });
});
