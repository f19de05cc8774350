import { processEvent, type EventAnswer } from '../../shared/app/process-event';
import type { ClusterConfig } from '../../shared/domain/cluster';
import { AuthenticationError, ConflictError } from '../../shared/domain/errors';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import type { EventWrite, JournalEntry, TargetStatus } from '../../shared/ports/cluster-store';
import { buildEvent } from '../../shared/protocol/build-event';
import { clusterConfig, InMemoryClusterStore, memberWithKey, ROUTE_TABLES, storeWithCluster } from '../support/in-memory-cluster-store';
import { loadRepmgrInvocations, PATRONI_SYSTEM_ID, REPMGR_SYSTEM_ID } from '../support/peers';

const NOW = new Date('2026-11-22T02:30:00.000Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const clock = () => NOW;
const captures = loadRepmgrInvocations();

const primaryOn = (timeline: number, systemIdentifier: string | null = REPMGR_SYSTEM_ID): NodeFacts => ({ inRecovery: false, timeline, lsn: '0/5053510', systemIdentifier });
const standbyOn = (timeline: number): NodeFacts => ({ inRecovery: true, timeline, lsn: '0/5053510', systemIdentifier: REPMGR_SYSTEM_ID });

/** A captured repmgr invocation, as the hook sends it (its own facts unless others are given). */
function captured(index: number, options: { id?: string; facts?: NodeFacts | null } = {}): VipEvent {
  const c = captures[index]!;
  return buildEvent('repmgr', c.args, { cluster: 'pg-main', node: c.node }, options.facts === undefined ? c.facts : options.facts, NOW, options.id ?? `capture-${index}`);
}

/** A repmgr call from `nodeN` with the captured argv shape. */
function repmgrEvent(node: string, type: string, facts: NodeFacts | null, id = `${node}-${type}`): VipEvent {
  const n = node.replace('node', '');
  return buildEvent('repmgr', [n, type, '1', '2026-11-22 02:20:00.000001+00', '', '', '', '', '%r', '%m', '%z', '%'], { cluster: 'pg-main', node }, facts, NOW, id);
}

let signatures = 0;
/** A fresh request signature's replay guard (every send, resends included, is signed anew). */
const freshReplay = () => ({ digest: `digest-${++signatures}`, expiresAt: NOW_SECONDS + 301 });

/** What the ingest handler does after `authenticate` (which made the one read): process the event on what it read. */
async function ingest(store: InMemoryClusterStore, event: VipEvent, options: { dryRun?: boolean; replay?: { digest: string; expiresAt: number } | null } = {}): Promise<EventAnswer> {
  const loaded = await store.loadCluster(event.cluster);
  if (loaded === null) throw new Error('test cluster not registered');
  store.resetCalls();
  return processEvent({ store, now: clock }, { event, loaded, replay: options.replay === undefined ? freshReplay() : options.replay }, { dryRun: options.dryRun });
}

/** The cluster as the repmgr capture leaves it: node1 primary on timeline 3, epoch 3, the move converged. */
const CONVERGED_TL3 = { primary: 'node1', timeline: 3, epoch: 3, appliedEpoch: 3, systemIdentifier: REPMGR_SYSTEM_ID };

async function journalOf(store: InMemoryClusterStore): Promise<JournalEntry[]> {
  return store.readJournal('pg-main', 100);
}

const healthOf = async (store: InMemoryClusterStore, node: string) => (await store.getNode('pg-main', node))?.health;

describe('processEvent', () => {
  describe('an accepted claim', () => {
    it('answers 202 with the epoch at once, in one transaction (the hot path: no other store call)', async () => {
      // Arrange: a new cluster; node1's cluster_created, out of recovery on TL1
      const store = await storeWithCluster({ now: clock });

      // Act
      const answer = await ingest(store, captured(0));

      // Assert
      expect(answer).toEqual({
        status: 202,
        body: { code: 'accepted', decision: 'accepted', message: expect.stringContaining('committed at epoch 1'), epoch: 1, primary: 'node1', timeline: 1, actuation: 'pending' },
      });
      expect(answer.body).not.toHaveProperty('actions');
      expect(answer.body).not.toHaveProperty('converged');
      expect(store.calls).toEqual({ recordEvent: 1 });
    });

    it('commits the fencing record, the primary health, the journal entry once, the event id and the replay guard', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock });
      const replay = freshReplay();

      // Act
      await ingest(store, captured(0), { replay });

      // Assert
      const record = await store.getCluster('pg-main');
      expect(record?.state).toMatchObject({ primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 0, systemIdentifier: REPMGR_SYSTEM_ID });
      expect(await healthOf(store, 'node1')).toBe('primary');
      const journal = await journalOf(store);
      expect(journal).toHaveLength(1);
      expect(journal[0]).toMatchObject({ eventId: 'capture-0', node: 'node1', type: 'cluster_created', outcome: 'accepted', epoch: 1, details: { previousPrimary: null, kind: 'claim' } });
      expect(journal[0]).not.toHaveProperty('page');
      expect(store.item('EVENT#pg-main#capture-0', 'EVENT')).toMatchObject({ answer: { status: 202, body: { code: 'accepted', epoch: 1 } } });
      expect(store.item(`REPLAY#${replay.digest}`, 'REPLAY')).toMatchObject({ expiresAt: replay.expiresAt });
    });

    it('a promotion supersedes the recorded primary (epoch + 1), naming the previous primary for the actuator', async () => {
      // Arrange: node1 primary on TL1 at epoch 1
      const store = await storeWithCluster({ now: clock, state: { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });

      // Act: node2's captured standby_promote (TL2)
      const answer = await ingest(store, captured(14));

      // Assert
      expect(answer).toMatchObject({ status: 202, body: { epoch: 2, primary: 'node2', timeline: 2 } });
      expect(store.calls).toEqual({ recordEvent: 1 });
      expect((await store.getCluster('pg-main'))?.state).toMatchObject({ primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 1 });
      expect((await journalOf(store))[0]).toMatchObject({ outcome: 'accepted', epoch: 2, details: { previousPrimary: 'node1', kind: 'claim' } });
    });
  });

  describe('an ignored event', () => {
    it("records a standby's health when it changed (unknown → replica), in the same single transaction", async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock, state: { primary: 'node1', timeline: 1, epoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
      const recordEvent = jest.spyOn(store, 'recordEvent');

      // Act: node2's standby_register, in recovery
      const answer = await ingest(store, captured(3));

      // Assert
      expect(answer).toEqual({ status: 200, body: { code: 'ignored', decision: 'ignored', message: expect.any(String), kind: 'informational' } });
      expect(recordEvent.mock.calls[0]![0]).toMatchObject({ health: 'replica' });
      expect(store.calls).toEqual({ recordEvent: 1 });
      expect(recordEvent.mock.calls[0]![0]).not.toHaveProperty('claim');
      expect(await healthOf(store, 'node2')).toBe('replica');
    });

    it('sends no health when it did not change (no write known to change nothing)', async () => {
      // Arrange: node2 already a replica
      const store = await storeWithCluster({ now: clock, state: { primary: 'node1', timeline: 1, epoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
      await ingest(store, captured(3));
      const recordEvent = jest.spyOn(store, 'recordEvent');
      store.takeChanges();

      // Act: node2's standby_register_sync, in recovery again
      const answer = await ingest(store, captured(4));

      // Assert
      expect(answer.status).toBe(200);
      const write = recordEvent.mock.calls[0]![0] as EventWrite;
      expect(write).not.toHaveProperty('health');
      expect(write.entry).toMatchObject({ eventId: 'capture-4', outcome: 'ignored' });
      expect(store.takeChanges().filter((c) => c.sk.startsWith('NODE#'))).toEqual([]);
    });

    it('a fault is journaled for a page and marks the node failed', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock, state: CONVERGED_TL3 });

      // Act: node3's captured standby_failure (probe failed: no facts)
      const answer = await ingest(store, captured(33));

      // Assert
      expect(answer).toMatchObject({ status: 200, body: { code: 'ignored', kind: 'fault' } });
      expect((await journalOf(store))[0]).toMatchObject({ eventId: 'capture-33', outcome: 'ignored', page: true });
      expect(await healthOf(store, 'node3')).toBe('failed');
    });

    it('an informational event is journaled without a page', async () => {
      const store = await storeWithCluster({ now: clock, state: CONVERGED_TL3 });
      await ingest(store, captured(27)); // node3 standby_follow
      const [entry] = await journalOf(store);
      expect(entry).toMatchObject({ outcome: 'ignored' });
      expect(entry).not.toHaveProperty('page');
      expect(entry).not.toHaveProperty('fence');
    });
  });

  describe('the recorded primary re-asserting on its own timeline', () => {
    it('with the endpoint converged: 200 ignored (kind reassertion), no epoch bump, no health write', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock, state: CONVERGED_TL3 });
      await store.recordTargets('pg-main', targets(3, 'converged'));
      store.resetCalls();
      const recordEvent = jest.spyOn(store, 'recordEvent');

      // Act: node1's captured repmgrd_reload on TL3
      const answer = await ingest(store, captured(26));

      // Assert
      expect(answer).toMatchObject({ status: 200, body: { code: 'ignored', decision: 'ignored', kind: 'reassertion' } });
      expect(await store.currentEpoch('pg-main')).toBe(3);
      const write = recordEvent.mock.calls[0]![0] as EventWrite;
      expect(write).not.toHaveProperty('claim');
      expect(write).not.toHaveProperty('health');
      expect(store.takeChanges().filter((c) => c.sk === '#STATE')).toEqual([]);
    });

    it('after the move for the current epoch failed: 202 accepted at epoch + 1, so the actuator tries again', async () => {
      // Arrange: epoch 3 committed, its move failed (appliedEpoch still 2)
      const store = await storeWithCluster({ now: clock, state: { ...CONVERGED_TL3, appliedEpoch: 2 } });
      await store.recordTargets('pg-main', targets(3, 'failed'));

      // Act
      const answer = await ingest(store, captured(26));

      // Assert
      expect(answer).toMatchObject({ status: 202, body: { code: 'accepted', epoch: 4, primary: 'node1', timeline: 3 } });
      expect((await store.getCluster('pg-main'))?.state).toMatchObject({ primary: 'node1', timeline: 3, epoch: 4, appliedEpoch: 2 });
      expect((await journalOf(store))[0]).toMatchObject({ outcome: 'accepted', epoch: 4, details: { kind: 'reassertion', previousPrimary: 'node1' } });
    });
  });

  describe('a stale claim', () => {
    /** node2, restarted without rejoin, reports repmgrd_start out of recovery on its old timeline 2. */
    const oldPrimary = () => repmgrEvent('node2', 'repmgrd_start', primaryOn(2));

    it('answers 409 with the current holder and the fencing plan, journaled for a page, the node marked failed', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock, state: CONVERGED_TL3 });

      // Act
      const answer = await ingest(store, oldPrimary());

      // Assert
      expect(answer).toEqual({
        status: 409,
        body: { code: 'stale_claim', decision: 'rejected', message: expect.stringContaining('possible split brain'), primary: 'node1', timeline: 3, epoch: 3, fencing: { policy: 'alert' } },
      });
      expect(store.calls).toEqual({ recordEvent: 1 });
      const [entry] = await journalOf(store);
      expect(entry).toMatchObject({ outcome: 'stale_claim', epoch: 3, page: true, details: { current: { primary: 'node1', timeline: 3, epoch: 3 }, claimedTimeline: 2, fencing: { policy: 'alert' } } });
      expect(entry).not.toHaveProperty('fence');
      expect(await healthOf(store, 'node2')).toBe('failed');
      expect((await store.getCluster('pg-main'))?.state).toMatchObject(CONVERGED_TL3);
    });

    it('with policy stop-instance and an instance id: the stop is scheduled and the entry flagged fence', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock, config: { fencing: 'stop-instance' }, state: CONVERGED_TL3 });

      // Act
      const answer = await ingest(store, oldPrimary());

      // Assert
      expect(answer).toMatchObject({ status: 409, body: { code: 'stale_claim', fencing: { policy: 'stop-instance', result: 'scheduled', instanceId: 'i-node2' } } });
      expect((await journalOf(store))[0]).toMatchObject({ outcome: 'stale_claim', page: true, fence: true });
    });

    it('with policy stop-instance but no instance id: skipped, paged, not flagged fence', async () => {
      const store = await storeWithCluster({
        now: clock,
        config: { fencing: 'stop-instance' },
        nodes: [memberWithKey('node1'), memberWithKey('node2', { instanceId: null }), memberWithKey('node3')],
        state: CONVERGED_TL3,
      });
      const answer = await ingest(store, oldPrimary());
      expect(answer).toMatchObject({ status: 409, body: { fencing: { policy: 'stop-instance', result: 'skipped', why: 'no instanceId registered' } } });
      const [entry] = await journalOf(store);
      expect(entry).toMatchObject({ page: true });
      expect(entry).not.toHaveProperty('fence');
    });

    it.each([
      ['an older timeline from the current primary', memberWithKey('node1'), () => repmgrEvent('node1', 'repmgrd_start', primaryOn(2))],
      ['the current primary, fenced since', memberWithKey('node1', { fenced: true }), () => captured(26)],
    ])('is never fenced when it comes from the current primary: %s', async (_, node1, event) => {
      // Arrange
      const store = await storeWithCluster({ now: clock, config: { fencing: 'stop-instance' }, nodes: [node1, memberWithKey('node2'), memberWithKey('node3')], state: CONVERGED_TL3 });

      // Act
      const answer = await ingest(store, event());

      // Assert
      expect(answer).toMatchObject({ status: 409, body: { code: 'stale_claim', primary: 'node1', fencing: { policy: 'stop-instance', result: 'skipped', why: 'node is the current primary' } } });
      const [entry] = await journalOf(store);
      expect(entry).toMatchObject({ outcome: 'stale_claim', page: true });
      expect(entry).not.toHaveProperty('fence');
    });
  });

  describe('a claim that cannot be verified', () => {
    it('without facts: 409 unverified_claim, journaled for a page, nothing else changed', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock, state: CONVERGED_TL3 });
      const recordEvent = jest.spyOn(store, 'recordEvent');

      // Act: node3's standby_promote whose probe failed
      const answer = await ingest(store, repmgrEvent('node3', 'standby_promote', null));

      // Assert
      expect(answer).toEqual({ status: 409, body: { code: 'unverified_claim', decision: 'rejected', message: expect.stringContaining('no facts') } });
      expect((await journalOf(store))[0]).toMatchObject({ outcome: 'unverified_claim', page: true });
      expect(recordEvent.mock.calls[0]![0]).not.toHaveProperty('claim');
      expect(recordEvent.mock.calls[0]![0]).not.toHaveProperty('health');
      expect((await store.getCluster('pg-main'))?.state).toMatchObject(CONVERGED_TL3);
    });

    it("with another cluster's system identifier: 409 system_identifier_mismatch, journaled for a page with both identifiers", async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock, state: CONVERGED_TL3 });

      // Act
      const answer = await ingest(store, repmgrEvent('node3', 'standby_promote', primaryOn(9, PATRONI_SYSTEM_ID)));

      // Assert
      expect(answer).toMatchObject({ status: 409, body: { code: 'system_identifier_mismatch', decision: 'rejected' } });
      expect((await journalOf(store))[0]).toMatchObject({ outcome: 'system_identifier_mismatch', page: true, details: { expected: REPMGR_SYSTEM_ID, got: PATRONI_SYSTEM_ID } });
      expect(await healthOf(store, 'node3')).toBe('failed');
      expect((await store.getCluster('pg-main'))?.state).toMatchObject(CONVERGED_TL3);
    });
  });

  describe('the same event again', () => {
    it('same id, same body (a resend, signed anew): 200 duplicate with the first answer, nothing written', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock });
      const first = await ingest(store, captured(0));
      const before = store.items();
      store.takeChanges();

      // Act
      const again = await ingest(store, captured(0));

      // Assert
      expect(again).toEqual({ status: 200, body: { code: 'duplicate', decision: 'duplicate', message: expect.any(String), first: { status: first.status, body: first.body } } });
      expect(store.items()).toEqual(before);
      expect(store.takeChanges()).toEqual([]);
      expect(store.calls).toEqual({ recordEvent: 1 });
    });

    it('a duplicate of a stale claim answers the first 409 again, without a second page', async () => {
      const store = await storeWithCluster({ now: clock, state: CONVERGED_TL3 });
      const event = repmgrEvent('node2', 'repmgrd_start', primaryOn(2));
      const first = await ingest(store, event);
      const again = await ingest(store, event);
      expect(again).toMatchObject({ status: 200, body: { code: 'duplicate', first: { status: 409, body: { code: 'stale_claim' } } } });
      expect(first.status).toBe(409);
      expect(await journalOf(store)).toHaveLength(1);
    });

    it('same id, another body: ConflictError event_id_reused, nothing written', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock });
      await ingest(store, captured(0));
      const before = store.items();
      const edited = { ...captured(0), details: 'edited after the first send' };

      // Act
      const result = ingest(store, edited);

      // Assert
      await expect(result).rejects.toBeInstanceOf(ConflictError);
      await expect(result).rejects.toMatchObject({ status: 409, code: 'event_id_reused' });
      expect(store.items()).toEqual(before);
    });

    it('the same signed request twice (a replay): AuthenticationError replayed_request, nothing written', async () => {
      // Arrange
      const store = await storeWithCluster({ now: clock });
      const replay = freshReplay();
      await ingest(store, captured(0), { replay });
      const before = store.items();

      // Act
      const result = ingest(store, captured(0), { replay });

      // Assert
      await expect(result).rejects.toBeInstanceOf(AuthenticationError);
      await expect(result).rejects.toMatchObject({ status: 401, code: 'replayed_request' });
      expect(store.items()).toEqual(before);
    });

    it('a replay guard past its expiry (awaiting the TTL sweep) no longer counts: the resend is a duplicate', async () => {
      const store = await storeWithCluster({ now: clock });
      const replay = { digest: 'old-signature', expiresAt: NOW_SECONDS - 1 };
      await ingest(store, captured(3), { replay });
      const again = await ingest(store, captured(3), { replay });
      expect(again).toMatchObject({ status: 200, body: { code: 'duplicate' } });
    });
  });

  describe('a race lost to a concurrent commit between the read and the transaction', () => {
    /** Another ingest commits `event` right before the next `recordEvent` of the code under test. */
    function concurrently(store: InMemoryClusterStore, event: VipEvent): Promise<EventAnswer> {
      return new Promise((resolve, reject) => {
        store.beforeNext('recordEvent', async () => {
          const loaded = (await store.loadCluster('pg-main'))!;
          await processEvent({ store, now: clock }, { event, loaded, replay: freshReplay() }).then(resolve, reject);
        });
      });
    }

    it('an older claim re-reads, decides again and becomes stale (the newer one kept the endpoint)', async () => {
      // Arrange: node1 on TL1; node3 (TL3) commits while node2's TL2 claim is in flight
      const store = await storeWithCluster({ now: clock, state: { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
      const winner = concurrently(store, repmgrEvent('node3', 'standby_promote', primaryOn(3)));

      // Act
      const answer = await ingest(store, repmgrEvent('node2', 'standby_promote', primaryOn(2)));

      // Assert
      expect(await winner).toMatchObject({ status: 202, body: { epoch: 2, primary: 'node3' } });
      expect(answer).toMatchObject({ status: 409, body: { code: 'stale_claim', primary: 'node3', timeline: 3, epoch: 2 } });
      expect(store.calls).toEqual({ recordEvent: 2, loadCluster: 1 });
      expect((await store.getCluster('pg-main'))?.state).toMatchObject({ primary: 'node3', timeline: 3, epoch: 2 });
      const journal = await journalOf(store);
      expect(journal.map((e) => [e.node, e.outcome]).sort()).toEqual([
        ['node2', 'stale_claim'],
        ['node3', 'accepted'],
      ]);
    });

    it('a newer claim re-reads, decides again and wins at the next epoch', async () => {
      // Arrange: node2 (TL2) commits while node3's TL3 claim is in flight
      const store = await storeWithCluster({ now: clock, state: { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
      const earlier = concurrently(store, repmgrEvent('node2', 'standby_promote', primaryOn(2)));

      // Act
      const answer = await ingest(store, repmgrEvent('node3', 'standby_promote', primaryOn(3)));

      // Assert
      expect(await earlier).toMatchObject({ status: 202, body: { epoch: 2, primary: 'node2' } });
      expect(answer).toMatchObject({ status: 202, body: { epoch: 3, primary: 'node3', timeline: 3 } });
      expect(store.calls).toEqual({ recordEvent: 2, loadCluster: 1 });
      expect((await store.getCluster('pg-main'))?.state).toMatchObject({ primary: 'node3', timeline: 3, epoch: 3 });
      expect((await journalOf(store)).filter((e) => e.node === 'node3').map((e) => [e.outcome, e.epoch, e.details?.previousPrimary])).toEqual([['accepted', 3, 'node2']]);
    });

    it('a node fenced by the operator between the read and the commit never wins: re-read, it is a stale claim', async () => {
      // Arrange: `vipswitch apply` re-registers node2 as fenced while its claim is in flight
      const store = await storeWithCluster({ now: clock, state: { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
      store.beforeNext('recordEvent', (s) => s.applyCluster(clusterConfig(), null, [memberWithKey('node1'), memberWithKey('node2', { fenced: true }), memberWithKey('node3')]));

      // Act
      const answer = await ingest(store, repmgrEvent('node2', 'standby_promote', primaryOn(2)));

      // Assert
      expect(answer).toMatchObject({ status: 409, body: { code: 'stale_claim', message: expect.stringContaining('fenced'), primary: 'node1', epoch: 1 } });
      expect(store.calls).toEqual({ recordEvent: 2, loadCluster: 1 });
      expect((await store.getCluster('pg-main'))?.state).toMatchObject({ primary: 'node1', timeline: 1, epoch: 1 });
    });

    it('after 5 lost races the claim gives up as stale_claim "lost 5 races", journaled for a page', async () => {
      // Arrange: before each attempt someone else bumps the epoch (timeline still older than the claim's)
      const store = await storeWithCluster({ now: clock, state: { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
      let bumps = 0;
      const bump = (s: InMemoryClusterStore) => {
        s.setState('pg-main', { epoch: 1 + ++bumps });
        if (bumps < 5) s.beforeNext('recordEvent', bump);
      };
      store.beforeNext('recordEvent', bump);

      // Act
      const answer = await ingest(store, repmgrEvent('node2', 'standby_promote', primaryOn(2)));

      // Assert
      expect(answer).toMatchObject({ status: 409, body: { code: 'stale_claim', message: expect.stringContaining('lost 5 commit races'), primary: 'node1', epoch: 6 } });
      expect(store.calls).toEqual({ recordEvent: 6, loadCluster: 5 });
      expect((await store.getCluster('pg-main'))?.state).toMatchObject({ primary: 'node1', timeline: 1, epoch: 6 });
      const journal = await journalOf(store);
      expect(journal).toHaveLength(1);
      expect(journal[0]).toMatchObject({ node: 'node2', outcome: 'stale_claim', page: true, reason: expect.stringContaining('lost 5 commit races') });
    });
  });

  // A claim that lost 5 races was still the newest on the last read (timeline 2 > 1): its node may well be the real
  // primary, so it is refused and paged, but never fenced nor marked failed.
  it('a claim that lost 5 races is paged but never fenced: it was still the newest on the last read', async () => {
    // Arrange
    const store = await storeWithCluster({ now: clock, config: { fencing: 'stop-instance' }, state: { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
    let bumps = 0;
    const bump = (s: InMemoryClusterStore) => {
      s.setState('pg-main', { epoch: 1 + ++bumps });
      if (bumps < 5) s.beforeNext('recordEvent', bump);
    };
    store.beforeNext('recordEvent', bump);

    // Act
    await ingest(store, repmgrEvent('node2', 'standby_promote', primaryOn(2)));

    // Assert
    const [entry] = await journalOf(store);
    expect(entry).toMatchObject({ outcome: 'stale_claim', page: true, details: { fencing: { policy: 'stop-instance', result: 'skipped' } } });
    expect(entry).not.toHaveProperty('fence');
    expect((await store.getNode('pg-main', 'node2'))?.health).not.toBe('failed');
  });

  describe('a dry run', () => {
    const ALL_MECHANISMS: Partial<ClusterConfig> = {
      endpoints: {
        routeTables: ROUTE_TABLES,
        elasticIp: { allocationId: 'eipalloc-0123456789abcdef0' },
        secondaryIp: { address: '10.0.255.20' },
        route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', writerRecord: 'writer.db.example.internal.', readerRecord: 'reader.db.example.internal.', ttl: 10, waitForInsync: false, insyncTimeoutSeconds: 60 },
      },
    };
    const planned = [
      { mechanism: 'route_table', target: 'rtb-0a1b2c3d4e5f60718 10.0.255.10/32', to: 'eni-node2', result: 'planned' },
      { mechanism: 'route_table', target: 'rtb-0f1e2d3c4b5a69788 10.0.255.10/32', to: 'eni-node2', result: 'planned' },
      { mechanism: 'elastic_ip', target: 'eipalloc-0123456789abcdef0', to: 'eni-node2', result: 'planned' },
      { mechanism: 'secondary_ip', target: '10.0.255.20', to: 'eni-node2', result: 'planned' },
      { mechanism: 'route53_writer', target: 'Z0123456789ABCDEFGHIJ writer.db.example.internal. A', to: '10.0.1.2', result: 'planned' },
      // node3 is a healthy replica; node1 (the old primary) is not a replica
      { mechanism: 'route53_reader', target: 'Z0123456789ABCDEFGHIJ reader.db.example.internal. A', to: '10.0.1.3', result: 'planned' },
    ];

    it.each([
      ['asked by the request', { dryRun: false }, { dryRun: true }],
      ['set on the cluster', { dryRun: true }, {}],
    ])('%s: answers the plan from config, writes nothing', async (_, config, options) => {
      // Arrange: node1 on TL1, node3 a replica; node2 promotes to TL2
      const store = await storeWithCluster({ now: clock, config: { ...ALL_MECHANISMS, ...config }, state: { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
      await store.setNodeHealth('pg-main', 'node3', 'replica');
      const before = store.items();
      store.takeChanges();

      // Act
      const answer = await ingest(store, captured(14), options);

      // Assert
      expect(answer).toEqual({
        status: 200,
        body: { code: 'dry_run', decision: 'accepted', message: expect.stringContaining('nothing was changed'), dryRun: true, epoch: 2, primary: 'node2', timeline: 2, actions: planned },
      });
      expect(store.calls).toEqual({});
      expect(store.items()).toEqual(before);
      expect(store.takeChanges()).toEqual([]);
    });

    it('of a stale claim answers 409 with the verdict, writes nothing', async () => {
      const store = await storeWithCluster({ now: clock, state: CONVERGED_TL3 });
      const answer = await ingest(store, repmgrEvent('node2', 'repmgrd_start', primaryOn(2)), { dryRun: true });
      expect(answer).toMatchObject({ status: 409, body: { code: 'stale_claim', decision: 'rejected', dryRun: true } });
      expect(store.calls).toEqual({});
      expect(await journalOf(store)).toEqual([]);
    });
  });

  it('an infrastructure fault of the transaction is thrown as it came, with nothing written', async () => {
    // Arrange
    const store = await storeWithCluster({ now: clock });
    const fault = Object.assign(new Error('ProvisionedThroughputExceededException'), { name: 'ProvisionedThroughputExceededException' });
    store.failNext('recordEvent', fault);

    // Act
    const result = ingest(store, captured(0));

    // Assert
    await expect(result).rejects.toBe(fault);
    expect(await store.currentEpoch('pg-main')).toBe(0);
    expect(await journalOf(store)).toEqual([]);
  });

  it('events of a standby are never answered with a move: a standby follow is ignored', async () => {
    const store = await storeWithCluster({ now: clock, state: CONVERGED_TL3 });
    const answer = await ingest(store, repmgrEvent('node2', 'standby_follow', standbyOn(3)));
    expect(answer).toMatchObject({ status: 200, body: { code: 'ignored', kind: 'informational' } });
  });
});

/** The actuator's status for `epoch`, as `converge` records it. */
function targets(epoch: number, phase: TargetStatus['phase']): TargetStatus {
  return { epoch, primary: 'node1', phase, since: NOW.toISOString(), at: NOW.toISOString(), targets: [] };
}
