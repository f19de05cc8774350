/**
 * `npm run bench:fleet`: the fleet figures of issue 11, on the local stack of this machine.
 *  - P5 reconcile sweep (fleet-sweep.ts): 1,000 clusters × 3 route tables + 1 Elastic IP + 1 A record, 1 % drifted;
 *    Describe/List calls, wall time, drift found and repaired. Targets: ≤ 20 calls, ≤ 5 s, 100 % repaired.
 *  - P4 ingest throughput (fleet-load.ts): 100 clusters, claims / re-assertions / informational events from a separate
 *    process; events/s and p50/p99. Targets: ≥ 300 events/s with p99 ≤ 250 ms.
 *  - Cold start and size (fleet-cold-start.ts): each Lambda bundled exactly as serverless.yml deploys it; size and the
 *    import time in a fresh node. Targets: ≤ 500 KB, ≤ 150 ms.
 *
 * Environment: BENCH_FLEET=p5,p4,cold (which parts, default all), BENCH_FLEET_CLUSTERS (1000), BENCH_DRIFT_PERCENT (1),
 * BENCH_P5_RUNS (3), BENCH_P5_WARMUPS (2), BENCH_P4_CLUSTERS (100), BENCH_P4_EVENTS (6000), BENCH_P4_CONCURRENCY (32),
 * BENCH_P4_STEADY_RATE (the mix again, open loop at that rate, for the latency below saturation; default half of
 * what the closed loop carried),
 * BENCH_COLD_RUNS (7), VIPSWITCH_STACK_LOG=<file>.
 * Writes bench/results/fleet-latest.json and bench/results/fleet-<time>.json.
 */
import { appendFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../local/root';
import { coldStartAndSize, formatColdStart, type ColdStartReport } from './fleet-cold-start';
import { benchLoad, formatLoad, type LoadReport } from './fleet-load';
import { benchSweep, formatSweep, type SweepReport } from './fleet-sweep';

const TARGETS = {
  p5: { calls: 20, wallMs: 5000 },
  p4: { eventsPerSecond: 300, p99Ms: 250 },
  cold: { bytes: 500 * 1024, initMs: 150 },
} as const;

function count(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${text}"`);
  return n;
}

const progress = (text: string) => process.stderr.write(`\r${text}\x1b[K`);
const loadNow = () => loadavg().map((x) => Math.round(x * 100) / 100);

async function main(): Promise<void> {
  const root = repoRoot();
  const parts = new Set((process.env.BENCH_FLEET ?? 'p5,p4,cold').split(',').map((s) => s.trim()));
  const logFile = process.env.VIPSWITCH_STACK_LOG;
  const log = logFile ? (line: string) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`) : undefined;
  const at = new Date().toISOString();
  const machine = { node: process.version, platform: process.platform, release: release(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, totalMemMiB: Math.round(totalmem() / 2 ** 20), loadavgAtStart: loadNow() };
  console.log(`vipswitch fleet bench ${at}: node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, load average ${machine.loadavgAtStart.join(' ')} (other engineers may be running stacks too)`);
  const report: { at: string; machine: typeof machine & { loadavgAtEnd?: number[] }; targets: typeof TARGETS; p5?: SweepReport; p4?: LoadReport; cold?: ColdStartReport; errors: { part: string; error: string }[] } = { at, machine, targets: TARGETS, errors: [] };
  const attempt = async (part: string, body: () => Promise<void>) => {
    try {
      await body();
    } catch (error) {
      report.errors.push({ part, error: String((error as Error)?.stack ?? error) });
      console.log(`\n== ${part} == FAILED: ${String((error as Error)?.message ?? error)}`);
    } finally {
      progress('');
    }
  };
  if (parts.has('p5')) {
    await attempt('P5', async () => {
      report.p5 = await benchSweep({ clusters: count('BENCH_FLEET_CLUSTERS', 1000), driftPercent: count('BENCH_DRIFT_PERCENT', 1), runs: count('BENCH_P5_RUNS', 3), warmUps: count('BENCH_P5_WARMUPS', 2), progress, log });
      progress('');
      console.log(`\n${formatSweep(report.p5, TARGETS.p5)}`);
    });
  }
  if (parts.has('p4')) {
    await attempt('P4', async () => {
      const claims = 0.1;
      report.p4 = await benchLoad({ root, clusters: count('BENCH_P4_CLUSTERS', 100), events: count('BENCH_P4_EVENTS', 6000), concurrency: count('BENCH_P4_CONCURRENCY', 32), mix: { claims, reassertions: 0.3 }, ...(process.env.BENCH_P4_STEADY_RATE ? { steadyRate: count('BENCH_P4_STEADY_RATE', 1) } : {}), progress, log });
      progress('');
      console.log(`\n${formatLoad(report.p4, TARGETS.p4)}`);
    });
  }
  if (parts.has('cold')) {
    await attempt('cold start', async () => {
      progress('cold start: bundling and importing each function…');
      report.cold = await coldStartAndSize(root, count('BENCH_COLD_RUNS', 7));
      progress('');
      console.log(`\n${formatColdStart(report.cold, TARGETS.cold)}`);
    });
  }
  report.machine.loadavgAtEnd = loadNow();
  const dir = join(root, 'bench/results');
  await mkdir(dir, { recursive: true });
  const body = `${JSON.stringify(report, null, 2)}\n`;
  const stamped = join(dir, `fleet-${at.replace(/[:.]/g, '-')}.json`);
  await writeFile(stamped, body);
  await writeFile(join(dir, 'fleet-latest.json'), body);
  console.log(`\nload average at the end ${report.machine.loadavgAtEnd.join(' ')}; written: ${stamped.slice(root.length + 1)}, bench/results/fleet-latest.json`);
  if (report.errors.length > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
