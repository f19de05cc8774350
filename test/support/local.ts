import { execFile } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { applyClusterFile } from '../../local/apply';
import { repoRoot } from '../../local/root';
import { loadTopology, startLocalStack, type LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import { signedHeaders } from '../../shared/protocol/signature';
import type { EventFacts, NodeFacts, VipEvent } from '../../shared/domain/event';
import type { Tool } from '../../shared/domain/cluster';
import type { HookMode } from '../../shared/protocol/build-event';

const run = promisify(execFile);
export const ROOT = repoRoot();
export const HOOK = join(ROOT, 'hooks/dist/vipswitch-hook.cjs');
export const SYSTEM_ID = '7710811430681400266';

/** The example topology's three nodes (local/topology.example.json). */
export async function exampleTopology() {
  return loadTopology(join(ROOT, 'local/topology.example.json'));
}

export async function startTestStack(env: Record<string, string> = {}, options: { latency?: Parameters<typeof startLocalStack>[0]['latency']; log?: (line: string) => void } = {}): Promise<LocalStack> {
  await run(process.execPath, [join(ROOT, 'scripts/build-hook.mjs')]);
  // VIPSWITCH_STACK_LOG=<file>: keep the API host's output (serverless-offline, Lambda logs) for debugging.
  const logFile = process.env.VIPSWITCH_STACK_LOG;
  const toFile = logFile ? (line: string) => appendFileSync(logFile, `${line}\n`) : undefined;
  const log = options.log || toFile ? (line: string) => (options.log?.(line), toFile?.(line)) : undefined;
  return startLocalStack({ topology: await exampleTopology(), env, schedule: false, log, ...(options.latency ? { latency: options.latency } : {}) });
}

/** Run the reconcile Lambda now, through the local Lambda invoke API. */
export async function invokeReconcile(stack: LocalStack): Promise<{ clusters: { cluster: string; converged: boolean; epoch: number; changed: number }[] }> {
  const response = await fetch(`${stack.lambdaUrl}/2015-03-31/functions/vipswitch-local-reconcile/invocations`, { method: 'POST', body: '{}' });
  return (await response.json()) as never;
}

let vipCounter = 0;

export interface TestNode {
  name: string;
  id: number;
  eni: string;
  key: string;
  instanceId: string;
  privateIp: string;
  configPath: string;
  spoolDir: string;
}

export interface TestCluster {
  name: string;
  dir: string;
  vip: string;
  routeTableIds: string[];
  nodes: Record<string, TestNode>;
  cleanup(): Promise<void>;
}

/**
 * Register a fresh cluster (unique name) over the example topology's ENIs and route tables, with new keys, and write
 * a hook config per node pointing at `eventsUrl`.
 */
export async function registerCluster(
  stack: LocalStack,
  options: { eventsUrl?: string; vip?: string; systemIdentifier?: string; endpoints?: Record<string, unknown>; fencing?: 'alert' | 'stop-instance'; dryRun?: boolean; routeTableIds?: string[]; tool?: Tool } = {},
): Promise<TestCluster> {
  const topology = await exampleTopology();
  const dir = await mkdtemp(join(tmpdir(), 'vipswitch-it-'));
  const name = `it-${randomUUID().slice(0, 8)}`;
  const enis = topology.networkInterfaces.map((e) => e.networkInterfaceId);
  // Unique per registration: clusters of one test file share the local endpoint's route tables.
  vipCounter += 1;
  const vip = options.vip ?? `10.0.${200 + Math.floor(vipCounter / 250)}.${1 + (vipCounter % 250)}`;
  const routeTableIds = options.routeTableIds ?? topology.routeTables.map((t) => t.routeTableId);
  const nodes: Record<string, TestNode> = {};
  for (let i = 1; i <= 3; i++) {
    const node: TestNode = { name: `node${i}`, id: i, eni: enis[i - 1]!, instanceId: topology.instances[i - 1]!.instanceId, privateIp: topology.networkInterfaces[i - 1]!.privateIpAddress, key: randomBytes(32).toString('hex'), configPath: join(dir, `hook-node${i}.json`), spoolDir: join(dir, `spool-node${i}`) };
    await writeFile(join(dir, `node${i}.key`), node.key, { mode: 0o600 });
    await writeFile(node.configPath, JSON.stringify({ endpoint: options.eventsUrl ?? stack.eventsUrl, cluster: name, node: node.name, keyFile: join(dir, `node${i}.key`), spoolDir: node.spoolDir, timeoutMs: 3000 }));
    nodes[node.name] = node;
  }
  const file = join(dir, 'cluster.yaml');
  // A pgpool cluster registers the Pgpool-II nodes: no repmgr id, no PostgreSQL system identifier.
  const tool = options.tool ?? 'repmgr';
  const pgpool = tool === 'pgpool';
  await writeFile(
    file,
    stringify({
      cluster: name,
      tool,
      ...(pgpool ? {} : { systemIdentifier: options.systemIdentifier ?? SYSTEM_ID }),
      fencing: options.fencing ?? 'alert',
      dryRun: options.dryRun ?? false,
      nodes: Object.values(nodes).map((n) => ({ name: n.name, ...(pgpool ? {} : { repmgrNodeId: n.id }), eni: n.eni, instanceId: n.instanceId, privateIp: n.privateIp, keyFile: `node${n.id}.key` })),
      endpoints: { routeTables: { vip, routeTableIds }, ...options.endpoints },
    }),
  );
  await applyClusterFile(stack.store, file);
  return { name, dir, vip, routeTableIds, nodes, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function primaryFacts(timeline: number, systemIdentifier = SYSTEM_ID): NodeFacts {
  return { inRecovery: false, timeline, lsn: '0/3000060', systemIdentifier };
}

export function repmgrArgs(node: TestNode, event: string, details = ''): string[] {
  return [String(node.id), event, '1', new Date().toISOString().replace('T', ' ').replace('Z', '+00'), details, '', '', ''];
}

/** Run the real bundled hook binary, as repmgr would (argv array, no shell). */
export async function runHook(node: TestNode, args: string[], facts: NodeFacts | null, extraEnv: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  const flags = facts === null ? [] : ['--facts-json', JSON.stringify(facts)];
  return run(process.execPath, [HOOK, '--config', node.configPath, ...flags, 'repmgr', ...args], { env: { ...process.env, ...extraEnv }, timeout: 30_000 });
}

/**
 * Run the real bundled hook in any mode (`keepalived`, `pgpool`, ...) with these facts (`--facts-json`; `undefined`: let
 * the hook probe), as keepalived / Pgpool-II would: an argv array, no shell. Resolves with the output; never throws on
 * the hook's exit code (tool calls always exit 0).
 */
export async function runToolHook(node: TestNode, mode: HookMode, args: string[], facts?: EventFacts | null, extraEnv: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  const flags = facts === undefined ? [] : ['--facts-json', JSON.stringify(facts)];
  return run(process.execPath, [HOOK, '--config', node.configPath, ...flags, mode, ...args], { env: { ...process.env, ...extraEnv }, timeout: 30_000 });
}

/** Where the VIP route points in each of the cluster's route tables, per the local EC2 endpoint's state view. */
export function routeTargets(stack: LocalStack, cluster: TestCluster): (string | null)[] {
  return stack.aws
    .state()
    .routeTables.filter((t) => cluster.routeTableIds.includes(t.routeTableId))
    .map((t) => t.routes.find((r) => r.destinationCidrBlock === `${cluster.vip}/32`)?.networkInterfaceId ?? null);
}

/**
 * Wait until the actuator has carried out everything committed for `cluster`: the trigger is idle, the endpoint status
 * is `converged` (or `failed`) for the current epoch. The endpoint moves after the answer, so tests wait for this.
 */
export async function settled(stack: LocalStack, cluster: TestCluster, timeoutMs = 15_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  return waitFor(`the actuator to settle ${cluster.name}`, timeoutMs, async () => {
    // Bounded: a stuck trigger must fail this wait, not hang it.
    await Promise.race([stack.trigger.idle(), new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
    const s = await status(stack, cluster);
    return s.endpoint && s.endpoint.epoch === s.state.epoch && s.endpoint.phase !== 'converging' ? s : null;
  }, 20);
}

/** Wait until every route table's VIP route points at `eni`. */
export async function routesOn(stack: LocalStack, cluster: TestCluster, eni: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(`routes on ${eni}`, timeoutMs, () => routeTargets(stack, cluster).every((t) => t === eni), 10);
}

/** A v1 event as the hook would build it, for direct POSTs. */
export function makeEvent(cluster: TestCluster, node: TestNode, type: string, facts: NodeFacts | null, id = randomUUID()): VipEvent {
  const args = repmgrArgs(node, type);
  return { v: 1, id, cluster: cluster.name, node: node.name, source: 'repmgr', type, success: true, role: null, occurredAt: new Date().toISOString(), details: '', facts, raw: { argv: args } };
}

/** POST a body signed with `key` (or with `headers` overriding), returning status and JSON. */
export async function post(stack: LocalStack, cluster: TestCluster, node: TestNode, body: string, override: Record<string, string> = {}, key = node.key) {
  const headers = { ...signedHeaders(cluster.name, node.name, key, body, Date.now() / 1000), ...override };
  const response = await fetch(stack.eventsUrl, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

export async function status(stack: LocalStack, cluster: TestCluster) {
  const response = await fetch(`${stack.apiUrl}/v1/clusters/${cluster.name}`);
  return (await response.json()) as Record<string, any>;
}

export { mkdir, readFile };
