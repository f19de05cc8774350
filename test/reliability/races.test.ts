/**
 * R1, races (issue 10): random schedules of claims from three nodes (newer, equal and older timelines, duplicates,
 * reordering, racing ingests) interleaved with extra actuator runs, reconcile passes and drift, run with REAL
 * concurrency: the app functions in process (ingest: authenticate → validate → processEvent; the actuator:
 * reactToChanges / converge with the real EC2 and Route 53 actuators, invoked by the local stream trigger; reconcile:
 * converge with `fresh`) against DynamoDB Local and the local AWS endpoint, one cluster per schedule, many at once.
 * Two profiles: `instant`, and the AWS-like one (call latencies, Describe lag, Route 53 INSYNC shortened to 0.5–1.5 s).
 * The whole HTTP path (signed POSTs, serverless-offline, the actuate and reconcile Lambdas) is races-http.test.ts.
 *
 *   CI form (npm test):   1,000 schedules (700 instant, 300 AWS-like)
 *   long form:            10,000 (npm run reliability sets VIPSWITCH_RELIABILITY=long), or VIPSWITCH_R1_N=<n>
 *   run seed:             VIPSWITCH_R1_SEED=<seed> (printed by every run)
 *   replay one schedule:  VIPSWITCH_R1_REPLAY=<schedule seed> VIPSWITCH_R1_PROFILE=instant|aws (printed with a violation)
 *
 * Invariants and windows: test/reliability/support/invariants.ts. Figures: bench/results/reliability/r1-races.json.
 */
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local';
import { freePort } from '../../local/ports';
import { checkTrace, type Verdict, type Window } from './support/invariants';
import { scheduleSeed } from './support/prng';
import { distribution, pool, publish, table } from './support/report';
import { awsLikeProfile, startRig, type Rig } from './support/rig';
import { runSchedule, type Trace } from './support/run-schedule';
import { describeSchedule, makeSchedule, type Profile } from './support/schedule';

const LONG = process.env.VIPSWITCH_RELIABILITY === 'long';
const N = Number(process.env.VIPSWITCH_R1_N ?? (LONG ? 10_000 : 1000));
const AWS_SHARE = Number(process.env.VIPSWITCH_R1_AWS_SHARE ?? 0.3);
const RUN_SEED = Number(process.env.VIPSWITCH_R1_SEED ?? Date.now() % 2_147_483_647);
const REPLAY = process.env.VIPSWITCH_R1_REPLAY === undefined ? null : Number(process.env.VIPSWITCH_R1_REPLAY);
const REPLAY_PROFILE = (process.env.VIPSWITCH_R1_PROFILE ?? 'instant') as Profile;
const CONCURRENCY: Record<Profile, number> = { instant: Number(process.env.VIPSWITCH_R1_CONCURRENCY ?? 24), aws: Number(process.env.VIPSWITCH_R1_AWS_CONCURRENCY ?? 32) };
const INSYNC = { minMs: 500, maxMs: 1500 };
/** Schedules per DynamoDB Local process (see runChunk). */
const CHUNK = Number(process.env.VIPSWITCH_R1_CHUNK ?? 250);
/**
 * The app's AWS call bounds. The Lambdas' defaults (1 s connect, 3 s per attempt) are sized for AWS; on a shared
 * 2-core machine DynamoDB Local (Java) can stall past them, which would test the machine, not the product. Same
 * retry policy, longer timeouts (AWS_REQUEST_TIMEOUT_MS does the same for a deployment).
 */
const BOUNDS = { maxAttempts: 4, requestTimeoutMs: 10_000, connectionTimeoutMs: 5000 };

/** What is kept of one schedule (traces are dropped: 10,000 of them would not fit). */
interface Outcome {
  seed: number;
  profile: Profile;
  verdict: Verdict;
  calls: number;
  stale: number;
  steps: Record<string, number>;
  route53: boolean;
  ms: number;
}

