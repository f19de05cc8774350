/**
 * The drill's keepalived scenarios on a real keepalived 2.2 + repmgr 5.3 + pgbouncer 1.18 cluster (local/drill/keepalived.ts),
 * keepalived in network namespaces with VRRP unicast peers, its `notify` calling the real hook:
 *
 *  - failover: kill -9 of the primary's postmaster; repmgrd promotes a standby, its check raises its keepalived
 *    priority, it becomes MASTER, its notify is the claim (out of recovery, newer timeline): the endpoint follows;
 *  - standby-master: a standby's keepalived priority raised above the primary's (an operator's change + reload): it
 *    becomes MASTER with its PostgreSQL in recovery; the notify is journaled as a role disagreement and paged, the
 *    endpoint stays; the priority put back, the primary's node is MASTER again;
 *  - old-primary-returns: the killed old primary's host comes back, its PostgreSQL as it was (a primary on the old
 *    timeline, no rejoin) and its keepalived: its notify is a stale claim (409, paged), its pgbouncer is turned off, the
 *    endpoint stays; then it is rejoined as a standby;
 *  - node-crash: the primary's whole host dies (keepalived, PostgreSQL, repmgrd and pgbouncer killed -9, its link cut):
 *    the other keepalived elect a MASTER once the adverts stop, repmgrd promotes a standby, the new primary's MASTER
 *    notify claims: the endpoint follows; then the host comes back rejoined as a standby, and nothing moves.
 */
import { PGBOUNCER_DB, KeepalivedCluster } from '../keepalived';
import { FatalWaitError, errMsg } from '../util';
import type { ScenarioRecorder } from './drill-report';
import type { DrillScenarioResult } from './drill-types';
import { answeredByServer, hookCallEvidence, hookTime, readHookLog } from './hook-evidence';
import { hookLogFile, hookSpoolDir } from './register-drill-cluster';
import { assertStayed, journalSince, measureMove, pgRole, storedEvent, verifyStayed, waitFor, type ScenarioContext, type ToolDrill } from './scenario-steps';

type Ctx = ScenarioContext<KeepalivedCluster>;

/** Resolves when the VIP is first seen on a node other than `notNode` (the new MASTER), with that moment. */
function watchNewMaster(ctx: Ctx, notNode: string): Promise<{ node: string; at: number }> {
  return waitFor(ctx, `keepalived to make a node other than ${notNode} MASTER`, 90_000, async () => {
    const holders = await ctx.cluster.vipHolders();
    const other = holders.find((h) => h !== notNode);
    return other !== undefined && { node: other, at: Date.now() };
  });
}

/** The endpoint stays on `node` on every poll for the observation window (fails at once otherwise). */
async function observeStayed(ctx: Ctx, rec: ScenarioRecorder, node: string, what: string): Promise<void> {
  const start = Date.now();
  await waitFor(ctx, `the end of the ${ctx.observeMs} ms observation window`, ctx.observeMs + 10_000, () => {
    const target = ctx.obs.sample();
    if (target !== node) throw new FatalWaitError(`${what}: the endpoint left ${node}, it is on ${target ?? 'no single node'}`);
    return Date.now() - start >= ctx.observeMs;
  });
  rec.add('observed', Date.now(), node, `endpoint stayed on ${node} for ${(ctx.observeMs / 1000).toFixed(1)} s (${what}); fencing record names ${ctx.obs.latest?.state.primary ?? '?'}`);
  if (ctx.obs.latest?.state.primary !== node) throw new Error(`the fencing record names ${ctx.obs.latest?.state.primary} as primary, not ${node}`);
}

