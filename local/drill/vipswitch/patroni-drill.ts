/**
 * The drill's Patroni scenarios on a real Patroni 3.0 + etcd cluster: switchover, failover (kill -9 of the leader's
 * postmaster and Patroni), rejoin (the old leader's Patroni started again).
 */
import { PatroniCluster } from '../patroni';
import type { ScenarioRecorder } from './drill-report';
import type { DrillScenarioResult } from './drill-types';
import { measureMove, rejoinWithoutMove, solePrimary, waitFor, pgRole, postgresTarget, type ScenarioContext, type ToolDrill } from './scenario-steps';

type Ctx = ScenarioContext<PatroniCluster>;

async function switchover(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const from = await c.waitHealthy(60_000);
  if (from !== ctx.primary) throw new Error(`the leader is ${from}, the endpoint is on ${ctx.primary}`);
  const to = ctx.names[(ctx.names.indexOf(from) + 1) % ctx.names.length]!;
  await measureMove(ctx, rec, result, {
    from,
    detail: `patronictl switchover --leader ${from} --candidate ${to}`,
    action: () => c.patronictl(from, ['switchover', c.scope, '--leader', from, '--candidate', to, '--force'], 90_000),
    newPrimary: () => waitFor(ctx, `${to} to be the only primary`, 60_000, async () => (await solePrimary(ctx)).primary === to && to, 100),
    settle: async () => {
      const leader = await c.waitHealthy(60_000);
      if (leader !== to) throw new Error(`after the switchover the leader is ${leader}, not ${to}`);
    },
    detect: false,
  });
}

async function failover(ctx: Ctx, rec: ScenarioRecorder, result: DrillScenarioResult): Promise<void> {
  const c = ctx.cluster;
  const old = await c.waitHealthy(60_000);
  if (old !== ctx.primary) throw new Error(`the leader is ${old}, the endpoint is on ${ctx.primary}`);
  await measureMove(ctx, rec, result, {
    from: old,
    detail: `kill -9 the postmaster and the Patroni of the leader ${old}`,
    action: () => c.killLeaderHard(),
    newPrimary: () => c.waitForLeader(old, 60_000),
    settle: () => c.waitHealthy(60_000, ctx.names.filter((n) => n !== old)),
    detect: true,
  });
  ctx.down = old;
  ctx.lastFailedOver = old;
}

export const patroniDrill: ToolDrill<'patroni', PatroniCluster> = {
  tool: 'patroni',
  build: ({ hook, log }) => PatroniCluster.create({ hook, log }),
  nodes: (c) => c.members,
  initialPrimary: (c) => c.leader(),
  roleOf: (c, node) => pgRole(c, node),
  clientTarget: (c, node) => postgresTarget(c.members, node),
  pgServers: (c) => c.members.map((n) => ({ name: n.name, port: n.port })),
  scenarios: {
    switchover,
    failover,
    rejoin: (ctx, rec) => rejoinWithoutMove(ctx, rec, `start the Patroni of ${ctx.down} again`, (n) => ctx.cluster.restartMember(n)),
  },
};
