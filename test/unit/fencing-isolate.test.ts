import { groupsFromTags, groupTags, ORIGINAL_GROUPS_TAG } from '../../shared/adapters/ec2-eni-isolator';
import { pageForEntry } from '../../shared/app/pages';
import { processEvent } from '../../shared/app/process-event';
import { reactToChanges, type ReactDeps } from '../../shared/app/react-to-changes';
import { unfenceNode } from '../../shared/app/unfence-node';
import { parseClusterFile } from '../../shared/config/cluster-config';
import { ConfigError } from '../../shared/domain/errors';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import type { Alerter, Page } from '../../shared/ports/alerter';
import type { ActionReport, JournalEntry } from '../../shared/ports/cluster-store';
import type { EndpointActuator } from '../../shared/ports/endpoint-actuator';
import type { IsolateOutcome, NetworkIsolator, RestoreOutcome } from '../../shared/ports/network-isolator';
import { buildEvent } from '../../shared/protocol/build-event';
import { thrownBy } from '../support/errors';
import { InMemoryClusterStore, memberWithKey, storeWithCluster } from '../support/in-memory-cluster-store';
import { REPMGR_SYSTEM_ID } from '../support/peers';

const NOW = new Date('2026-11-22T02:30:00.000Z');
const clock = () => NOW;
const SG = 'sg-0badc0ffee0000001';
const primaryOn = (timeline: number): NodeFacts => ({ inRecovery: false, timeline, lsn: '0/5053510', systemIdentifier: REPMGR_SYSTEM_ID });

function repmgrEvent(node: string, type: string, facts: NodeFacts | null, id = `${node}-${type}`): VipEvent {
  return buildEvent('repmgr', [node.replace('node', ''), type, '1', '2026-11-22 02:20:00.000001+00', '', '', '', ''], { cluster: 'pg-main', node }, facts, NOW, id);
}

async function ingest(store: InMemoryClusterStore, event: VipEvent) {
  const loaded = (await store.loadCluster(event.cluster))!;
  return processEvent({ store, now: clock }, { event, loaded, replay: null });
}

/** An ENI world of its own: groups per ENI and the record in its tags, as the EC2 adapter keeps them. */
class FakeIsolator implements NetworkIsolator {
  readonly groups = new Map<string, string[]>([
    ['eni-node1', ['sg-db', 'sg-ssh']],
    ['eni-node2', ['sg-db', 'sg-ssh']],
    ['eni-node3', ['sg-db']],
  ]);
  readonly records = new Map<string, string[]>();
  readonly calls: string[] = [];
  async isolate(eni: string, group: string, note: string): Promise<IsolateOutcome> {
    this.calls.push(`isolate ${eni} ${group} ${note}`);
    const before = this.groups.get(eni)!;
    if (!this.records.has(eni)) this.records.set(eni, before);
    this.groups.set(eni, [group]);
    return { ok: true, result: 'isolated', originalGroups: this.records.get(eni)!, groups: [group] };
  }
  async restore(eni: string): Promise<RestoreOutcome> {
    this.calls.push(`restore ${eni}`);
    const from = this.groups.get(eni)!;
    const record = this.records.get(eni);
    if (!record) return { ok: true, result: 'not_isolated', from, groups: from };
    this.groups.set(eni, record);
    this.records.delete(eni);
    return { ok: true, result: 'restored', from, groups: record };
  }
}

class RecordingAlerter implements Alerter {
  readonly pages: Page[] = [];
  async page(page: Page) {
    this.pages.push(page);
  }
}

const stillActuator: EndpointActuator = { pointAt: async (): Promise<ActionReport[]> => [] };

async function isolateCluster(config: Record<string, unknown> = { fencing: 'isolate', isolationSecurityGroupId: SG }) {
  const store = await storeWithCluster({ now: clock, config: config as never, nodes: ['node1', 'node2', 'node3'].map((n) => memberWithKey(n)), state: { primary: 'node1', timeline: 3, epoch: 3, appliedEpoch: 3, systemIdentifier: REPMGR_SYSTEM_ID } });
  const isolator = new FakeIsolator();
  const alerter = new RecordingAlerter();
  const deps: ReactDeps = { store, actuator: stillActuator, alerter, fencer: { stop: async () => ({ ok: true, state: 'stopping' }) }, isolator, now: clock };
  return { store, isolator, alerter, deps };
}

