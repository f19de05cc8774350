import middy from '@middy/core';
import { converge } from '../../shared/app/converge';
import { deps, logger, store } from '../wiring';

/**
 * Scheduled drift repair: converge every cluster's endpoint on the holder of its newest epoch. A crash between a
 * commit and its actuation, or a hand edit of a route, heals here. Pages when a cluster does not converge.
 */
async function reconcile(): Promise<{ clusters: { cluster: string; converged: boolean; epoch: number; changed: number }[] }> {
  const results = [];
  for (const cluster of await store.listClusters()) {
    const result = await converge(deps, cluster);
    const changed = result.actions.filter((a) => a.result === 'moved' || a.result === 'created').length;
    if (changed > 0) {
      await deps.alerter.page({
        severity: 'warning',
        cluster,
        type: 'drift_repaired',
        subject: `vipswitch ${cluster}: endpoint drift repaired`,
        message: `${changed} target(s) did not point at ${result.primary} and were moved back`,
        details: { actions: result.actions, epoch: result.epoch },
      });
    }
    if (!result.converged && result.primary !== null) {
      await deps.alerter.page({
        severity: 'critical',
        cluster,
        type: 'actuation_failed',
        subject: `vipswitch ${cluster}: endpoint does not converge`,
        message: `reconcile could not point every target at ${result.primary}`,
        details: { actions: result.actions, epoch: result.epoch },
      });
    }
    logger.info('reconciled', { cluster, converged: result.converged, epoch: result.epoch, changed });
    results.push({ cluster, converged: result.converged, epoch: result.epoch, changed });
  }
  return { clusters: results };
}

export const handler = middy().handler(reconcile);
