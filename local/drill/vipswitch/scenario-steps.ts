/**
 * What every tool's scenarios are made of: the context they share, measuring a move (committed → moved → verified,
 * Route 53 INSYNC, the promote hook's call), checking that the endpoint stayed, a rejoin that must not move it.
 */
import type { LocalStack } from '../../stack';
import { isPgpoolFacts, type VipEvent } from '../../../shared/domain/event';
import type { HookWiring, NodeInfo } from '../hook';
import type { KeepalivedCluster } from '../keepalived';
import type { PatroniCluster } from '../patroni';
import type { PgpoolCluster } from '../pgpool';
import type { RepmgrCluster } from '../repmgr';
import { FatalWaitError, errMsg, waitUntil, type Timeline } from '../util';
import type { DrillObserver, ApiJournalEntry, ObservedRoute53Change } from './drill-observer';
import { POLL_MS } from './drill-observer';
import { formatScenarioSummary, type ScenarioRecorder } from './drill-report';
import type { DrillScenarioResult, DrillTool } from './drill-types';
import { hookCallEvidence, hookTime, readHookLog } from './hook-evidence';
import { hookLogFile, type Registration } from './register-drill-cluster';
import type { ClientTarget, PgServer, WriteClient } from './write-client';

/** What the runner needs of any tool's cluster class. */
export interface DrillCluster {
  readonly baseDir: string;
  /** the network namespaces the cluster made (keepalived), deleted by destroy() */
  readonly namespaces?: readonly string[];
  collectLogs(destDir: string): Promise<string[]>;
  destroy(): Promise<void>;
}

/**
 * A node's part, as the drill checks the endpoint against it: `primary` is the node the endpoint must follow (the
 * PostgreSQL primary; in a Pgpool-II cluster the watchdog's quorum-backed leader), `other` any other node that answers,
 * null a node that does not.
 */
export type NodeRole = 'primary' | 'other' | null;

/** Everything a scenario needs; `cluster` is the tool's own cluster class. */
export interface ScenarioContext<C> {
  readonly tool: DrillTool;
  readonly cluster: C;
  readonly names: string[];
  /** the node's part now (the tool's {@link ToolDrill.roleOf}) */
  roleOf(name: string): Promise<NodeRole>;
  nodeInfo(name: string): NodeInfo;
  readonly stack: LocalStack;
  readonly reg: Registration;
  readonly obs: DrillObserver;
  /** the client writing through the endpoint (started once the endpoint converged on the initial primary) */
  readonly client: WriteClient;
  readonly tl: Timeline;
  readonly signal: AbortSignal | undefined;
  readonly observeMs: number;
  /** the slowest Route 53 INSYNC to expect (the actuator's verification waits for it) */
  readonly insyncMaxMs: number;
  /** the endpoint's node (and the only primary) between scenarios */
  primary: string;
  /** the failed old primary, until it is rejoined */
  down: string | null;
  /** the node the last failover moved away from (switchover goes back to it) */
  lastFailedOver: string | null;
  /** the running scenario's warnings */
  warnings: string[];
}

export type ScenarioFn<C> = (ctx: ScenarioContext<C>, rec: ScenarioRecorder, result: DrillScenarioResult) => Promise<void>;

/**
 * One tool's drill: how to build its cluster, name its initial primary, and run its scenarios. The runner picks one by
 * `tool` ({@link ToolDrillOf}); each tool's module (repmgr-drill.ts, patroni-drill.ts) is one variant.
 */
export interface ToolDrill<T extends DrillTool, C extends DrillCluster> {
  readonly tool: T;
  build(opts: { hook: HookWiring; log: (line: string) => void; label: string }): Promise<C>;
  nodes(cluster: C): NodeInfo[];
  initialPrimary(cluster: C): Promise<string | null>;
  /** a node's part: the PostgreSQL tools ask pg_is_in_recovery(); Pgpool-II asks the watchdog (pcp) */
  roleOf(cluster: C, node: string): Promise<NodeRole>;
  /** where a client of this tool reaches an endpoint node (the write client): PostgreSQL, pgbouncer or pgpool */
  clientTarget(cluster: C, node: string): ClientTarget;
  /** the cluster's PostgreSQL servers (polled by the write client's tracker, named in its acknowledgements) */
  pgServers(cluster: C): PgServer[];
  readonly scenarios: Readonly<Record<string, ScenarioFn<C>>>;
}

