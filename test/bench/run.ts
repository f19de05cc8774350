/**
 * `npm run bench`: failover latency on the local stack, for each latency profile of the local AWS endpoint
 * (`instant`, then `aws` with Route 53 INSYNC shortened to VIPSWITCH_R53_INSYNC_MS, default 3000), one local stack
 * per profile, against the shell-script baseline in the same run and profile.
 *
 * Per profile:
 *  - one cluster with every mechanism (both route tables, Elastic IP, secondary IP, Route 53 writer; waitForInsync
 *    off): per promotion, a cold `vipswitch-hook repmgr … standby_promote` (node2 and node3 in turn, timeline + 1
 *    each time): caller blocked (spawn → exit), hook → each mechanism moved (endpoint state, polled on every
 *    event-loop turn), hook → all moved, hook → verified (status API `converged` for the new epoch);
 *  - the baseline, interleaved sample by sample with those promotions so load drift hits both alike:
 *    `aws ec2 create-route || aws ec2 replace-route` (Debian awscli) per route table, sequentially (baseline.ts);
 *  - after each promotion, a cold `vipswitch-hook --version` (node start + bundle load): the floor under "blocked";
 *  - a small Route 53 cluster with waitForInsync on: hook → verified including INSYNC;
 *  - a breakdown of the path from the hook's log, the stream trigger, the endpoint's call log and since/at.
 * The first 2 samples of each scenario warm up and are discarded.
 *
 * Environment: BENCH_N (instant, default 30), BENCH_N_AWS (aws, default 15), BENCH_BASELINE_N (baseline, default the
 * profile's n), BENCH_INSYNC_N (default 5), BENCH_PROFILES (default "instant,aws"), VIPSWITCH_R53_INSYNC_MS,
 * VIPSWITCH_DESCRIBE_LAG_MS (aws profile), VIPSWITCH_STACK_LOG=<file> (keep the stack's output).
 *
 * Writes bench/results/latest.json and bench/results/<time>.json, and prints one section per profile.
 */
import { execFile } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { latencyProfileFromEnv, type LatencyProfile } from '../../local/aws-endpoint/index';
import { repoRoot } from '../../local/root';
import { startLocalStack, type LocalStack } from '../../local/stack';
import type { EndpointConfig } from '../../shared/domain/cluster';
import { exampleTopology, registerCluster, settled, type TestCluster } from '../support/local';
import { AWS_CLI, baselineMove, checkAwsCli, type BaselineSample } from './baseline';
import { buildReport, formatProfile, writeReport, type Load, type ProfileReport, type ProfileRun } from './report';
import { hookFloorMs, promotions, type PromotionSample } from './vipswitch';

const run = promisify(execFile);
const WARM_UP = 2;

function count(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return n;
}

interface ProfilePlan {
  name: 'instant' | 'aws';
  latency: LatencyProfile;
  n: number;
  baselineN: number;
  insyncN: number;
}

function plans(): ProfilePlan[] {
  const wanted = (process.env.BENCH_PROFILES ?? 'instant,aws').split(',').map((s) => s.trim()).filter(Boolean);
  const insyncN = count('BENCH_INSYNC_N', 5);
  const all: ProfilePlan[] = [];
  for (const name of wanted) {
    if (name === 'instant') {
      const n = count('BENCH_N', 30);
      all.push({ name, latency: latencyProfileFromEnv({ VIPSWITCH_LATENCY: 'instant' }), n, baselineN: count('BENCH_BASELINE_N', n), insyncN });
    } else if (name === 'aws') {
      const n = count('BENCH_N_AWS', 15);
      const latency = latencyProfileFromEnv({ VIPSWITCH_LATENCY: 'aws', VIPSWITCH_R53_INSYNC_MS: process.env.VIPSWITCH_R53_INSYNC_MS || '3000', VIPSWITCH_DESCRIBE_LAG_MS: process.env.VIPSWITCH_DESCRIBE_LAG_MS });
      all.push({ name, latency, n, baselineN: count('BENCH_BASELINE_N', n), insyncN });
    } else {
      throw new Error(`BENCH_PROFILES: unknown profile "${name}" (instant, aws)`);
    }
  }
  return all;
}

