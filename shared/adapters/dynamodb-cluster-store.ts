import { ConditionalCheckFailedException, TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ClusterConfig, NodeHealth, NodeRecord } from '../domain/cluster';
import type { Decision } from '../domain/decide';
import type { ClusterRecord, ClusterStore, JournalEntry, NodeWithKey } from '../ports/cluster-store';

const STATE_SK = '#STATE';
const clusterPk = (cluster: string) => `CLUSTER#${cluster}`;
const nodeSk = (node: string) => `NODE#${node}`;
const journalPk = (cluster: string) => `JOURNAL#${cluster}`;

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
    if (!Item) return null;
    return {
      config: { cluster, tool: Item.tool, endpoints: Item.endpoints ?? {}, replayWindowSeconds: Item.replayWindowSeconds, fencing: Item.fencing ?? 'alert', dryRun: Item.dryRun === true },
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

  async getNode(cluster: string, node: string): Promise<NodeWithKey | null> {
    const { Item } = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk: clusterPk(cluster), sk: nodeSk(node) }, ConsistentRead: true }));
    return Item ? { ...toNode(cluster, Item), hookKey: Item.hookKey } : null;
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

  async listClusters(): Promise<string[]> {
    const clusters: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new ScanCommand({ TableName: this.#table, FilterExpression: 'sk = :s', ExpressionAttributeValues: { ':s': STATE_SK }, ProjectionExpression: '#c', ExpressionAttributeNames: { '#c': 'cluster' }, ExclusiveStartKey: startKey }),
      );
      for (const item of page.Items ?? []) clusters.push(item.cluster);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return clusters.sort();
  }

  async commitClaim(decision: Extract<Decision, { outcome: 'accepted' }>, expectedEpoch: number, entry: JournalEntry): Promise<'committed' | 'lost'> {
    const now = this.#now().toISOString();
    try {
      await this.#doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.#table,
                Key: { pk: clusterPk(entry.cluster), sk: STATE_SK },
                // The fencing invariant, re-checked on the stored item: same epoch as read, and
                // (newer timeline, or first primary, or the recorded primary re-asserting on its timeline),
                // and the system identifier unchanged (or not yet pinned).
                ConditionExpression:
                  'epoch = :expected AND (#tl < :tl OR attribute_not_exists(#p) OR attribute_type(#p, :NULL) OR (#tl = :tl AND #p = :node)) ' +
                  'AND (attribute_not_exists(#sid) OR attribute_type(#sid, :NULL) OR #sid = :sid)',
                UpdateExpression: 'SET #p = :node, #tl = :tl, epoch = :epoch, #sid = :sid, updatedAt = :now',
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
              },
            },
            {
              ConditionCheck: {
                TableName: this.#table,
                Key: { pk: clusterPk(entry.cluster), sk: nodeSk(decision.primary) },
                ConditionExpression: 'attribute_exists(pk) AND fenced = :false',
                ExpressionAttributeValues: { ':false': false },
              },
            },
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

  async rememberSignature(digest: string, expiresAt: number): Promise<boolean> {
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { pk: `REPLAY#${digest}`, sk: 'REPLAY', expiresAt },
          // An expired item may linger until DynamoDB's TTL sweep removes it: it no longer counts.
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': Math.floor(this.#now().getTime() / 1000) },
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
          'SET #c = :c, tool = :tool, endpoints = :ep, replayWindowSeconds = :rw, fencing = :f, dryRun = :dry, updatedAt = :now, ' +
          '#p = if_not_exists(#p, :null), #tl = if_not_exists(#tl, :zero), epoch = if_not_exists(epoch, :zero), ' +
          'appliedEpoch = if_not_exists(appliedEpoch, :zero), #sid = ' +
          (systemIdentifier === null ? 'if_not_exists(#sid, :null)' : ':sid'),
        ExpressionAttributeNames: { '#c': 'cluster', '#p': 'primary', '#tl': 'timeline', '#sid': 'systemIdentifier' },
        ExpressionAttributeValues: {
          ':c': config.cluster,
          ':tool': config.tool,
          ':ep': config.endpoints,
          ':rw': config.replayWindowSeconds,
          ':f': config.fencing,
          ':dry': config.dryRun,
          ':now': now,
          ':null': null,
          ':zero': 0,
          ...(systemIdentifier === null ? {} : { ':sid': systemIdentifier }),
        },
      }),
    );
    for (const node of nodes) {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: clusterPk(config.cluster),
            sk: nodeSk(node.name),
            name: node.name,
            repmgrNodeId: node.repmgrNodeId,
            eni: node.eni,
            instanceId: node.instanceId,
            privateIp: node.privateIp,
            fenced: node.fenced,
            hookKey: node.hookKey,
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
      expiresAt: Math.floor(this.#now().getTime() / 1000) + JOURNAL_RETENTION_SECONDS,
    };
  }
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

/** Table definitions, shared by the local stack and mirrored by serverless.yml's resources. */
export const TABLE_DEFINITIONS = {
  state: (tableName: string) => ({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' as const },
      { AttributeName: 'sk', AttributeType: 'S' as const },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' as const },
      { AttributeName: 'sk', KeyType: 'RANGE' as const },
    ],
  }),
  idempotency: (tableName: string) => ({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' as const }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' as const }],
  }),
} as const;
