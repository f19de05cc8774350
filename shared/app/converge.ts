import type { EndpointTarget, NodeRecord } from '../domain/cluster';
import type { ActionReport, ClusterStore, TargetStatus } from '../ports/cluster-store';
import type { EndpointActuator } from '../ports/endpoint-actuator';

export interface ConvergeResult {
  epoch: number;
  primary: string | null;
  actions: ActionReport[];
  /** True when every target points at the holder of the newest epoch and `appliedEpoch` was recorded. */
  converged: boolean;
  /** Reconcile only: the actuator is still carrying this epoch out; nothing was done. */
  inFlight?: boolean;
}

export interface ConvergeDeps {
  store: Pick<ClusterStore, 'loadCluster' | 'currentEpoch' | 'recordApplied' | 'recordTargets'>;
  actuator: EndpointActuator;
  now: () => Date;
}

/** Each target's value as the last convergence left it verified (moved, created or found in place). */
function knownTargets(status: TargetStatus | null): Map<string, string | null> | undefined {
  if (status === null || status.phase !== 'converged') return undefined;
  const known = new Map<string, string | null>();
  for (const t of status.targets) if (t.result === 'moved' || t.result === 'created' || t.result === 'in_place') known.set(t.target, t.to);
  return known;
}

/**
 * The targets a pass may have changed: moved or created, a change whose confirmation gave way, or a mutating call
 * that failed after it was sent (a timed-out `ReplaceRoute` may still land). A failed read or a refused guard changed
 * nothing.
 */
function mayHaveChanged(actions: readonly ActionReport[]): ActionReport[] {
  const changed: ActionReport[] = [];
  for (const a of actions) {
    const sent =
      a.result === 'moved' ||
      a.result === 'created' ||
      (a.result === 'superseded' && a.verified === false) ||
      (a.result === 'failed' && a.from !== undefined && a.error?.code !== 'GuardFailed');
    if (sent) changed.push(a);
  }
  return changed;
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
 * claim. After the pass the epoch is read again; `appliedEpoch` is recorded only while it is still current. A mutation
 * the guard let through can still land after the newer epoch's own move (it was in flight when the claim committed):
 * the next pass points every target it may have changed again, without trusting a Describe that can lag that late
 * change, so the window a target spends on the old holder is about one EC2 mutation. Until an epoch has converged
 * once, every pass points every idempotent target (route tables) whatever a read says, for the late write an older
 * pass made without seeing the newer commit. Every pass records the targets' status (desired vs observed,
 * converging / converged / failed, and when). Safe to re-run.
 */
export async function converge(deps: ConvergeDeps, cluster: string, options: { fresh?: boolean; inFlightMs?: number } = {}): Promise<ConvergeResult> {
  let last: ConvergeResult = { epoch: 0, primary: null, actions: [], converged: false };
  // What a superseded pass may have pointed at its (older) holder after the newer epoch's own move: the next pass
  // points it again, whatever a lagging Describe says (see PointAtOptions.reassert).
  const lateChanges: Array<{ holder: string; target: string; to: string }> = [];
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const loaded = await deps.store.loadCluster(cluster);
    if (loaded === null || loaded.record.state.primary === null) return { ...last, converged: loaded !== null };
    const { state, config } = loaded.record;
    // Reconcile leaves an epoch the actuator is still carrying out alone (its INSYNC wait, its read-back): a second
    // writer would race it, page a false drift, and call the endpoint converged while Route 53 is still PENDING. Only
    // a move in flight for longer than the actuator can run (it died) is taken over, and so is one this very call may
    // have undone (a late change of a superseded pass, below).
    const t = loaded.targets;
    if (options.inFlightMs !== undefined && lateChanges.length === 0 && t && t.epoch === state.epoch && t.phase === 'converging' && deps.now().getTime() - Date.parse(t.at) < options.inFlightMs) {
      return { epoch: state.epoch, primary: state.primary, actions: [], converged: false, inFlight: true };
    }
    const primary = loaded.nodes.find((n) => n.name === state.primary);
    if (primary === undefined) throw new Error(`primary ${state.primary} of ${cluster} is not a registered node`);
    const since = loaded.targets?.epoch === state.epoch ? loaded.targets.since : deps.now().toISOString();
    const late = lateChanges.filter((c) => c.holder !== primary.name);
    // Status readers see the move under way (a reconcile pass over a converged endpoint writes nothing here; one that
    // re-asserts a late change does: the endpoint may be off right now). Written alongside the move, not before it:
    // the status write must not delay the first mutation.
    const statusUnchanged = loaded.targets?.epoch === state.epoch && loaded.targets.phase === 'converged' && late.length === 0;
    const converging = statusUnchanged
      ? Promise.resolve()
      : deps.store.recordTargets(cluster, { epoch: state.epoch, primary: primary.name, phase: 'converging', since, at: deps.now().toISOString(), targets: loaded.targets?.epoch === state.epoch ? loaded.targets.targets : [] });
    const guard = async () => (await deps.store.currentEpoch(cluster)) === state.epoch;
    // What the last convergence verified: on a failover every target differs for sure, so the actuators may act
    // without a first Describe (the read-back still verifies). Reconcile passes (options.fresh) read everything.
    let known = options.fresh ? undefined : knownTargets(loaded.targets);
    // Until one pass of this epoch has converged (appliedEpoch), every pass points every target again whatever a
    // read says: a pass for the older epoch (in another invocation) may have written its holder just before this
    // commit, and a Describe within EC2's lag window can still show the value from before that write, i.e. this
    // epoch's holder when the two alternate. The older pass saw no newer epoch after its call, so it re-asserts
    // nothing; a pass that loaded after the commit is the one left to do it.
    const newEpoch = state.appliedEpoch < state.epoch;
    const reassert = newEpoch ? ('all' as const) : late.length > 0 ? new Set(late.map((c) => c.target)) : undefined;
    // What a superseded pass pointed at its holder is known too (it was this call's own write): with every target
    // among them, the re-assert needs no Describe first, and the window on the old holder closes one read sooner.
    if (late.length > 0) known = new Map([...(known ?? []), ...late.map((c): [string, string] => [c.target, c.to])]);
    const [actions] = await Promise.all([deps.actuator.pointAt(config.endpoints, endpointTarget(primary, loaded.nodes), { guard, known, reassert }), converging]);
    last = { epoch: state.epoch, primary: primary.name, actions, converged: false };
    // Superseded: the guard refused a mutation, or a newer epoch was committed while this pass's calls were in
    // flight. A call the guard let through may land after the newer epoch's move (EC2 takes 100–400 ms): the next
    // pass, for the newer holder, points those targets again.
    if (actions.some((a) => a.result === 'superseded') || (await deps.store.currentEpoch(cluster)) !== state.epoch) {
      for (const a of mayHaveChanged(actions)) lateChanges.push({ holder: primary.name, target: a.target, to: a.to });
      continue;
    }
    const ok = actions.every((a) => a.result !== 'failed');
    if (ok && !(await deps.store.recordApplied(cluster, state.epoch))) continue;
    const changed = actions.some((a) => a.result !== 'in_place');
    const status: TargetStatus = { epoch: state.epoch, primary: primary.name, phase: ok ? 'converged' : 'failed', since, at: deps.now().toISOString(), targets: actions };
    // Written whenever this pass wrote `converging` (or the targets changed): a status never stays `converging`.
    if (changed || !statusUnchanged) await deps.store.recordTargets(cluster, status);
    return { ...last, converged: ok };
  }
  return last;
}
