/**
 * The vipswitch drill: a REAL repmgr or Patroni cluster on 127.0.0.1 (local/drill) wired to the REAL hook
 * (hooks/dist/vipswitch-hook.cjs), which POSTs signed events to the local stack (DynamoDB Local, the local AWS
 * endpoint, the Lambdas behind serverless-offline). Each scenario (a kill -9, a switchover, a split brain, a rejoin)
 * is measured on one clock: action → detection → promote hook → event accepted → endpoint moved → verified.
 *
 *   const result = await runVipswitchDrill({ tool: 'repmgr', log: console.log });
 *
 * Everything it starts (the stack unless one is given, the cluster, a temp dir with the cluster.yaml and the keys)
 * is torn down before it returns, also when a step fails.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { applyClusterFile } from '../apply';
import { describeView, endpointView, pointsAt } from '../endpoint-view';
import { repoRoot } from '../root';
import { loadTopology, startLocalStack, type LocalStack } from '../stack';
import { parseClusterFile } from '../../shared/config/cluster-config';
import type { EndpointConfig } from '../../shared/domain/cluster';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import type { HookWiring, NodeInfo } from './hook';
import { PatroniCluster } from './patroni';
import { RepmgrCluster } from './repmgr';
import { Timeline, delay, errMsg } from './util';

export type DrillTool = 'repmgr' | 'patroni';

/** Scenarios per tool, in their default order (each one starts from where the previous one left the cluster). */
export const DRILL_SCENARIOS: Record<DrillTool, readonly string[]> = {
  repmgr: ['failover', 'split-brain', 'rejoin', 'switchover'],
  patroni: ['switchover', 'failover', 'rejoin'],
};

/**
 * One point of a scenario's timeline, in ms from the action (wall clock, this machine). Steps:
 * `action`; `detection` (first journal entry about the failure); `promote hook` (the hook call that carried the
 * accepted claim: its event's occurredAt, else the journal's receivedAt); `accepted` (journal receivedAt);
 * `endpoint moved` (first 50 ms poll where every mechanism points at the new primary); `verified` (it alone answers
 * pg_is_in_recovery() = false and every mechanism points at it). Split brain: `stale claim hook`, `rejected` (409),
 * `paged`, `observed` (end of the observation window), `stopped`. Rejoin: `rejoined`.
 */
export interface DrillStep {
  step: string;
  atMs: number;
  node?: string;
  detail?: string;
}

export interface DrillJournalLine {
  atMs: number;
  receivedAt: string;
  node: string;
  type: string;
  outcome: string;
  reason: string;
  epoch: number | null;
  facts: NodeFacts | null;
}

export interface DrillPage {
  atMs: number;
  type: string | undefined;
  severity: string | undefined;
  subject: string | undefined;
}

export interface DrillScenarioResult {
  name: string;
  /** true when the scenario ran through and the endpoint was right at its end */
  ok: boolean;
  timeline: DrillStep[];
  error?: string;
  /** where the endpoint was before the action, and where it must be after it */
  from: string | null;
  to: string | null;
  /** the node every mechanism pointed at when the scenario ended (null: none / mixed) */
  endpointAtEnd: string | null;
  /** the only node out of recovery when the scenario ended (null: none or several) */
  primaryAtEnd: string | null;
  /** endpoint changes seen from the action on (ms from the action; target null = none / mixed) */
  endpointChanges: { atMs: number; target: string | null }[];
  /** journal entries received from the action on, oldest first */
  journal: DrillJournalLine[];
  /** pages published from the action on */
  pages: DrillPage[];
  /** what went wrong outside vipswitch's responsibility and was repaired (e.g. a sibling's repmgrd terminated) */
  warnings: string[];
  /** split-brain: the stale claim as the hook recorded the server's answer */
  staleClaim?: { node: string; type: string; claimedTimeline: number | null; status: number | null; code: string | null; paged: boolean };
}

export interface DrillResult {
  ok: boolean;
  tool: DrillTool;
  /** the vipswitch cluster name (unique per run) */
  cluster: string;
  /** the real cluster's base dir (removed by the teardown) */
  baseDir?: string;
  scenarios: DrillScenarioResult[];
  /** set when the drill failed outside a scenario (stack, registration, build, initial endpoint) */
  error?: string;
}

export interface VipswitchDrillOptions {
  tool: DrillTool;
  /** default: all of {@link DRILL_SCENARIOS}[tool], in that order */
  scenarios?: string[];
  log: (line: string) => void;
  /** an already running local stack (left running); default: one is started and stopped */
  stack?: LocalStack;
  /** split-brain: how long the endpoint is watched to stay (default 5000 ms) */
  observeMs?: number;
  /** copy the cluster's logs (PostgreSQL, repmgrd / Patroni, hook logs, spools' answers) here before the teardown */
  logsDir?: string;
  /** aborting stops at the next poll and tears everything down */
  signal?: AbortSignal;
}

const run = promisify(execFile);
const POLL_MS = 50;
const HOSTED_ZONE = 'Z0123456789ABCDEFGHIJ';

