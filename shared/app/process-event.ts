import { decide, type Decision } from '../domain/decide';
import type { NodeRecord } from '../domain/cluster';
import type { VipEvent } from '../domain/event';
import type { Alerter } from '../ports/alerter';
import type { ActionReport, ClusterStore, JournalEntry } from '../ports/cluster-store';
import { converge, type ConvergeResult } from './converge';
import type { EndpointActuator } from '../ports/endpoint-actuator';

export interface ProcessDeps {
  store: ClusterStore;
  actuator: EndpointActuator;
  alerter: Alerter;
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
    [key: string]: unknown;
  };
}

/** Races lost to a concurrent claim before giving up: each loss means someone else advanced the epoch. */
const MAX_COMMIT_ATTEMPTS = 5;

/**
 * Decide on one authenticated, validated event and carry the decision out: commit (fencing), move the endpoint,
 * journal, page. Returns the answer; throws only for infrastructure faults (the event is then not journaled and the
 * hook retries it).
 */
export async function processEvent(deps: ProcessDeps, event: VipEvent, node: NodeRecord): Promise<EventAnswer> {
  for (let attempt = 1; attempt <= MAX_COMMIT_ATTEMPTS; attempt++) {
    const record = await deps.store.getCluster(event.cluster);
    if (record === null) throw new Error(`cluster ${event.cluster} vanished while processing`);
    const decision = decide(record.state, node, event);
    const receivedAt = deps.now().toISOString();
    if (decision.outcome === 'accepted') {
      const entry = journalEntry(event, decision, receivedAt, decision.epoch);
      const committed = await deps.store.commitClaim(decision, record.state.epoch, entry);
      if (committed === 'lost') continue;
      const result = await converge(deps, record.config.cluster);
      if (!result.converged) await pageActuationFailure(deps, event, result);
      return {
        status: 200,
        body: {
          code: 'accepted',
          decision: 'accepted',
          message: decision.reason,
          epoch: decision.epoch,
          primary: decision.primary,
          timeline: decision.timeline,
          actions: result.actions,
          converged: result.converged,
        },
      };
    }
    await deps.store.journal(journalEntry(event, decision, receivedAt, record.state.epoch));
    return answerFor(deps, event, decision);
  }
  // Every attempt lost a race: others kept advancing the epoch. Re-reading once more can only make this claim older.
  const record = await deps.store.getCluster(event.cluster);
  const decision: Decision = {
    outcome: 'stale_claim',
    reason: `${node.name} lost ${MAX_COMMIT_ATTEMPTS} races to newer claims`,
    current: { primary: record?.state.primary ?? null, timeline: record?.state.timeline ?? 0, epoch: record?.state.epoch ?? 0 },
    claimedTimeline: event.facts?.timeline ?? 0,
  };
  await deps.store.journal(journalEntry(event, decision, deps.now().toISOString(), decision.current.epoch));
  return answerFor(deps, event, decision);
}

function journalEntry(event: VipEvent, decision: Decision, receivedAt: string, epoch: number | null): JournalEntry {
  return { cluster: event.cluster, eventId: event.id, receivedAt, node: event.node, type: event.type, outcome: decision.outcome, reason: decision.reason, epoch, event };
}

async function answerFor(deps: ProcessDeps, event: VipEvent, decision: Exclude<Decision, { outcome: 'accepted' }>): Promise<EventAnswer> {
  switch (decision.outcome) {
    case 'ignored':
      return { status: 200, body: { code: 'ignored', decision: 'ignored', message: decision.reason, kind: decision.kind } };
    case 'stale_claim':
      await deps.alerter.page({
        severity: 'critical',
        cluster: event.cluster,
        type: 'stale_claim',
        subject: `vipswitch ${event.cluster}: stale primary claim from ${event.node} (possible split brain)`,
        message: decision.reason,
        details: { eventId: event.id, node: event.node, claimedTimeline: decision.claimedTimeline, current: decision.current },
      });
      return {
        status: 409,
        body: { code: 'stale_claim', decision: 'rejected', message: decision.reason, primary: decision.current.primary, timeline: decision.current.timeline, epoch: decision.current.epoch },
      };
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
