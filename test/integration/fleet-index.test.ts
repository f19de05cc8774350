import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createTables, localDynamoClient, startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local';
import { freePort } from '../../local/ports';
import { DynamoDBClusterStore } from '../../shared/adapters/dynamodb-cluster-store';
import type { ClusterConfig } from '../../shared/domain/cluster';
import type { JournalEntry } from '../../shared/ports/cluster-store';

const TABLE = 'vipswitch-fleet-index-test';

function config(cluster: string): ClusterConfig {
  return { cluster, tool: 'repmgr', endpoints: { routeTables: { vip: '10.0.255.10', routeTableIds: ['rtb-0a1b2c3d4e5f60001'] } }, replayWindowSeconds: 300, fencing: 'alert', dryRun: false };
}

const node = (cluster: string, name: string) => ({ cluster, name, repmgrNodeId: 1, eni: 'eni-0a1b2c3d4e5f60001', instanceId: null, privateIp: '10.0.1.11', fenced: false, hookKey: 'secret-key' });

function journalEntry(cluster: string, receivedAt: string, page: boolean): JournalEntry {
  return {
    cluster,
    eventId: `e-${receivedAt}`,
    receivedAt,
    node: 'node1',
    type: 'repmgrd_failover_aborted',
    outcome: 'ignored',
    reason: 'fault',
    epoch: null,
    page,
    event: { v: 1, id: `e-${receivedAt}`, cluster, node: 'node1', source: 'repmgr', type: 'repmgrd_failover_aborted', success: false, role: null, occurredAt: receivedAt, details: '', facts: null, raw: { argv: [] } },
  } as JournalEntry;
}

describe('the fleet index (DynamoDB Local)', () => {
  let ddb: DynamoDbLocal;
  let client: DynamoDBClient;
  let store: DynamoDBClusterStore;

  beforeAll(async () => {
    ddb = await startDynamoDbLocal(await freePort());
    client = localDynamoClient(ddb.endpoint);
    await createTables(client, { state: TABLE });
    store = new DynamoDBClusterStore({ client, tableName: TABLE });
    // Names chosen so that byte order matters: '-', '.', digits, upper and lower case, '_'.
    for (const name of ['pg-b', 'pg.a', 'pg-a', 'PG-Z', 'pg_c', 'pg-a1', 'pg0']) await store.applyCluster(config(name), null, [node(name, 'node1'), node(name, 'node2')]);
  }, 60_000);

  afterAll(async () => {
    client?.destroy();
    await ddb?.stop();
  });

  it('lists every cluster by a Query of the index, sorted, and only clusters (no node, journal or event item)', async () => {
    // Arrange: items of other kinds in the same table.
    const doc = DynamoDBDocumentClient.from(client);
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: 'EVENT#pg-a#1', sk: 'EVENT', answer: {} } }));
    await store.journal(journalEntry('pg-a', '2026-11-30T10:00:00.000Z', true));

    // Act
    const names = await store.listClusters();

    // Assert
    expect(names).toEqual(['PG-Z', 'pg-a', 'pg-a1', 'pg-b', 'pg.a', 'pg0', 'pg_c']);
  });

  it('pages the fleet exactly: `next` only when more follow, never an empty last page', async () => {
    const pages: string[][] = [];
    let after: string | null = null;
    do {
      const page: Awaited<ReturnType<DynamoDBClusterStore['listFleetPage']>> = await store.listFleetPage({ after, limit: 3 });
      pages.push(page.entries.map((e) => e.record.config.cluster));
      after = page.next;
    } while (after !== null);

    expect(pages).toEqual([['PG-Z', 'pg-a', 'pg-a1'], ['pg-b', 'pg.a', 'pg0'], ['pg_c']]);
    expect((await store.listFleetPage({ limit: 7 })).next).toBeNull();
    expect((await store.listFleetPage({ limit: 6 })).next).toBe('pg0');
    expect((await store.listFleetPage({ after: 'pg_c', limit: 5 })).entries).toEqual([]);
  });

  it('keeps a re-applied cluster once in the index, with its fencing record, and keeps node keys out of it', async () => {
    // Act: a claim, then the same config applied again.
    await store.commitClaim({ outcome: 'accepted', primary: 'node2', timeline: 3, epoch: 1, systemIdentifier: '1' } as never, 0, journalEntry('pg-b', '2026-11-30T10:01:00.000Z', false));
    await store.applyCluster(config('pg-b'), null, [node('pg-b', 'node1'), node('pg-b', 'node2')]);
    const { entries } = await store.listFleetPage({ after: 'pg-a1', limit: 1 });

    // Assert
    expect(entries).toHaveLength(1);
    expect(entries[0]!.record.state).toMatchObject({ cluster: 'pg-b', primary: 'node2', timeline: 3, epoch: 1 });
    expect(entries[0]!.committedAt).toEqual(expect.any(String));
    expect(JSON.stringify(entries)).not.toContain('secret-key');
    const doc = DynamoDBDocumentClient.from(client);
    const nodeItem = await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: 'CLUSTER#pg-b', sk: 'NODE#node1' } }));
    expect(nodeItem.Item?.fleetPk).toBeUndefined();
  });

  it('reads many target statuses in batches of 100 and counts paged journal entries since a time', async () => {
    // Arrange: 130 clusters' statuses (more than one BatchGetItem), two paged entries and one plain for pg-a.
    const names = Array.from({ length: 130 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
    await Promise.all(names.map((c, i) => store.recordTargets(c, { epoch: i, primary: 'node1', phase: i % 2 ? 'converged' : 'failed', since: '2026-11-30T10:00:00.000Z', at: '2026-11-30T10:00:00.000Z', targets: [] })));
    await store.journal(journalEntry('pg-a', '2026-11-30T11:00:00.000Z', true));
    await store.journal(journalEntry('pg-a', '2026-11-30T11:30:00.000Z', false));

    // Act
    const statuses = await store.loadTargetStatuses([...names, 'pg-none']);
    const paged = await store.countPagedEntries('pg-a', '2026-11-30T10:30:00.000Z');
    const all = await store.countPagedEntries('pg-a', '2026-11-30T00:00:00.000Z');

    // Assert
    expect(statuses.size).toBe(130);
    expect(statuses.get('bulk-129')).toMatchObject({ epoch: 129, phase: 'converged' });
    expect(statuses.has('pg-none')).toBe(false);
    expect(paged).toBe(1);
    expect(all).toBe(2);
  });
});