/** Why a scenario list cannot run in that order (each scenario needs the state the previous ones leave), or null. */
export function checkScenarioOrder(tool: DrillTool, scenarios: readonly string[]): string | null {
  if (scenarios.length === 0) return 'no scenario given';
  let down = false;
  let splitBrainDone = false;
  for (const s of scenarios) {
    if (!DRILL_SCENARIOS[tool].includes(s)) return `unknown scenario ${s} for ${tool} (${DRILL_SCENARIOS[tool].join(', ')})`;
    if (s === 'failover') {
      if (down) return 'failover needs every node up: put rejoin before it';
      down = true;
      splitBrainDone = false;
    } else if (s === 'switchover') {
      if (down) return 'switchover needs every node up: put rejoin before it';
    } else if (s === 'split-brain') {
      if (!down || splitBrainDone) return 'split-brain needs a failover just before it (the killed old primary is started again)';
      splitBrainDone = true;
    } else if (s === 'rejoin') {
      if (!down) return 'rejoin needs a failover before it (it rejoins the failed old primary)';
      down = false;
    }
  }
  return null;
}

interface RegisteredNode {
  name: string;
  eni: string;
  privateIp: string;
  instanceId: string;
  key: string;
}

interface Registration {
  name: string;
  vip: string;
  endpoints: EndpointConfig;
  nodes: RegisteredNode[];
}

/** The API's journal entry (GET /v1/clusters/<cluster>?journal=N). */
interface ApiJournalEntry {
  eventId: string;
  receivedAt: string;
  node: string;
  type: string;
  outcome: string;
  reason: string;
  epoch: number | null;
  source: string;
  facts: NodeFacts | null;
}

class Aborted extends Error {}
/** Thrown from a pollUntil() probe to stop polling at once. */
class Fatal extends Error {}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Aborted('drill interrupted');
}

/** Polls `fn` every `intervalMs` until it returns a value (not undefined/null/false) or the deadline passes. */
async function pollUntil<T>(what: string, deadlineMs: number, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, signal: AbortSignal | undefined, intervalMs = POLL_MS): Promise<T> {
  const end = Date.now() + deadlineMs;
  let last = '';
  for (;;) {
    throwIfAborted(signal);
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      if (e instanceof Fatal || e instanceof Aborted) throw e;
      last = `: ${errMsg(e)}`;
    }
    if (Date.now() >= end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${last}`);
    await delay(Math.min(intervalMs, Math.max(0, end - Date.now())));
  }
}

/**
 * Watches the endpoint (every 50 ms, from the local AWS endpoint's state), the journal (GET .../clusters/<c>) and the
 * pages, logging every change as it happens.
 */
class Observer {
  readonly changes: { at: number; target: string | null }[] = [];
  readonly journal: (ApiJournalEntry & { at: number })[] = [];
  readonly pages: (DrillPage & { at: number })[] = [];
  private readonly seen = new Set<string>();
  private readonly seenPages = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private running = false;

  constructor(
    private readonly stack: LocalStack,
    private readonly reg: Registration,
    private readonly tl: Timeline,
  ) {}

  /** Where every mechanism points now: a node name, or null (none / not all the same). Records changes. */
  sample(): string | null {
    const view = endpointView(this.stack.aws.state(), this.reg.endpoints);
    const target = this.reg.nodes.find((n) => pointsAt(view, n))?.name ?? null;
    const last = this.changes.at(-1);
    if (!last || last.target !== target) {
      const at = Date.now();
      this.changes.push({ at, target });
      const names = new Map<string, string>();
      for (const n of this.reg.nodes) {
        names.set(n.eni, n.name);
        names.set(n.privateIp, n.name);
      }
      this.tl.logAt(at, `endpoint: ${target === null ? 'NOT on one node' : `every mechanism on ${target}`} — ${describeView(view, (k) => (k === null ? '-' : (names.get(k) ?? '?'))).join('; ')}`);
    }
    return target;
  }

  start(): void {
    this.running = true;
    this.sample();
    this.timer = setInterval(() => {
      try {
        this.sample();
      } catch (e) {
        this.tl.log(`endpoint sample failed: ${errMsg(e)}`);
      }
    }, POLL_MS);
    this.loop = (async () => {
      while (this.running) {
        await this.refresh().catch((e) => this.tl.log(`journal poll failed: ${errMsg(e)}`));
        await delay(400);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    await this.loop;
    await this.refresh().catch(() => undefined);
  }

  /** Reads the journal (newest 200) and the pages now; logs what is new. */
  async refresh(): Promise<void> {
    const response = await fetch(`${this.stack.apiUrl}/v1/clusters/${encodeURIComponent(this.reg.name)}?journal=200`);
    const body = (await response.json()) as { journal?: ApiJournalEntry[]; message?: string };
    if (!response.ok) throw new Error(`GET cluster: HTTP ${response.status} ${body.message ?? ''}`);
    for (const e of [...(body.journal ?? [])].reverse()) {
      const key = `${e.eventId}|${e.outcome}|${e.type}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      const at = Date.parse(e.receivedAt);
      this.journal.push({ ...e, at });
      const f = e.facts;
      const facts = f === null ? 'facts null' : `${f.inRecovery ? 'in recovery' : 'OUT of recovery'}, timeline ${f.timeline ?? '?'}`;
      this.tl.logAt(at, `journal: ${e.node} ${e.type} (${facts}) → ${e.outcome}${e.epoch !== null ? ` epoch ${e.epoch}` : ''} — ${e.reason}`);
    }
    this.journal.sort((a, b) => a.at - b.at);
    const published = this.stack.aws
      .state()
      .topics.flatMap((t) => t.published)
      .filter((m) => m.messageAttributes.cluster?.Value === this.reg.name);
    for (const m of published) {
      if (this.seenPages.has(m.messageId)) continue;
      this.seenPages.add(m.messageId);
      const page = { at: Date.parse(m.timestamp), atMs: 0, type: m.messageAttributes.type?.Value, severity: m.messageAttributes.severity?.Value, subject: m.subject };
      this.pages.push(page);
      this.tl.logAt(page.at, `PAGE [${page.severity}/${page.type}] ${page.subject ?? ''}`);
    }
  }
}

