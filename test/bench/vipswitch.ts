/**
 * The vipswitch side of the bench: one cold `vipswitch-hook repmgr … standby_promote` process per sample, as repmgr
 * runs it, and what follows it: the caller unblocked (hook exit), each mechanism moved in the local AWS endpoint's
 * state (polled on every event-loop turn), and the status API reporting the new epoch `converged` (read back).
 */
import type { CallRecord } from '../../local/aws-endpoint/index';
import { endpointView, type EndpointView } from '../../local/endpoint-view';
import type { LocalStack } from '../../local/stack';
import type { EndpointConfig } from '../../shared/domain/cluster';
import { HOOK, primaryFacts, repmgrArgs, runHook, settled, type TestCluster, type TestNode } from '../support/local';
import { parseHookDelivery } from './hook-log';
import { isoSinceOrigin, nextTurn, origin, runTimed, sinceOrigin, type Origin, type TimedRun } from './timing';

export type MechanismKey = 'routes' | 'elasticIp' | 'secondaryIp' | 'writer';

/** How each mechanism is seen to point at a node in the endpoint's state. */
export const MECHANISMS: { key: MechanismKey; label: string; configured: (v: EndpointView) => boolean; at: (v: EndpointView, node: TestNode) => boolean }[] = [
  { key: 'routes', label: 'route tables (both)', configured: (v) => v.routes.length > 0, at: (v, n) => v.routes.every((r) => r.eni === n.eni) },
  { key: 'elasticIp', label: 'Elastic IP', configured: (v) => v.elasticIp !== null, at: (v, n) => v.elasticIp?.eni === n.eni },
  { key: 'secondaryIp', label: 'secondary IP', configured: (v) => v.secondaryIp !== null, at: (v, n) => v.secondaryIp?.eni === n.eni },
  { key: 'writer', label: 'Route 53 writer record', configured: (v) => v.writer !== null, at: (v, n) => v.writer?.values.length === 1 && v.writer.values[0] === n.privateIp },
];

/** The measured path of one promotion, every time in ms from just before the hook's spawn. */
export interface PromotionSample {
  node: string;
  timeline: number;
  epoch: number;
  /** spawn → exit: what repmgr waits for. */
  blockedMs: number;
  /** spawn → the mechanism points at the new primary in the endpoint's state. */
  movedMs: Partial<Record<MechanismKey, number>>;
  /** spawn → every configured mechanism moved. */
  allMovedMs: number;
  /** spawn → the status API shows the new epoch `converged` (the actuator's read-back / INSYNC wait included). */
  verifiedMs: number;
  /** Named segments of the path (NaN where a sample could not measure one); see {@link segmentsOf}. */
  segments: Record<string, number>;
}

const ROUTE_MUTATIONS = new Set(['ReplaceRoute', 'CreateRoute']);

