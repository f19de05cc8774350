/**
 * A fleet on the local stack: the topology of N clusters (plus the example's, so the tests' own clusters still fit),
 * registered and given a primary the way production does it (a committed claim, moved by the actuator), and a way to
 * run the reconcile Lambda and read back what it did.
 */
import { randomUUID } from 'node:crypto';
import { startLocalStack, type LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import type { Topology } from '../../local/aws-endpoint/index';
import type { JournalEntry } from '../../shared/ports/cluster-store';
import { exampleTopology } from '../support/local';
import { FLEET_SYSTEM_ID, fleetTopology, registerFleet, type FleetCluster, type FleetSpec } from './fleet-topology';

export interface FleetStack {
  stack: LocalStack;
  clusters: FleetCluster[];
  topology: Topology;
}

/** Start the local stack over the example topology plus `spec`'s fleet (nothing registered yet). */
export async function startFleetStack(spec: FleetSpec, options: { env?: Record<string, string>; log?: (line: string) => void } = {}): Promise<FleetStack> {
  const { topology, clusters } = fleetTopology(spec, await exampleTopology());
  const stack = await startLocalStack({ topology, schedule: false, env: options.env, log: options.log, latency: 'instant' });
  return { stack, clusters, topology };
}

/** What `store.commitClaim` journals with the claim that makes node1 the primary (as a hook's first claim would). */
function firstClaimEntry(cluster: string): JournalEntry {
  const at = new Date().toISOString();
  const id = randomUUID();
  return {
    cluster,
    eventId: id,
    receivedAt: at,
    node: 'node1',
    type: 'primary_register',
    outcome: 'accepted',
    reason: 'bench: node1 is the primary on timeline 1',
    epoch: 1,
    event: { v: 1, id, cluster, node: 'node1', source: 'repmgr', type: 'primary_register', success: true, role: null, occurredAt: at, details: '', facts: { inRecovery: false, timeline: 1, lsn: '0/3000060', systemIdentifier: FLEET_SYSTEM_ID }, raw: { argv: [] } },
  } as JournalEntry;
}

/**
 * Register every cluster and commit node1's claim (epoch 1) for each, then wait until the actuator has converged all of
 * them: the same path as production, so the sweep starts from a fleet where every endpoint was verified.
 */
export async function seedFleet(fleet: FleetStack, options: { concurrency?: number; timeoutMs?: number; progress?: (done: number) => void } = {}): Promise<void> {
  const { stack, clusters } = fleet;
  await registerFleet(stack.store, clusters, options.concurrency ?? 16);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: options.concurrency ?? 16 }, async () => {
      while (next < clusters.length) {
        const c = clusters[next++]!;
        const committed = await stack.store.commitClaim({ outcome: 'accepted', kind: 'claim', primary: 'node1', timeline: 1, epoch: 1, systemIdentifier: FLEET_SYSTEM_ID } as never, 0, firstClaimEntry(c.name));
        if (committed !== 'committed') throw new Error(`seeding ${c.name}: claim ${committed}`);
        options.progress?.(++done);
      }
    }),
  );
  const names = clusters.map((c) => c.name);
  await waitFor(`the actuator to converge ${names.length} clusters`, options.timeoutMs ?? 600_000, async () => {
    await stack.trigger.idle();
    const statuses = await stack.store.loadTargetStatuses(names);
    return names.every((n) => statuses.get(n)?.epoch === 1 && statuses.get(n)?.phase === 'converged');
  }, 500);
}

/** The reconcile Lambda's answer (functions/reconcile/handler.ts). */
export interface ReconcileAnswer {
  swept: number;
  shards: number;
  outcomes: Record<string, number>;
  drift: { found: number; repaired: number; failed: number };
  calls: Record<string, number>;
  next: string | null;
  ms: number;
  clusters: { cluster: string; outcome: string; converged: boolean; epoch: number; changed: number; error?: { code: string; message: string } }[];
}

/** Run the reconcile Lambda now (the local Lambda invoke API) and return its answer. */
export async function invokeSweep(stack: LocalStack, event: Record<string, unknown> = {}): Promise<ReconcileAnswer> {
  const response = await fetch(`${stack.lambdaUrl}/2015-03-31/functions/vipswitch-local-reconcile/invocations`, { method: 'POST', body: JSON.stringify(event) });
  const text = await response.text();
  const body = JSON.parse(text) as ReconcileAnswer & { errorMessage?: string };
  if (!response.ok || body.errorMessage !== undefined || typeof body.swept !== 'number') throw new Error(`reconcile failed (HTTP ${response.status}): ${text.slice(0, 500)}`);
  return body;
}