/** The cluster under test, repmgr or Patroni, seen the same way. */
interface DrillCluster {
  readonly names: string[];
  inRecovery(node: string): Promise<boolean | null>;
}

function asDrillCluster(c: RepmgrCluster | PatroniCluster): DrillCluster {
  return { names: (c instanceof RepmgrCluster ? c.nodes : c.members).map((n) => n.name), inRecovery: (n) => c.inRecovery(n) };
}

/** Everything a scenario needs. */
interface Ctx {
  tool: DrillTool;
  stack: LocalStack;
  reg: Registration;
  obs: Observer;
  tl: Timeline;
  cluster: DrillCluster;
  repmgr?: RepmgrCluster;
  patroni?: PatroniCluster;
  signal: AbortSignal | undefined;
  observeMs: number;
  /** the endpoint's node (and the only primary) between scenarios */
  primary: string;
  /** the failed old primary, until it is rejoined */
  down: string | null;
  /** the node the last failover moved away from (switchover goes back to it) */
  lastFailedOver: string | null;
  /** the running scenario's warnings */
  warnings: string[];
}

/** Builds one scenario's result as it runs, logging each step live. */
class ScenarioRecorder {
  readonly steps: DrillStep[] = [];
  t0 = 0;
  constructor(
    readonly name: string,
    private readonly tl: Timeline,
  ) {}

  action(detail: string): number {
    this.t0 = Date.now();
    this.add('action', this.t0, undefined, detail);
    return this.t0;
  }

  add(step: string, at: number, node?: string, detail?: string): void {
    const s: DrillStep = { step, atMs: at - this.t0 };
    if (node !== undefined) s.node = node;
    if (detail !== undefined) s.detail = detail;
    this.steps.push(s);
    this.tl.logAt(at, `${this.name}: +${(s.atMs / 1000).toFixed(3)}s ${step}${node ? ` ${node}` : ''}${detail ? ` — ${detail}` : ''}`);
  }
}

/**
 * When the hook was called for an event, on this machine's clock: Patroni events carry the hook's own clock;
 * repmgr's `%t` is PostgreSQL's now() (microseconds) when repmgr could write the event to its database, else a
 * whole-second strftime, too coarse for a timeline — then the journal's receivedAt stands in.
 */
function hookTime(event: VipEvent | undefined, receivedAt: number): { at: number; from: 'occurredAt' | 'receivedAt' } {
  if (event) {
    const precise = event.source !== 'repmgr' || /\d{2}:\d{2}:\d{2}\.\d+/.test(event.raw.argv[3] ?? '');
    const at = Date.parse(event.occurredAt);
    if (precise && Number.isFinite(at) && at <= receivedAt) return { at, from: 'occurredAt' };
  }
  return { at: receivedAt, from: 'receivedAt' };
}

async function storedEvent(ctx: Ctx, eventId: string): Promise<VipEvent | undefined> {
  const entries = await ctx.stack.store.readJournal(ctx.reg.name, 200);
  return entries.find((e) => e.eventId === eventId)?.event;
}

/** pg_is_in_recovery() of every node: the single node out of recovery, or null (none or several). */
async function solePrimary(ctx: Ctx): Promise<{ primary: string | null; states: Record<string, boolean | null> }> {
  const states: Record<string, boolean | null> = {};
  await Promise.all(ctx.cluster.names.map(async (n) => (states[n] = await ctx.cluster.inRecovery(n))));
  const primaries = ctx.cluster.names.filter((n) => states[n] === false);
  return { primary: primaries.length === 1 ? primaries[0]! : null, states };
}

/** Waits until `node` alone answers pg_is_in_recovery() = false and every mechanism points at it; returns when. */
async function verify(ctx: Ctx, node: string, deadlineMs = 30_000): Promise<number> {
  await pollUntil(
    `${node} verified (the only primary, every mechanism on it)`,
    deadlineMs,
    async () => {
      const { primary, states } = await solePrimary(ctx);
      if (primary !== node) throw new Error(`pg_is_in_recovery: ${JSON.stringify(states)}`);
      const target = ctx.obs.sample();
      if (target !== node) throw new Error(`endpoint on ${target ?? 'no single node'}`);
      return true;
    },
    ctx.signal,
  );
  return Date.now();
}

function journalSince(ctx: Ctx, t0: number): (ApiJournalEntry & { at: number })[] {
  return ctx.obs.journal.filter((e) => e.at >= t0);
}

/** The first accepted claim of `node` since t0 (refreshing the journal until it is there). */
async function acceptedClaim(ctx: Ctx, node: string, t0: number): Promise<ApiJournalEntry & { at: number }> {
  return pollUntil(
    `the accepted claim of ${node} in the journal`,
    15_000,
    async () => {
      await ctx.obs.refresh();
      return journalSince(ctx, t0).find((e) => e.node === node && e.outcome === 'accepted');
    },
    ctx.signal,
    250,
  );
}

