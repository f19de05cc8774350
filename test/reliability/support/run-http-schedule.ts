/**
 * R1 through the whole HTTP path: the same schedules, sent as signed POSTs to the local stack (the local edge,
 * serverless-offline, the ingest Lambda), the endpoint moved by the actuate Lambda behind the stack's stream trigger,
 * reconcile run as the reconcile Lambda (a fleet sweep, invoked through the Lambda invoke API), an extra actuator run
 * as a redelivered stream record sent to the actuate Lambda. The trace has the in-process runner's shape, so the same
 * invariants judge it; the epoch is read through the status API while the schedule runs.
 */
import { DeleteRouteCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { LocalStack } from '../../../local/stack';
import { LOCAL_NAMES } from '../../../local/stack';
import { offlineInvoker } from '../../../local/stream-trigger';
import { signedHeaders } from '../../../shared/protocol/signature';
import { invokeReconcile, registerCluster, type TestCluster } from '../../support/local';
import { clientConfig, PATIENT, type EpochRead, type PageRecord, type RouteObserver } from './rig';
import { actuatorOutcome, eventOf, reconcilePeriodAfterDrift, retryLikeHook, settle, type ActionRecord, type Answer, type ClusterRef, type FinalView, type SendRecord, type Trace } from './run-schedule';
import type { CallSpec, Schedule } from './schedule';

export interface HttpRig {
  stack: LocalStack;
  observer: RouteObserver;
  ec2: EC2Client;
  /** Fleet sweeps asked for and actually run (requests arriving while one is pending join it). */
  sweeps: { asked: number; run: number; failed: number };
  reconcile(): Promise<string>;
  stop(): void;
}

/** One reconcile Lambda at a time, one more pending at most: as a schedule would run it, never a storm of sweeps. */
export function httpRig(stack: LocalStack, observer: RouteObserver): HttpRig {
  const ec2 = new EC2Client(clientConfig(stack.aws.url, PATIENT));
  const sweeps = { asked: 0, run: 0, failed: 0 };
  let running: Promise<string> | null = null;
  let pending: Promise<string> | null = null;
  const sweep = async () => {
    sweeps.run++;
    try {
      const answer = await invokeReconcile(stack);
      return `swept ${(answer as { swept?: number }).swept ?? '?'}`;
    } catch (error) {
      sweeps.failed++;
      return `failed: ${(error as Error).message}`;
    }
  };
  const reconcile = (): Promise<string> => {
    sweeps.asked++;
    if (pending) return pending;
    if (!running) {
      running = sweep().finally(() => (running = null));
      return running;
    }
    pending = running.then(() => {
      pending = null;
      running = sweep().finally(() => (running = null));
      return running;
    });
    return pending;
  };
  return { stack, observer, ec2, sweeps, reconcile, stop: () => ec2.destroy() };
}

async function postOnce(stack: LocalStack, cluster: ClusterRef, node: string, body: string, skewSeconds: number): Promise<Answer> {
  const headers = signedHeaders(cluster.name, node, cluster.keys[node]!, body, Date.now() / 1000 - skewSeconds);
  try {
    const response = await fetch(stack.eventsUrl, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    try {
      const body = JSON.parse(text) as Record<string, any>;
      // Outside the contract (no code): keep what came, with its headers, for the report.
      if (typeof body?.code !== 'string') return { status: response.status, body: { ...body, outsideContract: { text: text.slice(0, 400), headers: Object.fromEntries(response.headers) } } };
      return { status: response.status, body };
    } catch {
      return { status: response.status >= 500 ? response.status : 502, body: { code: 'unreadable_answer', message: text.slice(0, 200) } };
    }
  } catch (error) {
    return { status: 599, body: { code: 'network', message: (error as Error).message } };
  }
}

async function postLikeHook(stack: LocalStack, cluster: ClusterRef, node: string, body: string, deadline: number): Promise<{ answer: Answer; attempts: number }> {
  return retryLikeHook((attempt) => postOnce(stack, cluster, node, body, attempt % 30), deadline);
}

/** A stream record of the cluster's fencing record, delivered again to the actuate Lambda (at-least-once delivery). */
async function actuateAgain(stack: LocalStack, cluster: string, epoch: number): Promise<string> {
  const invoke = offlineInvoker(stack.lambdaUrl, LOCAL_NAMES.actuate);
  const record = {
    eventName: 'MODIFY',
    dynamodb: { Keys: { pk: { S: `CLUSTER#${cluster}` }, sk: { S: '#STATE' } }, OldImage: { epoch: { N: '-1' } }, NewImage: { epoch: { N: String(epoch) } }, SequenceNumber: `again-${Date.now()}` },
  };
  const result = await invoke({ Records: [record] });
  return result.ok ? `ok ${result.batchItemFailures.length ? 'partial failure' : ''}` : `error ${result.error.slice(0, 120)}`;
}

async function finalHttpView(rig: HttpRig, cluster: ClusterRef): Promise<FinalView> {
  const loaded = await rig.stack.store.loadCluster(cluster.name);
  const cidr = `${cluster.vip}/32`;
  const tables = rig.stack.aws.state().routeTables;
  const routes = cluster.tables.map((id) => tables.find((t) => t.routeTableId === id)?.routes.find((r) => r.destinationCidrBlock === cidr)?.networkInterfaceId ?? null);
  return { state: loaded?.record.state ?? null, targets: loaded?.targets ?? null, routes, record: null };
}

function pagesOf(stack: LocalStack, cluster: string): PageRecord[] {
  return stack.aws
    .state()
    .topics.flatMap((t) => t.published)
    .filter((m) => m.messageAttributes.cluster?.Value === cluster)
    .map((m) => ({ at: Date.parse(m.timestamp), cluster, type: m.messageAttributes.type?.Value ?? '?', sent: true }));
}

export async function runHttpSchedule(rig: HttpRig, schedule: Schedule, options: { settleMs: number; sendMs: number; statusEveryMs: number }): Promise<Trace> {
  const { stack } = rig;
  const registered: TestCluster = await registerCluster(stack);
  const name = registered.name;
  const keys = Object.fromEntries(Object.values(registered.nodes).map((n) => [n.name, n.key]));
  const cluster: ClusterRef = { name, vip: registered.vip, tables: registered.routeTableIds, record: null, keys };
  const sends: SendRecord[] = [];
  const actions: ActionRecord[] = [];
  const epochReads: EpochRead[] = [];
  const bodies = new Map<string, { body: string; call: CallSpec }>();
  const t0 = performance.now();
  let done = false;
  // The status API, read while the schedule runs: the epoch it shows only grows.
  const statusPoll = (async () => {
    while (!done) {
      const start = performance.now();
      try {
        const response = await fetch(`${stack.apiUrl}/v1/clusters/${name}`, { signal: AbortSignal.timeout(30_000) });
        const body = (await response.json()) as { state?: { epoch?: number } };
        if (typeof body.state?.epoch === 'number') epochReads.push({ cluster: name, start, end: performance.now(), epoch: body.state.epoch });
      } catch {
        // a slow answer is not an epoch
      }
      await new Promise((resolve) => setTimeout(resolve, options.statusEveryMs));
    }
  })();

  const send = async (call: CallSpec, resend: boolean) => {
    let entry = bodies.get(call.id);
    if (!entry) bodies.set(call.id, (entry = { body: JSON.stringify(eventOf(name, call)), call }));
    const start = performance.now();
    const { answer, attempts } = await postLikeHook(stack, cluster, call.node, entry.body, start + options.sendMs);
    sends.push({ id: call.id, node: call.node, inRecovery: call.inRecovery, timeline: call.timeline, type: call.type, resend, start, end: performance.now(), attempts, answer });
  };

  try {
    const first = schedule.history[0]!;
    await send({ id: `h${schedule.seed.toString(36).padStart(7, '0')}-init`, node: first.node, type: 'repmgrd_start', inRecovery: false, timeline: first.timeline, why: 'initial primary' }, false);
    const startAt = performance.now();
    await Promise.all(
      schedule.steps.map(async (step) => {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt + step.at - performance.now())));
        const start = performance.now();
        switch (step.op) {
          case 'send':
            return send(step.call, false);
          case 'resend': {
            const entry = bodies.get(step.id);
            const call = entry?.call ?? schedule.steps.find((s): s is Extract<typeof s, { op: 'send' }> => s.op === 'send' && s.call.id === step.id)!.call;
            return send(call, entry !== undefined);
          }
          case 'reconcile': {
            const detail = await rig.reconcile();
            actions.push({ op: 'reconcile', start, end: performance.now(), detail });
            return;
          }
          case 'actuate': {
            const epoch = await stack.store.currentEpoch(name);
            const detail = await actuateAgain(stack, name, epoch).catch((e: Error) => `failed: ${e.message}`);
            actions.push({ op: 'actuate', start, end: performance.now(), detail });
            return;
          }
          case 'drift': {
            const table = cluster.tables[step.table]!;
            const detail = await rig.ec2.send(new DeleteRouteCommand({ RouteTableId: table, DestinationCidrBlock: `${cluster.vip}/32` })).then(() => 'done', (e: Error) => `failed: ${e.name}`);
            actions.push({ op: 'drift', start, end: performance.now(), detail: `delete ${table}: ${detail}` });
            return;
          }
        }
      }),
    );

    const busy = () => stack.trigger.handling(`CLUSTER#${name}`);
    const outcome = await actuatorOutcome(() => settle(stack.store, name, options.settleMs, busy), () => finalHttpView(rig, cluster), options.settleMs);
    let unsettled = outcome.unsettled;
    const { beforeReconcile } = outcome;
    await reconcilePeriodAfterDrift(actions);
    const start = performance.now();
    actions.push({ op: 'reconcile', start, end: performance.now(), detail: `scheduled ${await rig.reconcile()}` });
    if (!(await settle(stack.store, name, options.settleMs, busy))) unsettled ??= 'not settled after the scheduled reconcile';
    const quiescentAt = performance.now();
    const final = await finalHttpView(rig, cluster);
    const routeHistory: Record<string, [number, string | null][]> = {};
    for (const table of cluster.tables) {
      const key = `${table} ${cluster.vip}/32`;
      routeHistory[key] = rig.observer.history(key);
      rig.observer.forget(key);
    }
    return { schedule, cluster, t0, sends, actions, quiescentAt, unsettled, beforeReconcile, final, pages: pagesOf(stack, name), epochReads, routeHistory };
  } finally {
    done = true;
    await statusPoll;
    await registered.cleanup();
  }
}
