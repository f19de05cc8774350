import type { ClusterState, NodeRecord } from '../../shared/domain/cluster';
import { decide, type Decision } from '../../shared/domain/decide';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import { buildEvent } from '../../shared/protocol/build-event';
import {
  applyDecision,
  emptyClusterState,
  loadPatroniInvocations,
  loadRepmgrInvocations,
  nodeRecord,
  PATRONI_SYSTEM_ID,
  REPMGR_SYSTEM_ID,
  type PeerInvocation,
} from '../support/peers';

const NOW = new Date('2026-11-22T03:00:00.000Z');

interface Step {
  capture: PeerInvocation;
  decision: Decision;
  before: ClusterState;
  after: ClusterState;
}

/** Replays captures in order through `decide`, applying accepted decisions as the store would. */
function replay(captures: readonly PeerInvocation[], facts: (c: PeerInvocation) => NodeFacts | null = (c) => c.facts): { steps: Step[]; final: ClusterState } {
  let state = emptyClusterState();
  const steps: Step[] = [];
  for (const capture of captures) {
    const event = buildEvent(capture.mode, capture.args, { cluster: 'pg-main', node: capture.node }, facts(capture), NOW, `capture-${capture.index}`);
    const decision = decide(state, nodeRecord(capture.node), event);
    const after = applyDecision(state, decision);
    steps.push({ capture, decision, before: state, after });
    state = after;
  }
  return { steps, final: state };
}

/** What the checkpoint timeline (which lags a promotion) would have said instead of the WAL file's. */
const checkpointTimelineFacts = (c: PeerInvocation): NodeFacts | null =>
  c.facts === null ? null : { ...c.facts, timeline: c.sql?.checkpoint_timeline_id ?? null };

type Accepted = readonly [kind: 'claim' | 'reassertion', primary: string, timeline: number, epoch: number];

/** Every accepted decision of the repmgr replay, by capture index; everything else is ignored. */
const REPMGR_ACCEPTED: Readonly<Record<number, Accepted>> = {
  0: ['claim', 'node1', 1, 1], // cluster_created: the first primary
  1: ['reassertion', 'node1', 1, 2],
  8: ['reassertion', 'node1', 1, 3],
  14: ['claim', 'node2', 2, 4], // switchover: standby_promote on node2
  15: ['reassertion', 'node2', 2, 5],
  18: ['reassertion', 'node2', 2, 6],
  20: ['reassertion', 'node2', 2, 7],
  24: ['claim', 'node1', 3, 8], // failover: standby_promote on node1
  25: ['reassertion', 'node1', 3, 9],
  26: ['reassertion', 'node1', 3, 10],
  29: ['reassertion', 'node1', 3, 11],
  32: ['reassertion', 'node1', 3, 12],
  34: ['reassertion', 'node1', 3, 13],
  36: ['reassertion', 'node1', 3, 14],
  40: ['reassertion', 'node1', 3, 15],
};

const PATRONI_ACCEPTED: Readonly<Record<number, Accepted>> = {
  0: ['claim', 'pg1', 1, 1], // bootstrap: on_start master
  3: ['claim', 'pg2', 2, 2], // switchover: on_role_change master
  8: ['claim', 'pg2', 3, 3], // pg2 crashed and was re-promoted by its own Patroni
  10: ['claim', 'pg3', 4, 4], // failover: on_role_change master, checkpoint timeline still 1
  16: ['reassertion', 'pg3', 4, 5], // on_reload master
};

const outcomeTable = (expected: Readonly<Record<number, Accepted>>, count: number) =>
  Array.from({ length: count }, (_, i) => [i, expected[i] ?? null] as const);

