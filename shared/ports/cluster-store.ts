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
  /** Decision details the actuator needs to page or fence after the answer (e.g. the current holder of a stale claim). */
  details?: Record<string, unknown>;
  /** The actuator pages for this entry (a lost claim, a fault): set by `processEvent`, read by the stream trigger. */
  page?: boolean;
  /** The actuator applies the cluster's fencing policy against this entry's node (a stale claim). */
  fence?: boolean;
}

/** What an actuator did to one endpoint target. */
export interface ActionReport {
  mechanism: 'route_table' | 'elastic_ip' | 'secondary_ip' | 'route53_writer' | 'route53_reader';
  target: string;
  /**
   * `moved`: changed now; `created`: was missing, created now; `in_place`: already right, nothing done;
   * `planned`: would change (dry run); `failed`: see `error` (retried by reconcile);
   * `superseded`: a newer epoch was committed while this move was under way (the fencing guard said so), so this move
   * gave way: either its mutation was not made, or (`verified: false`) it was made and the wait for its confirmation
   * stopped. The convergence for the newer epoch owns the target now; not a failure.
   */
  result: 'moved' | 'created' | 'in_place' | 'planned' | 'failed' | 'superseded';
  /** Where the target should point: where it points now for `moved` / `created` / `in_place`, else where it would. */
  to: string;
  /** Where the target pointed when observed, before any change (`null`: nowhere, e.g. a missing route). */
  from?: string | null;
  /** Milliseconds this target took, observe + act + verify. */
  ms?: number;
  /**
   * Set once a change was made: `true` when it was confirmed (read back to `to`, or Route 53 reported the change
   * INSYNC), `false` when it was not (`failed` with `VerificationFailed` / `InsyncTimeout`, or `superseded` while
   * waiting). Absent when nothing was changed, or when the mechanism was told not to confirm (Route 53 without
   * `waitForInsync`).
   */
  verified?: boolean;
  /** What the last read-back after the change saw (as `from` is written; `null`: nowhere). Absent where nothing was read back. */
  observedAfter?: string | null;
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
  /**
   * The key a rotation is bringing in (`vipswitch keys rotate`): while set, a request signed with either key is
   * accepted, so the node's hook is never refused while its new key is being installed.
   */
  hookKeyNext?: string | null;
  /** When the rotation started (ISO 8601); set with `hookKeyNext`. */
  hookKeyNextAt?: string | null;
}

/** Everything one event needs, read in one round trip: the cluster, its members (with keys), its targets' status. */
export interface LoadedCluster {
  record: ClusterRecord;
  nodes: NodeWithKey[];
  targets: TargetStatus | null;
}

/** Where the endpoint stands: what the actuator last did for which epoch (the status API shows it). */
export interface TargetStatus {
  epoch: number;
  primary: string;
  /** `converging`: a move for `epoch` is under way; `converged`: every target verified; `failed`: see the targets. */
  phase: 'converging' | 'converged' | 'failed';
  /** When this epoch's convergence started, and when `phase` was last set (ISO 8601). */
  since: string;
  at: string;
  /** Per target: desired (`to`) vs observed before the move (`from`), the result, and whether it was read back. */
  targets: ActionReport[];
}

/** The answer stored with an event id, returned again to a duplicate. */
export interface StoredAnswer {
  status: number;
  body: { code: string; message: string };
}

/**
 * One event's writes, made atomically (one transaction): the replay guard, the event-id record (idempotency: the
 * answer kept for duplicates), the journal entry, and, for a winning claim, the fencing record and the node's health.
 */
export interface EventWrite {
  entry: JournalEntry;
  /** The request signature's digest, kept until `expiresAt` (unix seconds): the same signed request twice is a replay. */
  replay: { digest: string; expiresAt: number } | null;
  /** Hash of the event body: the same id with another body is refused. */
  payloadHash: string;
  answer: StoredAnswer;
  /** A winning claim, committed iff the stored epoch is still `expectedEpoch` and the fencing rule holds. */
  claim?: { decision: Extract<Decision, { outcome: 'accepted' }>; expectedEpoch: number };
  /** A health change to record (only when it differs from what was read: no write known to fail). */
  health?: NodeHealth;
}

/** What became of an {@link EventWrite}. Nothing was written unless `recorded`. */
export type EventWriteOutcome =
  | { kind: 'recorded' }
  | { kind: 'replay' }
  | { kind: 'duplicate'; payloadHash: string; answer: StoredAnswer }
  /** The fencing record or the node changed since it was read: read again and decide again. */
  | { kind: 'lost' };

/**
 * Persistence of clusters, nodes, the journal and the replay guard.
 * Reads are strongly consistent. Methods throw only for infrastructure faults; outcomes a caller must handle
 * (a lost race, a replay) are return values.
 */
export interface ClusterStore {
  getCluster(cluster: string): Promise<ClusterRecord | null>;
  /** The cluster, its nodes and its target status in one strongly consistent Query; null when not registered. */
  loadCluster(cluster: string): Promise<LoadedCluster | null>;
  /** The current epoch only (a cheap read: the actuator's guard right before each mutation). -1 when not registered. */
  currentEpoch(cluster: string): Promise<number>;
  /**
   * Write one event's records atomically (see {@link EventWrite}). Never partially applies; a lost race, a replay and a
   * duplicate are outcomes, not errors. Throws only for infrastructure faults (then nothing was written).
   */
  recordEvent(write: EventWrite): Promise<EventWriteOutcome>;
  /** Record where the endpoint stands (overwrites the previous status). */
  recordTargets(cluster: string, status: TargetStatus): Promise<void>;
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
  /** Record a node's health. @returns true when it changed. */
  setNodeHealth(cluster: string, node: string, health: NodeHealth): Promise<boolean>;
  /**
   * Page de-duplication ledger: the first page of `key` in a window is sent, repeats inside it are counted.
   * @returns `send: false` for a repeat; `suppressedBefore`: repeats counted since the last sent one.
   */
  notePage(key: string, windowSeconds: number): Promise<{ send: boolean; suppressedBefore: number }>;
  /**
   * Create or update a cluster and its nodes from config; keeps the fencing record of an existing cluster and the
   * nodes' health (re-applying a live cluster must not make its replicas look unknown).
   */
  applyCluster(config: ClusterConfig, systemIdentifier: string | null, nodes: NodeWithKey[]): Promise<{ created: boolean }>;
}
