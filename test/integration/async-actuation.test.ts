import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { LATENCY_PROFILES } from '../../local/aws-endpoint/index';
import { endpointView, pointsAt } from '../../local/endpoint-view';
import type { LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import type { EndpointConfig } from '../../shared/domain/cluster';
import { HOOK, primaryFacts, registerCluster, repmgrArgs, runHook, settled, startTestStack, type TestCluster, type TestNode } from '../support/local';

/**
 * "Commit fast, converge asynchronously", proven under the AWS-like latency profile (EC2 mutations ~100–400 ms,
 * Describe calls lagging changes, Route 53 INSYNC shortened to 3 s here): the hook's caller is never held by AWS, the
 * endpoint still moves, and a failed trigger heals in seconds.
 */
const AWS_PROFILE = { ...LATENCY_PROFILES.aws, route53InsyncMs: { minMs: 3000, maxMs: 3000 } };
const BLOCK_BOUND_MS = 250;

/** Run the hook as repmgr does (a new process) and measure how long its caller is blocked: spawn → exit. */
async function timedHook(node: TestNode, type: string, timeline: number): Promise<{ blockedMs: number; stderr: string }> {
  const started = performance.now();
  const child = spawn(process.execPath, [HOOK, '--config', node.configPath, '--facts-json', JSON.stringify(primaryFacts(timeline)), 'repmgr', ...repmgrArgs(node, type)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`hook exited ${code}: ${stderr}`);
  return { blockedMs: performance.now() - started, stderr };
}

/** The floor of any hook call on this machine right now: `vipswitch-hook --version`, spawn → exit (median of 5). */
async function hookFloorMs(): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    const child = spawn(process.execPath, [HOOK, '--version'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('exit', resolve));
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

/**
 * The bound on the caller's wait: 250 ms with Node's start at this machine's idle floor (~60 ms). When the machine is
 * loaded (other work beside the test), the extra time Node itself needs to start is not ours: it is added.
 */
const IDLE_FLOOR_MS = 60;
const boundFor = (floorMs: number) => BLOCK_BOUND_MS + Math.max(0, floorMs - IDLE_FLOOR_MS);

const spooled = async (node: TestNode) => (await readdir(node.spoolDir).catch(() => [])).filter((f) => f.endsWith('.json'));

describe('commit fast, converge asynchronously (AWS-like latency profile)', () => {
  let stack: LocalStack;
  let cluster: TestCluster;
  let endpoints: EndpointConfig;
  const stackLog: string[] = [];

  beforeAll(async () => {
    stack = await startTestStack({}, { latency: AWS_PROFILE, log: (line) => stackLog.push(line) });
    endpoints = {
      elasticIp: { allocationId: 'eipalloc-0a1b2c3d4e5f60001' },
      secondaryIp: { address: '10.0.1.100' },
      route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', writerRecord: 'writer.db.example.internal.', readerRecord: 'reader.db.example.internal.', ttl: 10, waitForInsync: true, insyncTimeoutSeconds: 60 },
    };
    cluster = await registerCluster(stack, { endpoints: endpoints as never });
    endpoints = { routeTables: { vip: cluster.vip, routeTableIds: cluster.routeTableIds }, ...endpoints };
    await runHook(cluster.nodes.node1!, repmgrArgs(cluster.nodes.node1!, 'repmgrd_start'), primaryFacts(1));
    await settled(stack, cluster, 30_000);
  }, 180_000);

  afterAll(async () => {
    await cluster?.cleanup();
    await stack?.stop();
  });

  const view = () => endpointView(stack.aws.state(), endpoints);

  it('promotions block the caller at most 250 ms, the routes move within about 1 s, and Route 53 reaches INSYNC', async () => {
    const blocked: number[] = [];
    const routesMoved: number[] = [];
    let timeline = 1;
    // The first two promotions warm what a long-running deployment has warm (DynamoDB Local's JVM, the handler's code
    // paths): they must move the endpoint too, but only the later ones are timed.
    const WARM_UP = 2;
    for (let i = 0; i < WARM_UP + 6; i++) {
      const node = i % 2 === 0 ? cluster.nodes.node2! : cluster.nodes.node3!;
      timeline += 1;
      const started = performance.now();
      const hook = timedHook(node, 'standby_promote', timeline);
      const moved = waitFor('the routes to move', 10_000, () => view().routes.every((r) => r.eni === node.eni) && performance.now() - started, 5);
      const [{ blockedMs, stderr }, movedMs] = await Promise.all([hook, moved]);
      if (i >= WARM_UP) {
        blocked.push(blockedMs);
        routesMoved.push(movedMs);
      }
      expect(stderr).toContain('outcome=delivered');
      expect(await spooled(node)).toEqual([]);
      // Verified: every mechanism read back, and the Route 53 change INSYNC (the actuator waits for it, not the hook).
      const s = await settled(stack, cluster, 30_000);
      expect(s.state).toMatchObject({ primary: node.name, timeline, epoch: s.state.appliedEpoch });
      expect(s.endpoint.phase).toBe('converged');
      expect(pointsAt(view(), node)).toBe(true);
      const zone = stack.aws.state().hostedZones.find((z) => z.id === 'Z0123456789ABCDEFGHIJ')!;
      expect(zone.changes.at(-1)?.status).toBe('INSYNC');
    }
    const floor = await hookFloorMs();
    process.stdout.write(`caller blocked (ms): ${blocked.map((b) => b.toFixed(0)).join(' ')}; routes moved (ms): ${routesMoved.map((m) => m.toFixed(0)).join(' ')}; hook floor ${floor.toFixed(0)} ms, bound ${boundFor(floor).toFixed(0)} ms\n`);
    expect(Math.max(...blocked)).toBeLessThanOrEqual(boundFor(floor));
    expect(Math.max(...routesMoved)).toBeLessThanOrEqual(1500);
  }, 240_000);

  it("the promoted node's next event is delivered on its own call, while the move is still under way", async () => {
    const node = cluster.nodes.node2!;
    const current = (await settled(stack, cluster, 30_000)).state.timeline as number;

    const promote = await timedHook(node, 'standby_promote', current + 1);
    const next = await timedHook(node, 'repmgrd_failover_promote', current + 1);

    expect(promote.stderr).toContain('outcome=delivered');
    expect(next.stderr).toContain('outcome=delivered');
    expect(next.blockedMs).toBeLessThanOrEqual(boundFor(await hookFloorMs()));
    expect(await spooled(node)).toEqual([]);
    const s = await settled(stack, cluster, 30_000);
    // The second event is the primary re-asserting itself: recorded, no epoch bump, no second move.
    expect(s.journal.slice(0, 2).map((j: { type: string; outcome: string }) => [j.type, j.outcome])).toEqual([
      ['repmgrd_failover_promote', 'ignored'],
      ['standby_promote', 'accepted'],
    ]);
    expect(s.state.epoch).toBe(s.journal[1].epoch);
  }, 120_000);

  it('every event is journaled exactly once, and no function timed out', async () => {
    const { journal } = (await (await fetch(`${stack.apiUrl}/v1/clusters/${cluster.name}?journal=200`)).json()) as { journal: { eventId: string; outcome: string }[] };
    const ids = journal.map((j: { eventId: string; outcome: string }) => `${j.eventId}#${j.outcome}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(stackLog.filter((l) => /timeout|timed out/i.test(l))).toEqual([]);
    expect(stack.trigger.stats()).toMatchObject({ failures: 0, givenUp: 0 });
  });

  it('the actuator crashing after the commit: the trigger retries and the endpoint still moves within 5 s', async () => {
    const node = cluster.nodes.node3!;
    const current = (await settled(stack, cluster, 30_000)).state.timeline as number;
    const before = stack.trigger.stats();
    stack.trigger.failNext(2);

    const started = performance.now();
    const { stderr } = await timedHook(node, 'standby_promote', current + 1);
    const movedMs = await waitFor('the endpoint to move after two failed invocations', 5_000, () => pointsAt(view(), node) && performance.now() - started, 10);

    expect(stderr).toContain('outcome=delivered');
    expect(movedMs).toBeLessThanOrEqual(5_000);
    expect(stack.trigger.stats().failures - before.failures).toBe(2);
    expect((await settled(stack, cluster, 30_000)).state).toMatchObject({ primary: node.name });
  }, 60_000);
});
