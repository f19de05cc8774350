/**
 * `vipswitch drill`: by default the vipswitch drill (local/drill/vipswitch-drill.ts): the local stack, a real
 * repmgr or Patroni cluster wired to the real hook, scenarios measured from the action to the endpoint verified,
 * a final table; exits 1 when the endpoint was wrong at the end of a scenario.
 * With --recording-hook (or --hook-command): the harness alone, one scenario, hook calls recorded or sent to a
 * custom hook, no stack. See local/drill/README.md.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { HookCall, HookWiring, NodeInfo } from './hook';
import { recordingHook } from './hook';
import { PatroniCluster } from './patroni';
import { RepmgrCluster } from './repmgr';
import { AbortedError, Timeline, delay, errMsg, waitUntil } from './util';

const SCENARIOS = {
  repmgr: ['failover', 'switchover', 'split-brain'],
  patroni: ['failover', 'switchover', 'crash-postgres'],
} as const;

export const USAGE = `vipswitch drill --tool repmgr|patroni|keepalived|pgpool [--scenario NAME ...] [options]

The vipswitch drill (default): starts the local stack (DynamoDB Local, the local AWS endpoint with the AWS-like
latency profile, API, stream trigger), registers a cluster with all four endpoint mechanisms (Route 53 waiting for
INSYNC), builds a real cluster whose repmgr / Patroni / keepalived / Pgpool-II call the real vipswitch-hook, runs the
scenarios in order while a client writes a row every 50 ms through the node the route table points at (its
PostgreSQL; its pgbouncer for keepalived; its pgpool for Pgpool-II), and prints each one's timeline, a summary per
move (committed -> moved -> verified; Route 53 INSYNC apart; how long the promote hook held its caller) and a final
table (seconds from the action; the client-visible write outage; the writes acknowledged by a non-primary, which must
be 0). Exit 0 when every scenario passed; 1 when the endpoint was wrong at the end of a scenario, a write was
acknowledged by a non-primary, or a scenario failed; 2 on bad usage; 130 when interrupted (Ctrl-C tears everything
down). keepalived and pgpool need root (network namespaces and keepalived; the PostgreSQL / pgpool processes run as
postgres); everything stays on 127.0.0.1 or inside namespaces the drill makes and deletes.

  --tool TOOL          repmgr      repmgr 5.3 + repmgrd; repmgr's event_notification_command is the hook
                       patroni     Patroni 3.0 + etcd; Patroni's callbacks are the hook
                       keepalived  keepalived 2.2 beside repmgr (repmgrd promotes) with a pgbouncer per node; one
                                   keepalived per node in a network namespace, VRRP unicast; its notify is the hook
                       pgpool      three Pgpool-II 4.3 watchdog members over three streaming backends; if_up_cmd /
                                   if_down_cmd are the hook; the endpoint follows the quorum-backed watchdog leader
  --scenario NAME      repeatable; default all, in this order (each starts where the one before left the cluster):
                       repmgr:  failover     kill -9 the primary's postmaster; repmgrd promotes; endpoint follows
                                split-brain  start the killed old primary again as a primary (no rejoin): its claim
                                             is answered 409 stale_claim and paged; the endpoint stays
                                rejoin       repmgr node rejoin --force-rewind of the old primary; endpoint stays
                                switchover   repmgr standby switchover back to the old primary; endpoint follows
                       patroni: switchover   patronictl switchover to the next member; endpoint follows
                                failover     kill -9 the leader's postmaster and Patroni; endpoint follows
                                rejoin       start the old leader's Patroni again (replica); endpoint stays
                       keepalived:
                                failover     kill -9 the primary's postmaster (its keepalived runs on); repmgrd
                                             promotes, keepalived makes the new primary MASTER, its notify claims;
                                             endpoint follows
                                standby-master  a standby's keepalived priority raised above the primary's: MASTER on
                                             a standby is a role disagreement, paged; endpoint stays
                                old-primary-returns  the killed old primary back as a primary (no rejoin) with its
                                             keepalived: 409 stale_claim, paged, its pgbouncer off; endpoint stays;
                                             then rejoined
                                node-crash   the primary's whole host dies (keepalived, PostgreSQL, repmgrd,
                                             pgbouncer -9, its link cut): the others elect a MASTER, repmgrd
                                             promotes, the new primary's MASTER notify claims; endpoint follows;
                                             the host comes back rejoined as a standby
                       pgpool:  leader-killed  kill -9 every process of the watchdog leader's pgpool; the new
                                             leader's if_up_cmd claims; endpoint follows; the killed member rejoins
                                quorum-lost  a leader that has lost its quorum claims (its if_up_cmd runs after the
                                             de-escalation): 409 unverified_claim, paged; nothing moves; then the
                                             last member is started again and the leader's claim with quorum moves
                                             the endpoint
  --latency PROFILE    the local AWS endpoint's latency profile: aws (default: AWS-like call latencies, Describe
                       lag, Route 53 INSYNC after 30-60 s) or instant
  --insync-ms MS       Route 53 PENDING -> INSYNC in ms, or a range drawn per change ("2000-4000"); default the
                       profile's (30000-60000 under aws, 100 under instant). The README's figures: --insync-ms 3000
  --observe SECONDS    how long the endpoint is watched, every 50 ms, to stay where it is in the scenarios where
                       nothing may move (split-brain, standby-master, old-primary-returns, quorum-lost); default 5
  --logs DIR           copy every log of the cluster to DIR before the teardown
  --json               print the result as JSON at the end
  -h, --help           this text

Harness only (no stack, no vipswitch; repmgr and patroni only): --recording-hook, or --hook-command

  --recording-hook     the built-in recording hook, whose calls are printed live
  --scenario NAME      one of: repmgr:  failover (default: kill -9 the primary, wait for repmgrd, rejoin the old primary)
                                switchover (repmgr standby switchover to node2)
                                split-brain (kill -9 the primary, after the failover start it again as a primary,
                                             hold, then rejoin it)
                       patroni: failover (default: kill -9 the leader's postmaster and Patroni, wait, restart it)
                                switchover (patronictl switchover to pg2)
                                crash-postgres (kill -9 only the leader's postmaster; Patroni recovers it)
  --nodes N            cluster size (default 3)
  --hook-command JSON  hook argv as a JSON array, e.g. '["/usr/bin/node","hooks/dist/vipswitch-hook.cjs"]'
                       (default: the built-in recording hook, whose calls are printed live)
  --hook-config FILE   JSON template of each node's hook config; in every string "{node}", "{nodeDir}" and
                       "{baseDir}" are replaced (the harness adds the "pg" connection itself)
  --hook-file REL=PATH copy PATH to <base>/REL (mode 0600, owner postgres) before anything starts; repeatable
  --hold SECONDS       split-brain: how long both primaries run (default 5)
  --logs DIR           copy every log of the cluster to DIR before the teardown
  --json               print a JSON summary (timings, hook calls) at the end
`;

/** Every option `vipswitch drill` takes (both modes); USAGE documents each one. */
export const DRILL_OPTIONS = {
  tool: { type: 'string' },
  scenario: { type: 'string', multiple: true },
  'recording-hook': { type: 'boolean', default: false },
  observe: { type: 'string', default: '5' },
  latency: { type: 'string' },
  'insync-ms': { type: 'string' },
  nodes: { type: 'string' },
  'hook-command': { type: 'string' },
  'hook-config': { type: 'string' },
  'hook-file': { type: 'string', multiple: true },
  hold: { type: 'string', default: '5' },
  logs: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function substitute(v: unknown, vars: Record<string, string>): unknown {
  if (typeof v === 'string') return v.replace(/\{(node|nodeDir|baseDir)\}/g, (_, k: string) => vars[k] ?? '');
  if (Array.isArray(v)) return v.map((x) => substitute(x, vars));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, vars)]));
  return v;
}

