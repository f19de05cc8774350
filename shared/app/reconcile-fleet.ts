import type { Alerter } from '../ports/alerter';
import type { ActionReport, ClusterStore, LoadedCluster } from '../ports/cluster-store';
import type { CallCounts, FleetObservation, FleetObserver } from '../ports/reconcile-observer';
import { converge, endpointTarget, type ConvergeResult } from './converge';
import { actuationFailedPage, driftRepairedPage } from './pages';

/**
 * What became of one cluster in a sweep:
 * - `in_place`: every target already pointed at the newest epoch's holder; nothing written, nothing sent;
 * - `repaired`: targets had drifted and were moved back (paged `drift_repaired`);
 * - `applied`: everything was in place but `appliedEpoch` lagged (an actuator that died after its move): recorded;
 * - `failed`: a target could not be read or moved (paged `actuation_failed`);
 * - `in_flight`: the actuator is carrying this epoch out right now: left to it;
 * - `superseded`: the cluster changed (a failover) after the sweep read it: left to the actuator, seen next sweep;
 * - `unobserved`: its account could not be read in batch (see `error`): nothing done;
 * - `no_primary` / `unregistered`: nothing to converge.
 */
export type ClusterSweepOutcome = 'in_place' | 'repaired' | 'applied' | 'failed' | 'in_flight' | 'superseded' | 'unobserved' | 'no_primary' | 'unregistered';

export interface ClusterSweepResult {
  cluster: string;
  outcome: ClusterSweepOutcome;
  epoch: number;
  /** Targets found not pointing where they should (compared in memory, before any change). */
  drift: number;
  /** Targets moved or created. */
  changed: number;
  /** Targets that failed (read or move). */
  failed: number;
  error?: { code: string; message: string };
}

export interface FleetSweepReport {
  /** Clusters looked at, and in how many shards. */
  clusters: number;
  shards: number;
  outcomes: Record<ClusterSweepOutcome, number>;
  /** Targets: found differing, moved back (and verified, or reported verified by the mechanism), failed. */
  drift: { found: number; repaired: number; failed: number };
  /** Every cluster whose outcome is not `in_place` / `no_primary`. */
  noteworthy: ClusterSweepResult[];
  /** The AWS calls the sweep made, by action. */
  calls: CallCounts;
  /** Set when the deadline ended the sweep early: the last cluster done (the next sweep starts after it). */
  next: string | null;
  ms: number;
  /** Where the time went, ms: listing, reading the clusters' state, the batched AWS reads, comparing, converging. */
  phases: { list: number; load: number; observe: number; compare: number; repair: number };
}

export interface FleetSweepDeps {
  store: Pick<ClusterStore, 'listClusters' | 'loadCluster' | 'currentEpoch' | 'recordApplied' | 'recordTargets'>;
  observer: FleetObserver;
  alerter: Alerter;
  now: () => Date;
}

export interface FleetSweepOptions {
  /** How long the actuator may be carrying an epoch out (its timeout): a move younger than this is left to it. */
  inFlightMs: number;
  /** Clusters observed together: one batched read covers a shard (default 1000, EC2's id list per call). */
  shardSize?: number;
  /** Store reads and convergences in flight at once (default 16; the reconcile Lambda sets RECONCILE_CONCURRENCY, 32). */
  concurrency?: number;
  /** Start after this cluster (the previous, unfinished sweep's `next`). */
  after?: string | null;
  /** Wall clock (ms) by which the sweep must end: no shard is started that the last one's pace says would not finish. */
  deadline?: number;
}

const NOTHING_TO_SAY = new Set<ClusterSweepOutcome>(['in_place', 'no_primary']);

