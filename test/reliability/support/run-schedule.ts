/**
 * Run one schedule against the in-process rig with real concurrency (every step starts at its offset, nobody waits
 * for anybody but DynamoDB and the AWS endpoint), wait for quiescence, and return what happened: the trace the
 * invariants are checked on.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { DeleteRouteCommand, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { authenticate } from '../../../shared/app/authenticate';
import { converge } from '../../../shared/app/converge';
import { processEvent } from '../../../shared/app/process-event';
import { reactToChanges } from '../../../shared/app/react-to-changes';
import { pageReconcilePass } from '../../../shared/app/reconcile-fleet';
import { validateEvent } from '../../../shared/app/validate-event';
import { VipswitchError } from '../../../shared/domain/errors';
import type { VipEvent } from '../../../shared/domain/event';
import { signedHeaders } from '../../../shared/protocol/signature';
import type { ClusterStore, TargetStatus } from '../../../shared/ports/cluster-store';
import type { ClusterState } from '../../../shared/domain/cluster';
import { DRIFT_ENI, NODES, registerCluster, slotTables, ZONE_NAME, HOSTED_ZONE, type EpochRead, type NodeName, type PageRecord, type Rig } from './rig';
import type { CallSpec, Schedule } from './schedule';

export const SYSTEM_ID = '7710811430681400266';

export interface Answer {
  status: number;
  body: Record<string, any>;
}

/** One hook call as it went: when it was sent and answered (performance.now()), and the answer. */
export interface SendRecord {
  id: string;
  node: NodeName;
  inRecovery: boolean;
  timeline: number;
  type: string;
  resend: boolean;
  start: number;
  end: number;
  attempts: number;
  answer: Answer;
}

export interface ActionRecord {
  op: 'reconcile' | 'actuate' | 'drift';
  start: number;
  end: number;
  detail: string;
}

export interface ClusterRef {
  name: string;
  vip: string;
  tables: string[];
  record: string | null;
  keys: Record<string, string>;
}

export interface FinalView {
  state: ClusterState | null;
  targets: TargetStatus | null;
  routes: (string | null)[];
  record: string | null;
}

export interface Trace {
  schedule: Schedule;
  cluster: ClusterRef;
  t0: number;
  sends: SendRecord[];
  actions: ActionRecord[];
  quiescentAt: number;
  /** Set when the cluster never settled within the deadline (a violation of its own). */
  unsettled: string | null;
  /** What the actuator alone had left when the cluster settled, before the scheduled reconcile pass. */
  beforeReconcile: FinalView;
  /** After the scheduled reconcile pass. */
  final: FinalView;
  /** Pages of this cluster (sent, or failed to send). */
  pages: PageRecord[];
  epochReads: EpochRead[];
  /** Per route key, the observer's history during the schedule. */
  routeHistory: Record<string, [number, string | null][]>;
}

/** The v1 event of a call, as the hook would build it (repmgr argv with %n %e %s %t). */
export function eventOf(cluster: string, call: CallSpec): VipEvent {
  const id = NODES.find((n) => n.name === call.node)!.id;
  const at = new Date();
  return {
    v: 1,
    id: call.id,
    cluster,
    node: call.node,
    source: 'repmgr',
    type: call.type,
    success: true,
    role: null,
    occurredAt: at.toISOString(),
    details: call.why,
    facts: { inRecovery: call.inRecovery, timeline: call.timeline, lsn: '0/3000060', systemIdentifier: SYSTEM_ID },
    raw: { argv: [String(id), call.type, '1', at.toISOString().replace('T', ' ').replace('Z', '+00'), call.why, '', '', ''] },
  } as VipEvent;
}

/** The ingest Lambda's path, in process: authenticate (one Query), validate, processEvent (one transaction). */
export async function ingestOnce(store: ClusterStore, cluster: ClusterRef, node: string, body: string, skewSeconds: number): Promise<Answer> {
  const headers = signedHeaders(cluster.name, node, cluster.keys[node]!, body, Date.now() / 1000 - skewSeconds);
  try {
    const auth = await authenticate(store, headers, body, Date.now() / 1000);
    const event = validateEvent(body, auth.node);
    const answer = await processEvent({ store, now: () => new Date() }, { event, loaded: auth.loaded, replay: auth.replay });
    return { status: answer.status, body: answer.body as Record<string, any> };
  } catch (error) {
    if (error instanceof VipswitchError) return { status: error.status, body: { code: error.code, message: error.message } };
    return { status: 500, body: { code: 'internal_error', message: `${(error as Error).name}: ${(error as Error).message}` } };
  }
}

