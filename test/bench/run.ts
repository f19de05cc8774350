/**
 * `npm run bench`: failover latency on the local stack, against the baseline in the same run.
 *
 *  - vipswitch/route-tables: a cold `vipswitch-hook repmgr ... standby_promote` process (as repmgr runs it) → the VIP
 *    route in both route tables points at the new primary (observed in the local EC2 endpoint's state).
 *  - vipswitch/all-mechanisms: the same, with route tables + Elastic IP + secondary IP + Route53 writer/reader.
 *  - baseline/aws-cli: what the shell scripts vipswitch replaces do: `aws ec2 replace-route` (Debian awscli) once per
 *    route table, sequentially, against the same local endpoint.
 *
 * Writes bench/results/<timestamp>.json and bench/results/latest.json, and prints a p50/p95/p99 table.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { endpointView, pointsAt } from '../../local/endpoint-view';
import { repoRoot } from '../../local/root';
import type { LocalStack } from '../../local/stack';
import { HOOK, primaryFacts, registerCluster, repmgrArgs, runHook, startTestStack, type TestCluster, type TestNode } from '../support/local';

const run = promisify(execFile);
const N = Number(process.env.BENCH_N ?? 50);
const N_BASELINE = Number(process.env.BENCH_BASELINE_N ?? 20);

interface Stats {
  scenario: string;
  n: number;
  p50: number;
  p95: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

function stats(scenario: string, samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { scenario, n: s.length, p50: round(q(50)), p95: round(q(95)), p99: round(q(99)), min: round(s[0]!), max: round(s.at(-1)!), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

/** Spawn the hook and resolve when `moved()` first holds (polled on every event-loop turn), in ms. */
async function timeHookToMoved(node: TestNode, timeline: number, moved: () => boolean): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [HOOK, '--config', node.configPath, '--facts-json', JSON.stringify(primaryFacts(timeline)), 'repmgr', ...repmgrArgs(node, 'standby_promote')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = started + 15_000;
  while (!moved()) {
    if (performance.now() > deadline) throw new Error(`endpoint did not move to ${node.name} within 15 s; hook said: ${stderr}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const ms = performance.now() - started;
  await exited;
  return ms;
}

async function benchVipswitch(stack: LocalStack, cluster: TestCluster, endpoints: Record<string, unknown>, label: string): Promise<number[]> {
  const config = { routeTables: { vip: cluster.vip, routeTableIds: cluster.routeTableIds }, ...endpoints } as never;
  const samples: number[] = [];
  let timeline = 1;
  await runHook(cluster.nodes.node1!, repmgrArgs(cluster.nodes.node1!, 'repmgrd_start'), primaryFacts(timeline));
  for (let i = 0; i < N + 2; i++) {
    const node = i % 2 === 0 ? cluster.nodes.node2! : cluster.nodes.node3!;
    timeline += 1;
    const ms = await timeHookToMoved(node, timeline, () => pointsAt(endpointView(stack.aws.state(), config), node));
    if (i >= 2) samples.push(ms); // the first two warm the Lambda and the clients
    process.stderr.write(`\r${label}: ${i + 1}/${N + 2}`);
  }
  process.stderr.write('\n');
  return samples;
}

async function benchAwsCli(stack: LocalStack, cluster: TestCluster): Promise<number[]> {
  const samples: number[] = [];
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIALOCAL', AWS_SECRET_ACCESS_KEY: 'local', AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '' };
  for (let i = 0; i < N_BASELINE; i++) {
    const node = i % 2 === 0 ? cluster.nodes.node2! : cluster.nodes.node3!;
    const started = performance.now();
    for (const table of cluster.routeTableIds) {
      await run('/usr/bin/aws', ['--endpoint-url', stack.aws.url, 'ec2', 'replace-route', '--route-table-id', table, '--destination-cidr-block', `${cluster.vip}/32`, '--network-interface-id', node.eni], { env });
    }
    samples.push(performance.now() - started);
    process.stderr.write(`\rbaseline/aws-cli: ${i + 1}/${N_BASELINE}`);
  }
  process.stderr.write('\n');
  return samples;
}

async function main(): Promise<void> {
  const stack = await startTestStack();
  const results: Stats[] = [];
  try {
    const routeOnly = await registerCluster(stack);
    results.push(stats('vipswitch/route-tables (hook → route moved)', await benchVipswitch(stack, routeOnly, {}, 'vipswitch/route-tables')));
    const all = await registerCluster(stack, {
      endpoints: {
        elasticIp: { allocationId: 'eipalloc-0a1b2c3d4e5f60001' },
        secondaryIp: { address: '10.0.1.100' },
        route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', writerRecord: 'writer.db.example.internal.', ttl: 10, waitForInsync: false, insyncTimeoutSeconds: 10 },
      },
    });
    results.push(
      stats(
        'vipswitch/all-mechanisms (hook → all four moved)',
        await benchVipswitch(stack, all, { elasticIp: { allocationId: 'eipalloc-0a1b2c3d4e5f60001' }, secondaryIp: { address: '10.0.1.100' }, route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', writerRecord: 'writer.db.example.internal.', ttl: 10, waitForInsync: false, insyncTimeoutSeconds: 10 } }, 'vipswitch/all-mechanisms'),
      ),
    );
    results.push(stats('baseline/aws-cli replace-route × 2 tables', await benchAwsCli(stack, routeOnly)));
    await routeOnly.cleanup();
    await all.cleanup();
  } finally {
    await stack.stop();
  }
  const baseline = results.find((r) => r.scenario.startsWith('baseline'))!;
  const dir = join(repoRoot(), 'bench/results');
  await mkdir(dir, { recursive: true });
  const report = { at: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, results, vsBaseline: results.map((r) => ({ scenario: r.scenario, p50Ratio: Math.round((r.p50 / baseline.p50) * 100) / 100 })) };
  const json = JSON.stringify(report, null, 2);
  await writeFile(join(dir, `${report.at.replace(/[:.]/g, '-')}.json`), json);
  await writeFile(join(dir, 'latest.json'), json);
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  console.log(`\n${'scenario'.padEnd(48)}${pad('n', 5)}${pad('p50 ms', 10)}${pad('p95 ms', 10)}${pad('p99 ms', 10)}${pad('vs baseline p50', 18)}`);
  for (const r of results) console.log(`${r.scenario.padEnd(48)}${pad(r.n, 5)}${pad(r.p50, 10)}${pad(r.p95, 10)}${pad(r.p99, 10)}${pad(`${(r.p50 / baseline.p50).toFixed(2)}×`, 18)}`);
  console.log(`\nwritten: bench/results/latest.json`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
