import { ConditionalCheckFailedException, TransactionCanceledException, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ClusterConfig, NodeHealth, NodeRecord } from '../domain/cluster';
import type { Decision } from '../domain/decide';
import type { ClusterRecord, ClusterStore, EventWrite, EventWriteOutcome, JournalEntry, LoadedCluster, NodeWithKey, StoredAnswer, TargetStatus } from '../ports/cluster-store';

const STATE_SK = '#STATE';
const TARGETS_SK = '#TARGETS';
const clusterPk = (cluster: string) => `CLUSTER#${cluster}`;
const nodeSk = (node: string) => `NODE#${node}`;
const journalPk = (cluster: string) => `JOURNAL#${cluster}`;
const eventKey = (cluster: string, id: string) => ({ pk: `EVENT#${cluster}#${id}`, sk: 'EVENT' });

/**
 * The fleet index: a sparse global secondary index over the clusters' fencing records (the `#STATE` items, and only
 * them: `applyCluster` gives them `fleetPk`/`fleetSk`), one constant partition, sorted by cluster name. Listing the
 * fleet is a Query on it, never a Scan of the table. One partition takes about 1,000 writes a second; only the
 * `#STATE` items are in it (written on an apply, a failover and an `appliedEpoch`), far below that. A cluster applied
 * before the index existed is in it once applied again (`vipswitch apply`).
 */
export const FLEET_INDEX = 'fleet';
const FLEET_PK = 'CLUSTERS';

/** One cluster as the fleet index holds it (eventually consistent: a GSI lags its table by a fraction of a second). */
export interface FleetEntry {
  record: ClusterRecord;
  /** When the newest claim was committed (the last failover, or the first primary), ISO 8601; null before any. */
  committedAt: string | null;
}

/** BatchGetItem takes at most this many keys a call. */
const BATCH_GET_MAX = 100;

/** How long an event id's answer is kept for duplicates (the hook's spool gives up long before). */
const EVENT_RETENTION_SECONDS = 7 * 24 * 3600;
/** Transactions cancelled by a concurrent transaction on the same items (not a condition): tried again this often. */
const MAX_CONFLICT_RETRIES = 4;

/** How long journal entries are kept (TTL attribute `expiresAt`). */
const JOURNAL_RETENTION_SECONDS = 90 * 24 * 3600;

