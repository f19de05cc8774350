import { EventKind } from '../domain/classify';
import { decide, type Decision } from '../domain/decide';
import { healthFromEvent } from '../domain/health';
import type { ClusterConfig, NodeRecord } from '../domain/cluster';
import type { VipEvent } from '../domain/event';
import type { Alerter } from '../ports/alerter';
import type { ActionReport, ClusterRecord, ClusterStore, JournalEntry } from '../ports/cluster-store';
import type { EndpointActuator } from '../ports/endpoint-actuator';
import type { InstanceFencer } from '../ports/instance-fencer';
import { converge, endpointTarget, type ConvergeResult } from './converge';

export interface ProcessDeps {
  store: ClusterStore;
  actuator: EndpointActuator;
  alerter: Alerter;
  fencer: InstanceFencer;
  now: () => Date;
}

/** The answer to one event, as DESIGN.md's table: status plus a JSON body that always has `code` and `message`. */
export interface EventAnswer {
  status: 200 | 409;
  body: {
    code: string;
    message: string;
    decision: 'accepted' | 'ignored' | 'duplicate' | 'rejected';
    epoch?: number;
    primary?: string | null;
    timeline?: number;
    actions?: ActionReport[];
    converged?: boolean;
    dryRun?: boolean;
    [key: string]: unknown;
  };
}

/** Races lost to a concurrent claim before giving up: each loss means someone else advanced the epoch. */
const MAX_COMMIT_ATTEMPTS = 5;

/**
 * Decide on one authenticated, validated event and carry the decision out: commit (fencing), move the endpoint,
 * journal, page, fence. With `dryRun` (the cluster's setting or the request's), decide and plan only: nothing is
 * committed, moved, journaled or paged. Throws only for infrastructure faults (the event is then not journaled and
 * the hook retries it).
 */
export async function processEvent(deps: ProcessDeps, event: VipEvent, node: NodeRecord, options: { dryRun?: boolean } = {}): Promise<EventAnswer> {
  for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
    const record = await deps.store.getCluster(event.cluster);
    if (record === null) throw new Error(`cluster ${event.cluster} vanished while processing`);
    const decision = decide(record.state, node, event);
    if (options.dryRun || record.config.dryRun) return planOnly(deps, record, node, decision);
    const receivedAt = deps.now().toISOString();
    if (decision.outcome === 'accepted') {
      const entry = journalEntry(event, decision, receivedAt, decision.epoch);
      if ((await deps.store.commitClaim(decision, record.state.epoch, entry)) === 'lost') continue;
      await deps.store.setNodeHealth(event.cluster, node.name, 'primary');
      const result = await converge(deps, record.config.cluster);
      if (!result.converged) await pageActuationFailure(deps, event, result);
      return {
        status: 200,
        body: { code: 'accepted', decision: 'accepted', message: decision.reason, epoch: decision.epoch, primary: decision.primary, timeline: decision.timeline, actions: result.actions, converged: result.converged },
      };
    }
    await deps.store.journal(journalEntry(event, decision, receivedAt, record.state.epoch));
    await followHealth(deps, record, event, decision);
    return answerFor(deps, record.config, event, node, decision);
  }
  // Every attempt lost a race: others kept advancing the epoch. Re-reading once more can only make this claim older.
  const record = await deps.store.getCluster(event.cluster);
  const decision: Extract<Decision, { outcome: 'stale_claim' }> = {
    outcome: 'stale_claim',
    reason: `${node.name} lost ${MAX_COMMIT_ATTEMPTS} races to newer claims`,
    current: { primary: record?.state.primary ?? null, timeline: record?.state.timeline ?? 0, epoch: record?.state.epoch ?? 0 },
    claimedTimeline: event.facts?.timeline ?? 0,
  };
  await deps.store.journal(journalEntry(event, decision, deps.now().toISOString(), decision.current.epoch));
  return answerFor(deps, record!.config, event, node, decision);
}

/** Dry run: the decision, and for a winning claim the actions it would take. Reads only. */
async function planOnly(deps: ProcessDeps, record: ClusterRecord, node: NodeRecord, decision: Decision): Promise<EventAnswer> {
  if (decision.outcome !== 'accepted') {
    const status = decision.outcome === 'ignored' ? 200 : 409;
    return { status, body: { code: decision.outcome, decision: status === 200 ? 'ignored' : 'rejected', message: `dry run: ${decision.reason}`, dryRun: true } };
  }
  const nodes = await deps.store.listNodes(record.config.cluster);
  const plan = await deps.actuator.pointAt(record.config.endpoints, endpointTarget(node, nodes), { plan: true });
  return {
    status: 200,
    body: { code: 'dry_run', decision: 'accepted', message: `dry run: ${decision.reason}; nothing was changed`, dryRun: true, epoch: decision.epoch, primary: decision.primary, timeline: decision.timeline, actions: plan },
  };
}

/** Keep the node's health, and let reader records follow a replica joining or leaving. */
async function followHealth(deps: ProcessDeps, record: ClusterRecord, event: VipEvent, decision: Decision): Promise<void> {
  const health = healthFromEvent(event, decision);
  if (health === null) return;
  const changed = await deps.store.setNodeHealth(event.cluster, event.node, health);
  if (changed && record.config.endpoints.route53?.readerRecord && record.state.primary !== null) {
    const result = await converge(deps, record.config.cluster);
    if (!result.converged) await pageActuationFailure(deps, event, result);
  }
}

