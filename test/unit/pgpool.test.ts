/**
 * pgpool mode, from the Pgpool-II 4.3.5 captures (shared/peers/pgpool, copied into test/fixtures/peers): argv, the
 * `pcp_watchdog_info -v` text, the quorum-backed-leader test, and the decision: claims only from that leader, ordered by
 * the leadership token, releases never moving anything, out-of-order delivery ending on the newer leader.
 */
import fc from 'fast-check';
import { pageForEntry } from '../../shared/app/pages';
import { processEvent } from '../../shared/app/process-event';
import { classify, EventKind } from '../../shared/domain/classify';
import type { ClusterState } from '../../shared/domain/cluster';
import { decide, MAX_TOKEN_AHEAD_MS, type Decision } from '../../shared/domain/decide';
import { ArgvError } from '../../shared/domain/errors';
import type { NodeFacts, VipEvent, WatchdogFacts } from '../../shared/domain/event';
import { healthFromEvent } from '../../shared/domain/health';
import { parsePgpoolArgv } from '../../shared/domain/pgpool-argv';
import { isQuorumBackedLeader, parseWatchdogInfo, watchdogFacts } from '../../shared/domain/watchdog-info';
import { buildEvent } from '../../shared/protocol/build-event';
import { parseVipEvent } from '../../shared/protocol/event-schema';
import { parseClusterFile } from '../../shared/config/cluster-config';
import { ConfigError } from '../../shared/domain/errors';
import { memberWithKey, storeWithCluster } from '../support/in-memory-cluster-store';
import { loadPgpoolInvocations, loadWatchdogPolls, type PgpoolInvocation } from '../support/peer-captures';
import { applyDecision, emptyClusterState, nodeRecord } from '../support/peers';

const captures = loadPgpoolInvocations();
const byLine = (line: number): PgpoolInvocation => {
  const found = captures.find((c) => c.line === line);
  if (!found) throw new Error(`no invocation at L${line}`);
  return found;
};
const NODES = ['pgpool0', 'pgpool1', 'pgpool2'];
const CLAIM_KINDS = ['wd_escalation_command', 'if_up_cmd'];
const RELEASE_KINDS = ['wd_de_escalation_command', 'if_down_cmd'];
const wired = captures.filter((c) => c.args !== null);

/** The facts the hook would send for a capture: the watchdog's view, and (leader with quorum, on a claim) a token. */
function factsOf(c: PgpoolInvocation): WatchdogFacts | null {
  const info = c.pcpVerbose === null ? null : parseWatchdogInfo(c.pcpVerbose);
  if (info === null) return null;
  const facts = watchdogFacts(info);
  const claim = CLAIM_KINDS.includes(c.cmdKind);
  // The hook reads its clock right before the probe: the capture's pcp start time is that moment.
  return claim && isQuorumBackedLeader(facts) ? { ...facts, token: c.pcpStartMs } : facts;
}

function eventOf(c: PgpoolInvocation, overrides: { facts?: WatchdogFacts | null; id?: string } = {}): VipEvent {
  const facts = overrides.facts === undefined ? factsOf(c) : overrides.facts;
  return buildEvent('pgpool', c.args!, { cluster: 'pg-pool', node: c.node }, facts === null ? null : { watchdog: facts }, new Date(c.invokedMs), overrides.id ?? `pgpool-L${c.line}`);
}

const LEADER: WatchdogFacts = { leader: true, quorum: true, escalated: true, token: null, localState: 'LEADER', quorumState: 'QUORUM EXIST' };
const context = (now?: Date) => ({ tool: 'pgpool' as const, ...(now ? { now } : {}) });