/** What the hook retries: a 5xx (an infrastructure fault), and its own replayed signature (signed again a moment later). */
export function retryable(answer: Answer): boolean {
  return answer.status >= 500 || (answer.status === 401 && answer.body.code === 'replayed_request');
}

/**
 * Send like the hook does: retry what is retryable, with backoff, each attempt signed anew (a different timestamp,
 * so never a replay of itself), until a final answer or `deadline` (performance.now()).
 */
export async function sendLikeHook(store: ClusterStore, cluster: ClusterRef, node: string, body: string, deadline: number): Promise<{ answer: Answer; attempts: number }> {
  return retryLikeHook((attempt) => ingestOnce(store, cluster, node, body, attempt % 30), deadline);
}

/**
 * The hook's retry loop, as workload (not synchronisation): send, and while the answer is retryable and `deadline`
 * (performance.now()) has not passed, back off 25 ms doubling to 1 s, with jitter, then send again.
 */
export async function retryLikeHook(send: (attempt: number) => Promise<Answer>, deadline: number): Promise<{ answer: Answer; attempts: number }> {
  for (let attempts = 1; ; attempts++) {
    const answer = await send(attempts);
    if (!retryable(answer) || performance.now() > deadline) return { answer, attempts };
    await delay(Math.min(1000, 25 * 2 ** Math.min(attempts, 6)) * (0.5 + Math.random() / 2));
  }
}

/**
 * Wait for the schedule's cluster to settle, then for any pass a redelivered record started after the status said
 * converged: what the actuator alone left, before the scheduled reconcile pass.
 */
export async function actuatorOutcome(settleOnce: () => Promise<unknown>, view: () => Promise<FinalView>, settleMs: number): Promise<{ unsettled: string | null; beforeReconcile: FinalView; settled: boolean }> {
  const settled = (await settleOnce()) !== null;
  let beforeReconcile = await view();
  for (let i = 0; i < 20 && settled && beforeReconcile.targets?.phase === 'converging'; i++) {
    await settleOnce();
    beforeReconcile = await view();
  }
  return { settled, unsettled: settled ? null : `not settled ${settleMs} ms after the last step`, beforeReconcile };
}

