import { decide } from '../domain/decide';
import { EVENT_VERSION, type VipEvent } from '../domain/event';
import type { ClusterStore } from '../ports/cluster-store';
import type { EndpointActuator } from '../ports/endpoint-actuator';
import { converge, type ConvergeResult } from './converge';

export type ConfirmResult =
  | { ok: true; epoch: number; result: ConvergeResult }
  | { ok: false; reason: string };

/**
 * An operator confirms a primary the automation would not accept on its own (an `unverified_claim`: the node's probe
 * failed). The operator states the timeline; the same fencing rule and the same conditional write apply — an
 * operator cannot move the endpoint to an older timeline either. Journaled as `operator_confirmed`. Not for
 * `tool: pgpool` clusters (refused, nothing written): their endpoint follows the watchdog leader's own claim.
 */
export async function confirmPrimary(
  deps: { store: ClusterStore; actuator: EndpointActuator; now: () => Date },
  input: { cluster: string; node: string; timeline: number; operator: string; reason: string; id: string },
): Promise<ConfirmResult> {
  const record = await deps.store.getCluster(input.cluster);
  if (record === null) return { ok: false, reason: `cluster ${input.cluster} is not registered` };
  const node = await deps.store.getNode(input.cluster, input.node);
  if (node === null) return { ok: false, reason: `node ${input.node} is not registered in ${input.cluster}` };
  const event: VipEvent = {
    v: EVENT_VERSION,
    id: input.id,
    cluster: input.cluster,
    node: input.node,
    source: 'operator',
    type: 'confirm_primary',
    success: true,
    role: null,
    occurredAt: deps.now().toISOString(),
    details: `confirmed by ${input.operator}: ${input.reason}`,
    facts: { inRecovery: false, timeline: input.timeline, lsn: null, systemIdentifier: record.state.systemIdentifier },
    raw: { argv: ['confirm', input.node, String(input.timeline)] },
  };
  const { hookKey: _secret, ...target } = node;
  // The cluster's tool as the API decides with it: a pgpool cluster's ordering slot holds leadership tokens, not
  // timelines, so a confirmed timeline is refused there (it would otherwise outrank, or never reach, every leader's token).
  const decision = decide(record.state, target, event, null, { tool: record.config.tool });
  if (decision.outcome !== 'accepted') return { ok: false, reason: decision.reason };
  const committed = await deps.store.commitClaim(decision, record.state.epoch, {
    cluster: input.cluster,
    eventId: input.id,
    receivedAt: deps.now().toISOString(),
    node: input.node,
    type: 'confirm_primary',
    outcome: 'operator_confirmed',
    reason: `${decision.reason} (confirmed by ${input.operator}: ${input.reason})`,
    epoch: decision.epoch,
    event,
  });
  if (committed === 'lost') return { ok: false, reason: 'the cluster changed while confirming (a newer claim won); check status and retry' };
  return { ok: true, epoch: decision.epoch, result: await converge(deps, input.cluster) };
}
