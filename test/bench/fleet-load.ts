/**
 * P4, ingest throughput: 100 clusters registered on the local stack, each with node1 as its primary; then a separate
 * process (fleet-load-worker.ts) sends signed events as fast as `concurrency` hooks at once get answers, a mix of
 * claims (which the actuator then carries out, on the same machine), re-assertions and informational events. Events
 * per second over the whole load, and p50 / p99 of each answer's latency under it.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LocalStack } from '../../local/stack';
import { makeEvent, post, primaryFacts, registerCluster, startTestStack, SYSTEM_ID, type TestCluster } from '../support/local';
import type { LoadPlan, LoadResult } from './fleet-load-worker';
import { round1, summarize, type Summary } from './stats';

const run = promisify(execFile);

export interface LoadReport {
  clusters: number;
  concurrency: number;
  mix: LoadPlan['mix'];
  events: number;
  wallMs: number;
  eventsPerSecond: number;
  latency: Summary | null;
  byKind: Record<string, { n: number; latency: Summary | null; answers: Record<string, number> }>;
  /** Claims the actuator carried out during and after the load, and how long it took to drain after the load ended. */
  actuations: { invocations: number; drainMs: number };
  /**
   * The same load sent to a path no route takes (`$default`: the not-found Lambda, no store, no signature check): what
   * the local API host itself (edge, serverless-offline, a Lambda invocation) carries on this machine, the ceiling
   * under the ingest figure.
   */
  floor: { eventsPerSecond: number; latency: Summary | null };
  /**
   * The ingest's two store round trips alone, straight from this process to DynamoDB Local at the same concurrency:
   * the cluster's Query (authenticate) and the event's TransactWriteItems (replay guard, event id, journal entry).
   */
  store: { queryPerSecond: number; transactWritePerSecond: number };
  /** The same mix sent open loop at a fixed rate below saturation: the latency of a load the stack carries. */
  steady: { ratePerSecond: number; events: number; eventsPerSecond: number; latency: Summary | null } | null;
  errors: string[];
}

export async function benchLoad(options: { root: string; clusters: number; events: number; concurrency: number; mix: LoadPlan['mix']; steadyRate?: number; progress?: (text: string) => void; log?: (line: string) => void }): Promise<LoadReport> {
  const progress = options.progress ?? (() => undefined);
  progress('P4: starting the local stack…');
  const stack: LocalStack = await startTestStack({}, { latency: 'instant', ...(options.log ? { log: options.log } : {}) });
  const clusters: TestCluster[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'vipswitch-p4-'));
  try {
    for (let i = 0; i < options.clusters; i++) {
      const c = await registerCluster(stack);
      clusters.push(c);
      const answer = await post(stack, c, c.nodes.node1!, JSON.stringify(makeEvent(c, c.nodes.node1!, 'repmgrd_start', primaryFacts(1))));
      if (answer.status !== 202) throw new Error(`P4: ${c.name}'s first claim answered ${answer.status} ${JSON.stringify(answer.body)}`);
      if ((i + 1) % 20 === 0) progress(`P4: registered ${i + 1}/${options.clusters} clusters…`);
    }
    await stack.trigger.idle();
    const plan: LoadPlan = {
      eventsUrl: stack.eventsUrl,
      systemIdentifier: SYSTEM_ID,
      clusters: clusters.map((c) => ({ name: c.name, nodes: Object.values(c.nodes).map((n) => ({ name: n.name, id: n.id, key: n.key })) })),
      total: options.events,
      concurrency: options.concurrency,
      mix: options.mix,
      seed: 42,
    };
    const planFile = join(dir, 'plan.json');
    await writeFile(planFile, JSON.stringify(plan));
    const invocationsBefore = stack.trigger.stats().invocations;
    progress(`P4: ${options.events} events from ${options.concurrency} concurrent hooks (a separate process)…`);
    const load = async (file: string) => JSON.parse((await run(process.execPath, ['--import', 'tsx', join(options.root, 'test/bench/fleet-load-worker.ts'), file], { cwd: options.root, maxBuffer: 256 * 2 ** 20, timeout: 900_000 })).stdout) as LoadResult;
    const result = await load(planFile);
    const drainStarted = performance.now();
    await stack.trigger.idle();
    const drainMs = performance.now() - drainStarted;
    let steady: LoadReport['steady'] = null;
    // Below saturation: the given rate, else half of what the closed loop just carried.
    const steadyRate = options.steadyRate ?? Math.max(1, Math.round(result.samples.length / (result.wallMs / 1000) / 2));
    if (steadyRate > 0) {
      progress(`P4: the same mix at ${steadyRate} events/s, open loop…`);
      const steadyFile = join(dir, 'steady.json');
      const events = Math.round(steadyRate * 20);
      await writeFile(steadyFile, JSON.stringify({ ...plan, total: events, ratePerSecond: steadyRate, seed: 7 }));
      const result = await load(steadyFile);
      await stack.trigger.idle();
      steady = { ratePerSecond: steadyRate, events: result.samples.length, eventsPerSecond: round1(result.samples.length / (result.wallMs / 1000)), latency: summarize(result.samples.map((s) => s.ms)) };
    }
    progress('P4: the same load on a path no route takes (the API host alone)…');
    const floorFile = join(dir, 'floor.json');
    await writeFile(floorFile, JSON.stringify({ ...plan, eventsUrl: `${stack.apiUrl}/v1/floor`, total: Math.min(options.events, 3000) }));
    const floor = await load(floorFile);
    progress('P4: the store round trips alone (DynamoDB Local)…');
    const store = await storeCeiling(stack, clusters, options.concurrency, Math.min(options.events, 2000));
    const byKind: LoadReport['byKind'] = {};
    for (const kind of ['claim', 'reassertion', 'informational']) {
      const of = result.samples.filter((s) => s.kind === kind);
      const answers: Record<string, number> = {};
      for (const s of of) answers[`${s.status} ${s.code}`] = (answers[`${s.status} ${s.code}`] ?? 0) + 1;
      byKind[kind] = { n: of.length, latency: summarize(of.map((s) => s.ms)), answers };
    }
    return {
      clusters: options.clusters,
      concurrency: options.concurrency,
      mix: options.mix,
      events: result.samples.length,
      wallMs: round1(result.wallMs),
      eventsPerSecond: round1(result.samples.length / (result.wallMs / 1000)),
      latency: summarize(result.samples.map((s) => s.ms)),
      byKind,
      actuations: { invocations: stack.trigger.stats().invocations - invocationsBefore, drainMs: round1(drainMs) },
      floor: { eventsPerSecond: round1(floor.samples.length / (floor.wallMs / 1000)), latency: summarize(floor.samples.map((s) => s.ms)) },
      store,
      steady,
      errors: result.errors,
    };
  } finally {
    for (const c of clusters) await c.cleanup();
    await rm(dir, { recursive: true, force: true });
    await stack.stop();
  }
}

