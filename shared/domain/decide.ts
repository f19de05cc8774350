import { classify, EventKind } from './classify';
import type { ClusterState, NodeRecord } from './cluster';
import type { VipEvent } from './event';

/** The outcome of checking one event against the cluster's fencing record. */
export type Decision =
  | {
      outcome: 'accepted';
      /** `claim`: a newer timeline or the first primary; `reassertion`: the recorded primary, same timeline. */
      kind: 'claim' | 'reassertion';
      primary: string;
      timeline: number;
      /** The epoch this claim will hold once committed (current + 1). */
      epoch: number;
      previousPrimary: string | null;
      /** The system identifier to pin when the cluster has none yet. */
      systemIdentifier: string | null;
      reason: string;
    }
  /** `reassertion`: the recorded primary on its own timeline, nothing to do (no epoch bump, no actuation). */
  | { outcome: 'ignored'; kind: EventKind | 'reassertion'; reason: string }
  | { outcome: 'stale_claim'; reason: string; current: { primary: string | null; timeline: number; epoch: number }; claimedTimeline: number }
  | { outcome: 'unverified_claim'; reason: string }
  | { outcome: 'system_identifier_mismatch'; reason: string; expected: string; got: string };

export type DecisionOutcome = Decision['outcome'];

/** What the actuator last reported for the cluster's endpoint: whether its latest convergence failed. */
export interface EndpointPhase {
  /** The epoch the actuator last worked for, and how that ended (`converging` while under way). */
  epoch: number;
  phase: 'converging' | 'converged' | 'failed';
}

/**
 * The fencing decision (DESIGN.md, "Fencing"): pure, no I/O. The store applies an `accepted` decision with a
 * conditional write that re-checks the same rule against the stored item, so a decision taken on a stale read
 * can lose the race but can never win it wrongly.
 */
export function decide(state: ClusterState, node: NodeRecord, event: VipEvent, endpoint: EndpointPhase | null = null): Decision {
  const facts = event.facts;
  if (facts?.systemIdentifier && state.systemIdentifier && facts.systemIdentifier !== state.systemIdentifier) {
    return {
      outcome: 'system_identifier_mismatch',
      reason: `node ${node.name} reports system identifier ${facts.systemIdentifier}, the cluster's is ${state.systemIdentifier}`,
      expected: state.systemIdentifier,
      got: facts.systemIdentifier,
    };
  }
  const kind = classify(event);
  if (kind === EventKind.UnverifiedClaim) {
    return {
      outcome: 'unverified_claim',
      reason:
        facts === null
          ? `${event.type} from ${node.name} claims primary but carries no facts (local probe failed); confirm it explicitly`
          : facts.inRecovery
            ? `${event.type} from ${node.name} claims primary but the node is still in recovery`
            : `${event.type} from ${node.name} is out of recovery but reported no ${facts.timeline === null ? 'timeline' : 'system identifier'}`,
    };
  }
  if (kind !== EventKind.PrimaryAssertion || facts === null || facts.timeline === null) {
    return { outcome: 'ignored', kind, reason: `${kind} event ${event.type} from ${node.name}: nothing to move` };
  }
  const timeline = facts.timeline;
  const current = { primary: state.primary, timeline: state.timeline, epoch: state.epoch };
  if (node.fenced) {
    return { outcome: 'stale_claim', reason: `node ${node.name} is fenced: its claims never win`, current, claimedTimeline: timeline };
  }
  const systemIdentifier = state.systemIdentifier ?? facts.systemIdentifier;
  if (timeline > state.timeline || state.primary === null) {
    if (timeline < state.timeline) {
      return staleClaim(node, timeline, current);
    }
    return {
      outcome: 'accepted',
      kind: 'claim',
      primary: node.name,
      timeline,
      epoch: state.epoch + 1,
      previousPrimary: state.primary,
      systemIdentifier,
      reason: state.primary === null ? `first primary: ${node.name} on timeline ${timeline}` : `${node.name} on timeline ${timeline} supersedes ${state.primary} on timeline ${state.timeline}`,
    };
  }
  if (timeline === state.timeline && node.name === state.primary) {
    // The primary re-asserting itself (repmgrd_start, on_reload...) changes nothing: no epoch bump, no actuation. Only
    // when the actuator's last attempt for this epoch failed does a re-assertion commit again, to trigger a new attempt.
    const failed = endpoint !== null && endpoint.epoch === state.epoch && endpoint.phase === 'failed' && state.appliedEpoch < state.epoch;
    if (!failed) {
      return { outcome: 'ignored', kind: 'reassertion', reason: `${node.name} re-asserts primary on timeline ${timeline} (epoch ${state.epoch}): nothing to move` };
    }
    return {
      outcome: 'accepted',
      kind: 'reassertion',
      primary: node.name,
      timeline,
      epoch: state.epoch + 1,
      previousPrimary: state.primary,
      systemIdentifier,
      reason: `${node.name} re-asserts primary on timeline ${timeline}; the last endpoint move failed: moving again`,
    };
  }
  return staleClaim(node, timeline, current);
}

function staleClaim(node: NodeRecord, timeline: number, current: { primary: string | null; timeline: number; epoch: number }): Decision {
  return {
    outcome: 'stale_claim',
    reason: `${node.name} claims primary on timeline ${timeline}, but ${current.primary ?? 'no node'} holds timeline ${current.timeline} (epoch ${current.epoch}): possible split brain`,
    current,
    claimedTimeline: timeline,
  };
}