const DETECTION = /disconnect|failure|unreachable|lost/;

/**
 * A scenario that moves the endpoint: runs `action` (its promise is awaited at the end), waits for the endpoint to
 * point at a node other than `from`, checks it is the real new primary, verifies, and reads the journal.
 */
async function measureMove(
  ctx: Ctx,
  rec: ScenarioRecorder,
  opts: { from: string; detail: string; action: () => Promise<unknown>; newPrimary: () => Promise<string>; settle: () => Promise<unknown>; detect: boolean },
): Promise<string> {
  const t0 = rec.action(opts.detail);
  const actionDone = opts.action();
  let actionError: unknown = null;
  actionDone.catch((e) => (actionError = e));
  const moved = await pollUntil(
    `the endpoint to leave ${opts.from}`,
    90_000,
    () => {
      if (actionError) throw new Fatal(`action failed: ${errMsg(actionError)}`);
      ctx.obs.sample();
      return ctx.obs.changes.find((c) => c.at >= t0 && c.target !== null && c.target !== opts.from);
    },
    ctx.signal,
  );
  const newPrimary = await opts.newPrimary();
  if (moved.target !== newPrimary) throw new Error(`the endpoint moved to ${moved.target}, but the new primary is ${newPrimary}`);
  const claim = await acceptedClaim(ctx, newPrimary, t0);
  const event = await storedEvent(ctx, claim.eventId);
  const hook = hookTime(event, claim.at);
  // detection: the first entry about the failure, as it happened before the winning hook call
  for (const e of opts.detect ? journalSince(ctx, t0).filter((j) => DETECTION.test(j.type) && j.at <= claim.at) : []) {
    const dt = hookTime(await storedEvent(ctx, e.eventId), e.at);
    if (dt.at > hook.at) break;
    rec.add('detection', Math.max(dt.at, t0), e.node, `${e.type} (${dt.from})`);
    break;
  }
  rec.add('promote hook', hook.at, newPrimary, `${claim.type} (${hook.from}; timeline ${claim.facts?.timeline ?? '?'})`);
  rec.add('accepted', claim.at, newPrimary, `epoch ${claim.epoch}`);
  rec.add('endpoint moved', moved.at, newPrimary);
  rec.add('verified', await verify(ctx, newPrimary), newPrimary);
  ctx.primary = newPrimary;
  await actionDone;
  await opts.settle();
  return newPrimary;
}

/** Fails if the endpoint pointed anywhere but `node` since `t0` (and samples it once more now). */
function assertStayed(ctx: Ctx, node: string, t0: number): void {
  ctx.obs.sample();
  const last = [...ctx.obs.changes].reverse().find((c) => c.at < t0);
  const during = ctx.obs.changes.filter((c) => c.at >= t0);
  const wrong = [...(last ? [last] : []), ...during].filter((c) => c.target !== node);
  if (wrong.length) throw new Error(`the endpoint left ${node}: ${wrong.map((c) => `${c.target ?? 'none/mixed'} at +${((c.at - t0) / 1000).toFixed(3)}s`).join(', ')}`);
}

// ------------------------------------------------------------------------------------------------ scenarios

/**
 * repmgr: waits until the cluster is healthy (one primary, every other node streaming, every repmgrd running). A
 * repmgrd found dead (while its PostgreSQL runs) is not vipswitch's doing — repmgr 5.3 can leave a sibling with a stale
 * "follow node X" notification that makes its repmgrd terminate at the next upstream loss — so it is recorded as a
 * warning, with the repmgrd log lines that say why, and started again; then the cluster must become healthy.
 */
async function settleRepmgr(ctx: Ctx, opts: { ignore?: string[] } = {}): Promise<string> {
  const c = ctx.repmgr!;
  try {
    return await c.waitHealthy(30_000, opts);
  } catch (first) {
    const primary = (await solePrimary(ctx)).primary;
    if (!primary) throw first;
    const st = await c.repmgr(primary, ['service', 'status', '--csv'], 15_000, true);
    // --csv (5.3): id,name,role,pg_running,repmgrd_running,repmgrd_pid,paused,...
    const dead = st.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(','))
      .filter((r) => r[3] === '1' && r[4] === '0' && !(opts.ignore ?? []).includes(r[1]!))
      .map((r) => r[1]!);
    if (dead.length === 0) throw first;
    for (const node of dead) {
      const why = await repmgrdLastWords(c.nodes.find((n) => n.name === node)!);
      const warning = `repmgrd of ${node} was not running (PostgreSQL was); its log: ${why}; started it again`;
      ctx.warnings.push(warning);
      ctx.tl.log(`WARNING: ${warning}`);
      await c.startRepmgrd(node);
    }
    return c.waitHealthy(60_000, opts);
  }
}

/** The lines of a node's repmgrd.log that tell why it stopped (notification received, follow attempt, termination). */
async function repmgrdLastWords(node: NodeInfo): Promise<string> {
  try {
    const lines = (await readFile(join(node.dir, 'repmgrd.log'), 'utf8')).split('\n').slice(-60);
    return lines.filter((l) => /received notification|attempting to follow|\[ERROR\]|terminating/.test(l)).slice(-5).join(' | ') || '(nothing about it)';
  } catch (e) {
    return `(no repmgrd.log: ${errMsg(e)})`;
  }
}

