import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { sweepFleet, type FleetSweepReport } from '../../shared/app/reconcile-fleet';
import { countingPages } from '../../shared/app/metrics';
import { flushMetrics } from '../../shared/middleware/metrics';
import { metrics } from '../metrics-wiring';
import { logger } from '../wiring';
import { cursor, fleetDeps, sweepSettings } from './deps';

/** The actuator's timeout (serverless.yml, from shared/config/actuation-trigger.json): a move older than this died. */
const ACTUATE_TIMEOUT_MS = 120_000;
/** Time kept back from the function's own timeout: the last shard's pages and the cursor write. */
const MARGIN_MS = 10_000;

/** Reconcile's answer: the sweep's figures, and one line per cluster with something to say (not simply in place). */
export interface ReconcileAnswer extends Omit<FleetSweepReport, 'noteworthy' | 'clusters'> {
  /** Clusters looked at. */
  swept: number;
  clusters: { cluster: string; outcome: string; converged: boolean; epoch: number; changed: number; inFlight?: boolean; error?: { code: string; message: string } }[];
}

const CONVERGED = new Set(['repaired', 'applied', 'in_place']);

/**
 * Scheduled drift repair, the last net, for the whole fleet at once: one sweep (shared/app/reconcile-fleet.ts) reads
 * every cluster's resources in a few batched calls, paced under the account's budgets, and converges only the
 * clusters that differ. A fleet too large for one invocation is swept in shards over several: the sweep stops before
 * the function's time is up and the next one goes on after the cursor. `{"after": "<cluster>"}` starts after a cluster.
 */
async function reconcile(event: { after?: string | null } | null | undefined, context: Context): Promise<ReconcileAnswer> {
  const after = typeof event?.after === 'string' ? event.after : await cursor.read();
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - MARGIN_MS);
  // Drift repairs and failed convergences are counted as their pages go out (shared/app/metrics.ts).
  const report = await sweepFleet({ ...fleetDeps, alerter: countingPages(fleetDeps.alerter, metrics) }, { inFlightMs: ACTUATE_TIMEOUT_MS, ...sweepSettings, after, deadline });
  if (report.next !== null || after !== null) await cursor.write(report.next, new Date());
  for (const r of report.noteworthy) logger.info('reconciled', { ...r });
  const { noteworthy, clusters: swept, ...summary } = report;
  logger.info('fleet swept', { clusters: swept, shards: summary.shards, outcomes: summary.outcomes, drift: summary.drift, calls: summary.calls, next: summary.next, ms: summary.ms });
  const byName = new Map(noteworthy.map((r) => [r.cluster, r]));
  return {
    swept,
    ...summary,
    clusters: [...byName.values()].map((r) => ({
      cluster: r.cluster,
      outcome: r.outcome,
      converged: CONVERGED.has(r.outcome),
      epoch: r.epoch,
      changed: r.changed,
      ...(r.outcome === 'in_flight' ? { inFlight: true } : {}),
      ...(r.error ? { error: r.error } : {}),
    })),
  };
}

export const handler = middy<{ after?: string | null } | null, ReconcileAnswer>().use(flushMetrics(metrics)).handler(reconcile);
