/**
 * The drill's repmgr scenarios on a real repmgr 5.3 + repmgrd cluster: failover (kill -9 of the primary), split brain
 * (the old primary back without rejoin), rejoin, switchover back.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeInfo } from '../hook';
import { RepmgrCluster } from '../repmgr';
import { FatalWaitError, errMsg } from '../util';
import type { ScenarioRecorder } from './drill-report';
import type { DrillScenarioResult } from './drill-types';
import { answeredByServer, hookTime } from './hook-evidence';
import { hookSpoolDir } from './register-drill-cluster';
import { assertStayed, journalSince, measureMove, rejoinWithoutMove, solePrimary, storedEvent, verifyStayed, waitFor, pgRole, postgresTarget, type ScenarioContext, type ToolDrill } from './scenario-steps';

type Ctx = ScenarioContext<RepmgrCluster>;

/**
 * Waits until the cluster is healthy (one primary, every other node streaming, every repmgrd running). A repmgrd found
 * dead (while its PostgreSQL runs) is not vipswitch's doing — repmgr 5.3 can leave a sibling with a stale "follow node
 * X" notification that makes its repmgrd terminate at the next upstream loss — so it is recorded as a warning, with
 * the repmgrd log lines that say why, and started again; then the cluster must become healthy.
 */
async function settle(ctx: Ctx, opts: { ignore?: string[] } = {}): Promise<string> {
  const c = ctx.cluster;
  try {
    return await c.waitHealthy(30_000, opts);
  } catch (first) {
    const primary = (await solePrimary(ctx)).primary;
    if (!primary) throw first;
    const st = await c.repmgr(primary, ['service', 'status', '--csv'], 15_000, true);
    // --csv (5.3): id,name,role,pg_running,repmgrd_running,repmgrd_pid,paused,...
    const dead = st.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(','))
      .filter((r) => r[3] === '1' && r[4] === '0' && !(opts.ignore ?? []).includes(r[1]!))
      .map((r) => r[1]!);
    if (dead.length === 0) throw first;
    for (const node of dead) {
      const why = await repmgrdLastWords(ctx.nodeInfo(node));
      const warning = `repmgrd of ${node} was not running (PostgreSQL was); its log: ${why}; started it again`;
      ctx.warnings.push(warning);
      ctx.tl.log(`WARNING: ${warning}`);
      await c.startRepmgrd(node);
    }
    return c.waitHealthy(60_000, opts);
  }
}

/** The lines of a node's repmgrd.log that tell why it stopped (notification received, follow attempt, termination). */
async function repmgrdLastWords(node: NodeInfo): Promise<string> {
  try {
    const lines = (await readFile(join(node.dir, 'repmgrd.log'), 'utf8')).split('\n').slice(-60);
    return lines.filter((l) => /received notification|attempting to follow|\[ERROR\]|terminating/.test(l)).slice(-5).join(' | ') || '(nothing about it)';
  } catch (e) {
    return `(no repmgrd.log: ${errMsg(e)})`;
  }
}

async function failover(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const old = ctx.primary;
  // settle first (as killPostmaster does by default), so the kill itself is the action
  await c.settleWal(old).catch((e) => ctx.tl.log(`WAL of ${old} did not settle: ${errMsg(e)}`));
  await measureMove(ctx, rec, result, {
    from: old,
    detail: `kill -9 the postmaster of ${old}`,
    action: () => c.killPostmaster(old, { settle: false }),
    newPrimary: () => c.waitForPrimary(old, 60_000),
    settle: () => settle(ctx, { ignore: [old] }),
    detect: true,
  });
  ctx.down = old;
  ctx.lastFailedOver = old;
}

/**
 * The killed old primary started again as a primary, without rejoin: its claim (out of recovery, old timeline) is
 * answered 409 stale_claim, the page follows the answer, the endpoint stays — checked on every poll for observeMs.
 */
