/**
 * P4's load generator, a process of its own (so the load does not share the bench's event loop with the local AWS
 * endpoint and the stream trigger): signed `POST /v1/events` as the hook sends them, each cluster's events in order
 * (one hook at a time per cluster, as on a real node), many clusters at once. Reads its plan (JSON) from the file named
 * by argv[2]; writes its samples (JSON) to stdout.
 *
 * Per cluster, each event is drawn from the mix: a claim (the next node promoted, timeline + 1: 202 accepted), the
 * primary re-asserting itself on its timeline (200 ignored, reassertion), or a standby's informational event (200
 * ignored).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { signedHeaders } from '../../shared/protocol/signature';

export interface LoadPlan {
  eventsUrl: string;
  systemIdentifier: string;
  clusters: { name: string; nodes: { name: string; id: number; key: string }[] }[];
  /** Events to send in all. */
  total: number;
  /** Clusters sending at once (at most). */
  concurrency: number;
  /**
   * Open loop: send at this rate (events a second) whatever the answers' pace, instead of as fast as the answers come
   * (closed loop, the default). Shows the latency of a load the stack can carry, apart from queueing at saturation.
   */
  ratePerSecond?: number;
  /** Shares of claims and re-assertions (the rest informational), 0..1. */
  mix: { claims: number; reassertions: number };
  seed: number;
}

export interface LoadSample {
  kind: 'claim' | 'reassertion' | 'informational';
  status: number;
  code: string;
  /** Request sent → answer read, ms. */
  ms: number;
}

export interface LoadResult {
  samples: LoadSample[];
  wallMs: number;
  errors: string[];
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main(): Promise<void> {
  const plan = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as LoadPlan;
  const rand = random(plan.seed);
  const state = new Map(plan.clusters.map((c) => [c.name, { primary: 0, timeline: 1 }]));
  const samples: LoadSample[] = [];
  const errors: string[] = [];
  let sent = 0;
  const queue = [...plan.clusters];
  const started = performance.now();

  const one = async (cluster: LoadPlan['clusters'][number]): Promise<void> => {
    const s = state.get(cluster.name)!;
    const draw = rand();
    const kind: LoadSample['kind'] = draw < plan.mix.claims ? 'claim' : draw < plan.mix.claims + plan.mix.reassertions ? 'reassertion' : 'informational';
    let nodeIndex = s.primary;
    let facts = { inRecovery: false, timeline: s.timeline, lsn: '0/3000060', systemIdentifier: plan.systemIdentifier };
    let type = 'repmgrd_start';
    if (kind === 'claim') {
      nodeIndex = (s.primary + 1) % cluster.nodes.length;
      facts = { ...facts, timeline: s.timeline + 1 };
      type = 'standby_promote';
    } else if (kind === 'informational') {
      nodeIndex = (s.primary + 1 + Math.floor(rand() * (cluster.nodes.length - 1))) % cluster.nodes.length;
      facts = { ...facts, inRecovery: true };
    }
    const node = cluster.nodes[nodeIndex]!;
    const id = randomUUID();
    const at = new Date().toISOString();
    const body = JSON.stringify({ v: 1, id, cluster: cluster.name, node: node.name, source: 'repmgr', type, success: true, role: null, occurredAt: at, details: 'bench', facts, raw: { argv: [String(node.id), type, '1', at.replace('T', ' ').replace('Z', '+00'), 'bench', '', '', ''] } });
    const t0 = performance.now();
    try {
      const response = await fetch(plan.eventsUrl, { method: 'POST', headers: signedHeaders(cluster.name, node.name, node.key, body, Date.now() / 1000), body });
      const answer = (await response.json()) as { code?: string };
      const ms = performance.now() - t0;
      samples.push({ kind, status: response.status, code: String(answer.code ?? ''), ms });
      if (kind === 'claim' && response.status === 202) {
        s.primary = nodeIndex;
        s.timeline += 1;
      }
    } catch (error) {
      errors.push(String((error as Error)?.message ?? error));
    }
  };

  if (plan.ratePerSecond) {
    // Open loop: one event every 1/rate s, on a cluster with nothing in flight (each cluster's events stay in order).
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < plan.total; i++) {
      const due = started + (i * 1000) / plan.ratePerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      while (queue.length === 0) await Promise.race(inFlight);
      const cluster = queue.shift()!;
      const p: Promise<void> = one(cluster).then(() => {
        queue.push(cluster);
        inFlight.splice(inFlight.indexOf(p), 1);
      });
      inFlight.push(p);
    }
    await Promise.all(inFlight);
  } else {
    await Promise.all(
      Array.from({ length: plan.concurrency }, async () => {
        while (sent < plan.total) {
          const cluster = queue.shift();
          if (!cluster) return;
          sent++;
          await one(cluster);
          queue.push(cluster);
        }
      }),
    );
  }
  const result: LoadResult = { samples, wallMs: performance.now() - started, errors: errors.slice(0, 20) };
  process.stdout.write(JSON.stringify(result));
}

main().catch((error) => {
  process.stderr.write(String(error?.stack ?? error));
  process.exit(1);
});
