import type { NodeFacts } from '../../shared/domain/event';
import { FactsJsonError } from './errors';

const FIELDS = ['inRecovery', 'timeline', 'lsn', 'systemIdentifier'] as const;
const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
const SYSTEM_IDENTIFIER = /^\d{1,20}$/;

/**
 * Parse facts given on the command line (`--facts-json`, `VIPSWITCH_FACTS_JSON`) for demos and drills without a
 * local PostgreSQL. Same rules as the server's schema; the literal `null` means "probe failed" (an unverified claim).
 * @throws FactsJsonError naming the bad field.
 */
export function parseFactsJson(text: string): NodeFacts | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FactsJsonError(`not valid JSON (${(error as Error).message})`);
  }
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new FactsJsonError('must be a JSON object or null');
  const facts = value as Record<string, unknown>;
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
