import type { Alerter, Page } from '../ports/alerter';
import type { ClusterStore, TargetStatus } from '../ports/cluster-store';
import type { MetricsRecorder } from '../ports/metrics';
import { AnswerCode, ErrorCode } from '../protocol/answers';
import type { StateChange } from './react-to-changes';

/**
 * The metrics vipswitch emits (namespace `POWERTOOLS_METRICS_NAMESPACE`, dimension `service`), and what the alarms in
 * serverless.yml watch. A name here is a contract with those alarms: test/integration/alarms.test.ts checks both ends.
 */
export const Metric = {
  /** Every answer of `POST /v1/events`, by `outcome` (the answer's code; `dry_run` for any dry-run answer). Ingest. */
  Events: 'Events',
  /** Primary claims refused as stale (409 `stale_claim`): a possible split brain. Ingest. */
  StaleClaims: 'StaleClaims',
  /** Primary claims without usable facts (409 `unverified_claim`). Ingest. */
  UnverifiedClaims: 'UnverifiedClaims',
  /** Claims carrying another cluster's system identifier (409 `system_identifier_mismatch`). Ingest. */
  SystemIdentifierMismatches: 'SystemIdentifierMismatches',
  /** Event transactions that lost a race on the fencing record and were decided again (`lost`). Ingest. */
  ConditionalWriteLosses: 'ConditionalWriteLosses',
  /** Commit of a claim → the first endpoint target changed and confirmed for its epoch, ms. Actuate. */
  CommitToMoved: 'CommitToMoved',
  /** Commit of a claim → every target confirmed (Route 53 INSYNC included when waited for), ms. Actuate. */
  CommitToVerified: 'CommitToVerified',
  /** Convergence passes that left a target not pointing at the newest epoch's holder (an `actuation_failed` page). */
  ActuationFailures: 'ActuationFailures',
  /** Reconcile passes that found the endpoint drifted and moved it back (a `drift_repaired` page). */
  DriftRepairs: 'DriftRepairs',
  /** Every page handed to the alerter (before de-duplication), by `type`. Actuate, reconcile. */
  Pages: 'Pages',
} as const;
export type Metric = (typeof Metric)[keyof typeof Metric];

/** Dimension names of the split series. */
export const MetricDimensionName = { Outcome: 'outcome', PageType: 'type' } as const;

/** Answer codes that may name an `outcome` series: a fixed set, so a series can never be minted from input. */
const KNOWN_CODES = new Set<string>([...Object.values(AnswerCode), ...Object.values(ErrorCode)]);

/** Claims that are counted on their own as well, for their alarms. */
const CLAIM_METRICS: Record<string, Metric> = {
  [AnswerCode.StaleClaim]: Metric.StaleClaims,
  [AnswerCode.UnverifiedClaim]: Metric.UnverifiedClaims,
  [AnswerCode.SystemIdentifierMismatch]: Metric.SystemIdentifierMismatches,
};

/**
 * Count one answer of `POST /v1/events` (whatever produced it: the decision, a refusal, an internal error). A dry run
 * is counted as `dry_run` only: it committed nothing, so its would-be stale claim must not wake anyone.
 */
export function recordEventAnswer(recorder: MetricsRecorder, answer: { status: number; body: unknown }): void {
  const body = (answer.body ?? {}) as { code?: unknown; dryRun?: unknown };
  const code = typeof body.code === 'string' && KNOWN_CODES.has(body.code) ? body.code : answer.status >= 500 ? ErrorCode.InternalError : 'other';
  const outcome = body.dryRun === true ? AnswerCode.DryRun : code;
  recorder.count(Metric.Events, 1, { name: MetricDimensionName.Outcome, value: outcome });
  const claim = CLAIM_METRICS[outcome];
  if (claim) recorder.count(claim);
}

/** The store `processEvent` writes through, counting each lost race of the event transaction (`lost`). */
export function countingLosses(store: Pick<ClusterStore, 'loadCluster' | 'recordEvent'>, recorder: MetricsRecorder): Pick<ClusterStore, 'loadCluster' | 'recordEvent'> {
  return {
    loadCluster: (cluster) => store.loadCluster(cluster),
    recordEvent: async (write) => {
      const outcome = await store.recordEvent(write);
      if (outcome.kind === 'lost') recorder.count(Metric.ConditionalWriteLosses);
      return outcome;
    },
  };
}

