import { ArgvError } from './errors';

/**
 * One repmgr `event_notification_command` call: `%n %e %s "%t" "%d" "%a" "%c" "%p"`, or any shorter line that keeps
 * `%n %e %s` first and the rest in that order (users trim it to fit their own scripts: `%n %e %s` is valid for repmgr).
 */
export interface RepmgrCall {
  nodeId: number;
  event: string;
  success: boolean;
  /**
   * `%t` as ISO 8601 (UTC); null when the line passes no `%t` (the caller's own clock stands in, and says so:
   * shared/protocol/build-event.ts).
   */
  occurredAt: string | null;
  details: string;
  /** `%a`: filled only for some events, and then it names the upstream, not this node. */
  otherNodeName: string | null;
  /** `%c`: that node's conninfo. */
  otherConninfo: string | null;
  /** `%p`: upstream on register/follow, demoted old primary on switchover, failed primary on failover promote. */
  otherNodeId: number | null;
}

// `%t` comes as PostgreSQL now() ("2026-11-22 02:08:22.720578+00") or, with no primary reachable, strftime
// ("2026-11-22 02:08:21+0000"). Both are accepted; anything else is no time at all, never a guessed one.
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/;

/** Parse repmgr's `%t` into ISO 8601 UTC. Returns null when it is not one of the two known formats. */
export function parseRepmgrTimestamp(text: string): string | null {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return null;
  const [, date, time, fraction = '', zone = 'Z'] = m;
  // Date() rolls an impossible day over (2026-02-30 becomes March 2nd): that would be a guess, not a parse.
  const day = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== date) return null;
  const millis = fraction === '' ? '' : (fraction + '000').slice(0, 4);
  let offset = zone;
  if (zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    offset = `${zone[0]}${digits.slice(0, 2)}:${(digits.slice(2) || '00').padEnd(2, '0')}`;
  }
  const parsed = new Date(`${date}T${time}${millis}${offset}`);
  return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString();
}

const EVENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;
// Where `%t` sits, it starts with a date; `%d` never does (repmgr's details are sentences, findings.md §1).
const DATE_FIRST = /^\d{4}-\d{2}-\d{2}/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Find `%t` where it belongs, right after `%s`: quoted (one argument) or unquoted (sh split it into the date and the
 * time with its zone). Returns the time (null when absent or unreadable) and how many arguments it took: 0 when the
 * argument there does not start with a date, i.e. the line has no `%t` and `%d` follows `%s`.
 */
function takeTimestamp(rest: readonly string[]): { occurredAt: string | null; used: number } {
  const [first, second] = rest;
  if (first === undefined || !DATE_FIRST.test(first.trim())) return { occurredAt: null, used: 0 };
  const quoted = parseRepmgrTimestamp(first);
  if (quoted !== null) return { occurredAt: quoted, used: 1 };
  if (second !== undefined && DATE_ONLY.test(first.trim())) {
    const unquoted = parseRepmgrTimestamp(`${first.trim()} ${second.trim()}`);
    if (unquoted !== null) return { occurredAt: unquoted, used: 2 };
  }
  // A `%t` in a format neither repmgr's (or cut at 1023 bytes): its slot, but no time read from it.
  return { occurredAt: null, used: 1 };
}

/**
 * Parse the arguments repmgr passes (after the hook's `repmgr` mode word). Only `%n %e %s` are required (`%n` is how
 * the server knows the node's repmgr id). The argument after `%s` is `%t` when it starts with a date (read in either
 * repmgr format, quoted or not; occurredAt null when it is neither); otherwise the line has no `%t` (occurredAt null)
 * and the arguments from there on are `%d %a %c %p`. repmgr cuts the expanded command at 1023 bytes, so trailing
 * arguments may be missing or cut: those become null / the cut text, never an error. Unfilled placeholders arrive as
 * empty strings and become null.
 * @throws ArgvError naming the argument when `%n`, `%e` or `%s` is missing or malformed.
 */
export function parseRepmgrArgv(args: readonly string[]): RepmgrCall {
  const [n, e, s] = args;
  if (n === undefined || !/^\d{1,9}$/.test(n)) throw new ArgvError('%n', `node id must be a positive integer, got ${JSON.stringify(n ?? null)}`);
  if (e === undefined || !EVENT_NAME.test(e)) throw new ArgvError('%e', `event type must be a repmgr event name, got ${JSON.stringify(e ?? null)}`);
  if (s !== '1' && s !== '0') throw new ArgvError('%s', `success must be 1 or 0, got ${JSON.stringify(s ?? null)}`);
  const nodeId = Number(n);
  if (nodeId < 1) throw new ArgvError('%n', 'node id must be >= 1');
  const rest = args.slice(3);
  const { occurredAt, used } = takeTimestamp(rest);
  const [d, a, c, p] = rest.slice(used);
  return {
    nodeId,
    event: e,
    success: s === '1',
    occurredAt,
    details: d ?? '',
    otherNodeName: a ? a : null,
    otherConninfo: c ? c : null,
    otherNodeId: p && /^\d{1,9}$/.test(p) ? Number(p) : null,
  };
}
