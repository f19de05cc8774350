import { classify, EventKind } from '../../shared/domain/classify';
import type { VipEvent } from '../../shared/domain/event';
import type { HookConfig } from './config';
import { intentFromAnswer, intentFromEvent, type EventAnswerText } from './local-address';
import type { HookLog } from './log';
import { ensurePgbouncer, execPsql, type PgbouncerWant, type PsqlRunner } from './pgbouncer';

/** Upper bound of one pgbouncer step (SHOW DATABASES, the commands, SHOW DATABASES again). */
export const PGBOUNCER_MAX_MS = 1000;

/** What the database should be, and why (for the log). */
export interface PgbouncerIntent {
  want: PgbouncerWant;
  why: string;
}

/**
 * From the call itself: off when it shows the node is not the primary (facts in recovery, Patroni replica / demoted /
 * on_stop: the same reading as the local address step).
 */
export function pgbouncerIntentFromEvent(event: Pick<VipEvent, 'source' | 'type' | 'role' | 'facts'>): PgbouncerIntent | null {
  const intent = intentFromEvent(event);
  return intent === null ? null : { want: intent.want === 'present' ? 'serving' : 'off', why: intent.why };
}

/**
 * From the server's answer to the call's own event: serving when it is `accepted` naming this node, or `ignored` as the
 * recorded primary's re-assertion (the node IS the primary: a database left off by an earlier failed step comes back);
 * off when it is `stale_claim` naming another primary. A `duplicate` is read through to its first answer.
 */
export function pgbouncerIntentFromAnswer(answer: EventAnswerText, node: string): PgbouncerIntent | null {
  const intent = intentFromAnswer(answer, node);
  if (intent !== null) return { want: intent.want === 'present' ? 'serving' : 'off', why: intent.why };
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return null;
  }
  let via = '';
  if (isObject(body) && body.code === 'duplicate' && isObject(body.first) && isObject(body.first.body)) {
    body = body.first.body;
    via = 'duplicate of ';
  }
  if (isObject(body) && body.code === 'ignored' && body.kind === 'reassertion' && body.dryRun !== true) return { want: 'serving', why: `${via}ignored: reassertion by the recorded primary` };
  return null;
}

/**
 * The pgbouncer step of one repmgr / Patroni / keepalived call (off by default, config `pgbouncer`): at most one ensure
 * per call, from the call's own facts before sending, else from the answer to its own event. Never throws; one log line
 * per check (`pgbouncer=disabled|enabled|already_off|already_serving|failed|unchanged`). Answers to older spooled events
 * are never acted on.
 */
export class PgbouncerStep {
  /** Budget kept after sending for acting on the answer: only a claim (facts out of recovery) needs it. */
  readonly reserveMs: number;
  private readonly fromEvent: PgbouncerIntent | null;
  private readonly claims: boolean;
  private readonly sliceMs: number;

  constructor(
    private readonly config: HookConfig,
    private readonly event: VipEvent,
    private readonly log: HookLog,
    private readonly now: () => number,
    private readonly run: PsqlRunner = execPsql(process.env),
  ) {
    this.sliceMs = Math.min(PGBOUNCER_MAX_MS, Math.floor(config.timeoutMs / 4));
    this.fromEvent = pgbouncerIntentFromEvent(event);
    this.claims = this.fromEvent === null && classify(event) === EventKind.PrimaryAssertion;
    this.reserveMs = this.claims ? this.sliceMs : 0;
  }

  /** Not the primary by the call's own facts or role: off now, whatever the server answers. */
  async beforeSending(): Promise<void> {
    if (this.fromEvent !== null) await this.ensure(this.fromEvent, this.sliceMs);
  }

  /** The server's answer to this call's own event (null: none within the budget). */
  async afterAnswer(answer: EventAnswerText | null, deadline: number): Promise<void> {
    if (this.fromEvent !== null) return;
    const intent = answer === null ? null : pgbouncerIntentFromAnswer(answer, this.config.node);
    if (intent === null) {
      if (this.claims) this.log.line({ pgbouncer: 'unchanged', database: this.config.pgbouncer!.database, id: this.event.id, reason: answer === null ? 'no answer to this call within its budget' : `answer HTTP ${answer.status}` });
      return;
    }
    await this.ensure(intent, Math.min(PGBOUNCER_MAX_MS, Math.max(this.sliceMs, deadline - this.now())));
  }

  private async ensure(intent: PgbouncerIntent, boundMs: number): Promise<void> {
    const pgbouncer = this.config.pgbouncer!;
    const fields = { database: pgbouncer.database, want: intent.want, why: intent.why, id: this.event.id };
    try {
      const result = await ensurePgbouncer(intent.want, pgbouncer, boundMs, this.run, this.now);
      const commands = result.commands.length > 0 ? result.commands.join('; ') : undefined;
      if (result.outcome === 'failed') this.log.line({ pgbouncer: 'failed', step: result.step, ...fields, commands, reason: result.reason, ms: result.ms });
      else this.log.line({ pgbouncer: result.outcome, ...fields, commands, ms: result.ms });
    } catch (error) {
      this.log.line({ pgbouncer: 'failed', ...fields, reason: (error as Error).message });
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