describe('parsePgpoolArgv', () => {
  it('reads every captured watchdog command as wired (up/down $_IP_$, escalation/de-escalation with the "$" sh left)', () => {
    for (const c of wired) {
      const call = parsePgpoolArgv(c.args!);
      expect(call.command).toBe({ if_up_cmd: 'if_up', if_down_cmd: 'if_down', wd_escalation_command: 'escalation', wd_de_escalation_command: 'de_escalation' }[c.cmdKind]);
      expect(call.vip).toBe(c.cmdKind.startsWith('if_') ? '127.0.77.77' : null);
    }
    expect(wired.map((c) => c.cmdKind).filter((k) => k === 'if_up_cmd')).toHaveLength(12);
    // The captured escalation argv (L1): the shell turned $_IP_$ into "$".
    expect(byLine(1).argv[2]).toBe('$');
  });

  it('drops the empty words two spaces make and takes the keywords of pgpool.conf too', () => {
    expect(parsePgpoolArgv(['up', '', '10.0.1.100'])).toEqual({ command: 'if_up', vip: '10.0.1.100' });
    expect(parsePgpoolArgv(['if_down_cmd', '10.0.1.100'])).toEqual({ command: 'if_down', vip: '10.0.1.100' });
    expect(parsePgpoolArgv(['wd_de_escalation_command'])).toEqual({ command: 'de_escalation', vip: null });
  });

  it.each([
    [[], 'command'],
    [['promote'], 'command'],
    [['up'], '$_IP_$'],
    [['up', '$_IP_$'], '$_IP_$'],
    [['up', '10.0.1.100/32'], '$_IP_$'],
    // The probe tokens of the lab's if_up_cmd: pgpool passes quotes literally (no shell), so they are extra words.
    [['up', ...byLine(2).argv.slice(2)], 'argv'],
    [['escalation', 'two words'], 'argv'],
  ])('refuses %j (ArgvError on %s)', (args, field) => {
    let error: unknown;
    try {
      parsePgpoolArgv(args);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ArgvError);
    expect((error as ArgvError).field).toBe(field);
  });
});

describe('parseWatchdogInfo (pcp_watchdog_info -v)', () => {
  it('parses every captured answer as the capture script did: cluster fields, one block per node, the local node first', () => {
    const answered = captures.filter((c) => c.pcpVerbose !== null);
    expect(answered.length).toBeGreaterThan(40);
    for (const c of answered) expect(parseWatchdogInfo(c.pcpVerbose!)).toEqual(c.pcpParsed);
    expect(parseWatchdogInfo(byLine(2).pcpVerbose!)!.nodes[0]).toMatchObject({ 'Node Name': '127.0.0.1:29990 Linux vm', 'Status Name': 'LEADER' });
  });

  it('returns null for what is not that text (the one-line form, an error, nothing)', () => {
    expect(parseWatchdogInfo('')).toBeNull();
    expect(parseWatchdogInfo('3 3 YES 127.0.0.1:29990 Linux vm 127.0.0.1\n\n127.0.0.1:29990 Linux vm 127.0.0.1 29990 29000 4 LEADER 0 MEMBER\n')).toBeNull();
    expect(parseWatchdogInfo('ERROR: unable to read data from socket.\n')).toBeNull();
    expect(parseWatchdogInfo('Watchdog Cluster Information \nTotal Nodes              : 3\n')).toBeNull();
  });
});

