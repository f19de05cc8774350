import { classify, EventKind } from './classify';
import type { ClusterState, NodeRecord, Tool } from './cluster';
import { isPgpoolFacts, postgresFacts, type VipEvent } from './event';
import { describeWatchdogFacts, isQuorumBackedLeader } from './watchdog-info';

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
  /**
   * `reassertion`: the recorded primary on its own timeline, nothing to do (no epoch bump, no actuation).
   * `role_disagreement` (keepalived MASTER on a standby) carries the fencing record it left untouched, for the page.
   */
  | { outcome: 'ignored'; kind: EventKind | 'reassertion'; reason: string; current?: { primary: string | null; timeline: number; epoch: number } }
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

/** What the decision needs besides the fencing record: the cluster's tool, and the API's clock (pgpool tokens). */
export interface DecideContext {
  /** The registered tool: a pgpool cluster takes only watchdog claims, any other cluster never takes one. */
  tool?: Tool;
  /** When the API received the event: a leadership token ahead of it by more than {@link MAX_TOKEN_AHEAD_MS} is refused. */
  now?: Date;
}

/**
 * How far a Pgpool-II leadership token (the node's clock) may be ahead of the API's clock. Two leaderships are ordered
 * correctly as long as the nodes' clocks disagree by less than the time between them (an election alone took 2.1 s or
 * more, findings §7); refusing tokens from the future makes a node whose clock runs fast fail loudly on its first claim
 * instead of winning a later, delayed one.
 */
export const MAX_TOKEN_AHEAD_MS = 1000;

/**
 * The fencing decision (DESIGN.md, "Fencing"): pure, no I/O. The store applies an `accepted` decision with a
 * conditional write that re-checks the same rule against the stored item, so a decision taken on a stale read
 * can lose the race but can never win it wrongly. For Pgpool-II clusters the ordering key stored as `timeline` is
 * the leadership token (see {@link decidePgpool}).
 */
