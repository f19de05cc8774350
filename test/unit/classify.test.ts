import { classify, EventKind, labelClaimsPrimary } from '../../shared/domain/classify';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import { buildEvent } from '../../shared/protocol/build-event';
import { loadPatroniInvocations, loadRepmgrInvocations, REPMGR_SYSTEM_ID, type PeerInvocation } from '../support/peers';

const NOW = new Date('2026-11-22T03:00:00.000Z');
const toEvent = (c: PeerInvocation): VipEvent => buildEvent(c.mode, c.args, { cluster: 'pg-main', node: c.node }, c.facts, NOW, `capture-${c.index}`);

const { PrimaryAssertion: P, UnverifiedClaim: U, Fault: F, Demotion: D, Informational: I } = EventKind;

/** Expected kind of every captured repmgr call: out of recovery is a primary assertion, whatever the label. */
const REPMGR_KINDS: ReadonlyArray<readonly [number, string, string, EventKind]> = [
  [0, 'node1', 'cluster_created', P],
  [1, 'node1', 'primary_register', P],
  [2, 'node2', 'standby_clone', I], // no facts: PostgreSQL not started yet
  [3, 'node2', 'standby_register', I],
  [4, 'node2', 'standby_register_sync', I],
  [5, 'node3', 'standby_clone', I],
  [6, 'node3', 'standby_register', I],
  [7, 'node3', 'standby_register_sync', I],
  [8, 'node1', 'repmgrd_start', P],
  [9, 'node2', 'repmgrd_start', I],
  [10, 'node3', 'repmgrd_start', I],
  [11, 'node1', 'repmgrd_local_disconnect', I], // old primary stopping for the switchover: no facts
  [12, 'node2', 'repmgrd_upstream_disconnect', I],
  [13, 'node3', 'repmgrd_upstream_disconnect', I],
  [14, 'node2', 'standby_promote', P],
  [15, 'node2', 'standby_switchover', P],
  [16, 'node1', 'repmgrd_local_reconnect', I],
  [17, 'node1', 'repmgrd_standby_reconnect', I],
  [18, 'node2', 'repmgrd_reload', P],
  [19, 'node3', 'standby_follow', I],
  [20, 'node2', 'child_node_new_connect', P],
  [21, 'node2', 'repmgrd_local_disconnect', I], // postmaster killed: no facts
  [22, 'node1', 'repmgrd_upstream_disconnect', I],
  [23, 'node3', 'repmgrd_upstream_disconnect', I],
  [24, 'node1', 'standby_promote', P],
  [25, 'node1', 'repmgrd_failover_promote', P],
  [26, 'node1', 'repmgrd_reload', P],
  [27, 'node3', 'standby_follow', I],
  [28, 'node3', 'repmgrd_failover_follow', I],
  [29, 'node1', 'child_node_new_connect', P],
  [30, 'node2', 'node_rejoin', I],
  [31, 'node2', 'repmgrd_standby_reconnect', I],
  [32, 'node1', 'child_node_new_connect', P],
  [33, 'node3', 'standby_failure', F],
  [34, 'node1', 'child_node_disconnect', P],
  [35, 'node3', 'standby_recovery', I],
  [36, 'node1', 'child_node_reconnect', P],
  [37, 'node3', 'standby_register', I],
  [38, 'node2', 'repmgrd_shutdown', I],
  [39, 'node3', 'repmgrd_shutdown', I],
  [40, 'node1', 'repmgrd_shutdown', P],
];

const PATRONI_KINDS: ReadonlyArray<readonly [number, string, string, EventKind]> = [
  [0, 'pg1', 'on_start master', P],
  [1, 'pg2', 'on_start replica', I],
  [2, 'pg3', 'on_start replica', I],
  [3, 'pg2', 'on_role_change master', P],
  [4, 'pg1', 'on_stop demoted', D],
  [5, 'pg3', 'on_reload replica', I],
  [6, 'pg1', 'on_role_change replica', I],
  [7, 'pg2', 'on_role_change replica', I], // crash recovery, read-only, not streaming: timeline unknown
  [8, 'pg2', 'on_role_change master', P],
  [9, 'pg1', 'on_reload replica', I],
  [10, 'pg3', 'on_role_change master', P],
  [11, 'pg2', 'on_start replica', I],
  [12, 'pg1', 'on_restart replica', I],
  [13, 'pg1', 'on_restart replica', I],
  [14, 'pg1', 'on_reload replica', I],
  [15, 'pg2', 'on_reload replica', I],
  [16, 'pg3', 'on_reload master', P],
  [17, 'pg1', 'on_stop replica', I],
  [18, 'pg2', 'on_stop replica', I],
  [19, 'pg3', 'on_stop master', I], // PostgreSQL already down: no facts, and on_stop is no claim
];

const primaryFacts = (timeline: number | null = 3): NodeFacts => ({ inRecovery: false, timeline, lsn: '0/5053510', systemIdentifier: REPMGR_SYSTEM_ID });
const standbyFacts = (timeline: number | null = 3): NodeFacts => ({ inRecovery: true, timeline, lsn: '0/50524C8', systemIdentifier: REPMGR_SYSTEM_ID });

type Classifiable = Parameters<typeof classify>[0];
const repmgr = (type: string, facts: NodeFacts | null, success = true): Classifiable => ({ source: 'repmgr', type, role: null, success, facts });
const patroni = (type: string, role: string, facts: NodeFacts | null): Classifiable => ({ source: 'patroni', type, role, success: true, facts });

