import { isPrimaryRole } from './patroni-argv';
import { KEEPALIVED_MASTER_TRANSITIONS } from './keepalived-argv';
import { PGPOOL_CLAIM_COMMANDS } from './pgpool-argv';
import { isQuorumBackedLeader } from './watchdog-info';
import { isPgpoolFacts, postgresFacts, type VipEvent } from './event';

/** What an event means for the endpoint, before looking at the cluster's state. */
export const EventKind = {
  /** Facts show the node out of recovery: it asserts it is the primary (whatever the label). */
  PrimaryAssertion: 'primary_assertion',
  /** The label claims a promotion but the facts are missing or contradict it: never acted on automatically. */
  UnverifiedClaim: 'unverified_claim',
  /** A fault worth a page (failed promotion, aborted failover, a standby marked failed, any `success=0`). */
  Fault: 'fault',
  /** A primary stepping down. */
  Demotion: 'demotion',
  /**
   * The tool made the node its master (keepalived MASTER) but the node's PostgreSQL is in recovery: the tool and
   * PostgreSQL disagree. Never a claim; journaled and paged (shared/peers/keepalived/findings.md §8: 11 of 19).
   */
  RoleDisagreement: 'role_disagreement',
  /** Everything else: recorded, nothing moves. */
  Informational: 'informational',
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** repmgr events that announce this node became primary. */
const REPMGR_PROMOTIONS = new Set(['standby_promote', 'repmgrd_failover_promote', 'standby_switchover']);
/** repmgr events that are faults even when `%s` is 1. */
const REPMGR_FAULTS = new Set(['repmgrd_failover_aborted', 'repmgrd_promote_error', 'standby_failure', 'repmgrd_upstream_disconnect_fatal']);

/** True when the event's label (not its facts) says "I am now the primary". */
export function labelClaimsPrimary(event: Pick<VipEvent, 'source' | 'type' | 'role' | 'success'>): boolean {
  if (!event.success) return false;
  if (event.source === 'repmgr') return REPMGR_PROMOTIONS.has(event.type);
  if (event.source === 'patroni') return (event.type === 'on_role_change' || event.type === 'on_start') && isPrimaryRole(event.role);
  if (event.source === 'keepalived') return (KEEPALIVED_MASTER_TRANSITIONS as readonly string[]).includes(event.type);
  if (event.source === 'pgpool') return (PGPOOL_CLAIM_COMMANDS as readonly string[]).includes(event.type);
  return event.type === 'confirm_primary';
}

/**
 * Classify an event. Facts over labels: out of recovery is a primary assertion whatever the event's name
 * (a manual `pg_ctl promote` is still a promotion). A promotion label without usable facts is unverified.
 */
export function classify(event: Pick<VipEvent, 'source' | 'type' | 'role' | 'success' | 'facts'>): EventKind {
  // Pgpool-II: the facts are the watchdog's; a claim counts only from the quorum-backed leader (with its token).
  if (event.source === 'pgpool' || isPgpoolFacts(event.facts)) {
    if (!labelClaimsPrimary(event)) return EventKind.Informational;
    return isPgpoolFacts(event.facts) && isQuorumBackedLeader(event.facts.watchdog) && event.facts.watchdog.token !== null ? EventKind.PrimaryAssertion : EventKind.UnverifiedClaim;
  }
  const facts = postgresFacts(event.facts);
  if (facts !== null && facts.inRecovery === false) {
    // Without a timeline it cannot be ordered; without a system identifier it cannot be shown to be this cluster's data.
    return facts.timeline === null || !facts.systemIdentifier ? EventKind.UnverifiedClaim : EventKind.PrimaryAssertion;
  }
  if (labelClaimsPrimary(event)) {
    // keepalived's MASTER on a standby is not an unverified claim: the facts positively deny it.
    return event.source === 'keepalived' && facts?.inRecovery === true ? EventKind.RoleDisagreement : EventKind.UnverifiedClaim;
  }
  if (!event.success || (event.source === 'repmgr' && REPMGR_FAULTS.has(event.type))) return EventKind.Fault;
  if (event.source === 'patroni' && event.role === 'demoted') return EventKind.Demotion;
  return EventKind.Informational;
}
