/**
 * The vipswitch drill: a REAL repmgr or Patroni cluster on 127.0.0.1 (local/drill) wired to the REAL hook
 * (hooks/dist/vipswitch-hook.cjs), which POSTs signed events to the local stack (DynamoDB Local, the local AWS
 * endpoint with the AWS-like latency profile by default, the Lambdas behind serverless-offline, the stream trigger
 * between commit and actuation). Each scenario (a kill -9, a switchover, a split brain, a rejoin) is measured on one
 * clock: action → detection → promote hook → committed (the 202) → moved → verified, with Route 53's INSYNC and the
 * time the promote hook held its caller reported apart.
 *
 *   const result = await runVipswitchDrill({ tool: 'repmgr', log: console.log });
 *
 * Everything it starts (the stack unless one is given, the cluster, a temp dir with the cluster.yaml and the keys)
 * is torn down before it returns, also when a step fails. The parts: vipswitch/drill-observer.ts (what is watched),
 * vipswitch/register-drill-cluster.ts (the registration and the hook's wiring), vipswitch/scenario-steps.ts (what a
 * scenario is made of), one module per tool (vipswitch/repmgr-drill.ts, vipswitch/patroni-drill.ts),
 * vipswitch/drill-report.ts (timelines, summaries, the table).
 */
import { execFile } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LATENCY_PROFILES, type LatencyProfile, type MsRange } from '../aws-endpoint/index';
import { repoRoot } from '../root';
import { loadTopology, startLocalStack, type LocalStack } from '../stack';
import { AbortedError, Timeline, errMsg, waitUntil } from './util';
import { DrillObserver, POLL_MS } from './vipswitch/drill-observer';
import { ScenarioRecorder } from './vipswitch/drill-report';
import { DRILL_SCENARIOS, checkScenarioOrder, type DrillResult, type DrillScenarioResult, type DrillTool, type VipswitchDrillOptions } from './vipswitch/drill-types';
import { patroniDrill } from './vipswitch/patroni-drill';
import { keepalivedDrill } from './vipswitch/keepalived-drill';
import { pgpoolDrill } from './vipswitch/pgpool-drill';
import { hookWiring, registerDrillCluster } from './vipswitch/register-drill-cluster';
import { repmgrDrill } from './vipswitch/repmgr-drill';
import { solePrimary, type DrillCluster, type ScenarioContext, type ToolDrill } from './vipswitch/scenario-steps';
import { PsqlSession } from './vipswitch/psql-session';
import { CREATE_WRITE_TABLE, WriteClient, clientWindow, routeTarget, type PgServer } from './vipswitch/write-client';

export { DRILL_SCENARIOS, checkScenarioOrder } from './vipswitch/drill-types';
export type { DrillHookCall, DrillJournalLine, DrillLatency, DrillPage, DrillResult, DrillRoute53Change, DrillScenarioResult, DrillStep, DrillTool, VipswitchDrillOptions } from './vipswitch/drill-types';
export { formatDrillTable, formatScenarioSummary } from './vipswitch/drill-report';

const run = promisify(execFile);

/** The latency profile to start the stack with, and the INSYNC range it gives Route 53 changes. */
export function drillLatency(latency: 'aws' | 'instant' = 'aws', insyncMs?: number | MsRange): { profile: LatencyProfile; insync: MsRange } {
  const base: LatencyProfile = LATENCY_PROFILES[latency];
  if (insyncMs === undefined) return { profile: base, insync: base.route53InsyncMs };
  const insync = typeof insyncMs === 'number' ? { minMs: insyncMs, maxMs: insyncMs } : insyncMs;
  return { profile: { ...base, name: `${base.name}+insync`, route53InsyncMs: insync }, insync };
}

/**
 * Runs the drill: stack (unless given) → keys + cluster registration → real cluster with the real hook → endpoint
 * converged on the initial primary → the scenarios in order → teardown. Never throws for a failed scenario or setup
 * step: the result says what failed (`ok: false`); throws only for a scenario list that cannot run in that order.
 */
