import type { EventFacts, NodeFacts, WatchdogFacts } from '../../shared/domain/event';
import { FactsJsonError } from './errors';

const FIELDS = ['inRecovery', 'timeline', 'lsn', 'systemIdentifier'] as const;
const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
const SYSTEM_IDENTIFIER = /^\d{1,20}$/;

/**
 * Parse facts given on the command line (`--facts-json`, `VIPSWITCH_FACTS_JSON`) for demos and drills without a
 * local PostgreSQL. Same rules as the server's schema; the literal `null` means "probe failed" (an unverified claim).
 * @throws FactsJsonError naming the bad field.
 */
export function parseFactsJson(text: string): EventFacts | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FactsJsonError(`not valid JSON (${(error as Error).message})`);
  }
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new FactsJsonError('must be a JSON object or null');
  if ('watchdog' in value) return { watchdog: parseWatchdogJson(value as Record<string, unknown>) };
  return parseNodeFacts(value as Record<string, unknown>);
}

const WATCHDOG_FIELDS = ['leader', 'quorum', 'escalated', 'token', 'localState', 'quorumState'] as const;

/**
 * The pgpool shape: `{"watchdog": {"leader": true, "quorum": true, "escalated": true, "token": 1796055650651}}`.
 * `token` may be left out: the hook then mints one as it would after a real probe (leader, quorum and escalation, on a
 * claim); given, it is sent as is (drills replaying two leaders out of order).
 */
function parseWatchdogJson(value: Record<string, unknown>): WatchdogFacts {
  for (const key of Object.keys(value)) if (key !== 'watchdog') throw new FactsJsonError(`unknown field ${JSON.stringify(key)} beside watchdog`);
  const w = value.watchdog;
  if (typeof w !== 'object' || w === null || Array.isArray(w)) throw new FactsJsonError('watchdog: must be an object');
  const facts = w as Record<string, unknown>;
  for (const key of Object.keys(facts)) {
    if (!(WATCHDOG_FIELDS as readonly string[]).includes(key)) throw new FactsJsonError(`watchdog.${key}: unknown field (known: ${WATCHDOG_FIELDS.join(', ')})`);
  }
  for (const key of ['leader', 'quorum', 'escalated'] as const) {
    if (typeof facts[key] !== 'boolean') throw new FactsJsonError(`watchdog.${key}: must be true or false, got ${JSON.stringify(facts[key] ?? null)}`);
  }
  const { token, localState, quorumState } = facts;
  if (token !== undefined && token !== null && !(typeof token === 'number' && Number.isSafeInteger(token) && token >= 1)) {
    throw new FactsJsonError(`watchdog.token: must be a positive integer (Unix ms) or null, got ${JSON.stringify(token)}`);
  }
  for (const [key, text] of [['localState', localState], ['quorumState', quorumState]] as const) {
    if (text !== undefined && text !== null && !(typeof text === 'string' && text.length <= 64)) throw new FactsJsonError(`watchdog.${key}: must be a string (at most 64) or null`);
  }
  return {
    leader: facts.leader as boolean,
    quorum: facts.quorum as boolean,
    escalated: facts.escalated as boolean,
    token: (token as number | null | undefined) ?? null,
    localState: (localState as string | null | undefined) ?? (facts.leader ? 'LEADER' : null),
    quorumState: (quorumState as string | null | undefined) ?? (facts.quorum ? 'QUORUM EXIST' : null),
  };
}

function parseNodeFacts(facts: Record<string, unknown>): NodeFacts {
  for (const key of Object.keys(facts)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw new FactsJsonError(`unknown field ${JSON.stringify(key)} (known: ${FIELDS.join(', ')})`);
  }
  const { inRecovery, timeline, lsn, systemIdentifier } = facts;
  if (typeof inRecovery !== 'boolean') throw new FactsJsonError(`inRecovery: must be true or false, got ${JSON.stringify(inRecovery ?? null)}`);
  if (timeline !== undefined && timeline !== null && !(typeof timeline === 'number' && Number.isInteger(timeline) && timeline >= 1 && timeline <= 0xffffffff)) {
    throw new FactsJsonError(`timeline: must be a positive integer or null, got ${JSON.stringify(timeline)}`);
  }
  if (lsn !== undefined && lsn !== null && !(typeof lsn === 'string' && LSN.test(lsn))) {
    throw new FactsJsonError(`lsn: must be an LSN like "0/3000060" or null, got ${JSON.stringify(lsn)}`);
  }
  if (systemIdentifier !== undefined && systemIdentifier !== null && !(typeof systemIdentifier === 'string' && SYSTEM_IDENTIFIER.test(systemIdentifier))) {
    throw new FactsJsonError(`systemIdentifier: must be a decimal string (it exceeds 2^53) or null, got ${JSON.stringify(systemIdentifier)}`);
  }
  return {
    inRecovery,
    timeline: (timeline as number | null | undefined) ?? null,
    lsn: (lsn as string | null | undefined) ?? null,
    systemIdentifier: (systemIdentifier as string | null | undefined) ?? null,
  };
}
