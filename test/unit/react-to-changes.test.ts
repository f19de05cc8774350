import { processEvent } from '../../shared/app/process-event';
import { planWork, reactToChanges, type ReactDeps, type StateChange } from '../../shared/app/react-to-changes';
import type { EndpointConfig, EndpointTarget } from '../../shared/domain/cluster';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import type { Alerter, Page } from '../../shared/ports/alerter';
import type { ActionReport, JournalEntry } from '../../shared/ports/cluster-store';
import type { EndpointActuator, PointAtOptions } from '../../shared/ports/endpoint-actuator';
import type { InstanceFencer } from '../../shared/ports/instance-fencer';
import { buildEvent } from '../../shared/protocol/build-event';
import { clusterConfig, InMemoryClusterStore, memberWithKey, ROUTE_TABLES, storeWithCluster } from '../support/in-memory-cluster-store';
import { REPMGR_SYSTEM_ID } from '../support/peers';

const NOW = new Date('2026-11-22T02:30:00.000Z');
const clock = () => NOW;

const primaryOn = (timeline: number): NodeFacts => ({ inRecovery: false, timeline, lsn: '0/5053510', systemIdentifier: REPMGR_SYSTEM_ID });

/** A repmgr call from `nodeN` with the captured argv shape. */
function repmgrEvent(node: string, type: string, facts: NodeFacts | null, id = `${node}-${type}`): VipEvent {
  const n = node.replace('node', '');
  return buildEvent('repmgr', [n, type, '1', '2026-11-22 02:20:00.000001+00', '', '', '', '', '%r', '%m', '%z', '%'], { cluster: 'pg-main', node }, facts, NOW, id);
}

/** Ingest one event the way the API does (read, then processEvent), so the stream holds what a real commit writes. */
async function ingest(store: InMemoryClusterStore, event: VipEvent): Promise<void> {
  const loaded = (await store.loadCluster(event.cluster))!;
  await processEvent({ store, now: clock }, { event, loaded, replay: null });
}

/** A stream record (images as the handler unmarshalls them: keys included). */
function change(sequence: string, pk: string, sk: string, old: Record<string, unknown> | null, next: Record<string, unknown> | null): StateChange {
  return { sequence, pk, sk, old: old && { pk, sk, ...old }, new: next && { pk, sk, ...next } };
}

const STATE = { cluster: 'pg-main', tool: 'repmgr', endpoints: { routeTables: ROUTE_TABLES }, primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 0 };
const NODE2 = { name: 'node2', eni: 'eni-node2', privateIp: '10.0.1.2', fenced: false, health: 'replica' };

function journalItem(eventId: string, flags: { page?: boolean; fence?: boolean } = {}): Record<string, unknown> {
  const entry: Partial<JournalEntry> = { cluster: 'pg-main', eventId, node: 'node2', outcome: 'stale_claim', ...flags };
  return { entry, ...(flags.page ? { page: true } : {}), ...(flags.fence ? { fence: true } : {}) };
}