async function repmgrFailover(ctx: Ctx, rec: ScenarioRecorder): Promise<void> {
  const c = ctx.repmgr!;
  const old = ctx.primary;
  // settle first (as killPostmaster does by default), so the kill itself is the action
  await c.settleWal(old).catch((e) => ctx.tl.log(`WAL of ${old} did not settle: ${errMsg(e)}`));
  await measureMove(ctx, rec, {
    from: old,
    detail: `kill -9 the postmaster of ${old}`,
    action: () => c.killPostmaster(old, { settle: false }),
    newPrimary: () => c.waitForPrimary(old, 60_000),
    settle: () => settleRepmgr(ctx, { ignore: [old] }),
    detect: true,
  });
  ctx.down = old;
  ctx.lastFailedOver = old;
}

async function repmgrSplitBrain(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.repmgr!;
  const old = ctx.down!;
  const p = ctx.primary;
  await settleRepmgr(ctx, { ignore: [old] });
  const t0 = rec.action(`start ${old} again as a primary, without rejoin (and its repmgrd)`);
  await c.startWithoutRejoin(old);
  rec.add('started', Date.now(), old, 'PostgreSQL and repmgrd up');
  const tlOld = await c.timeline(old).catch(() => null);
  ctx.tl.log(`split brain: ${old} (timeline ${tlOld ?? '?'}) and ${p} (timeline ${await c.timeline(p).catch(() => '?')}) both answer pg_is_in_recovery() = false`);
  const stale = await pollUntil(
    `a stale_claim from ${old} in the journal`,
    30_000,
    async () => {
      await ctx.obs.refresh();
      return journalSince(ctx, t0).find((e) => e.node === old && e.outcome === 'stale_claim');
    },
    ctx.signal,
    250,
  );
  const event = await storedEvent(ctx, stale.eventId);
  const hook = hookTime(event, stale.at);
  rec.add('stale claim hook', hook.at, old, `${stale.type} (${hook.from}; out of recovery on timeline ${stale.facts?.timeline ?? '?'})`);
  // the journal entry is written before the answer reaches the hook, which then files it under spool/answered/
  const answer = await pollUntil(`${old}'s hook to file the answer to ${stale.eventId}`, 10_000, () => hookAnswer(c.nodes.find((n) => n.name === old)!, stale.eventId), ctx.signal, 100).catch(() => null);
  rec.add('rejected', stale.at, old, `HTTP ${answer?.status ?? '?'} ${answer?.code ?? stale.outcome} — ${stale.reason}`);
  const page = await pollUntil(
    'the stale_claim page',
    15_000,
    async () => {
      await ctx.obs.refresh();
      return ctx.obs.pages.find((pg) => pg.at >= t0 && pg.type === 'stale_claim');
    },
    ctx.signal,
    250,
  );
  rec.add('paged', page.at, old, `[${page.severity}/${page.type}] ${page.subject ?? ''}`);
  result.staleClaim = { node: old, type: stale.type, claimedTimeline: stale.facts?.timeline ?? null, status: answer?.status ?? null, code: answer?.code ?? null, paged: true };
  if (answer?.status !== 409 || answer.code !== 'stale_claim') throw new Error(`the hook of ${old} recorded ${answer ? `HTTP ${answer.status} ${answer.code}` : 'no answer'} for its stale claim, not 409 stale_claim`);

  // The observation window: on every poll the endpoint is still on the new primary.
  const windowStart = Date.now();
  while (Date.now() - windowStart < ctx.observeMs) {
    throwIfAborted(ctx.signal);
    const target = ctx.obs.sample();
    if (target !== p) throw new Error(`during the split brain the endpoint left ${p}: it is on ${target ?? 'no single node'}`);
    await delay(POLL_MS);
  }
  assertStayed(ctx, p, t0);
  const status = (await (await fetch(`${ctx.stack.apiUrl}/v1/clusters/${ctx.reg.name}?journal=0`)).json()) as { state: { primary: string | null } };
  if (status.state.primary !== p) throw new Error(`the fencing record names ${status.state.primary} as primary, not ${p}`);
  rec.add('observed', Date.now(), p, `endpoint stayed on ${p} for ${(ctx.observeMs / 1000).toFixed(1)} s of split brain; fencing record unchanged`);
  await c.stopRepmgrd(old);
  await c.stopPostgres(old);
  rec.add('stopped', Date.now(), old, 'repmgrd and PostgreSQL stopped');
  rec.add('verified', await verify(ctx, p), p);
  assertStayed(ctx, p, t0);
}

/** The server's answer to one event, as the node's hook kept it (spool/answered/ holds the final 4xx answers). */
async function hookAnswer(node: NodeInfo, eventId: string): Promise<{ status: number; code: string | null } | null> {
  const dir = join(node.dir, 'spool', 'answered');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  for (const name of names.filter((n) => n.endsWith('.json') && !n.endsWith('.answer.json'))) {
    try {
      const record = JSON.parse(await readFile(join(dir, name), 'utf8')) as { event?: { id?: string } };
      if (record.event?.id !== eventId) continue;
      const answer = JSON.parse(await readFile(join(dir, name.replace(/\.json$/, '.answer.json')), 'utf8')) as { status: number; code: string | null };
      return { status: answer.status, code: answer.code };
    } catch {
      continue;
    }
  }
  return null;
}

