import { createEndpointActuator } from '../../../shared/adapters/endpoint-actuators';
import { converge, endpointTarget } from '../../../shared/app/converge';
import type { ActionReport } from '../../../shared/ports/cluster-store';
import type { CliContext } from '../context';
import { EXIT, FailedError, type ExitCode } from '../errors';
import { table } from '../format';
import type { Io, Output } from '../output';

/** A move older than the actuator's timeout died (functions/reconcile: the same bound). */
const ACTUATE_TIMEOUT_MS = 120_000;

interface ClusterResult {
  cluster: string;
  primary: string | null;
  epoch: number;
  /** `in_sync`: nothing to change; `drift`: a dry run found targets to change; `repaired`; `failed`; `in_flight`; `no_primary`. */
  outcome: 'in_sync' | 'drift' | 'repaired' | 'failed' | 'in_flight' | 'no_primary';
  actions: ActionReport[];
}

/**
 * `vipswitch reconcile [cluster] [--dry-run]`: what the scheduled reconcile Lambda does, now, for one cluster or all:
 * converge each endpoint on the holder of the newest epoch (reading everything fresh; a move the actuator is still
 * carrying out is left alone). With --dry-run: the plan only (each actuator's observe and compare, `pointAt(...,
 * {plan: true})`), nothing changed. The CLI pages nobody: the operator reads the result here.
 * Exit 0: every endpoint in sync (or repaired); 1: drift found by a dry run, a target failed, or a move in flight.
 */
export async function reconcileCommand(ctx: CliContext, out: Output, io: Io, cluster: string | undefined, options: { dryRun: boolean }): Promise<ExitCode> {
  const clusters = cluster === undefined ? await ctx.store.listClusters() : [cluster];
  const actuator = createEndpointActuator({ ec2: ctx.ec2(), route53: ctx.route53() });
  const results: ClusterResult[] = [];
  for (const name of clusters) {
    const loaded = await ctx.store.loadCluster(name);
    if (loaded === null) throw new FailedError('unknown_cluster', `cluster ${name} is not registered in ${ctx.stage.state}`);
    const { state, config } = loaded.record;
    const primary = loaded.nodes.find((n) => n.name === state.primary);
    if (primary === undefined) {
      results.push({ cluster: name, primary: null, epoch: state.epoch, outcome: 'no_primary', actions: [] });
      continue;
    }
    if (options.dryRun) {
      const actions = await actuator.pointAt(config.endpoints, endpointTarget(primary, loaded.nodes), { plan: true });
      const outcome = actions.some((a) => a.result === 'failed') ? 'failed' : actions.some((a) => a.result === 'planned') ? 'drift' : 'in_sync';
      results.push({ cluster: name, primary: primary.name, epoch: state.epoch, outcome, actions });
      continue;
    }
    const result = await converge({ store: ctx.store, actuator, now: () => io.now() }, name, { fresh: true, inFlightMs: ACTUATE_TIMEOUT_MS });
    const changed = result.actions.some((a) => a.result === 'moved' || a.result === 'created');
    const outcome = result.inFlight ? 'in_flight' : !result.converged ? 'failed' : changed ? 'repaired' : 'in_sync';
    results.push({ cluster: name, primary: result.primary, epoch: result.epoch, outcome, actions: result.actions });
  }
  const ok = results.every((r) => r.outcome === 'in_sync' || r.outcome === 'repaired' || r.outcome === 'no_primary');
  out.result({ ok, dryRun: options.dryRun, clusters: results });
  if (results.length === 0) out.line(`no clusters registered in ${ctx.stage.state}`);
  const said = {
    in_sync: 'in sync: nothing to change',
    drift: 'DRIFT: these targets would change (dry run, nothing changed)',
    repaired: 'repaired: drift found and moved back',
    failed: 'FAILED: see the targets',
    in_flight: 'left alone: the actuator is carrying this epoch out (try again in a minute)',
    no_primary: 'no primary yet: nothing to point at',
  } as const;
  for (const r of results) {
    out.line(`${r.cluster}: ${said[r.outcome]}${r.primary ? ` (primary ${r.primary}, epoch ${r.epoch})` : ''}`);
    if (r.actions.length > 0) out.line(table(['Mechanism', 'Target', 'Result', 'Now', 'Should be', 'Error'], r.actions.map((a) => [a.mechanism, a.target, a.result, a.from === undefined ? (a.result === 'in_place' ? a.to : '?') : a.from, a.to, a.error ? `${a.error.code}: ${a.error.message}` : ''])));
  }
  return ok ? EXIT.ok : EXIT.failed;
}