/** Page types counted on their own as well, for their alarms. */
const PAGE_METRICS: Record<string, Metric> = {
  actuation_failed: Metric.ActuationFailures,
  drift_repaired: Metric.DriftRepairs,
};

/**
 * The alerter the actuator and reconcile page through, counting each page by type before it goes on (and before the
 * de-duplication inside `inner`: a repeat suppressed there is still an occurrence).
 */
export function countingPages(inner: Alerter, recorder: MetricsRecorder): Alerter {
  return {
    page: async (page: Page) => {
      recorder.count(Metric.Pages, 1, { name: MetricDimensionName.PageType, value: page.type });
      const metric = PAGE_METRICS[page.type];
      if (metric) recorder.count(metric);
      await inner.page(page);
    },
  };
}

type ConvergeStore = Pick<ClusterStore, 'loadCluster' | 'currentEpoch' | 'recordApplied' | 'recordTargets' | 'journal'>;

/**
 * The store one actuator invocation converges through, timing each epoch committed in `changes` from its commit to
 * its endpoint: when the convergence records the epoch `converged`, it samples
 * - {@link Metric.CommitToMoved}: commit → the first target changed (`moved` / `created`) and confirmed in the pass
 *   that converged: the pass's start (`at` less its slowest target's `ms`; not `since`, which a retried epoch keeps from
 *   its first attempt) plus that target's own `ms` (observe + act + read-back);
 * - {@link Metric.CommitToVerified}: commit → the status's `at` (every target confirmed).
 * The commit time is the fencing record's `committedAt` in the stream image (its `updatedAt`, written by the same
 * commit, where `committedAt` is absent). An epoch retried by the trigger is timed from its commit, retries included.
 * Epochs not committed in this batch (reconcile, a member's change) are not timed.
 */
export function measuringConvergence(store: ConvergeStore, recorder: MetricsRecorder, changes: readonly StateChange[]): ConvergeStore {
  const commits = commitTimes(changes);
  const timed = new Set<string>();
  return {
    loadCluster: (cluster) => store.loadCluster(cluster),
    currentEpoch: (cluster) => store.currentEpoch(cluster),
    recordApplied: (cluster, epoch) => store.recordApplied(cluster, epoch),
    journal: (entry) => store.journal(entry),
    recordTargets: async (cluster, status) => {
      await store.recordTargets(cluster, status);
      const key = `${cluster}#${status.epoch}`;
      const committed = commits.get(key);
      if (committed === undefined || status.phase !== 'converged' || timed.has(key)) return;
      timed.add(key);
      const moved = firstMovedAt(status);
      if (moved !== null) recorder.milliseconds(Metric.CommitToMoved, moved - committed);
      recorder.milliseconds(Metric.CommitToVerified, Date.parse(status.at) - committed);
    },
  };
}

/** `cluster#epoch` → commit time (ms) of every epoch bump among the changes. */
function commitTimes(changes: readonly StateChange[]): Map<string, number> {
  const commits = new Map<string, number>();
  for (const change of changes) {
    if (!change.pk.startsWith('CLUSTER#') || change.sk !== '#STATE' || change.new === null) continue;
    const epoch = Number(change.new.epoch);
    if (!Number.isInteger(epoch) || epoch <= Number(change.old?.epoch ?? 0)) continue;
    const at = Date.parse(String(change.new.committedAt ?? change.new.updatedAt ?? ''));
    if (Number.isFinite(at)) commits.set(`${change.pk.slice('CLUSTER#'.length)}#${epoch}`, at);
  }
  return commits;
}

/** When the first changed target of a converged status was done (ms since the epoch), or null when nothing changed. */
function firstMovedAt(status: TargetStatus): number | null {
  const changed = status.targets.filter((t) => (t.result === 'moved' || t.result === 'created') && t.ms !== undefined).map((t) => t.ms!);
  if (changed.length === 0) return null;
  // Mechanisms run concurrently from the pass's start, and `at` is written right after the slowest one is done.
  const passStart = Date.parse(status.at) - Math.max(...status.targets.map((t) => t.ms ?? 0));
  return passStart + Math.min(...changed);
}