async function noMoveRejoin(ctx: Ctx, rec: ScenarioRecorder, detail: string, rejoin: (node: string) => Promise<void>): Promise<void> {
  const old = ctx.down!;
  const p = ctx.primary;
  const t0 = rec.action(detail);
  await rejoin(old);
  rec.add('rejoined', Date.now(), old, `streaming replica of ${p}`);
  if ((await ctx.cluster.inRecovery(old)) !== true) throw new Error(`${old} is not in recovery after the rejoin`);
  assertStayed(ctx, p, t0);
  rec.add('verified', await verify(ctx, p), p, `endpoint stayed on ${p}`);
  assertStayed(ctx, p, t0);
  ctx.down = null;
}

async function repmgrSwitchover(ctx: Ctx, rec: ScenarioRecorder): Promise<void> {
  const c = ctx.repmgr!;
  const from = ctx.primary;
  await settleRepmgr(ctx);
  const to = ctx.lastFailedOver && ctx.lastFailedOver !== from ? ctx.lastFailedOver : ctx.cluster.names.find((n) => n !== from)!;
  await measureMove(ctx, rec, {
    from,
    detail: `repmgr standby switchover --siblings-follow on ${to}`,
    action: () => c.repmgr(to, ['standby', 'switchover', '--siblings-follow', '--verbose'], 120_000),
    newPrimary: () => pollUntil(`${to} to be the only primary`, 60_000, async () => (await solePrimary(ctx)).primary === to && to, ctx.signal, 100),
    settle: async () => {
      const healthy = await settleRepmgr(ctx);
      if (healthy !== to) throw new Error(`after the switchover the primary is ${healthy}, not ${to}`);
    },
    detect: false,
  });
}

async function patroniSwitchover(ctx: Ctx, rec: ScenarioRecorder): Promise<void> {
  const c = ctx.patroni!;
  const from = await c.waitHealthy(60_000);
  if (from !== ctx.primary) throw new Error(`the leader is ${from}, the endpoint is on ${ctx.primary}`);
  const names = ctx.cluster.names;
  const to = names[(names.indexOf(from) + 1) % names.length]!;
  await measureMove(ctx, rec, {
    from,
    detail: `patronictl switchover --leader ${from} --candidate ${to}`,
    action: () => c.patronictl(from, ['switchover', c.scope, '--leader', from, '--candidate', to, '--force'], 90_000),
    newPrimary: () => pollUntil(`${to} to be the only primary`, 60_000, async () => (await solePrimary(ctx)).primary === to && to, ctx.signal, 100),
    settle: async () => {
      const leader = await c.waitHealthy(60_000);
      if (leader !== to) throw new Error(`after the switchover the leader is ${leader}, not ${to}`);
    },
    detect: false,
  });
}

async function patroniFailover(ctx: Ctx, rec: ScenarioRecorder): Promise<void> {
  const c = ctx.patroni!;
  const old = await c.waitHealthy(60_000);
  if (old !== ctx.primary) throw new Error(`the leader is ${old}, the endpoint is on ${ctx.primary}`);
  await measureMove(ctx, rec, {
    from: old,
    detail: `kill -9 the postmaster and the Patroni of the leader ${old}`,
    action: () => c.killLeaderHard(),
    newPrimary: () => c.waitForLeader(old, 60_000),
    settle: () =>
      c.waitHealthy(
        60_000,
        ctx.cluster.names.filter((n) => n !== old),
      ),
    detect: true,
  });
  ctx.down = old;
  ctx.lastFailedOver = old;
}

type ScenarioFn = (ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult) => Promise<void>;

const SCENARIO_FNS: Record<DrillTool, Record<string, ScenarioFn>> = {
  repmgr: {
    failover: repmgrFailover,
    'split-brain': repmgrSplitBrain,
    rejoin: (ctx, rec) => noMoveRejoin(ctx, rec, `repmgr node rejoin --force-rewind of ${ctx.down}`, (n) => ctx.repmgr!.rejoin(n)),
    switchover: repmgrSwitchover,
  },
  patroni: {
    switchover: patroniSwitchover,
    failover: patroniFailover,
    rejoin: (ctx, rec) => noMoveRejoin(ctx, rec, `start the Patroni of ${ctx.down} again`, (n) => ctx.patroni!.restartMember(n)),
  },
};

// ------------------------------------------------------------------------------------------------ setup