function isConditionFailure(error: unknown): boolean {
  if (error instanceof ConditionalCheckFailedException) return true;
  if (error instanceof TransactionCanceledException) {
    return (error.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed');
  }
  return false;
}

/**
 * The cluster store on one DynamoDB table (`pk`/`sk` strings, TTL on `expiresAt`). The fencing rule is enforced by
 * the conditional write itself, so a decision taken on a stale read can lose but never win a race.
 */
export class DynamoDBClusterStore implements ClusterStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => Date;

  constructor(options: { client: DynamoDBClient; tableName: string; now?: () => Date }) {
    this.#doc = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
    this.#table = options.tableName;
    this.#now = options.now ?? (() => new Date());
  }

  async getCluster(cluster: string): Promise<ClusterRecord | null> {
    const { Item } = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: clusterPk(cluster), sk: STATE_SK }, ConsistentRead: true }));
    return Item ? toRecord(cluster, Item) : null;
  }

  async loadCluster(cluster: string): Promise<LoadedCluster | null> {
    // One Query over the cluster's partition: the state item, every node item and the target status (a handful).
    const items: Record<string, any>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({ TableName: this.#table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': clusterPk(cluster) }, ConsistentRead: true, ExclusiveStartKey: startKey }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const state = items.find((i) => i.sk === STATE_SK);
    if (!state) return null;
    const targets = items.find((i) => i.sk === TARGETS_SK);
    return {
      record: toRecord(cluster, state),
      nodes: items.filter((i) => String(i.sk).startsWith('NODE#')).map((i) => ({ ...toNode(cluster, i), ...keysOf(i) })),
      targets: targets ? (targets.status as TargetStatus) : null,
    };
  }

  async currentEpoch(cluster: string): Promise<number> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: { pk: clusterPk(cluster), sk: STATE_SK }, ConsistentRead: true, ProjectionExpression: 'epoch' }),
    );
    return Item ? Number(Item.epoch ?? 0) : -1;
  }

  async recordEvent(write: EventWrite): Promise<EventWriteOutcome> {
    const { entry } = write;
    const now = this.#now();
    const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [];
    const roles: Array<'replay' | 'event' | 'journal' | 'state' | 'node'> = [];
    if (write.replay) {
      roles.push('replay');
      items.push({
        Put: {
          TableName: this.#table,
          Item: { pk: `REPLAY#${write.replay.digest}`, sk: 'REPLAY', expiresAt: write.replay.expiresAt },
          // An expired item may linger until DynamoDB's TTL sweep removes it: it no longer counts.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': Math.floor(now.getTime() / 1000) },
        },
      });
    }
    roles.push('event');
    items.push({
      Put: {
        TableName: this.#table,
        Item: { ...eventKey(entry.cluster, entry.eventId), payloadHash: write.payloadHash, answer: write.answer, expiresAt: Math.floor(now.getTime() / 1000) + EVENT_RETENTION_SECONDS },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
    roles.push('journal');
    items.push({ Put: { TableName: this.#table, Item: this.#journalItem(entry) } });
    if (write.claim) {
      roles.push('state', 'node');
      items.push({ Update: this.#claimUpdate(write.claim.decision, write.claim.expectedEpoch, entry.cluster, now.toISOString()) }, { Update: this.#primaryHealthUpdate(entry.cluster, write.claim.decision.primary, now.toISOString()) });
    } else if (write.health) {
      roles.push('node');
      items.push({
        Update: {
          TableName: this.#table,
          Key: { pk: clusterPk(entry.cluster), sk: nodeSk(entry.node) },
          ConditionExpression: 'attribute_exists(pk)',
          UpdateExpression: 'SET health = :h, healthAt = :now',
          ExpressionAttributeValues: { ':h': write.health, ':now': now.toISOString() },
        },
      });
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#doc.send(new TransactWriteCommand({ TransactItems: items }));
        return { kind: 'recorded' };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const reasons = error.CancellationReasons ?? [];
        const failed = (role: (typeof roles)[number]) => reasons[roles.indexOf(role)]?.Code === 'ConditionalCheckFailed';
        if (failed('replay')) return { kind: 'replay' };
        if (failed('event')) {
          const old = reasons[roles.indexOf('event')]?.Item;
          const stored = old ? { payloadHash: String(old.payloadHash?.S ?? ''), answer: unmarshallAnswer(old.answer) } : await this.#readEvent(entry.cluster, entry.eventId);
          if (stored) return { kind: 'duplicate', ...stored };
          continue; // expired between the write and the read: nothing stands in the way any more
        }
        if (failed('state') || failed('node')) return { kind: 'lost' };
        if (reasons.some((r) => r.Code === 'TransactionConflict') && attempt < MAX_CONFLICT_RETRIES) {
          await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)));
          continue;
        }
        throw error;
      }
    }
  }

  async recordTargets(cluster: string, status: TargetStatus): Promise<void> {
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: { pk: clusterPk(cluster), sk: TARGETS_SK, status } }));
  }

  async #readEvent(cluster: string, id: string): Promise<{ payloadHash: string; answer: StoredAnswer } | null> {
    const { Item } = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: eventKey(cluster, id), ConsistentRead: true }));
    return Item ? { payloadHash: String(Item.payloadHash), answer: Item.answer as StoredAnswer } : null;
  }

  async getNode(cluster: string, node: string): Promise<NodeWithKey | null> {
    const { Item } = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: clusterPk(cluster), sk: nodeSk(node) }, ConsistentRead: true }));
    return Item ? { ...toNode(cluster, Item), ...keysOf(Item) } : null;
  }

  /**
   * Replace a node's hook key at once (`vipswitch keys issue`), ending any rotation: the old key is refused from now on.
   * @returns false when the node is not registered.
   */
  async setHookKey(cluster: string, node: string, hookKey: string): Promise<boolean> {
    return this.#updateNodeKeys(cluster, node, 'attribute_exists(pk)', 'SET hookKey = :k REMOVE hookKeyNext, hookKeyNextAt', { ':k': hookKey });
  }

  /**
   * Start a rotation: `next` becomes valid beside the current key (both accepted) until it is finished or cancelled.
   * @returns `started`; `in_progress` when a rotation is already under way (nothing changed); `unknown_node`.
   */
  async startHookKeyRotation(cluster: string, node: string, next: string): Promise<'started' | 'in_progress' | 'unknown_node'> {
    const ok = await this.#updateNodeKeys(cluster, node, 'attribute_exists(pk) AND attribute_not_exists(hookKeyNext)', 'SET hookKeyNext = :n, hookKeyNextAt = :now', { ':n': next, ':now': this.#now().toISOString() });
    if (ok) return 'started';
    return (await this.getNode(cluster, node)) === null ? 'unknown_node' : 'in_progress';
  }

  /**
   * End a rotation: `finish` makes the new key the only key (the old one is refused from now on); `cancel` drops the
   * new key (the old one stays the only key). One conditional write.
   * @returns `done`; `not_in_progress` when no rotation is under way (nothing changed); `unknown_node`.
   */
  async endHookKeyRotation(cluster: string, node: string, how: 'finish' | 'cancel'): Promise<'done' | 'not_in_progress' | 'unknown_node'> {
    const update = how === 'finish' ? 'SET hookKey = hookKeyNext REMOVE hookKeyNext, hookKeyNextAt' : 'REMOVE hookKeyNext, hookKeyNextAt';
    if (await this.#updateNodeKeys(cluster, node, 'attribute_exists(pk) AND attribute_exists(hookKeyNext)', update, undefined)) return 'done';
    return (await this.getNode(cluster, node)) === null ? 'unknown_node' : 'not_in_progress';
  }

  async #updateNodeKeys(cluster: string, node: string, condition: string, update: string, values: Record<string, unknown> | undefined): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({ TableName: this.#table, Key: { pk: clusterPk(cluster), sk: nodeSk(node) }, ConditionExpression: condition, UpdateExpression: update, ...(values ? { ExpressionAttributeValues: values } : {}) }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async listNodes(cluster: string): Promise<NodeRecord[]> {
    const { Items = [] } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :node)',
        ExpressionAttributeValues: { ':pk': clusterPk(cluster), ':node': 'NODE#' },
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => toNode(cluster, item));
  }

  /** Every cluster's name, sorted: a Query of the fleet index (paged), not a Scan. */
  async listClusters(): Promise<string[]> {
    const clusters: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: FLEET_INDEX,
          KeyConditionExpression: 'fleetPk = :p',
          ExpressionAttributeValues: { ':p': FLEET_PK },
          ProjectionExpression: 'fleetSk',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) clusters.push(String(item.fleetSk));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return clusters;
  }

  /**
   * One page of the fleet, by cluster name: at most `limit` clusters whose name sorts after `after` (the previous
   * page's last), and `next` (the name to pass as `after`) when more follow. Read from the fleet index (eventually
   * consistent). @param limit 1..1000
   */
  async listFleetPage(options: { after?: string | null; limit: number }): Promise<{ entries: FleetEntry[]; next: string | null }> {
    const limit = Math.max(1, Math.min(1000, Math.floor(options.limit)));
    // One more than asked for: whether a next page exists is then known without handing out an empty last page.
    const want = limit + 1;
    const items: Record<string, any>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          IndexName: FLEET_INDEX,
          KeyConditionExpression: options.after ? 'fleetPk = :p AND fleetSk > :after' : 'fleetPk = :p',
          ExpressionAttributeValues: { ':p': FLEET_PK, ...(options.after ? { ':after': options.after } : {}) },
          Limit: want - items.length,
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey && items.length < want);
    const entries = items.slice(0, limit).map((item): FleetEntry => ({ record: toRecord(String(item.fleetSk), item), committedAt: typeof item.committedAt === 'string' ? item.committedAt : null }));
    return { entries, next: items.length > limit ? entries.at(-1)!.record.config.cluster : null };
  }

  /**
   * Where each cluster's endpoint stands (its `#TARGETS` item), for many clusters: BatchGetItem, 100 keys a call,
   * unprocessed keys asked again (bounded). A cluster without a status is absent from the map.
   */
  async loadTargetStatuses(clusters: readonly string[]): Promise<Map<string, TargetStatus>> {
    const statuses = new Map<string, TargetStatus>();
    for (let i = 0; i < clusters.length; i += BATCH_GET_MAX) {
      let keys: Record<string, unknown>[] | undefined = clusters.slice(i, i + BATCH_GET_MAX).map((c) => ({ pk: clusterPk(c), sk: TARGETS_SK }));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 0) {
          if (attempt > 5) throw new Error(`DynamoDB left ${keys.length} target status key(s) unprocessed after ${attempt} tries`);
          await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
        }
        const { Responses, UnprocessedKeys } = await this.#doc.send(new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of Responses?.[this.#table] ?? []) statuses.set(String(item.pk).slice('CLUSTER#'.length), item.status as TargetStatus);
        keys = UnprocessedKeys?.[this.#table]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return statuses;
  }

  /** How many journal entries of `cluster` flagged for a page were received since `since` (ISO 8601). One Query (paged). */
  async countPagedEntries(cluster: string, since: string): Promise<number> {
    let count = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk AND sk >= :since',
          FilterExpression: 'page = :true',
          ExpressionAttributeValues: { ':pk': journalPk(cluster), ':since': since, ':true': true },
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        }),
      );
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  async commitClaim(decision: Extract<Decision, { outcome: 'accepted' }>, expectedEpoch: number, entry: JournalEntry): Promise<'committed' | 'lost'> {
    const now = this.#now().toISOString();
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Update: this.#claimUpdate(decision, expectedEpoch, entry.cluster, now) },
            { Update: this.#primaryHealthUpdate(entry.cluster, decision.primary, now) },
            { Put: { TableName: this.#table, Item: this.#journalItem(entry) } },
          ],
        }),
      );
      return 'committed';
    } catch (error) {
      if (isConditionFailure(error)) return 'lost';
      throw error;
    }
  }

  /**
   * The fencing invariant, re-checked on the stored item: same epoch as read, and (newer timeline, or first primary,
   * or the recorded primary re-asserting on its timeline), and the system identifier unchanged (or not yet pinned).
   */
  #claimUpdate(decision: Extract<Decision, { outcome: 'accepted' }>, expectedEpoch: number, cluster: string, now: string) {
    return {
      TableName: this.#table,
      Key: { pk: clusterPk(cluster), sk: STATE_SK },
      ConditionExpression:
        'epoch = :expected AND (#tl < :tl OR attribute_not_exists(#p) OR attribute_type(#p, :NULL) OR (#tl = :tl AND #p = :node)) ' +
        'AND (attribute_not_exists(#sid) OR attribute_type(#sid, :NULL) OR #sid = :sid)',
      UpdateExpression: 'SET #p = :node, #tl = :tl, epoch = :epoch, #sid = :sid, updatedAt = :now, committedAt = :now',
      ExpressionAttributeNames: { '#p': 'primary', '#tl': 'timeline', '#sid': 'systemIdentifier' },
      ExpressionAttributeValues: {
        ':expected': expectedEpoch,
        ':tl': decision.timeline,
        ':node': decision.primary,
        ':epoch': decision.epoch,
        ':sid': decision.systemIdentifier,
        ':NULL': 'NULL',
        ':now': now,
      },
    };
  }

  /** The winner is registered and not fenced (checked in the same transaction), and its health becomes `primary`. */
  #primaryHealthUpdate(cluster: string, node: string, now: string) {
    return {
      TableName: this.#table,
      Key: { pk: clusterPk(cluster), sk: nodeSk(node) },
      ConditionExpression: 'attribute_exists(pk) AND fenced = :false',
      UpdateExpression: 'SET health = :primary, healthAt = :now',
      ExpressionAttributeValues: { ':false': false, ':primary': 'primary', ':now': now },
    };
  }

  async journal(entry: JournalEntry): Promise<void> {
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: this.#journalItem(entry) }));
  }

  async readJournal(cluster: string, limit: number): Promise<JournalEntry[]> {
    const { Items = [] } = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': journalPk(cluster) },
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return Items.map((item) => item.entry as JournalEntry);
  }

  async recordApplied(cluster: string, epoch: number): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: clusterPk(cluster), sk: STATE_SK },
          ConditionExpression: 'epoch = :e AND (attribute_not_exists(appliedEpoch) OR appliedEpoch <= :e)',
          UpdateExpression: 'SET appliedEpoch = :e, appliedAt = :now',
          ExpressionAttributeValues: { ':e': epoch, ':now': this.#now().toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async applyCluster(config: ClusterConfig, systemIdentifier: string | null, nodes: NodeWithKey[]): Promise<{ created: boolean }> {
    const now = this.#now().toISOString();
    const existing = await this.getCluster(config.cluster);
    // Settings are replaced; the fencing record (primary, timeline, epoch) is kept: re-applying a config must never
    // reset who holds the endpoint. A different system identifier is a deliberate re-pin by the operator.
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: clusterPk(config.cluster), sk: STATE_SK },
        UpdateExpression:
          'SET #c = :c, tool = :tool, endpoints = :ep, replayWindowSeconds = :rw, fencing = :f, dryRun = :dry, updatedAt = :now, fleetPk = :fleet, fleetSk = :c, ' +
          '#p = if_not_exists(#p, :null), #tl = if_not_exists(#tl, :zero), epoch = if_not_exists(epoch, :zero), ' +
          'appliedEpoch = if_not_exists(appliedEpoch, :zero), #sid = ' +
          (systemIdentifier === null ? 'if_not_exists(#sid, :null)' : ':sid') +
          // The isolate policy's group: set with it, removed without it (a re-apply to another policy drops it).
          (config.isolationSecurityGroupId === undefined ? ' REMOVE isolationSecurityGroupId' : ', isolationSecurityGroupId = :isg'),
        ExpressionAttributeNames: { '#c': 'cluster', '#p': 'primary', '#tl': 'timeline', '#sid': 'systemIdentifier' },
        ExpressionAttributeValues: {
          ':c': config.cluster,
          ':fleet': FLEET_PK,
          ':tool': config.tool,
          ':ep': config.endpoints,
          ':rw': config.replayWindowSeconds,
          ':f': config.fencing,
          ':dry': config.dryRun,
          ':now': now,
          ':null': null,
          ':zero': 0,
          ...(systemIdentifier === null ? {} : { ':sid': systemIdentifier }),
          ...(config.isolationSecurityGroupId === undefined ? {} : { ':isg': config.isolationSecurityGroupId }),
        },
      }),
    );
    for (const node of nodes) {
      // An update, not a put: the node's health (learned from its own events) survives a re-apply.
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: clusterPk(config.cluster), sk: nodeSk(node.name) },
          UpdateExpression: 'SET #n = :n, repmgrNodeId = :id, eni = :eni, instanceId = :iid, privateIp = :ip, fenced = :f, hookKey = :k, health = if_not_exists(health, :unknown)',
          ExpressionAttributeNames: { '#n': 'name' },
          ExpressionAttributeValues: {
            ':n': node.name,
            ':id': node.repmgrNodeId,
            ':eni': node.eni,
            ':iid': node.instanceId,
            ':ip': node.privateIp,
            ':f': node.fenced,
            ':k': node.hookKey,
            ':unknown': 'unknown',
          },
        }),
      );
    }
    return { created: existing === null };
  }

  async setNodeHealth(cluster: string, node: string, health: NodeHealth): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: clusterPk(cluster), sk: nodeSk(node) },
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(health) OR health <> :h)',
          UpdateExpression: 'SET health = :h, healthAt = :now',
          ExpressionAttributeValues: { ':h': health, ':now': this.#now().toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async notePage(key: string, windowSeconds: number): Promise<{ send: boolean; suppressedBefore: number }> {
    const now = Math.floor(this.#now().getTime() / 1000);
    const Key = { pk: `PAGE#${key}`, sk: 'PAGE' };
    try {
      const { Attributes } = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key,
          ConditionExpression: 'attribute_not_exists(pk) OR lastSentAt <= :cutoff',
          UpdateExpression: 'SET lastSentAt = :now, suppressed = :zero, expiresAt = :exp',
          ExpressionAttributeValues: { ':now': now, ':cutoff': now - windowSeconds, ':zero': 0, ':exp': now + windowSeconds * 4 },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { send: true, suppressedBefore: Number(Attributes?.suppressed ?? 0) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await this.#doc.send(new UpdateCommand({ TableName: this.#table, Key, UpdateExpression: 'ADD suppressed :one', ExpressionAttributeValues: { ':one': 1 } }));
      return { send: false, suppressedBefore: 0 };
    }
  }

  #journalItem(entry: JournalEntry): Record<string, unknown> {
    return {
      pk: journalPk(entry.cluster),
      sk: `${entry.receivedAt}#${entry.eventId}#${entry.outcome}`,
      entry,
      // Top-level flags, so the stream trigger's filter can select the entries the actuator acts on.
      ...(entry.page ? { page: true } : {}),
      ...(entry.fence ? { fence: true } : {}),
      expiresAt: Math.floor(this.#now().getTime() / 1000) + JOURNAL_RETENTION_SECONDS,
    };
  }
}

function toRecord(cluster: string, Item: Record<string, any>): ClusterRecord {
  return {
    config: {
      cluster,
      tool: Item.tool,
      endpoints: Item.endpoints ?? {},
      replayWindowSeconds: Item.replayWindowSeconds,
      fencing: Item.fencing ?? 'alert',
      ...(typeof Item.isolationSecurityGroupId === 'string' ? { isolationSecurityGroupId: Item.isolationSecurityGroupId } : {}),
      dryRun: Item.dryRun === true,
    },
    state: {
      cluster,
      primary: Item.primary ?? null,
      timeline: Item.timeline ?? 0,
      epoch: Item.epoch ?? 0,
      appliedEpoch: Item.appliedEpoch ?? 0,
      systemIdentifier: Item.systemIdentifier ?? null,
      updatedAt: Item.updatedAt,
    },
  };
}

/** The stored answer from a raw (marshalled) item of a cancelled transaction. */
function unmarshallAnswer(value: AttributeValue | undefined): StoredAnswer {
  return (value ? unmarshall({ answer: value }).answer : { status: 500, body: { code: 'internal_error', message: 'stored answer unreadable' } }) as StoredAnswer;
}

/** A node item's keys: the current one, and the one a rotation is bringing in (absent unless rotating). */
function keysOf(item: Record<string, any>): Pick<NodeWithKey, 'hookKey' | 'hookKeyNext' | 'hookKeyNextAt'> {
  return { hookKey: item.hookKey, ...(typeof item.hookKeyNext === 'string' ? { hookKeyNext: item.hookKeyNext, hookKeyNextAt: item.hookKeyNextAt ?? null } : {}) };
}

function toNode(cluster: string, item: Record<string, any>): NodeRecord {
  return {
    cluster,
    name: item.name,
    repmgrNodeId: item.repmgrNodeId ?? null,
    eni: item.eni,
    instanceId: item.instanceId ?? null,
    privateIp: item.privateIp ?? null,
    fenced: item.fenced === true,
    health: item.health ?? 'unknown',
  };
}

/** The table definition, shared by the local stack and mirrored by serverless.yml's resources. */
export const TABLE_DEFINITIONS = {
  state: (tableName: string) => ({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' as const },
      { AttributeName: 'sk', AttributeType: 'S' as const },
      { AttributeName: 'fleetPk', AttributeType: 'S' as const },
      { AttributeName: 'fleetSk', AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' as const },
      { AttributeName: 'sk', KeyType: 'RANGE' as const },
    ],
    // The fleet index (see FLEET_INDEX): sparse, only the clusters' #STATE items, which hold no secret.
    GlobalSecondaryIndexes: [
      {
        IndexName: FLEET_INDEX,
        KeySchema: [
          { AttributeName: 'fleetPk', KeyType: 'HASH' as const },
          { AttributeName: 'fleetSk', KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      },
    ],
    // The actuator's trigger: every committed change, in order per item (serverless.yml: StreamSpecification).
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' as const },
  }),
} as const;
