import { classify, EventKind } from '../../shared/domain/classify';
import type { EventFacts, VipEvent } from '../../shared/domain/event';
import { buildEvent } from '../../shared/protocol/build-event';
import { FLUSH_BACKOFF, FOREGROUND_BACKOFF } from './backoff';
import { parseCommandLine, scanHookCall, type Command } from './command-line';
import { loadHookConfig, spoolDirHint, type HookConfig } from './config';
import { deliverSpool, sendEvent, type DeliverOptions } from './deliver';
import { HookConfigError } from './errors';
import { parseFactsJson } from './facts-json';
import { HELP_TEXT } from './help';
import { ensureLocalAddress, execIp, intentFromAnswer, intentFromEvent, type AddressIntent, type EventAnswerText } from './local-address';
import { createLog, type HookLog } from './log';
import { probeCallFacts } from './modes';
import { execPsql } from './pgbouncer';
import { PgbouncerStep } from './pgbouncer-step';
import { runPing } from './ping';
import { SPOOL_FORMAT, Spool } from './spool';
import { HOOK_VERSION } from './version';

/** Exit codes. Tool calls (repmgr, patroni, keepalived, pgpool) always exit {@link EXIT.ok}. */
export const EXIT = { ok: 0, spoolNotEmpty: 1, usage: 2 } as const;

/** The process around the hook: injected so the flow can run in tests. */
export interface HookIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Budget clock: ms since process start (`performance.now()`). */
  now?: () => number;
}

const USER_AGENT = `vipswitch-hook/${HOOK_VERSION}`;
/** Upper bound of one local address step (`ip -j addr show`, then `ip addr add` or `del`). */
export const LOCAL_ADDRESS_MAX_MS = 1000;

