import fc from 'fast-check';
import type { ClusterState, NodeRecord } from '../../shared/domain/cluster';
import { decide, type Decision } from '../../shared/domain/decide';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import { applyDecision, emptyClusterState, nodeRecord } from '../support/peers';

const NODES = ['node1', 'node2', 'node3', 'node4'] as const;
const SYSTEM_ID = '7710811430681400266';
const OTHER_SYSTEM_ID = '7710812560328581857';

const factsArb: fc.Arbitrary<NodeFacts | null> = fc.option(
  fc.record({
    inRecovery: fc.boolean(),
    timeline: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
    lsn: fc.constantFrom('0/5053510', '0/50524C8', null),
    // mostly this cluster's identity, sometimes another's or none
    systemIdentifier: fc.oneof({ weight: 8, arbitrary: fc.constant(SYSTEM_ID) }, { weight: 1, arbitrary: fc.constant(OTHER_SYSTEM_ID) }, { weight: 1, arbitrary: fc.constant(null) }),
  }),
  { nil: null, freq: 6 },
);

const repmgrEventArb = fc.record({
  source: fc.constant('repmgr' as const),
  type: fc.constantFrom('standby_promote', 'repmgrd_failover_promote', 'standby_switchover', 'repmgrd_start', 'standby_follow', 'child_node_new_connect', 'standby_failure', 'node_rejoin'),
  role: fc.constant(null),
  success: fc.boolean(),
});
const patroniEventArb = fc.record({
  source: fc.constant('patroni' as const),
  type: fc.constantFrom('on_start', 'on_stop', 'on_restart', 'on_reload', 'on_role_change'),
  role: fc.constantFrom('master', 'primary', 'replica', 'demoted', 'standby_leader'),
  success: fc.constant(true),
});

interface Step {
  node: (typeof NODES)[number];
  event: VipEvent;
}

const stepArb: fc.Arbitrary<Step> = fc
  .record({ node: fc.constantFrom(...NODES), label: fc.oneof(repmgrEventArb, patroniEventArb), facts: factsArb, n: fc.nat() })
  .map(({ node, label, facts, n }) => ({
    node,
    event: { v: 1, id: `e${n}`, cluster: 'pg-main', node, ...label, occurredAt: '2026-11-22T02:08:22.720Z', details: '', facts, raw: { argv: [] } },
  }));

const scenarioArb = fc.record({
  fenced: fc.subarray([...NODES], { maxLength: 2 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 40 }),
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

interface Transition {
  before: ClusterState;
  node: NodeRecord;
  event: VipEvent;
  decision: Decision;
  after: ClusterState;
}

/** Runs one scenario from an empty cluster, applying accepted decisions as the store would. */
function run(fenced: readonly string[], steps: readonly Step[]): Transition[] {
  const registry = new Map(NODES.map((name) => [name, deepFreeze(nodeRecord(name, { fenced: fenced.includes(name) }))]));
  let state = deepFreeze(emptyClusterState());
  const transitions: Transition[] = [];
  for (const { node: name, event } of steps) {
    const node = registry.get(name)!;
    const decision = decide(state, node, deepFreeze(event)); // frozen inputs: decide must not mutate them
    const after = deepFreeze(applyDecision(state, decision));
    transitions.push({ before: state, node, event, decision, after });
    state = after;
  }
  return transitions;
}

const forAllScenarios = (check: (transitions: Transition[]) => void): void =>
  fc.assert(
    fc.property(scenarioArb, ({ fenced, steps }) => check(run(fenced, steps))),
    { numRuns: 400 },
  );

describe('decide (properties over random event sequences)', () => {
  it('epoch never decreases, and grows by exactly 1 per accepted decision', () => {
    forAllScenarios((transitions) => {
      for (const { before, decision, after } of transitions) {
        expect(after.epoch).toBe(before.epoch + (decision.outcome === 'accepted' ? 1 : 0));
      }
      const last = transitions[transitions.length - 1]!;
      expect(last.after.epoch).toBe(transitions.filter((t) => t.decision.outcome === 'accepted').length);
    });
  });

  it('the recorded timeline never decreases', () => {
    forAllScenarios((transitions) => {
      for (const { before, after } of transitions) expect(after.timeline).toBeGreaterThanOrEqual(before.timeline);
    });
  });

  it('an accepted claim is newer or equal, from an unfenced node out of recovery, with its own facts and this cluster’s identity', () => {
    forAllScenarios((transitions) => {
      for (const { before, node, event, decision } of transitions) {
        if (decision.outcome !== 'accepted') continue;
        expect(node.fenced).toBe(false);
        expect(event.facts).not.toBeNull();
        expect(event.facts!.inRecovery).toBe(false);
        expect(decision.timeline).toBe(event.facts!.timeline);
        expect(decision.timeline).toBeGreaterThanOrEqual(before.timeline);
        expect(decision.primary).toBe(node.name);
        expect(decision.previousPrimary).toBe(before.primary);
        expect(event.facts!.systemIdentifier).toBe(before.systemIdentifier ?? event.facts!.systemIdentifier);
        expect(event.facts!.systemIdentifier).not.toBeNull();
        if (decision.kind === 'reassertion') {
          expect([decision.primary, decision.timeline]).toEqual([before.primary, before.timeline]);
        } else {
          expect(before.primary === null || decision.timeline > before.timeline).toBe(true);
        }
      }
    });
  });

  it('a stale claim never changes state, and reports the state it lost against', () => {
    forAllScenarios((transitions) => {
      for (const { before, decision, after } of transitions) {
        if (decision.outcome !== 'stale_claim') continue;
        expect(after).toBe(before);
        expect(decision.current).toEqual({ primary: before.primary, timeline: before.timeline, epoch: before.epoch });
      }
    });
  });

  it('accepts exactly when the DESIGN’s conditional write would succeed', () => {
    forAllScenarios((transitions) => {
      for (const { before, node, event, decision } of transitions) {
        const f = event.facts;
        const wins =
          !node.fenced &&
          f !== null &&
          !f.inRecovery &&
          f.timeline !== null &&
          f.systemIdentifier !== null &&
          (before.systemIdentifier === null || f.systemIdentifier === before.systemIdentifier) &&
          (f.timeline > before.timeline || (f.timeline === before.timeline && node.name === before.primary));
        expect(decision.outcome === 'accepted').toBe(wins);
      }
    });
  });

  it('once a primary is recorded, only one node holds it at a time and a loser is answered, never ignored', () => {
    forAllScenarios((transitions) => {
      for (const { before, node, event, decision } of transitions) {
        const f = event.facts;
        const sameCluster = f !== null && f.systemIdentifier !== null && f.systemIdentifier === (before.systemIdentifier ?? f.systemIdentifier);
        const assertsPrimary = sameCluster && !f.inRecovery && f.timeline !== null;
        // a node of this cluster out of recovery with usable facts is never silently ignored
        if (assertsPrimary) expect(['accepted', 'stale_claim']).toContain(decision.outcome);
        if (assertsPrimary && before.primary !== null && before.primary !== node.name && f.timeline! <= before.timeline) {
          expect(decision.outcome).toBe('stale_claim');
        }
      }
    });
  });
});
