import type { VipEvent } from '../../shared/domain/event';
import { ErrorCode } from '../../shared/protocol/answers';
import { signedHeaders } from '../../shared/protocol/signature';
import { backoffDelay, type BackoffPolicy } from './backoff';
import { postOnce, type PostResult } from './http-post';
import { acquireLock, isProcessAlive } from './lock';
import type { HookLog } from './log';
import type { AnswerRecord, Spool } from './spool';

/** How one answer (or failure) is handled. */
export type Verdict =
  | { kind: 'delivered'; status: number; code: string | null; body: string }
  | { kind: 'final'; status: number; code: string | null; message: string | null; body: string }
  | { kind: 'retry'; reason: string; status: number | null; code: string | null; retryAfterMs: number | null };

/**
 * The wire contract's answers (shared/protocol/answers.ts): 2xx is done (202 accepted: committed, the endpoint moves
 * after); `401 replayed_request`, 408, 429, 5xx, network errors and timeouts are worth another try; every other 4xx
 * (400, 401, 404, 409 stale_claim / unverified_claim / system_identifier_mismatch / event_id_reused, 413) is the
 * server's final word. Anything else (1xx, 3xx) is retried: keeping a
 * record spooled loses nothing.
 */
export function classifyAnswer(result: PostResult): Verdict {
  if (result.kind === 'failure') return { kind: 'retry', reason: result.reason, status: null, code: null, retryAfterMs: null };
  const { status } = result;
  const { code, message, decision } = parseAnswerBody(result.body);
  if (status >= 200 && status < 300) return { kind: 'delivered', status, code: decision ?? code, body: result.body };
  // `401 replayed_request`: our own earlier attempt in the same second carried the same signature (timestamps are
  // whole seconds). Signing again a moment later is a new request, answered `duplicate` if the first went through.
  if ((status === 401 && code === ErrorCode.ReplayedRequest) || status === 408 || status === 429 || status >= 500) {
    return { kind: 'retry', reason: `HTTP ${status}`, status, code, retryAfterMs: result.retryAfterMs };
  }
  if (status >= 400 && status < 500) return { kind: 'final', status, code, message, body: result.body };
  return { kind: 'retry', reason: `unexpected HTTP ${status}`, status, code, retryAfterMs: null };
}

function parseAnswerBody(body: string): { code: string | null; message: string | null; decision: string | null } {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const text = (value: unknown): string | null => (typeof value === 'string' ? value.slice(0, 500) : null);
    return { code: text(parsed.code), message: text(parsed.message), decision: text(parsed.decision) };
  } catch {
    return { code: null, message: null, decision: null };
  }
}

/** What a delivery run needs. Clocks, randomness, sleep and the transport are injectable for tests. */
export interface DeliverOptions {
  spool: Spool;
  endpoint: string;
  key: string;
  /** End of the budget, as a `now()` value (by default `performance.now()`: ms since process start). */
  deadline: number;
  /** Upper bound of one HTTP exchange (also bounded by what is left of the budget). */
  attemptTimeoutMs: number;
  backoff: BackoffPolicy;
  /** A sender lock older than this is broken even if its pid looks alive. */
  staleLockMs: number;
  /** A `probing` record older than this is sent as it is even if its writer looks alive. */
  probingGiveUpMs: number;
  log: HookLog;
  userAgent: string;
  /** The id of the event whose answer the caller acts on (its own): {@link DeliverReport.answer} holds it. */
  answerOf?: string;
  post?: typeof postOnce;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  wallClock?: () => Date;
  random?: () => number;
}

/** The result of sending one record. */
export type SendOutcome =
  | { kind: 'delivered'; status: number; code: string | null; body: string; attempts: number; ms: number }
  | { kind: 'answered'; answer: AnswerRecord; ms: number }
  | { kind: 'kept'; reason: string; status: number | null; code: string | null; attempts: number; ms: number };

/** Summary of a delivery run. `loggedIds`: events whose outcome got a log line. */
export interface DeliverReport {
  delivered: number;
  answered: number;
  remaining: number;
  /** Why the run stopped with records left: the lock was busy, the oldest could not be delivered, ... */
  stoppedBecause: string | null;
  loggedIds: Set<string>;
  /** The server's answer (2xx or final 4xx) to the event named by {@link DeliverOptions.answerOf}, if it was sent in this run. */
  answer: { status: number; body: string } | null;
}

// An attempt with less time than this left cannot succeed; stop instead.
const MIN_ATTEMPT_MS = 20;
// Time kept for the attempt after a backoff wait: enough for a request to a nearby endpoint to be answered.
const USEFUL_ATTEMPT_MS = 100;

/**
 * POST one event until the server gives a final answer or the budget runs out: a fresh signature (fresh timestamp)
 * per attempt, exponential backoff with full jitter between attempts. Never throws.
 */