async function register(stack: LocalStack, tool: DrillTool, dir: string, log: Timeline): Promise<Registration> {
  const topology = await loadTopology(join(repoRoot(), 'local/topology.example.json'));
  const suffix = randomBytes(3).toString('hex');
  const name = `drill-${tool}-${suffix}`;
  const vip = `10.0.${200 + (randomBytes(1)[0]! % 50)}.${1 + (randomBytes(1)[0]! % 250)}`;
  const nodes: RegisteredNode[] = [];
  for (let i = 0; i < 3; i++) {
    const eni = topology.networkInterfaces[i];
    const instance = topology.instances[i];
    if (!eni || !instance) throw new Error(`the example topology has no node ${i + 1}`);
    nodes.push({ name: tool === 'repmgr' ? `node${i + 1}` : `pg${i + 1}`, eni: eni.networkInterfaceId, privateIp: eni.privateIpAddress, instanceId: instance.instanceId, key: randomBytes(32).toString('hex') });
  }
  for (const n of nodes) {
    await writeFile(join(dir, `${n.name}.key`), `${n.key}\n`, { mode: 0o600 });
  }
  const file = join(dir, 'cluster.yaml');
  const doc = {
    cluster: name,
    tool,
    fencing: 'alert',
    nodes: nodes.map((n, i) => ({ name: n.name, ...(tool === 'repmgr' ? { repmgrNodeId: i + 1 } : {}), eni: n.eni, instanceId: n.instanceId, privateIp: n.privateIp, keyFile: `${n.name}.key` })),
    endpoints: {
      routeTables: { vip, routeTableIds: topology.routeTables.map((t) => t.routeTableId) },
      elasticIp: { allocationId: 'eipalloc-0a1b2c3d4e5f60001' },
      secondaryIp: { address: '10.0.1.100' },
      route53: { hostedZoneId: HOSTED_ZONE, writerRecord: 'writer.db.example.internal.', readerRecord: 'reader.db.example.internal.', ttl: 10, waitForInsync: true, insyncTimeoutSeconds: 10 },
    },
  };
  await writeFile(file, toYaml(doc));
  const applied = await applyClusterFile(stack.store, file);
  const { config } = parseClusterFile(parseYaml(await readFile(file, 'utf8')));
  log.log(`registered cluster ${applied.cluster} (${applied.nodes.join(', ')}; VIP ${vip}/32 in ${doc.endpoints.routeTables.routeTableIds.join(', ')}, Elastic IP, secondary IP 10.0.1.100, Route53 writer/reader; no system identifier: the first claim pins it)`);
  return { name, vip, endpoints: config.endpoints, nodes };
}

function hookWiring(root: string, stack: LocalStack, reg: Registration): HookWiring {
  const files: Record<string, string> = {};
  for (const n of reg.nodes) files[`keys/${n.name}.key`] = `${n.key}\n`;
  return {
    command: [process.execPath, join(root, 'hooks/dist/vipswitch-hook.cjs')],
    files,
    configFor: (n: NodeInfo) => ({
      endpoint: stack.eventsUrl,
      cluster: reg.name,
      node: n.name,
      keyFile: join(n.baseDir, 'keys', `${n.name}.key`),
      spoolDir: join(n.dir, 'spool'),
      logFile: join(n.dir, 'vipswitch-hook.log'),
      timeoutMs: 3000,
      promoteWaitMs: 8000,
    }),
  };
}

/**
 * Runs the drill: stack (unless given) → keys + cluster registration → real cluster with the real hook → endpoint on
 * the initial primary → the scenarios in order → teardown. Never throws for a failed scenario or setup step: the
 * result says what failed (`ok: false`); throws only for a scenario list that cannot run in that order.
 */
