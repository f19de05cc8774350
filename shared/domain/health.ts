import { classify, EventKind } from './classify';
import type { NodeHealth } from './cluster';
import type { Decision } from './decide';
import { isPgpoolFacts, type VipEvent } from './event';
import { PGPOOL_RELEASE_COMMANDS } from './pgpool-argv';

/** repmgr events that say the node's own PostgreSQL is down or unreachable. */
const REPMGR_DOWN = new Set(['standby_failure', 'repmgrd_local_disconnect']);

/**
 * The health an event tells about its node, or null when it tells nothing new. Replicas serve the reader record
 * only while `replica`: facts in recovery and no fault. A losing primary claim is `failed`: it must never serve.
 */
export function healthFromEvent(event: VipEvent, decision: Decision): NodeHealth | null {
  if (decision.outcome === 'accepted') return 'primary';
  if (decision.outcome === 'stale_claim' || decision.outcome === 'system_identifier_mismatch') return 'failed';
  if (decision.outcome !== 'ignored') return null;
  if (event.source === 'patroni' && event.type === 'on_stop') return 'stopped';
  if (event.source === 'keepalived') {
    // The VRRP state is keepalived's own word about the node: STOP (keepalived stopping), FAULT (an interface or a
    // tracked check failed: the node cannot serve). BACKUP and a MASTER denied by the facts read the facts below.
    if (event.type === 'stop') return 'stopped';
    if (event.type === 'fault') return 'failed';
    // The recorded primary re-asserting (MASTER or BACKUP out of recovery): back to `primary` after a FAULT or STOP.
    if (decision.kind === 'reassertion') return 'primary';
  }
  if (event.source === 'pgpool') {
    // A de-escalation: still a watchdog member when pcp answers; when it does not, pgpool was going down (5 of 5
    // de-escalations without a pcp answer in the captures were a shutdown or the main process's death).
    if ((PGPOOL_RELEASE_COMMANDS as readonly string[]).includes(event.type)) return isPgpoolFacts(event.facts) ? 'replica' : 'stopped';
    return null;
  }
  if (event.source === 'repmgr' && event.type === 'repmgrd_shutdown') return null;
  if (event.source === 'repmgr' && REPMGR_DOWN.has(event.type)) return 'failed';
  if (classify(event) === EventKind.Fault) return 'failed';
  if (event.facts?.inRecovery === true) return 'replica';
  return null;
}
