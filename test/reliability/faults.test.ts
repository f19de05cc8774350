/**
 * R2, faults (issue 10): the R1 invariants, plus nothing lost, while everything around the product fails:
 *  - EC2, Route 53 and SNS: 24.8 % of calls fail or hang (throttling 12 %, 5xx 10 %, hang 5 %, drawn in that order) and
 *    20 % more get 300 ms of extra latency, on top of the AWS-like latency profile (Route 53 INSYNC 2–4 s);
 *  - DynamoDB Local stopped in the middle of the run and started again (file-backed, `-dbPath`: its data and its
 *    stream survive, as DynamoDB's do through an outage; in memory a restart would lose every table, which is not an
 *    outage but a new, empty database). Hook calls during the outage get 5xx and are retried as the hook does;
 *  - the actuator killed between the commit and the move: the stream trigger's `failNext(n)`, four times with n within
 *    the trigger's retries (redelivered), then 30 at once, past them for some batches (given up: the on-failure
 *    destination pages, reconcile repairs);
 *  - a Lambda timeout in the middle of a Route 53 wait: a share of the actuator's invocations that move a Route 53
 *    cluster are killed 0.2–1 s after submitting their change, while they wait for INSYNC (2–4 s) — from then on every
 *    call of that invocation never returns, as a frozen and discarded function — and the trigger retries the batch;
 *  - drift: VIP routes pointed at a foreign ENI or deleted by hand.
 * Then the faults stop, the stream trigger drains, and ONE reconcile sweep runs (the reconcile Lambda's sweepFleet,
 * in process). Checked: every target on the newest committed holder (drift heals within one reconcile period), every
 * cluster the actuator did not converge alone was paged (actuation_failed or actuator_trigger_failed), every event id
 * journaled, every hook call finally answered, and the R1 invariants.
 *
 *   CI form (npm test):   60 clusters, all at once
 *   long form:            600 (npm run reliability), or VIPSWITCH_R2_N=<n>; seed: VIPSWITCH_R2_SEED=<seed>
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFleetObserver } from '../../shared/adapters/reconcile-observer';
import { DEFAULT_RECONCILE_BUDGETS } from '../../shared/app/reconcile-budget';
import { sweepFleet } from '../../shared/app/reconcile-fleet';
import type { FaultRule } from '../../local/aws-endpoint/index';
import { freePort } from '../../local/ports';
import { startFileDynamoDb, type FileDynamoDb } from './support/dynamodb-file';
import { checkTrace, type Verdict } from './support/invariants';
import { rng, scheduleSeed } from './support/prng';
import { distribution, publish, table } from './support/report';
import { awsLikeProfile, killableDeps, startRig, type Rig } from './support/rig';
import { completeTrace, finalView, patiently, runSchedule, type Steps, type Trace } from './support/run-schedule';
import { describeSchedule, makeSchedule } from './support/schedule';

const LONG = process.env.VIPSWITCH_RELIABILITY === 'long';
const N = Number(process.env.VIPSWITCH_R2_N ?? (LONG ? 600 : 60));
const SEED = Number(process.env.VIPSWITCH_R2_SEED ?? Date.now() % 2_147_483_647);
/** Clusters in flight at once (the long form runs its 600 in waves of this size, each wave with every fault). */
const WAVE = Number(process.env.VIPSWITCH_R2_WAVE ?? 60);
const OUTAGE_MS = 4000;
const KILL_SHARE = 0.35;

/** A quarter of EC2, Route 53 and SNS calls fail or hang (1 - 0.88 × 0.9 × 0.95 = 24.8 %), and 20 % get extra latency. */
function faultRules(): FaultRule[] {
  const throttling = { ec2: 'RequestLimitExceeded', route53: 'Throttling', sns: 'Throttled' } as const;
  const fiveHundred = { ec2: 'InternalError', route53: 'ServiceUnavailable', sns: 'InternalError' } as const;
  return (['ec2', 'route53', 'sns'] as const).flatMap((service): FaultRule[] => [
    { service, latencyMs: 300, rate: 0.2 },
    { service, code: throttling[service], rate: 0.12 },
    { service, code: fiveHundred[service], rate: 0.1 },
    { service, hang: true, rate: 0.05 },
  ]);
}

interface Kill {
  at: number;
  inRoute53Wait: boolean;
}

