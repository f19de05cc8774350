import { ArgvError } from './errors';

/**
 * keepalived's VRRP transitions as the hook's event `type`. `master_rx_lower_pri` is keepalived's
 * `notify_master_rx_lower_pri`: the only call the real master gets after a split brain heals
 * (shared/peers/keepalived/findings.md §6).
 */
export const KEEPALIVED_TRANSITIONS = ['master', 'backup', 'fault', 'stop', 'master_rx_lower_pri'] as const;
export type KeepalivedTransition = (typeof KEEPALIVED_TRANSITIONS)[number];

/** The transitions whose label says "this node holds the VIP": a primary claim only if PostgreSQL agrees. */
export const KEEPALIVED_MASTER_TRANSITIONS = ['master', 'master_rx_lower_pri'] as const satisfies readonly KeepalivedTransition[];

/** The state words keepalived 2.2 appends to the generic `notify` (vrrp_notify.c, `notify_script_exec`). */
const STATE_WORDS: Record<string, KeepalivedTransition> = { MASTER: 'master', BACKUP: 'backup', FAULT: 'fault', STOP: 'stop' };

/**
 * The word an operator configures after the mode word for a specific notify (keepalived appends nothing to those:
 * findings §1). Both the short form and keepalived's own keyword are accepted.
 */
const KIND_WORDS: Record<string, KeepalivedTransition> = {
  master: 'master',
  backup: 'backup',
  fault: 'fault',
  stop: 'stop',
  master_rx_lower_pri: 'master_rx_lower_pri',
  notify_master: 'master',
  notify_backup: 'backup',
  notify_fault: 'fault',
  notify_stop: 'stop',
  notify_master_rx_lower_pri: 'master_rx_lower_pri',
};

/** One keepalived notify call. */
export interface KeepalivedCall {
  transition: KeepalivedTransition;
  /** `notify`: the generic script (keepalived appended `INSTANCE|GROUP <name> <STATE> <priority>`); else the specific one. */
  via: 'notify' | 'notify_specific';
  /** `INSTANCE` or `GROUP` (generic notify only). */
  scope: 'INSTANCE' | 'GROUP' | null;
  /** The vrrp_instance or sync group name (generic notify only; keepalived passes it unquoted). */
  name: string | null;
  /** The effective priority, track_script weights included (generic notify only; 0 for a group). Not monotonic. */
  priority: number | null;
}

/**
 * Parse what follows the hook's `keepalived` mode word:
 * - generic `notify "/usr/local/bin/vipswitch-hook keepalived"`: keepalived appends `INSTANCE|GROUP <name> <STATE> <priority>`;
 * - `notify_master "/usr/local/bin/vipswitch-hook keepalived master"` (also `backup`, `fault`, `stop`,
 *   `master_rx_lower_pri`, or keepalived's keyword `notify_master` ...): keepalived appends nothing, so the configured
 *   word is the only thing telling the kinds apart (a bare path gives `[]`: refused, never guessed).
 * @throws ArgvError naming the argument at fault.
 */
export function parseKeepalivedArgv(args: readonly string[]): KeepalivedCall {
  if (args.length === 0) {
    throw new ArgvError('kind', 'keepalived passes no arguments to notify_master / notify_backup / notify_fault / notify_stop: configure the kind after the mode word, e.g. notify_master "/usr/local/bin/vipswitch-hook keepalived master"');
  }
  const [first, name, state, priority] = args;
  if (args.length === 1) {
    const transition = KIND_WORDS[first!];
    if (transition === undefined) throw new ArgvError('kind', `expected one of ${Object.keys(KIND_WORDS).join(', ')}, got ${JSON.stringify(first)}`);
    return { transition, via: 'notify_specific', scope: null, name: null, priority: null };
  }
  if (first !== 'INSTANCE' && first !== 'GROUP') {
    throw new ArgvError('type', `expected INSTANCE or GROUP (keepalived's generic notify) or a single notify kind, got ${JSON.stringify(args)}`);
  }
  if (args.length !== 4) throw new ArgvError('notify', `keepalived's generic notify passes 4 words (INSTANCE|GROUP <name> <STATE> <priority>), got ${args.length}`);
  if (!/^[^\s]{1,128}$/.test(name!)) throw new ArgvError('name', `expected the instance or group name, got ${JSON.stringify(name)}`);
  const transition = STATE_WORDS[state!];
  if (transition === undefined) throw new ArgvError('state', `expected MASTER, BACKUP, FAULT or STOP, got ${JSON.stringify(state)}`);
  // keepalived prints the priority into a 4-byte buffer: at most three digits.
  if (!/^\d{1,3}$/.test(priority!) || Number(priority) > 255) throw new ArgvError('priority', `expected the effective priority 0..255, got ${JSON.stringify(priority)}`);
  return { transition, via: 'notify', scope: first, name: name!, priority: Number(priority) };
}

/** The call as the event's `details`: `INSTANCE VI_PG MASTER 150`, or `notify_master`. */
export function describeKeepalivedCall(call: KeepalivedCall): string {
  if (call.via === 'notify') return `${call.scope} ${call.name} ${call.transition === 'master_rx_lower_pri' ? 'MASTER_RX_LOWER_PRI' : call.transition.toUpperCase()} ${call.priority}`;
  return `notify_${call.transition}`;
}