describe('classify', () => {
  describe('the repmgr capture', () => {
    const captures = loadRepmgrInvocations();

    it('has one expectation per invocation', () => {
      expect(REPMGR_KINDS.map(([i]) => i)).toEqual(captures.map((c) => c.index));
    });

    it.each(REPMGR_KINDS)('#%i %s %s → %s', (index, node, event, kind) => {
      // Arrange
      const c = captures[index]!;
      expect([c.node, c.args[1]]).toEqual([node, event]);

      // Act / Assert
      expect(classify(toEvent(c))).toBe(kind);
    });
  });

  describe('the Patroni capture', () => {
    const captures = loadPatroniInvocations();

    it('has one expectation per invocation', () => {
      expect(PATRONI_KINDS.map(([i]) => i)).toEqual(captures.map((c) => c.index));
    });

    it.each(PATRONI_KINDS)('#%i %s %s → %s', (index, node, call, kind) => {
      const c = captures[index]!;
      expect([c.node, c.args.slice(0, 2).join(' ')]).toEqual([node, call]);

      expect(classify(toEvent(c))).toBe(kind);
    });
  });

  describe('facts over labels', () => {
    it.each(['repmgrd_start', 'repmgrd_local_reconnect', 'child_node_new_connect', 'standby_failure'])(
      'out of recovery with a timeline, %s is a primary assertion',
      (type) => {
        expect(classify(repmgr(type, primaryFacts()))).toBe(P);
      },
    );

    it('out of recovery even with success=0 is a primary assertion (the node says what it is)', () => {
      expect(classify(repmgr('standby_promote', primaryFacts(), false))).toBe(P);
    });

    it('Patroni on_reload master out of recovery is a primary assertion', () => {
      expect(classify(patroni('on_reload', 'master', primaryFacts(4)))).toBe(P);
    });

    it('out of recovery without a timeline cannot be ordered: unverified', () => {
      expect(classify(repmgr('repmgrd_reload', primaryFacts(null)))).toBe(U);
    });

    it('out of recovery without a system identifier cannot be tied to the cluster: unverified', () => {
      expect(classify(repmgr('standby_promote', { ...primaryFacts(), systemIdentifier: null }))).toBe(U);
    });
  });

  describe('promotion labels without usable facts', () => {
    it.each([
      ['repmgr standby_promote, no facts', repmgr('standby_promote', null)],
      ['repmgr repmgrd_failover_promote, no facts', repmgr('repmgrd_failover_promote', null)],
      ['repmgr standby_switchover, still in recovery', repmgr('standby_switchover', standbyFacts())],
      ['repmgr standby_promote, still in recovery', repmgr('standby_promote', standbyFacts(2))],
      ['patroni on_role_change master, no facts', patroni('on_role_change', 'master', null)],
      ['patroni on_role_change primary (4.x), still in recovery', patroni('on_role_change', 'primary', standbyFacts())],
      ['patroni on_start master, no facts', patroni('on_start', 'master', null)],
    ])('%s → unverified_claim', (_label, event) => {
      expect(classify(event)).toBe(U);
    });

    it('a failed promotion (%s=0) without facts is a fault, not a claim', () => {
      expect(classify(repmgr('standby_promote', null, false))).toBe(F);
    });
  });

  describe('faults, demotions, the rest', () => {
    it.each(['repmgrd_failover_aborted', 'repmgrd_promote_error', 'standby_failure', 'repmgrd_upstream_disconnect_fatal'])(
      'repmgr %s is a fault even with success=1',
      (type) => {
        expect(classify(repmgr(type, standbyFacts()))).toBe(F);
      },
    );

    it('any repmgr event with success=0 is a fault', () => {
      expect(classify(repmgr('standby_follow', standbyFacts(), false))).toBe(F);
    });

    it('Patroni on_stop demoted is a demotion', () => {
      expect(classify(patroni('on_stop', 'demoted', null))).toBe(D);
    });

    it.each([
      ['patroni on_stop master (PostgreSQL is down)', patroni('on_stop', 'master', null)],
      ['patroni on_role_change standby_leader', patroni('on_role_change', 'standby_leader', standbyFacts())],
      ['repmgr standby_follow', repmgr('standby_follow', standbyFacts())],
    ])('%s is informational', (_label, event) => {
      expect(classify(event)).toBe(I);
    });
  });
});

describe('labelClaimsPrimary', () => {
  it.each([
    [repmgr('standby_promote', null), true],
    [repmgr('repmgrd_failover_promote', null), true],
    [repmgr('standby_switchover', null), true],
    [repmgr('standby_promote', null, false), false],
    [repmgr('repmgrd_start', null), false],
    [patroni('on_role_change', 'master', null), true],
    [patroni('on_role_change', 'primary', null), true],
    [patroni('on_start', 'master', null), true],
    [patroni('on_reload', 'master', null), false],
    [patroni('on_stop', 'master', null), false],
    [patroni('on_role_change', 'replica', null), false],
    [{ source: 'operator', type: 'confirm_primary', role: null, success: true }, true],
  ] as const)('%j → %s', (event, claims) => {
    expect(labelClaimsPrimary(event)).toBe(claims);
  });
});