const fencingActions = async (store: InMemoryClusterStore) => (await store.readJournal('pg-main', 100)).filter((e) => e.outcome === 'fencing_action');

describe('fencing policy isolate', () => {
  describe('cluster file', () => {
    const file = (over: Record<string, unknown>) => ({
      cluster: 'pg-main',
      tool: 'repmgr',
      nodes: [{ name: 'node1', repmgrNodeId: 1, eni: 'eni-0a1b2c3d4e5f60001', keyFile: 'k' }],
      endpoints: { routeTables: { vip: '10.0.255.10', routeTableIds: ['rtb-0a1b2c3d4e5f60001'] } },
      ...over,
    });

    it('takes isolate with its security group, and keeps the group in the config', () => {
      expect(parseClusterFile(file({ fencing: 'isolate', isolationSecurityGroupId: SG })).config).toMatchObject({ fencing: 'isolate', isolationSecurityGroupId: SG });
      expect('isolationSecurityGroupId' in parseClusterFile(file({ fencing: 'alert' })).config).toBe(false);
    });

    it.each([
      ['isolate without a group', { fencing: 'isolate' }, 'isolationSecurityGroupId: required with fencing: isolate'],
      ['a group id that is not one', { fencing: 'isolate', isolationSecurityGroupId: 'default' }, 'isolationSecurityGroupId: a security group id'],
      ['a group with another policy', { fencing: 'alert', isolationSecurityGroupId: SG }, 'isolationSecurityGroupId: only used with fencing: isolate'],
      ['isolate for pgpool', { tool: 'pgpool', fencing: 'isolate', isolationSecurityGroupId: SG, nodes: [{ name: 'node1', eni: 'eni-0a1b2c3d4e5f60001', keyFile: 'k' }] }, 'fencing: isolate is not available for pgpool clusters'],
    ])('refuses %s', (_label, over, message) => {
      const error = thrownBy(() => parseClusterFile(file(over)));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toContain(message);
    });
  });

  describe('the plan at commit (processEvent)', () => {
    it('a stale claim is answered 409 with the isolation scheduled against its ENI, and flagged for the actuator', async () => {
      const { store } = await isolateCluster();
      const answer = await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));
      expect(answer).toMatchObject({ status: 409, body: { code: 'stale_claim', fencing: { policy: 'isolate', result: 'scheduled', eni: 'eni-node2', securityGroupId: SG } } });
      const [entry] = await store.readJournal('pg-main', 10);
      expect(entry).toMatchObject({ outcome: 'stale_claim', page: true, fence: true, details: { fencing: { policy: 'isolate', result: 'scheduled', eni: 'eni-node2' } } });
    });

    it('never plans it against the current primary', async () => {
      const { store } = await isolateCluster();
      // node1 (the primary, TL3) re-asserting on an OLDER timeline is stale, yet it is the current primary
      const answer = await ingest(store, repmgrEvent('node1', 'repmgrd_start', primaryOn(2)));
      expect(answer).toMatchObject({ status: 409, body: { code: 'stale_claim', fencing: { policy: 'isolate', result: 'skipped', why: 'node is the current primary' } } });
      expect((await store.readJournal('pg-main', 10)).some((e) => e.fence === true)).toBe(false);
    });
  });

  describe('the actuator (reactToChanges)', () => {
    it('isolates the stale node, journals isolate_eni and says so in the stale claim page', async () => {
      // Arrange
      const { store, deps, isolator, alerter } = await isolateCluster();
      await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));

      // Act
      await reactToChanges(deps, store.takeChanges());

      // Assert
      expect(isolator.groups.get('eni-node2')).toEqual([SG]);
      expect(isolator.records.get('eni-node2')).toEqual(['sg-db', 'sg-ssh']);
      expect(isolator.groups.get('eni-node1')).toEqual(['sg-db', 'sg-ssh']);
      expect(isolator.calls[0]).toMatch(/^isolate eni-node2 sg-0badc0ffee0000001 vipswitch 2026-11-22T02:30:00.000Z pg-main\/node2 stale claim node2-repmgrd_start/);
      expect(await fencingActions(store)).toEqual([
        expect.objectContaining({ node: 'node2', type: 'isolate_eni', details: { policy: 'isolate', result: 'isolated', eni: 'eni-node2', securityGroupId: SG, originalGroups: ['sg-db', 'sg-ssh'], groups: [SG] } }),
      ]);
      expect(alerter.pages).toHaveLength(1);
      expect(alerter.pages[0]!.message).toContain(`Fenced: ENI eni-node2 isolated (security groups sg-db, sg-ssh swapped for ${SG}`);
    });

    it('never isolates the current primary: a stale claimant that won since is skipped (read again before the swap)', async () => {
      const { store, deps, isolator } = await isolateCluster();
      await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));
      await ingest(store, repmgrEvent('node2', 'standby_promote', primaryOn(4)));

      await reactToChanges(deps, store.takeChanges());

      expect(isolator.calls).toEqual([]);
      expect(await fencingActions(store)).toEqual([expect.objectContaining({ type: 'isolate_eni', details: { policy: 'isolate', result: 'skipped', why: 'node is the current primary' } })]);
    });

    it('without an isolator wired, the isolation is journaled and paged as failed (never silently skipped)', async () => {
      const { store, deps, alerter } = await isolateCluster();
      await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));
      const { isolator: _none, ...unwired } = deps;

      await reactToChanges(unwired, store.takeChanges());

      expect(await fencingActions(store)).toEqual([expect.objectContaining({ details: expect.objectContaining({ result: 'failed', error: { code: 'NotConfigured', message: expect.any(String) } }) })]);
      expect(alerter.pages[0]!.message).toContain('Fencing FAILED (isolate): NotConfigured');
    });
  });

  describe('unfenceNode', () => {
    it('restores the recorded groups, journals unisolate_eni flagged for a page, and the page names the operator', async () => {
      // Arrange: node2 isolated
      const { store, deps, isolator } = await isolateCluster();
      await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));
      await reactToChanges(deps, store.takeChanges());

      // Act
      const result = await unfenceNode({ store, isolator, now: clock }, { cluster: 'pg-main', node: 'node2', operator: 'alice', reason: 'rejoined as a standby', id: 'operator-unfence-1' });

      // Assert
      expect(result).toMatchObject({ ok: true, eni: 'eni-node2', outcome: { result: 'restored', from: [SG], groups: ['sg-db', 'sg-ssh'] } });
      expect(isolator.groups.get('eni-node2')).toEqual(['sg-db', 'sg-ssh']);
      const entry = (await fencingActions(store)).find((e) => e.type === 'unisolate_eni') as JournalEntry;
      expect(entry).toMatchObject({ page: true, details: { result: 'restored', operator: 'alice' }, event: { source: 'operator', type: 'unfence' } });
      expect(pageForEntry(entry)).toMatchObject({ severity: 'warning', type: 'unfenced', subject: 'vipswitch pg-main: node2 unfenced by alice' });
    });

    it('an ENI with no record is left alone (not_isolated), still journaled', async () => {
      const { store, isolator } = await isolateCluster();
      const result = await unfenceNode({ store, isolator, now: clock }, { cluster: 'pg-main', node: 'node3', operator: 'bob', reason: 'check', id: 'operator-unfence-2' });
      expect(result).toMatchObject({ ok: true, outcome: { result: 'not_isolated', groups: ['sg-db'] } });
      expect(await fencingActions(store)).toHaveLength(1);
    });

    it('refuses an unknown node or cluster, touching nothing', async () => {
      const { store, isolator } = await isolateCluster();
      expect(await unfenceNode({ store, isolator, now: clock }, { cluster: 'pg-main', node: 'node9', operator: 'bob', reason: 'x', id: 'u3' })).toMatchObject({ ok: false, reason: 'node node9 is not registered in pg-main' });
      expect(await unfenceNode({ store, isolator, now: clock }, { cluster: 'nope', node: 'node1', operator: 'bob', reason: 'x', id: 'u4' })).toMatchObject({ ok: false });
      expect(isolator.calls).toEqual([]);
    });
  });

  describe('the record in the ENI tags', () => {
    it('round-trips groups, split over several tags past 256 characters', () => {
      const many = Array.from({ length: 16 }, (_, i) => `sg-0123456789abcde${i.toString(16).padStart(2, '0')}`);
      const tags = groupTags(many);
      expect(tags.length).toBeGreaterThan(1);
      expect(tags.every((t) => t.Value.length <= 256)).toBe(true);
      expect(tags[0]!.Key).toBe(ORIGINAL_GROUPS_TAG);
      expect(groupsFromTags([...tags].reverse())).toEqual(many);
      expect(groupsFromTags([{ Key: 'Name', Value: 'x' }])).toBeNull();
    });
  });
});
