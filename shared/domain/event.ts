/**
 * The v1 event: what a hook sends for one repmgr / Patroni / keepalived / Pgpool-II call (DESIGN.md, "Wire contract").
 * Plain types only; the zod schema that validates untrusted input lives in shared/protocol/event-schema.ts.
 */
export const EVENT_VERSION = 1 as const;

export const EVENT_SOURCES = ['repmgr', 'patroni', 'operator', 'keepalived', 'pgpool'] as const;
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

/**
 * What the local Pgpool-II watchdog said at hook time (`pcp_watchdog_info -v`, shared/peers/pgpool/findings.md §8).
 * pgpool events carry these instead of PostgreSQL facts: for those clusters the endpoint follows the watchdog leader.
 */
export interface WatchdogFacts {
  /** The local node is the leader: `Leader Node Name` is the first (local) node, whose `Status Name` is `LEADER`. */
  leader: boolean;
  /** `Quorum state: QUORUM EXIST` and `Alive Remote Nodes` >= `Nodes required for quorum` - 1. */
  quorum: boolean;
  /** `Local node escalation: YES` (set when the watchdog forks its escalation, before any hook runs). */
  escalated: boolean;
  /**
   * The leadership token the hook minted for a claim (Unix ms by the node's clock, strictly increasing per node); null
   * when the node is not the quorum-backed leader. The watchdog exposes no term: this is vipswitch's own ordering key.
   */
  token: number | null;
  /** The local node's `Status Name` (`LEADER`, `STANDBY`, ...), for humans; null when absent. */
  localState: string | null;
  /** `Quorum state` as printed (`QUORUM EXIST`, `QUORUM ABSENT`, `NO LEADER NODE`, ...), for humans; null when absent. */
  quorumState: string | null;
}

/**
 * The facts of a pgpool event. The PostgreSQL fields are declared absent so that code reading `facts.inRecovery` on
 * any event stays typed (and sees `undefined`, never a guess).
 */
export interface PgpoolFacts {
  watchdog: WatchdogFacts;
  inRecovery?: undefined;
  timeline?: undefined;
  lsn?: undefined;
  systemIdentifier?: undefined;
}

/** What a hook reports about its node: PostgreSQL facts, or (pgpool) the watchdog's. */
export type EventFacts = NodeFacts | PgpoolFacts;

/** True for the facts of a pgpool event. */
export function isPgpoolFacts(facts: EventFacts | null | undefined): facts is PgpoolFacts {
  return facts !== null && facts !== undefined && 'watchdog' in facts && facts.watchdog !== undefined;
}

/** The PostgreSQL facts of an event, or null (none, or the watchdog's). */
export function postgresFacts(facts: EventFacts | null | undefined): NodeFacts | null {
  return facts === null || facts === undefined || isPgpoolFacts(facts) ? null : facts;
}

/** Whose clock `occurredAt` is: the tool's own time (`tool`), or the hook's standing in for a missing one (`hook`). */
export const OCCURRED_AT_FROM = ['tool', 'hook'] as const;
export type OccurredAtFrom = (typeof OCCURRED_AT_FROM)[number];

export interface VipEvent {
  v: typeof EVENT_VERSION;
  /** Unique per hook call; the idempotency key. */
  id: string;
  cluster: string;
  node: string;
  source: EventSource;
  /**
   * repmgr `%e` (e.g. `standby_promote`); Patroni action (e.g. `on_role_change`); keepalived transition (`master`,
   * `backup`, `fault`, `stop`, `master_rx_lower_pri`); Pgpool-II command (`if_up`, `if_down`, `escalation`, `de_escalation`).
   */
  type: string;
  /** repmgr `%s`; always true for Patroni. */
  success: boolean;
  /** Patroni role argument (`master`, `primary`, `replica`, `demoted`, `standby_leader`); null for the other tools. */
  role: string | null;
  /** ISO 8601. */
  occurredAt: string;
  /** repmgr `%d`; keepalived `INSTANCE <name> <STATE> <priority>`; the VIP for Pgpool-II; empty for Patroni. */
  details: string;
  /** PostgreSQL facts (repmgr, Patroni, keepalived), the watchdog's (Pgpool-II); null when the probe failed. */
  facts: EventFacts | null;
  /**
   * The tool's arguments as received by the hook, after the mode word (`repmgr`, `patroni`, `keepalived`, `pgpool`).
   * `occurredAtFrom: 'hook'` (optional, added to v1): `occurredAt` is the hook's clock because the tool's line passed no
   * time of its own (a repmgr line without `%t`); absent when the time is the tool's (or the tool never passes one).
   */
  raw: { argv: string[]; occurredAtFrom?: OccurredAtFrom };
}