async function failover(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const old = ctx.primary;
  await c.waitVip(old, 30_000, ctx.signal);
  await c.repmgr.settleWal(old).catch((e) => ctx.tl.log(`WAL of ${old} did not settle: ${errMsg(e)}`));
  let master: Promise<{ node: string; at: number }> | undefined;
  await measureMove(ctx, rec, result, {
    from: old,
    detail: `kill -9 the postmaster of ${old} (its keepalived runs on: its check fails, priority 150 -> 100)`,
    action: async () => {
      master = watchNewMaster(ctx, old);
      await c.repmgr.killPostmaster(old, { settle: false });
    },
    newPrimary: () => c.repmgr.waitForPrimary(old, 60_000),
    settle: () => c.repmgr.waitHealthy(60_000, { ignore: [old] }),
    detect: false,
  });
  const m = await master!;
  if (m.node !== ctx.primary) throw new Error(`keepalived made ${m.node} MASTER, the new primary is ${ctx.primary}`);
  rec.add('keepalived MASTER', m.at, m.node, `the VIP on ${m.node}'s veth0 (its notify MASTER is the claim)`);
  rec.steps.sort((a, b) => a.atMs - b.atMs);
  ctx.down = old;
  ctx.lastFailedOver = old;
}

async function standbyMaster(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const p = ctx.primary;
  const standby = ctx.names.find((n) => n !== p && n !== ctx.down);
  if (!standby || (await c.inRecovery(standby)) !== true) throw new Error(`no standby in recovery to force (primary ${p}, down ${ctx.down ?? 'none'})`);
  await c.waitVip(p, 30_000, ctx.signal);
  const t0 = rec.action(`raise the keepalived priority of the standby ${standby} to 200 (the primary's node has 150) and reload it (SIGHUP)`);
  await c.setPriority(standby, 200);
  rec.add('keepalived MASTER', await c.waitVip(standby, 30_000, ctx.signal), standby, `the VIP on ${standby}'s veth0; its PostgreSQL is in recovery`);
  const refused = await waitFor(ctx, `the MASTER of ${standby} journaled as a role disagreement`, 30_000, () =>
    journalSince(ctx, t0).find((e) => e.node === standby && e.type === 'master' && e.outcome === 'ignored' && /disagree/.test(e.reason)), 100);
  const event = await storedEvent(ctx, refused.eventId);
  const hook = hookTime(event, refused.at);
  rec.add('disagreement hook', hook.at, standby, `${refused.type} (${hook.from}; in recovery, timeline ${refused.facts?.timeline ?? '?'})`);
  const call = await waitFor(ctx, `${standby}'s hook to log the answer to ${refused.eventId}`, 15_000, async () => hookCallEvidence(await readHookLog(hookLogFile(ctx.nodeInfo(standby))), refused.eventId, event), 100).catch(() => null);
  rec.add('refused', refused.at, standby, `HTTP ${call?.status ?? '?'} ${call?.code ?? refused.outcome} — ${refused.reason}`);
  const page = await waitFor(ctx, 'the role_disagreement page', 30_000, () => ctx.obs.pages.find((pg) => pg.at >= t0 && pg.type === 'role_disagreement'), 100);
  rec.add('paged', page.at, standby, `[${page.severity}/${page.type}] ${page.subject ?? ''}`);
  result.refusedClaim = { node: standby, type: refused.type, outcome: 'role_disagreement', reason: refused.reason, status: call?.status ?? null, code: call?.code ?? null, paged: true };
  await observeStayed(ctx, rec, p, `keepalived MASTER on the standby ${standby}`);
  await c.setPriority(standby, 100);
  rec.add('reverted', await c.waitVip(p, 30_000, ctx.signal), p, `priority of ${standby} back to 100, reloaded: the VIP on ${p} again`);
  rec.add('verified', await verifyStayed(ctx, p), p, `endpoint stayed on ${p}; status converged`);
  assertStayed(ctx, p, t0);
}

