import { ArgvError } from './errors';

/** Pgpool-II watchdog commands as the hook's event `type`. */
export const PGPOOL_COMMANDS = ['if_up', 'if_down', 'escalation', 'de_escalation'] as const;
export type PgpoolCommand = (typeof PGPOOL_COMMANDS)[number];

/** Commands whose label says "this node takes the VIP": a claim only from the quorum-backed leader. */
export const PGPOOL_CLAIM_COMMANDS = ['if_up', 'escalation'] as const satisfies readonly PgpoolCommand[];
/** Commands whose label says "this node gives the VIP up": never a claim, never a move (findings §10.2). */
export const PGPOOL_RELEASE_COMMANDS = ['if_down', 'de_escalation'] as const satisfies readonly PgpoolCommand[];

/** The word configured after the mode word, and the command it names. */
const COMMAND_WORDS: Record<string, PgpoolCommand> = {
  up: 'if_up',
  if_up: 'if_up',
  if_up_cmd: 'if_up',
  down: 'if_down',
  if_down: 'if_down',
  if_down_cmd: 'if_down',
  escalation: 'escalation',
  wd_escalation_command: 'escalation',
  'de-escalation': 'de_escalation',
  de_escalation: 'de_escalation',
  wd_de_escalation_command: 'de_escalation',
};

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** One Pgpool-II watchdog call. */
export interface PgpoolCall {
  command: PgpoolCommand;
  /** `delegate_IP` as pgpool substituted it for `$_IP_$` (if_up_cmd / if_down_cmd); null for the escalation commands. */
  vip: string | null;
}

/**
 * Parse what follows the hook's `pgpool` mode word (shared/peers/pgpool/findings.md §1–§2, §10):
 * - `if_up_cmd = '/usr/local/bin/vipswitch-hook pgpool up $_IP_$'` (and `down`): pgpool replaces `$_IP_$` and splits the
 *   string on single spaces, no shell, so the hook gets `["up", "<delegate_IP>"]`. Empty tokens (two spaces in a row) are
 *   dropped.
 * - `wd_escalation_command = '/usr/local/bin/vipswitch-hook pgpool escalation'` (and `de-escalation`): run by `sh -c`,
 *   without substitution: a `$_IP_$` written there reaches the hook as `"$"` (findings L1), accepted and ignored.
 * @throws ArgvError naming the argument at fault.
 */
export function parsePgpoolArgv(args: readonly string[]): PgpoolCall {
  const words = args.filter((word) => word !== '');
  const [word, vip, ...rest] = words;
  const command = word === undefined ? undefined : COMMAND_WORDS[word];
  if (command === undefined) throw new ArgvError('command', `expected up $_IP_$, down $_IP_$, escalation or de-escalation, got ${JSON.stringify(word ?? null)}`);
  if (rest.length > 0) throw new ArgvError('argv', `unexpected arguments after ${word} ${vip}: ${JSON.stringify(rest)}`);
  if (command === 'if_up' || command === 'if_down') {
    if (vip === undefined) throw new ArgvError('$_IP_$', `${word} needs the delegate IP: configure '... pgpool ${word} $_IP_$'`);
    if (!IPV4.test(vip)) throw new ArgvError('$_IP_$', `expected the delegate_IP pgpool substitutes (an IPv4 address), got ${JSON.stringify(vip)}`);
    return { command, vip };
  }
  if (vip === undefined || vip === '$') return { command, vip: null };
  if (IPV4.test(vip)) return { command, vip };
  throw new ArgvError('argv', `${word} takes no argument (pgpool runs it through sh -c without $_IP_$), got ${JSON.stringify(vip)}`);
}
