import { createHash } from 'node:crypto';
import { EventKind } from '../domain/classify';
import { decide, type Decision } from '../domain/decide';
import { AuthenticationError, ConflictError } from '../domain/errors';
import { healthFromEvent } from '../domain/health';
import type { ClusterConfig, EndpointConfig, EndpointTarget, NodeRecord } from '../domain/cluster';
import type { VipEvent } from '../domain/event';
import type { ClusterStore, JournalEntry, LoadedCluster } from '../ports/cluster-store';
import { AnswerCode, DecisionWord, ErrorCode, type DryRunAnswer, type EventAnswer } from '../protocol/answers';
import { endpointTarget } from './converge';

export type { EventAnswer } from '../protocol/answers';

export interface ProcessDeps {
  store: Pick<ClusterStore, 'loadCluster' | 'recordEvent'>;
  now: () => Date;
}

/** One authenticated, validated event, with what was read to authenticate it (passed down, not read again). */
export interface EventInput {
  event: VipEvent;
  loaded: LoadedCluster;
  /** The replay guard of the request's signature; null for an operator's call. */
  replay: { digest: string; expiresAt: number } | null;
}

/** Races lost to a concurrent claim before giving up: each loss means someone else advanced the epoch. */
const MAX_COMMIT_ATTEMPTS = 5;

/**
 * Decide on one event and record it: the fencing transaction (the claim, the journal entry, the event id, the replay
 * guard, the node's health) is the only write, and the answer follows it at once. Nothing here calls EC2, Route 53
 * or SNS: the committed change triggers the actuator (DynamoDB Streams), which moves the endpoint, pages and fences.
 *
 * Round trips: none when `loaded` is fresh and the transaction wins (one per lost race, to re-read). With `dryRun`
 * (the request's or the cluster's), decide and plan only: nothing is written.
 * @throws AuthenticationError `replayed_request`, ConflictError `event_id_reused`; infrastructure faults as they come.
 */
export async function processEvent(deps: ProcessDeps, input: EventInput, options: { dryRun?: boolean } = {}): Promise<EventAnswer> {
  const { event } = input;
  const payloadHash = hashEvent(event);
  let loaded = input.loaded;
  for (let attempt = 1; ; attempt++) {
    const node = loaded.nodes.find((n) => n.name === event.node);
    if (node === undefined) throw new Error(`node ${event.node} vanished from ${event.cluster} while processing`);
    const { record } = loaded;
    let decision = decide(record.state, node, event, loaded.targets, { tool: record.config.tool, now: deps.now() });
    if (options.dryRun || record.config.dryRun) return planOnly(record.config.endpoints, endpointTarget(node, loaded.nodes), decision);
    // Every attempt lost a race: others kept advancing the epoch. Refused and paged, but NOT fenced and not marked
    // failed: on the last read this claim was still the newest, so its node may well be the real primary.
    const gaveUp = attempt > MAX_COMMIT_ATTEMPTS && decision.outcome === 'accepted';
    if (gaveUp) {
      // The claimed ordering key: the timeline, or a pgpool leadership token.
      const claimed = decision.outcome === 'accepted' ? decision.timeline : 0;
      decision = {
        outcome: 'stale_claim',
        reason: `${node.name}'s claim (timeline ${claimed}) lost ${MAX_COMMIT_ATTEMPTS} commit races to concurrent writes; not fenced, re-send it or confirm it`,
        current: { primary: record.state.primary, timeline: record.state.timeline, epoch: record.state.epoch },
        claimedTimeline: claimed,
      };
    }
    const answer = answerFor(record.config, node, decision, gaveUp);
    const health = gaveUp ? null : healthFromEvent(event, decision);
    const outcome = await deps.store.recordEvent({
      entry: journalEntry(event, decision, record.config, node, gaveUp, deps.now().toISOString(), decision.outcome === 'accepted' ? decision.epoch : record.state.epoch),
      replay: input.replay,
      payloadHash,
      answer,
      ...(decision.outcome === 'accepted' ? { claim: { decision, expectedEpoch: record.state.epoch } } : {}),
      // Only a real change: a write known to fail (or to change nothing) is never sent.
      ...(decision.outcome !== 'accepted' && health !== null && health !== node.health ? { health } : {}),
    });
    switch (outcome.kind) {
      case 'recorded':
        return answer;
      case 'replay':
        throw new AuthenticationError(ErrorCode.ReplayedRequest, 'this signed request was already received; a retry must be signed again');
      case 'duplicate':
        if (outcome.payloadHash !== payloadHash) throw new ConflictError(ErrorCode.EventIdReused, `event id ${event.id} was already used for a different event`);
        return {
          status: 200,
          body: { code: AnswerCode.Duplicate, decision: DecisionWord.Duplicate, message: 'this event id was already processed; `first` is the answer it got', first: outcome.answer as never },
        };
      case 'lost': {
        const fresh = await deps.store.loadCluster(event.cluster);
        if (fresh === null) throw new Error(`cluster ${event.cluster} vanished while processing`);
        loaded = fresh;
      }
    }
  }
}

