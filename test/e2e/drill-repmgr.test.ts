/**
 * The vipswitch drill on a REAL repmgr 5.3 + repmgrd cluster (PostgreSQL 15 on 127.0.0.1) wired to the REAL hook and
 * the local stack: failover → split brain → rejoin → switchover, each measured from the action to the endpoint
 * verified. One cluster for the file; the drill tears it (and its stack) down itself, afterAll stops a drill that
 * is still running.
 *
 * On the async contract: the winning claim is answered 202 accepted, the endpoint moves after the answer, the page of a
 * stale claim comes after its 409; the stack runs the AWS-like latency profile with a 3 s Route 53 INSYNC
 * (test/support/drill.ts), so each move is also checked for its Route 53 change going INSYNC.
 *
 * DRILL_VERBOSE=1 prints the live timeline; DRILL_LOGS_DIR=<dir> keeps the cluster's logs.
 */
import type { DrillResult } from '../../local/drill/vipswitch-drill';
import { drillRun, expectMoved, expectOrdered, expectStayed, expectTornDown, scenario } from '../support/drill';

describe('vipswitch drill on a real repmgr cluster (all four endpoint mechanisms)', () => {
  const drill = drillRun('repmgr');
  let result: DrillResult;

  beforeAll(async () => {
    result = await drill.run();
  }, 300_000);

  afterAll(() => drill.stop(), 120_000);

  it('runs every scenario, in order, with the endpoint right at the end of each', () => {
    expect(result.error).toBeUndefined();
    expect(result.scenarios.map((s) => [s.name, s.ok, s.error ?? null])).toEqual([
      ['failover', true, null],
      ['split-brain', true, null],
      ['rejoin', true, null],
      ['switchover', true, null],
    ]);
    expect(result.ok).toBe(true);
  });

  it('failover: kill -9 of the primary → repmgrd promotes a standby → the endpoint follows it', () => {
    const s = scenario(result, 'failover');
    expect(s.from).toBe('node1');
    expect(['node2', 'node3']).toContain(s.to);
    expectMoved(s, 60_000);
    const claim = s.journal.find((j) => j.node === s.to && j.outcome === 'accepted')!;
    expect(claim.type).toBe('standby_promote');
    expect(claim.facts).toMatchObject({ inRecovery: false, timeline: 2 });
  });

  it('split brain: the old primary back without rejoin is answered 409 stale_claim, paged, and the endpoint stays', () => {
    const s = scenario(result, 'split-brain');
    const failover = scenario(result, 'failover');
    expectStayed(s);
    expect(s.from).toBe(failover.to);
    expect(s.staleClaim).toMatchObject({ node: 'node1', status: 409, code: 'stale_claim', claimedTimeline: 1, paged: true });
    const stale = s.journal.filter((j) => j.node === 'node1' && j.outcome === 'stale_claim');
    expect(stale.length).toBeGreaterThanOrEqual(1);
    expect(stale[0]!.facts).toMatchObject({ inRecovery: false, timeline: 1 });
    expect(s.pages.some((p) => p.type === 'stale_claim' && p.severity === 'critical')).toBe(true);
    // (the hook of repmgrd_start may run before the harness sees repmgrd's pid file: 'started' is not ordered)
    expect(s.timeline.find((t) => t.step === 'started')?.atMs).toBeGreaterThanOrEqual(0);
    const [, , rejected, paged, observed] = expectOrdered(s, ['action', 'stale claim hook', 'rejected', 'paged', 'observed', 'stopped', 'verified']);
    expect(paged! - rejected!).toBeLessThan(10_000);
    // the observation window lasted (at least) its 5 s after the page, with the endpoint on the new primary per poll
    expect(observed! - paged!).toBeGreaterThanOrEqual(5_000);
  });

  it('rejoin: node rejoin --force-rewind makes the old primary a standby and the endpoint does not move', () => {
    const s = scenario(result, 'rejoin');
    expectStayed(s);
    expectOrdered(s, ['action', 'rejoined', 'verified']);
    expect(s.journal.some((j) => j.node === 'node1' && j.type === 'node_rejoin' && j.outcome === 'ignored' && j.facts?.inRecovery === true)).toBe(true);
  });

  it('switchover back to the old primary moves the endpoint to it', () => {
    const s = scenario(result, 'switchover');
    expect(s.from).toBe(scenario(result, 'failover').to);
    expect(s.to).toBe('node1');
    expectMoved(s, 60_000);
    expect(s.journal.find((j) => j.node === 'node1' && j.outcome === 'accepted')?.facts).toMatchObject({ inRecovery: false, timeline: 3 });
  });

  it('tears the cluster down', () => {
    expectTornDown(result);
  });
});
