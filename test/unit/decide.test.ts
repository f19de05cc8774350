import type { ClusterState, NodeRecord } from '../../shared/domain/cluster';
import { decide, type Decision, type EndpointPhase } from '../../shared/domain/decide';
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

/**
 * What the actuator reported for the cluster's endpoint when an event arrived, given the state then (null: nothing yet).
 * The default is an actuator that converged every epoch it was asked to (what the captured clusters had).
 */
type EndpointModel = (state: ClusterState) => EndpointPhase | null;
const convergedEndpoint: EndpointModel = (state) => (state.epoch === 0 ? null : { epoch: state.epoch, phase: 'converged' });

/**
 * Replays captures in order through `decide`, applying accepted decisions as the store would. The actuator's
 * `appliedEpoch` follows the endpoint model: raised to the epoch when it converged, left behind when it failed.
 */
function replay(
  captures: readonly PeerInvocation[],
  facts: (c: PeerInvocation) => NodeFacts | null = (c) => c.facts,
  endpointOf: EndpointModel = convergedEndpoint,
): { steps: Step[]; final: ClusterState } {
  let state = emptyClusterState();
  const steps: Step[] = [];
  for (const capture of captures) {
    const endpoint = endpointOf(state);
    const before = endpoint?.phase === 'converged' && endpoint.epoch === state.epoch ? { ...state, appliedEpoch: state.epoch } : state;
    const event = buildEvent(capture.mode, capture.args, { cluster: 'pg-main', node: capture.node }, facts(capture), NOW, `capture-${capture.index}`);
    const decision = decide(before, nodeRecord(capture.node), event, endpoint);
    const after = applyDecision(before, decision);
    steps.push({ capture, decision, before, after });
    state = after;
  }
  return { steps, final: state };
}

/** What the checkpoint timeline (which lags a promotion) would have said instead of the WAL file's. */
const checkpointTimelineFacts = (c: PeerInvocation): NodeFacts | null =>
  c.facts === null ? null : { ...c.facts, timeline: c.sql?.checkpoint_timeline_id ?? null };

type Claim = readonly [primary: string, timeline: number, epoch: number];
/** What each capture decides: an accepted claim, the recorded primary re-asserting itself (ignored), or else ignored. */
type Expected = readonly ['claim', ...Claim] | readonly ['reassertion'] | readonly ['ignored'];

/** The repmgr replay's accepted claims, by capture index: the first primary and the two promotions. */
const REPMGR_CLAIMS: Readonly<Record<number, Claim>> = {
  0: ['node1', 1, 1], // cluster_created: the first primary
  14: ['node2', 2, 2], // switchover: standby_promote on node2
  24: ['node1', 3, 3], // failover: standby_promote on node1
};
/** The recorded primary on its own timeline (primary_register, repmgrd_start, standby_switchover, child_node_*, ...). */
const REPMGR_REASSERTIONS = [1, 8, 15, 18, 20, 25, 26, 29, 32, 34, 36, 40];

const PATRONI_CLAIMS: Readonly<Record<number, Claim>> = {
  0: ['pg1', 1, 1], // bootstrap: on_start master
  3: ['pg2', 2, 2], // switchover: on_role_change master
  8: ['pg2', 3, 3], // pg2 crashed and was re-promoted by its own Patroni
  10: ['pg3', 4, 4], // failover: on_role_change master, checkpoint timeline still 1
};
const PATRONI_REASSERTIONS = [16]; // on_reload master

const outcomeTable = (claims: Readonly<Record<number, Claim>>, reassertions: readonly number[], count: number) =>
  Array.from({ length: count }, (_, i): readonly [number, Expected] => {
    const claim = claims[i];
    if (claim !== undefined) return [i, ['claim', ...claim]];
    return [i, reassertions.includes(i) ? ['reassertion'] : ['ignored']];
  });

