/**
 * A real Pgpool-II 4.3 cluster on 127.0.0.1, built in a private base dir and torn down by pid: three PostgreSQL 15
 * backends (pg1 primary, pg2 and pg3 streaming from it) and three pgpool members with the watchdog on (pgpool1..3,
 * heartbeat lifecheck, quorum 2 of 3), as in the lab (shared/peers/pgpool/configs), with:
 *
 *  - `delegate_IP` a loopback address of ours (127.0.77.N, never configured on an interface: on AWS the endpoint is
 *    vipswitch's), `if_up_cmd` / `if_down_cmd` = the hook (`... pgpool up $_IP_$`, no shell, run as postgres);
 *  - `arping_cmd` = /bin/true, and `ping_path` a stub directory whose `ping` answers without sending anything: nothing
 *    pings or arps any address;
 *  - `wd_escalation_command` = a gate that returns at once unless the drill holds the member's escalation (a slow
 *    escalation command: pgpool waits for it with no timeout, then runs `if_up_cmd` — even after it de-escalated
 *    meanwhile, findings §4 g2);
 *  - no failover (the backends are not what the scenarios move: the endpoint follows the watchdog leader).
 *
 * The first member is started alone and stands for leader before the others join, so pgpool1 is the first
 * quorum-backed leader. Every member's processes run with their cwd in the member's dir: that is how a member's
 * processes are found (pgpool rewrites its children's titles) and all killed at once, as in a host crash.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { WatchdogFacts } from '../../shared/domain/event';
import { describeWatchdogFacts, isQuorumBackedLeader } from '../../shared/domain/watchdog-info';
import { probeWatchdog } from '../../hooks/src/watchdog-probe';
import type { PcpConfig } from '../../hooks/src/config';
import { ClusterBase } from './base';
import { HookWiring, NodeInfo, materializeHookCommand, writeHookConfig, writeHookFiles } from './hook';
import { LOOPBACK, LogFn, PG_BIN, errMsg, freePorts, killAllOf, makeBaseDir, mkdirOwned, portOpen, processesOf, readPidFile, writeOwned } from './util';

const PGPOOL = '/usr/sbin/pgpool';
const PCP_WATCHDOG_INFO = '/usr/sbin/pcp_watchdog_info';
const PCP_USER = 'pcpadmin';

export interface PgpoolClusterOptions {
  hook: HookWiring;
  log?: LogFn;
  /** label used in log lines; default "pgpool" */
  label?: string;
  buildDeadlineMs?: number;
}

/** One pgpool member's ports. */
interface MemberPorts {
  pgpool: number;
  pcp: number;
  wd: number;
  heartbeat: number;
}