function hookFrom(values: { 'hook-command'?: string; 'hook-config'?: string; 'hook-file'?: string[] }): HookWiring {
  const files: Record<string, Uint8Array> = {};
  for (const spec of values['hook-file'] ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new Error(`--hook-file wants REL=PATH, got ${spec}`);
    files[spec.slice(0, eq)] = readFileSync(spec.slice(eq + 1));
  }
  if (!values['hook-command']) {
    if (values['hook-config']) throw new Error('--hook-config needs --hook-command');
    return { ...recordingHook(), files };
  }
  const command = JSON.parse(values['hook-command']) as unknown;
  if (!Array.isArray(command) || command.length === 0 || !command.every((x) => typeof x === 'string')) {
    throw new Error('--hook-command must be a non-empty JSON array of strings');
  }
  const template = values['hook-config'] ? (JSON.parse(readFileSync(values['hook-config'], 'utf8')) as Record<string, unknown>) : {};
  return {
    command: command as string[],
    files,
    configFor: (n: NodeInfo) => substitute(template, { node: n.name, nodeDir: n.dir, baseDir: n.baseDir }) as Record<string, unknown>,
  };
}

export async function runDrillCli(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: DRILL_OPTIONS,
    }));
  } catch (e) {
    console.error(`vipswitch drill: ${errMsg(e)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const tool = values.tool;
  if (tool !== 'repmgr' && tool !== 'patroni' && tool !== 'keepalived' && tool !== 'pgpool') {
    console.error(`vipswitch drill: --tool repmgr|patroni|keepalived|pgpool is required\n\n${USAGE}`);
    return 2;
  }
  if (!values['recording-hook'] && values['hook-command'] === undefined) {
    if (values.nodes !== undefined || values['hook-config'] !== undefined || values['hook-file'] !== undefined) {
      console.error('vipswitch drill: --nodes, --hook-config and --hook-file belong to the harness-only mode (--recording-hook / --hook-command)');
      return 2;
    }
    return runVipswitchDrillCli(tool, values);
  }
  if (tool !== 'repmgr' && tool !== 'patroni') {
    console.error('vipswitch drill: the harness-only mode (--recording-hook / --hook-command) is for repmgr and patroni');
    return 2;
  }
  if (values.latency !== undefined || values['insync-ms'] !== undefined) {
    console.error('vipswitch drill: --latency and --insync-ms belong to the vipswitch drill (the harness-only mode has no stack)');
    return 2;
  }
  if ((values.scenario?.length ?? 0) > 1) {
    console.error('vipswitch drill: the harness-only mode runs one --scenario');
    return 2;
  }
  const scenario = values.scenario?.[0] ?? 'failover';
  if (!(SCENARIOS[tool] as readonly string[]).includes(scenario)) {
    console.error(`vipswitch drill: unknown scenario ${scenario} for ${tool} (${SCENARIOS[tool].join(', ')})`);
    return 2;
  }
  const nodes = Number(values.nodes ?? '3');
  const hold = Number(values.hold);
  if (!Number.isInteger(nodes) || nodes < 2 || !(hold >= 0)) {
    console.error('vipswitch drill: --nodes must be an integer >= 2 and --hold a number >= 0');
    return 2;
  }
  let hook: HookWiring;
  try {
    hook = hookFrom(values);
  } catch (e) {
    console.error(`vipswitch drill: ${errMsg(e)}`);
    return 2;
  }

  const out = (m: string) => process.stdout.write(m + '\n');
  const tl = new Timeline('drill', out);
  let cluster: RepmgrCluster | PatroniCluster | undefined;
  const tailing = new AbortController();
  const seen = { n: 0 };
  const allCalls: HookCall[] = [];
  const onSignal = () => {
    tl.log('interrupted: tearing down');
    tailing.abort();
    void (cluster?.destroy() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  // prints each recorded hook call as it lands, every 200 ms, until the teardown
  const tailOnce = async () => {
    if (!cluster || cluster.destroyed) return;
    const calls = await cluster.hookCalls().catch(() => [] as HookCall[]);
    for (const c of calls.slice(seen.n)) {
      allCalls.push(c);
      tl.logAt(c.t, `hook ${c.node ?? '?'} ${c.tool ?? ''} ${c.event}${c.role ? ` ${c.role}` : ''}${c.tool === 'repmgr' && c.args[4] ? ` — ${c.args[4]}` : ''}`);
    }
    seen.n = calls.length;
  };
  const tail = () =>
    waitUntil('the teardown', async () => (await tailOnce(), false), Number.POSITIVE_INFINITY, { intervalMs: 200, signal: tailing.signal }).catch((e) => {
      if (!(e instanceof AbortedError)) throw e;
    });
  const tailer = tail();

  let ok = false;
  try {
    if (tool === 'repmgr') {
      const c = await RepmgrCluster.create({ nodes, hook, log: out });
      cluster = c;
      if (scenario === 'switchover') {
        await c.switchover('node2');
      } else {
        const old = (await c.primary()) ?? 'node1';
        await c.killPostmaster(old);
        const p = await c.waitForPrimary(old, 60_000);
        await c.waitFailoverComplete(old, 60_000);
        tl.log(`failover ${old} -> ${p} complete (timeline ${await c.timeline(p)})`);
        if (scenario === 'split-brain') {
          await c.startWithoutRejoin(old);
          tl.log(`split brain: ${old} (timeline ${await c.timeline(old)}) and ${p} (timeline ${await c.timeline(p)}) are both primaries; holding ${hold}s`);
          await delay(hold * 1000);
        }
        await c.rejoin(old);
      }
      tl.log(`final primary ${await c.primary()}, states ${JSON.stringify(await c.states())}`);
    } else {
      const c = await PatroniCluster.create({ members: nodes, hook, log: out });
      cluster = c;
      if (scenario === 'switchover') {
        await c.switchover('pg2');
      } else if (scenario === 'crash-postgres') {
        const leader = (await c.leader()) ?? 'pg1';
        await c.killPostmaster(leader);
        tl.log(`postmaster of ${leader} killed; waiting for Patroni to recover it`);
        const now = await c.waitHealthy(60_000);
        tl.log(`leader after recovery: ${now} (timeline ${await c.timeline(now)})`);
      } else {
        const killed = await c.killLeaderHard();
        const leader = await c.waitForLeader(killed, 60_000);
        tl.log(`failover ${killed} -> ${leader} (timeline ${await c.timeline(leader)})`);
        await c.restartMember(killed);
      }
      tl.log(`final leader ${await c.leader()}`);
    }
    // the last callbacks land in the log before the teardown: wait until no hook process of the cluster runs
    await waitUntil('the last hook calls to finish', () => !cluster!.processes().some((p) => p.cmdline.includes('/hook.json')), 15_000, 100);
    await tailOnce();
    ok = true;
  } catch (e) {
    tl.log(`drill FAILED: ${errMsg(e)}`);
  } finally {
    if (cluster && values.logs) {
      const copied = await cluster.collectLogs(values.logs).catch(() => []);
      tl.log(`copied ${copied.length} log files to ${values.logs}`);
    }
    tailing.abort();
    await tailer;
    await cluster?.destroy().catch((e) => tl.log(`teardown failed: ${errMsg(e)}`));
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  if (values.json) {
    out(JSON.stringify({ tool, scenario, ok, timings: cluster?.timings ?? [], hookCalls: allCalls }, null, 2));
  }
  return ok ? 0 : 1;
}

/** The default mode: runVipswitchDrill with a live timeline on stdout and the final table. */
async function runVipswitchDrillCli(
  tool: 'repmgr' | 'patroni' | 'keepalived' | 'pgpool',
  values: { scenario?: string[]; observe?: string; latency?: string; 'insync-ms'?: string; logs?: string; json?: boolean },
): Promise<number> {
  const [{ DRILL_SCENARIOS, checkScenarioOrder, formatDrillTable, runVipswitchDrill }, { parseMsRange }] = await Promise.all([import('./vipswitch-drill'), import('../aws-endpoint/index')]);
  const scenarios = values.scenario ?? [...DRILL_SCENARIOS[tool]];
  const observe = Number(values.observe ?? '5');
  const latency = values.latency ?? 'aws';
  let problem = checkScenarioOrder(tool, scenarios);
  if (!problem && !(observe >= 0)) problem = '--observe must be a number of seconds >= 0';
  if (!problem && latency !== 'aws' && latency !== 'instant') problem = `--latency must be aws or instant, got ${latency}`;
  let insyncMs: { minMs: number; maxMs: number } | undefined;
  try {
    if (values['insync-ms'] !== undefined) insyncMs = parseMsRange('--insync-ms', values['insync-ms']);
  } catch (e) {
    problem ??= errMsg(e);
  }
  if (problem) {
    console.error(`vipswitch drill: ${problem}`);
    return 2;
  }
  const out = (m: string) => process.stdout.write(m + '\n');
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) process.exit(130); // second Ctrl-C: leave now (the harness' exit hook kills the cluster)
    out('interrupted: stopping at the next step and tearing everything down (Ctrl-C again to leave at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runVipswitchDrill({
      tool,
      scenarios,
      log: out,
      observeMs: observe * 1000,
      latency: latency as 'aws' | 'instant',
      signal: abort.signal,
      ...(insyncMs ? { insyncMs } : {}),
      ...(values.logs ? { logsDir: values.logs } : {}),
    });
    out('');
    out(formatDrillTable(result));
    if (result.error) out(`drill FAILED: ${result.error}`);
    if (values.json) out(JSON.stringify(result, null, 2));
    out(abort.signal.aborted ? 'drill interrupted' : result.ok ? 'drill ok: the endpoint followed the primary in every scenario' : 'drill FAILED: see above');
    return abort.signal.aborted ? 130 : result.ok ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