/** The cluster's status, without its journal (fewer reads on the store the actuator is using). */
async function fetchStatus(stack: LocalStack, cluster: TestCluster): Promise<Record<string, any>> {
  const response = await fetch(`${stack.apiUrl}/v1/clusters/${cluster.name}?journal=0`);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`status API answered ${response.status} for ${cluster.name}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as Record<string, any>;
  if (typeof body.state !== 'object' || body.state === null) throw new Error(`status API answered without a state for ${cluster.name}: ${text.slice(0, 300)}`);
  return body;
}

/**
 * Break one sample's path into segments, measured from: the hook's own log line (answer time, request → answer),
 * the stream trigger's invocation count (seen in this process), the AWS endpoint's call log (arrival `at`, `ms`) and
 * the status API's `endpoint.since` / `endpoint.at`.
 */
function segmentsOf(o: Origin, s: Omit<PromotionSample, 'segments'>, stderr: string, invokeMs: number, invocations: number, endpoint: Record<string, any>, calls: CallRecord[], cluster: TestCluster): Record<string, number> {
  const delivery = parseHookDelivery(stderr, 'standby_promote');
  const answered = delivery ? delivery.answeredAt - o.wall0 : Number.NaN;
  const since = isoSinceOrigin(o, endpoint.since);
  const at = isoSinceOrigin(o, endpoint.at);
  const arrival = (c: CallRecord | undefined) => (c ? isoSinceOrigin(o, c.at) : Number.NaN);
  const done = (c: CallRecord | undefined) => (c && c.ms !== null ? arrival(c) + c.ms : Number.NaN);
  const describe = calls.find((c) => c.service === 'ec2' && c.action === 'DescribeRouteTables');
  const routeMutations = calls.filter((c) => c.service === 'ec2' && ROUTE_MUTATIONS.has(c.action) && c.params.DestinationCidrBlock === `${cluster.vip}/32`);
  const firstRouteMutation = routeMutations[0];
  const change = calls.find((c) => c.service === 'route53' && c.action === 'ChangeResourceRecordSets');
  const getChanges = calls.filter((c) => c.service === 'route53' && c.action === 'GetChange');
  return {
    'hook start → request sent': delivery ? answered - delivery.sendMs : Number.NaN,
    'request → answer (hook ms: ingest)': delivery?.sendMs ?? Number.NaN,
    'answer → hook exit': s.blockedMs - answered,
    'answer → actuate invoked (stream trigger)': invokeMs - answered,
    'actuate invoked → converging recorded (since)': since - invokeMs,
    'since → DescribeRouteTables arrives': arrival(describe) - since,
    'DescribeRouteTables duration': describe?.ms ?? Number.NaN,
    'Describe answered → route mutation arrives': arrival(firstRouteMutation) - done(describe),
    'answer → first route mutation arrives': arrival(firstRouteMutation) - answered,
    'route mutation duration (slower table)': routeMutations.length > 0 ? Math.max(...routeMutations.map((c) => c.ms ?? Number.NaN)) : Number.NaN,
    'first → last route mutation arrives (2 tables)': routeMutations.length > 1 ? arrival(routeMutations.at(-1)) - arrival(firstRouteMutation) : Number.NaN,
    'route mutation arrives → routes moved (state)': (s.movedMs.routes ?? Number.NaN) - arrival(firstRouteMutation),
    'last route mutation answered → routes moved': (s.movedMs.routes ?? Number.NaN) - Math.max(...routeMutations.map(done)),
    'all moved → verified recorded (endpoint.at)': at - s.allMovedMs,
    'verified recorded → status API shows converged': s.verifiedMs - at,
    'Route 53 change answered → verified recorded (INSYNC wait)': getChanges.length > 0 ? at - done(change) : Number.NaN,
    'GetChange polls': getChanges.length > 0 ? getChanges.length : Number.NaN,
    'actuate invocations': invocations,
  };
}

/** What the endpoint and the trigger saw since a sample began: for the message of a sample that timed out. */
function diagnose(stack: LocalStack, seq0: number, invocations0: number): string {
  const calls = stack.aws.calls().filter((c) => c.seq > seq0).map((c) => `${c.at} ${c.service} ${c.action} ${c.status ?? 'pending'} ${c.errorCode ?? ''} ${c.ms ?? '-'} ms`);
  const stats = stack.trigger.stats();
  return `\ntrigger: ${stats.invocations - invocations0} invocation(s) since the sample began, ${JSON.stringify(stats)}\nAWS calls since the sample began:\n  ${calls.join('\n  ') || '(none)'}`;
}

/**
 * One promotion of `node` on `timeline`: spawn the hook; on every event-loop turn note the trigger's first invocation
 * and each mechanism reaching `node`; after the hook exited and everything moved, ask the status API each time the
 * trigger is idle until the new epoch is `converged`.
 */
async function promote(stack: LocalStack, cluster: TestCluster, endpoints: EndpointConfig, node: TestNode, timeline: number): Promise<PromotionSample> {
  const seq0 = stack.aws.calls().at(-1)?.seq ?? 0;
  const invocations0 = stack.trigger.stats().invocations;
  const deadlineMs = 30_000;
  const o = origin();
  const hook = runTimed(o, process.execPath, [HOOK, '--config', node.configPath, '--facts-json', JSON.stringify(primaryFacts(timeline)), 'repmgr', ...repmgrArgs(node, 'standby_promote', `server "${node.name}" (ID: ${node.id}) was successfully promoted to primary`)], process.env);
  const outcome: { run?: TimedRun; error?: unknown } = {};
  hook.then((r) => (outcome.run = r), (e: unknown) => (outcome.error = e ?? new Error('hook failed')));
  const mechanisms = MECHANISMS.filter((m) => m.configured(endpointView(stack.aws.state(), endpoints)));
  const movedMs: Partial<Record<MechanismKey, number>> = {};
  let invokeMs = Number.NaN;
  for (;;) {
    const now = sinceOrigin(o, performance.now());
    if (Number.isNaN(invokeMs) && stack.trigger.stats().invocations > invocations0) invokeMs = now;
    const view = endpointView(stack.aws.state(), endpoints);
    for (const m of mechanisms) if (movedMs[m.key] === undefined && m.at(view, node)) movedMs[m.key] = now;
    if (outcome.error !== undefined) throw outcome.error;
    if (outcome.run !== undefined && mechanisms.every((m) => movedMs[m.key] !== undefined)) break;
    if (now > deadlineMs) throw new Error(`promotion of ${node.name} (timeline ${timeline}) not moved within ${deadlineMs} ms: moved ${JSON.stringify(movedMs)}, hook ${outcome.run ? `exited: ${outcome.run.stderr}` : 'still running'}${diagnose(stack, seq0, invocations0)}`);
    await nextTurn();
  }
  const run = outcome.run!;
  // The status API is read when the trigger has nothing in flight (checked on every turn, in this process): the
  // actuator records `converged` before its invocation ends, so that read finds it. Reading it in a tight loop
  // meanwhile would put the status Lambda on the Lambda host the actuator runs on, inside the path being measured.
  const trigger = { idle: false };
  const armIdle = () => {
    trigger.idle = false;
    void stack.trigger.idle().then(() => (trigger.idle = true));
  };
  armIdle();
  let status: Record<string, any> = {};
  for (;;) {
    if (trigger.idle) {
      status = await fetchStatus(stack, cluster);
      const { state, endpoint } = status;
      if (state.primary === node.name && state.timeline === timeline && endpoint?.epoch === state.epoch) {
        if (endpoint.phase === 'converged') break;
        if (endpoint.phase === 'failed') throw new Error(`actuation failed for ${node.name}: ${JSON.stringify(endpoint.targets)}`);
      }
      armIdle();
    }
    if (sinceOrigin(o, performance.now()) > deadlineMs) throw new Error(`status of ${cluster.name} not converged on ${node.name} within ${deadlineMs} ms: ${JSON.stringify(status.endpoint)}${diagnose(stack, seq0, invocations0)}`);
    await nextTurn();
  }
  const verifiedMs = sinceOrigin(o, performance.now());
  const sample = { node: node.name, timeline, epoch: status.state.epoch as number, blockedMs: run.exitMs - run.startMs, movedMs, allMovedMs: Math.max(...mechanisms.map((m) => movedMs[m.key]!)), verifiedMs };
  const calls = stack.aws.calls().filter((c) => c.seq > seq0);
  return { ...sample, segments: segmentsOf(o, sample, run.stderr, invokeMs, stack.trigger.stats().invocations - invocations0, status.endpoint, calls, cluster) };
}

/**
 * The floor under "caller blocked": a cold `vipswitch-hook --version` (node start and loading the bundle, no config,
 * no network), spawn → exit.
 */
export async function hookFloorMs(): Promise<number> {
  const run = await runTimed(origin(), process.execPath, [HOOK, '--version'], process.env);
  if (run.code !== 0) throw new Error(`vipswitch-hook --version exited ${run.code}: ${run.stderr}`);
  return run.exitMs - run.startMs;
}

export interface PromotionRunner {
  /** The next promotion (node2 and node3 in turn, timeline + 1 each time). */
  next(): Promise<PromotionSample>;
}

/** Make node1 the primary on timeline 1 (moved and settled), then hand out promotions one at a time. */
export async function promotions(stack: LocalStack, cluster: TestCluster, endpoints: EndpointConfig): Promise<PromotionRunner> {
  const node1 = cluster.nodes.node1!;
  await runHook(node1, repmgrArgs(node1, 'repmgrd_start', 'monitoring cluster primary "node1" (ID: 1)'), primaryFacts(1));
  await settled(stack, cluster, 30_000);
  let i = 0;
  return {
    next: async () => {
      const node = i % 2 === 0 ? cluster.nodes.node2! : cluster.nodes.node3!;
      i += 1;
      return promote(stack, cluster, endpoints, node, i + 1);
    },
  };
}