describe('the quorum-backed leader (findings §8)', () => {
  it('held at every escalation and if_up_cmd (12 + 12), and at the leader\'s failover commands', () => {
    const claims = captures.filter((c) => CLAIM_KINDS.includes(c.cmdKind));
    expect(claims).toHaveLength(24);
    for (const c of claims) expect([c.line, isQuorumBackedLeader(factsOf(c)!)]).toEqual([c.line, true]);
    for (const c of captures.filter((x) => x.cmdKind.startsWith('fail') || x.cmdKind.startsWith('follow'))) expect(isQuorumBackedLeader(factsOf(c)!)).toBe(true);
  });

  it('never held at a de-escalation that pcp answered: LEADER with QUORUM ABSENT (d, g2, h) or NO LEADER NODE (b3)', () => {
    const releases = captures.filter((c) => RELEASE_KINDS.includes(c.cmdKind));
    expect(releases).toHaveLength(18);
    const answered = releases.filter((c) => c.pcpVerbose !== null);
    expect(answered.map((c) => c.line).sort((a, b) => a - b)).toEqual([47, 48, 81, 82, 91, 92, 177, 178]);
    for (const c of answered) expect(isQuorumBackedLeader(factsOf(c)!)).toBe(false);
    // h after SIGCONT: still LEADER by its own account, but no quorum and no escalation.
    expect(factsOf(byLine(82))).toMatchObject({ leader: true, quorum: false, escalated: false, localState: 'LEADER', quorumState: 'QUORUM ABSENT' });
    expect(factsOf(byLine(48))).toMatchObject({ leader: false, quorumState: 'NO LEADER NODE', localState: 'INITIALIZING' });
    // pcp failed in the other 10 (5 de-escalations, each with its if_down_cmd): shutdowns and the main process's death.
    expect(releases.filter((c) => c.pcpVerbose === null).map((c) => c.pcpFailure)).toEqual(expect.arrayContaining(['timeout', 'ERROR: unable to read data from socket.']));
  });

  it('g2: arping after the de-escalation (L188) shows no quorum: a late if_up of that kind would not be a claim', () => {
    expect(isQuorumBackedLeader(factsOf(byLine(188))!)).toBe(false);
  });

  it('at most one node was the quorum-backed leader at any moment of the run (wd-poll.jsonl): the premise of the token order', () => {
    const polls = loadWatchdogPolls().sort((a, b) => a.atMs - b.atMs);
    const latest = new Map<number, boolean>();
    let overlaps = 0;
    for (const poll of polls) {
      latest.set(poll.node, poll.ok && poll.selfState === 'LEADER' && poll.leader === poll.node && poll.quorum === 'QUORUM EXIST' && poll.escalated === 'YES');
      if ([...latest.values()].filter(Boolean).length > 1) overlaps++;
    }
    expect(polls.length).toBeGreaterThan(100);
    expect(overlaps).toBe(0);
  });
});

