/**
 * An in-memory {@link ClusterStore} with the semantics of shared/adapters/dynamodb-cluster-store.ts, for unit tests
 * without DynamoDB Local. It keeps the same items (`pk`/`sk`, the same attributes), evaluates the same conditions
 * (the fencing rule, the replay guard, the event id, the node's existence and fencing) and applies a transaction all
 * or nothing. On top, what a test needs to observe and provoke:
 * - `calls`: round trips per method (one DynamoDB request each, except `applyCluster`: one read, one write per item),
 *   so a test can hold the hot path to its budget;
 * - `changes()` / `takeChanges()`: the table's stream (every write that changed an item, with old and new images, in
 *   commit order), in the shape `reactToChanges` gets it;
 * - `beforeNext(method, action)`: another writer acting right before the next call of `method` (a lost race);
 * - `failNext(method, error)`: an infrastructure fault (nothing written);
 * - `setState(cluster, patch)`: put the fencing record where a test starts (a write, on the stream, not counted).
 */
import { isDeepStrictEqual } from 'node:util';
import type { StateChange } from '../../shared/app/react-to-changes';
import type { ClusterConfig, ClusterState, NodeHealth, NodeRecord } from '../../shared/domain/cluster';
import type { Decision } from '../../shared/domain/decide';
import type { ClusterRecord, ClusterStore, EventWrite, EventWriteOutcome, JournalEntry, LoadedCluster, NodeWithKey, StoredAnswer, TargetStatus } from '../../shared/ports/cluster-store';

type Item = Record<string, any>;
export type StoreMethod = keyof ClusterStore;
type Accepted = Extract<Decision, { outcome: 'accepted' }>;

const STATE_SK = '#STATE';
const TARGETS_SK = '#TARGETS';
const clusterPk = (cluster: string) => `CLUSTER#${cluster}`;
const nodeSk = (node: string) => `NODE#${node}`;
const journalPk = (cluster: string) => `JOURNAL#${cluster}`;
const eventKey = (cluster: string, id: string) => ({ pk: `EVENT#${cluster}#${id}`, sk: 'EVENT' });
const keyOf = (pk: string, sk: string) => `${pk}\u0000${sk}`;

/** As the adapter: event ids kept 7 days, journal entries 90 days (TTL attribute `expiresAt`). */
const EVENT_RETENTION_SECONDS = 7 * 24 * 3600;
const JOURNAL_RETENTION_SECONDS = 90 * 24 * 3600;

/** One write of a transaction: the item's key and what it becomes, given what it was (undefined: absent). */
interface Write {
  pk: string;
  sk: string;
  apply: (old: Item | undefined) => Item;
}

export class InMemoryClusterStore implements ClusterStore {
  /** Round trips per method, as the DynamoDB adapter would make them. */
  readonly calls: Record<string, number> = {};
  readonly #items = new Map<string, Item>();
  readonly #stream: StateChange[] = [];
  #taken = 0;
  #sequence = 0;
  readonly #before = new Map<StoreMethod, Array<(store: InMemoryClusterStore) => unknown>>();
  readonly #faults = new Map<StoreMethod, unknown[]>();
  /** Depth of test actions under way: what they call is not the code under test's, so it is not counted. */
  #inAction = 0;
  readonly #now: () => Date;

