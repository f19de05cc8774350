import { classify, EventKind } from './classify';
import type { NodeHealth } from './cluster';
import type { Decision } from './decide';
import type { VipEvent } from './event';

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
  if (event.source === 'repmgr' && event.type === 'repmgrd_shutdown') return null;
  if (event.source === 'repmgr' && REPMGR_DOWN.has(event.type)) return 'failed';
  if (classify(event) === EventKind.Fault) return 'failed';
  if (event.facts?.inRecovery === true) return 'replica';
  return null;
}
