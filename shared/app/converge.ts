import type { EndpointTarget, NodeRecord } from '../domain/cluster';
import type { ActionReport, ClusterStore, TargetStatus } from '../ports/cluster-store';
import type { EndpointActuator } from '../ports/endpoint-actuator';

export interface ConvergeResult {
  epoch: number;
  primary: string | null;
  actions: ActionReport[];
  /** True when every target points at the holder of the newest epoch and `appliedEpoch` was recorded. */
  converged: boolean;
}

export interface ConvergeDeps {
  store: Pick<ClusterStore, 'loadCluster' | 'currentEpoch' | 'recordApplied' | 'recordTargets'>;
  actuator: EndpointActuator;
  now: () => Date;
}

/** Passes before giving up when the epoch keeps moving under us (each pass follows a newer claim). */
const MAX_PASSES = 5;

/** The endpoint's target for a primary: it, plus the healthy, unfenced replicas (for reader records). */
export function endpointTarget(primary: NodeRecord, nodes: NodeRecord[]): EndpointTarget {
  return { primary, replicas: nodes.filter((n) => n.name !== primary.name && !n.fenced && n.health === 'replica') };
}

/**
 * Move the endpoint to the holder of the newest epoch, whoever asked (the actuator on a commit, reconcile on its
 * schedule, an operator). The epoch is checked right before each mutation (the actuator's guard): a pass working for
 * an older epoch stops before it can point a target back at the old primary, and the next pass follows the newer
 * claim. After the pass the epoch is read again; `appliedEpoch` is recorded only while it is still current. Every pass
 * records the targets' status (desired vs observed, converging / converged / failed, and when). Safe to re-run.
 */
export async function converge(deps: ConvergeDeps, cluster: string): Promise<ConvergeResult> {
  let last: ConvergeResult = { epoch: 0, primary: null, actions: [], converged: false };
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const loaded = await deps.store.loadCluster(cluster);
    if (loaded === null || loaded.record.state.primary === null) return { ...last, converged: loaded !== null };
    const { state, config } = loaded.record;
    const primary = loaded.nodes.find((n) => n.name === state.primary);
    if (primary === undefined) throw new Error(`primary ${state.primary} of ${cluster} is not a registered node`);
    const since = loaded.targets?.epoch === state.epoch ? loaded.targets.since : deps.now().toISOString();
    // Status readers see the move under way (a reconcile pass over a converged endpoint writes nothing here).
    if (!(loaded.targets?.epoch === state.epoch && loaded.targets.phase === 'converged')) {
      await deps.store.recordTargets(cluster, { epoch: state.epoch, primary: primary.name, phase: 'converging', since, at: deps.now().toISOString(), targets: loaded.targets?.targets ?? [] });
    }
    const guard = async () => (await deps.store.currentEpoch(cluster)) === state.epoch;
    const actions = await deps.actuator.pointAt(config.endpoints, endpointTarget(primary, loaded.nodes), { guard });
    last = { epoch: state.epoch, primary: primary.name, actions, converged: false };
    if (actions.some((a) => a.result === 'superseded')) continue;
    if ((await deps.store.currentEpoch(cluster)) !== state.epoch) continue;
    const ok = actions.every((a) => a.result !== 'failed');
    if (ok && !(await deps.store.recordApplied(cluster, state.epoch))) continue;
    const changed = actions.some((a) => a.result !== 'in_place');
    const status: TargetStatus = { epoch: state.epoch, primary: primary.name, phase: ok ? 'converged' : 'failed', since, at: deps.now().toISOString(), targets: actions };
    if (changed || loaded.targets?.phase !== status.phase || loaded.targets.epoch !== state.epoch) await deps.store.recordTargets(cluster, status);
    return { ...last, converged: ok };
  }
  return last;
}