/** The example topology's Elastic IP, secondary IP and private hosted zone. */
const ZONE = 'Z0123456789ABCDEFGHIJ';
const ALL_MECHANISMS = {
  elasticIp: { allocationId: 'eipalloc-0a1b2c3d4e5f60001' },
  secondaryIp: { address: '10.0.1.100' },
  route53: { hostedZoneId: ZONE, writerRecord: 'writer.db.example.internal.', ttl: 10, waitForInsync: false, insyncTimeoutSeconds: 10 },
};
const INSYNC = { route53: { hostedZoneId: ZONE, writerRecord: 'writer-insync.db.example.internal.', ttl: 10, waitForInsync: true, insyncTimeoutSeconds: 30 } };
/** The baseline moves the example topology's own VIP route (present in both tables, on node1 at start). */
const BASELINE_VIP = '10.0.255.10';

const endpointsOf = (cluster: TestCluster, extra: Record<string, unknown>): EndpointConfig => ({ routeTables: { vip: cluster.vip, routeTableIds: cluster.routeTableIds }, ...extra }) as EndpointConfig;
const progress = (text: string) => process.stderr.write(`\r${text}\x1b[K`);
const loadNow = (): Load => ({ loadavg: loadavg().map((x) => Math.round(x * 100) / 100), at: new Date().toISOString() });

/** A sample that failed (the local stack stalled, a CLI failed): kept in the report, not in the figures. */
interface Failure {
  scenario: string;
  round: number;
  at: string;
  error: string;
}

/** The stack did not come back after a failed sample: the profile stops with what it has. */
class ProfileAborted extends Error {}

async function benchProfile(plan: ProfilePlan, log: ((line: string) => void) | undefined): Promise<ProfileRun> {
  const before = loadNow();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  progress(`${plan.name}: starting the local stack…`);
  const stack: LocalStack = await startLocalStack({ topology: await exampleTopology(), latency: plan.latency, schedule: false, log });
  const out: Pick<ProfileRun, 'promotions' | 'insync' | 'baseline' | 'hookFloorMs' | 'failures'> & { aborted: string | null } = { promotions: [], insync: [], baseline: [], hookFloorMs: [], failures: [], aborted: null };
  const clusters: TestCluster[] = [];

  /**
   * One sample; a failure is recorded, then the cluster is given time to settle (the stream trigger retries a failed
   * invocation) so that the next sample starts from a converged endpoint. No recovery in 2 minutes ends the profile.
   */
  const attempt = async <T>(scenario: string, round: number, take: () => Promise<T>, cluster: TestCluster | null): Promise<T | null> => {
    try {
      return await take();
    } catch (error) {
      const failure = { scenario, round, at: new Date().toISOString(), error: String((error as Error)?.stack ?? error).slice(0, 4000) };
      out.failures.push(failure);
      process.stderr.write(`\n${plan.name}: ${scenario} round ${round} failed (kept out of the figures, see failures in the JSON):\n${failure.error.slice(0, 1500)}\n`);
      if (cluster) {
        try {
          await settled(stack, cluster, 120_000);
        } catch (settleError) {
          throw new ProfileAborted(`${scenario} round ${round}: the stack did not recover: ${(settleError as Error).message}`);
        }
      }
      return null;
    }
  };

  try {
    const all = await registerCluster(stack, { endpoints: ALL_MECHANISMS });
    clusters.push(all);
    const runner = await promotions(stack, all, endpointsOf(all, ALL_MECHANISMS));
    const baselineEnis = [all.nodes.node2!.eni, all.nodes.node3!.eni];
    const rounds = Math.max(plan.n, plan.baselineN) + WARM_UP;
    for (let i = 0; i < rounds; i++) {
      if (i < plan.n + WARM_UP) {
        const sample = await attempt('all mechanisms', i, () => runner.next(), all);
        const floor = await hookFloorMs();
        if (i >= WARM_UP && sample) {
          out.promotions.push(sample);
          out.hookFloorMs.push(floor);
        }
      }
      if (i < plan.baselineN + WARM_UP) {
        const sample = await attempt('baseline', i, () => baselineMove(stack, BASELINE_VIP, all.routeTableIds, baselineEnis[i % 2]!), null);
        if (i >= WARM_UP && sample) out.baseline.push(sample);
      }
      progress(`${plan.name}: all mechanisms + baseline ${i + 1}/${rounds}`);
    }
    const insync = await registerCluster(stack, { endpoints: INSYNC });
    clusters.push(insync);
    const insyncRunner = await promotions(stack, insync, endpointsOf(insync, INSYNC));
    for (let i = 0; i < plan.insyncN + WARM_UP; i++) {
      const sample = await attempt('Route 53 waitForInsync', i, () => insyncRunner.next(), insync);
      if (i >= WARM_UP && sample) out.insync.push(sample);
      progress(`${plan.name}: Route 53 waitForInsync ${i + 1}/${plan.insyncN + WARM_UP}`);
    }
  } catch (error) {
    if (!(error instanceof ProfileAborted)) {
      await stack.stop();
      throw error;
    }
    out.aborted = error.message;
    process.stderr.write(`\n${plan.name}: profile aborted, reporting what was measured: ${error.message}\n`);
  } finally {
    progress('');
    for (const c of clusters) await c.cleanup();
  }
  const routeMutationMs = stack.aws
    .calls()
    .filter((c) => c.service === 'ec2' && (c.action === 'ReplaceRoute' || c.action === 'CreateRoute') && c.ms !== null)
    .map((c) => c.ms!);
  await stack.stop();
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  return {
    profile: plan.name,
    latency: plan.latency,
    load: { before, after: loadNow() },
    benchCpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    wallSeconds: wallMs / 1000,
    ...out,
    routeMutationMs,
  };
}