describe('planWork', () => {
  it('an epoch change asks to converge', () => {
    const work = planWork([change('1', 'CLUSTER#pg-main', '#STATE', STATE, { ...STATE, primary: 'node2', timeline: 2, epoch: 2 })]);
    expect(work).toEqual([{ cluster: 'pg-main', converge: true, convergeSequence: '1', entries: [] }]);
  });

  it("an appliedEpoch-only change (the actuator's own write) asks for nothing: no self-trigger", () => {
    expect(planWork([change('1', 'CLUSTER#pg-main', '#STATE', STATE, { ...STATE, appliedEpoch: 1, appliedAt: NOW.toISOString() })])).toEqual([]);
  });

  it('new endpoint settings (an apply) ask to converge; a re-apply of the same settings does not', () => {
    const moved = planWork([change('1', 'CLUSTER#pg-main', '#STATE', STATE, { ...STATE, endpoints: { elasticIp: { allocationId: 'eipalloc-0123456789abcdef0' } } })]);
    const same = planWork([change('2', 'CLUSTER#pg-main', '#STATE', STATE, { ...STATE, updatedAt: NOW.toISOString(), dryRun: true })]);
    expect(moved).toEqual([{ cluster: 'pg-main', converge: true, convergeSequence: '1', entries: [] }]);
    expect(same).toEqual([]);
  });

  it('a newly registered cluster asks to converge (nothing to move until a primary is known)', () => {
    expect(planWork([change('1', 'CLUSTER#pg-main', '#STATE', null, STATE)])).toEqual([{ cluster: 'pg-main', converge: true, convergeSequence: '1', entries: [] }]);
  });

  it.each([
    ['health', { health: 'failed' }],
    ['ENI', { eni: 'eni-other' }],
    ['private address', { privateIp: '10.0.1.22' }],
    ['fencing', { fenced: true }],
  ])("a member's %s change asks to converge (the reader set, or the primary's address)", (_, patch) => {
    expect(planWork([change('7', 'CLUSTER#pg-main', 'NODE#node2', NODE2, { ...NODE2, ...patch })])).toEqual([{ cluster: 'pg-main', converge: true, convergeSequence: '7', entries: [] }]);
  });

  it('a member registered, or only its healthAt rewritten, asks for nothing', () => {
    expect(planWork([change('1', 'CLUSTER#pg-main', 'NODE#node4', null, { ...NODE2, name: 'node4' })])).toEqual([]);
    expect(planWork([change('2', 'CLUSTER#pg-main', 'NODE#node2', NODE2, { ...NODE2, healthAt: NOW.toISOString() })])).toEqual([]);
  });

  it('a journal entry inserted with page or fence is handed over, in order; plain and modified entries are not', () => {
    // Arrange
    const paged = journalItem('e1', { page: true });
    const fenced = journalItem('e2', { page: true, fence: true });
    const fenceOnly = journalItem('e3', { fence: true });

    // Act
    const work = planWork([
      change('1', 'JOURNAL#pg-main', '2026-11-22T02:30:00.000Z#e1#stale_claim', null, paged),
      change('2', 'JOURNAL#pg-main', '2026-11-22T02:30:00.000Z#e0#ignored', null, journalItem('e0')),
      change('3', 'JOURNAL#pg-main', '2026-11-22T02:30:00.000Z#e2#stale_claim', null, fenced),
      change('4', 'JOURNAL#pg-main', '2026-11-22T02:30:00.000Z#e1#stale_claim', paged, { ...paged, expiresAt: 1 }),
      change('5', 'JOURNAL#pg-main', '2026-11-22T02:30:00.000Z#e3#stale_claim', null, fenceOnly),
    ]);

    // Assert
    expect(work).toEqual([
      {
        cluster: 'pg-main',
        converge: false,
        convergeSequence: null,
        entries: [
          { sequence: '1', entry: paged.entry },
          { sequence: '3', entry: fenced.entry },
          { sequence: '5', entry: fenceOnly.entry },
        ],
      },
    ]);
  });

  it('the rest of the table (replay guards, event ids, target status, page ledger, removals) asks for nothing', () => {
    expect(
      planWork([
        change('1', 'REPLAY#abc', 'REPLAY', null, { expiresAt: 1 }),
        change('2', 'EVENT#pg-main#e1', 'EVENT', null, { payloadHash: 'h', answer: { status: 202 } }),
        change('3', 'CLUSTER#pg-main', '#TARGETS', null, { status: { epoch: 2, phase: 'converging' } }),
        change('4', 'CLUSTER#pg-main', '#TARGETS', { status: { epoch: 2, phase: 'converging' } }, { status: { epoch: 2, phase: 'converged' } }),
        change('5', 'PAGE#pg-main|stale_claim|node2', 'PAGE', null, { lastSentAt: 1, suppressed: 0 }),
        change('6', 'CLUSTER#pg-main', '#STATE', STATE, null),
        change('7', 'CLUSTER#pg-main', 'NODE#node2', NODE2, null),
      ]),
    ).toEqual([]);
  });

  it('convergeSequence is the first record that asked; clusters are kept apart', () => {
    // Act
    const work = planWork([
      change('10', 'JOURNAL#pg-main', 'x#e1#stale_claim', null, journalItem('e1', { page: true })),
      change('11', 'CLUSTER#pg-main', '#STATE', STATE, { ...STATE, appliedEpoch: 1 }),
      change('12', 'CLUSTER#pg-other', 'NODE#node2', NODE2, { ...NODE2, health: 'failed' }),
      change('13', 'CLUSTER#pg-main', '#STATE', STATE, { ...STATE, epoch: 2 }),
      change('14', 'CLUSTER#pg-main', 'NODE#node2', NODE2, { ...NODE2, health: 'failed' }),
      change('15', 'CLUSTER#pg-other', '#STATE', STATE, { ...STATE, epoch: 5 }),
    ]);

    // Assert
    expect(work).toEqual([
      { cluster: 'pg-main', converge: true, convergeSequence: '13', entries: [{ sequence: '10', entry: expect.objectContaining({ eventId: 'e1' }) }] },
      { cluster: 'pg-other', converge: true, convergeSequence: '12', entries: [] },
    ]);
  });

  describe('on what the store really writes (its stream)', () => {
    it('a committed claim asks to converge from the state record; nothing else of the transaction asks', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock });

      // Act
      await ingest(store, repmgrEvent('node1', 'cluster_created', primaryOn(1)));
      const batch = store.takeChanges();

      // Assert
      const state = batch.find((c) => c.sk === '#STATE')!;
      expect(batch.map((c) => c.pk.split('#')[0])).toEqual(['EVENT', 'JOURNAL', 'CLUSTER', 'CLUSTER']);
      expect(planWork(batch)).toEqual([{ cluster: 'pg-main', converge: true, convergeSequence: state.sequence, entries: [] }]);
    });

    it("the actuator's own writes (target status, appliedEpoch) ask for nothing", async () => {
      // Arrange: a committed claim, then a convergence (converging, moved, applied, converged)
      const store = await storeWithCluster({ now: clock });
      await ingest(store, repmgrEvent('node1', 'cluster_created', primaryOn(1)));
      await reactToChanges(fakes(store).deps, store.takeChanges());

      // Act
      const own = store.takeChanges();

      // Assert
      expect(own.map((c) => c.sk)).toEqual(['#TARGETS', '#STATE', '#TARGETS']);
      expect(planWork(own)).toEqual([]);
    });

    it('a stale claim hands its journal entry over with its flags; a standby becoming a replica asks to converge', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock, config: { fencing: 'stop-instance' }, state: { primary: 'node1', timeline: 3, epoch: 3, appliedEpoch: 3, systemIdentifier: REPMGR_SYSTEM_ID } });
      await store.setNodeHealth('pg-main', 'node2', 'primary'); // it was the primary before
      store.takeChanges();

      // Act
      await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));
      const work = planWork(store.takeChanges());

      // Assert: node2's health primary → failed is a member change (it must leave the reader set)
      expect(work).toEqual([{ cluster: 'pg-main', converge: true, convergeSequence: expect.any(String), entries: [{ sequence: expect.any(String), entry: expect.objectContaining({ outcome: 'stale_claim', page: true, fence: true }) }] }]);
    });
  });
});

