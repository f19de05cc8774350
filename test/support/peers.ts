/**
 * The real hook captures from shared/peers (copied, unedited, into test/fixtures/peers), turned into what the
 * hook would hand the domain: (mode, args, facts). Also a tiny in-memory "store" that applies accepted decisions
 * the way the DynamoDB conditional write does, so tests can replay a capture through `decide`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterState, NodeRecord } from '../../shared/domain/cluster';
import type { Decision } from '../../shared/domain/decide';
import type { NodeFacts } from '../../shared/domain/event';
import type { HookMode } from '../../shared/protocol/build-event';

const FIXTURES = join(__dirname, '..', 'fixtures', 'peers');

/** The `local_state.sql` probe of one capture (absent when psql failed, e.g. PostgreSQL was down). */
export interface CapturedSql {
  pg_is_in_recovery?: boolean | null;
  checkpoint_timeline_id?: number | null;
  system_identifier?: string | null;
  pg_current_wal_lsn?: string | null;
  current_walfile_timeline?: number | null;
  pg_last_wal_replay_lsn?: string | null;
  pg_last_wal_receive_lsn?: string | null;
  wal_receiver_received_tli?: number | null;
}

/** One `kind: "invocation"` line, as the hook would see it. */
export interface PeerInvocation {
  /** Position among the file's invocations (0-based), in capture order. */
  index: number;
  mode: HookMode;
  /** The member that was called: the capture's `node` field (what the hook's config would say). */
  node: string;
  /** When the hook process started (capture clock, ISO 8601). */
  invokedAt: string;
  /** argv verbatim: argv[0] is the capture script. */
  argv: string[];
  /** The tool's arguments (argv without argv[0]): what follows the hook's mode word. */
  args: string[];
  /** What the real hook would send: null when the probe failed. */
  facts: NodeFacts | null;
  /** The raw probe, for tests that need a column the hook does not send (e.g. the lagging checkpoint timeline). */
  sql: CapturedSql | null;
}

interface RawLine {
  kind: string;
  tool: string;
  node: string;
  t_invoked_utc: string;
  argv: string[];
  env?: Record<string, string>;
  local_state?: { sql?: CapturedSql | null };
}

/**
 * Facts as the hook derives them. Timeline: on a primary the WAL file's timeline (current_walfile_timeline),
 * on a standby the timeline it receives (wal_receiver_received_tli); never checkpoint_timeline_id, which lags
 * a promotion (228 s once). LSN likewise: current WAL LSN on a primary, last received (else replayed) on a standby.
 */
export function factsFromSql(sql: CapturedSql | null | undefined): NodeFacts | null {
  if (sql === null || sql === undefined || typeof sql.pg_is_in_recovery !== 'boolean') return null;
  const inRecovery = sql.pg_is_in_recovery;
  return {
    inRecovery,
    timeline: (inRecovery ? sql.wal_receiver_received_tli : sql.current_walfile_timeline) ?? null,
    lsn: (inRecovery ? (sql.pg_last_wal_receive_lsn ?? sql.pg_last_wal_replay_lsn) : sql.pg_current_wal_lsn) ?? null,
    systemIdentifier: sql.system_identifier ?? null,
  };
}

function load(file: string, mode: HookMode): PeerInvocation[] {
  const lines = readFileSync(join(FIXTURES, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RawLine)
    .filter((line) => line.kind === 'invocation');
  return lines.map((line, index) => {
    if (line.tool !== mode) throw new Error(`${file}: invocation ${index} is from ${line.tool}, expected ${mode}`);
    const sql = line.local_state?.sql ?? null;
    return {
      index,
      mode,
      node: line.node,
      invokedAt: line.t_invoked_utc,
      argv: line.argv,
      args: line.argv.slice(1),
      facts: factsFromSql(sql),
      sql,
    };
  });
}

/** The 41 repmgr invocations (3 nodes: setup, switchover node1→node2, failover node2→node1, rejoin, shutdown). */
export const loadRepmgrInvocations = (): PeerInvocation[] => load('repmgr-events.jsonl', 'repmgr');
/** The 20 Patroni invocations (3 members: bootstrap, switchover pg1→pg2, pg2 self re-promote, failover to pg3). */
export const loadPatroniInvocations = (): PeerInvocation[] => load('patroni-callbacks.jsonl', 'patroni');

/** The repmgr capture's cluster identity (`system_identifier`, constant over every probe). */
export const REPMGR_SYSTEM_ID = '7710811430681400266';
/** The Patroni capture's cluster identity. */
export const PATRONI_SYSTEM_ID = '7710812560328581857';

/** A registered member; repmgr node names `nodeN` get repmgr id N. */
export function nodeRecord(name: string, overrides: Partial<NodeRecord> = {}): NodeRecord {
  const id = /^node(\d+)$/.exec(name)?.[1];
  return {
    cluster: 'pg-main',
    name,
    repmgrNodeId: id === undefined ? null : Number(id),
    eni: `eni-${name}`,
    instanceId: `i-${name}`,
    privateIp: null,
    fenced: false,
    ...overrides,
  };
}

/** A cluster with no accepted claim yet: primary null, timeline 0, epoch 0, no pinned system identifier. */
export function emptyClusterState(cluster = 'pg-main'): ClusterState {
  return { cluster, primary: null, timeline: 0, epoch: 0, appliedEpoch: 0, systemIdentifier: null, updatedAt: '2026-11-22T00:00:00.000Z' };
}

/** What the store's conditional write does with a decision: only `accepted` changes the item. */
export function applyDecision(state: ClusterState, decision: Decision): ClusterState {
  if (decision.outcome !== 'accepted') return state;
  return {
    ...state,
    primary: decision.primary,
    timeline: decision.timeline,
    epoch: decision.epoch,
    systemIdentifier: state.systemIdentifier ?? decision.systemIdentifier,
  };
}