/** Operations a second of the ingest's Query and of its transaction, each alone, `concurrency` at a time. */
async function storeCeiling(stack: LocalStack, clusters: TestCluster[], concurrency: number, n: number): Promise<LoadReport['store']> {
  const rate = async (op: (i: number) => Promise<unknown>) => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) await op(next++);
      }),
    );
    return round1(n / ((performance.now() - t0) / 1000));
  };
  const queryPerSecond = await rate((i) => stack.store.loadCluster(clusters[i % clusters.length]!.name));
  const transactWritePerSecond = await rate((i) => {
    const c = clusters[i % clusters.length]!;
    const event = makeEvent(c, c.nodes.node3!, 'repmgrd_start', { ...primaryFacts(1), inRecovery: true });
    return stack.store.recordEvent({
      entry: { cluster: c.name, eventId: event.id, receivedAt: new Date().toISOString(), node: 'node3', type: event.type, outcome: 'ignored', reason: 'bench: store ceiling', epoch: null, event },
      replay: { digest: randomUUID(), expiresAt: Math.floor(Date.now() / 1000) + 600 },
      payloadHash: 'bench',
      answer: { status: 200, body: { code: 'ignored', message: 'bench' } },
    });
  });
  return { queryPerSecond, transactWritePerSecond };
}

export function formatLoad(r: LoadReport, targets: { eventsPerSecond: number; p99Ms: number }): string {
  const lines = [
    `== P4 ingest throughput: ${r.clusters} clusters, ${r.concurrency} hooks at once (a separate process), ${r.events} events: ${Math.round(r.mix.claims * 100)} % claims, ${Math.round(r.mix.reassertions * 100)} % re-assertions, the rest informational ==`,
    `${'events'.padEnd(16)} ${'n'.padStart(6)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)}  answers`,
    `${'all'.padEnd(16)} ${String(r.events).padStart(6)} ${`${r.latency?.p50} ms`.padStart(8)} ${`${r.latency?.p99} ms`.padStart(8)} ${`${r.latency?.max} ms`.padStart(8)}`,
  ];
  for (const [kind, k] of Object.entries(r.byKind)) {
    lines.push(`${kind.padEnd(16)} ${String(k.n).padStart(6)} ${`${k.latency?.p50} ms`.padStart(8)} ${`${k.latency?.p99} ms`.padStart(8)} ${`${k.latency?.max} ms`.padStart(8)}  ${Object.entries(k.answers).map(([a, n]) => `${a} ×${n}`).join(', ')}`);
  }
  lines.push(`throughput ${r.eventsPerSecond} events/s over ${round1(r.wallMs / 1000)} s; the actuator ran ${r.actuations.invocations} times and drained ${r.actuations.drainMs} ms after the load${r.errors.length ? `; ${r.errors.length} request error(s): ${r.errors[0]}` : ''}`);
  lines.push(`the API host alone (same load, a path no route takes: no store, no signature): ${r.floor.eventsPerSecond} requests/s, p50 ${r.floor.latency?.p50} ms, p99 ${r.floor.latency?.p99} ms`);
  if (r.steady) lines.push(`the same mix at a steady ${r.steady.ratePerSecond} events/s (open loop, ${r.steady.events} events): p50 ${r.steady.latency?.p50} ms, p99 ${r.steady.latency?.p99} ms, max ${r.steady.latency?.max} ms`);
  lines.push(`DynamoDB Local alone, ${r.concurrency} at a time from this process: the ingest's Query ${r.store.queryPerSecond}/s, its TransactWriteItems ${r.store.transactWritePerSecond}/s`);
  lines.push(
    `targets: ≥ ${targets.eventsPerSecond} events/s: ${r.eventsPerSecond} ${r.eventsPerSecond >= targets.eventsPerSecond ? 'PASS' : 'MISS'}; p99 ≤ ${targets.p99Ms} ms: ${r.latency?.p99} ms ${(r.latency?.p99 ?? Infinity) <= targets.p99Ms ? 'PASS' : 'MISS'}`,
  );
  return lines.join('\n');
}
