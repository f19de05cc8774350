import type { VipEvent } from '../../shared/domain/event';

/** A v1 event from repmgr on pg-main/node2 without facts, as the hook spools and sends it. */
export function hookEvent(id: string, type = 'standby_promote'): VipEvent {
  return {
    v: 1,
    id,
    cluster: 'pg-main',
    node: 'node2',
    source: 'repmgr',
    type,
    success: true,
    role: null,
    occurredAt: '2026-11-22T02:08:22.720Z',
    details: '',
    facts: null,
    raw: { argv: [] },
  };
}
