/**
 * R1 through the whole HTTP path (issue 10: at least 100 schedules): the schedules of races.test.ts sent as signed
 * POSTs to the local stack — the local edge, serverless-offline, the ingest Lambda —, the endpoint moved by the actuate
 * Lambda behind the stack's stream trigger, reconcile run as the reconcile Lambda (fleet sweeps, at most one running
 * and one pending), extra actuator runs as stream records delivered again to the actuate Lambda, drift as deleted VIP
 * routes. The stack runs the AWS-like latency profile (Route 53 INSYNC shortened: these clusters use route tables).
 * One cluster per schedule (registerCluster: unique VIP in the example topology's shared route tables).
 *
 *   CI form (npm test):   100 schedules, 10 at a time
 *   long form:            1,000 (npm run reliability), or VIPSWITCH_R1_HTTP_N=<n>
 *   run seed:             VIPSWITCH_R1_SEED=<seed>; one schedule: VIPSWITCH_R1_HTTP_REPLAY=<schedule seed>
 */
import { checkTrace, type Verdict } from './support/invariants';
import { scheduleSeed } from './support/prng';
import { distribution, pool, publish, table } from './support/report';
import { awsLikeProfile, observeRoutes, type RouteObserver } from './support/rig';
import { httpRig, runHttpSchedule, type HttpRig } from './support/run-http-schedule';
import { describeSchedule, makeSchedule } from './support/schedule';
import { startTestStack } from '../support/local';
import type { LocalStack } from '../../local/stack';

const LONG = process.env.VIPSWITCH_RELIABILITY === 'long';
const N = Number(process.env.VIPSWITCH_R1_HTTP_N ?? (LONG ? 1000 : 100));
const RUN_SEED = Number(process.env.VIPSWITCH_R1_SEED ?? Date.now() % 2_147_483_647);
const REPLAY = process.env.VIPSWITCH_R1_HTTP_REPLAY === undefined ? null : Number(process.env.VIPSWITCH_R1_HTTP_REPLAY);
const CONCURRENCY = Number(process.env.VIPSWITCH_R1_HTTP_CONCURRENCY ?? 10);

describe('R1 over HTTP: the same races through the API, the actuate and reconcile Lambdas', () => {
  let stack: LocalStack;
  let observer: RouteObserver;
  let rig: HttpRig;

  beforeAll(async () => {
    stack = await startTestStack({}, { latency: awsLikeProfile({ minMs: 500, maxMs: 1500 }) });
    observer = observeRoutes(stack.aws, 5);
    rig = httpRig(stack, observer);
    process.stdout.write(`R1 HTTP: run seed ${RUN_SEED}\n`);
  }, 180_000);

  afterAll(async () => {
    observer?.stop();
    rig?.stop();
    await stack?.stop();
  }, 60_000);

  it(
    `${REPLAY === null ? N : 1} schedules over HTTP: 0 violations`,
    async () => {
      const seeds = REPLAY === null ? Array.from({ length: N }, (_, i) => scheduleSeed(RUN_SEED ^ 0x48545450, i)) : [REPLAY];
      const started = performance.now();
      const results = await pool(seeds, CONCURRENCY, async (seed) => {
        const schedule = makeSchedule(seed, 'aws', { route53Share: 0, foreignDrift: false });
        const trace = await runHttpSchedule(rig, schedule, { settleMs: 60_000, sendMs: 120_000, statusEveryMs: 1000 });
        const verdict: Verdict = checkTrace(trace);
        if (verdict.violations.length > 0) {
          process.stdout.write(`R1 HTTP VIOLATION (replay: VIPSWITCH_R1_HTTP_REPLAY=${seed})\n${describeSchedule(schedule)}\n  ${verdict.violations.join('\n  ')}\n  calls: ${trace.sends.map((s) => `${s.id}:${s.answer.status}/${s.answer.body.code}${s.answer.body.epoch ? `/e${s.answer.body.epoch}` : ''}`).join(' ')}\n  actions: ${trace.actions.map((a) => `${a.op} +${Math.round(a.start - trace.t0)}ms ${a.detail}`).join(' | ')}\n`);
        }
        return { seed, verdict, calls: trace.sends.length, stale: trace.sends.filter((s) => s.answer.body.code === 'stale_claim').length, steps: trace.schedule.steps, epochReads: trace.epochReads.length };
      });
      const wallMs = Math.round(performance.now() - started);
      const windows = results.flatMap((r) => r.verdict.windows);
      const of = (kind: string) => distribution(windows.filter((w) => w.kind === kind).map((w) => w.ms));
      const sum = (key: string) => results.reduce((n, r) => n + (r.verdict.counts[key] ?? 0), 0);
      const steps = (op: string) => results.reduce((n, r) => n + r.steps.filter((s) => s.op === op).length, 0);
      const failing = results.filter((r) => r.verdict.violations.length > 0);
      const lag = of('lag');
      const takeback = of('takeback');
      const drift = of('drift');
      publish(
        'r1-races-http',
        {
          runSeed: RUN_SEED,
          replay: REPLAY,
          schedules: results.length,
          concurrency: CONCURRENCY,
          wallMs,
          violations: failing.reduce((n, r) => n + r.verdict.violations.length, 0),
          calls: results.reduce((n, r) => n + r.calls, 0),
          accepted: sum('accepted'),
          staleClaims: results.reduce((n, r) => n + r.stale, 0),
          duplicatesAnswered: sum('duplicates answered'),
          statusReadsChecked: results.reduce((n, r) => n + r.epochReads, 0),
          reconcileSteps: steps('reconcile'),
          sweeps: rig.sweeps,
          extraActuations: steps('actuate'),
          driftInjected: steps('drift'),
          convergedByTheActuatorAlone: sum('converged by the actuator alone'),
          leftToReconcile: { actuationFailed: sum('left to reconcile (actuation failed)'), drift: sum('left to reconcile (drift)') },
          windowsMs: { lag, takeback, driftHeal: drift },
          observer: { polls: observer.polls(), maxPollGapMs: Math.round(observer.maxGapMs()) },
          trigger: stack.trigger.stats(),
          failing: failing.slice(0, 20).map((r) => ({ seed: r.seed, violations: r.verdict.violations })),
        },
        table([
          ['path', 'schedules', 'violations', 'calls', 'accepted', 'stale 409', 'duplicates', 'sweeps run', 'extra actuations', 'drift', 'lag p50 ms', 'lag p99 ms', 'lag max ms', 'takebacks', 'takeback max ms', 'drift heal max ms'],
          ['HTTP', results.length, failing.length, results.reduce((n, r) => n + r.calls, 0), sum('accepted'), results.reduce((n, r) => n + r.stale, 0), sum('duplicates answered'), rig.sweeps.run, steps('actuate'), steps('drift'), lag.p50, lag.p99, lag.max, takeback.n, takeback.max, drift.max],
        ]),
      );
      expect(failing.flatMap((r) => r.verdict.violations.map((v) => `${r.seed}: ${v}`))).toEqual([]);
    },
    LONG ? 4 * 3_600_000 : 600_000,
  );
});
