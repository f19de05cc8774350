/**
 * The vipswitch drill on a REAL Patroni 3.0 + etcd cluster (PostgreSQL 15 on 127.0.0.1) wired to the REAL hook and
 * the local stack: switchover → failover → rejoin, each measured from the action to the endpoint verified. One
 * cluster for the file; the drill tears it (and its stack) down itself, afterAll stops a drill that is still running.
 *
 * On the async contract: the winning claim is answered 202 accepted, the endpoint moves after the answer, the page of a
 * stale claim comes after its 409; the stack runs the AWS-like latency profile with a 3 s Route 53 INSYNC
 * (test/support/drill.ts), so each move is also checked for its Route 53 change going INSYNC.
 *
 * DRILL_VERBOSE=1 prints the live timeline; DRILL_LOGS_DIR=<dir> keeps the cluster's logs.
 */
import type { DrillResult } from '../../local/drill/vipswitch-drill';
import { drillRun, expectMoved, expectOrdered, expectStayed, expectTornDown, scenario } from '../support/drill';

describe('vipswitch drill on a real Patroni cluster (all four endpoint mechanisms)', () => {
  const drill = drillRun('patroni');
  let result: DrillResult;

  beforeAll(async () => {
    result = await drill.run();
  }, 300_000);

  afterAll(() => drill.stop(), 120_000);

  it('runs every scenario, in order, with the endpoint right at the end of each', () => {
    expect(result.error).toBeUndefined();
    expect(result.scenarios.map((s) => [s.name, s.ok, s.error ?? null])).toEqual([
      ['switchover', true, null],
      ['failover', true, null],
      ['rejoin', true, null],
    ]);
    expect(result.ok).toBe(true);
  });

  it('switchover: patronictl switchover moves the endpoint to the candidate', () => {
    const s = scenario(result, 'switchover');
    expect(s.from).toBe('pg1');
    expect(s.to).toBe('pg2');
    expectMoved(s, 60_000);
    const claim = s.journal.find((j) => j.node === 'pg2' && j.outcome === 'accepted')!;
    expect(claim.type).toBe('on_role_change');
    expect(claim.facts).toMatchObject({ inRecovery: false, timeline: 2 });
  });

  it('failover: kill -9 of the leader (postmaster and Patroni) → a new leader → the endpoint follows it', () => {
    const s = scenario(result, 'failover');
    expect(s.from).toBe('pg2');
    expect(['pg1', 'pg3']).toContain(s.to);
    expectMoved(s, 60_000);
    expect(s.journal.find((j) => j.node === s.to && j.outcome === 'accepted')?.facts).toMatchObject({ inRecovery: false, timeline: 3 });
  });

  it('rejoin: the old leader restarted rejoins as a replica and the endpoint does not move', () => {
    const s = scenario(result, 'rejoin');
    expectStayed(s);
    expect(s.from).toBe(scenario(result, 'failover').to);
    expectOrdered(s, ['action', 'rejoined', 'verified']);
    expect(s.journal.some((j) => j.node === 'pg2' && j.outcome === 'ignored' && j.facts?.inRecovery === true)).toBe(true);
    expect(s.journal.filter((j) => j.node === 'pg2' && j.outcome !== 'ignored')).toEqual([]);
  });

  it('tears the cluster down', () => {
    expectTornDown(result);
  });
});
