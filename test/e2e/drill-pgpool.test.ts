/**
 * The vipswitch drill on a REAL Pgpool-II 4.3 watchdog cluster (three pgpool members and three PostgreSQL 15 backends
 * on 127.0.0.1) whose if_up_cmd / if_down_cmd are the REAL hook, against the local stack: the leader's pgpool killed
 * (the endpoint follows the new leader), then a member that has lost its quorum claims (refused, nothing moves, until
 * its quorum is back), while a client writes a row every 50 ms through the pgpool the route table points at.
 * delegate_IP is a loopback address never configured anywhere; arping is /bin/true and ping a stub: nothing is sent
 * to any address but 127.0.0.1. Needs Debian's pgpool2 and root (pgpool and PostgreSQL run as postgres).
 *
 * DRILL_VERBOSE=1 prints the live timeline; DRILL_LOGS_DIR=<dir> keeps the cluster's logs.
 */
import type { DrillResult } from '../../local/drill/vipswitch-drill';
import { drillRun, expectMoved, expectOrdered, expectTornDown, scenario } from '../support/drill';

describe('vipswitch drill on a real Pgpool-II watchdog cluster (if_up_cmd / if_down_cmd = the hook)', () => {
  const drill = drillRun('pgpool');
  let result: DrillResult;

  beforeAll(async () => {
    result = await drill.run();
  }, 300_000);

  afterAll(() => drill.stop(), 120_000);

  it('runs every scenario, in order, with the endpoint on the quorum-backed leader at the end of each', () => {
    expect(result.error).toBeUndefined();
    expect(result.scenarios.map((s) => [s.name, s.ok, s.error ?? null])).toEqual([
      ['leader-killed', true, null],
      ['quorum-lost', true, null],
    ]);
    expect(result.ok).toBe(true);
  });

  it("leader-killed: kill -9 of the leader's pgpool → the new leader's if_up_cmd claims with a newer leadership token → the endpoint and the client follow", () => {
    const s = scenario(result, 'leader-killed');
    expect(s.from).toBe('pgpool1');
    expect(['pgpool2', 'pgpool3']).toContain(s.to);
    expectMoved(s, 60_000);
    const claim = s.journal.find((j) => j.node === s.to && j.outcome === 'accepted')!;
    expect(claim.type).toBe('if_up');
    expect(claim.facts).toMatchObject({ watchdog: { leader: true, quorum: true, escalated: true, token: expect.any(Number) } });
    // through either pgpool, every write went to the one primary backend
    expect(s.client!.servers).toEqual(['pg1']);
    expect(s.timeline.find((t) => t.step === 'rejoined')).toMatchObject({ node: 'pgpool1' });
  });

  it('quorum-lost: the if_up_cmd of a leader without quorum is 409 unverified_claim, paged, and nothing moves until its quorum is back', () => {
    const s = scenario(result, 'quorum-lost');
    expect(s.from).toBe(scenario(result, 'leader-killed').to);
    const winner = s.refusedClaim?.node;
    expect(s.refusedClaim).toMatchObject({ type: 'if_up', outcome: 'unverified_claim', status: 409, code: 'unverified_claim', paged: true });
    const refused = s.journal.find((j) => j.node === winner && j.type === 'if_up' && j.outcome === 'unverified_claim');
    expect(refused?.facts).toMatchObject({ watchdog: { leader: true, quorum: false, escalated: false, token: null } });
    expect(s.pages.some((p) => p.type === 'unverified_claim')).toBe(true);
    const [, , , , , , , , observed] = expectOrdered(s, ['action', 'escalation held', 'quorum lost', 'de-escalated', 'released', 'unverified claim hook', 'rejected', 'paged', 'observed']);
    // nothing moved while it had no quorum: no accepted claim, the endpoint on the old leader
    expect(s.journal.filter((j) => j.outcome === 'accepted' && j.atMs <= observed!)).toEqual([]);
    expect(s.endpointChanges.filter((c) => c.atMs <= observed! && c.target !== s.from)).toEqual([]);
    // its quorum back, the same leader's claim moves the endpoint
    expect(s.to).toBe(winner);
    expectMoved(s, 90_000);
    expect(s.timeline.find((t) => t.step === 'promote hook')!.atMs).toBeGreaterThan(observed!);
  });

  it('tears the cluster down', () => {
    expectTornDown(result);
  });
});