export type ToolDrillOf = ToolDrill<'repmgr', RepmgrCluster> | ToolDrill<'patroni', PatroniCluster> | ToolDrill<'keepalived', KeepalivedCluster> | ToolDrill<'pgpool', PgpoolCluster>;

/** The PostgreSQL tools' part of a node: pg_is_in_recovery(). */
export async function pgRole(cluster: { inRecovery(node: string): Promise<boolean | null> }, node: string): Promise<NodeRole> {
  const r = await cluster.inRecovery(node);
  return r === null ? null : r ? 'other' : 'primary';
}

/** A client of repmgr / Patroni connects to the node's PostgreSQL on 127.0.0.1. */
export function postgresTarget(nodes: readonly NodeInfo[], node: string): ClientTarget {
  const n = nodes.find((x) => x.name === node);
  if (!n) throw new Error(`unknown node ${node}`);
  return { node, kind: 'postgresql', host: '127.0.0.1', port: n.port, dbname: 'postgres', user: 'postgres' };
}

/** {@link waitUntil} with the drill's abort signal. */
export function waitFor<T, C>(ctx: ScenarioContext<C>, what: string, deadlineMs: number, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, intervalMs = POLL_MS): Promise<T> {
  return waitUntil(what, fn, deadlineMs, { intervalMs, signal: ctx.signal });
}

/** Every node's part ({@link NodeRole}): the single `primary`, or null (none or several); `states` as in recovery or not. */
export async function solePrimary<C>(ctx: ScenarioContext<C>): Promise<{ primary: string | null; states: Record<string, boolean | null> }> {
  const states: Record<string, boolean | null> = {};
  await Promise.all(
    ctx.names.map(async (n) => {
      const role = await ctx.roleOf(n);
      states[n] = role === null ? null : role !== 'primary';
    }),
  );
  const primaries = ctx.names.filter((n) => states[n] === false);
  return { primary: primaries.length === 1 ? primaries[0]! : null, states };
}

export async function storedEvent<C>(ctx: ScenarioContext<C>, eventId: string): Promise<VipEvent | undefined> {
  const entries = await ctx.stack.store.readJournal(ctx.reg.name, 200);
  return entries.find((e) => e.eventId === eventId)?.event;
}

export function journalSince<C>(ctx: ScenarioContext<C>, t0: number): (ApiJournalEntry & { at: number })[] {
  return ctx.obs.journal.filter((e) => e.at >= t0);
}

/**
 * Waits until the status API says the endpoint converged for `epoch` (the actuator pointed every target at `node` and
 * read it back; Route 53 waited for INSYNC), `node` alone answers pg_is_in_recovery() = false and every mechanism
 * points at it in the local endpoint. Returns when the actuator recorded it (`endpoint.at`) and when the drill read it.
 */
export async function verifyConverged<C>(ctx: ScenarioContext<C>, node: string, epoch: number): Promise<{ at: number; seenAt: number }> {
  const deadlineMs = ctx.insyncMaxMs + 60_000;
  const status = await waitFor(ctx, `the endpoint status converged for epoch ${epoch} on ${node}`, deadlineMs, async () => {
    const seen = ctx.obs.statuses.find((s) => s.epoch === epoch && s.phase === 'converged');
    if (!seen) {
      const last = ctx.obs.statuses.at(-1);
      throw new Error(`status: epoch ${last?.epoch ?? '?'} ${last?.phase ?? '?'}${last?.targets.some((t) => t.error) ? ` (${last.targets.filter((t) => t.error).map((t) => `${t.mechanism}: ${t.error!.code}`).join(', ')})` : ''}`);
    }
    if (ctx.obs.latest?.state.primary !== node) throw new Error(`the fencing record names ${ctx.obs.latest?.state.primary} as primary`);
    const { primary, states } = await solePrimary(ctx);
    if (primary !== node) throw new Error(`pg_is_in_recovery: ${JSON.stringify(states)}`);
    const target = ctx.obs.sample();
    if (target !== node) throw new Error(`endpoint on ${target ?? 'no single node'}`);
    return seen;
  });
  return { at: status.at ?? status.seenAt, seenAt: status.seenAt };
}

/**
 * No move: the status API (read after this call began) says the current epoch is converged on `node`, it alone is out
 * of recovery and every mechanism points at it. Returns when that was checked.
 */