/** The same event always hashes the same (the schema fixes the key order): a resend is a duplicate, an edit is not. */
function hashEvent(event: VipEvent): string {
  return createHash('sha256').update(JSON.stringify(event)).digest('hex');
}

/** The answer to a decision (DESIGN.md's table). A winning claim is 202: committed, the move follows. */
function answerFor(config: ClusterConfig, node: NodeRecord, decision: Decision, gaveUp: boolean): EventAnswer {
  switch (decision.outcome) {
    case 'accepted':
      return {
        status: 202,
        body: {
          code: AnswerCode.Accepted,
          decision: DecisionWord.Accepted,
          message: `${decision.reason}; committed at epoch ${decision.epoch}, the endpoint moves asynchronously`,
          epoch: decision.epoch,
          primary: decision.primary,
          timeline: decision.timeline,
          actuation: 'pending',
        },
      };
    case 'ignored':
      return { status: 200, body: { code: AnswerCode.Ignored, decision: DecisionWord.Ignored, message: decision.reason, kind: decision.kind } };
    case 'stale_claim':
      return {
        status: 409,
        body: {
          code: AnswerCode.StaleClaim,
          decision: DecisionWord.Rejected,
          message: decision.reason,
          primary: decision.current.primary,
          timeline: decision.current.timeline,
          epoch: decision.current.epoch,
          fencing: fencingPlan(config, node, decision, gaveUp),
        },
      };
    case 'unverified_claim':
      return { status: 409, body: { code: AnswerCode.UnverifiedClaim, decision: DecisionWord.Rejected, message: decision.reason } };
    case 'system_identifier_mismatch':
      return { status: 409, body: { code: AnswerCode.SystemIdentifierMismatch, decision: DecisionWord.Rejected, message: decision.reason } };
  }
}

/** What the cluster's fencing policy will do about a stale claim's node (the actuator carries it out). */
function fencingPlan(config: ClusterConfig, node: NodeRecord, decision: Extract<Decision, { outcome: 'stale_claim' }>, gaveUp: boolean): Record<string, unknown> {
  if (config.fencing === 'alert') return { policy: 'alert' };
  const policy = config.fencing;
  if (gaveUp) return { policy, result: 'skipped', why: 'lost commit races, not older' };
  // An older leadership token is most often a claim delayed in the old leader's spool, not a leader still running.
  if (config.tool === 'pgpool') return { policy, result: 'skipped', why: 'pgpool: an older leadership token is a delayed claim, not proof of a running split brain' };
  if (node.name === decision.current.primary) return { policy, result: 'skipped', why: 'node is the current primary' };
  if (policy === 'isolate') {
    if (config.isolationSecurityGroupId === undefined) return { policy, result: 'skipped', why: 'no isolationSecurityGroupId configured' };
    return { policy, result: 'scheduled', eni: node.eni, securityGroupId: config.isolationSecurityGroupId };
  }
  if (node.instanceId === null) return { policy, result: 'skipped', why: 'no instanceId registered' };
  return { policy, result: 'scheduled', instanceId: node.instanceId };
}

