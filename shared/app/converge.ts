import type { EndpointTarget, NodeRecord } from '../domain/cluster';
import type { ActionReport, ClusterStore } from '../ports/cluster-store';
import type { EndpointActuator } from '../ports/endpoint-actuator';

export interface ConvergeResult {
  epoch: number;
  primary: string | null;
  actions: ActionReport[];
  /** True when every target points at the holder of the newest epoch and `appliedEpoch` was recorded. */
  converged: boolean;
}

/** Passes before giving up when the epoch keeps moving under us (each pass follows a newer claim). */
const MAX_PASSES = 5;

/** The endpoint's target for a primary: it, plus the healthy, unfenced replicas (for reader records). */
export function endpointTarget(primary: NodeRecord, nodes: NodeRecord[]): EndpointTarget {
  return { primary, replicas: nodes.filter((n) => n.name !== primary.name && !n.fenced && n.health === 'replica') };
}

/**
 * Move the endpoint to the holder of the newest epoch, whoever asked. Act, re-read, and go again if the epoch moved
 * meanwhile, so the last writer to the endpoint is always working for the newest claim. Safe to re-run (reconcile
 * calls it on a schedule).
 */
export async function converge(deps: { store: ClusterStore; actuator: EndpointActuator }, cluster: string): Promise<ConvergeResult> {
  let last: ConvergeResult = { epoch: 0, primary: null, actions: [], converged: false };
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const record = await deps.store.getCluster(cluster);
    if (record === null || record.state.primary === null) return { ...last, converged: record !== null };
    const nodes = await deps.store.listNodes(cluster);
    const primary = nodes.find((n) => n.name === record.state.primary);
    if (primary === undefined) throw new Error(`primary ${record.state.primary} of ${cluster} is not a registered node`);
    const actions = await deps.actuator.pointAt(record.config.endpoints, endpointTarget(primary, nodes));
    const ok = actions.every((a) => a.result !== 'failed');
    last = { epoch: record.state.epoch, primary: record.state.primary, actions, converged: false };
    const after = await deps.store.getCluster(cluster);
    if (after !== null && after.state.epoch !== record.state.epoch) continue;
    if (!ok) return last;
    if (await deps.store.recordApplied(cluster, record.state.epoch)) return { ...last, converged: true };
  }
  return last;
}