export async function verifyStayed<C>(ctx: ScenarioContext<C>, node: string): Promise<number> {
  const start = Date.now();
  await waitFor(ctx, `${node} verified (status converged on it, the only primary, every mechanism on it)`, 30_000, async () => {
    const last = ctx.obs.statuses.at(-1);
    const latest = ctx.obs.latest;
    if (!latest || ctx.obs.latestAt < start) throw new Error('no status read yet');
    if (latest.state.primary !== node || latest.endpoint.epoch !== latest.state.epoch || latest.endpoint.phase !== 'converged') {
      throw new Error(`status: primary ${latest.state.primary}, endpoint epoch ${latest.endpoint.epoch} ${latest.endpoint.phase} (state epoch ${latest.state.epoch}; last change ${last?.phase})`);
    }
    const { primary, states } = await solePrimary(ctx);
    if (primary !== node) throw new Error(`pg_is_in_recovery: ${JSON.stringify(states)}`);
    const target = ctx.obs.sample();
    if (target !== node) throw new Error(`endpoint on ${target ?? 'no single node'}`);
    return true;
  });
  return Date.now();
}

/** Fails if the endpoint pointed anywhere but `node` since `t0` (and samples it once more now). */
export function assertStayed<C>(ctx: ScenarioContext<C>, node: string, t0: number): void {
  ctx.obs.sample();
  const last = [...ctx.obs.changes].reverse().find((c) => c.at < t0);
  const during = ctx.obs.changes.filter((c) => c.at >= t0);
  const wrong = [...(last ? [last] : []), ...during].filter((c) => c.target !== node);
  if (wrong.length) throw new Error(`the endpoint left ${node}: ${wrong.map((c) => `${c.target ?? 'none/mixed'} at +${((c.at - t0) / 1000).toFixed(3)}s`).join(', ')}`);
}

const DETECTION = /disconnect|failure|unreachable|lost/;

/** The Route 53 change (submitted after `after`) that pointed the writer record at `ip`. */
function writerChange<C>(ctx: ScenarioContext<C>, ip: string, after: number): ObservedRoute53Change | undefined {
  const writer = ctx.reg.endpoints.route53?.writerRecord;
  return [...ctx.obs.route53.values()].find((c) => c.submittedAt >= after && c.changes.some((x) => x.name === writer && x.values.length === 1 && x.values[0] === ip));
}

export interface MoveOptions {
  from: string;
  detail: string;
  action: () => Promise<unknown>;
  newPrimary: () => Promise<string>;
  settle: () => Promise<unknown>;
  /** record `detection`: the first journal entry about the failure */
  detect: boolean;
}

/**
 * A scenario that moves the endpoint: runs `action` (its promise is awaited at the end), waits for the endpoint to
 * point at a node other than `from` (`moved`), checks it is the real new primary, reads the accepted claim from the
 * journal (`committed`) and the promote hook's log, waits for the status API to say converged (`verified`), and
 * records when Route 53 had the writer change INSYNC — apart, since the writer answers the new address from the
 * moment the change is accepted.
 */
export async function measureMove<C>(ctx: ScenarioContext<C>, rec: ScenarioRecorder, result: DrillScenarioResult, opts: MoveOptions): Promise<string> {
  const t0 = rec.action(opts.detail);
  const actionDone = opts.action();
  let actionError: unknown = null;
  actionDone.catch((e) => (actionError = e));
  const newPrimary = await followMove(ctx, rec, result, { from: opts.from, since: t0, newPrimary: opts.newPrimary, detect: opts.detect, failed: () => actionError });
  await actionDone;
  await opts.settle();
  return newPrimary;
}

export interface FollowOptions {
  from: string;
  /** look for the move and its claim from this moment on (the scenario's times stay relative to its action) */
  since: number;
  newPrimary: () => Promise<string>;
  detect: boolean;
  /** an error that ends the wait for the move at once (the action failed) */
  failed?: () => unknown;
}

/**
 * The move after `since`: waits for the endpoint to point at a node other than `from` (`moved`), checks it is the
 * new primary, reads the accepted claim (`committed`) and the promote hook's log, waits for the status API to say
 * converged (`verified`), and the writer's Route 53 change INSYNC. Sets `ctx.primary`.
 */
