/**
 * P5, the reconcile sweep: N clusters (default 1,000) × 3 route tables + an Elastic IP + an A record each, registered
 * on the local stack and converged by the actuator; then the reconcile Lambda is run (warm-up sweeps with nothing
 * drifted, then measured sweeps each after drifting 1 % of the clusters by hand: one target each, a route, the
 * Elastic IP or the record in turn). Per measured sweep: the Describe / List calls the local AWS endpoint received,
 * the mutations, the wall time (invoke → answer), the drift the sweep found and repaired, and whether every drifted
 * target really points at the primary again (the endpoint's own state).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { endpointView, pointsAt } from '../../local/endpoint-view';
import type { CallRecord } from '../../local/aws-endpoint/index';
import { invokeSweep, seedFleet, startFleetStack, type ReconcileAnswer } from './fleet-stack';
import { driftCluster, type DriftKind, type FleetCluster } from './fleet-topology';
import { round1, summarize, type Summary } from './stats';

export interface SweepRun {
  label: string;
  wallMs: number;
  /** Describe* / List* calls the endpoint received during the sweep, and all calls by action. */
  describeListCalls: number;
  calls: Record<string, number>;
  answer: Omit<ReconcileAnswer, 'clusters'>;
  /** Drift injected, and how much of it points at the primary again after the sweep (endpoint state). */
  drifted: number;
  repairedVerified: number;
}

export interface SweepReport {
  clusters: number;
  driftPercent: number;
  seedMs: number;
  warmUps: SweepRun[];
  runs: SweepRun[];
  wallMs: Summary | null;
}

const KINDS: DriftKind[] = ['route', 'elasticIp', 'record'];

function countCalls(calls: CallRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.action] = (out[c.action] ?? 0) + 1;
  return out;
}

export async function benchSweep(options: { clusters: number; driftPercent: number; runs: number; warmUps: number; progress?: (text: string) => void; log?: (line: string) => void }): Promise<SweepReport> {
  const progress = options.progress ?? (() => undefined);
  progress(`P5: starting the local stack with ${options.clusters} clusters' resources…`);
  const fleet = await startFleetStack({ clusters: options.clusters }, { log: options.log });
  const { stack, clusters } = fleet;
  const clientConfig = { endpoint: stack.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIABENCHDRIFT', secretAccessKey: 'bench' } };
  const ec2 = new EC2Client(clientConfig);
  const route53 = new Route53Client(clientConfig);
  try {
    const seedStarted = performance.now();
    await seedFleet(fleet, { progress: (done) => done % 100 === 0 && progress(`P5: registered and claimed ${done}/${clusters.length} (the actuator converges each)…`) });
    const seedMs = performance.now() - seedStarted;

    const sweep = async (label: string, drifted: FleetCluster[]): Promise<SweepRun> => {
      const mark = stack.aws.calls().at(-1)?.seq ?? 0;
      const t0 = performance.now();
      const answer = await invokeSweep(stack);
      const wallMs = performance.now() - t0;
      const calls = stack.aws.calls().filter((c) => c.seq > mark && c.accessKeyId !== clientConfig.credentials.accessKeyId);
      const state = stack.aws.state();
      const { clusters: _list, ...summary } = answer;
      return {
        label,
        wallMs: round1(wallMs),
        describeListCalls: calls.filter((c) => /^(Describe|List)/.test(c.action)).length,
        calls: countCalls(calls),
        answer: summary,
        drifted: drifted.length,
        repairedVerified: drifted.filter((c) => pointsAt(endpointView(state, c.config.endpoints), c.nodes[0]!)).length,
      };
    };

    const warmUps: SweepRun[] = [];
    for (let i = 0; i < options.warmUps; i++) {
      progress(`P5: warm-up sweep ${i + 1}/${options.warmUps} (nothing drifted)…`);
      warmUps.push(await sweep(i === 0 ? 'first sweep (cold function)' : 'warm, nothing drifted', []));
    }
    const runs: SweepRun[] = [];
    const perRun = Math.max(1, Math.round((clusters.length * options.driftPercent) / 100));
    for (let r = 0; r < options.runs; r++) {
      // Different clusters each run, spread over the fleet.
      const drifted = Array.from({ length: perRun }, (_, i) => clusters[(Math.floor((i * clusters.length) / perRun) + r * 7 + 3) % clusters.length]!);
      for (const [i, c] of drifted.entries()) await driftCluster({ ec2, route53 }, c, KINDS[(i + r) % KINDS.length]!);
      progress(`P5: measured sweep ${r + 1}/${options.runs} (${drifted.length} clusters drifted)…`);
      runs.push(await sweep(`${drifted.length} drifted`, drifted));
    }
    return { clusters: clusters.length, driftPercent: options.driftPercent, seedMs: round1(seedMs), warmUps, runs, wallMs: summarize(runs.map((r) => r.wallMs)) };
  } finally {
    ec2.destroy();
    route53.destroy();
    await stack.stop();
  }
}

export function formatSweep(r: SweepReport, targets: { calls: number; wallMs: number }): string {
  const lines = [
    `== P5 reconcile sweep: ${r.clusters} clusters × 3 route tables + 1 Elastic IP + 1 A record, ${r.driftPercent} % of the clusters drifted per run (seeded and converged in ${round1(r.seedMs / 1000)} s) ==`,
    `${'sweep'.padEnd(28)} ${'wall'.padStart(8)} ${'Describe/List'.padStart(14)} ${'mutations'.padStart(10)} ${'pages'.padStart(6)} ${'found'.padStart(6)} ${'repaired'.padStart(9)} ${'verified'.padStart(9)}  phases (list/load/observe/compare/repair ms)`,
  ];
  for (const s of [...r.warmUps, ...r.runs]) {
    // EC2 and Route 53 changes; the pages (SNS Publish) are counted apart.
    const mutations = Object.entries(s.calls)
      .filter(([a]) => !/^(Describe|List|Get|Publish)/.test(a))
      .reduce((n, [, k]) => n + k, 0);
    const p = (s.answer as { phases?: Record<string, number> }).phases ?? {};
    lines.push(
      `${s.label.padEnd(28)} ${`${round1(s.wallMs / 1000)} s`.padStart(8)} ${String(s.describeListCalls).padStart(14)} ${String(mutations).padStart(10)} ${String(s.calls.Publish ?? 0).padStart(6)} ${String(s.answer.drift.found).padStart(6)} ${String(s.answer.drift.repaired).padStart(9)} ${`${s.repairedVerified}/${s.drifted}`.padStart(9)}  ${[p.list, p.load, p.observe, p.compare, p.repair].join('/')}`,
    );
  }
  const worstCalls = Math.max(...r.runs.map((s) => s.describeListCalls));
  const allRepaired = r.runs.every((s) => s.repairedVerified === s.drifted && s.answer.drift.repaired >= s.drifted);
  lines.push(
    `targets: Describe/List ≤ ${targets.calls}: ${worstCalls} ${worstCalls <= targets.calls ? 'PASS' : 'MISS'}; wall ≤ ${targets.wallMs / 1000} s: p50 ${round1((r.wallMs?.p50 ?? NaN) / 1000)} s, max ${round1((r.wallMs?.max ?? NaN) / 1000)} s ${(r.wallMs?.max ?? Infinity) <= targets.wallMs ? 'PASS' : 'MISS'}; 100 % repaired: ${allRepaired ? 'PASS' : 'MISS'}`,
  );
  return lines.join('\n');
}
