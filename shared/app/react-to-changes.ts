import type { Alerter } from '../ports/alerter';
import type { ClusterStore, JournalEntry } from '../ports/cluster-store';
import type { EndpointActuator } from '../ports/endpoint-actuator';
import type { InstanceFencer } from '../ports/instance-fencer';
import type { NetworkIsolator } from '../ports/network-isolator';
import { converge, type ConvergeResult } from './converge';
import { actuationFailedPage, pageForEntry } from './pages';

/** One committed change of the state table, as its stream delivers it (images already unmarshalled). */
export interface StateChange {
  /** The stream's sequence number: what a partial batch failure names. */
  sequence: string;
  pk: string;
  sk: string;
  old: Record<string, any> | null;
  new: Record<string, any> | null;
}

/** What one cluster's changes in a batch call for. */
export interface ClusterWork {
  cluster: string;
  /** A new epoch, new endpoint settings, or a member's health / address: point the endpoint again. */
  converge: boolean;
  /** The first change that asked for `converge` (retried from there when the move fails). */
  convergeSequence: string | null;
  /** Journal entries to page and fence for, in order, with their sequence numbers. */
  entries: { sequence: string; entry: JournalEntry }[];
}

export interface ReactDeps {
  store: Pick<ClusterStore, 'loadCluster' | 'currentEpoch' | 'recordApplied' | 'recordTargets' | 'journal'>;
  actuator: EndpointActuator;
  alerter: Alerter;
  fencer: InstanceFencer;
  /** The `isolate` policy's adapter; without it an `isolate` fence is journaled and paged as failed. */
  isolator?: NetworkIsolator;
  now: () => Date;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Which changes call for work, per cluster. Pure. The actuator's own writes (`appliedEpoch`, the target status) and
 * everything else in the table (replay guard, event ids, plain journal entries) call for nothing, so the trigger never
 * feeds itself.
 */
export function planWork(changes: StateChange[]): ClusterWork[] {
  const work = new Map<string, ClusterWork>();
  const of = (cluster: string) => {
    let w = work.get(cluster);
    if (!w) work.set(cluster, (w = { cluster, converge: false, convergeSequence: null, entries: [] }));
    return w;
  };
  for (const change of changes) {
    const now = change.new;
    if (change.pk.startsWith('CLUSTER#')) {
      const cluster = change.pk.slice('CLUSTER#'.length);
      const old = change.old;
      let wants = false;
      if (change.sk === '#STATE') {
        wants = now !== null && (old === null || old.epoch !== now.epoch || !same(old.endpoints, now.endpoints));
      } else if (change.sk.startsWith('NODE#')) {
        wants = old !== null && now !== null && (old.health !== now.health || old.eni !== now.eni || old.privateIp !== now.privateIp || old.fenced !== now.fenced);
      }
      if (wants) {
        const w = of(cluster);
        w.converge = true;
        w.convergeSequence ??= change.sequence;
      }
    } else if (change.pk.startsWith('JOURNAL#') && now !== null && change.old === null && (now.page === true || now.fence === true)) {
      of(change.pk.slice('JOURNAL#'.length)).entries.push({ sequence: change.sequence, entry: now.entry as JournalEntry });
    }
  }
  return [...work.values()];
}

/** What became of one cluster's work. `retryFrom` is set when the move must be tried again (a partial batch failure). */
export interface ClusterOutcome {
  cluster: string;
  result: ConvergeResult | null;
  retryFrom: string | null;
}

/**
 * Carry out a batch of committed changes: fence and page for journal entries, then converge each cluster that needs
 * it. Clusters run concurrently, each one's work in order. Pages are de-duplicated by the alerter, so a retried batch
 * does not page twice. Never throws for a failed move: its cluster is reported with `retryFrom`.
 */
export async function reactToChanges(deps: ReactDeps, changes: StateChange[]): Promise<ClusterOutcome[]> {
  return Promise.all(
    planWork(changes).map(async (work): Promise<ClusterOutcome> => {
      for (const { entry } of work.entries) {
        const fencing = entry.fence ? await fence(deps, entry) : undefined;
        if (!entry.page) continue;
        const page = pageForEntry(fencing ? { ...entry, details: { ...entry.details, fencing } } : entry);
        if (page) await deps.alerter.page(page);
      }
      if (!work.converge) return { cluster: work.cluster, result: null, retryFrom: null };
      const result = await converge(deps, work.cluster);
      if (result.converged || result.primary === null) return { cluster: work.cluster, result, retryFrom: null };
      await deps.alerter.page(actuationFailedPage(work.cluster, result.primary, result.epoch, result.actions, 'commit'));
      return { cluster: work.cluster, result, retryFrom: work.convergeSequence };
    }),
  );
}

/**
 * The cluster's fencing policy (`stop-instance` or `isolate`, as planned at commit) against the node of a stale claim.
 * Never against the current primary (read again now: the claim may have become current since). Journaled either way;
 * the result goes into the stale claim's page.
 */
async function fence(deps: ReactDeps, entry: JournalEntry): Promise<Record<string, unknown>> {
  const plan = (entry.details?.fencing ?? {}) as { policy?: string; securityGroupId?: string };
  const policy = plan.policy === 'isolate' ? 'isolate' : 'stop-instance';
  const loaded = await deps.store.loadCluster(entry.cluster);
  const node = loaded?.nodes.find((n) => n.name === entry.node);
  let action: Record<string, unknown>;
  let reason: string;
  if (!loaded || !node) {
    action = { policy, result: 'skipped', why: 'node no longer registered' };
    reason = `not fenced: ${entry.node} is no longer registered`;
  } else if (loaded.record.state.primary === node.name) {
    action = { policy, result: 'skipped', why: 'node is the current primary' };
    reason = `not fenced: ${node.name} is the current primary`;
  } else if (policy === 'isolate') {
    ({ action, reason } = await isolate(deps, entry, node.name, node.eni, loaded.record.config.isolationSecurityGroupId ?? plan.securityGroupId));
  } else if (node.instanceId === null) {
    action = { policy, result: 'skipped', why: 'no instanceId registered' };
    reason = `not fenced: ${node.name} has no instance id registered`;
  } else {
    const outcome = await deps.fencer.stop(node.instanceId);
    action = outcome.ok
      ? { policy, result: 'stopped', instanceId: node.instanceId, state: outcome.state }
      : { policy, result: 'failed', instanceId: node.instanceId, error: outcome.error };
    reason = outcome.ok ? `stopped ${node.instanceId} (${node.name}) after its stale claim` : `could not stop ${node.instanceId}: ${outcome.error.code}`;
  }
  await deps.store.journal({
    cluster: entry.cluster,
    eventId: entry.eventId,
    receivedAt: deps.now().toISOString(),
    node: entry.node,
    type: policy === 'isolate' ? 'isolate_eni' : 'stop_instance',
    outcome: 'fencing_action',
    reason,
    epoch: entry.epoch,
    event: entry.event,
    details: action,
  });
  return action;
}

/** The `isolate` policy: the node's ENI keeps only the isolating group; its own groups go into tags on the ENI. */
async function isolate(deps: ReactDeps, entry: JournalEntry, nodeName: string, eni: string, groupId: string | undefined): Promise<{ action: Record<string, unknown>; reason: string }> {
  if (groupId === undefined) return { action: { policy: 'isolate', result: 'skipped', eni, why: 'no isolationSecurityGroupId configured' }, reason: `not fenced: ${entry.cluster} has no isolationSecurityGroupId` };
  if (deps.isolator === undefined) {
    const error = { code: 'NotConfigured', message: 'this actuator has no network isolator wired' };
    return { action: { policy: 'isolate', result: 'failed', eni, securityGroupId: groupId, error }, reason: `could not isolate ${eni}: ${error.code}` };
  }
  const note = `vipswitch ${deps.now().toISOString()} ${entry.cluster}/${nodeName} stale claim ${entry.eventId} (epoch ${entry.epoch ?? '-'})`;
  const outcome = await deps.isolator.isolate(eni, groupId, note);
  if (!outcome.ok) {
    return { action: { policy: 'isolate', result: 'failed', eni, securityGroupId: groupId, step: outcome.step, error: outcome.error }, reason: `could not isolate ${eni} (${nodeName}) at ${outcome.step}: ${outcome.error.code}` };
  }
  return {
    action: { policy: 'isolate', result: outcome.result, eni, securityGroupId: groupId, originalGroups: outcome.originalGroups, groups: outcome.groups },
    reason: outcome.result === 'isolated' ? `isolated ${eni} (${nodeName}) after its stale claim: groups ${(outcome.originalGroups ?? []).join(', ') || '(none)'} swapped for ${groupId}, kept in its tags` : `${eni} (${nodeName}) was already isolated`,
  };
}