export async function runVipswitchDrill(options: VipswitchDrillOptions): Promise<DrillResult> {
  const { tool, signal } = options;
  const scenarios = options.scenarios ?? [...DRILL_SCENARIOS[tool]];
  const problem = checkScenarioOrder(tool, scenarios);
  if (problem) throw new Error(problem);
  const tl = new Timeline(`vipswitch ${tool}`, options.log);
  const root = repoRoot();
  const result: DrillResult = { ok: false, tool, cluster: '', scenarios: [] };
  let stack = options.stack;
  let ownStack: LocalStack | undefined;
  let built: RepmgrCluster | PatroniCluster | undefined;
  let obs: Observer | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'vipswitch-drillcfg-'));
  await chmod(dir, 0o700);
  try {
    await tl.step('build the hook (scripts/build-hook.mjs)', () => run(process.execPath, [join(root, 'scripts/build-hook.mjs')], { cwd: root }));
    if (!stack) {
      const stackLog = process.env.VIPSWITCH_STACK_LOG;
      stack = ownStack = await tl.step('start the local stack (DynamoDB Local, local AWS endpoint, API)', async () =>
        startLocalStack({ topology: await loadTopology(join(root, 'local/topology.example.json')), log: stackLog ? (line) => appendFileSync(stackLog, `${line}\n`) : undefined }),
      );
      tl.log(`API ${stack.apiUrl}, local AWS endpoint ${stack.aws.url}`);
    }
    throwIfAborted(signal);
    const reg = await register(stack, tool, dir, tl);
    result.cluster = reg.name;
    obs = new Observer(stack, reg, tl);
    obs.start();
    const hook = hookWiring(root, stack, reg);
    built =
      tool === 'repmgr'
        ? await RepmgrCluster.create({ hook, log: options.log, cluster: `repmgr ${reg.name}` })
        : await PatroniCluster.create({ hook, log: options.log });
    result.baseDir = built.baseDir;
    const cluster = asDrillCluster(built);
    const initial = tool === 'repmgr' ? await (built as RepmgrCluster).primary() : await (built as PatroniCluster).leader();
    if (!initial) throw new Error('the new cluster has no primary');
    const buildDone = Date.now();
    const ctx: Ctx = {
      tool,
      stack,
      reg,
      obs,
      tl,
      cluster,
      signal,
      observeMs: options.observeMs ?? 5_000,
      primary: initial,
      down: null,
      lastFailedOver: null,
      warnings: [],
      ...(built instanceof RepmgrCluster ? { repmgr: built } : { patroni: built }),
    };
    await pollUntil(`every mechanism to point at the initial primary ${initial}`, 30_000, () => obs!.sample() === initial, signal);
    tl.log(`initial primary ${initial}: every mechanism points at it (${((Date.now() - buildDone) / 1000).toFixed(3)} s after the build)`);

    let failed = false;
    for (const name of scenarios) {
      const r: DrillScenarioResult = { name, ok: false, timeline: [], from: ctx.primary, to: null, endpointAtEnd: null, primaryAtEnd: null, endpointChanges: [], journal: [], pages: [], warnings: [] };
      ctx.warnings = r.warnings;
      result.scenarios.push(r);
      if (failed) {
        r.error = 'not run: an earlier scenario failed';
        continue;
      }
      const rec = new ScenarioRecorder(name, tl);
      tl.log(`=== scenario ${name} (endpoint on ${ctx.primary}) ===`);
      try {
        throwIfAborted(signal);
        if (obs.sample() !== ctx.primary) throw new Error(`before the action the endpoint is not on ${ctx.primary}`);
        await SCENARIO_FNS[tool][name]!(ctx, rec, r);
      } catch (e) {
        r.error = errMsg(e);
        tl.log(`${name}: FAILED — ${r.error}`);
      }
      await obs.refresh().catch(() => undefined);
      const t0 = rec.t0 || Date.now();
      r.timeline = rec.steps;
      r.to = ctx.primary;
      r.endpointAtEnd = obs.sample();
      r.primaryAtEnd = (await solePrimary(ctx).catch(() => ({ primary: null }))).primary;
      r.endpointChanges = obs.changes.filter((c) => c.at >= t0).map((c) => ({ atMs: c.at - t0, target: c.target }));
      r.journal = obs.journal
        .filter((e) => e.at >= t0)
        .map((e) => ({ atMs: e.at - t0, receivedAt: e.receivedAt, node: e.node, type: e.type, outcome: e.outcome, reason: e.reason, epoch: e.epoch, facts: e.facts }));
      r.pages = obs.pages.filter((p) => p.at >= t0).map(({ at, ...p }) => ({ ...p, atMs: at - t0 }));
      if (!r.error && (r.endpointAtEnd !== r.to || r.primaryAtEnd !== r.to)) {
        r.error = `at the end the endpoint is on ${r.endpointAtEnd ?? 'no single node'} and the primary is ${r.primaryAtEnd ?? 'not one node'} (expected ${r.to})`;
      }
      r.ok = !r.error;
      tl.log(`=== scenario ${name}: ${r.ok ? 'ok' : `FAILED: ${r.error}`} (endpoint on ${r.endpointAtEnd ?? 'no single node'}) ===`);
      if (!r.ok) failed = true;
      if (signal?.aborted) failed = true;
    }
    result.ok = result.scenarios.length > 0 && result.scenarios.every((s) => s.ok);
  } catch (e) {
    result.error = errMsg(e);
    result.ok = false;
    tl.log(`drill FAILED: ${result.error}`);
  } finally {
    await obs?.stop();
    if (built && options.logsDir) {
      const copied = await built.collectLogs(options.logsDir).catch(() => [] as string[]);
      tl.log(`copied ${copied.length} log files to ${options.logsDir}`);
    }
    await built?.destroy().catch((e) => tl.log(`cluster teardown failed: ${errMsg(e)}`));
    if (ownStack) await tl.step('stop the local stack', () => ownStack!.stop()).catch((e) => tl.log(`stack teardown failed: ${errMsg(e)}`));
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}

/** The final table: per scenario, seconds from the action to each step. */
export function formatDrillTable(result: DrillResult): string {
  const cols = ['scenario', 'result', 'detection', 'promote hook', 'accepted', 'endpoint moved', 'verified', 'notes'];
  const rows: string[][] = [];
  const sec = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(3));
  for (const s of result.scenarios) {
    const at = (step: string) => s.timeline.find((t) => t.step === step)?.atMs;
    const moved = s.endpointChanges.some((c) => c.target !== s.from);
    let hook = at('promote hook');
    let accepted = sec(at('accepted'));
    let notes = moved ? `${s.from} -> ${s.to}` : `endpoint stayed on ${s.to}`;
    if (s.name === 'split-brain') {
      hook = at('stale claim hook');
      const rejected = at('rejected');
      accepted = rejected === undefined ? '-' : `409 ${sec(rejected)}`;
      const paged = at('paged');
      notes = `stale claim of ${s.staleClaim?.node ?? '?'} (timeline ${s.staleClaim?.claimedTimeline ?? '?'}) ${s.staleClaim ? `answered ${s.staleClaim.status} ${s.staleClaim.code}` : ''}, paged ${sec(paged)}; ${notes}`;
    } else if (s.name === 'rejoin') {
      notes = `rejoined ${sec(at('rejoined'))}; ${notes}`;
    }
    const movedAt = moved ? sec(at('endpoint moved')) : 'stayed';
    if (s.error) notes = `${notes}; ${s.error}`;
    rows.push([s.name, s.ok ? 'ok' : 'FAILED', sec(at('detection')), sec(hook), accepted, movedAt, sec(at('verified')), notes]);
  }
  const width = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i === r.length - 1 ? v : i === 0 || i === 1 ? v.padEnd(width[i]!) : v.padStart(width[i]!))).join('  ');
  const warnings = result.scenarios.flatMap((s) => s.warnings.map((w) => `  ${s.name}: ${w}`));
  return [
    `${result.tool} drill on cluster ${result.cluster}: seconds from the action (kill / switchover / start)`,
    line(cols),
    ...rows.map(line),
    ...(warnings.length ? ['warnings (outside vipswitch, repaired by the drill):', ...warnings] : []),
  ].join('\n');
}