async function main(): Promise<void> {
  const root = repoRoot();
  const list = plans();
  await checkAwsCli();
  await run(process.execPath, [join(root, 'scripts/build-hook.mjs')]);
  const logFile = process.env.VIPSWITCH_STACK_LOG;
  const log = logFile ? (line: string) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`) : undefined;
  const at = new Date().toISOString();
  const awsCli = (await run(AWS_CLI, ['--version'])).stdout.trim();
  const machine = { node: process.version, platform: process.platform, release: release(), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, totalMemMiB: Math.round(totalmem() / 2 ** 20), loadavgAtStart: loadNow().loadavg, awsCli };
  console.log(`vipswitch bench ${at}: node ${machine.node}, ${machine.cpus} × ${machine.cpuModel}, load average ${machine.loadavgAtStart.join(' ')} (other engineers may be running tests)`);
  const profiles: ProfileReport[] = [];
  const errors: { profile: string; error: string }[] = [];
  for (const plan of list) {
    try {
      const report = buildReport(await benchProfile(plan, log));
      profiles.push(report);
      console.log(`\n${formatProfile(report)}`);
    } catch (error) {
      errors.push({ profile: plan.name, error: String((error as Error)?.stack ?? error) });
      console.log(`\n== profile ${plan.name} == FAILED: ${String((error as Error)?.message ?? error)}`);
    }
  }
  const paths = await writeReport(join(root, 'bench/results'), {
    at,
    machine: { ...machine, loadavgAtEnd: loadNow().loadavg },
    settings: { warmUpDiscarded: WARM_UP, plans: list.map(({ name, n, baselineN, insyncN }) => ({ name, n, baselineN, insyncN })), percentiles: 'nearest rank' },
    profiles,
    errors,
  } as { at: string });
  const misses = profiles.flatMap((p) => p.targets.filter((t) => !t.pass).map((t) => `${p.profile}: ${t.label}`));
  console.log(`\n${misses.length === 0 ? 'every target PASS' : `MISS: ${misses.join('; ')}`}`);
  console.log(`written: ${paths.map((p) => p.slice(root.length + 1)).join(', ')}`);
  if (errors.length > 0) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