async function oldPrimaryReturns(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const old = ctx.down;
  if (old === null) throw new Error('old-primary-returns needs a failed old primary');
  const p = ctx.primary;
  await c.repmgr.waitHealthy(60_000, { ignore: [old] });
  // the host was down: so was its keepalived
  await c.stopKeepalived(old);
  const t0 = rec.action(`${old}'s host comes back: its PostgreSQL as it was (a primary on its old timeline, no rejoin), then its keepalived`);
  await c.repmgr.startWithoutRejoin(old);
  const tlOld = await c.repmgr.timeline(old).catch(() => null);
  rec.add('started', Date.now(), old, `PostgreSQL out of recovery on timeline ${tlOld ?? '?'} (${p} is on ${await c.repmgr.timeline(p).catch(() => '?')})`);
  await c.startKeepalived(old);
  rec.add('keepalived started', Date.now(), old, 'BACKUP (init), its notify probes PostgreSQL');
  const stale = await waitFor(ctx, `a stale_claim from ${old} in the journal`, 30_000, () => journalSince(ctx, t0).find((e) => e.node === old && e.outcome === 'stale_claim'), 100);
  const hook = hookTime(await storedEvent(ctx, stale.eventId), stale.at);
  rec.add('stale claim hook', hook.at, old, `${stale.type} (${hook.from}; out of recovery on timeline ${stale.facts?.timeline ?? '?'})`);
  const answer = await waitFor(ctx, `${old}'s hook to file the answer to ${stale.eventId}`, 10_000, () => answeredByServer(hookSpoolDir(ctx.nodeInfo(old)), stale.eventId), 100).catch(() => null);
  rec.add('rejected', stale.at, old, `HTTP ${answer?.status ?? '?'} ${answer?.code ?? stale.outcome} — ${stale.reason}`);
  const page = await waitFor(ctx, 'the stale_claim page', 30_000, () => ctx.obs.pages.find((pg) => pg.at >= t0 && pg.type === 'stale_claim'), 100);
  rec.add('paged', page.at, old, `[${page.severity}/${page.type}] ${page.subject ?? ''}`);
  result.staleClaim = { node: old, type: stale.type, claimedTimeline: stale.facts?.timeline ?? null, status: answer?.status ?? null, code: answer?.code ?? null, paged: true };
  if (answer?.status !== 409 || answer.code !== 'stale_claim') throw new Error(`the hook of ${old} recorded ${answer ? `HTTP ${answer.status} ${answer.code}` : 'no answer'} for its stale claim, not 409 stale_claim`);
  // the hook turns the stale node's pgbouncer off after the 409: no client reaches the old timeline through it
  const off = await waitFor(ctx, `${old}'s pgbouncer to disable ${PGBOUNCER_DB}`, 15_000, async () => (await c.pgbouncerDisabled(old)) === true && Date.now(), 100);
  rec.add('pgbouncer off', off, old, `${PGBOUNCER_DB} disabled on ${old}'s pgbouncer (DISABLE + KILL after the 409)`);
  await observeStayed(ctx, rec, p, `${old} out of recovery on timeline ${tlOld ?? '?'}`);
  await c.repmgr.rejoin(old);
  rec.add('rejoined', Date.now(), old, `repmgr node rejoin --force-rewind: a standby of ${p}`);
  rec.add('verified', await verifyStayed(ctx, p), p, `endpoint stayed on ${p}; status converged`);
  assertStayed(ctx, p, t0);
  ctx.down = null;
}

/**
 * Every node (but `ignore`) that holds the VIP, with the first moment it was seen holding it, polled until `stop` is
 * aborted: a standby keepalived elects MASTER shows here as well as the new primary's MASTER.
 */
function watchMasters(ctx: Ctx, ignore: string, stop: AbortSignal): { seen: Map<string, number>; done: Promise<void> } {
  const seen = new Map<string, number>();
  const done = waitFor(ctx, 'the end of the scenario', Number.POSITIVE_INFINITY, async () => {
    if (stop.aborted) return true;
    for (const h of await ctx.cluster.vipHolders()) if (h !== ignore && !seen.has(h)) seen.set(h, Date.now());
    return false;
  }).then(() => undefined, () => undefined);
  return { seen, done };
}