export async function runVipswitchDrill(options: VipswitchDrillOptions): Promise<DrillResult> {
  const scenarios = options.scenarios ?? [...DRILL_SCENARIOS[options.tool]];
  const problem = checkScenarioOrder(options.tool, scenarios);
  if (problem) throw new Error(problem);
  // one variant per tool: the union is narrowed here, each branch typed with its own cluster class
  switch (options.tool) {
    case 'repmgr':
      return runWith(repmgrDrill, options, scenarios);
    case 'patroni':
      return runWith(patroniDrill, options, scenarios);
    case 'keepalived':
      return runWith(keepalivedDrill, options, scenarios);
    case 'pgpool':
      return runWith(pgpoolDrill, options, scenarios);
  }
}

/** The table the write client inserts into, created on whichever server is the primary (the others refuse). */
async function createWriteTable(servers: PgServer[]): Promise<void> {
  const errors: string[] = [];
  for (const s of servers) {
    const session = new PsqlSession({ host: '127.0.0.1', port: s.port, dbname: 'postgres', user: 'postgres' });
    const r = await session.run(CREATE_WRITE_TABLE, 10_000);
    await session.close();
    if (r.ok) return;
    errors.push(`${s.name}: ${r.error}`);
  }
  throw new Error(`no server took the write client's table: ${errors.join('; ')}`);
}