/** Let other work run (the local stack runs the actuator in this process; in-memory steps are all microtasks). */
const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Map with at most `limit` calls in flight, results in input order, yielding the event loop every 25 items. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let done = 0; next < items.length; done++) {
      const i = next++;
      results[i] = await fn(items[i]!);
      if (done % 25 === 24) await yieldTurn();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Targets a pass changed; a re-assert of a target read as already right (`from` = `to`) is not drift. */
const changedIn = (actions: ActionReport[]) => actions.filter((a) => (a.result === 'moved' || a.result === 'created') && a.from !== a.to).length;
const failedIn = (actions: ActionReport[]) => actions.filter((a) => a.result === 'failed').length;

/**
 * Reconcile the whole fleet within EC2's and Route 53's rate limits: list the clusters (the fleet index), and per
 * shard of clusters read their state (DynamoDB, strongly consistent), read every resource they use in a few batched
 * calls (the observer), compare each cluster in memory (the endpoint actuators in `plan` mode, answered from that
 * read), and only for a cluster that differs run the usual convergence (`converge`: the epoch guard before every
 * mutation, read-back, `appliedEpoch`, target status) through the same read, paced. A cluster the actuator is moving
 * right now, or whose epoch moved since it was read, is left to the actuator: a sweep never holds up, races or undoes
 * a failover. Pages as reconcile always did (drift repaired, does not converge). Safe to re-run; never throws for one
 * cluster's failure.
 */
export async function sweepFleet(deps: FleetSweepDeps, options: FleetSweepOptions): Promise<FleetSweepReport> {
  const started = Date.now();
  const shardSize = Math.max(1, options.shardSize ?? 1000);
  const concurrency = Math.max(1, options.concurrency ?? 16);
  const names = (await deps.store.listClusters()).filter((n) => !options.after || n > options.after);
  const report: FleetSweepReport = {
    clusters: 0,
    shards: 0,
    outcomes: { in_place: 0, repaired: 0, applied: 0, failed: 0, in_flight: 0, superseded: 0, unobserved: 0, no_primary: 0, unregistered: 0 },
    drift: { found: 0, repaired: 0, failed: 0 },
    noteworthy: [],
    calls: {},
    next: null,
    ms: 0,
    phases: { list: 0, load: 0, observe: 0, compare: 0, repair: 0 },
  };
  report.phases.list = Date.now() - started;
  let slowestShardMs = 0;
  for (let i = 0; i < names.length; i += shardSize) {
    if (options.deadline !== undefined && report.shards > 0 && Date.now() + slowestShardMs * 1.5 > options.deadline) {
      report.next = names[i - 1]!;
      break;
    }
    const shardStarted = Date.now();
    const results = await sweepShard(deps, names.slice(i, i + shardSize), concurrency, options.inFlightMs, report.calls, report.phases);
    slowestShardMs = Math.max(slowestShardMs, Date.now() - shardStarted);
    report.shards++;
    for (const r of results) {
      report.clusters++;
      report.outcomes[r.outcome]++;
      report.drift.found += r.drift;
      report.drift.repaired += r.changed;
      report.drift.failed += r.failed;
      if (!NOTHING_TO_SAY.has(r.outcome)) report.noteworthy.push(r);
    }
  }
  report.ms = Date.now() - started;
  return report;
}

async function sweepShard(deps: FleetSweepDeps, names: string[], concurrency: number, inFlightMs: number, calls: CallCounts, phases: FleetSweepReport['phases']): Promise<ClusterSweepResult[]> {
  let mark = Date.now();
  const lap = (phase: keyof FleetSweepReport['phases']) => {
    const now = Date.now();
    phases[phase] += now - mark;
    mark = now;
  };
  const loaded = await mapLimit(names, concurrency, (name) => deps.store.loadCluster(name));
  lap('load');
  const results = new Map<string, ClusterSweepResult>();
  const members: LoadedCluster[] = [];
  names.forEach((name, i) => {
    const l = loaded[i];
    const epoch = l?.record.state.epoch ?? 0;
    const result = (outcome: ClusterSweepOutcome): ClusterSweepResult => ({ cluster: name, outcome, epoch, drift: 0, changed: 0, failed: 0 });
    if (!l) return void results.set(name, result('unregistered'));
    if (l.record.state.primary === null) return void results.set(name, result('no_primary'));
    if (inFlight(l, deps.now(), inFlightMs)) return void results.set(name, result('in_flight'));
    members.push(l);
  });

  const observedAt = deps.now().getTime();
  const observation = await deps.observer.observe(members.map((m) => ({ config: m.record.config, nodes: m.nodes })));
  lap('observe');

  // Compare every cluster in memory: the actuators in plan mode, their reads answered from the batched observation.
  const planned = await mapLimit(members, concurrency, async (m) => {
    const { cluster } = m.record.config;
    const { state } = m.record;
    const base = { cluster, epoch: state.epoch, drift: 0, changed: 0, failed: 0 };
    const unobserved = observation.unobserved(cluster);
    if (unobserved) return { result: { ...base, outcome: 'unobserved' as const, error: unobserved }, act: false };
    const primary = m.nodes.find((n) => n.name === state.primary);
    if (!primary) return { result: { ...base, outcome: 'failed' as const, error: { code: 'UnknownPrimary', message: `primary ${state.primary} is not a registered node` } }, act: false };
    const plan = await observation.actuator.pointAt(m.record.config.endpoints, endpointTarget(primary, m.nodes), { plan: true });
    const drift = plan.filter((a) => a.result === 'planned').length;
    const failed = failedIn(plan);
    return { result: { ...base, outcome: 'in_place' as const, drift }, act: drift > 0 || failed > 0 || state.appliedEpoch < state.epoch };
  });

  lap('compare');
  const toAct = planned.filter((p) => p.act).map((p) => p.result);
  for (const p of planned) if (!p.act) results.set(p.result.cluster, p.result);
  const acted = await mapLimit(toAct, concurrency, (found) => repair(deps, observation, found, observedAt, inFlightMs));
  for (const r of acted) results.set(r.cluster, r);
  lap('repair');
  for (const [action, n] of Object.entries(observation.calls())) calls[action] = (calls[action] ?? 0) + n;
  return names.map((n) => results.get(n)!);
}

/** The actuator is carrying the current epoch out (started less than `inFlightMs` ago): converge's own rule, read early. */
function inFlight(l: LoadedCluster, now: Date, inFlightMs: number): boolean {
  const t = l.targets;
  return t !== null && t.epoch === l.record.state.epoch && t.phase === 'converging' && now.getTime() - Date.parse(t.at) < inFlightMs;
}

/**
 * What a reconcile pass over one cluster pages: the drift it repaired, and a move it could not carry out (unless a
 * newer epoch took over: that one's actuator owns the cluster). Returns the targets changed and failed.
 */
export async function pageReconcilePass(alerter: Alerter, cluster: string, result: ConvergeResult): Promise<{ changed: number; failed: number }> {
  const changed = changedIn(result.actions);
  const failed = failedIn(result.actions);
  if (changed > 0) await alerter.page(driftRepairedPage(cluster, result.primary, result.epoch, result.actions));
  if (!result.converged && result.primary !== null && !result.actions.some((a) => a.result === 'superseded')) {
    await alerter.page(actuationFailedPage(cluster, result.primary, result.epoch, result.actions, 'reconcile'));
  }
  return { changed, failed };
}

/** Converge one cluster the comparison found wanting, unless it changed since the sweep read it. */
async function repair(deps: FleetSweepDeps, observation: FleetObservation, found: ClusterSweepResult, observedAt: number, inFlightMs: number): Promise<ClusterSweepResult> {
  const { cluster } = found;
  // What the comparison saw may be older than a failover or a move the actuator finished since: then the actuator
  // owns the cluster, and the next sweep looks again. (converge's own guard stops any mutation for an older epoch.)
  const now = await deps.store.loadCluster(cluster);
  if (!now || now.record.state.epoch !== found.epoch || (now.targets !== null && Date.parse(now.targets.at) > observedAt)) return { ...found, outcome: 'superseded' };
  let result;
  try {
    result = await converge({ store: deps.store, actuator: observation.actuator, now: deps.now }, cluster, { fresh: true, inFlightMs });
  } catch (error) {
    return { ...found, outcome: 'failed', failed: found.drift, error: { code: 'ConvergeFailed', message: String((error as Error)?.message ?? error).slice(0, 300) } };
  }
  if (result.inFlight) return { ...found, outcome: 'in_flight' };
  const { changed, failed } = await pageReconcilePass(deps.alerter, cluster, result);
  const outcome: ClusterSweepOutcome = result.converged ? (changed > 0 ? 'repaired' : 'applied') : result.actions.some((a) => a.result === 'superseded') ? 'superseded' : 'failed';
  const error = result.actions.find((a) => a.result === 'failed')?.error;
  return { ...found, epoch: result.epoch, outcome, changed, failed, ...(error ? { error } : {}) };
}