export async function followMove<C>(ctx: ScenarioContext<C>, rec: ScenarioRecorder, result: DrillScenarioResult, opts: FollowOptions): Promise<string> {
  const t0 = rec.t0;
  const since = opts.since;
  const moved = await waitFor(ctx, `the endpoint to leave ${opts.from}`, 90_000, () => {
    const failed = opts.failed?.();
    if (failed) throw new FatalWaitError(`action failed: ${errMsg(failed)}`);
    ctx.obs.sample();
    return ctx.obs.changes.find((c) => c.at >= since && c.target !== null && c.target !== opts.from);
  });
  const newPrimary = await opts.newPrimary();
  if (moved.target !== newPrimary) throw new Error(`the endpoint moved to ${moved.target}, but the new primary is ${newPrimary}`);
  const claim = await waitFor(ctx, `the accepted claim of ${newPrimary} in the journal`, 15_000, () => journalSince(ctx, since).find((e) => e.node === newPrimary && e.outcome === 'accepted'), 100);
  if (claim.epoch === null) throw new Error(`the accepted claim ${claim.eventId} has no epoch`);
  const event = await storedEvent(ctx, claim.eventId);
  const hook = hookTime(event, claim.at);
  // detection: the first entry about the failure, as it happened before the winning hook call
  for (const e of opts.detect ? journalSince(ctx, since).filter((j) => DETECTION.test(j.type) && j.at <= claim.at) : []) {
    const dt = hookTime(await storedEvent(ctx, e.eventId), e.at);
    if (dt.at > hook.at) break;
    rec.add('detection', Math.max(dt.at, since), e.node, `${e.type} (${dt.from})`);
    break;
  }
  // the hook logs its outcome once it has the answer: a moment after the commit
  const call = await waitFor(ctx, `${newPrimary}'s hook to log the answer to ${claim.eventId}`, 15_000, async () => hookCallEvidence(await readHookLog(hookLogFile(ctx.nodeInfo(newPrimary))), claim.eventId, event), 100);
  result.promoteHook = { node: newPrimary, eventId: claim.eventId, type: claim.type, status: call.status, code: call.code, postMs: call.postMs, heldMs: call.heldMs, heldFrom: call.heldFrom };
  const ordering = isPgpoolFacts(claim.facts) ? `leadership token ${claim.facts.watchdog.token ?? '?'}` : `timeline ${claim.facts?.timeline ?? '?'}`;
  rec.add('promote hook', hook.at, newPrimary, `${claim.type} (${hook.from}; ${ordering})`);
  rec.add('committed', claim.at, newPrimary, `epoch ${claim.epoch}; the hook got ${call.status ?? '?'} ${call.code ?? '?'}`);
  rec.add('moved', moved.at, newPrimary, `every mechanism on ${newPrimary}, ${((moved.at - claim.at) / 1000).toFixed(3)} s after the commit`);
  const verified = await verifyConverged(ctx, newPrimary, claim.epoch);
  rec.add('verified', verified.at, newPrimary, `status: endpoint epoch ${claim.epoch} converged (read by the drill +${((verified.seenAt - t0) / 1000).toFixed(3)}s)`);
  const ip = ctx.reg.nodes.find((n) => n.name === newPrimary)!.privateIp;
  if (ctx.reg.endpoints.route53) {
    const change = await waitFor(ctx, `the Route 53 change of the writer to ${ip} to be INSYNC`, ctx.insyncMaxMs + 30_000, () => {
      const c = writerChange(ctx, ip, claim.at);
      return c?.insyncAt != null && c;
    });
    result.route53 = { changeId: change.id, submittedMs: change.submittedAt - t0, insyncMs: change.insyncAt! - t0 };
  }
  ctx.primary = newPrimary;
  result.timeline = rec.steps;
  for (const line of formatScenarioSummary(result)) rec.note(line);
  return newPrimary;
}

/** A rejoin of the failed old primary: the endpoint must not move. */
export async function rejoinWithoutMove<C extends { inRecovery(node: string): Promise<boolean | null> }>(ctx: ScenarioContext<C>, rec: ScenarioRecorder, detail: string, rejoin: (node: string) => Promise<void>): Promise<void> {
  const old = ctx.down;
  if (old === null) throw new Error('no failed old primary to rejoin');
  const p = ctx.primary;
  const t0 = rec.action(detail);
  await rejoin(old);
  rec.add('rejoined', Date.now(), old, `streaming replica of ${p}`);
  if ((await ctx.cluster.inRecovery(old)) !== true) throw new Error(`${old} is not in recovery after the rejoin`);
  assertStayed(ctx, p, t0);
  rec.add('verified', await verifyStayed(ctx, p), p, `endpoint stayed on ${p}; status converged`);
  assertStayed(ctx, p, t0);
  ctx.down = null;
}