  constructor(options: { now?: () => Date } = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  // ---- test controls -------------------------------------------------------------------------------------------

  /** Round trips made so far, all methods together. */
  get roundTrips(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  /** Forget the round trips counted so far (e.g. after arranging). */
  resetCalls(): void {
    for (const method of Object.keys(this.calls)) delete this.calls[method];
  }

  /**
   * Run `action` once, right before the next call of `method` reads or writes anything: another writer getting in
   * between (e.g. a concurrent claim committed between `loadCluster` and `recordEvent`). What it calls is not counted.
   */
  beforeNext(method: StoreMethod, action: (store: InMemoryClusterStore) => unknown): void {
    this.#before.set(method, [...(this.#before.get(method) ?? []), action]);
  }

  /** The next call of `method` throws `error` (an infrastructure fault) and writes nothing. */
  failNext(method: StoreMethod, error: unknown = new Error(`injected fault in ${method}`)): void {
    this.#faults.set(method, [...(this.#faults.get(method) ?? []), error]);
  }

  /** Every change committed so far, in order, as the table's stream delivers it. */
  changes(): StateChange[] {
    return structuredClone(this.#stream);
  }

  /** The changes committed since the last call (a stream reader's next batch). */
  takeChanges(): StateChange[] {
    const batch = this.#stream.slice(this.#taken);
    this.#taken = this.#stream.length;
    return structuredClone(batch);
  }

  /** Position the fencing record (primary, timeline, epoch, appliedEpoch, systemIdentifier) of a registered cluster. */
  setState(cluster: string, patch: Partial<Omit<ClusterState, 'cluster'>>): void {
    const existing = this.#get(clusterPk(cluster), STATE_SK);
    if (!existing) throw new Error(`setState: cluster ${cluster} is not registered`);
    this.#commit([{ pk: clusterPk(cluster), sk: STATE_SK, apply: (old) => ({ ...old, ...patch }) }]);
  }

  /** A stored item as DynamoDB holds it (a copy), for assertions on what was written. */
  item(pk: string, sk: string): Item | undefined {
    const item = this.#get(pk, sk);
    return item && structuredClone(item);
  }

  /** Every stored item whose `pk` starts with `prefix` (copies), in key order. */
  items(prefix = ''): Item[] {
    return [...this.#items.values()]
      .filter((i) => String(i.pk).startsWith(prefix))
      .sort((a, b) => (a.pk === b.pk ? cmp(a.sk, b.sk) : cmp(a.pk, b.pk)))
      .map((i) => structuredClone(i));
  }

  // ---- ClusterStore -------------------------------------------------------------------------------------------------

  async getCluster(cluster: string): Promise<ClusterRecord | null> {
    await this.#enter('getCluster');
    const item = this.#get(clusterPk(cluster), STATE_SK);
    return item ? toRecord(cluster, item) : null;
  }

  async loadCluster(cluster: string): Promise<LoadedCluster | null> {
    await this.#enter('loadCluster');
    const items = this.#partition(clusterPk(cluster));
    const state = items.find((i) => i.sk === STATE_SK);
    if (!state) return null;
    const targets = items.find((i) => i.sk === TARGETS_SK);
    return {
      record: toRecord(cluster, state),
      nodes: items.filter((i) => String(i.sk).startsWith('NODE#')).map((i) => ({ ...toNode(cluster, i), hookKey: i.hookKey })),
      targets: targets ? (structuredClone(targets.status) as TargetStatus) : null,
    };
  }

  async currentEpoch(cluster: string): Promise<number> {
    await this.#enter('currentEpoch');
    const item = this.#get(clusterPk(cluster), STATE_SK);
    return item ? Number(item.epoch ?? 0) : -1;
  }

  async recordEvent(write: EventWrite): Promise<EventWriteOutcome> {
    await this.#enter('recordEvent');
    const { entry } = write;
    const now = this.#now();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    // Every condition of the transaction, evaluated on the items as they are; then all writes, or none.
    const replayTaken = write.replay !== null && !replayFree(this.#get(`REPLAY#${write.replay.digest}`, 'REPLAY'), nowSeconds);
    const event = eventKey(entry.cluster, entry.eventId);
    const stored = this.#get(event.pk, event.sk);
    let stateFails = false;
    let nodeFails = false;
    const node = this.#get(clusterPk(entry.cluster), nodeSk(write.claim ? write.claim.decision.primary : entry.node));
    if (write.claim) {
      stateFails = !claimHolds(this.#get(clusterPk(entry.cluster), STATE_SK), write.claim.decision, write.claim.expectedEpoch);
      nodeFails = !node || node.fenced !== false;
    } else if (write.health) {
      nodeFails = !node;
    }
    // The adapter reads the cancellation reasons in this order.
    if (replayTaken) return { kind: 'replay' };
    if (stored) return { kind: 'duplicate', payloadHash: String(stored.payloadHash), answer: structuredClone(stored.answer) as StoredAnswer };
    if (stateFails || nodeFails) return { kind: 'lost' };

    const writes: Write[] = [];
    if (write.replay) writes.push({ pk: `REPLAY#${write.replay.digest}`, sk: 'REPLAY', apply: () => ({ expiresAt: write.replay!.expiresAt }) });
    writes.push({ ...event, apply: () => ({ payloadHash: write.payloadHash, answer: structuredClone(write.answer), expiresAt: nowSeconds + EVENT_RETENTION_SECONDS }) });
    writes.push(this.#journalWrite(entry));
    if (write.claim) {
      writes.push(this.#claimWrite(write.claim.decision, entry.cluster, now.toISOString()), this.#healthWrite(entry.cluster, write.claim.decision.primary, 'primary', now.toISOString()));
    } else if (write.health) {
      writes.push(this.#healthWrite(entry.cluster, entry.node, write.health, now.toISOString()));
    }
    this.#commit(writes);
    return { kind: 'recorded' };
  }

  async recordTargets(cluster: string, status: TargetStatus): Promise<void> {
    await this.#enter('recordTargets');
    this.#commit([{ pk: clusterPk(cluster), sk: TARGETS_SK, apply: () => ({ status: structuredClone(status) }) }]);
  }

  async getNode(cluster: string, node: string): Promise<NodeWithKey | null> {
    await this.#enter('getNode');
    const item = this.#get(clusterPk(cluster), nodeSk(node));
    return item ? { ...toNode(cluster, item), hookKey: item.hookKey } : null;
  }

  async listNodes(cluster: string): Promise<NodeRecord[]> {
    await this.#enter('listNodes');
    return this.#partition(clusterPk(cluster))
      .filter((i) => String(i.sk).startsWith('NODE#'))
      .map((i) => toNode(cluster, i));
  }

  async listClusters(): Promise<string[]> {
    await this.#enter('listClusters');
    return [...this.#items.values()]
      .filter((i) => i.sk === STATE_SK)
      .map((i) => String(i.cluster))
      .sort();
  }

  async commitClaim(decision: Accepted, expectedEpoch: number, entry: JournalEntry): Promise<'committed' | 'lost'> {
    await this.#enter('commitClaim');
    const node = this.#get(clusterPk(entry.cluster), nodeSk(decision.primary));
    if (!claimHolds(this.#get(clusterPk(entry.cluster), STATE_SK), decision, expectedEpoch) || !node || node.fenced !== false) return 'lost';
    const now = this.#now().toISOString();
    this.#commit([this.#claimWrite(decision, entry.cluster, now), this.#healthWrite(entry.cluster, decision.primary, 'primary', now), this.#journalWrite(entry)]);
    return 'committed';
  }

  async journal(entry: JournalEntry): Promise<void> {
    await this.#enter('journal');
    this.#commit([this.#journalWrite(entry)]);
  }

  async readJournal(cluster: string, limit: number): Promise<JournalEntry[]> {
    await this.#enter('readJournal');
    return this.#partition(journalPk(cluster))
      .reverse()
      .slice(0, limit)
      .map((i) => i.entry as JournalEntry);
  }

  async recordApplied(cluster: string, epoch: number): Promise<boolean> {
    await this.#enter('recordApplied');
    const state = this.#get(clusterPk(cluster), STATE_SK);
    // `epoch = :e AND (attribute_not_exists(appliedEpoch) OR appliedEpoch <= :e)`
    if (!state || state.epoch !== epoch || (state.appliedEpoch !== undefined && !(state.appliedEpoch <= epoch))) return false;
    const now = this.#now().toISOString();
    this.#commit([{ pk: clusterPk(cluster), sk: STATE_SK, apply: (old) => ({ ...old, appliedEpoch: epoch, appliedAt: now }) }]);
    return true;
  }

  async setNodeHealth(cluster: string, node: string, health: NodeHealth): Promise<boolean> {
    await this.#enter('setNodeHealth');
    const item = this.#get(clusterPk(cluster), nodeSk(node));
    if (!item || item.health === health) return false;
    this.#commit([this.#healthWrite(cluster, node, health, this.#now().toISOString())]);
    return true;
  }

  async notePage(key: string, windowSeconds: number): Promise<{ send: boolean; suppressedBefore: number }> {
    await this.#enter('notePage');
    const now = Math.floor(this.#now().getTime() / 1000);
    const pk = `PAGE#${key}`;
    const old = this.#get(pk, 'PAGE');
    if (!old || old.lastSentAt <= now - windowSeconds) {
      this.#commit([{ pk, sk: 'PAGE', apply: () => ({ lastSentAt: now, suppressed: 0, expiresAt: now + windowSeconds * 4 }) }]);
      return { send: true, suppressedBefore: Number(old?.suppressed ?? 0) };
    }
    // The adapter's second round trip: `ADD suppressed :one`.
    this.#count('notePage');
    this.#commit([{ pk, sk: 'PAGE', apply: (item) => ({ ...item, suppressed: Number(item?.suppressed ?? 0) + 1 }) }]);
    return { send: false, suppressedBefore: 0 };
  }

  async applyCluster(config: ClusterConfig, systemIdentifier: string | null, nodes: NodeWithKey[]): Promise<{ created: boolean }> {
    await this.#enter('applyCluster');
    // The adapter's round trips: getCluster, the state update, one update per node.
    this.#count('applyCluster', 1 + nodes.length);
    const now = this.#now().toISOString();
    const existing = this.#get(clusterPk(config.cluster), STATE_SK);
    // Settings replaced; the fencing record kept (if_not_exists); a given system identifier is a deliberate re-pin.
    this.#commit([
      {
        pk: clusterPk(config.cluster),
        sk: STATE_SK,
        apply: (old) => ({
          ...old,
          cluster: config.cluster,
          tool: config.tool,
          endpoints: structuredClone(config.endpoints),
          replayWindowSeconds: config.replayWindowSeconds,
          fencing: config.fencing,
          isolationSecurityGroupId: config.isolationSecurityGroupId,
          dryRun: config.dryRun,
          updatedAt: now,
          primary: ifNotExists(old, 'primary', null),
          timeline: ifNotExists(old, 'timeline', 0),
          epoch: ifNotExists(old, 'epoch', 0),
          appliedEpoch: ifNotExists(old, 'appliedEpoch', 0),
          systemIdentifier: systemIdentifier ?? ifNotExists(old, 'systemIdentifier', null),
        }),
      },
    ]);
    for (const node of nodes) {
      // An update, not a put: the node's health survives a re-apply (`health = if_not_exists(health, :unknown)`).
      this.#commit([
        {
          pk: clusterPk(config.cluster),
          sk: nodeSk(node.name),
          apply: (old) => ({
            ...old,
            name: node.name,
            repmgrNodeId: node.repmgrNodeId,
            eni: node.eni,
            instanceId: node.instanceId,
            privateIp: node.privateIp,
            fenced: node.fenced,
            hookKey: node.hookKey,
            health: ifNotExists(old, 'health', 'unknown'),
          }),
        },
      ]);
    }
    return { created: existing === undefined };
  }

  // ---- internals ----------------------------------------------------------------------------------------------------

  /** One round trip: yield (other callers interleave as they would on the network), run test actions, then faults. */
  async #enter(method: StoreMethod): Promise<void> {
    this.#count(method);
    await Promise.resolve();
    const actions = this.#before.get(method);
    if (actions?.length) {
      this.#before.set(method, []);
      this.#inAction++;
      try {
        for (const action of actions) await action(this);
      } finally {
        this.#inAction--;
      }
    }
    const faults = this.#faults.get(method);
    if (faults?.length) throw faults.shift();
  }

  #count(method: StoreMethod, n = 1): void {
    if (this.#inAction === 0) this.calls[method] = (this.calls[method] ?? 0) + n;
  }

  #get(pk: string, sk: string): Item | undefined {
    return this.#items.get(keyOf(pk, sk));
  }

  /** A partition's items (copies), in `sk` order, as a Query returns them. */
  #partition(pk: string): Item[] {
    return [...this.#items.values()]
      .filter((i) => i.pk === pk)
      .sort((a, b) => cmp(a.sk, b.sk))
      .map((i) => structuredClone(i));
  }

  /** Apply writes together (no await in between: atomic), appending a stream record for each item that changed. */
  #commit(writes: Write[]): void {
    for (const { pk, sk, apply } of writes) {
      const key = keyOf(pk, sk);
      const old = this.#items.get(key);
      const next = { ...structuredClone(apply(old && structuredClone(old))), pk, sk };
      this.#items.set(key, next);
      // DynamoDB Streams writes no record for a write that changed nothing.
      if (old && isDeepStrictEqual(old, next)) continue;
      this.#stream.push({ sequence: String(++this.#sequence).padStart(21, '0'), pk, sk, old: old ? structuredClone(old) : null, new: structuredClone(next) });
    }
  }

  #journalWrite(entry: JournalEntry): Write {
    const expiresAt = Math.floor(this.#now().getTime() / 1000) + JOURNAL_RETENTION_SECONDS;
    return {
      pk: journalPk(entry.cluster),
      sk: `${entry.receivedAt}#${entry.eventId}#${entry.outcome}`,
      // A put: replaces the item. Top-level flags as the adapter writes them (the stream filter selects on them).
      apply: () => ({ entry: structuredClone(entry), ...(entry.page ? { page: true } : {}), ...(entry.fence ? { fence: true } : {}), expiresAt }),
    };
  }

  #claimWrite(decision: Accepted, cluster: string, now: string): Write {
    return {
      pk: clusterPk(cluster),
      sk: STATE_SK,
      apply: (old) => ({ ...old, primary: decision.primary, timeline: decision.timeline, epoch: decision.epoch, systemIdentifier: decision.systemIdentifier, updatedAt: now, committedAt: now }),
    };
  }

  #healthWrite(cluster: string, node: string, health: NodeHealth, now: string): Write {
    return { pk: clusterPk(cluster), sk: nodeSk(node), apply: (old) => ({ ...old, health, healthAt: now }) };
  }
}

/**
 * The adapter's claim condition on the stored state item: `epoch = :expected AND (timeline < :tl OR no primary OR
 * (timeline = :tl AND primary = :node)) AND (no system identifier OR systemIdentifier = :sid)`.
 */
function claimHolds(state: Item | undefined, decision: Accepted, expectedEpoch: number): boolean {
  if (!state || state.epoch !== expectedEpoch) return false;
  const noPrimary = state.primary === undefined || state.primary === null;
  const newer = (typeof state.timeline === 'number' && state.timeline < decision.timeline) || noPrimary || (state.timeline === decision.timeline && state.primary === decision.primary);
  const sameData = state.systemIdentifier === undefined || state.systemIdentifier === null || state.systemIdentifier === decision.systemIdentifier;
  return newer && sameData;
}

/** `attribute_not_exists(pk) OR expiresAt < :now`: an expired guard awaiting the TTL sweep no longer counts. */
function replayFree(item: Item | undefined, nowSeconds: number): boolean {
  return item === undefined || item.expiresAt < nowSeconds;
}

/** DynamoDB's `if_not_exists(attr, value)`: the stored attribute when present (even null), else `value`. */
function ifNotExists(item: Item | undefined, attribute: string, value: unknown): unknown {
  return item !== undefined && attribute in item ? item[attribute] : value;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toRecord(cluster: string, item: Item): ClusterRecord {
  return {
    config: {
      cluster,
      tool: item.tool,
      endpoints: structuredClone(item.endpoints ?? {}),
      replayWindowSeconds: item.replayWindowSeconds,
      fencing: item.fencing ?? 'alert',
      ...(typeof item.isolationSecurityGroupId === 'string' ? { isolationSecurityGroupId: item.isolationSecurityGroupId } : {}),
      dryRun: item.dryRun === true,
    },
    state: {
      cluster,
      primary: item.primary ?? null,
      timeline: item.timeline ?? 0,
      epoch: item.epoch ?? 0,
      appliedEpoch: item.appliedEpoch ?? 0,
      systemIdentifier: item.systemIdentifier ?? null,
      updatedAt: item.updatedAt,
    },
  };
}

function toNode(cluster: string, item: Item): NodeRecord {
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

// ---- fixtures -------------------------------------------------------------------------------------------------------

/** The endpoint settings of the unit tests' cluster: two route tables (a typical multi-AZ VPC). */
export const ROUTE_TABLES = { vip: '10.0.255.10', routeTableIds: ['rtb-0a1b2c3d4e5f60718', 'rtb-0f1e2d3c4b5a69788'] };

/** A registered cluster's settings: repmgr `pg-main`, route tables, alert-only fencing, live (not a dry run). */
export function clusterConfig(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return { cluster: 'pg-main', tool: 'repmgr', endpoints: { routeTables: ROUTE_TABLES }, replayWindowSeconds: 300, fencing: 'alert', dryRun: false, ...overrides };
}

/** A member with its hook key: `nodeN` gets repmgr id N, ENI `eni-nodeN`, instance `i-nodeN`, address 10.0.1.N. */
export function memberWithKey(name: string, overrides: Partial<NodeWithKey> = {}): NodeWithKey {
  const id = /^node(\d+)$/.exec(name)?.[1];
  return {
    cluster: 'pg-main',
    name,
    repmgrNodeId: id === undefined ? null : Number(id),
    eni: `eni-${name}`,
    instanceId: `i-${name}`,
    privateIp: id === undefined ? null : `10.0.1.${id}`,
    fenced: false,
    hookKey: `hook-key-of-${name}-0123456789abcdef`,
    ...overrides,
  };
}

/**
 * A store holding one registered cluster (`applyCluster`, as `vipswitch apply` does), with nothing counted and nothing
 * on the stream yet: what a test then observes is only what the code under test did.
 */
export async function storeWithCluster(
  options: { config?: Partial<ClusterConfig>; nodes?: NodeWithKey[]; systemIdentifier?: string | null; state?: Partial<Omit<ClusterState, 'cluster'>>; now?: () => Date } = {},
): Promise<InMemoryClusterStore> {
  const store = new InMemoryClusterStore({ now: options.now });
  const nodes = options.nodes ?? ['node1', 'node2', 'node3'].map((n) => memberWithKey(n));
  await store.applyCluster(clusterConfig(options.config), options.systemIdentifier ?? null, nodes);
  if (options.state) store.setState('pg-main', options.state);
  store.resetCalls();
  store.takeChanges();
  return store;
}
