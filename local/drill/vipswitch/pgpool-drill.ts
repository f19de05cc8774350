/**
 * The drill's Pgpool-II scenarios on a real Pgpool-II 4.3 watchdog cluster (local/drill/pgpool.ts): the registered
 * nodes are the pgpool members, the endpoint follows the watchdog's quorum-backed leader, `if_up_cmd` / `if_down_cmd`
 * call the real hook (pcp facts, leadership token), clients write through the endpoint member's pgpool.
 *
 *  - leader-killed: kill -9 of every process of the leader's pgpool (a host crash); the survivors elect a leader, its
 *    `if_up_cmd` is the claim (quorum-backed, a newer token): the endpoint and the client follow; the killed member is
 *    started again and joins as a standby;
 *  - quorum-lost: a member that has lost its quorum claims, and nothing moves. The leader is killed with the other
 *    members' escalation held (their `wd_escalation_command` waits, as a slow one would); the survivor that wins the
 *    election waits there, with quorum; the last other member is killed: the winner is alone, pgpool de-escalates it
 *    anyway after 5 s (`if_down_cmd`: a release, never a move); then the escalation goes on and pgpool runs its
 *    `if_up_cmd` (findings §4 g2): the hook's pcp probe shows LEADER without quorum or escalation, the claim is
 *    `409 unverified_claim`, paged; the endpoint stays where it was for the observation window. Then the last member is
 *    started again: the leader regains its quorum, escalates, and its claim moves the endpoint; the old leader rejoins.
 */
import { describeWatchdogFacts, isQuorumBackedLeader } from '../../../shared/domain/watchdog-info';
import { isPgpoolFacts } from '../../../shared/domain/event';
import { PgpoolCluster } from '../pgpool';
import { FatalWaitError } from '../util';
import type { ScenarioRecorder } from './drill-report';
import type { DrillScenarioResult } from './drill-types';
import { answeredByServer, hookTime } from './hook-evidence';
import { hookSpoolDir } from './register-drill-cluster';
import { followMove, journalSince, measureMove, storedEvent, waitFor, type NodeRole, type ScenarioContext, type ToolDrill } from './scenario-steps';

type Ctx = ScenarioContext<PgpoolCluster>;

/** A quorum-backed leader other than `notMember` (exactly one). */
function newLeader(ctx: Ctx, notMember: string): Promise<string> {
  return waitFor(ctx, `a quorum-backed leader other than ${notMember}`, 60_000, async () => {
    const leader = await ctx.cluster.leader();
    return leader !== null && leader !== notMember && leader;
  }, 200);
}

async function leaderKilled(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const old = ctx.primary;
  await c.waitShape(old, 60_000);
  await measureMove(ctx, rec, result, {
    from: old,
    detail: `kill -9 every process of the watchdog leader ${old}'s pgpool (a host crash: no de-escalation, no if_down_cmd)`,
    action: () => c.killMember(old),
    newPrimary: () => newLeader(ctx, old),
    settle: async () => {
      await c.startMember(old);
      await c.waitShape(ctx.primary, 60_000);
      rec.add('rejoined', Date.now(), old, `${old}'s pgpool started again: a STANDBY member of ${ctx.primary}'s watchdog`);
    },
    detect: false,
  });
}