export function decide(state: ClusterState, node: NodeRecord, event: VipEvent, endpoint: EndpointPhase | null = null, context: DecideContext = {}): Decision {
  const pgpoolEvent = event.source === 'pgpool' || isPgpoolFacts(event.facts);
  if (context.tool !== undefined && (context.tool === 'pgpool') !== pgpoolEvent) {
    // Never mix orderings: a token (Unix ms) would beat every timeline, a timeline would never beat a token.
    const reason =
      context.tool === 'pgpool'
        ? `${event.source} event ${event.type} from ${node.name}: in a pgpool cluster the endpoint follows the watchdog leader, only vipswitch-hook pgpool calls move it`
        : `pgpool event ${event.type} from ${node.name}: this cluster's tool is ${context.tool}, watchdog claims never move its endpoint`;
    return { outcome: 'ignored', kind: EventKind.Informational, reason };
  }
  if (pgpoolEvent) return decidePgpool(state, node, event, endpoint, context.now ?? null);
  const facts = postgresFacts(event.facts);
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
  if (kind === EventKind.RoleDisagreement) {
    const current = { primary: state.primary, timeline: state.timeline, epoch: state.epoch };
    return {
      outcome: 'ignored',
      kind,
      reason: `${event.source} made ${node.name} ${event.type.toUpperCase()} but its PostgreSQL is in recovery (timeline ${facts?.timeline ?? '?'}): ${event.source} and PostgreSQL disagree; the endpoint stays on ${state.primary ?? 'no node'}`,
      current,
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

/**
 * The Pgpool-II rule (shared/peers/pgpool/findings.md §8–§10). The endpoint follows the watchdog leader:
 * - `if_down` / `de_escalation` never claim and never move anything: an old leader's `if_down_cmd` can run seconds
 *   after the new leader's `if_up_cmd` (11.5 s in scenario h);
 * - `if_up` / `escalation` claim only from the quorum-backed leader (leader, quorum, escalated, with a token); any
 *   other view, or no answer from pcp, is an unverified claim: nothing moves, journaled and paged;
 * - claims are ordered by the leadership token the hook minted (Unix ms by the node's clock, strictly increasing per
 *   node), stored in the fencing record's `timeline` slot, so the same conditional write orders them: a newer token
 *   wins, the recorded leader re-asserting its own token changes nothing, an older token from another node is a
 *   stale claim (a delayed claim of an earlier leader, or a split brain).
 */
export function decidePgpool(state: ClusterState, node: NodeRecord, event: VipEvent, endpoint: EndpointPhase | null, now: Date | null): Decision {
  const kind = classify(event);
  if (kind !== EventKind.PrimaryAssertion && kind !== EventKind.UnverifiedClaim) {
    return { outcome: 'ignored', kind, reason: `pgpool ${event.type} from ${node.name}: ${event.success ? 'not a claim' : 'failed'}, nothing to move (the endpoint follows the next leader's claim)` };
  }
  const watchdog = isPgpoolFacts(event.facts) ? event.facts.watchdog : null;
  if (watchdog === null) {
    return { outcome: 'unverified_claim', reason: `pgpool ${event.type} from ${node.name} carries no watchdog facts (pcp_watchdog_info gave no answer): it cannot show it is the quorum-backed leader` };
  }
  if (!isQuorumBackedLeader(watchdog) || watchdog.token === null) {
    return { outcome: 'unverified_claim', reason: `pgpool ${event.type} from ${node.name}, but its watchdog shows ${describeWatchdogFacts(watchdog)}: not the quorum-backed leader, nothing moves` };
  }
  const token = watchdog.token;
  if (now !== null && token > now.getTime() + MAX_TOKEN_AHEAD_MS) {
    return {
      outcome: 'unverified_claim',
      reason: `pgpool ${event.type} from ${node.name} has a leadership token ${token - now.getTime()} ms ahead of the API's clock (more than ${MAX_TOKEN_AHEAD_MS} ms): check the node's clock (chrony); nothing moves`,
    };
  }
  const current = { primary: state.primary, timeline: state.timeline, epoch: state.epoch };
  if (node.fenced) return { outcome: 'stale_claim', reason: `node ${node.name} is fenced: its claims never win`, current, claimedTimeline: token };
  if (token > state.timeline || state.primary === null) {
    if (token < state.timeline) return staleLeaderClaim(node, token, current);
    return {
      outcome: 'accepted',
      kind: 'claim',
      primary: node.name,
      timeline: token,
      epoch: state.epoch + 1,
      previousPrimary: state.primary,
      systemIdentifier: state.systemIdentifier,
      reason:
        state.primary === null
          ? `first watchdog leader: ${node.name} (leadership token ${token})`
          : state.primary === node.name
            ? `${node.name} leads again (leadership token ${token} after ${state.timeline})`
            : `${node.name} is the quorum-backed watchdog leader (leadership token ${token}), after ${state.primary} (${state.timeline})`,
    };
  }
  if (token === state.timeline && node.name === state.primary) {
    const failed = endpoint !== null && endpoint.epoch === state.epoch && endpoint.phase === 'failed' && state.appliedEpoch < state.epoch;
    if (!failed) return { outcome: 'ignored', kind: 'reassertion', reason: `${node.name} re-asserts its leadership (token ${token}, epoch ${state.epoch}): nothing to move` };
    return {
      outcome: 'accepted',
      kind: 'reassertion',
      primary: node.name,
      timeline: token,
      epoch: state.epoch + 1,
      previousPrimary: state.primary,
      systemIdentifier: state.systemIdentifier,
      reason: `${node.name} re-asserts its leadership (token ${token}); the last endpoint move failed: moving again`,
    };
  }
  return staleLeaderClaim(node, token, current);
}

function staleLeaderClaim(node: NodeRecord, token: number, current: { primary: string | null; timeline: number; epoch: number }): Decision {
  return {
    outcome: 'stale_claim',
    reason: `${node.name} claims the watchdog leadership with token ${token}, but ${current.primary ?? 'no node'} holds the newer token ${current.timeline} (epoch ${current.epoch}): a delayed claim of an earlier leader, or a split brain`,
    current,
    claimedTimeline: token,
  };
}
