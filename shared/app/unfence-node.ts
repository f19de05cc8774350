import { EVENT_VERSION, type VipEvent } from '../domain/event';
import type { ClusterStore, JournalEntry } from '../ports/cluster-store';
import type { NetworkIsolator, RestoreOutcome } from '../ports/network-isolator';

export type UnfenceResult = { ok: true; eni: string; outcome: Extract<RestoreOutcome, { ok: true }> } | { ok: false; reason: string; eni?: string; outcome?: RestoreOutcome };

/**
 * An operator unfences a node the `isolate` policy isolated, once it has rejoined as a standby: the ENI gets back the
 * security groups recorded in its tags, then the tags go (shared/ports/network-isolator.ts). Any node may be unfenced
 * (an ENI without a record is left as it is: `not_isolated`). Journaled as a `fencing_action` (`unisolate_eni`) and
 * paged (the journal entry is flagged: the actuator sends the page, as for every other page).
 */
export async function unfenceNode(
  deps: { store: Pick<ClusterStore, 'loadCluster' | 'journal'>; isolator: NetworkIsolator; now: () => Date },
  input: { cluster: string; node: string; operator: string; reason: string; id: string },
): Promise<UnfenceResult> {
  const loaded = await deps.store.loadCluster(input.cluster);
  if (loaded === null) return { ok: false, reason: `cluster ${input.cluster} is not registered` };
  const node = loaded.nodes.find((n) => n.name === input.node);
  if (node === undefined) return { ok: false, reason: `node ${input.node} is not registered in ${input.cluster}` };
  const outcome = await deps.isolator.restore(node.eni);
  const at = deps.now().toISOString();
  const event: VipEvent = {
    v: EVENT_VERSION,
    id: input.id,
    cluster: input.cluster,
    node: input.node,
    source: 'operator',
    type: 'unfence',
    success: outcome.ok,
    role: null,
    occurredAt: at,
    details: `unfenced by ${input.operator}: ${input.reason}`,
    facts: null,
    raw: { argv: ['unfence', input.cluster, input.node] },
  };
  const details = outcome.ok
    ? { policy: 'isolate', result: outcome.result, eni: node.eni, from: outcome.from, groups: outcome.groups, operator: input.operator }
    : { policy: 'isolate', result: 'failed', eni: node.eni, step: outcome.step, error: outcome.error, operator: input.operator };
  const reason = outcome.ok
    ? outcome.result === 'restored'
      ? `${input.operator} unfenced ${input.node}: ${node.eni} has its security groups back (${outcome.groups.join(', ')}): ${input.reason}`
      : `${input.operator} unfenced ${input.node}: ${node.eni} was not isolated, nothing to restore: ${input.reason}`
    : `${input.operator} could not unfence ${input.node}: ${node.eni} at ${outcome.step}: ${outcome.error.code}`;
  const entry: JournalEntry = { cluster: input.cluster, eventId: input.id, receivedAt: at, node: input.node, type: 'unisolate_eni', outcome: 'fencing_action', reason, epoch: loaded.record.state.epoch, event, details, page: true };
  await deps.store.journal(entry);
  return outcome.ok ? { ok: true, eni: node.eni, outcome } : { ok: false, reason, eni: node.eni, outcome };
}
