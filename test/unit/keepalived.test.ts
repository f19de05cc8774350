/**
 * keepalived mode, from the keepalived 2.2.7 captures (shared/peers/keepalived, copied into test/fixtures/peers): argv,
 * the classification of every MASTER (facts over labels), health, the replay through the fencing decision in capture
 * order and in any order, and the role_disagreement page.
 */
import fc from 'fast-check';
import { pageForEntry } from '../../shared/app/pages';
import { processEvent } from '../../shared/app/process-event';
import { classify, EventKind } from '../../shared/domain/classify';
import type { ClusterState } from '../../shared/domain/cluster';
import { decide, type Decision } from '../../shared/domain/decide';
import { ArgvError } from '../../shared/domain/errors';
import type { VipEvent } from '../../shared/domain/event';
import { healthFromEvent } from '../../shared/domain/health';
import { parseKeepalivedArgv } from '../../shared/domain/keepalived-argv';
import { buildEvent } from '../../shared/protocol/build-event';
import { parseVipEvent } from '../../shared/protocol/event-schema';
import { parseCommandLine } from '../../hooks/src/command-line';
import { storeWithCluster } from '../support/in-memory-cluster-store';
import { KEEPALIVED_SYSTEM_ID, loadKeepalivedInvocations, type KeepalivedInvocation } from '../support/peer-captures';
import { applyDecision, emptyClusterState, nodeRecord } from '../support/peers';

const NOW = new Date('2026-11-30T16:12:00.000Z');
const captures = loadKeepalivedInvocations();
const byLine = (line: number): KeepalivedInvocation => {
  const found = captures.find((c) => c.line === line);
  if (!found) throw new Error(`no invocation at L${line}`);
  return found;
};
const eventOf = (c: KeepalivedInvocation, id = `keepalived-L${c.line}`): VipEvent => buildEvent('keepalived', c.args, { cluster: 'pg-main', node: c.node }, c.facts, NOW, id);

/** findings §8: the 19 notify_master calls of run 1, by where they ran. */
const MASTER_ON_PRIMARY = [16, 24, 40, 55, 79, 99, 131, 159];
const MASTER_ON_STANDBY = [29, 44, 67, 73, 87, 92, 107, 112, 123, 152, 169];

describe('parseKeepalivedArgv', () => {
  it('reads the state of every captured generic notify (INSTANCE <name> <STATE> <priority>) as the capture did', () => {
    const generic = captures.filter((c) => c.hookKind === 'notify');
    expect(generic).toHaveLength(47);
    for (const c of generic) {
      const call = parseKeepalivedArgv(c.args);
      expect(`notify-${call.transition.toUpperCase()}`).toBe(c.event);
      expect(call).toMatchObject({ via: 'notify', scope: 'INSTANCE', name: 'VI_PG', priority: Number(c.argv[4]) });
    }
  });

  it('reads every specific notify from the word configured after the mode word (keepalived passes nothing to them)', () => {
    const specific = captures.filter((c) => c.hookKind !== 'notify');
    for (const c of specific) {
      expect(c.argv).toHaveLength(1);
      expect(parseKeepalivedArgv(c.args)).toMatchObject({ transition: c.hookKind.replace(/^notify_/, ''), via: 'notify_specific', scope: null });
    }
    expect(parseKeepalivedArgv(['master'])).toEqual(parseKeepalivedArgv(['notify_master']));
  });

  it('takes a sync group notify (priority 0, keepalived vrrp_notify.c) and the 200 seen after a priority change (L125)', () => {
    expect(parseKeepalivedArgv(['GROUP', 'VG_1', 'BACKUP', '0'])).toMatchObject({ transition: 'backup', scope: 'GROUP', name: 'VG_1', priority: 0 });
    expect(parseKeepalivedArgv(byLine(125).args)).toMatchObject({ transition: 'master', priority: 200 });
  });

  it.each([
    [[], 'kind'],
    [['primary'], 'kind'],
    [['INSTANCE', 'VI_PG', 'MASTER'], 'notify'],
    [['INSTANCE', 'VI_PG', 'MASTER_RX_LOWER_PRI', '150'], 'state'],
    [['INSTANCE', 'VI_PG', 'MASTER', '1000'], 'priority'],
    [['INSTANCE', 'VI_PG', 'MASTER', 'high'], 'priority'],
    [['--mode=generic', 'INSTANCE', 'VI_PROBE', 'BACKUP', '100'], 'type'],
  ])('refuses %j (ArgvError on %s), never guesses', (args, field) => {
    let error: unknown;
    try {
      parseKeepalivedArgv(args);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ArgvError);
    expect((error as ArgvError).field).toBe(field);
  });

  it('sees the probe instance\'s configured words as keepalived passed them: quotes removed, $HOME not expanded (L180)', () => {
    const probe = loadKeepalivedInvocations({ probe: true }).filter((c) => c.node === 'probe');
    const quoted = probe.find((c) => c.line === 180)!;
    // keepalived resolved the symlink: argv[0] is the real path, so a hook must never dispatch on its own name.
    expect(quoted.argv[0]).toMatch(/\/real\/vipswitch-hook$/);
    const command = parseCommandLine(quoted.argv.slice(1));
    expect(command).toMatchObject({ kind: 'hook', mode: 'keepalived', args: ['two words', 'dq', 'abc', '$HOME'] });
    expect(() => parseKeepalivedArgv((command as { args: string[] }).args)).toThrow(ArgvError);
    // Configured words come BEFORE keepalived's four (L177): `notify "... keepalived"` is the form to use.
    expect(probe.find((c) => c.line === 177)!.argv.slice(1)).toEqual(['keepalived', '--mode=generic', 'INSTANCE', 'VI_PROBE', 'BACKUP', '100']);
  });
});

