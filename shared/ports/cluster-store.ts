import type { Decision } from '../domain/decide';
import type { ClusterConfig, ClusterState, NodeHealth, NodeRecord } from '../domain/cluster';
import type { VipEvent } from '../domain/event';

/** One line of the event journal: every event the API accepted for processing, with its answer. */
export interface JournalEntry {
  cluster: string;
  eventId: string;
  receivedAt: string;
  node: string;
  type: string;
  outcome: Decision['outcome'] | 'operator_confirmed' | 'fencing_action';
  reason: string;
  epoch: number | null;
  event: VipEvent;
  actions?: ActionReport[];
}

/** What an actuator did to one endpoint target. */
export interface ActionReport {
  mechanism: 'route_table' | 'elastic_ip' | 'secondary_ip' | 'route53_writer' | 'route53_reader';
  target: string;
  /**
   * `moved`: changed now; `created`: was missing, created now; `in_place`: already right, nothing done;
   * `planned`: would change (dry run); `failed`: see `error` (retried by reconcile).
   */
  result: 'moved' | 'created' | 'in_place' | 'planned' | 'failed';
  /** What the target points at now (or would, for `planned`). */
  to: string;
  from?: string | null;
  /** Milliseconds this target took, observe + act + verify. */
  ms?: number;
  error?: { code: string; message: string };
}

/** A cluster as registered: its settings, its fencing record and its members. */
export interface ClusterRecord {
  config: ClusterConfig;
  state: ClusterState;
}

/** A registered node with its hook key (never leaves the API process). */
export interface NodeWithKey extends NodeRecord {
  hookKey: string;
}

/**
 * Persistence of clusters, nodes, the journal and the replay guard.
 * Reads are strongly consistent. Methods throw only for infrastructure faults; outcomes a caller must handle
 * (a lost race, a replay) are return values.
 */
export interface ClusterStore {
  getCluster(cluster: string): Promise<ClusterRecord | null>;
  getNode(cluster: string, node: string): Promise<NodeWithKey | null>;
  listNodes(cluster: string): Promise<NodeRecord[]>;
  listClusters(): Promise<string[]>;
  /**
   * Commit an accepted claim atomically with its journal entry. The write succeeds iff the stored epoch still
   * equals `expectedEpoch`, the fencing rule still holds on the stored item (newer timeline, or the recorded
   * primary on the same timeline; same system identifier), and the node is registered and not fenced.
   * @returns `committed`, or `lost` when any condition failed (re-read and decide again). Never partially applies.
   */
  commitClaim(decision: Extract<Decision, { outcome: 'accepted' }>, expectedEpoch: number, entry: JournalEntry): Promise<'committed' | 'lost'>;
  /** Append a journal entry. Idempotent per (cluster, eventId, outcome). */
  journal(entry: JournalEntry): Promise<void>;
  /** Latest journal entries, newest first. */
  readJournal(cluster: string, limit: number): Promise<JournalEntry[]>;
  /**
   * Record that the endpoint reflects `epoch`. Conditional: only raises `appliedEpoch`, and only while `epoch` is
   * still the current one. @returns false when a newer claim moved the epoch meanwhile (converge again).
   */
  recordApplied(cluster: string, epoch: number): Promise<boolean>;
  /**
   * Remember a request signature until `expiresAt` (unix seconds). @returns false when it was seen before (a replay).
   */
  rememberSignature(digest: string, expiresAt: number): Promise<boolean>;
  /** Record a node's health. @returns true when it changed (the reader record may need to follow). */
  setNodeHealth(cluster: string, node: string, health: NodeHealth): Promise<boolean>;
  /**
   * Page de-duplication ledger: the first page of `key` in a window is sent, repeats inside it are counted.
   * @returns `send: false` for a repeat; `suppressedBefore`: repeats counted since the last sent one.
   */
  notePage(key: string, windowSeconds: number): Promise<{ send: boolean; suppressedBefore: number }>;
  /** Create or update a cluster and its nodes from config; keeps the fencing record of an existing cluster. */
  applyCluster(config: ClusterConfig, systemIdentifier: string | null, nodes: NodeWithKey[]): Promise<{ created: boolean }>;
}