describe('decide', () => {
  describe('replaying the repmgr capture (setup, switchover node1→node2, failover node2→node1, rejoin)', () => {
    const captures = loadRepmgrInvocations();
    const { steps, final } = replay(captures);

    it('ends with node1 primary on timeline 3, the system identifier pinned', () => {
      expect(final).toMatchObject({ primary: 'node1', timeline: 3, epoch: 15, systemIdentifier: REPMGR_SYSTEM_ID });
    });

    it('never yields a stale, unverified or mismatched claim', () => {
      const outcomes = new Set(steps.map((s) => s.decision.outcome));
      expect(outcomes).toEqual(new Set(['accepted', 'ignored']));
    });

    it('accepts as claims exactly the first primary and the two promotions', () => {
      const claims = steps.filter((s) => s.decision.outcome === 'accepted' && s.decision.kind === 'claim');
      expect(claims.map((s) => [s.capture.index, s.capture.node, s.capture.args[1], s.after.timeline])).toEqual([
        [0, 'node1', 'cluster_created', 1],
        [14, 'node2', 'standby_promote', 2],
        [24, 'node1', 'standby_promote', 3],
      ]);
      expect(claims.map((s) => s.decision.outcome === 'accepted' && s.decision.previousPrimary)).toEqual([null, 'node1', 'node2']);
    });

    it('accepts every promotion-labelled event (standby_promote, standby_switchover, repmgrd_failover_promote)', () => {
      const promotions = steps.filter((s) => ['standby_promote', 'standby_switchover', 'repmgrd_failover_promote'].includes(s.capture.args[1] ?? ''));
      expect(promotions).toHaveLength(4);
      for (const s of promotions) expect(s.decision.outcome).toBe('accepted');
    });

    it.each(outcomeTable(REPMGR_ACCEPTED, 41))('#%i → %j', (index, expected) => {
      // Arrange
      const { decision, before, after } = steps[index]!;

      // Assert
      if (expected === null) {
        expect(decision.outcome).toBe('ignored');
        expect(after).toBe(before);
        return;
      }
      const [kind, primary, timeline, epoch] = expected;
      expect(decision).toMatchObject({ outcome: 'accepted', kind, primary, timeline, epoch });
      expect(after).toMatchObject({ primary, timeline, epoch });
      if (kind === 'reassertion') expect([before.primary, before.timeline]).toEqual([primary, timeline]);
    });

    it('with the lagging checkpoint timeline instead, the real switchover would have been refused', () => {
      // Act
      const lagging = replay(captures, checkpointTimelineFacts);

      // Assert: node2's standby_promote reports checkpoint TL1 (it was on TL2) — the wrong timeline source breaks failover
      const promote = lagging.steps[14]!;
      expect(promote.capture.sql?.checkpoint_timeline_id).toBe(1);
      expect(promote.decision.outcome).toBe('stale_claim');
    });
  });

  describe('replaying the Patroni capture (bootstrap, switchover pg1→pg2, pg2 re-promote, failover to pg3)', () => {
    const captures = loadPatroniInvocations();
    const { steps, final } = replay(captures);

    it('takes member names from the capture (Patroni does not pass them), as the hook config would', () => {
      for (const c of captures) expect(c.node).toMatch(/^pg[123]$/);
      expect(new Set(captures.map((c) => c.args[2]))).toEqual(new Set(['peers-demo']));
    });

    it('ends with pg3 primary on timeline 4', () => {
      expect(final).toMatchObject({ primary: 'pg3', timeline: 4, epoch: 5, systemIdentifier: PATRONI_SYSTEM_ID });
    });

    it('never yields a stale, unverified or mismatched claim', () => {
      expect(new Set(steps.map((s) => s.decision.outcome))).toEqual(new Set(['accepted', 'ignored']));
    });

    it('accepts as claims exactly the bootstrap and the three promotions (one of them the same node twice)', () => {
      const claims = steps.filter((s) => s.decision.outcome === 'accepted' && s.decision.kind === 'claim');
      expect(claims.map((s) => [s.capture.index, s.capture.node, s.capture.args.slice(0, 2).join(' '), s.after.timeline])).toEqual([
        [0, 'pg1', 'on_start master', 1],
        [3, 'pg2', 'on_role_change master', 2],
        [8, 'pg2', 'on_role_change master', 3],
        [10, 'pg3', 'on_role_change master', 4],
      ]);
    });

    it.each(outcomeTable(PATRONI_ACCEPTED, 20))('#%i → %j', (index, expected) => {
      const { decision, before, after } = steps[index]!;
      if (expected === null) {
        expect(decision.outcome).toBe('ignored');
        expect(after).toBe(before);
        return;
      }
      const [kind, primary, timeline, epoch] = expected;
      expect(decision).toMatchObject({ outcome: 'accepted', kind, primary, timeline, epoch });
      expect(after).toMatchObject({ primary, timeline, epoch });
    });

    it('with the lagging checkpoint timeline instead, the failover to pg3 would have been refused', () => {
      const lagging = replay(captures, checkpointTimelineFacts);
      const failover = lagging.steps[10]!;
      expect(failover.capture.sql).toMatchObject({ checkpoint_timeline_id: 1, current_walfile_timeline: 4 });
      expect(failover.decision.outcome).toBe('stale_claim');
    });
  });

  describe('edge cases (DESIGN.md), on the state the repmgr capture ends in: node1 on TL3, epoch 15', () => {
    const captured = loadRepmgrInvocations();
    const { final: state } = replay(captured);
    const node1 = captured.find((c) => c.node === 'node1' && c.args[1] === 'standby_promote')!;

    const primaryOn = (timeline: number, systemIdentifier: string | null = REPMGR_SYSTEM_ID): NodeFacts => ({
      inRecovery: false,
      timeline,
      lsn: '0/6000000',
      systemIdentifier,
    });
    const standbyOn = (timeline: number): NodeFacts => ({ inRecovery: true, timeline, lsn: '0/6000000', systemIdentifier: REPMGR_SYSTEM_ID });

    /** A repmgr call from `nodeN` with the captured argv shape. */
    function repmgrEvent(node: string, type: string, facts: NodeFacts | null, details = ''): VipEvent {
      const id = node.replace('node', '');
      return buildEvent('repmgr', [id, type, '1', '2026-11-22 02:20:00.000001+00', details, '', '', '', '%r', '%m', '%z', '%'], { cluster: 'pg-main', node }, facts, NOW, `${node}-${type}`);
    }

    function expectUnchanged(decision: Decision): void {
      expect(applyDecision(state, decision)).toBe(state);
    }

    it('sanity: the state is what the capture ends in', () => {
      expect(state).toMatchObject({ primary: 'node1', timeline: 3, epoch: 15, systemIdentifier: REPMGR_SYSTEM_ID });
    });

    it('a claim without facts (probe failed) is unverified_claim', () => {
      // Arrange
      const event = repmgrEvent('node3', 'standby_promote', null, 'server "node3" (ID: 3) was successfully promoted to primary');

      // Act
      const decision = decide(state, nodeRecord('node3'), event);

      // Assert
      expect(decision.outcome).toBe('unverified_claim');
      expect(decision.reason).toContain('no facts');
      expectUnchanged(decision);
    });

    it('a promotion label with facts still in recovery is unverified_claim', () => {
      const decision = decide(state, nodeRecord('node3'), repmgrEvent('node3', 'repmgrd_failover_promote', standbyOn(3)));
      expect(decision.outcome).toBe('unverified_claim');
      expect(decision.reason).toContain('still in recovery');
    });

    it('Patroni on_role_change master seen before promotion finished is unverified_claim', () => {
      const event = buildEvent('patroni', ['on_role_change', 'master', 'peers-demo'], { cluster: 'pg-main', node: 'node3' }, standbyOn(3), NOW, 'p1');
      expect(decide(state, nodeRecord('node3'), event).outcome).toBe('unverified_claim');
    });

    it('a claim out of recovery but without a system identifier is unverified_claim', () => {
      const decision = decide(state, nodeRecord('node3'), repmgrEvent('node3', 'standby_promote', primaryOn(4, null)));
      expect(decision.outcome).toBe('unverified_claim');
      expect(decision.reason).toContain('system identifier');
      expectUnchanged(decision);
    });

    it("another cluster's system identifier is system_identifier_mismatch, even on a newer timeline", () => {
      // Arrange
      const event = repmgrEvent('node3', 'standby_promote', primaryOn(9, PATRONI_SYSTEM_ID));

      // Act
      const decision = decide(state, nodeRecord('node3'), event);

      // Assert
      expect(decision).toMatchObject({ outcome: 'system_identifier_mismatch', expected: REPMGR_SYSTEM_ID, got: PATRONI_SYSTEM_ID });
      expectUnchanged(decision);
    });

    it('an older timeline from another node is stale_claim', () => {
      const decision = decide(state, nodeRecord('node2'), repmgrEvent('node2', 'standby_promote', primaryOn(2)));
      expect(decision).toMatchObject({ outcome: 'stale_claim', claimedTimeline: 2, current: { primary: 'node1', timeline: 3, epoch: 15 } });
      expectUnchanged(decision);
    });

    it('the same timeline from another node is stale_claim', () => {
      const decision = decide(state, nodeRecord('node3'), repmgrEvent('node3', 'standby_promote', primaryOn(3)));
      expect(decision).toMatchObject({ outcome: 'stale_claim', claimedTimeline: 3 });
      expect(decision.reason).toContain('possible split brain');
    });

    it('two nodes promoted from the same parent timeline: the first wins, the second is stale_claim', () => {
      // Arrange
      const first = decide(state, nodeRecord('node3'), repmgrEvent('node3', 'standby_promote', primaryOn(4)));
      const afterFirst = applyDecision(state, first);

      // Act
      const second = decide(afterFirst, nodeRecord('node2'), repmgrEvent('node2', 'standby_promote', primaryOn(4)));

      // Assert
      expect(first).toMatchObject({ outcome: 'accepted', kind: 'claim', primary: 'node3', timeline: 4, epoch: 16, previousPrimary: 'node1' });
      expect(second).toMatchObject({ outcome: 'stale_claim', claimedTimeline: 4, current: { primary: 'node3', timeline: 4, epoch: 16 } });
      expect(applyDecision(afterFirst, second)).toBe(afterFirst);
    });

    it('the same timeline from the recorded primary is an accepted reassertion (epoch + 1)', () => {
      // Arrange: node1's own captured standby_promote, sent again
      const event = buildEvent('repmgr', node1.args, { cluster: 'pg-main', node: 'node1' }, node1.facts, NOW, 'resend');

      // Act
      const decision = decide(state, nodeRecord('node1'), event);

      // Assert
      expect(decision).toMatchObject({ outcome: 'accepted', kind: 'reassertion', primary: 'node1', timeline: 3, epoch: 16, previousPrimary: 'node1' });
    });

    it('a fenced node never wins, whatever its timeline', () => {
      for (const timeline of [3, 4, 100]) {
        const decision = decide(state, nodeRecord('node3', { fenced: true }), repmgrEvent('node3', 'standby_promote', primaryOn(timeline)));
        expect(decision.outcome).toBe('stale_claim');
        expect(decision.reason).toContain('fenced');
        expectUnchanged(decision);
      }
    });

    it('a fenced recorded primary cannot re-assert, and a fenced node cannot be the first primary', () => {
      const reassert = decide(state, nodeRecord('node1', { fenced: true }), repmgrEvent('node1', 'repmgrd_reload', primaryOn(3)));
      const first = decide(emptyClusterState(), nodeRecord('node1', { fenced: true }), repmgrEvent('node1', 'cluster_created', primaryOn(1)));
      expect(reassert.outcome).toBe('stale_claim');
      expect(first.outcome).toBe('stale_claim');
    });

    it('an old primary restarted without rejoin, reporting repmgrd_start out of recovery on its old timeline, is stale_claim', () => {
      // Arrange: node2's captured repmgrd_start argv, with the facts node2 had while it was primary on TL2
      const start = captured.find((c) => c.node === 'node2' && c.args[1] === 'repmgrd_start')!;
      const asOldPrimary = captured.find((c) => c.node === 'node2' && c.args[1] === 'child_node_new_connect')!.facts;
      expect(asOldPrimary).toMatchObject({ inRecovery: false, timeline: 2 });
      const event = buildEvent('repmgr', start.args, { cluster: 'pg-main', node: 'node2' }, asOldPrimary, NOW, 'old-primary');

      // Act
      const decision = decide(state, nodeRecord('node2'), event);

      // Assert
      expect(decision).toMatchObject({ outcome: 'stale_claim', claimedTimeline: 2, current: { primary: 'node1', timeline: 3 } });
      expectUnchanged(decision);
    });

    it('a manual promotion carried by an informational event name is an accepted claim', () => {
      // Arrange: `pg_ctl promote` on node3 by hand; its repmgrd next reports a reconnect, out of recovery on TL4
      const event = repmgrEvent('node3', 'repmgrd_local_reconnect', primaryOn(4), 'reconnected to local node after 2 seconds');

      // Act
      const decision = decide(state, nodeRecord('node3'), event);

      // Assert
      expect(decision).toMatchObject({ outcome: 'accepted', kind: 'claim', primary: 'node3', timeline: 4, epoch: 16, previousPrimary: 'node1' });
      expect(applyDecision(state, decision)).toMatchObject({ primary: 'node3', timeline: 4, epoch: 16 });
    });

    it('the first accepted claim pins the system identifier it reports', () => {
      const decision = decide(emptyClusterState(), nodeRecord('node1'), repmgrEvent('node1', 'primary_register', primaryOn(1)));
      expect(decision).toMatchObject({ outcome: 'accepted', kind: 'claim', epoch: 1, previousPrimary: null, systemIdentifier: REPMGR_SYSTEM_ID });
    });

    it('events from standbys are ignored and move nothing', () => {
      const decision = decide(state, nodeRecord('node2'), repmgrEvent('node2', 'standby_follow', standbyOn(3)));
      expect(decision).toMatchObject({ outcome: 'ignored', kind: 'informational' });
      expectUnchanged(decision);
    });
  });
});
