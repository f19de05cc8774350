import { actuationFailedPage, driftRepairedPage, pageForEntry, triggerFailedPage } from '../../shared/app/pages';
import { processEvent } from '../../shared/app/process-event';
import { reactToChanges } from '../../shared/app/react-to-changes';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import type { Page } from '../../shared/ports/alerter';
import type { ActionReport, JournalEntry } from '../../shared/ports/cluster-store';
import { buildEvent } from '../../shared/protocol/build-event';
import { memberWithKey, storeWithCluster } from '../support/in-memory-cluster-store';
import { loadRepmgrInvocations, PATRONI_SYSTEM_ID, REPMGR_SYSTEM_ID } from '../support/peers';

const NOW = new Date('2026-11-22T02:30:00.000Z');
const clock = () => NOW;
const captures = loadRepmgrInvocations();

const primaryOn = (timeline: number, systemIdentifier = REPMGR_SYSTEM_ID): NodeFacts => ({ inRecovery: false, timeline, lsn: '0/5053510', systemIdentifier });

function repmgrEvent(node: string, type: string, facts: NodeFacts | null, options: { success?: boolean; details?: string } = {}): VipEvent {
  const n = node.replace('node', '');
  const args = [n, type, options.success === false ? '0' : '1', '2026-11-22 02:20:00.000001+00', options.details ?? '', '', '', '', '%r', '%m', '%z', '%'];
  return buildEvent('repmgr', args, { cluster: 'pg-main', node }, facts, NOW, `${node}-${type}`);
}

function entry(event: VipEvent, outcome: JournalEntry['outcome'], extra: Partial<JournalEntry> = {}): JournalEntry {
  return { cluster: 'pg-main', eventId: event.id, receivedAt: NOW.toISOString(), node: event.node, type: event.type, outcome, reason: `reason of ${outcome}`, epoch: 3, event, ...extra };
}

const failedRoute: ActionReport = { mechanism: 'route_table', target: 'rtb-0a1b2c3d4e5f60718 10.0.255.10/32', to: 'eni-node2', from: 'eni-node1', result: 'failed', error: { code: 'UnauthorizedOperation', message: 'not allowed' } };
const movedRoute: ActionReport = { mechanism: 'route_table', target: 'rtb-0f1e2d3c4b5a69788 10.0.255.10/32', to: 'eni-node2', from: 'eni-node1', result: 'moved', verified: true };

describe('pageForEntry', () => {
  it.each([
    ['repmgrd_failover_aborted', 'critical'],
    ['repmgrd_promote_error', 'critical'],
    ['standby_failure', 'warning'],
  ])('a fault %s pages as %s, with the tool, the node and its details', (type, severity) => {
    // Arrange
    const event = repmgrEvent('node3', type, null, { details: 'unable to connect to upstream' });

    // Act
    const page = pageForEntry(entry(event, 'ignored', { page: true }));

    // Assert
    expect(page).toEqual({
      severity,
      cluster: 'pg-main',
      type,
      subject: `vipswitch pg-main: ${type} on node3`,
      message: `repmgr reported ${type} on node3: unable to connect to upstream`,
      details: { eventId: event.id, node: 'node3', success: true },
    });
  });

  it('an event that failed (success 0) says so, and "(no details)" when the tool gave none', () => {
    const page = pageForEntry(entry(repmgrEvent('node2', 'standby_follow', null, { success: false }), 'ignored', { page: true }));
    expect(page?.message).toBe('repmgr reported standby_follow (failed) on node2: (no details)');
    expect(page?.details).toMatchObject({ success: false });
  });

  it('a stale claim is critical, names the holder the endpoint stays on and the fencing policy', () => {
    // Arrange
    const event = repmgrEvent('node2', 'repmgrd_start', primaryOn(2));
    const details = { current: { primary: 'node1', timeline: 3, epoch: 3 }, claimedTimeline: 2, fencing: { policy: 'alert' } };

    // Act
    const alertOnly = pageForEntry(entry(event, 'stale_claim', { details, page: true }));
    const stopped = pageForEntry(entry(event, 'stale_claim', { details: { ...details, fencing: { policy: 'stop-instance', result: 'stopped', instanceId: 'i-node2' } }, page: true, fence: true }));

    // Assert
    expect(alertOnly).toMatchObject({
      severity: 'critical',
      type: 'stale_claim',
      subject: 'vipswitch pg-main: stale primary claim from node2 (possible split brain)',
      message: 'reason of stale_claim. The endpoint stays on node1. Policy: alert only.',
      details: { eventId: event.id, node: 'node2', claimedTimeline: 2, current: details.current, epoch: 3, fencing: { policy: 'alert' } },
    });
    expect(stopped?.message).toContain('Fenced: instance i-node2 stopped (Force).');
    const failed = pageForEntry(entry(event, 'stale_claim', { details: { ...details, fencing: { policy: 'stop-instance', result: 'failed', instanceId: 'i-node2', error: { code: 'UnauthorizedOperation', message: 'not allowed' } } }, page: true, fence: true }));
    expect(failed?.message).toContain('Fencing FAILED (stop-instance): UnauthorizedOperation not allowed');
    expect(stopped?.details).toMatchObject({ fencing: { result: 'stopped', instanceId: 'i-node2' } });
  });

  it('an unverified claim and a system identifier mismatch are critical', () => {
    const unverified = pageForEntry(entry(repmgrEvent('node3', 'standby_promote', null), 'unverified_claim', { page: true }));
    const mismatch = pageForEntry(entry(repmgrEvent('node3', 'standby_promote', primaryOn(9, PATRONI_SYSTEM_ID)), 'system_identifier_mismatch', { details: { expected: REPMGR_SYSTEM_ID, got: PATRONI_SYSTEM_ID }, page: true }));
    expect(unverified).toMatchObject({ severity: 'critical', type: 'unverified_claim', subject: 'vipswitch pg-main: unverified primary claim from node3', details: { node: 'node3', type: 'standby_promote' } });
    expect(mismatch).toMatchObject({ severity: 'critical', type: 'system_identifier_mismatch', details: { node: 'node3', expected: REPMGR_SYSTEM_ID, got: PATRONI_SYSTEM_ID } });
  });

  it.each(['accepted', 'operator_confirmed', 'fencing_action'] as const)('%s calls for no page', (outcome) => {
    expect(pageForEntry(entry(repmgrEvent('node2', 'standby_promote', primaryOn(4)), outcome))).toBeNull();
  });
});