async function quorumLost(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const old = ctx.primary;
  await c.waitShape(old, 60_000);
  const others = ctx.names.filter((n) => n !== old);
  for (const o of others) await c.holdEscalation(o);
  try {
    const t0 = rec.action(`kill -9 every process of the leader ${old}'s pgpool, the escalation of ${others.join(' and ')} held in their wd_escalation_command`);
    await c.killMember(old);
    const winner = await waitFor(ctx, 'the new leader to wait in its wd_escalation_command', 60_000, async () => {
      for (const o of others) if (await c.escalationWaiting(o)) return o;
      return null;
    }, 100);
    const view = await c.watchdog(winner);
    rec.add('escalation held', Date.now(), winner, `${winner} won the election (${view ? describeWatchdogFacts(view) : 'pcp did not answer'}); its if_up_cmd has not run`);
    const last = others.find((o) => o !== winner)!;
    await c.releaseEscalation(last);
    await c.killMember(last);
    rec.add('quorum lost', Date.now(), winner, `kill -9 every process of ${last}: ${winner} is 1 of 3 members (quorum 2)`);
    // pgpool waits 5 s for the escalation process, then de-escalates anyway: if_down_cmd, a release that moves nothing
    const down = await waitFor(ctx, `${winner}'s de-escalation (if_down) in the journal`, 30_000, () => journalSince(ctx, t0).find((e) => e.node === winner && e.type === 'if_down'), 100);
    rec.add('de-escalated', down.at, winner, `if_down → ${down.outcome}${isPgpoolFacts(down.facts) ? ` (${describeWatchdogFacts(down.facts.watchdog)})` : ''}`);
    await c.releaseEscalation(winner);
    rec.add('released', Date.now(), winner, `the escalation goes on: pgpool runs ${winner}'s if_up_cmd`);
    const refused = await waitFor(ctx, `the if_up of ${winner} answered unverified_claim`, 30_000, () => journalSince(ctx, t0).find((e) => e.node === winner && e.type === 'if_up' && e.outcome === 'unverified_claim'), 100);
    const hook = hookTime(await storedEvent(ctx, refused.eventId), refused.at);
    const facts = isPgpoolFacts(refused.facts) ? describeWatchdogFacts(refused.facts.watchdog) : 'no watchdog facts';
    rec.add('unverified claim hook', hook.at, winner, `if_up (${hook.from}; ${facts})`);
    const answer = await waitFor(ctx, `${winner}'s hook to file the answer to ${refused.eventId}`, 10_000, () => answeredByServer(hookSpoolDir(ctx.nodeInfo(winner)), refused.eventId), 100).catch(() => null);
    rec.add('rejected', refused.at, winner, `HTTP ${answer?.status ?? '?'} ${answer?.code ?? refused.outcome} — ${refused.reason}`);
    const page = await waitFor(ctx, 'the unverified_claim page', 30_000, () => ctx.obs.pages.find((pg) => pg.at >= t0 && pg.type === 'unverified_claim'), 100);
    rec.add('paged', page.at, winner, `[${page.severity}/${page.type}] ${page.subject ?? ''}`);
    result.refusedClaim = { node: winner, type: refused.type, outcome: 'unverified_claim', reason: refused.reason, status: answer?.status ?? null, code: answer?.code ?? null, paged: true };
    if (answer?.status !== 409 || answer.code !== 'unverified_claim') throw new Error(`the hook of ${winner} recorded ${answer ? `HTTP ${answer.status} ${answer.code}` : 'no answer'}, not 409 unverified_claim`);
    // nothing moves: the endpoint stays on the old leader (gone: without quorum there is no leader to follow)
    const start = Date.now();
    const epoch = ctx.obs.latest?.state.epoch;
    await waitFor(ctx, `the end of the ${ctx.observeMs} ms observation window`, ctx.observeMs + 10_000, () => {
      const target = ctx.obs.sample();
      if (target !== old) throw new FatalWaitError(`the endpoint left ${old} for ${target ?? 'no single node'} while ${winner} had no quorum`);
      return Date.now() - start >= ctx.observeMs;
    });
    const latest = ctx.obs.latest;
    if (latest?.state.primary !== old || latest.state.epoch !== epoch) throw new Error(`the fencing record changed while ${winner} had no quorum: ${JSON.stringify(latest?.state)}`);
    rec.add('observed', Date.now(), old, `endpoint stayed on ${old} for ${(ctx.observeMs / 1000).toFixed(1)} s; fencing record unchanged (primary ${old}, epoch ${epoch})`);
    // quorum back: the leader escalates again, with quorum; its claim moves the endpoint. The old leader comes back
    // after that (a client would otherwise write through it again before the move, hiding the outage)
    const back = Date.now();
    await c.startMember(last);
    rec.add('restarted', Date.now(), last, `${last} started again: ${winner} has its quorum back`);
    await followMove(ctx, rec, result, { from: old, since: back, newPrimary: () => newLeader(ctx, old), detect: false });
    await c.startMember(old);
    await c.waitShape(ctx.primary, 60_000);
    rec.add('rejoined', Date.now(), old, `${old}'s pgpool started again: a STANDBY member of ${ctx.primary}'s watchdog`);
    rec.steps.sort((a, b) => a.atMs - b.atMs);
  } finally {
    for (const o of others) await c.releaseEscalation(o);
  }
}

async function roleOf(c: PgpoolCluster, member: string): Promise<NodeRole> {
  const facts = await c.watchdog(member);
  return facts === null ? null : isQuorumBackedLeader(facts) ? 'primary' : 'other';
}

export const pgpoolDrill: ToolDrill<'pgpool', PgpoolCluster> = {
  tool: 'pgpool',
  build: ({ hook, log, label }) => PgpoolCluster.create({ hook, log, label }),
  nodes: (c) => c.members,
  initialPrimary: (c) => c.leader(),
  // the node the endpoint follows is the watchdog's quorum-backed leader
  roleOf,
  // clients connect to the endpoint member's pgpool, which sends writes to the primary backend
  clientTarget: (c, node) => ({ node, kind: 'pgpool', host: '127.0.0.1', port: c.members.find((m) => m.name === node)!.port, dbname: 'postgres', user: 'postgres' }),
  pgServers: (c) => c.backends.map((b) => ({ name: b.name, port: b.port })),
  scenarios: { 'leader-killed': leaderKilled, 'quorum-lost': quorumLost },
};