export async function sendEvent(event: VipEvent, options: DeliverOptions): Promise<SendOutcome> {
  const { now = () => performance.now(), sleep = defaultSleep, wallClock = () => new Date(), random = Math.random, post = postOnce } = options;
  const body = JSON.stringify(event);
  const started = now();
  let attempts = 0;
  let last: Extract<Verdict, { kind: 'retry' }> = { kind: 'retry', reason: 'no budget left', status: null, code: null, retryAfterMs: null };
  for (;;) {
    const left = options.deadline - now();
    if (left < MIN_ATTEMPT_MS) break;
    attempts++;
    const headers = signedHeaders(event.cluster, event.node, options.key, body, wallClock().getTime() / 1000);
    const result = await post(options.endpoint, { ...headers, 'user-agent': options.userAgent }, body, Math.min(left, options.attemptTimeoutMs));
    const verdict = classifyAnswer(result);
    const ms = Math.round(now() - started);
    if (verdict.kind === 'delivered') return { kind: 'delivered', status: verdict.status, code: verdict.code, body: verdict.body, attempts, ms };
    if (verdict.kind === 'final') {
      const answer: AnswerRecord = { answeredAt: wallClock().toISOString(), status: verdict.status, code: verdict.code, message: verdict.message, attempts, body: verdict.body };
      return { kind: 'answered', answer, ms };
    }
    last = verdict;
    const room = options.deadline - now() - USEFUL_ATTEMPT_MS;
    // The server asked for more time than is left (Retry-After): leave it spooled rather than ask again too early.
    if (room <= 0 || (verdict.retryAfterMs !== null && verdict.retryAfterMs > room)) break;
    // A jittered wait running past the budget is cut so that one last attempt still fits.
    await sleep(Math.min(backoffDelay(attempts, options.backoff, random, verdict.retryAfterMs), room));
  }
  return { kind: 'kept', reason: last.reason, status: last.status, code: last.code, attempts, ms: Math.round(now() - started) };
}

/**
 * Send the spool oldest first, under the sender lock, until it is empty or the budget ends. Order is kept: a record
 * that cannot be delivered now stops the run (the ones behind it wait), and so does a record whose writer is still
 * probing. Delivered records are removed; final 4xx answers move the record to `answered/` with the answer.
 * Unreadable records go to `unparsed/`. Never throws for delivery problems; throws only if the spool itself fails.
 */
export async function deliverSpool(options: DeliverOptions): Promise<DeliverReport> {
  const { now = () => performance.now(), sleep = defaultSleep, wallClock = () => new Date() } = options;
  const { spool, log } = options;
  const report: DeliverReport = { delivered: 0, answered: 0, remaining: 0, stoppedBecause: null, loggedIds: new Set(), answer: null };
  spool.ensure();
  const lock = await acquireLock(spool.dir, options.deadline, { staleMs: options.staleLockMs }, sleep, now);
  if (!lock) {
    report.remaining = spool.list().length;
    report.stoppedBecause = 'another sender holds the spool lock';
    return report;
  }
  try {
    spool.sweepTemp(10 * 60_000);
    for (;;) {
      const [name] = spool.list();
      if (name === undefined) break;
      let record;
      try {
        record = spool.read(name);
      } catch (error) {
        spool.quarantine(name);
        log.line({ record: name, outcome: 'quarantined', reason: `unreadable record moved to unparsed/ (${(error as Error).message})` });
        continue;
      }
      if (record === null) continue;
      if (record.state === 'probing' && record.pid !== process.pid && isProcessAlive(record.pid)) {
        const age = wallClock().getTime() - Date.parse(record.spooledAt);
        if (!(age > options.probingGiveUpMs)) {
          if (options.deadline - now() <= MIN_ATTEMPT_MS) {
            report.stoppedBecause = `oldest record ${record.event.id} is still being probed by pid ${record.pid}`;
            break;
          }
          await sleep(Math.min(25, options.deadline - now()));
          continue;
        }
      }
      const outcome = await sendEvent(record.event, options);
      const base = { id: record.event.id, type: record.event.type, source: record.event.source, facts: record.event.facts === null ? 'null' : 'probed' };
      report.loggedIds.add(record.event.id);
      // Only the caller's own event: an older record's answer is history, not the node's state now.
      const own = options.answerOf !== undefined && record.event.id === options.answerOf;
      if (outcome.kind === 'delivered') {
        spool.remove(name);
        report.delivered++;
        if (own) report.answer = { status: outcome.status, body: outcome.body };
        // totalMs: process start to this answer, for the caller's own event (how long the hook held its caller, but exit).
        log.line({ ...base, outcome: 'delivered', status: outcome.status, code: outcome.code, attempts: outcome.attempts, ms: outcome.ms, totalMs: own ? Math.round(now()) : undefined });
      } else if (outcome.kind === 'answered') {
        spool.moveToAnswered(name, outcome.answer);
        report.answered++;
        if (own) report.answer = { status: outcome.answer.status, body: outcome.answer.body };
        const { status, code, message, attempts } = outcome.answer;
        log.line({ ...base, outcome: 'answered', status, code, message, attempts, ms: outcome.ms, totalMs: own ? Math.round(now()) : undefined, kept: `answered/${name}` });
      } else {
        log.line({ ...base, outcome: 'spooled', status: outcome.status ?? undefined, code: outcome.code ?? undefined, reason: outcome.reason, attempts: outcome.attempts, ms: outcome.ms });
        report.stoppedBecause = `oldest record ${record.event.id} not delivered (${outcome.reason})`;
        break;
      }
    }
  } finally {
    lock.release();
  }
  report.remaining = spool.list().length;
  return report;
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