describe('actuationFailedPage, driftRepairedPage, triggerFailedPage', () => {
  it('an incomplete move lists each failed target with its error code', () => {
    // Act
    const commit = actuationFailedPage('pg-main', 'node2', 4, [failedRoute, movedRoute], 'commit');
    const reconcile = actuationFailedPage('pg-main', 'node2', 4, [failedRoute], 'reconcile');

    // Assert
    expect(commit).toEqual({
      severity: 'critical',
      cluster: 'pg-main',
      type: 'actuation_failed',
      subject: 'vipswitch pg-main: endpoint move incomplete',
      message: '1 target(s) not pointed at node2 (epoch 4): rtb-0a1b2c3d4e5f60718 10.0.255.10/32: UnauthorizedOperation; retried, then reconcile',
      details: { epoch: 4, actions: [failedRoute, movedRoute] },
    });
    expect(reconcile.subject).toBe('vipswitch pg-main: endpoint does not converge');
  });

  it('a repaired drift is a warning counting the targets moved back', () => {
    const page = driftRepairedPage('pg-main', 'node2', 4, [movedRoute, { ...movedRoute, result: 'created' }, { ...movedRoute, result: 'in_place' }]);
    expect(page).toMatchObject({ severity: 'warning', type: 'drift_repaired', message: '2 target(s) did not point at node2 and were moved back' });
  });

  it('a batch given up by the trigger is critical and points at reconcile', () => {
    expect(triggerFailedPage('pg-main', '3 records failed')).toMatchObject({ severity: 'critical', type: 'actuator_trigger_failed', message: '3 records failed; reconcile will repair the endpoint on its next pass' });
  });
});

describe('no secret in any page', () => {
  it('pages sent for every kind of event never carry a hook key', async () => {
    // Arrange: members with their hook keys; events of every paged kind, ingested and acted on as in production
    const nodes = ['node1', 'node2', 'node3'].map((n) => memberWithKey(n));
    const store = await storeWithCluster({ now: clock, config: { fencing: 'stop-instance' }, nodes, state: { primary: 'node1', timeline: 3, epoch: 3, appliedEpoch: 3, systemIdentifier: REPMGR_SYSTEM_ID } });
    const pages: Page[] = [];
    const deps = {
      store,
      now: clock,
      alerter: { page: async (page: Page) => void pages.push(page) },
      fencer: { stop: async () => ({ ok: false as const, error: { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' } }) },
      actuator: { pointAt: async () => [failedRoute] },
    };
    const events = [
      repmgrEvent('node2', 'repmgrd_start', primaryOn(2)), // stale claim, fenced (and the stop fails)
      repmgrEvent('node3', 'standby_promote', null), // unverified
      repmgrEvent('node3', 'repmgrd_failover_promote', primaryOn(9, PATRONI_SYSTEM_ID)), // mismatch
      buildEvent('repmgr', captures[33]!.args, { cluster: 'pg-main', node: 'node3' }, null, NOW, 'fault'), // standby_failure
      repmgrEvent('node2', 'standby_promote', primaryOn(4)), // a claim whose move fails: actuation_failed
    ];
    for (const event of events) {
      const loaded = (await store.loadCluster('pg-main'))!;
      await processEvent({ store, now: clock }, { event, loaded, replay: null });
    }

    // Act
    await reactToChanges(deps, store.takeChanges());

    // Assert
    expect(pages.map((p) => p.type).sort()).toEqual(['actuation_failed', 'stale_claim', 'standby_failure', 'system_identifier_mismatch', 'unverified_claim']);
    const sent = JSON.stringify(pages);
    for (const node of nodes) {
      expect(sent).not.toContain(node.hookKey);
      expect(sent).not.toContain('hookKey');
    }
  });
});