// ---- fakes for reactToChanges -----------------------------------------------------------------------------------------

/**
 * Route tables as EC2 holds them, and an actuator over them that observes, compares and acts (asking the guard right
 * before each mutation), as the real ones do. `failing` targets report `failed`.
 */
class FakeRouteActuator implements EndpointActuator {
  readonly routes = new Map<string, string>();
  readonly failing = new Set<string>();
  readonly calls: { primary: string; replicas: string[] }[] = [];

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: PointAtOptions = {}): Promise<ActionReport[]> {
    this.calls.push({ primary: target.primary.name, replicas: target.replicas.map((r) => r.name) });
    const reports: ActionReport[] = [];
    for (const id of endpoints.routeTables?.routeTableIds ?? []) {
      const name = `${id} ${endpoints.routeTables!.vip}/32`;
      const to = target.primary.eni;
      const from = this.routes.get(id) ?? null;
      if (from === to) {
        reports.push({ mechanism: 'route_table', target: name, to, from, result: 'in_place' });
      } else if (options.guard && !(await options.guard())) {
        reports.push({ mechanism: 'route_table', target: name, to, from, result: 'superseded' });
      } else if (this.failing.has(id)) {
        reports.push({ mechanism: 'route_table', target: name, to, from, result: 'failed', error: { code: 'UnauthorizedOperation', message: 'not allowed' } });
      } else {
        this.routes.set(id, to);
        reports.push({ mechanism: 'route_table', target: name, to, from, result: 'moved', verified: true, observedAfter: to });
      }
    }
    return reports;
  }
}