describe('keepalived events', () => {
  it('builds a valid v1 event from every node capture: type, details, the hook clock, the probed facts', () => {
    for (const c of captures) {
      const event = eventOf(c);
      expect(parseVipEvent(JSON.parse(JSON.stringify(event)))).toMatchObject({ ok: true });
      expect(event).toMatchObject({ source: 'keepalived', success: true, role: null, occurredAt: NOW.toISOString(), raw: { argv: c.args } });
    }
    expect(eventOf(byLine(15)).details).toBe('INSTANCE VI_PG MASTER 150');
    expect(eventOf(byLine(16)).details).toBe('notify_master');
  });

  it('classifies the 19 MASTER calls by the facts alone: 8 primary assertions on the primary, 11 role disagreements on standbys', () => {
    for (const line of MASTER_ON_PRIMARY) expect([line, classify(eventOf(byLine(line)))]).toEqual([line, EventKind.PrimaryAssertion]);
    for (const line of MASTER_ON_STANDBY) expect([line, classify(eventOf(byLine(line)))]).toEqual([line, EventKind.RoleDisagreement]);
    const masters = captures.filter((c) => c.hookKind === 'notify_master');
    expect(masters.map((c) => c.line).sort((a, b) => a - b)).toEqual([...MASTER_ON_PRIMARY, ...MASTER_ON_STANDBY].sort((a, b) => a - b));
  });

  it('calls a MASTER without facts an unverified claim, and a BACKUP / FAULT / STOP in recovery informational', () => {
    expect(classify(buildEvent('keepalived', ['master'], { cluster: 'pg-main', node: 'node3' }, null, NOW))).toBe(EventKind.UnverifiedClaim);
    for (const c of captures.filter((x) => x.facts?.inRecovery === true && !/master/.test(x.args.join(' ').toLowerCase()))) {
      expect(classify(eventOf(c))).toBe(EventKind.Informational);
    }
  });

  it('the split brain of e2 (findings §6): node3 MASTER 100 in recovery disagrees, node2 master_rx_lower_pri out of recovery re-asserts', () => {
    const state: ClusterState = { ...emptyClusterState(), primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 2, systemIdentifier: KEEPALIVED_SYSTEM_ID };
    const node3 = decide(state, nodeRecord('node3'), eventOf(byLine(112)), null, { tool: 'keepalived' });
    const node2 = decide(state, nodeRecord('node2'), eventOf(byLine(116)), null, { tool: 'keepalived' });

    expect(node3).toMatchObject({ outcome: 'ignored', kind: 'role_disagreement', current: { primary: 'node2', timeline: 2, epoch: 2 } });
    expect((node3 as { reason: string }).reason).toMatch(/keepalived made node3 MASTER but its PostgreSQL is in recovery \(timeline 2\): keepalived and PostgreSQL disagree; the endpoint stays on node2/);
    expect(node2).toMatchObject({ outcome: 'ignored', kind: 'reassertion' });
  });
});

describe('keepalived health', () => {
  const state: ClusterState = { ...emptyClusterState(), primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 2, systemIdentifier: KEEPALIVED_SYSTEM_ID };
  const healthOf = (line: number) => {
    const c = byLine(line);
    const event = eventOf(c);
    return healthFromEvent(event, decide(state, nodeRecord(c.node), event, null, { tool: 'keepalived' }));
  };

  it('STOP is stopped, FAULT is failed, BACKUP and a disagreeing MASTER in recovery are replica, the primary re-asserting is primary', () => {
    expect(healthOf(26)).toBe('stopped'); // node2 notify STOP 150, the primary's keepalived stopping
    expect(healthOf(27)).toBe('stopped'); // notify_stop
    expect(healthOf(81)).toBe('failed'); // node2 notify FAULT 150 (carrier lost)
    expect(healthOf(82)).toBe('failed'); // notify_fault
    expect(healthOf(21)).toBe('replica'); // node1 notify_backup, standby on timeline 2
    expect(healthOf(112)).toBe('replica'); // node3 MASTER in recovery
    expect(healthOf(96)).toBe('primary'); // node2 BACKUP 150 after the link came back, still the primary: re-asserts
  });
});