/** The test's own reads and writes retry through a DynamoDB outage (R2 stops it); the app's calls never do this. */
export async function patiently<T>(what: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (let pause = 100; ; pause = Math.min(1000, pause * 2)) {
    try {
      return await what();
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

const delayUntil = (t: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, t - performance.now())));

export interface RunOptions {
  slot: number;
  index: number;
  /** How long the cluster may take to settle after the last step (ms). */
  settleMs: number;
  /** How long a hook call keeps retrying (ms). */
  sendMs: number;
  /** Return once the steps are done (R2: the run waits for the whole fleet, then one reconcile sweep). */
  stopAfterSteps?: boolean;
}

/**
 * Wait until the status says the actuator is done with the current epoch (converged or failed) and the trigger holds
 * no change of the cluster (`busy`: an invocation still running may be an older epoch's, whose late mutation it has
 * yet to re-assert); bounded.
 */
export async function settle(store: ClusterStore, cluster: string, timeoutMs: number, busy: () => boolean = () => false): Promise<{ state: ClusterState; targets: TargetStatus | null } | null> {
  const deadline = performance.now() + timeoutMs;
  for (let pause = 25; ; pause = Math.min(100, pause * 2)) {
    const loaded = busy() ? null : await store.loadCluster(cluster).catch(() => null);
    if (loaded) {
      const { state } = loaded.record;
      const t = loaded.targets;
      if (state.primary === null || (t && t.epoch === state.epoch && t.phase !== 'converging')) return { state, targets: t };
    }
    if (performance.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** Run `schedule` on cluster slot `slot` of the rig. Never throws for the product's behaviour: the trace tells. */
export async function runSchedule(rig: Rig, schedule: Schedule, options: RunOptions): Promise<Trace> {
  const name = `r-${schedule.seed.toString(36)}-${options.index}`;
  const vip = `10.${100 + ((options.index >> 16) & 63)}.${(options.index >> 8) & 255}.${options.index & 255}`;
  const tables = slotTables(options.slot);
  const record = schedule.route53 ? `${name}.${ZONE_NAME}` : null;
  const keys = Object.fromEntries(NODES.map((n) => [n.name, randomBytes(32).toString('hex')]));
  const cluster: ClusterRef = { name, vip, tables, record, keys };
  await patiently(() => registerCluster(rig.store, { name, vip, routeTableIds: tables, route53: record ? { record, insyncTimeoutSeconds: 30 } : null, systemIdentifier: SYSTEM_ID, keys }));
  const store = rig.appStore;
  const sends: SendRecord[] = [];
  const actions: ActionRecord[] = [];
  const bodies = new Map<string, { body: string; call: CallSpec }>();
  const t0 = performance.now();

  const send = async (call: CallSpec, resend: boolean) => {
    let entry = bodies.get(call.id);
    if (!entry) bodies.set(call.id, (entry = { body: JSON.stringify(eventOf(name, call)), call }));
    const start = performance.now();
    const { answer, attempts } = await sendLikeHook(store, cluster, call.node, entry.body, start + options.sendMs);
    sends.push({ id: call.id, node: call.node, inRecovery: call.inRecovery, timeline: call.timeline, type: call.type, resend, start, end: performance.now(), attempts, answer });
  };

  // The initial primary, committed before the race starts (its move races with everything else).
  const first = schedule.history[0]!;
  await send({ id: `s${schedule.seed.toString(36).padStart(7, '0')}-init`, node: first.node, type: 'repmgrd_start', inRecovery: false, timeline: first.timeline, why: 'initial primary' }, false);
  const startAt = performance.now();
  await Promise.all(
    schedule.steps.map(async (step) => {
      await delayUntil(startAt + step.at);
      const start = performance.now();
      switch (step.op) {
        case 'send':
          return send(step.call, false);
        case 'resend': {
          const entry = bodies.get(step.id);
          // The first send has not started yet (reordered behind its own retry): the retry is the first send.
          return send(entry?.call ?? findCall(schedule, step.id), entry !== undefined);
        }
        case 'reconcile': {
          // As the reconcile Lambda does for a cluster it repairs: converge with fresh reads, then page what it found.
          const result = await converge({ store, actuator: rig.deps.actuator, now: () => new Date() }, name, { fresh: true, inFlightMs: step.inFlightMs })
            .then(async (r) => (r.inFlight ? r : (await pageReconcilePass(rig.deps.alerter, name, r), r)))
            .catch((e: Error) => ({ error: e.message }));
          actions.push({ op: 'reconcile', start, end: performance.now(), detail: JSON.stringify(summary(result)) });
          return;
        }
        case 'actuate': {
          const epoch = await patiently(() => rig.store.currentEpoch(name));
          const outcomes = await reactToChanges(rig.deps, [{ sequence: 'again', pk: `CLUSTER#${name}`, sk: '#STATE', old: { epoch: -1 }, new: { epoch } }]).catch((e: Error) => [{ error: e.message }]);
          actions.push({ op: 'actuate', start, end: performance.now(), detail: JSON.stringify(outcomes.map((o) => ('result' in o && o.result ? summary(o.result) : o))) });
          return;
        }
        case 'drift': {
          const table = tables[step.table]!;
          const cidr = `${vip}/32`;
          const command = step.kind === 'foreign' ? new ReplaceRouteCommand({ RouteTableId: table, DestinationCidrBlock: cidr, NetworkInterfaceId: DRIFT_ENI }) : new DeleteRouteCommand({ RouteTableId: table, DestinationCidrBlock: cidr });
          const detail = await rig.testEc2.send(command as never).then(() => 'done', (e: Error) => `failed: ${e.name}`);
          actions.push({ op: 'drift', start, end: performance.now(), detail: `${step.kind} ${table}: ${detail}` });
          return;
        }
      }
    }),
  );

  const steps: Steps = { schedule, cluster, t0, sends, actions };
  if (options.stopAfterSteps) return { ...steps, quiescentAt: performance.now(), unsettled: null, beforeReconcile: EMPTY_VIEW, final: EMPTY_VIEW, pages: [], epochReads: [], routeHistory: {} };
  const busy = () => rig.trigger.handling(`CLUSTER#${name}`);
  const outcome = await actuatorOutcome(() => settle(rig.store, name, options.settleMs, busy), () => finalView(rig, cluster), options.settleMs);
  let unsettled = outcome.unsettled;
  const { beforeReconcile } = outcome;
  await reconcilePeriodAfterDrift(actions);
  const start = performance.now();
  const result = await converge({ store, actuator: rig.deps.actuator, now: () => new Date() }, name, { fresh: true, inFlightMs: 120_000 }).catch((e: Error) => ({ error: e.message }));
  actions.push({ op: 'reconcile', start, end: performance.now(), detail: `scheduled ${JSON.stringify(summary(result))}` });
  if (!(await settle(rig.store, name, options.settleMs, busy))) unsettled ??= 'not settled after the scheduled reconcile';
  return completeTrace(rig, steps, { unsettled, beforeReconcile, final: await finalView(rig, cluster) });
}

/**
 * The next reconcile pass comes a period after the drift, never within EC2's read lag of it: a Describe less than
 * about a second after a change may still show the value before it (the AWS-like profile's lag, up to 1 s), so a pass
 * reading then cannot see that drift; the real schedule's next pass (a minute later) does. This waits out that lag
 * since the last drift, no more.
 */
export async function reconcilePeriodAfterDrift(actions: readonly ActionRecord[], lagMs = DESCRIBE_LAG_MS): Promise<void> {
  const last = Math.max(0, ...actions.filter((a) => a.op === 'drift').map((a) => a.end));
  if (last > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(0, last + lagMs - performance.now())));
}

/** The AWS-like profile's Describe lag bound, plus a margin. */
const DESCRIBE_LAG_MS = 1200;

const EMPTY_VIEW: FinalView = { state: null, targets: null, routes: [], record: null };

/** What a schedule's steps did (the rest of a trace is read once the cluster is quiet). */
export type Steps = Pick<Trace, 'schedule' | 'cluster' | 't0' | 'sends' | 'actions'>;

/** The trace of a schedule whose steps are done and whose cluster is quiet: its route history, epoch reads and pages. */
export function completeTrace(rig: Rig, steps: Steps, end: Pick<Trace, 'unsettled' | 'beforeReconcile' | 'final'>): Trace {
  const { cluster } = steps;
  const routeHistory: Record<string, [number, string | null][]> = {};
  for (const table of cluster.tables) {
    const key = `${table} ${cluster.vip}/32`;
    routeHistory[key] = rig.observer.history(key);
    rig.observer.forget(key);
  }
  const epochReads = rig.epochReads.get(cluster.name) ?? [];
  rig.epochReads.delete(cluster.name);
  const pages = rig.pages.filter((p) => p.cluster === cluster.name);
  return { ...steps, ...end, quiescentAt: performance.now(), pages, epochReads, routeHistory };
}

function findCall(schedule: Schedule, id: string): CallSpec {
  for (const s of schedule.steps) if (s.op === 'send' && s.call.id === id) return s.call;
  throw new Error(`schedule ${schedule.seed}: resend of unknown id ${id}`);
}

function summary(result: unknown): unknown {
  const r = result as { epoch?: number; primary?: string; converged?: boolean; inFlight?: boolean; actions?: { result: string; from?: string | null; to: string }[]; error?: string };
  if (r.error !== undefined) return { error: r.error };
  return { epoch: r.epoch, primary: r.primary, converged: r.converged, inFlight: r.inFlight, actions: r.actions?.map((a) => `${a.result}:${a.from ?? '-'}→${a.to}`) };
}

/** The cluster's record, its target status, where its routes point (the true state) and its writer record's value. */
export async function finalView(rig: Rig, cluster: ClusterRef): Promise<FinalView> {
  const loaded = await patiently(() => rig.store.loadCluster(cluster.name));
  const cidr = `${cluster.vip}/32`;
  const tables = rig.ec2Aws.state().routeTables;
  const routes = cluster.tables.map((id) => tables.find((t) => t.routeTableId === id)?.routes.find((r) => r.destinationCidrBlock === cidr)?.networkInterfaceId ?? null);
  let record: string | null = null;
  if (cluster.record) {
    const record_ = cluster.record;
    const { ResourceRecordSets = [] } = await patiently(() => rig.testRoute53.send(new ListResourceRecordSetsCommand({ HostedZoneId: HOSTED_ZONE, StartRecordName: record_, StartRecordType: 'A', MaxItems: 1 })));
    const set = ResourceRecordSets.find((s) => s.Name === cluster.record && s.Type === 'A');
    record = set ? (set.ResourceRecords ?? []).map((r) => r.Value).join(',') : null;
  }
  return { state: loaded?.record.state ?? null, targets: loaded?.targets ?? null, routes, record };
}
