import middy from '@middy/core';
import { converge } from '../../shared/app/converge';
import { actuationFailedPage, driftRepairedPage } from '../../shared/app/pages';
import { actingDeps } from '../aws-wiring';
import { logger, store } from '../wiring';

/** The actuator's timeout (serverless.yml, from shared/config/actuation-trigger.json): a move older than this died. */
const ACTUATE_TIMEOUT_MS = 120_000;

/**
 * Scheduled drift repair, the last net: converge every cluster's endpoint on the holder of its newest epoch. A hand
 * edit of a route, or an actuator that gave up, heals here. Pages on drift and when a cluster does not converge.
 */
async function reconcile(): Promise<{ clusters: { cluster: string; converged: boolean; epoch: number; changed: number; inFlight?: boolean }[] }> {
  const results: { cluster: string; converged: boolean; epoch: number; changed: number; inFlight?: boolean }[] = [];
  for (const cluster of await store.listClusters()) {
    const result = await converge(actingDeps, cluster, { fresh: true, inFlightMs: ACTUATE_TIMEOUT_MS });
    if (result.inFlight) {
      logger.info('reconcile: the actuator is carrying this epoch out; left alone', { cluster, epoch: result.epoch });
      results.push({ cluster, converged: false, epoch: result.epoch, changed: 0, inFlight: true });
      continue;
    }
    const changed = result.actions.filter((a) => a.result === 'moved' || a.result === 'created').length;
    if (changed > 0) await actingDeps.alerter.page(driftRepairedPage(cluster, result.primary, result.epoch, result.actions));
    if (!result.converged && result.primary !== null) await actingDeps.alerter.page(actuationFailedPage(cluster, result.primary, result.epoch, result.actions, 'reconcile'));
    logger.info('reconciled', { cluster, converged: result.converged, epoch: result.epoch, changed });
    results.push({ cluster, converged: result.converged, epoch: result.epoch, changed });
  }
  return { clusters: results };
}

export const handler = middy().handler(reconcile);