describe('R2: faults — the invariants hold and nothing is lost while AWS, DynamoDB and the actuator fail', () => {
  let dir: string;
  let ddb: FileDynamoDb;
  let rig: Rig;
  const kills: Kill[] = [];
  const route53Clusters = new Set<string>();
  let killing = false;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipswitch-r2-'));
    ddb = await startFileDynamoDb(await freePort(), dir);
    const chance = rng(SEED ^ 0x6b696c6c);
    rig = await startRig({
      dynamodbEndpoint: ddb.endpoint,
      tableName: 'r2-faults',
      slots: WAVE,
      latency: awsLikeProfile({ minMs: 2000, maxMs: 4000 }),
      seed: SEED,
      // DynamoDB: patient enough for this shared machine; EC2 / Route 53 / SNS: the Lambdas' own bounds (3 s an attempt).
      bounds: { maxAttempts: 4, requestTimeoutMs: 10_000, connectionTimeoutMs: 5000 },
      awsBounds: { maxAttempts: 4, requestTimeoutMs: 3000, connectionTimeoutMs: 1000 },
      // A Lambda timeout in a Route 53 wait: once the invocation has submitted a change and waits for INSYNC (2–4 s),
      // it is frozen 0.2–1 s later and the trigger told "Task timed out", as Lambda does at the function's timeout.
      wrapInvoke: (invoke, react) => async (records) => {
        const clusters = new Set(records.map((r) => (r.dynamodb?.Keys?.pk?.S ?? '').replace(/^(CLUSTER|JOURNAL)#/, '')));
        if (!killing || ![...clusters].some((c) => route53Clusters.has(c)) || !chance.chance(KILL_SHARE)) return invoke(records);
        let timer: NodeJS.Timeout | undefined;
        let timedOut!: (result: { ok: false; error: string }) => void;
        const killed = new Promise<{ ok: false; error: string }>((resolve) => (timedOut = resolve));
        const invocation = killableDeps(rig, () => {
          timer = setTimeout(() => {
            kills.push({ at: performance.now(), inRoute53Wait: invocation.inRoute53Wait() });
            invocation.kill();
            invocation.destroy();
            timedOut({ ok: false, error: 'Task timed out (in a Route 53 INSYNC wait)' });
          }, chance.int(200, 1000));
        });
        const result = await Promise.race([react(invocation.deps, records), killed]);
        clearTimeout(timer);
        if (result.ok) invocation.destroy();
        return result;
      },
    });
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
    await ddb?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it(
    `${N} clusters under faults: 0 violations, nothing lost, every unhealed fault paged`,
    async () => {
      const r = rng(SEED);
      const verdicts: { seed: number; verdict: Verdict; trace: Trace; journalMissing: string[] }[] = [];
      const outages: { stoppedMs: number; downMs: number }[] = [];
      const failNexts: number[] = [];
      const phases: Record<string, number>[] = [];
      const faultWindows: [number, number][] = [];
      let sweepReport: Record<string, unknown> = {};
      const started = performance.now();
      const seeds = Array.from({ length: N }, (_, i) => scheduleSeed(SEED, i));
      for (let wave = 0; wave * WAVE < N; wave++) {
        const mine = seeds.slice(wave * WAVE, (wave + 1) * WAVE);
        const schedules = mine.map((seed) => makeSchedule(seed, 'aws', { route53Share: 0.5, driftShare: 0.3, interleave: false }));
        rig.ec2Aws.setFaults(faultRules());
        rig.r53Aws.setFaults(faultRules());
        const faultsOn = Date.now();
        killing = true;
        const waveStart = performance.now();
        // The fault timeline of the wave: the actuator crashing between commit and move, and DynamoDB going away. The
        // pauses place the faults in time (workload, not synchronisation: nothing waits on them to be true).
        const chaos = (async () => {
          for (const n of [2, 1, 3, 2, 30]) {
            await delay(r.int(400, 1200));
            rig.trigger.failNext(n);
            failNexts.push(n);
          }
          const stoppedAt = performance.now();
          await ddb.stop();
          await delay(OUTAGE_MS);
          await ddb.start();
          outages.push({ stoppedMs: Math.round(stoppedAt - waveStart), downMs: Math.round(performance.now() - stoppedAt) });
        })();
        const steps: Steps[] = await Promise.all(
          schedules.map(async (schedule, i) => {
            const index = wave * WAVE + i;
            if (schedule.route53) route53Clusters.add(`r-${schedule.seed.toString(36)}-${index}`);
            return runSchedule(rig, schedule, { slot: i, index, settleMs: 0, sendMs: 300_000, stopAfterSteps: true });
          }),
        );
        const stepsDone = performance.now();
        await chaos;
        // The storm ends; the trigger drains what is left (retries, redeliveries), then one reconcile period.
        killing = false;
        rig.ec2Aws.setFaults([]);
        rig.r53Aws.setFaults([]);
        faultWindows.push([faultsOn, Date.now()]);
        await Promise.race([rig.trigger.idle(), new Promise((resolve) => setTimeout(resolve, 180_000).unref())]);
        const drained = performance.now();
        const before = await Promise.all(steps.map((s) => finalView(rig, s.cluster)));
        const report = await sweepFleet(
          {
            store: rig.appStore,
            observer: createFleetObserver({ clientsFor: () => ({ ec2: rig.ec2, route53: rig.route53 }), budgets: DEFAULT_RECONCILE_BUDGETS }),
            alerter: rig.deps.alerter,
            now: () => new Date(),
          },
          // The trigger is idle: a status still `converging` belongs to an invocation that was killed. The reconcile
          // Lambda takes such a move over once the actuator's timeout (120 s) has passed; this sweep is that one.
          { inFlightMs: 0 },
        );
        await Promise.race([rig.trigger.idle(), new Promise((resolve) => setTimeout(resolve, 60_000).unref())]);
        const { noteworthy: _n, ...summary } = report;
        sweepReport = { ...summary, wave };
        phases.push({ wave, stepsDoneMs: Math.round(stepsDone - waveStart), drainedMs: Math.round(drained - waveStart), sweepDoneMs: Math.round(performance.now() - waveStart) });
        for (const [i, s] of steps.entries()) {
          const trace = completeTrace(rig, s, { unsettled: null, beforeReconcile: before[i]!, final: await finalView(rig, s.cluster) });
          const verdict = checkTrace(trace);
          const journal = await patiently(() => rig.store.readJournal(s.cluster.name, 500));
          const ids = new Set(journal.map((e) => e.eventId));
          const journalMissing = [...new Set(s.sends.map((x) => x.id))].filter((id) => !ids.has(id));
          if (journalMissing.length > 0) verdict.violations.push(`lost: events ${journalMissing.join(', ')} are not in the journal`);
          if (verdict.violations.length > 0) {
            process.stdout.write(`R2 VIOLATION (seed VIPSWITCH_R2_SEED=${SEED}, schedule ${s.schedule.seed})\n${describeSchedule(s.schedule)}\n  ${verdict.violations.join('\n  ')}\n  calls: ${s.sends.map((x) => `${x.id}:${x.answer.status}/${x.answer.body.code}${x.answer.body.epoch ? `/e${x.answer.body.epoch}` : ''} x${x.attempts}`).join(' ')}\n  pages: ${trace.pages.map((p) => `${p.type}${p.sent ? '' : ' (NOT SENT)'}`).join(', ')}\n`);
          }
          verdicts.push({ seed: s.schedule.seed, verdict, trace, journalMissing });
        }
      }
      const wallMs = Math.round(performance.now() - started);

      // The calls made while the fault rules were on (the drain and the sweep after them run without faults).
      const calls = [...rig.ec2Aws.calls(), ...rig.r53Aws.calls()].filter((c) => faultWindows.some(([from, to]) => Date.parse(c.at) >= from && Date.parse(c.at) <= to));
      const byService: Record<string, Record<string, number>> = {};
      for (const c of calls) {
        const s = (byService[c.service] ??= { calls: 0, error: 0, hang: 0, latency: 0 });
        s.calls!++;
        if (c.fault === 'error') s.error!++;
        if (c.fault === 'hang') s.hang!++;
        if (c.fault === 'latency') s.latency!++;
      }
      const windows = verdicts.flatMap((v) => v.verdict.windows);
      const of = (kind: string) => distribution(windows.filter((w) => w.kind === kind).map((w) => w.ms));
      const sum = (key: string) => verdicts.reduce((n, v) => n + (v.verdict.counts[key] ?? 0), 0);
      const sends = verdicts.flatMap((v) => v.trace.sends);
      const failing = verdicts.filter((v) => v.verdict.violations.length > 0);
      const pages = rig.pages;
      const figures = {
        seed: SEED,
        clusters: verdicts.length,
        wave: WAVE,
        wallMs,
        phases,
        violations: failing.reduce((n, v) => n + v.verdict.violations.length, 0),
        faults: {
          callsByService: byService,
          note: 'calls made while the fault rules were on; rules fire per call (rates 0.2 latency, then 0.12 throttling, 0.1 5xx, 0.05 hang); the call log keeps the latest 10,000 calls per endpoint',
          dynamodbOutages: outages,
          dynamodb: 'file-backed DynamoDB Local (-dbPath), stopped (SIGTERM) and started again on the same port; data and stream survive',
          triggerFailNext: failNexts,
          lambdaTimeouts: { killed: kills.length, inRoute53Wait: kills.filter((k) => k.inRoute53Wait).length },
          trigger: rig.trigger.stats(),
        },
        hookCalls: { total: sends.length, retried: sends.filter((s) => s.attempts > 1).length, maxAttempts: Math.max(...sends.map((s) => s.attempts)), finalAnswers: sends.filter((s) => s.answer.status < 500).length, answersRecoveredFromRetry: sum('answers recovered from a retry') },
        journal: { eventIdsMissing: verdicts.reduce((n, v) => n + v.journalMissing.length, 0) },
        actuator: { convergedAlone: sum('converged by the actuator alone'), leftToReconcile: { actuationFailed: sum('left to reconcile (actuation failed)'), drift: sum('left to reconcile (drift)') } },
        pages: { sent: pages.filter((p) => p.sent).length, failedToSend: pages.filter((p) => !p.sent).length, byType: Object.fromEntries([...new Set(pages.map((p) => p.type))].map((t) => [t, pages.filter((p) => p.type === t && p.sent).length])) },
        reconcileSweep: sweepReport,
        windowsMs: { lag: of('lag'), takeback: of('takeback'), driftHeal: of('drift') },
        failing: failing.slice(0, 20).map((v) => ({ seed: v.seed, violations: v.verdict.violations })),
      };
      const f = figures.faults.callsByService;
      const rows: (string | number | null)[][] = [['service', 'calls', 'errors', 'hangs', 'latency', 'failed or hung %']];
      for (const [service, c] of Object.entries(f)) rows.push([service, c.calls!, c.error!, c.hang!, c.latency!, Math.round(((c.error! + c.hang!) / Math.max(1, c.calls!)) * 1000) / 10]);
      const summaryRows: (string | number | null)[][] = [
        ['clusters', 'violations', 'hook calls', 'retried', 'journal missing', 'DynamoDB down ms', 'failNext', 'Lambda timeouts (in R53 wait)', 'given up', 'converged by actuator', 'left to reconcile', 'pages sent', 'pages not sent', 'lag max ms', 'takeback max ms', 'drift heal max ms'],
        [verdicts.length, figures.violations, sends.length, figures.hookCalls.retried, figures.journal.eventIdsMissing, outages.map((o) => o.downMs).join('+'), failNexts.join(','), `${kills.length} (${figures.faults.lambdaTimeouts.inRoute53Wait})`, rig.trigger.stats().givenUp, sum('converged by the actuator alone'), sum('left to reconcile (actuation failed)') + sum('left to reconcile (drift)'), figures.pages.sent, figures.pages.failedToSend, figures.windowsMs.lag.max, figures.windowsMs.takeback.max, figures.windowsMs.driftHeal.max],
      ];
      publish('r2-faults', figures, `${table(rows)}\n\n${table(summaryRows)}`);

      // The faults really happened, at the rates asked for.
      for (const service of ['ec2', 'route53', 'sns']) {
        const c = f[service];
        expect(c).toBeDefined();
        expect(c!.error! + c!.hang!).toBeGreaterThan(0);
      }
      expect(outages.length).toBeGreaterThan(0);
      expect(kills.filter((k) => k.inRoute53Wait).length).toBeGreaterThan(0);
      expect(rig.trigger.stats().givenUp).toBeGreaterThan(0);
      expect(failing.flatMap((v) => v.verdict.violations.map((x) => `${v.seed}: ${x}`))).toEqual([]);
    },
    LONG ? 4 * 3_600_000 : 900_000,
  );
});