function outcomeOf(seed: number, profile: Profile, trace: Trace, verdict: Verdict, ms: number): Outcome {
  const steps: Record<string, number> = {};
  for (const s of trace.schedule.steps) steps[s.op] = (steps[s.op] ?? 0) + 1;
  return { seed, profile, verdict, calls: trace.sends.length, stale: trace.sends.filter((s) => s.answer.body.code === 'stale_claim').length, steps, route53: trace.schedule.route53, ms };
}

function plan(): { profile: Profile; seeds: number[] }[] {
  if (REPLAY !== null) return [{ profile: REPLAY_PROFILE, seeds: [REPLAY] }];
  const aws = Math.round(N * AWS_SHARE);
  const seeds = Array.from({ length: N }, (_, i) => scheduleSeed(RUN_SEED, i));
  return [
    { profile: 'instant', seeds: seeds.slice(aws) },
    { profile: 'aws', seeds: seeds.slice(0, aws) },
  ];
}

function report(outcomes: Outcome[], wallMs: Record<string, number>, extra: Record<string, unknown>): void {
  const rows: (string | number | null)[][] = [['profile', 'schedules', 'violations', 'calls', 'accepted', 'stale 409', 'duplicates', 'reconciles', 'extra actuations', 'drift', 'actuator alone', 'left to reconcile', 'lag p50 ms', 'lag p99 ms', 'lag max ms', 'takebacks', 'takeback max ms', 'drift heal max ms']];
  const byProfile: Record<string, unknown> = {};
  for (const profile of ['instant', 'aws'] as const) {
    const list = outcomes.filter((o) => o.profile === profile);
    if (list.length === 0) continue;
    const windows = list.flatMap((o) => o.verdict.windows);
    const of = (kind: Window['kind']) => windows.filter((w) => w.kind === kind).map((w) => w.ms);
    const sum = (key: string) => list.reduce((n, o) => n + (o.verdict.counts[key] ?? 0), 0);
    const steps = (op: string) => list.reduce((n, o) => n + (o.steps[op] ?? 0), 0);
    const calls = list.reduce((n, o) => n + o.calls, 0);
    const stale = list.reduce((n, o) => n + o.stale, 0);
    const lag = distribution(of('lag'));
    const takeback = distribution(of('takeback'));
    const drift = distribution(of('drift'));
    const violations = list.filter((o) => o.verdict.violations.length > 0).length;
    const worst = [...windows].filter((w) => w.kind !== 'drift').sort((a, b) => b.ms - a.ms)[0];
    byProfile[profile] = {
      schedules: list.length,
      schedulesWithViolations: violations,
      wallMs: wallMs[profile],
      calls,
      accepted: sum('accepted'),
      staleClaims: stale,
      duplicatesAnswered: sum('duplicates answered'),
      gaveUpAfterCommitRaces: list.reduce((n, o) => n + o.verdict.gaveUp, 0),
      epochReadsChecked: sum('epoch reads'),
      convergedByTheActuatorAlone: sum('converged by the actuator alone'),
      leftToReconcile: { actuationFailed: sum('left to reconcile (actuation failed)'), drift: sum('left to reconcile (drift)') },
      reconcilePasses: steps('reconcile'),
      extraActuations: steps('actuate'),
      driftInjected: steps('drift'),
      route53Schedules: list.filter((o) => o.route53).length,
      windowsMs: { lag: lag, takeback: takeback, driftHeal: drift },
      longestBehind: worst ? { ms: Math.round(worst.ms), kind: worst.kind, seed: list.find((o) => o.verdict.windows.includes(worst))?.seed } : null,
      takebacks: list.flatMap((o) => o.verdict.windows.filter((w) => w.kind === 'takeback').map((w) => ({ seed: o.seed, ms: Math.round(w.ms), detail: w.detail }))).sort((a, b) => b.ms - a.ms).slice(0, 5),
      scheduleMs: distribution(list.map((o) => o.ms)),
    };
    rows.push([profile, list.length, violations, calls, sum('accepted'), stale, sum('duplicates answered'), steps('reconcile'), steps('actuate'), steps('drift'), sum('converged by the actuator alone'), sum('left to reconcile (actuation failed)') + sum('left to reconcile (drift)'), lag.p50, lag.p99, lag.max, takeback.n, takeback.max, drift.max]);
  }
  const failing = outcomes.filter((o) => o.verdict.violations.length > 0);
  publish(
    'r1-races',
    { runSeed: RUN_SEED, replay: REPLAY, schedules: outcomes.length, violations: failing.reduce((n, o) => n + o.verdict.violations.length, 0), byProfile, ...extra, failing: failing.slice(0, 20).map((o) => ({ seed: o.seed, profile: o.profile, violations: o.verdict.violations })) },
    table(rows),
  );
}

