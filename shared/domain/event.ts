/**
 * The v1 event: what a hook sends for one repmgr / Patroni call (DESIGN.md, "Wire contract").
 * Plain types only; the zod schema that validates untrusted input lives in shared/protocol/event-schema.ts.
 */
export const EVENT_VERSION = 1 as const;

export const EVENT_SOURCES = ['repmgr', 'patroni', 'operator'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** What the node reported about itself at hook time. `null` as a whole when the probe failed. */
export interface NodeFacts {
  /** `pg_is_in_recovery()`. */
  inRecovery: boolean;
  /** Primary: from the current WAL file name; standby: `pg_stat_wal_receiver.received_tli`; null if unknown. */
  timeline: number | null;
  /** `pg_current_wal_lsn()` on a primary, last receive/replay LSN on a standby. */
  lsn: string | null;
  /** `pg_control_system().system_identifier` as a decimal string (it exceeds 2^53). */
  systemIdentifier: string | null;
}

export interface VipEvent {
  v: typeof EVENT_VERSION;
  /** Unique per hook call; the idempotency key. */
  id: string;
  cluster: string;
  node: string;
  source: EventSource;
  /** repmgr `%e` (e.g. `standby_promote`); Patroni action (e.g. `on_role_change`). */
  type: string;
  /** repmgr `%s`; always true for Patroni. */
  success: boolean;
  /** Patroni role argument (`master`, `primary`, `replica`, `demoted`, `standby_leader`); null for repmgr. */
  role: string | null;
  /** ISO 8601. */
  occurredAt: string;
  /** repmgr `%d`; empty for Patroni. */
  details: string;
  facts: NodeFacts | null;
  /** The tool's arguments as received by the hook, after the mode word (`repmgr` / `patroni`). */
  raw: { argv: string[] };
}