/** Asserts one replay step against its expected row. */
function expectStep({ decision, before, after }: Step, expected: Expected): void {
  switch (expected[0]) {
    case 'claim': {
      const [, primary, timeline, epoch] = expected;
      expect(decision).toMatchObject({ outcome: 'accepted', kind: 'claim', primary, timeline, epoch });
      expect(after).toMatchObject({ primary, timeline, epoch });
      return;
    }
    case 'reassertion':
      // the recorded primary on its own timeline, the endpoint converged: nothing to do, no epoch bump
      expect(decision).toMatchObject({ outcome: 'ignored', kind: 'reassertion' });
      expect(after).toBe(before);
      return;
    case 'ignored':
      expect(decision.outcome).toBe('ignored');
      expect(decision.outcome === 'ignored' && decision.kind).not.toBe('reassertion');
      expect(after).toBe(before);
  }
}

describe('decide', () => {
  describe('replaying the repmgr capture (setup, switchover node1→node2, failover node2→node1, rejoin)', () => {
    const captures = loadRepmgrInvocations();
    const { steps, final } = replay(captures);

    it('ends with node1 primary on timeline 3 at epoch 3 (one per claim), the system identifier pinned', () => {
      expect(final).toMatchObject({ primary: 'node1', timeline: 3, epoch: 3, systemIdentifier: REPMGR_SYSTEM_ID });
    });

    it('never yields a stale, unverified or mismatched claim', () => {
      const outcomes = new Set(steps.map((s) => s.decision.outcome));
      expect(outcomes).toEqual(new Set(['accepted', 'ignored']));
    });

    it('accepts exactly the first primary and the two promotions, all as claims', () => {
      const accepted = steps.filter((s) => s.decision.outcome === 'accepted');
      expect(accepted.map((s) => s.decision.outcome === 'accepted' && s.decision.kind)).toEqual(['claim', 'claim', 'claim']);
      expect(accepted.map((s) => [s.capture.index, s.capture.node, s.capture.args[1], s.after.timeline])).toEqual([
        [0, 'node1', 'cluster_created', 1],
        [14, 'node2', 'standby_promote', 2],
        [24, 'node1', 'standby_promote', 3],
      ]);
      expect(accepted.map((s) => s.decision.outcome === 'accepted' && s.decision.previousPrimary)).toEqual([null, 'node1', 'node2']);
    });

    it('every promotion-labelled event leaves its node primary: the first one claims, the repeats are re-assertions', () => {
      // Arrange
      const promotions = steps.filter((s) => ['standby_promote', 'standby_switchover', 'repmgrd_failover_promote'].includes(s.capture.args[1] ?? ''));

      // Assert: repmgr reports standby_switchover / repmgrd_failover_promote right after the standby_promote that claimed
      expect(promotions.map((s) => [s.capture.index, s.capture.args[1], s.decision.outcome, 'kind' in s.decision ? s.decision.kind : null])).toEqual([
        [14, 'standby_promote', 'accepted', 'claim'],
        [15, 'standby_switchover', 'ignored', 'reassertion'],
        [24, 'standby_promote', 'accepted', 'claim'],
        [25, 'repmgrd_failover_promote', 'ignored', 'reassertion'],
      ]);
      for (const s of promotions) expect(s.after.primary).toBe(s.capture.node);
    });

    it.each(outcomeTable(REPMGR_CLAIMS, REPMGR_REASSERTIONS, 41))('#%i → %j', (index, expected) => {
      // Arrange
      const step = steps[index]!;

      // Assert
      expectStep(step, expected);
      if (expected[0] === 'reassertion') expect([step.before.primary, step.before.timeline]).toEqual([step.capture.node, step.capture.facts?.timeline]);
    });

    it('with every endpoint move failing, each re-assertion commits again (epoch + 1, same primary and timeline) to retry it', () => {
      // Arrange: the actuator never converges, so appliedEpoch stays 0 and each epoch's convergence ends `failed`
      const failing: EndpointModel = (state) => (state.epoch === 0 ? null : { epoch: state.epoch, phase: 'failed' });

      // Act
      const { steps: failed, final: end } = replay(captures, undefined, failing);

      // Assert
      const accepted = failed.filter((s) => s.decision.outcome === 'accepted');
      expect(accepted.map((s) => s.capture.index)).toEqual([0, ...REPMGR_REASSERTIONS.filter((i) => i < 14), 14, ...REPMGR_REASSERTIONS.filter((i) => i > 14 && i < 24), 24, ...REPMGR_REASSERTIONS.filter((i) => i > 24)]);
      for (const s of accepted) {
        expect(s.after.epoch).toBe(s.before.epoch + 1);
        if (s.decision.outcome === 'accepted' && s.decision.kind === 'reassertion') {
          expect(s.decision).toMatchObject({ primary: s.before.primary, timeline: s.before.timeline, previousPrimary: s.before.primary });
        }
      }
      expect(end).toMatchObject({ primary: 'node1', timeline: 3, epoch: 3 + REPMGR_REASSERTIONS.length, appliedEpoch: 0 });
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

    it('ends with pg3 primary on timeline 4 at epoch 4 (one per claim)', () => {
      expect(final).toMatchObject({ primary: 'pg3', timeline: 4, epoch: 4, systemIdentifier: PATRONI_SYSTEM_ID });
    });

    it('never yields a stale, unverified or mismatched claim', () => {
      expect(new Set(steps.map((s) => s.decision.outcome))).toEqual(new Set(['accepted', 'ignored']));
    });

    it('accepts as claims exactly the bootstrap and the three promotions (one of them the same node twice)', () => {
      const accepted = steps.filter((s) => s.decision.outcome === 'accepted');
      expect(accepted.every((s) => s.decision.outcome === 'accepted' && s.decision.kind === 'claim')).toBe(true);
      expect(accepted.map((s) => [s.capture.index, s.capture.node, s.capture.args.slice(0, 2).join(' '), s.after.timeline])).toEqual([
        [0, 'pg1', 'on_start master', 1],
        [3, 'pg2', 'on_role_change master', 2],
        [8, 'pg2', 'on_role_change master', 3],
        [10, 'pg3', 'on_role_change master', 4],
      ]);
    });

    it.each(outcomeTable(PATRONI_CLAIMS, PATRONI_REASSERTIONS, 20))('#%i → %j', (index, expected) => {
      expectStep(steps[index]!, expected);
    });

    it('on_reload master of pg3 commits again only when the move to pg3 failed', () => {
      // Arrange: the move for epoch 4 (pg3) failed; earlier epochs converged
      const failingAt4: EndpointModel = (state) => (state.epoch === 0 ? null : { epoch: state.epoch, phase: state.epoch === 4 ? 'failed' : 'converged' });

      // Act
      const { steps: retried, final: end } = replay(captures, undefined, failingAt4);

      // Assert
      expect(retried[16]!.decision).toMatchObject({ outcome: 'accepted', kind: 'reassertion', primary: 'pg3', timeline: 4, epoch: 5, previousPrimary: 'pg3' });
      expect(retried.filter((s) => s.decision.outcome === 'accepted').map((s) => s.capture.index)).toEqual([0, 3, 8, 10, 16]);
      expect(end).toMatchObject({ primary: 'pg3', timeline: 4, epoch: 5 });
    });

    it('with the lagging checkpoint timeline instead, the failover to pg3 would have been refused', () => {
      const lagging = replay(captures, checkpointTimelineFacts);
      const failover = lagging.steps[10]!;
      expect(failover.capture.sql).toMatchObject({ checkpoint_timeline_id: 1, current_walfile_timeline: 4 });
      expect(failover.decision.outcome).toBe('stale_claim');
    });
  });

  describe('edge cases (DESIGN.md), on the state the repmgr capture ends in: node1 on TL3, epoch 3, converged', () => {
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
      expect(state).toMatchObject({ primary: 'node1', timeline: 3, epoch: 3, appliedEpoch: 3, systemIdentifier: REPMGR_SYSTEM_ID });
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
      expect(decision).toMatchObject({ outcome: 'stale_claim', claimedTimeline: 2, current: { primary: 'node1', timeline: 3, epoch: 3 } });
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
      expect(first).toMatchObject({ outcome: 'accepted', kind: 'claim', primary: 'node3', timeline: 4, epoch: 4, previousPrimary: 'node1' });
      expect(second).toMatchObject({ outcome: 'stale_claim', claimedTimeline: 4, current: { primary: 'node3', timeline: 4, epoch: 4 } });
      expect(applyDecision(afterFirst, second)).toBe(afterFirst);
    });

    describe('the recorded primary re-asserting on its own timeline', () => {
      /** node1's own captured standby_promote, sent again. */
      const resend = () => buildEvent('repmgr', node1.args, { cluster: 'pg-main', node: 'node1' }, node1.facts, NOW, 'resend');
      /** The state once the move for the current epoch failed: appliedEpoch still the previous one. */
      const unapplied: ClusterState = { ...state, appliedEpoch: state.epoch - 1 };
      const failedNow: EndpointPhase = { epoch: state.epoch, phase: 'failed' };

      it('with the endpoint converged is ignored (kind reassertion): no epoch bump, nothing to move', () => {
        // Act
        const decision = decide(state, nodeRecord('node1'), resend(), { epoch: state.epoch, phase: 'converged' });

        // Assert
        expect(decision).toMatchObject({ outcome: 'ignored', kind: 'reassertion' });
        expect(decision.reason).toContain('re-asserts primary on timeline 3 (epoch 3)');
        expectUnchanged(decision);
      });

      it('with no endpoint status known (none passed) is ignored', () => {
        expect(decide(state, nodeRecord('node1'), resend())).toMatchObject({ outcome: 'ignored', kind: 'reassertion' });
        expect(decide(unapplied, nodeRecord('node1'), resend(), null)).toMatchObject({ outcome: 'ignored', kind: 'reassertion' });
      });

      it('after the last move for the current epoch failed is accepted as a reassertion (epoch + 1) to trigger a new attempt', () => {
        // Act
        const decision = decide(unapplied, nodeRecord('node1'), resend(), failedNow);

        // Assert
        expect(decision).toMatchObject({ outcome: 'accepted', kind: 'reassertion', primary: 'node1', timeline: 3, epoch: 4, previousPrimary: 'node1', systemIdentifier: REPMGR_SYSTEM_ID });
        expect(decision.reason).toContain('the last endpoint move failed');
        expect(applyDecision(unapplied, decision)).toMatchObject({ primary: 'node1', timeline: 3, epoch: 4, appliedEpoch: 2 });
      });

      it.each<[string, ClusterState, EndpointPhase]>([
        ['the move is still under way (converging)', unapplied, { epoch: 3, phase: 'converging' }],
        ['the endpoint converged', unapplied, { epoch: 3, phase: 'converged' }],
        ['the failure was for an older epoch', unapplied, { epoch: 2, phase: 'failed' }],
        ['the failure names a newer epoch than the state read (a stale read)', unapplied, { epoch: 4, phase: 'failed' }],
        ['appliedEpoch already reached the epoch (reconcile repaired it since)', state, failedNow],
      ])('is ignored when %s', (_, before, endpoint) => {
        // Act
        const decision = decide(before, nodeRecord('node1'), resend(), endpoint);

        // Assert
        expect(decision).toMatchObject({ outcome: 'ignored', kind: 'reassertion' });
        expect(applyDecision(before, decision)).toBe(before);
      });

      it('a failed endpoint lets nobody else through: another node on the same timeline is still stale_claim', () => {
        const decision = decide(unapplied, nodeRecord('node3'), repmgrEvent('node3', 'standby_promote', primaryOn(3)), failedNow);
        expect(decision).toMatchObject({ outcome: 'stale_claim', claimedTimeline: 3, current: { primary: 'node1', timeline: 3, epoch: 3 } });
      });

      it('a failed endpoint does not let a fenced primary re-assert, nor another cluster\'s data', () => {
        const fenced = decide(unapplied, nodeRecord('node1', { fenced: true }), resend(), failedNow);
        const foreign = decide(unapplied, nodeRecord('node1'), repmgrEvent('node1', 'repmgrd_reload', primaryOn(3, PATRONI_SYSTEM_ID)), failedNow);
        expect(fenced.outcome).toBe('stale_claim');
        expect(foreign.outcome).toBe('system_identifier_mismatch');
      });

      it('a newer timeline with a failed endpoint is still a plain claim', () => {
        const decision = decide(unapplied, nodeRecord('node1'), repmgrEvent('node1', 'repmgrd_reload', primaryOn(4)), failedNow);
        expect(decision).toMatchObject({ outcome: 'accepted', kind: 'claim', timeline: 4, epoch: 4 });
      });
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
      expect(decision).toMatchObject({ outcome: 'accepted', kind: 'claim', primary: 'node3', timeline: 4, epoch: 4, previousPrimary: 'node1' });
      expect(applyDecision(state, decision)).toMatchObject({ primary: 'node3', timeline: 4, epoch: 4 });
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