describe('keepalived captures through the fencing decision', () => {
  /** Replay events through decide + the store's conditional write; returns the decisions. */
  function replay(events: { node: string; event: VipEvent }[], start: ClusterState = emptyClusterState()): { state: ClusterState; decisions: { node: string; event: VipEvent; decision: Decision }[] } {
    let state = start;
    const decisions = events.map(({ node, event }) => {
      const decision = decide(state, nodeRecord(node), event, null, { tool: 'keepalived' });
      state = applyDecision(state, decision);
      return { node, event, decision };
    });
    return { state, decisions };
  }

  it('in capture order: two claims win (node1 on timeline 1 at start, node2 on timeline 2 after the promotion), nothing else moves', () => {
    const { state, decisions } = replay(captures.map((c) => ({ node: c.node, event: eventOf(c) })));

    const accepted = decisions.filter((d) => d.decision.outcome === 'accepted');
    expect(accepted.map((d) => [d.node, (d.decision as { timeline: number }).timeline, (d.decision as { epoch: number }).epoch])).toEqual([
      ['node1', 1, 1],
      ['node2', 2, 2],
    ]);
    // node1's BACKUP 100 right after start (L11) is the first claim: facts over labels (its PostgreSQL was the primary).
    expect(accepted[0]!.event.id).toBe('keepalived-L11');
    expect(state).toMatchObject({ primary: 'node2', timeline: 2, epoch: 2, systemIdentifier: KEEPALIVED_SYSTEM_ID });
    expect(decisions.filter((d) => d.decision.outcome === 'ignored' && d.decision.kind === 'role_disagreement')).toHaveLength(
      captures.filter((c) => c.facts?.inRecovery === true && (c.args.includes('MASTER') || /^(notify_)?master/.test(c.args[0]!))).length,
    );
    expect(decisions.filter((d) => d.decision.outcome === 'stale_claim' || d.decision.outcome === 'unverified_claim')).toEqual([]);
  });

  it('in any order (concurrent, out-of-order notifies): always ends on node2, timeline 2; no standby ever wins; at most two claims win', () => {
    // findings §3: start order is not fork order, completion order is not transition order. The facts order them.
    const all = captures.map((c) => ({ node: c.node, event: eventOf(c), standby: c.facts?.inRecovery === true }));
    fc.assert(
      fc.property(fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }), (shuffled) => {
        const { state, decisions } = replay(shuffled);
        expect(state).toMatchObject({ primary: 'node2', timeline: 2 });
        const won = decisions.filter((d) => d.decision.outcome === 'accepted');
        expect(won.length).toBeLessThanOrEqual(2);
        for (const d of won) expect(d.event.facts?.inRecovery).toBe(false);
        // node1's timeline-1 assertions arriving after node2's claim are stale: refused and paged, never moved.
        for (const d of decisions) if (d.decision.outcome === 'stale_claim') expect([d.node, d.decision.claimedTimeline]).toEqual(['node1', 1]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('role_disagreement through processEvent', () => {
  it('answers 200 ignored, journals the entry flagged for a page, and the page says keepalived and PostgreSQL disagree', async () => {
    // Arrange: node2 is the primary on timeline 2 (the capture after (b)); node3's MASTER 200 of scenario f (L125)
    const store = await storeWithCluster({ config: { tool: 'keepalived' }, systemIdentifier: KEEPALIVED_SYSTEM_ID, state: { primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 2, systemIdentifier: KEEPALIVED_SYSTEM_ID }, now: () => NOW });
    const event = eventOf(byLine(125));
    const loaded = (await store.loadCluster('pg-main'))!;

    // Act
    const answer = await processEvent({ store, now: () => NOW }, { event, loaded, replay: null });

    // Assert
    expect(answer).toMatchObject({ status: 200, body: { code: 'ignored', decision: 'ignored', kind: 'role_disagreement' } });
    const [entry] = await store.readJournal('pg-main', 1);
    expect(entry).toMatchObject({ outcome: 'ignored', page: true, details: { kind: 'role_disagreement', current: { primary: 'node2', timeline: 2, epoch: 2 } } });
    const page = pageForEntry(entry!);
    expect(page).toMatchObject({ severity: 'warning', type: 'role_disagreement', subject: 'vipswitch pg-main: keepalived and PostgreSQL disagree on node3' });
    expect(page!.message).toMatch(/Nothing moved\. keepalived reported: INSTANCE VI_PG MASTER 200\./);
    expect((await store.getCluster('pg-main'))!.state).toMatchObject({ primary: 'node2', epoch: 2 });
    expect((await store.getNode('pg-main', 'node3'))!.health).toBe('replica');
  });
});
