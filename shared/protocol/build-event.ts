import { randomUUID } from 'node:crypto';
import { ArgvError } from '../domain/errors';
import { EVENT_VERSION, type EventFacts, type VipEvent } from '../domain/event';
import { describeKeepalivedCall, parseKeepalivedArgv } from '../domain/keepalived-argv';
import { parsePatroniArgv } from '../domain/patroni-argv';
import { parsePgpoolArgv } from '../domain/pgpool-argv';
import { parseRepmgrArgv } from '../domain/repmgr-argv';

/** The hook's modes: which tool called it. */
export const HOOK_MODES = ['repmgr', 'patroni', 'keepalived', 'pgpool'] as const;
export type HookMode = (typeof HOOK_MODES)[number];

/**
 * Normalise one hook call into the v1 event. `args` are the tool's arguments after the mode word.
 * The node name always comes from the hook's config (Patroni does not pass it; repmgr passes only `%n`).
 * @throws ArgvError when the tool's arguments cannot be parsed.
 */
export function buildEvent(
  mode: HookMode,
  args: readonly string[],
  who: { cluster: string; node: string },
  facts: EventFacts | null,
  now: Date,
  id: string = randomUUID(),
): VipEvent {
  if (mode === 'repmgr') {
    const call = parseRepmgrArgv(args);
    // A line without `%t` (e.g. `%n %e %s`) still makes an event: the hook's clock stands in, and the event says so.
    const raw: VipEvent['raw'] = call.occurredAt === null ? { argv: [...args], occurredAtFrom: 'hook' } : { argv: [...args] };
    return {
      v: EVENT_VERSION,
      id,
      cluster: who.cluster,
      node: who.node,
      source: 'repmgr',
      type: call.event,
      success: call.success,
      role: null,
      occurredAt: call.occurredAt ?? now.toISOString(),
      details: call.details,
      facts,
      raw,
    };
  }
  if (mode === 'patroni') {
    const call = parsePatroniArgv(args);
    return {
      v: EVENT_VERSION,
      id,
      cluster: who.cluster,
      node: who.node,
      source: 'patroni',
      type: call.action,
      success: true,
      role: call.role,
      occurredAt: now.toISOString(),
      details: '',
      facts,
      raw: { argv: [...args] },
    };
  }
  if (mode === 'keepalived') {
    // keepalived passes no time, sequence or state beyond the words parsed here (findings §8): the hook's clock.
    const call = parseKeepalivedArgv(args);
    return {
      v: EVENT_VERSION,
      id,
      cluster: who.cluster,
      node: who.node,
      source: 'keepalived',
      type: call.transition,
      success: true,
      role: null,
      occurredAt: now.toISOString(),
      details: describeKeepalivedCall(call),
      facts,
      raw: { argv: [...args] },
    };
  }
  if (mode === 'pgpool') {
    const call = parsePgpoolArgv(args);
    return {
      v: EVENT_VERSION,
      id,
      cluster: who.cluster,
      node: who.node,
      source: 'pgpool',
      type: call.command,
      success: true,
      role: null,
      occurredAt: now.toISOString(),
      details: call.vip === null ? '' : `delegate_IP ${call.vip}`,
      facts,
      raw: { argv: [...args] },
    };
  }
  throw new ArgvError('mode', `expected one of ${HOOK_MODES.join(', ')}, got ${JSON.stringify(mode)}`);
}