class RecordingAlerter implements Alerter {
  readonly pages: Page[] = [];
  async page(page: Page): Promise<void> {
    this.pages.push(page);
  }
}

class FakeFencer implements InstanceFencer {
  readonly stopped: string[] = [];
  fail = false;
  async stop(instanceId: string) {
    this.stopped.push(instanceId);
    return this.fail ? ({ ok: false, error: { code: 'IncorrectInstanceState', message: 'instance is terminating' } } as const) : ({ ok: true, state: 'stopping' } as const);
  }
}

function fakes(store: InMemoryClusterStore) {
  const actuator = new FakeRouteActuator();
  const alerter = new RecordingAlerter();
  const fencer = new FakeFencer();
  const deps: ReactDeps = { store, actuator, alerter, fencer, now: clock };
  return { deps, actuator, alerter, fencer };
}

const fencingActions = async (store: InMemoryClusterStore) => (await store.readJournal('pg-main', 100)).filter((e) => e.outcome === 'fencing_action');

describe('reactToChanges', () => {
  /** node1 primary on TL3 at epoch 3, the route tables already on node1. */
  async function converged(config: Parameters<typeof clusterConfig>[0] = {}, nodes = ['node1', 'node2', 'node3'].map((n) => memberWithKey(n))) {
    const store = await storeWithCluster({ now: clock, config, nodes, state: { primary: 'node1', timeline: 3, epoch: 3, appliedEpoch: 3, systemIdentifier: REPMGR_SYSTEM_ID } });
    const f = fakes(store);
    for (const id of ROUTE_TABLES.routeTableIds) f.actuator.routes.set(id, 'eni-node1');
    return { store, ...f };
  }

  it('moves the endpoint to a committed claim, records appliedEpoch and the converged status, pages nothing', async () => {
    // Arrange
    const { store, deps, actuator, alerter } = await converged();
    await ingest(store, repmgrEvent('node2', 'standby_promote', primaryOn(4)));

    // Act
    const [outcome] = await reactToChanges(deps, store.takeChanges());

    // Assert
    expect(outcome).toMatchObject({ cluster: 'pg-main', retryFrom: null, result: { epoch: 4, primary: 'node2', converged: true } });
    expect([...actuator.routes.values()]).toEqual(['eni-node2', 'eni-node2']);
    const loaded = await store.loadCluster('pg-main');
    expect(loaded?.record.state).toMatchObject({ epoch: 4, appliedEpoch: 4 });
    expect(loaded?.targets).toMatchObject({ epoch: 4, primary: 'node2', phase: 'converged' });
    expect(alerter.pages).toEqual([]);
  });

  it('pages each flagged entry once, in order, without moving anything', async () => {
    // Arrange: a fault, an unverified claim, a stale claim, and an informational event (not flagged)
    const { store, deps, actuator, alerter } = await converged();
    await ingest(store, repmgrEvent('node3', 'repmgrd_failover_aborted', null));
    await ingest(store, repmgrEvent('node3', 'standby_promote', null));
    await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));
    await ingest(store, repmgrEvent('node3', 'standby_follow', { ...primaryOn(3), inRecovery: true }));

    // Act
    const outcomes = await reactToChanges(deps, store.takeChanges());

    // Assert
    expect(alerter.pages.map((p) => [p.type, p.severity, p.details?.node])).toEqual([
      ['repmgrd_failover_aborted', 'critical', 'node3'],
      ['unverified_claim', 'critical', 'node3'],
      ['stale_claim', 'critical', 'node2'],
    ]);
    // the health changes (node3 failed, node2 failed, node3 replica) make it converge, and the endpoint stays on node1
    expect(outcomes).toMatchObject([{ cluster: 'pg-main', retryFrom: null, result: { epoch: 3, primary: 'node1', converged: true } }]);
    expect([...actuator.routes.values()]).toEqual(['eni-node1', 'eni-node1']);
  });

  it('fences the node of a stale claim (stop-instance), journals the action and says so in the page', async () => {
    // Arrange
    const { store, deps, fencer, alerter } = await converged({ fencing: 'stop-instance' });
    await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));

    // Act
    await reactToChanges(deps, store.takeChanges());

    // Assert
    expect(fencer.stopped).toEqual(['i-node2']);
    expect(await fencingActions(store)).toEqual([
      expect.objectContaining({ node: 'node2', type: 'stop_instance', reason: 'stopped i-node2 (node2) after its stale claim', details: { policy: 'stop-instance', result: 'stopped', instanceId: 'i-node2', state: 'stopping' } }),
    ]);
    expect(alerter.pages).toHaveLength(1);
    expect(alerter.pages[0]).toMatchObject({ type: 'stale_claim', details: { fencing: { result: 'stopped', instanceId: 'i-node2' } } });
  });

  it('a failed stop is journaled and paged as failed', async () => {
    const { store, deps, fencer, alerter } = await converged({ fencing: 'stop-instance' });
    fencer.fail = true;
    await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));
    await reactToChanges(deps, store.takeChanges());
    expect(await fencingActions(store)).toEqual([expect.objectContaining({ reason: 'could not stop i-node2: IncorrectInstanceState', details: expect.objectContaining({ result: 'failed' }) })]);
    expect(alerter.pages[0]).toMatchObject({ type: 'stale_claim', details: { fencing: { result: 'failed' } } });
  });

  it('never fences the current primary: a stale claimant that won since is skipped (read again before the stop)', async () => {
    // Arrange: node2's stale claim is committed, then node2 is legitimately promoted before the actuator runs
    const { store, deps, fencer, actuator } = await converged({ fencing: 'stop-instance' });
    await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));
    await ingest(store, repmgrEvent('node2', 'standby_promote', primaryOn(4)));

    // Act
    await reactToChanges(deps, store.takeChanges());

    // Assert
    expect(fencer.stopped).toEqual([]);
    expect(await fencingActions(store)).toEqual([expect.objectContaining({ reason: 'not fenced: node2 is the current primary', details: { policy: 'stop-instance', result: 'skipped', why: 'node is the current primary' } })]);
    expect([...actuator.routes.values()]).toEqual(['eni-node2', 'eni-node2']);
  });

  it('never stops a node without an instance id (registered without one since the claim)', async () => {
    // Arrange
    const { store, deps, fencer } = await converged({ fencing: 'stop-instance' });
    await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));
    await store.applyCluster(clusterConfig({ fencing: 'stop-instance' }), null, [memberWithKey('node1'), memberWithKey('node2', { instanceId: null }), memberWithKey('node3')]);

    // Act
    await reactToChanges(deps, store.takeChanges());

    // Assert
    expect(fencer.stopped).toEqual([]);
    expect(await fencingActions(store)).toEqual([expect.objectContaining({ details: { policy: 'stop-instance', result: 'skipped', why: 'no instanceId registered' } })]);
  });

  it('with policy alert nothing is stopped and nothing is journaled besides the claim', async () => {
    const { store, deps, fencer, alerter } = await converged();
    await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)));
    await reactToChanges(deps, store.takeChanges());
    expect(fencer.stopped).toEqual([]);
    expect(await fencingActions(store)).toEqual([]);
    expect(alerter.pages.map((p) => p.type)).toEqual(['stale_claim']);
  });

  it('a failed move reports retryFrom (the first record that asked) and pages actuation_failed', async () => {
    // Arrange
    const { store, deps, actuator, alerter } = await converged();
    actuator.failing.add(ROUTE_TABLES.routeTableIds[1]!);
    await ingest(store, repmgrEvent('node2', 'standby_promote', primaryOn(4)));
    const batch = store.takeChanges();
    const asked = planWork(batch)[0]!.convergeSequence;

    // Act
    const [outcome] = await reactToChanges(deps, batch);

    // Assert
    expect(outcome).toMatchObject({ cluster: 'pg-main', retryFrom: asked, result: { epoch: 4, primary: 'node2', converged: false } });
    expect(asked).not.toBeNull();
    expect(alerter.pages).toEqual([
      expect.objectContaining({ type: 'actuation_failed', severity: 'critical', message: expect.stringContaining(`${ROUTE_TABLES.routeTableIds[1]} ${ROUTE_TABLES.vip}/32: UnauthorizedOperation`), details: expect.objectContaining({ epoch: 4 }) }),
    ]);
    const loaded = await store.loadCluster('pg-main');
    expect(loaded?.record.state).toMatchObject({ epoch: 4, appliedEpoch: 3 });
    expect(loaded?.targets).toMatchObject({ epoch: 4, phase: 'failed' });
  });

  it('after a failed move, the primary re-asserting commits again and the next pass converges', async () => {
    // Arrange: the move to node2 failed once
    const { store, deps, actuator } = await converged();
    actuator.failing.add(ROUTE_TABLES.routeTableIds[1]!);
    await ingest(store, repmgrEvent('node2', 'standby_promote', primaryOn(4)));
    await reactToChanges(deps, store.takeChanges());
    actuator.failing.clear();

    // Act: node2's repmgrd reports again, out of recovery on TL4
    await ingest(store, repmgrEvent('node2', 'repmgrd_reload', primaryOn(4)));
    const [outcome] = await reactToChanges(deps, store.takeChanges());

    // Assert
    expect(outcome).toMatchObject({ retryFrom: null, result: { epoch: 5, primary: 'node2', converged: true } });
    expect((await store.getCluster('pg-main'))?.state).toMatchObject({ epoch: 5, appliedEpoch: 5 });
  });

  it('a batch with nothing to do touches neither the actuator nor the alerter', async () => {
    const { store, deps, actuator, alerter } = await converged();
    await ingest(store, repmgrEvent('node1', 'repmgrd_reload', primaryOn(3))); // re-assertion, converged: ignored
    const outcomes = await reactToChanges(deps, store.takeChanges());
    expect(outcomes).toEqual([]);
    expect(actuator.calls).toEqual([]);
    expect(alerter.pages).toEqual([]);
  });

  it('clusters of one batch are handled each on its own', async () => {
    // Arrange: a second cluster with its own claim; pg-main's move fails
    const { store, deps, actuator } = await converged();
    await store.applyCluster(clusterConfig({ cluster: 'pg-other', endpoints: { routeTables: { vip: '10.1.255.10', routeTableIds: ['rtb-0aaaaaaaaaaaaaaaa'] } } }), null, [memberWithKey('node1', { cluster: 'pg-other', eni: 'eni-other1' })]);
    store.takeChanges();
    actuator.failing.add(ROUTE_TABLES.routeTableIds[0]!);
    await ingest(store, repmgrEvent('node2', 'standby_promote', primaryOn(4)));
    await ingest(store, { ...repmgrEvent('node1', 'cluster_created', primaryOn(1)), cluster: 'pg-other' });

    // Act
    const outcomes = await reactToChanges(deps, store.takeChanges());

    // Assert
    expect(outcomes).toEqual([
      expect.objectContaining({ cluster: 'pg-main', retryFrom: expect.any(String), result: expect.objectContaining({ converged: false }) }),
      expect.objectContaining({ cluster: 'pg-other', retryFrom: null, result: expect.objectContaining({ converged: true, primary: 'node1' }) }),
    ]);
    expect(actuator.routes.get('rtb-0aaaaaaaaaaaaaaaa')).toBe('eni-other1');
  });
});