async function nodeCrash(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const old = ctx.primary;
  await c.repmgr.waitHealthy(60_000);
  await c.waitVip(old, 30_000, ctx.signal);
  await c.repmgr.settleWal(old).catch((e) => ctx.tl.log(`WAL of ${old} did not settle: ${errMsg(e)}`));
  const stop = new AbortController();
  let masters: ReturnType<typeof watchMasters> | undefined;
  try {
    await measureMove(ctx, rec, result, {
      from: old,
      detail: `${old}'s host crashes: keepalived -9 (no priority-0 advert, no notify), its link cut, its postmaster, repmgrd and pgbouncer -9`,
      action: async () => {
        masters = watchMasters(ctx, old, stop.signal);
        await c.crashNode(old);
      },
      newPrimary: () => c.repmgr.waitForPrimary(old, 60_000),
      settle: () => c.repmgr.waitHealthy(60_000, { ignore: [old] }),
      detect: false,
    });
    const p = ctx.primary;
    await c.waitVip(p, 30_000, ctx.signal, [old]);
  } finally {
    stop.abort();
    await masters?.done;
  }
  const p = ctx.primary;
  // a standby elected first (the crash stops the adverts before repmgrd has promoted): journaled as a role disagreement
  for (const [node, at] of [...masters!.seen].sort((a, b) => a[1] - b[1])) {
    rec.add(node === p ? 'keepalived MASTER' : 'standby MASTER', at, node, node === p ? `the VIP on ${node}'s veth0 (its notify MASTER is the claim)` : `the VIP on the standby ${node}'s veth0 (a role disagreement, paged) until ${p}'s higher priority took it`);
  }
  if (!masters!.seen.has(p)) throw new Error(`keepalived never made the new primary ${p} MASTER`);
  // its notify MASTER waits (up to promoteWaitMs) for a promotion that never comes, then reaches the journal: wait for it
  for (const [node, at] of masters!.seen) {
    if (node === p) continue;
    const refused = await waitFor(ctx, `the MASTER of the standby ${node} journaled as a role disagreement`, 30_000, () =>
      journalSince(ctx, at).find((e) => e.node === node && e.type === 'master' && e.outcome === 'ignored'), 100);
    rec.add('standby refused', refused.at, node, `${refused.type} → ${refused.outcome} — ${refused.reason}`);
  }
  rec.steps.sort((a, b) => a.atMs - b.atMs);
  ctx.down = old;
  ctx.lastFailedOver = old;
  const back = Date.now();
  await c.hostBack(old);
  await c.waitVip(p, 30_000, ctx.signal);
  rec.add('rejoined', Date.now(), old, `${old}'s host back: link up, pgbouncer, repmgr node rejoin --force-rewind (a standby of ${p}), keepalived BACKUP; the VIP on ${p} alone`);
  if ((await c.inRecovery(old)) !== true) throw new Error(`${old} is not in recovery after its host came back`);
  assertStayed(ctx, p, back);
  ctx.down = null;
}

export const keepalivedDrill: ToolDrill<'keepalived', KeepalivedCluster> = {
  tool: 'keepalived',
  build: ({ hook, log, label }) => KeepalivedCluster.create({ hook, log, label }),
  nodes: (c) => c.nodes,
  initialPrimary: (c) => c.repmgr.primary(),
  roleOf: (c, node) => pgRole(c, node),
  // the keepalived + repmgr + pgbouncer pattern: clients reach the endpoint node's pgbouncer
  clientTarget: (c, node) => ({ node, kind: 'pgbouncer', host: '127.0.0.1', port: c.pgbouncerPort(node), dbname: PGBOUNCER_DB, user: 'postgres' }),
  pgServers: (c) => c.nodes.map((n) => ({ name: n.name, port: n.port })),
  scenarios: { failover, 'standby-master': standbyMaster, 'old-primary-returns': oldPrimaryReturns, 'node-crash': nodeCrash },
};