describe('decide for pgpool clusters', () => {
  const pgpoolState = (overrides: Partial<ClusterState> = {}): ClusterState => ({ ...emptyClusterState('pg-pool'), ...overrides });

  it('accepts the first leader with quorum, its token in the timeline slot, and no system identifier', () => {
    const decision = decide(pgpoolState(), nodeRecord('pgpool0'), eventOf(byLine(2)), null, context());
    expect(decision).toMatchObject({ outcome: 'accepted', kind: 'claim', primary: 'pgpool0', timeline: byLine(2).pcpStartMs, epoch: 1, systemIdentifier: null });
    expect(classify(eventOf(byLine(2)))).toBe(EventKind.PrimaryAssertion);
  });

  it('never takes a claim from a node that is not the quorum-backed leader, nor one without watchdog facts: unverified, paged', () => {
    const state = pgpoolState({ primary: 'pgpool2', timeline: byLine(70).pcpStartMs!, epoch: 5 });
    const quorumAbsent = eventOf(byLine(92), { facts: { ...factsOf(byLine(92))!, token: Date.now() } });
    const asUp = buildEvent('pgpool', ['up', '127.0.77.77'], { cluster: 'pg-pool', node: 'pgpool2' }, { watchdog: factsOf(byLine(92))! }, new Date(), 'pgpool-up-quorum-absent');
    const noFacts = buildEvent('pgpool', ['up', '127.0.77.77'], { cluster: 'pg-pool', node: 'pgpool0' }, null, new Date(), 'pgpool-up-no-facts');
    const standby = buildEvent('pgpool', ['escalation'], { cluster: 'pg-pool', node: 'pgpool1' }, { watchdog: { ...LEADER, leader: false, localState: 'STANDBY', token: null } }, new Date(), 'pgpool-esc-standby');

    expect(decide(state, nodeRecord('pgpool2'), asUp, null, context())).toMatchObject({ outcome: 'unverified_claim', reason: expect.stringMatching(/state LEADER \(leader\), QUORUM ABSENT, escalation NO: not the quorum-backed leader/) });
    expect(decide(state, nodeRecord('pgpool0'), noFacts, null, context())).toMatchObject({ outcome: 'unverified_claim', reason: expect.stringMatching(/pcp_watchdog_info gave no answer/) });
    expect(decide(state, nodeRecord('pgpool1'), standby, null, context())).toMatchObject({ outcome: 'unverified_claim' });
    // A release is never a claim, whatever its facts.
    expect(decide(state, nodeRecord('pgpool2'), quorumAbsent, null, context())).toMatchObject({ outcome: 'ignored', kind: 'informational' });
  });

  it('refuses a token from the future (the node\'s clock runs fast): unverified, says to check the clock', () => {
    const now = new Date('2026-11-30T16:30:00.000Z');
    const ahead = buildEvent('pgpool', ['up', '10.0.1.100'], { cluster: 'pg-pool', node: 'pgpool1' }, { watchdog: { ...LEADER, token: now.getTime() + MAX_TOKEN_AHEAD_MS + 1 } }, now, 'pgpool-ahead');
    const justIn = buildEvent('pgpool', ['up', '10.0.1.100'], { cluster: 'pg-pool', node: 'pgpool1' }, { watchdog: { ...LEADER, token: now.getTime() + MAX_TOKEN_AHEAD_MS } }, now, 'pgpool-just-in');

    expect(decide(pgpoolState(), nodeRecord('pgpool1'), ahead, null, context(now))).toMatchObject({ outcome: 'unverified_claim', reason: expect.stringMatching(/ahead of the API's clock.*check the node's clock/) });
    expect(decide(pgpoolState(), nodeRecord('pgpool1'), justIn, null, context(now))).toMatchObject({ outcome: 'accepted' });
  });

  it('h: the new leader\'s if_up (L70) and the thawed old leader\'s if_down 11.5 s later (L82), in either order, end on the new leader', () => {
    const start = pgpoolState({ primary: 'pgpool0', timeline: byLine(58).pcpStartMs!, epoch: 4, appliedEpoch: 4 });
    const up = { node: 'pgpool2', event: eventOf(byLine(70)) };
    const down = { node: 'pgpool0', event: eventOf(byLine(82)) };
    for (const order of [[up, down], [down, up]]) {
      let state = start;
      for (const { node, event } of order) state = applyDecision(state, decide(state, nodeRecord(node), event, null, context()));
      expect(state).toMatchObject({ primary: 'pgpool2', timeline: byLine(70).pcpStartMs, epoch: 5 });
    }
  });

  it('an old leader\'s claim delivered late (spooled while the new leader claimed) is a stale claim: nothing moves', () => {
    const afterB1 = pgpoolState({ primary: 'pgpool2', timeline: byLine(14).pcpStartMs!, epoch: 2 });
    const late = decide(afterB1, nodeRecord('pgpool0'), eventOf(byLine(2)), null, context());
    expect(late).toMatchObject({ outcome: 'stale_claim', claimedTimeline: byLine(2).pcpStartMs, current: { primary: 'pgpool2', epoch: 2 } });
    expect((late as { reason: string }).reason).toMatch(/a delayed claim of an earlier leader, or a split brain/);
  });

  it('the same leader again (d: quorum lost, regained, no election) leads again with its newer token; its own token again is a re-assertion', () => {
    const state = pgpoolState({ primary: 'pgpool2', timeline: byLine(70).pcpStartMs!, epoch: 5, appliedEpoch: 5 });
    const again = decide(state, nodeRecord('pgpool2'), eventOf(byLine(102)), null, context());
    expect(again).toMatchObject({ outcome: 'accepted', primary: 'pgpool2', epoch: 6, reason: expect.stringMatching(/pgpool2 leads again/) });
    const resent = decide(applyDecision(state, again), nodeRecord('pgpool2'), eventOf(byLine(102), { id: 'pgpool-L102-resent' }), null, context());
    expect(resent).toMatchObject({ outcome: 'ignored', kind: 'reassertion' });
    // ...unless the last move for that epoch failed: then it commits again, to move again.
    const failed = decide({ ...applyDecision(state, again), appliedEpoch: 5 }, nodeRecord('pgpool2'), eventOf(byLine(102)), { epoch: 6, phase: 'failed' }, context());
    expect(failed).toMatchObject({ outcome: 'accepted', kind: 'reassertion', epoch: 7 });
  });

  it('never mixes orderings: a watchdog claim in a repmgr cluster, and a PostgreSQL claim in a pgpool cluster, move nothing', () => {
    const pgClaim: NodeFacts = { inRecovery: false, timeline: 9, lsn: '0/3000060', systemIdentifier: '7710811430681400266' };
    const repmgrEvent = buildEvent('repmgr', ['1', 'standby_promote', '1', '2026-11-30 16:20:00+00'], { cluster: 'pg-pool', node: 'pgpool0' }, pgClaim, new Date(), 'repmgr-in-pgpool');
    expect(decide(pgpoolState(), nodeRecord('pgpool0'), repmgrEvent, null, context())).toMatchObject({ outcome: 'ignored', reason: expect.stringMatching(/only vipswitch-hook pgpool calls move it/) });
    expect(decide(pgpoolState(), nodeRecord('pgpool0'), eventOf(byLine(2)), null, { tool: 'repmgr' })).toMatchObject({ outcome: 'ignored', reason: expect.stringMatching(/watchdog claims never move its endpoint/) });
  });

  it('replays the run in time order (if_up / if_down, as the README wires it): each new leader wins, no release moves, ends on pgpool1 (g4)', () => {
    const sequence = wired.filter((c) => c.cmdKind.startsWith('if_')).sort((a, b) => a.invokedMs - b.invokedMs);
    let state = pgpoolState();
    const winners: string[] = [];
    for (const c of sequence) {
      const decision = decide(state, nodeRecord(c.node), eventOf(c), null, context());
      if (c.cmdKind === 'if_down_cmd') expect(decision.outcome).toBe('ignored');
      if (decision.outcome === 'accepted') winners.push(c.node);
      else if (c.cmdKind === 'if_up_cmd') throw new Error(`L${c.line}: ${decision.outcome}`);
      state = applyDecision(state, decision);
    }
    expect(winners).toEqual(['pgpool0', 'pgpool2', 'pgpool1', 'pgpool0', 'pgpool2', 'pgpool2', 'pgpool0', 'pgpool1', 'pgpool2', 'pgpool2', 'pgpool0', 'pgpool1']);
    expect(state).toMatchObject({ primary: 'pgpool1', epoch: 12 });
  });

  it('with both pairs wired, the escalation and if_up of one escalation are one leader: the second leads again, same node', () => {
    const esc = byLine(13);
    const up = byLine(14);
    let state = pgpoolState({ primary: 'pgpool0', timeline: byLine(2).pcpStartMs!, epoch: 1 });
    state = applyDecision(state, decide(state, nodeRecord('pgpool2'), eventOf(esc), null, context()));
    const second = decide(state, nodeRecord('pgpool2'), eventOf(up), null, context());
    expect(second).toMatchObject({ outcome: 'accepted', primary: 'pgpool2', previousPrimary: 'pgpool2' });
  });
});