export class PgpoolCluster extends ClusterBase {
  /** the PostgreSQL backends pg1..3 (pg1 the primary) */
  readonly backends: NodeInfo[];
  /** the pgpool members pgpool1..3: the registered nodes (`port` is the member's pgpool port, where clients connect) */
  readonly members: NodeInfo[];
  readonly delegateIp: string;
  private readonly password = createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24);

  private constructor(
    baseDir: string,
    backends: NodeInfo[],
    members: NodeInfo[],
    private readonly ports: Map<string, MemberPorts>,
    label: string,
    log: LogFn | undefined,
  ) {
    super(baseDir, label, log);
    this.backends = backends;
    this.members = members;
    this.delegateIp = `127.0.77.${10 + Math.floor(Math.random() * 200)}`;
  }

  /** The backends are the cluster's PostgreSQL nodes (psql, inRecovery, timeline, killPostmaster act on them). */
  protected allNodes(): NodeInfo[] {
    return this.backends;
  }

  static async create(opts: PgpoolClusterOptions): Promise<PgpoolCluster> {
    const baseDir = await makeBaseDir();
    const ports = await freePorts(3 + 3 * 4);
    const backends: NodeInfo[] = [0, 1, 2].map((i) => {
      const dir = path.join(baseDir, `pg${i + 1}`);
      return { name: `pg${i + 1}`, id: i + 1, port: ports[i]!, dataDir: path.join(dir, 'data'), dir, kind: 'pgpool', baseDir };
    });
    const memberPorts = new Map<string, MemberPorts>();
    const members: NodeInfo[] = [0, 1, 2].map((i) => {
      const name = `pgpool${i + 1}`;
      const [pgpool, pcp, wd, heartbeat] = ports.slice(3 + 4 * i, 7 + 4 * i) as [number, number, number, number];
      memberPorts.set(name, { pgpool, pcp, wd, heartbeat });
      const dir = path.join(baseDir, name);
      return { name, id: i + 1, port: pgpool, dataDir: backends[i]!.dataDir, dir, kind: 'pgpool', baseDir };
    });
    const c = new PgpoolCluster(baseDir, backends, members, memberPorts, opts.label ?? 'pgpool', opts.log);
    c.log(`base dir ${baseDir}, PostgreSQL ${backends.map((b) => `${b.name}=${b.port}`).join(' ')}, pgpool ${members.map((m) => `${m.name}=${m.port} (pcp ${memberPorts.get(m.name)!.pcp})`).join(' ')}, delegate_IP ${c.delegateIp}`);
    try {
      await c.tl.step('build', () => c.build(opts));
    } catch (e) {
      await c.destroy().catch((d) => c.log(`destroy after failed build also failed: ${errMsg(d)}`));
      throw e;
    }
    return c;
  }

  private member(name: string): NodeInfo {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`unknown pgpool member ${name} (have ${this.members.map((x) => x.name).join(', ')})`);
    return m;
  }

  /** How a client of the member's pcp (the hook, the drill) reaches it. */
  pcpConfig(member: string): PcpConfig {
    return { command: PCP_WATCHDOG_INFO, host: LOOPBACK, port: this.ports.get(this.member(member).name)!.pcp, user: PCP_USER, passFile: this.pcpPassFile };
  }

  private get pcpPassFile(): string {
    return path.join(this.baseDir, 'pgpool', 'pcppass');
  }
  private get binDir(): string {
    return path.join(this.baseDir, 'pgpool', 'bin');
  }
  private holdFile(member: string): string {
    return path.join(this.member(member).dir, 'escalation.hold');
  }

  // ------------------------------------------------------------------ build

  private async build(opts: PgpoolClusterOptions): Promise<void> {
    const deadline = Date.now() + (opts.buildDeadlineMs ?? 120_000);
    const left = () => Math.max(1_000, deadline - Date.now());
    for (const n of [...this.backends, ...this.members]) await mkdirOwned(n.dir, 0o755);
    await mkdirOwned(path.join(this.baseDir, 'pgpool'), 0o755);
    await mkdirOwned(this.binDir, 0o755);
    // the hook: the pgpool mode reads the member's watchdog through pcp (pcppass, never argv)
    const hook: HookWiring = { ...opts.hook, configFor: (n) => ({ ...opts.hook.configFor(n), pcp: this.pcpConfig(n.name) }) };
    await writeHookFiles(this.baseDir, hook.files);
    this.hookArgv = await materializeHookCommand(this.runner, hook.command);
    for (const m of this.members) await writeHookConfig(hook, m);
    await writeOwned(this.pcpPassFile, this.members.map((m) => `${LOOPBACK}:${this.ports.get(m.name)!.pcp}:${PCP_USER}:${this.password}\n`).join(''), 0o600);
    await writeOwned(
      path.join(this.binDir, 'escalation-gate'),
      [
        '#!/bin/sh',
        "# wd_escalation_command of the drill (pgpool runs it through sh -c and waits for it, no timeout). Returns at once,",
        '# unless the drill holds this member\'s escalation ($1 exists): then it waits until the file is gone, as a slow',
        '# escalation command would; pgpool then goes on with if_up_cmd.',
        '[ -e "$1" ] || exit 0',
        'echo $$ > "$1.waiting"',
        'while [ -e "$1" ]; do sleep 0.05; done',
        'rm -f "$1.waiting"',
        '',
      ].join('\n'),
      0o755,
    );
    await mkdirOwned(path.join(this.binDir, 'ping'), 0o755);
    await writeOwned(
      path.join(this.binDir, 'ping', 'ping'),
      [
        '#!/bin/sh',
        "# ping_path stub: pgpool pings the delegate IP after if_up_cmd. The delegate IP is vipswitch's endpoint (on AWS a",
        "# route, an Elastic IP, a secondary IP, a DNS record), not an address here: nothing is sent. pgpool wants an rtt",
        '# line to call the address up.',
        'echo "rtt min/avg/max/mdev = 0.000/0.000/0.000/0.000 ms"',
        '',
      ].join('\n'),
      0o755,
    );

    const [primary, ...standbys] = this.backends as [NodeInfo, ...NodeInfo[]];
    await this.tl.step(`initdb ${primary.name}`, () =>
      this.runner.run([`${PG_BIN}/initdb`, '-D', primary.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions'], { timeoutMs: left() }),
    );
    await fsp.appendFile(path.join(primary.dataDir, 'postgresql.conf'), this.postgresqlSettings(primary));
    await writeOwned(path.join(primary.dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n', 0o600);
    await this.tl.step(`start ${primary.name}`, () => this.pgCtlStart(primary, left()));
    await Promise.all(
      standbys.map(async (b) => {
        await this.tl.step(`clone ${b.name}`, () =>
          this.runner.run([`${PG_BIN}/pg_basebackup`, '-h', LOOPBACK, '-p', String(primary.port), '-U', 'postgres', '-D', b.dataDir, '-R', '-c', 'fast', '-X', 'stream'], { timeoutMs: left() }),
        );
        await fsp.appendFile(path.join(b.dataDir, 'postgresql.conf'), `port = ${b.port}\n`);
        await this.tl.step(`start ${b.name}`, () => this.pgCtlStart(b, left()));
        await this.waitUntil(`${b.name} streaming from ${primary.name}`, async () => (await this.tryPsql(b.name, 'SELECT status FROM pg_stat_wal_receiver')) === 'streaming', left(), 100);
      }),
    );
    for (const m of this.members) await this.writeMemberFiles(m);
    // pgpool1 first, alone: it stands for leader; the others join it as standbys and it escalates with quorum
    const [first, ...others] = this.members as [NodeInfo, ...NodeInfo[]];
    await this.tl.step(`start ${first.name}`, () => this.startMember(first.name));
    await this.waitUntil(`${first.name} to be the watchdog leader (without quorum yet)`, async () => (await this.watchdog(first.name))?.localState === 'LEADER', left(), 200);
    await this.tl.step(`start ${others.map((m) => m.name).join(', ')}`, () => Promise.all(others.map((m) => this.startMember(m.name))));
    await this.tl.step(`${first.name} the quorum-backed leader, every member joined`, () => this.waitShape(first.name, left()));
  }

  private postgresqlSettings(n: NodeInfo): string {
    return `
# --- vipswitch drill settings (Pgpool-II backends) ---
listen_addresses = '127.0.0.1'
port = ${n.port}
unix_socket_directories = '${path.join(this.baseDir, 'run')}'
wal_level = replica
max_wal_senders = 10
hot_standby = on
wal_keep_size = 64MB
shared_buffers = 16MB
max_connections = 60
fsync = off
logging_collector = on
log_directory = 'log'
log_line_prefix = '%m [%p] '
`;
  }

  private async pgCtlStart(n: NodeInfo, timeoutMs: number): Promise<void> {
    await this.runner.run([`${PG_BIN}/pg_ctl`, '-w', '-t', String(Math.ceil(timeoutMs / 1000)), '-D', n.dataDir, '-l', path.join(n.dir, 'postgres.log'), 'start'], { timeoutMs: timeoutMs + 5_000, cwd: n.dir });
  }

  private async writeMemberFiles(m: NodeInfo): Promise<void> {
    const etc = path.join(m.dir, 'etc');
    const run = path.join(m.dir, 'run');
    const log = path.join(m.dir, 'log');
    for (const d of [etc, run, log]) await mkdirOwned(d, 0o755);
    const md5 = createHash('md5').update(this.password).digest('hex');
    await writeOwned(path.join(etc, 'pcp.conf'), `${PCP_USER}:${md5}\n`, 0o600);
    await writeOwned(path.join(etc, 'pool_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n', 0o600);
    await writeOwned(path.join(etc, 'pool_passwd'), '', 0o600);
    // 4.2+: the member's id is read from pgpool_node_id beside pgpool.conf
    await writeOwned(path.join(etc, 'pgpool_node_id'), `${m.id - 1}\n`, 0o644);
    await writeOwned(path.join(etc, 'pgpool.conf'), this.pgpoolConf(m), 0o644);
  }

  private pgpoolConf(m: NodeInfo): string {
    const p = this.ports.get(m.name)!;
    const run = path.join(m.dir, 'run');
    const hook = [...this.hookArgv, '--config', path.join(m.dir, 'hook.json')].join(' ');
    if (/\s/.test(hook.replace(/ /g, '')) || hook.split(' ').some((w) => w === '' || /['"]/.test(w))) throw new Error(`the hook command cannot be split on single spaces by pgpool: ${hook}`);
    const lines: string[] = [
      `# vipswitch drill: Pgpool-II member ${m.name} (pgpool_node_id ${m.id - 1})`,
      "backend_clustering_mode = 'streaming_replication'",
      `listen_addresses = '${LOOPBACK}'`,
      `port = ${p.pgpool}`,
      `socket_dir = '${run}'`,
      `pcp_listen_addresses = '${LOOPBACK}'`,
      `pcp_port = ${p.pcp}`,
      `pcp_socket_dir = '${run}'`,
      `wd_ipc_socket_dir = '${run}'`,
      `pid_file_name = '${path.join(run, 'pgpool.pid')}'`,
      `logdir = '${path.join(m.dir, 'log')}'`,
      "log_destination = 'stderr'",
      "log_line_prefix = '%m: %a pid %p: '",
      "log_min_messages = 'info'",
      '',
      ...this.backends.flatMap((b, i) => [
        `backend_hostname${i} = '${LOOPBACK}'`,
        `backend_port${i} = ${b.port}`,
        `backend_weight${i} = 1`,
        `backend_data_directory${i} = '${b.dataDir}'`,
        // the scenarios move the watchdog leader, not the primary: pgpool must not detach or fail over a backend
        `backend_flag${i} = 'DISALLOW_TO_FAILOVER'`,
        `backend_application_name${i} = '${b.name}'`,
      ]),
      'enable_pool_hba = off',
      "pool_passwd = 'pool_passwd'",
      'num_init_children = 6',
      'max_pool = 1',
      'load_balance_mode = off',
      'sr_check_period = 0',
      "sr_check_user = 'postgres'",
      'health_check_period = 0',
      'failover_on_backend_error = off',
      'search_primary_node_timeout = 30',
      '',
      '# watchdog',
      'use_watchdog = on',
      "trusted_servers = ''",
      `ping_path = '${path.join(this.binDir, 'ping')}'`,
      ...this.members.flatMap((o, i) => {
        const op = this.ports.get(o.name)!;
        return [`hostname${i} = '${LOOPBACK}'`, `wd_port${i} = ${op.wd}`, `pgpool_port${i} = ${op.pgpool}`, `heartbeat_hostname${i} = '${LOOPBACK}'`, `heartbeat_port${i} = ${op.heartbeat}`, `heartbeat_device${i} = ''`];
      }),
      'wd_priority = 1',
      "wd_authkey = ''",
      // the spelling 4.3 knows (lowercase delegate_ip is ignored, and if_up_cmd / if_down_cmd are then never run)
      `delegate_IP = '${this.delegateIp}'`,
      `if_cmd_path = '${path.join(this.binDir, 'no-such-dir')}'`,
      `if_up_cmd = '${hook} pgpool up $_IP_$'`,
      `if_down_cmd = '${hook} pgpool down $_IP_$'`,
      `arping_path = '${path.join(this.binDir, 'no-such-dir')}'`,
      "arping_cmd = '/bin/true'",
      `wd_escalation_command = '${path.join(this.binDir, 'escalation-gate')} ${this.holdFile(m.name)}'`,
      'failover_when_quorum_exists = on',
      'failover_require_consensus = on',
      'enable_consensus_with_half_votes = off',
      'wd_remove_shutdown_nodes = off',
      "wd_lifecheck_method = 'heartbeat'",
      "wd_monitoring_interfaces_list = ''",
      'wd_interval = 1',
      'wd_heartbeat_keepalive = 1',
      'wd_heartbeat_deadtime = 3',
      '',
    ];
    return lines.join('\n');
  }

  // ------------------------------------------------------------------ members

  /** Starts the member's pgpool (foreground, as postgres, cwd its dir); returns its main pid once its port answers. */
  async startMember(name: string): Promise<number> {
    const m = this.member(name);
    const p = this.ports.get(name)!;
    const busy = [];
    for (const port of [p.pgpool, p.pcp, p.wd]) if (await portOpen(port)) busy.push(port);
    if (busy.length) throw new Error(`${name}: ports ${busy.join(', ')} still taken (a process of the last run of this member?)`);
    const etc = path.join(m.dir, 'etc');
    const pid = await this.runner.startDaemon(
      [PGPOOL, '-n', '-f', path.join(etc, 'pgpool.conf'), '-F', path.join(etc, 'pcp.conf'), '-a', path.join(etc, 'pool_hba.conf')],
      path.join(m.dir, 'launcher.pid'),
      path.join(m.dir, 'log', 'pgpool.log'),
      m.dir,
    );
    await this.waitUntil(`${name}'s pgpool (pid ${pid}) to accept connections on ${p.pgpool}`, () => portOpen(p.pgpool), 30_000, 100);
    this.log(`pgpool ${name} started (pid ${pid})`);
    return pid;
  }

  /** kill -9 of every process of the member's pgpool at once (a host crash: no de-escalation, no if_down_cmd). */
  async killMember(name: string): Promise<number> {
    const m = this.member(name);
    const procs = processesOf(m.dir);
    await killAllOf(m.dir, 10_000);
    this.log(`kill -9 every process of ${name} (${procs.length}: ${procs.map((x) => x.pid).join(' ')})`);
    return procs.length;
  }

  /** Is the member's pgpool running (its main pid alive)? */
  async running(name: string): Promise<boolean> {
    const pid = await readPidFile(path.join(this.member(name).dir, 'launcher.pid'));
    return pid !== null && processesOf(this.member(name).dir).some((p) => p.pid === pid);
  }

  /** The member's watchdog as `pcp_watchdog_info -v` shows it (the hook's own probe); null when pcp does not answer. */
  watchdog(name: string, timeoutMs = 2_000): Promise<WatchdogFacts | null> {
    return probeWatchdog(this.pcpConfig(name), timeoutMs, { PATH: '/usr/bin:/bin' });
  }

  /** The member that is the quorum-backed leader (local LEADER, QUORUM EXIST, escalation YES); null: none, or several. */
  async leader(): Promise<string | null> {
    const views = await Promise.all(this.members.map(async (m) => ({ name: m.name, facts: await this.watchdog(m.name) })));
    const leaders = views.filter((v) => v.facts !== null && isQuorumBackedLeader(v.facts)).map((v) => v.name);
    return leaders.length === 1 ? leaders[0]! : null;
  }

  /**
   * Waits until `leader` is the quorum-backed leader and every running member answers pcp, sees it as leader, and is
   * LEADER (itself) or STANDBY.
   */
  async waitShape(leader: string, deadlineMs: number): Promise<void> {
    await this.waitUntil(`${leader} the quorum-backed leader with every running member STANDBY`, async () => {
      const views = await Promise.all(this.members.map(async (m) => ({ name: m.name, running: await this.running(m.name), facts: await this.watchdog(m.name) })));
      const bad = views.filter((v) => v.running && (v.facts === null || (v.name === leader ? !isQuorumBackedLeader(v.facts) : v.facts.localState !== 'STANDBY')));
      if (bad.length) throw new Error(bad.map((v) => `${v.name}: ${v.facts ? describeWatchdogFacts(v.facts) : 'pcp does not answer'}`).join('; '));
      return true;
    }, deadlineMs, 250);
  }

  /** Makes the member's next escalation wait in its wd_escalation_command until {@link releaseEscalation}. */
  async holdEscalation(name: string): Promise<void> {
    await writeOwned(this.holdFile(name), `held by the drill at ${new Date().toISOString()}\n`, 0o644);
  }
  async releaseEscalation(name: string): Promise<void> {
    await fsp.rm(this.holdFile(name), { force: true });
  }
  /** True while the member's escalation waits in the gate. */
  async escalationWaiting(name: string): Promise<boolean> {
    return fsp.access(`${this.holdFile(name)}.waiting`).then(() => true, () => false);
  }

  /** The primary backend (pg_is_in_recovery() = false); null if none; throws if several. */
  async primaryBackend(): Promise<string | null> {
    const { primaries, states } = await this.primaries();
    if (primaries.length > 1) throw new Error(`more than one primary: ${JSON.stringify(states)}`);
    return primaries[0] ?? null;
  }

  // ------------------------------------------------------------------ teardown

  protected async stopAll(): Promise<void> {
    for (const m of this.members) await fsp.rm(this.holdFile(m.name), { force: true }).catch(() => undefined);
    // SIGINT = fast shutdown (the de-escalation runs if_down_cmd, which posts to the stack: bounded by the hook)
    await Promise.all(this.members.map((m) => this.stopPidFile(path.join(m.dir, 'launcher.pid'), 'SIGINT', 15_000)));
    await Promise.all(this.members.map((m) => killAllOf(m.dir, 10_000)));
    await Promise.all(
      this.backends.map(async (b) => {
        if (await this.postmasterPid(b.name)) await this.stopPidFile(path.join(b.dataDir, 'postmaster.pid'), 'SIGINT', 20_000);
      }),
    );
  }
}