function journalEntry(event: VipEvent, decision: Decision, receivedAt: string, epoch: number | null): JournalEntry {
  return { cluster: event.cluster, eventId: event.id, receivedAt, node: event.node, type: event.type, outcome: decision.outcome, reason: decision.reason, epoch, event };
}

async function answerFor(deps: ProcessDeps, config: ClusterConfig, event: VipEvent, node: NodeRecord, decision: Exclude<Decision, { outcome: 'accepted' }>): Promise<EventAnswer> {
  switch (decision.outcome) {
    case 'ignored':
      if (decision.kind === EventKind.Fault) {
        await deps.alerter.page({
          severity: event.type === 'repmgrd_failover_aborted' || event.type === 'repmgrd_promote_error' ? 'critical' : 'warning',
          cluster: event.cluster,
          type: event.type,
          subject: `vipswitch ${event.cluster}: ${event.type} on ${event.node}`,
          message: `${event.source} reported ${event.type}${event.success ? '' : ' (failed)'} on ${event.node}: ${event.details || '(no details)'}`,
          details: { eventId: event.id, node: event.node, success: event.success },
        });
      }
      return { status: 200, body: { code: 'ignored', decision: 'ignored', message: decision.reason, kind: decision.kind } };
    case 'stale_claim': {
      const fencing = await fenceStaleNode(deps, config, event, node, decision);
      await deps.alerter.page({
        severity: 'critical',
        cluster: event.cluster,
        type: 'stale_claim',
        subject: `vipswitch ${event.cluster}: stale primary claim from ${event.node} (possible split brain)`,
        message: `${decision.reason}. The endpoint stays on ${decision.current.primary ?? 'no node'}. ${fencing.summary}`,
        details: { eventId: event.id, node: event.node, claimedTimeline: decision.claimedTimeline, current: decision.current, fencing: fencing.action },
      });
      return {
        status: 409,
        body: {
          code: 'stale_claim',
          decision: 'rejected',
          message: decision.reason,
          primary: decision.current.primary,
          timeline: decision.current.timeline,
          epoch: decision.current.epoch,
          fencing: fencing.action,
        },
      };
    }
    case 'unverified_claim':
      await deps.alerter.page({
        severity: 'critical',
        cluster: event.cluster,
        type: 'unverified_claim',
        subject: `vipswitch ${event.cluster}: unverified primary claim from ${event.node}`,
        message: decision.reason,
        details: { eventId: event.id, node: event.node, type: event.type },
      });
      return { status: 409, body: { code: 'unverified_claim', decision: 'rejected', message: decision.reason } };
    case 'system_identifier_mismatch':
      await deps.alerter.page({
        severity: 'critical',
        cluster: event.cluster,
        type: 'system_identifier_mismatch',
        subject: `vipswitch ${event.cluster}: ${event.node} reports another cluster's system identifier`,
        message: decision.reason,
        details: { eventId: event.id, node: event.node, expected: decision.expected, got: decision.got },
      });
      return { status: 409, body: { code: 'system_identifier_mismatch', decision: 'rejected', message: decision.reason } };
  }
}

/**
 * The cluster's fencing policy against a node whose claim lost. Never against the current primary; always journaled.
 */
async function fenceStaleNode(
  deps: ProcessDeps,
  config: ClusterConfig,
  event: VipEvent,
  node: NodeRecord,
  decision: Extract<Decision, { outcome: 'stale_claim' }>,
): Promise<{ action: Record<string, unknown>; summary: string }> {
  if (config.fencing !== 'stop-instance') return { action: { policy: 'alert' }, summary: 'Policy: alert only.' };
  if (node.name === decision.current.primary) return { action: { policy: 'stop-instance', result: 'skipped', why: 'node is the current primary' }, summary: 'Not fenced: it is the current primary.' };
  if (node.instanceId === null) return { action: { policy: 'stop-instance', result: 'skipped', why: 'no instanceId registered' }, summary: 'Not fenced: no instance id registered.' };
  const outcome = await deps.fencer.stop(node.instanceId);
  const action = outcome.ok
    ? { policy: 'stop-instance', result: 'stopped', instanceId: node.instanceId, state: outcome.state }
    : { policy: 'stop-instance', result: 'failed', instanceId: node.instanceId, error: outcome.error };
  await deps.store.journal({
    cluster: event.cluster,
    eventId: event.id,
    receivedAt: deps.now().toISOString(),
    node: node.name,
    type: 'stop_instance',
    outcome: 'fencing_action',
    reason: outcome.ok ? `stopped ${node.instanceId} (${node.name}) after its stale claim` : `could not stop ${node.instanceId}: ${outcome.error.code}`,
    epoch: decision.current.epoch,
    event,
  });
  return { action, summary: outcome.ok ? `Fenced: instance ${node.instanceId} stopped (Force).` : `Fencing FAILED: ${outcome.error.code} ${outcome.error.message}` };
}

async function pageActuationFailure(deps: ProcessDeps, event: VipEvent, result: ConvergeResult): Promise<void> {
  const failed = result.actions.filter((a) => a.result === 'failed');
  await deps.alerter.page({
    severity: 'critical',
    cluster: event.cluster,
    type: 'actuation_failed',
    subject: `vipswitch ${event.cluster}: endpoint move incomplete`,
    message: `${failed.length} target(s) failed: ${failed.map((a) => `${a.target}: ${a.error?.code}`).join('; ')}; reconcile will retry`,
    details: { eventId: event.id, actions: result.actions },
  });
}
