/**
 * What the REAL hook left on a node: its log (`vipswitch-hook.log`, one line per outcome, see hooks/src/log.ts) and
 * its spool (read through the hook's own module, hooks/src/spool.ts). The drill reads them to tell how a call was
 * answered and how long it held its caller.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ANSWERED_DIR, Spool, type AnswerRecord } from '../../../hooks/src/spool';
import type { VipEvent } from '../../../shared/domain/event';

/** One line of the hook's log: `vipswitch-hook <ISO time> k=v k="json string" ...` (hooks/src/log.ts formatLine). */
export interface HookLogLine {
  at: number;
  fields: Record<string, string>;
}

/** Parses one log line; null for anything else (free-text messages keep their words, but have no `id`). */
export function parseHookLogLine(line: string): HookLogLine | null {
  const head = /^vipswitch-hook (\S+) /.exec(line);
  if (!head) return null;
  const at = Date.parse(head[1]!);
  if (!Number.isFinite(at)) return null;
  const fields: Record<string, string> = {};
  let i = head[0].length;
  while (i < line.length) {
    const key = /^([A-Za-z][A-Za-z0-9_]*)=/.exec(line.slice(i));
    if (!key) return Object.keys(fields).length > 0 ? { at, fields } : null;
    i += key[0].length;
    let value: string;
    if (line[i] === '"') {
      // a JSON string: up to the first quote not escaped
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(line.slice(i, j + 1)) as string;
      } catch {
        return null;
      }
      i = j + 1;
    } else {
      const end = line.indexOf(' ', i);
      value = line.slice(i, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    }
    fields[key[1]!] = value;
    while (line[i] === ' ') i++;
  }
  return { at, fields };
}

/** The parsed lines of a hook log (none when the file does not exist yet). */
export async function readHookLog(logFile: string): Promise<HookLogLine[]> {
  let text: string;
  try {
    text = await readFile(logFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map(parseHookLogLine)
    .filter((l): l is HookLogLine => l !== null);
}

/**
 * When the hook was called for an event, on this machine's clock: Patroni events carry the hook's own clock (taken
 * once its config is loaded); repmgr's `%t` is PostgreSQL's now() (microseconds) when repmgr could write the event to
 * its database (just before it runs the hook), else a whole-second strftime, too coarse for a timeline: then
 * `fallback` (the journal's receivedAt) stands in.
 */
export function hookTime(event: VipEvent | undefined, fallback: number): { at: number; from: 'occurredAt' | 'receivedAt' } {
  if (event) {
    const precise = event.source !== 'repmgr' || /\d{2}:\d{2}:\d{2}\.\d+/.test(event.raw.argv[3] ?? '');
    const at = Date.parse(event.occurredAt);
    if (precise && Number.isFinite(at) && at <= fallback) return { at, from: 'occurredAt' };
  }
  return { at: fallback, from: 'receivedAt' };
}

/** How one hook call went, from its log: the server's answer, the POST's duration, how long it held its caller. */
export interface HookCallEvidence {
  eventId: string;
  /** `delivered` (2xx / final 409), `answered` (final 4xx, kept in spool/answered/), `spooled`, ... */
  outcome: string;
  status: number | null;
  code: string | null;
  /** when the hook logged the outcome (ms, this machine's clock) */
  loggedAt: number;
  /** the hook's `ms` on that line: the delivery (POST with its retries) alone */
  postMs: number | null;
  /** how long the call held its caller (null: not measurable), and how that figure was obtained */
  heldMs: number | null;
  heldFrom: string;
}

const DELIVERY_OUTCOMES = new Set(['delivered', 'answered', 'spooled', 'lost']);
const TOTAL_OUTCOMES = new Set(['handled_by_other_call', 'spooled']);

/**
 * The evidence of the call that sent `event` (null until the hook logged its outcome). The hook logs the whole call's
 * duration (`ms` = performance.now(), i.e. since the process started) only when its own record was sent by another
 * call or stayed spooled; on the usual path (`delivered`) its `ms` is the POST alone, so the time the caller was held
 * is read from the event's start (see {@link hookTime}) to that log line.
 */
export function hookCallEvidence(lines: HookLogLine[], eventId: string, event: VipEvent | undefined): HookCallEvidence | null {
  const mine = lines.filter((l) => l.fields.id === eventId);
  const delivery = mine.find((l) => DELIVERY_OUTCOMES.has(l.fields.outcome ?? ''));
  if (!delivery) return null;
  const num = (v: string | undefined) => (v === undefined || v === '' || Number.isNaN(Number(v)) ? null : Number(v));
  const total = mine.find((l) => TOTAL_OUTCOMES.has(l.fields.outcome ?? '') && l.fields.pending !== undefined);
  let heldMs: number | null = null;
  let heldFrom = "not measurable: repmgr's %t has whole seconds";
  if (total && num(total.fields.ms) !== null) {
    heldMs = num(total.fields.ms);
    heldFrom = `the hook's own ms (${total.fields.outcome})`;
  } else {
    const start = hookTime(event, Number.POSITIVE_INFINITY);
    if (start.from === 'occurredAt') {
      heldMs = delivery.at - start.at;
      heldFrom = event?.source === 'repmgr' ? "repmgr's %t to the hook's log line" : "the event's occurredAt (hook clock, after start-up) to its log line";
    }
  }
  return { eventId, outcome: delivery.fields.outcome!, status: num(delivery.fields.status), code: delivery.fields.code === undefined || delivery.fields.code === 'null' ? null : delivery.fields.code, loggedAt: delivery.at, postMs: num(delivery.fields.ms), heldMs, heldFrom };
}

/**
 * The server's final answer to one event, as the node's hook kept it: `spool/answered/` holds each record the server
 * answered with a final 4xx, beside its answer. Null while there is none.
 */
export function answeredByServer(spoolDir: string, eventId: string): AnswerRecord | null {
  const answered = new Spool(join(spoolDir, ANSWERED_DIR));
  for (const name of answered.list()) {
    if (name.endsWith(ANSWER_SUFFIX)) continue;
    let record;
    try {
      record = answered.read(name);
    } catch {
      continue; // an answer file, or a record being moved
    }
    if (record?.event.id !== eventId) continue;
    // Spool.moveToAnswered writes `<name minus .json>.answer.json` first, then moves the record beside it.
    try {
      return JSON.parse(readFileSync(join(answered.dir, name.slice(0, -'.json'.length) + ANSWER_SUFFIX), 'utf8')) as AnswerRecord;
    } catch {
      return null;
    }
  }
  return null;
}

const ANSWER_SUFFIX = '.answer.json';