async function runWith<T extends DrillTool, C extends DrillCluster>(drill: ToolDrill<T, C>, options: VipswitchDrillOptions, scenarios: string[]): Promise<DrillResult> {
  const { tool, signal } = options;
  const tl = new Timeline(`vipswitch ${tool}`, options.log);
  const root = repoRoot();
  const latency = options.stack ? null : drillLatency(options.latency, options.insyncMs);
  const insyncMaxMs = latency?.insync.maxMs ?? (typeof options.insyncMs === 'number' ? options.insyncMs : (options.insyncMs?.maxMs ?? LATENCY_PROFILES.aws.route53InsyncMs.maxMs));
  const result: DrillResult = { ok: false, tool, cluster: '', latency: latency && { profile: options.latency ?? 'aws', insyncMs: latency.insync }, scenarios: [] };
  let stack = options.stack;
  let ownStack: LocalStack | undefined;
  let built: C | undefined;
  let obs: DrillObserver | undefined;
  let client: WriteClient | undefined;
  const wait = <V>(what: string, deadlineMs: number, fn: () => V | null | undefined | false | Promise<V | null | undefined | false>) => waitUntil(what, fn, deadlineMs, { intervalMs: POLL_MS, signal });
  const dir = await mkdtemp(join(tmpdir(), 'vipswitch-drillcfg-'));
  await chmod(dir, 0o700);
  try {
    await tl.step('build the hook (scripts/build-hook.mjs)', () => run(process.execPath, [join(root, 'scripts/build-hook.mjs')], { cwd: root }));
    if (!stack) {
      const stackLog = process.env.VIPSWITCH_STACK_LOG;
      const profile = latency!.profile;
      stack = ownStack = await tl.step(`start the local stack (DynamoDB Local, local AWS endpoint with latency profile ${profile.name}, API, stream trigger)`, async () =>
        startLocalStack({ topology: await loadTopology(join(root, 'local/topology.example.json')), latency: profile, log: stackLog ? (line) => appendFileSync(stackLog, `${line}\n`) : undefined }),
      );
      const { minMs, maxMs } = latency!.insync;
      tl.log(`API ${stack.apiUrl}, local AWS endpoint ${stack.aws.url} (Route 53 INSYNC after ${minMs === maxMs ? `${minMs} ms` : `${minMs}–${maxMs} ms`})`);
    }
    if (signal?.aborted) throw new AbortedError('drill interrupted');
    const reg = await registerDrillCluster(stack, tool, dir, tl, { insyncTimeoutSeconds: Math.min(600, Math.ceil(insyncMaxMs / 1000) + 30) });
    result.cluster = reg.name;
    obs = new DrillObserver(stack, reg, tl);
    obs.start();
    const cluster = await drill.build({ hook: hookWiring(root, stack, reg), log: options.log, label: `${tool} ${reg.name}` });
    built = cluster;
    result.baseDir = cluster.baseDir;
    if (cluster.namespaces) result.namespaces = [...cluster.namespaces];
    const nodes = drill.nodes(cluster);
    const initial = await drill.initialPrimary(cluster);
    if (!initial) throw new Error('the new cluster has no primary');
    const buildDone = Date.now();
    const writer = new WriteClient({ endpoint: () => routeTarget(stack!, reg), targetOf: (n) => drill.clientTarget(cluster, n), servers: drill.pgServers(cluster), tl });
    const ctx: ScenarioContext<C> = {
      tool,
      cluster,
      names: nodes.map((n) => n.name),
      roleOf: (name) => drill.roleOf(cluster, name),
      nodeInfo: (name) => {
        const n = nodes.find((x) => x.name === name);
        if (!n) throw new Error(`unknown node ${name}`);
        return n;
      },
      stack,
      reg,
      obs,
      client: writer,
      tl,
      signal,
      observeMs: options.observeMs ?? 5_000,
      insyncMaxMs,
      primary: initial,
      down: null,
      lastFailedOver: null,
      warnings: [],
    };
    const o = obs;
    await wait(`every mechanism to point at the initial primary ${initial}`, 30_000, () => o.sample() === initial);
    tl.log(`initial primary ${initial}: every mechanism points at it (${((Date.now() - buildDone) / 1000).toFixed(3)} s after the build)`);
    await wait(`the endpoint status converged on the initial primary ${initial}`, insyncMaxMs + 60_000, () => {
      const s = o.latest;
      return s !== null && s.state.primary === initial && s.endpoint.epoch === s.state.epoch && s.endpoint.phase === 'converged';
    });
    tl.log(`initial primary ${initial}: the status API says converged (${((Date.now() - buildDone) / 1000).toFixed(3)} s after the build)`);
    await tl.step('start the write client (a row every 50 ms through the node the route table points at)', async () => {
      await createWriteTable(drill.pgServers(cluster));
      client = writer;
      writer.start();
      const first = await writer.waitForAck(Date.now(), 30_000, signal);
      tl.log(`write client: first write acknowledged through ${first.via} by ${first.server} (timeline ${first.timeline})`);
    });

    let failed = false;
    for (const name of scenarios) {
      const r: DrillScenarioResult = { name, ok: false, timeline: [], from: ctx.primary, to: null, endpointAtEnd: null, primaryAtEnd: null, endpointChanges: [], endpointStatus: [], journal: [], pages: [], warnings: [] };
      ctx.warnings = r.warnings;
      result.scenarios.push(r);
      if (failed) {
        r.error = 'not run: an earlier scenario failed';
        continue;
      }
      const rec = new ScenarioRecorder(name, tl);
      tl.log(`=== scenario ${name} (endpoint on ${ctx.primary}) ===`);
      try {
        if (signal?.aborted) throw new AbortedError('drill interrupted');
        if (obs.sample() !== ctx.primary) throw new Error(`before the action the endpoint is not on ${ctx.primary}`);
        await drill.scenarios[name]!(ctx, rec, r);
      } catch (e) {
        r.error = errMsg(e);
        tl.log(`${name}: FAILED — ${r.error}`);
      }
      const t0 = rec.t0 || Date.now();
      // the client's window ends once it wrote through the node the endpoint ended on (or gave up waiting)
      const expected = ctx.primary;
      const through = r.error
        ? null
        : await waitUntil(`the write client to write through ${expected}`, () => writer.writes.find((w) => w.ok && w.doneAt >= t0 && w.via === expected), 30_000, { intervalMs: POLL_MS, signal }).catch(
            (e) => (tl.log(`${name}: ${errMsg(e)}`), null),
          );
      r.client = clientWindow(writer.writes, t0, Date.now(), r.from, ctx.primary);
      r.timeline = rec.steps;
      r.to = ctx.primary;
      r.endpointAtEnd = obs.sample();
      r.primaryAtEnd = (await solePrimary(ctx).catch(() => ({ primary: null }))).primary;
      r.endpointChanges = obs.changes.filter((c) => c.at >= t0).map((c) => ({ atMs: c.at - t0, target: c.target }));
      r.endpointStatus = obs.statuses.filter((s) => s.seenAt >= t0).map((s) => ({ atMs: (s.at ?? s.seenAt) - t0, epoch: s.epoch, phase: s.phase }));
      r.journal = obs.journal
        .filter((e) => e.at >= t0)
        .map((e) => ({ atMs: e.at - t0, receivedAt: e.receivedAt, node: e.node, type: e.type, outcome: e.outcome, reason: e.reason, epoch: e.epoch, facts: e.facts }));
      r.pages = obs.pages.filter((p) => p.at >= t0).map(({ at, ...p }) => ({ ...p, atMs: at - t0 }));
      if (!r.error && (r.endpointAtEnd !== r.to || r.primaryAtEnd !== r.to)) {
        r.error = `at the end the endpoint is on ${r.endpointAtEnd ?? 'no single node'} and the primary is ${r.primaryAtEnd ?? 'not one node'} (expected ${r.to})`;
      }
      if (!r.error && r.client.nonPrimaryAcks > 0) r.error = `${r.client.nonPrimaryAcks} writes acknowledged by a server that was not the primary: ${JSON.stringify(r.client.nonPrimary.slice(0, 3))}`;
      if (!r.error && !through) r.error = `the write client got no write acknowledged through ${expected} after the action`;
      const c = r.client;
      tl.log(
        `${name}: write client: ${c.writes} writes, ${c.acknowledged} acknowledged (by ${c.servers.join(' → ') || 'none'}), ` +
          `${c.outageKind === 'move' ? `outage ${c.outageMs === null ? '?' : (c.outageMs / 1000).toFixed(3)} s (last through ${r.from} +${c.lastOldAckMs == null ? '?' : (c.lastOldAckMs / 1000).toFixed(3)} s → first through ${r.to} +${c.firstNewAckMs == null ? '?' : (c.firstNewAckMs / 1000).toFixed(3)} s)` : `longest gap between acknowledged writes ${c.outageMs === null ? '?' : (c.outageMs / 1000).toFixed(3)} s`}, ` +
          `acknowledged by a non-primary: ${c.nonPrimaryAcks}`,
      );
      r.ok = !r.error;
      tl.log(`=== scenario ${name}: ${r.ok ? 'ok' : `FAILED: ${r.error}`} (endpoint on ${r.endpointAtEnd ?? 'no single node'}) ===`);
      if (!r.ok || signal?.aborted) failed = true;
    }
    result.ok = result.scenarios.length > 0 && result.scenarios.every((s) => s.ok);
  } catch (e) {
    result.error = errMsg(e);
    result.ok = false;
    tl.log(`drill FAILED: ${result.error}`);
  } finally {
    if (client) {
      await client.stop();
      const acks = client.writes.filter((w) => w.ok);
      result.client = { writes: client.writes.length, acknowledged: acks.length, nonPrimaryAcks: acks.filter((w) => w.nonPrimary).length, connections: client.connections };
      if (result.client.nonPrimaryAcks > 0) result.ok = false;
    }
    await obs?.stop();
    if (built && options.logsDir) {
      const copied = await built.collectLogs(options.logsDir).catch(() => [] as string[]);
      tl.log(`copied ${copied.length} log files to ${options.logsDir}`);
    }
    await built?.destroy().catch((e) => tl.log(`cluster teardown failed: ${errMsg(e)}`));
    if (ownStack) await tl.step('stop the local stack', () => ownStack!.stop()).catch((e) => tl.log(`stack teardown failed: ${errMsg(e)}`));
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}