describe('out-of-order claims of successive leaders (property)', () => {
  /**
   * Leaderships follow each other at least an election apart (2.1 s or more in the captures, §7). Each claim's token is
   * its node's clock read before its probe: real time plus that node's skew (below the gap, as NTP keeps it) and a probe
   * delay. Claims are delivered in any order, some twice (a retry), with releases interleaved: the endpoint ends on
   * the newest leader, and no claim of an older leadership is ever the last one accepted.
   */
  const leadershipsArb = fc
    .array(fc.record({ node: fc.constantFrom(...NODES), gapMs: fc.integer({ min: 2100, max: 60_000 }), callsPerLeadership: fc.integer({ min: 1, max: 3 }) }), { minLength: 2, maxLength: 8 })
    .chain((leaderships) =>
      fc.record({
        leaderships: fc.constant(leaderships),
        skews: fc.record({ pgpool0: fc.integer({ min: -900, max: 900 }), pgpool1: fc.integer({ min: -900, max: 900 }), pgpool2: fc.integer({ min: -900, max: 900 }) }),
        order: fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })),
        duplicates: fc.array(fc.nat(), { maxLength: 4 }),
      }),
    );

  it('always ends on the newest leader', () => {
    fc.assert(
      fc.property(leadershipsArb, ({ leaderships, skews, order, duplicates }) => {
        const T0 = Date.UTC(2026, 10, 30, 16, 20);
        let realMs = T0;
        const deliveries: { node: string; event: VipEvent; leadership: number }[] = [];
        leaderships.forEach((l, index) => {
          realMs += l.gapMs;
          for (let call = 0; call < l.callsPerLeadership; call++) {
            const token = realMs + call * 40 + skews[l.node as keyof typeof skews];
            const type = call % 2 === 0 ? ['escalation'] : ['up', '10.0.1.100'];
            deliveries.push({ node: l.node, leadership: index, event: buildEvent('pgpool', type, { cluster: 'pg-pool', node: l.node }, { watchdog: { ...LEADER, token } }, new Date(realMs), `lead-${index}-${call}`) });
          }
          // The previous leader's release, possibly long after: never a claim.
          const previous = leaderships[index - 1];
          if (previous) deliveries.push({ node: previous.node, leadership: -1, event: buildEvent('pgpool', ['down', '10.0.1.100'], { cluster: 'pg-pool', node: previous.node }, { watchdog: { ...LEADER, leader: true, quorum: false, escalated: false, quorumState: 'QUORUM ABSENT' } }, new Date(realMs), `down-${index}`) });
        });
        for (const d of duplicates) deliveries.push(deliveries[d % deliveries.length]!);
        const keys = deliveries.map(() => order.next().value as number);
        const shuffled = deliveries.map((d, i) => ({ d, k: keys[i]! })).sort((a, b) => a.k - b.k).map(({ d }) => d);

        let state = emptyClusterState('pg-pool');
        for (const { node, event, leadership } of shuffled) {
          const decision: Decision = decide(state, nodeRecord(node), event, null, context());
          if (leadership === -1) expect(decision.outcome).toBe('ignored');
          // An older leadership's claim never wins once a newer one is recorded.
          if (decision.outcome === 'accepted' && state.primary !== null) expect(decision.timeline).toBeGreaterThan(state.timeline);
          state = applyDecision(state, decision);
        }
        expect(state.primary).toBe(leaderships[leaderships.length - 1]!.node);
        // The record holds the newest leadership's last token: a delivery after it never took it back.
        expect(state.timeline).toBe(Math.max(...deliveries.filter((d) => d.leadership >= 0).map((d) => (d.event.facts as { watchdog: WatchdogFacts }).watchdog.token!)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('pgpool health and pages', () => {
  it('a de-escalation pcp answered leaves a replica (a watchdog member); one it did not answer, stopped', () => {
    const state = emptyClusterState('pg-pool');
    const answered = eventOf(byLine(92));
    const silent = eventOf(byLine(113));
    expect(healthFromEvent(answered, decide(state, nodeRecord('pgpool2'), answered, null, context()))).toBe('replica');
    expect(silent.facts).toBeNull();
    expect(healthFromEvent(silent, decide(state, nodeRecord('pgpool2'), silent, null, context()))).toBe('stopped');
  });

  it('every wired capture makes a valid v1 event (facts in the watchdog shape, additive to v1)', () => {
    for (const c of wired) expect(parseVipEvent(JSON.parse(JSON.stringify(eventOf(c))))).toMatchObject({ ok: true });
    expect(parseVipEvent({ ...JSON.parse(JSON.stringify(eventOf(byLine(2)))), facts: { watchdog: { ...LEADER, token: 1, extra: true } } })).toMatchObject({ ok: false });
  });

  it('through processEvent: a stale leader claim is refused 409 and paged, and the stop-instance policy never fences for pgpool', async () => {
    const nodes = NODES.map((n) => memberWithKey(n, { cluster: 'pg-main', repmgrNodeId: null }));
    const store = await storeWithCluster({ config: { tool: 'pgpool' }, nodes, state: { primary: 'pgpool2', timeline: byLine(14).pcpStartMs!, epoch: 2, appliedEpoch: 2 } });
    const late = buildEvent('pgpool', byLine(2).args!, { cluster: 'pg-main', node: 'pgpool0' }, { watchdog: factsOf(byLine(2))! }, new Date(), 'pgpool-late-L2');
    const loaded = (await store.loadCluster('pg-main'))!;
    loaded.record.config.fencing = 'stop-instance';

    const answer = await processEvent({ store, now: () => new Date(byLine(14).invokedMs + 60_000) }, { event: late, loaded, replay: null });

    expect(answer).toMatchObject({ status: 409, body: { code: 'stale_claim', primary: 'pgpool2', fencing: { policy: 'stop-instance', result: 'skipped' } } });
    const [entry] = await store.readJournal('pg-main', 1);
    expect(entry).toMatchObject({ outcome: 'stale_claim', page: true });
    expect(entry!.fence).toBeUndefined();
    expect(pageForEntry(entry!)).toMatchObject({ type: 'stale_claim', severity: 'critical' });
  });
});

describe('cluster config: tool keepalived | pgpool', () => {
  const base = {
    cluster: 'pg-pool',
    nodes: [
      { name: 'pgpool0', eni: 'eni-0123456789abcdef0', keyFile: 'pgpool0.key' },
      { name: 'pgpool1', eni: 'eni-0123456789abcdef1', keyFile: 'pgpool1.key' },
    ],
    endpoints: { routeTables: { vip: '10.0.1.100', routeTableIds: ['rtb-0123456789abcdef0'] } },
  };
  const issuesOf = (input: unknown): string[] => {
    try {
      parseClusterFile(input);
      return [];
    } catch (error) {
      return (error as ConfigError).issues;
    }
  };

  it('accepts both tools; pgpool nodes need no repmgr id', () => {
    expect(parseClusterFile({ ...base, tool: 'pgpool' }).config.tool).toBe('pgpool');
    expect(parseClusterFile({ ...base, tool: 'keepalived', systemIdentifier: '7713997281373179723' }).config.tool).toBe('keepalived');
  });

  it('names what does not apply to pgpool clusters, and an unknown tool, clearly', () => {
    expect(issuesOf({ ...base, tool: 'pgpool', systemIdentifier: '7713997281373179723', fencing: 'stop-instance', nodes: [{ ...base.nodes[0], repmgrNodeId: 1, instanceId: 'i-0123456789abcdef0' }] })).toEqual([
      expect.stringMatching(/^nodes\.0\.repmgrNodeId: not for pgpool clusters/),
      expect.stringMatching(/^systemIdentifier: not for pgpool clusters: the endpoint follows the Pgpool-II watchdog leader/),
      expect.stringMatching(/^fencing: stop-instance is not available for pgpool clusters/),
    ]);
    expect(issuesOf({ ...base, tool: 'vrrp' })).toEqual([expect.stringMatching(/^tool: expected one of repmgr, patroni, keepalived, pgpool .*got "vrrp"/)]);
  });
});