/** The journal entry, with what the actuator needs to page and fence after the answer. */
function journalEntry(event: VipEvent, decision: Decision, config: ClusterConfig, node: NodeRecord, gaveUp: boolean, receivedAt: string, epoch: number | null): JournalEntry {
  const entry: JournalEntry = { cluster: event.cluster, eventId: event.id, receivedAt, node: event.node, type: event.type, outcome: decision.outcome, reason: decision.reason, epoch, event };
  switch (decision.outcome) {
    case 'ignored':
      if (decision.kind === EventKind.Fault) entry.page = true;
      if (decision.kind === EventKind.RoleDisagreement) {
        // keepalived made a standby its MASTER: nothing moved, but someone must look (partition, priority, race).
        entry.details = { kind: decision.kind, current: decision.current, facts: event.facts };
        entry.page = true;
      }
      break;
    case 'stale_claim': {
      const fencing = fencingPlan(config, node, decision, gaveUp);
      entry.details = { current: decision.current, claimedTimeline: decision.claimedTimeline, fencing };
      entry.page = true;
      if (fencing.result === 'scheduled') entry.fence = true;
      break;
    }
    case 'unverified_claim':
      entry.page = true;
      break;
    case 'system_identifier_mismatch':
      entry.details = { expected: decision.expected, got: decision.got };
      entry.page = true;
      break;
    case 'accepted':
      entry.details = { previousPrimary: decision.previousPrimary, kind: decision.kind };
      break;
  }
  return entry;
}

/** Dry run: the decision, and for a winning claim the desired targets. Pure: no read of AWS, no write. */
function planOnly(endpoints: EndpointConfig, target: EndpointTarget, decision: Decision): EventAnswer {
  if (decision.outcome !== 'accepted') {
    const body: DryRunAnswer = {
      code: decision.outcome,
      decision: decision.outcome === 'ignored' ? DecisionWord.Ignored : DecisionWord.Rejected,
      message: `dry run: ${decision.reason}`,
      dryRun: true,
    };
    return decision.outcome === 'ignored' ? { status: 200, body } : { status: 409, body };
  }
  return {
    status: 200,
    body: {
      code: AnswerCode.DryRun,
      decision: DecisionWord.Accepted,
      message: `dry run: ${decision.reason}; nothing was changed`,
      dryRun: true,
      epoch: decision.epoch,
      primary: decision.primary,
      timeline: decision.timeline,
      actions: desiredTargets(endpoints, target),
    },
  };
}

/** Every target the endpoint config names, and what it should point at for `target`. */
export function desiredTargets(endpoints: EndpointConfig, target: EndpointTarget): { mechanism: string; target: string; to: string; result: 'planned' }[] {
  const eni = target.primary.eni;
  const planned: { mechanism: string; target: string; to: string; result: 'planned' }[] = [];
  for (const id of endpoints.routeTables?.routeTableIds ?? []) planned.push({ mechanism: 'route_table', target: `${id} ${endpoints.routeTables!.vip}/32`, to: eni, result: 'planned' });
  if (endpoints.elasticIp) planned.push({ mechanism: 'elastic_ip', target: endpoints.elasticIp.allocationId, to: eni, result: 'planned' });
  if (endpoints.secondaryIp) planned.push({ mechanism: 'secondary_ip', target: endpoints.secondaryIp.address, to: eni, result: 'planned' });
  if (endpoints.route53) {
    const zone = endpoints.route53.hostedZoneId;
    planned.push({ mechanism: 'route53_writer', target: `${zone} ${endpoints.route53.writerRecord} A`, to: target.primary.privateIp ?? '', result: 'planned' });
    if (endpoints.route53.readerRecord) {
      const ips = [...new Set(target.replicas.map((r) => r.privateIp).filter((ip): ip is string => !!ip))].sort();
      planned.push({ mechanism: 'route53_reader', target: `${zone} ${endpoints.route53.readerRecord} A`, to: ips.join(','), result: 'planned' });
    }
  }
  return planned;
}