describe('R1: races — fencing, ordering and convergence under real concurrency (in process)', () => {
  let ddb: DynamoDbLocal | undefined;
  const outcomes: Outcome[] = [];
  const wallMs: Record<string, number> = {};
  const observer: Record<string, unknown> = {};

  beforeAll(() => {
    process.stdout.write(`R1: run seed ${RUN_SEED} (replay the run with VIPSWITCH_R1_SEED=${RUN_SEED})\n`);
  });

  afterAll(async () => {
    if (outcomes.length > 0) report(outcomes, wallMs, { observer });
    await ddb?.stop();
  }, 60_000);

  const phases = plan().filter((p) => p.seeds.length > 0);
  const title = phases.map((p) => `${p.seeds.length} ${p.profile}`).join(' + ');

  /**
   * One chunk of a profile's schedules on its own DynamoDB Local and rig (own table, own AWS endpoints),
   * `CONCURRENCY[profile]` at a time. A fresh DynamoDB Local per CHUNK schedules: DynamoDB Local answers
   * DescribeStream (the local stream trigger asks every second) by scanning every stream record on its one SQLite
   * thread, so a stream of tens of thousands of records stalls every other call behind it.
   */
  async function runChunk(profile: Profile, seeds: number[], offset: number, stats: ChunkStats): Promise<string[]> {
    const triggerLog: string[] = [];
    ddb = await startDynamoDbLocal(await freePort());
    const rig: Rig = await startRig({ log: (line) => triggerLog.push(`${new Date().toISOString()} ${line}`), dynamodbEndpoint: ddb.endpoint, tableName: `r1-${profile}-${RUN_SEED}`, slots: CONCURRENCY[profile], latency: profile === 'instant' ? 'instant' : awsLikeProfile(INSYNC), seed: RUN_SEED + offset, bounds: BOUNDS });
    try {
      const mine = await pool(seeds, CONCURRENCY[profile], async (seed, i, slot) => {
        const index = offset + i;
        const schedule = makeSchedule(seed, profile);
        const t = performance.now();
        const trace = await runSchedule(rig, schedule, { slot, index, settleMs: profile === 'instant' ? 30_000 : 60_000, sendMs: 120_000 });
        const verdict = checkTrace(trace);
        const debug = process.env.VIPSWITCH_R1_DEBUG !== undefined && verdict.windows.some((w) => w.kind === 'takeback' && w.ms > Number(process.env.VIPSWITCH_R1_DEBUG));
        if (debug) {
          const cidr = `${trace.cluster.vip}/32`;
          const calls = rig.ec2Aws.calls().filter((c) => c.params.DestinationCidrBlock === cidr);
          process.stdout.write(`R1 DEBUG ${seed}: ${JSON.stringify(verdict.windows.filter((w) => w.kind === 'takeback'))}\n  ec2: ${calls.map((c) => `#${c.seq} ${c.action} ${c.params.RouteTableId?.slice(-2)} ${c.params.NetworkInterfaceId?.slice(-2) ?? ''} arrived +${Math.round(Date.parse(c.at) - (Date.now() - (performance.now() - trace.t0)))}ms took ${c.ms}ms`).join(' | ')}\n`);
        }
        if (verdict.violations.length > 0 || debug) {
          process.stdout.write(`R1 ${verdict.violations.length > 0 ? 'VIOLATION' : 'DETAIL'} (replay: VIPSWITCH_R1_REPLAY=${seed} VIPSWITCH_R1_PROFILE=${profile})\n${describeSchedule(schedule)}\n  ${verdict.violations.join('\n  ')}\n  calls: ${trace.sends.map((s) => `${s.id}:${s.answer.status}/${s.answer.body.code}${s.answer.body.epoch ? `/e${s.answer.body.epoch}` : ''}`).join(' ')}\n  actions: ${trace.actions.map((a) => `${a.op} +${Math.round(a.start - trace.t0)}ms ${a.detail}`).join(' | ')}\n  routes: ${Object.entries(trace.routeHistory).map(([k, h]) => `${k.split(' ')[0]}: ${h.map(([t, v]) => `+${Math.round(t - trace.t0)}ms ${v?.slice(-2) ?? '-'}`).join(', ')}`).join(' | ')}\n  commits: ${trace.sends.filter((x) => x.answer.body.code === 'accepted').map((x) => `e${x.answer.body.epoch} ${x.node} +${Math.round(x.start - trace.t0)}..${Math.round(x.end - trace.t0)}ms`).join(', ')}\n`);
        }
        return outcomeOf(seed, profile, trace, verdict, performance.now() - t);
      });
      outcomes.push(...mine);
      stats.polls += rig.observer.polls();
      stats.maxPollGapMs = Math.max(stats.maxPollGapMs, Math.round(rig.observer.maxGapMs()));
      for (const [k, v] of Object.entries(rig.trigger.stats())) stats.trigger[k] = (stats.trigger[k] ?? 0) + v;
      stats.pagesSent += rig.pages.filter((p) => p.sent).length;
      stats.pagesFailed += rig.pages.filter((p) => !p.sent).length;
      for (const [k, v] of Object.entries(rig.calls)) stats.calls[k] = (stats.calls[k] ?? 0) + v;
      const violations = mine.flatMap((o) => o.verdict.violations.map((v) => `${o.seed}: ${v}`));
      if (violations.length > 0 && triggerLog.length > 0) process.stdout.write(`R1 ${profile}: stream trigger log (last 40 lines)\n${triggerLog.slice(-40).join('\n')}\n`);
      return violations;
    } finally {
      await rig.stop();
      await ddb.stop();
      ddb = undefined;
    }
  }

  interface ChunkStats {
    polls: number;
    maxPollGapMs: number;
    trigger: Record<string, number>;
    pagesSent: number;
    pagesFailed: number;
    calls: Record<string, number>;
  }

  async function runPhase(profile: Profile, seeds: number[]): Promise<string[]> {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const stats: ChunkStats = { polls: 0, maxPollGapMs: 0, trigger: {}, pagesSent: 0, pagesFailed: 0, calls: {} };
    const violations: string[] = [];
    for (let offset = 0; offset < seeds.length; offset += CHUNK) violations.push(...(await runChunk(profile, seeds.slice(offset, offset + CHUNK), offset + (profile === 'aws' ? 1 << 20 : 0), stats)));
    wallMs[profile] = Math.round(performance.now() - started);
    const used = process.cpuUsage(cpu);
    observer[profile] = {
      nodeCpuMsPerSchedule: Math.round((used.user + used.system) / 1000 / seeds.length),
      chunks: Math.ceil(seeds.length / CHUNK),
      ...stats,
      calls: undefined,
      callsPerSchedule: Object.fromEntries(Object.entries(stats.calls).map(([k, v]) => [k, Math.round((v / seeds.length) * 10) / 10])),
    };
    return violations;
  }

  it(
    `${title} schedules: 0 violations`,
    async () => {
      // One profile after the other: together they saturate DynamoDB Local on two cores, and a run would measure that.
      const violations: string[] = [];
      for (const p of phases) violations.push(...(await runPhase(p.profile, p.seeds)));
      expect(violations).toEqual([]);
    },
    LONG ? 4 * 3_600_000 : 900_000,
  );
});