/** Run one hook invocation; resolves to the exit code. Never rejects for a tool call. */
export async function runHook(argv: readonly string[], io: HookIo): Promise<number> {
  let command: Command;
  try {
    command = parseCommandLine(argv);
  } catch (error) {
    const call = scanHookCall(argv);
    if (call === null) {
      io.stderr(`vipswitch-hook: ${(error as Error).message}\nTry "vipswitch-hook --help".\n`);
      return EXIT.usage;
    }
    keepUnparsed(argv, error, spoolDirHint(call.configPath, io.env), createLog(io.stderr, null));
    return EXIT.ok;
  }
  switch (command.kind) {
    case 'help':
      io.stdout(HELP_TEXT);
      return EXIT.ok;
    case 'version':
      io.stdout(`${HOOK_VERSION}\n`);
      return EXIT.ok;
    case 'flush':
      return runFlush(command.configPath, io);
    case 'ping':
      return runPing(command.configPath, command.json, { ...io, userAgent: USER_AGENT });
    case 'hook':
      try {
        return await runCall(argv, command, io);
      } catch (error) {
        // Last line of defence: a failing hook must never fail its caller's failover.
        io.stderr(`vipswitch-hook: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
        return EXIT.ok;
      }
  }
}

/**
 * A tool call (repmgr, Patroni, keepalived, Pgpool-II): spool first (facts null), probe, rewrite with the facts, send the
 * spool within the foreground budget. Every failure path ends in exit 0 with a message.
 */
async function runCall(
  argv: readonly string[],
  command: Extract<Command, { kind: 'hook' }>,
  io: HookIo,
): Promise<number> {
  const now = io.now ?? (() => performance.now());
  let config: HookConfig;
  let key: string;
  try {
    ({ config, key } = loadHookConfig(command.configPath, io.env));
  } catch (error) {
    keepUnparsed(argv, error, spoolDirHint(command.configPath, io.env), createLog(io.stderr, null));
    return EXIT.ok;
  }
  const log = createLog(io.stderr, config.logFile);
  let factsOverride: { facts: EventFacts | null } | null = null;
  let event: VipEvent;
  try {
    const factsText = command.factsJson ?? (io.env.VIPSWITCH_FACTS_JSON || undefined);
    if (factsText !== undefined) factsOverride = { facts: parseFactsJson(factsText) };
    event = buildEvent(command.mode, command.args, { cluster: config.cluster, node: config.node }, null, new Date());
  } catch (error) {
    keepUnparsed(argv, error, config.spoolDir, log);
    return EXIT.ok;
  }

  const spool = new Spool(config.spoolDir);
  const spooledAt = new Date().toISOString();
  let name: string | null = null;
  try {
    name = spool.add({ spool: SPOOL_FORMAT, state: 'probing', pid: process.pid, spooledAt, event });
  } catch (error) {
    log.line({ id: event.id, type: event.type, outcome: 'spool_failed', reason: describe(error), spoolDir: config.spoolDir });
  }

  // Facts per mode (modes.ts): PostgreSQL's for repmgr / Patroni / keepalived, the watchdog's for pgpool.
  const { facts, waitedMs } = await probeCallFacts(command.mode, event, factsOverride, { config, env: io.env, log, now, sleep });
  // Patroni and keepalived run these calls in the background: the promotion wait extends the budget instead of eating it.
  const deadline = config.timeoutMs + waitedMs;
  event = { ...event, facts };

  // Node-side steps (off by default): localAddress and pgbouncer. The call's own facts / role may already say "not the
  // primary"; a claim keeps a slice of the budget for acting on its answer. An older spooled record's answer is never
  // acted on. pgbouncer sits beside PostgreSQL: not a pgpool call's business.
  const steps: NodeStep[] = [];
  if (config.localAddress !== null) steps.push(new LocalAddressStep(config, event, io.env, log, now));
  if (config.pgbouncer !== null && command.mode !== 'pgpool') steps.push(new PgbouncerStep(config, event, log, now, execPsql(io.env as NodeJS.ProcessEnv)));
  const sendDeadline = deadline - Math.max(0, ...steps.map((step) => step.reserveMs));

  const options = { ...deliverOptions(config, key, spool, log, sendDeadline, FOREGROUND_BACKOFF, config.timeoutMs, now), answerOf: event.id };
  if (name !== null) {
    try {
      spool.replace(name, { spool: SPOOL_FORMAT, state: 'ready', pid: process.pid, spooledAt, event });
    } catch (error) {
      // The record stays as first written (facts null) and is sent as that: never with facts it does not hold.
      log.line({ id: event.id, type: event.type, outcome: 'spool_rewrite_failed', reason: describe(error) });
    }
    await Promise.all(steps.map((step) => step.beforeSending()));
    let answer: EventAnswerText | null = null;
    try {
      const report = await deliverSpool(options);
      answer = report.answer;
      if (!report.loggedIds.has(event.id)) {
        // Drained (no stop reason) without meeting this record: a concurrent call that held the lock first sent it
        // along with its own and logged the outcome under this id. It is not spooled any more.
        if (report.stoppedBecause === null) log.line({ id: event.id, type: event.type, outcome: 'handled_by_other_call', reason: 'a concurrent hook call sent it (see its line with this id)', pending: report.remaining, ms: Math.round(now()) });
        else log.line({ id: event.id, type: event.type, outcome: 'spooled', reason: report.stoppedBecause, pending: report.remaining, ms: Math.round(now()) });
      }
    } catch (error) {
      log.line({ id: event.id, type: event.type, outcome: 'spooled', reason: `spool error: ${describe(error)}`, ms: Math.round(now()) });
    }
    await Promise.all(steps.map((step) => step.afterAnswer(answer, deadline)));
    return EXIT.ok;
  }
  // No spool (unwritable directory, full disk): a direct try is all that is left.
  await Promise.all(steps.map((step) => step.beforeSending()));
  const outcome = await sendEvent(event, options);
  const fields = { id: event.id, type: event.type, source: event.source, facts: facts === null ? 'null' : 'probed', spool: 'none' };
  if (outcome.kind === 'delivered') log.line({ ...fields, outcome: 'delivered', status: outcome.status, code: outcome.code, attempts: outcome.attempts, ms: outcome.ms });
  else if (outcome.kind === 'answered') log.line({ ...fields, outcome: 'answered', status: outcome.answer.status, code: outcome.answer.code, message: outcome.answer.message, attempts: outcome.answer.attempts, ms: outcome.ms });
  else log.line({ ...fields, outcome: 'lost', status: outcome.status, reason: outcome.reason, attempts: outcome.attempts, ms: outcome.ms });
  const answer = outcome.kind === 'delivered' ? { status: outcome.status, body: outcome.body } : outcome.kind === 'answered' ? { status: outcome.answer.status, body: outcome.answer.body } : null;
  await Promise.all(steps.map((step) => step.afterAnswer(answer, deadline)));
  return EXIT.ok;
}

/** A bounded node-side step of one call: acts on the call's own facts before sending, or on the answer to its event. */
interface NodeStep {
  readonly reserveMs: number;
  beforeSending(): Promise<void>;
  afterAnswer(answer: EventAnswerText | null, deadline: number): Promise<void>;
}

/**
 * The `localAddress` step of one repmgr / Patroni call: at most one `ip` check (and change) per call, from the call's
 * own facts and role (before sending) or from the server's answer to the call's own event (after). Never throws;
 * every check is logged in one line.
 */
class LocalAddressStep {
  /** Budget kept after sending for acting on the answer: only a claim (facts out of recovery) can need it. */
  readonly reserveMs: number;
  private readonly fromEvent: AddressIntent | null;
  private readonly claims: boolean;
  private readonly sliceMs: number;

  constructor(
    private readonly config: HookConfig,
    private readonly event: VipEvent,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly log: HookLog,
    private readonly now: () => number,
  ) {
    this.sliceMs = Math.min(LOCAL_ADDRESS_MAX_MS, Math.floor(config.timeoutMs / 4));
    this.fromEvent = intentFromEvent(event);
    this.claims = this.fromEvent === null && classify(event) === EventKind.PrimaryAssertion;
    this.reserveMs = this.claims ? this.sliceMs : 0;
  }

  /** Not the primary by the call's own facts or role: drop the address now, whatever the server answers. */
  async beforeSending(): Promise<void> {
    if (this.fromEvent !== null) await this.ensure(this.fromEvent, this.sliceMs);
  }

  /** The server's answer to this call's own event (null: none in this call's budget). */
  async afterAnswer(answer: EventAnswerText | null, deadline: number): Promise<void> {
    if (this.fromEvent !== null) return;
    const intent = answer === null ? null : intentFromAnswer(answer, this.config.node);
    if (intent === null) {
      if (this.claims) {
        const local = this.config.localAddress!;
        const reason = answer === null ? 'no answer to this call within its budget' : `answer ${answerCode(answer)}`;
        this.log.line({ localAddress: 'unchanged', address: local.address, interface: local.interface, id: this.event.id, reason });
      }
      return;
    }
    await this.ensure(intent, Math.min(LOCAL_ADDRESS_MAX_MS, Math.max(this.sliceMs, deadline - this.now())));
  }

  private async ensure(intent: AddressIntent, boundMs: number): Promise<void> {
    const local = this.config.localAddress!;
    const fields = { address: local.address, interface: local.interface, want: intent.want, why: intent.why, id: this.event.id };
    try {
      const result = await ensureLocalAddress(intent.want, local, boundMs, execIp(this.env as NodeJS.ProcessEnv), this.now);
      if (result.outcome === 'failed') this.log.line({ localAddress: 'failed', step: result.step, ...fields, ip: local.ip, reason: result.reason, ms: result.ms });
      else this.log.line({ localAddress: result.outcome, ...fields, ms: result.ms });
    } catch (error) {
      this.log.line({ localAddress: 'failed', ...fields, reason: describe(error) });
    }
  }
}

function answerCode(answer: EventAnswerText): string {
  try {
    const body = JSON.parse(answer.body) as { code?: unknown };
    return typeof body.code === 'string' ? body.code : `HTTP ${answer.status}`;
  } catch {
    return `HTTP ${answer.status}`;
  }
}

/** `flush`: send what is spooled within flushTimeoutMs. Exit 1 when records remain, 2 on bad config. */
async function runFlush(configPath: string | undefined, io: HookIo): Promise<number> {
  const now = io.now ?? (() => performance.now());
  let config: HookConfig;
  let key: string;
  try {
    ({ config, key } = loadHookConfig(configPath, io.env));
  } catch (error) {
    io.stderr(`vipswitch-hook: ${(error as Error).message}\n`);
    return EXIT.usage;
  }
  const log = createLog(io.stderr, config.logFile);
  const spool = new Spool(config.spoolDir);
  try {
    const options = deliverOptions(config, key, spool, log, config.flushTimeoutMs, FLUSH_BACKOFF, Math.max(config.timeoutMs, 10_000), now);
    const report = await deliverSpool(options);
    log.line({ flush: report.remaining === 0 ? 'done' : 'incomplete', delivered: report.delivered, answered: report.answered, pending: report.remaining, reason: report.stoppedBecause ?? undefined, ms: Math.round(now()) });
    return report.remaining === 0 ? EXIT.ok : EXIT.spoolNotEmpty;
  } catch (error) {
    log.line({ flush: 'failed', reason: describe(error), spoolDir: config.spoolDir });
    return EXIT.spoolNotEmpty;
  }
}

function deliverOptions(
  config: HookConfig,
  key: string,
  spool: Spool,
  log: HookLog,
  deadline: number,
  backoff: DeliverOptions['backoff'],
  attemptTimeoutMs: number,
  now: () => number,
): DeliverOptions {
  return {
    spool,
    endpoint: config.endpoint,
    key,
    deadline,
    attemptTimeoutMs,
    backoff,
    // Nobody legitimately holds the lock longer than the longest budget; beyond that its pid was reused or it hangs.
    staleLockMs: Math.max(config.flushTimeoutMs, config.timeoutMs + config.promoteWaitMs) + 60_000,
    probingGiveUpMs: config.probeTimeoutMs + config.promoteWaitMs + 10_000,
    log,
    userAgent: USER_AGENT,
    now,
  };
}

/** Bad config or argv on a repmgr / Patroni call: say so, and keep the raw call where an operator finds it. */
function keepUnparsed(argv: readonly string[], error: unknown, spoolDir: string | null, log: HookLog): void {
  const reason = error instanceof HookConfigError ? `invalid hook config: ${error.issues.join('; ')}` : describe(error);
  log.message(`call not sent: ${reason}`);
  if (spoolDir === null) {
    log.message('call not kept: no spool directory known (set spoolDir or VIPSWITCH_SPOOL_DIR)');
    return;
  }
  try {
    const path = new Spool(spoolDir).addUnparsed({ spool: SPOOL_FORMAT, kind: 'unparsed', pid: process.pid, spooledAt: new Date().toISOString(), argv: [...argv], error: reason });
    log.message(`call kept in ${path}`);
  } catch (spoolError) {
    log.message(`call not kept: cannot write to ${spoolDir} (${describe(spoolError)})`);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node's fs errors already start with their code ("ENOSPC: no space left on device, write"): never twice
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.startsWith(`${code}:`) ? `${code}: ${error.message}` : error.message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