async function splitBrain(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const old = ctx.down;
  if (old === null) throw new Error('split-brain needs a failed old primary');
  const p = ctx.primary;
  await settle(ctx, { ignore: [old] });
  const t0 = rec.action(`start ${old} again as a primary, without rejoin (and its repmgrd)`);
  await c.startWithoutRejoin(old);
  rec.add('started', Date.now(), old, 'PostgreSQL and repmgrd up');
  const tlOld = await c.timeline(old).catch(() => null);
  ctx.tl.log(`split brain: ${old} (timeline ${tlOld ?? '?'}) and ${p} (timeline ${await c.timeline(p).catch(() => '?')}) both answer pg_is_in_recovery() = false`);
  const stale = await waitFor(ctx, `a stale_claim from ${old} in the journal`, 30_000, () => journalSince(ctx, t0).find((e) => e.node === old && e.outcome === 'stale_claim'), 100);
  const hook = hookTime(await storedEvent(ctx, stale.eventId), stale.at);
  rec.add('stale claim hook', hook.at, old, `${stale.type} (${hook.from}; out of recovery on timeline ${stale.facts?.timeline ?? '?'})`);
  // the journal entry is written before the answer reaches the hook, which then files it under spool/answered/
  const answer = await waitFor(ctx, `${old}'s hook to file the answer to ${stale.eventId}`, 10_000, () => answeredByServer(hookSpoolDir(ctx.nodeInfo(old)), stale.eventId), 100).catch(() => null);
  rec.add('rejected', stale.at, old, `HTTP ${answer?.status ?? '?'} ${answer?.code ?? stale.outcome} — ${stale.reason}`);
  // the actuator pages after the answer
  const page = await waitFor(ctx, 'the stale_claim page', 30_000, () => ctx.obs.pages.find((pg) => pg.at >= t0 && pg.type === 'stale_claim'), 100);
  rec.add('paged', page.at, old, `[${page.severity}/${page.type}] ${page.subject ?? ''}`);
  result.staleClaim = { node: old, type: stale.type, claimedTimeline: stale.facts?.timeline ?? null, status: answer?.status ?? null, code: answer?.code ?? null, paged: true };
  if (answer?.status !== 409 || answer.code !== 'stale_claim') throw new Error(`the hook of ${old} recorded ${answer ? `HTTP ${answer.status} ${answer.code}` : 'no answer'} for its stale claim, not 409 stale_claim`);

  // The observation window: on every poll the endpoint is still on the new primary.
  const windowStart = Date.now();
  await waitFor(ctx, `the end of the ${ctx.observeMs} ms observation window`, ctx.observeMs + 10_000, () => {
    const target = ctx.obs.sample();
    if (target !== p) throw new FatalWaitError(`during the split brain the endpoint left ${p}: it is on ${target ?? 'no single node'}`);
    return Date.now() - windowStart >= ctx.observeMs;
  });
  assertStayed(ctx, p, t0);
  const primary = ctx.obs.latest?.state.primary;
  if (primary !== p) throw new Error(`the fencing record names ${primary} as primary, not ${p}`);
  rec.add('observed', Date.now(), p, `endpoint stayed on ${p} for ${(ctx.observeMs / 1000).toFixed(1)} s of split brain; fencing record unchanged`);
  await c.stopRepmgrd(old);
  await c.stopPostgres(old);
  rec.add('stopped', Date.now(), old, 'repmgrd and PostgreSQL stopped');
  rec.add('verified', await verifyStayed(ctx, p), p, `endpoint stayed on ${p}; status converged`);
  assertStayed(ctx, p, t0);
}

async function switchover(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const from = ctx.primary;
  await settle(ctx);
  const to = ctx.lastFailedOver && ctx.lastFailedOver !== from ? ctx.lastFailedOver : ctx.names.find((n) => n !== from)!;
  await measureMove(ctx, rec, result, {
    from,
    detail: `repmgr standby switchover --siblings-follow on ${to}`,
    action: () => c.repmgr(to, ['standby', 'switchover', '--siblings-follow', '--verbose'], 120_000),
    newPrimary: () => waitFor(ctx, `${to} to be the only primary`, 60_000, async () => (await solePrimary(ctx)).primary === to && to, 100),
    settle: async () => {
      const healthy = await settle(ctx);
      if (healthy !== to) throw new Error(`after the switchover the primary is ${healthy}, not ${to}`);
    },
    detect: false,
  });
}

export const repmgrDrill: ToolDrill<'repmgr', RepmgrCluster> = {
  tool: 'repmgr',
  build: ({ hook, log, label }) => RepmgrCluster.create({ hook, log, cluster: label }),
  nodes: (c) => c.nodes,
  initialPrimary: (c) => c.primary(),
  roleOf: (c, node) => pgRole(c, node),
  clientTarget: (c, node) => postgresTarget(c.nodes, node),
  pgServers: (c) => c.nodes.map((n) => ({ name: n.name, port: n.port })),
  scenarios: {
    failover,
    'split-brain': splitBrain,
    rejoin: (ctx, rec) => rejoinWithoutMove(ctx, rec, `repmgr node rejoin --force-rewind of ${ctx.down}`, (n) => ctx.cluster.rejoin(n)),
    switchover,
  },
};
