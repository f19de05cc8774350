/**
 * A real repmgr 5.3 cluster (PostgreSQL 15) on 127.0.0.1 with repmgrd automatic failover,
 * built in a private base dir and torn down by pid files.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ClusterBase } from './base';
import { HookWiring, NodeInfo } from './hook';
import { LOOPBACK, LogFn, PG_BIN, errMsg, freePorts, makeBaseDir, mkdirOwned, readPidFile, shQuote, signalOwn, waitPidGone, writeOwned } from './util';

export interface RepmgrClusterOptions {
  /** number of nodes (node1 is the initial primary); default 3 */
  nodes?: number;
  hook: HookWiring;
  /** timeline logger; each line is prefixed with an ISO timestamp and seconds since creation */
  log?: LogFn;
  /** label used in log lines; default "repmgr" */
  cluster?: string;
  /** deadline for the whole build; default 120 s */
  buildDeadlineMs?: number;
  /**
   * repmgr calls the hook (`event_notification_command`); default true. False when another tool drives the endpoint
   * (keepalived beside repmgr): the hook is still wired (hook.json, files) for that tool to call.
   */
  eventNotification?: boolean;
}

const REPMGR = `${PG_BIN}/repmgr`;
const REPMGRD = `${PG_BIN}/repmgrd`;
const PG_CTL = `${PG_BIN}/pg_ctl`;

/** A value for repmgr.conf: single-quoted; the parser (a copy of PostgreSQL's guc-file.l) unescapes `\\` and `''`. */
function confValue(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** One argv element for event_notification_command: shell-quoted (runs through sh -c), `%` escaped for repmgr's placeholder expansion. */
function eventCmdArg(s: string): string {
  return shQuote(s).replace(/%/g, '%%');
}

/** Loopback-only ssh stand-in for `repmgr standby switchover`: drops ssh options and the host, runs the command locally. */
const SSH_SHIM = `#!/bin/bash
# vipswitch drill: loopback-only "ssh" for repmgr (all nodes are 127.0.0.1 on this host).
# repmgr calls: ssh -o Batchmode=yes [ssh_options] [-l user] HOST COMMAND...
args=("$@"); i=0; n=\${#args[@]}
while [ $i -lt $n ]; do
  case "\${args[$i]}" in
    -o|-l|-p|-i|-F) i=$((i+2));;
    -*) i=$((i+1));;
    *) break;;
  esac
done
host="\${args[$i]}"; i=$((i+1))
case "$host" in 127.0.0.1|localhost) ;; *) echo "ssh shim: refusing non-loopback host $host" >&2; exit 255;; esac
log="$(dirname "$0")/../../ssh-shim.log"
echo "$(date +%s.%N) host=$host cmd=\${args[*]:$i}" >> "$log"
exec /bin/sh -c "\${args[*]:$i}"
`;

export class RepmgrCluster extends ClusterBase {
  readonly nodes: NodeInfo[];
  private eventNotification = true;

  private constructor(baseDir: string, nodes: NodeInfo[], label: string, log: LogFn | undefined) {
    super(baseDir, label, log);
    this.nodes = nodes;
  }

  protected allNodes(): NodeInfo[] {
    return this.nodes;
  }

  static async create(opts: RepmgrClusterOptions): Promise<RepmgrCluster> {
    const count = opts.nodes ?? 3;
    if (!Number.isInteger(count) || count < 1) throw new Error('nodes must be a positive integer');
    const baseDir = await makeBaseDir();
    const ports = await freePorts(count);
    const nodes: NodeInfo[] = ports.map((port, i) => {
      const name = `node${i + 1}`;
      const dir = path.join(baseDir, name);
      return { name, id: i + 1, port, dataDir: path.join(dir, 'data'), dir, kind: 'repmgr', baseDir };
    });
    const c = new RepmgrCluster(baseDir, nodes, opts.cluster ?? 'repmgr', opts.log);
    c.eventNotification = opts.eventNotification ?? true;
    c.log(`base dir ${baseDir}, ports ${nodes.map((n) => `${n.name}=${n.port}`).join(' ')}`);
    try {
      await c.tl.step('build', () => c.build(opts));
    } catch (e) {
      await c.destroy().catch((d) => c.log(`destroy after failed build also failed: ${errMsg(d)}`));
      throw e;
    }
    return c;
  }

  // ------------------------------------------------------------------ build

  private async build(opts: RepmgrClusterOptions): Promise<void> {
    const deadline = Date.now() + (opts.buildDeadlineMs ?? 120_000);
    const left = () => Math.max(1_000, deadline - Date.now());
    await writeOwned(path.join(this.baseDir, 'bin', 'shim', 'ssh'), SSH_SHIM, 0o755);
    await writeOwned(path.join(this.baseDir, 'ssh-shim.log'), '', 0o666);
    for (const n of this.nodes) await mkdirOwned(n.dir, 0o755);
    await this.setupHook(opts.hook);
    for (const n of this.nodes) await writeOwned(this.confPath(n.name), this.repmgrConf(n), 0o644);

    const [primary, ...standbys] = this.nodes;
    if (!primary) throw new Error('no nodes');
    await this.tl.step('initdb node1', () =>
      this.runner.run(
        [`${PG_BIN}/initdb`, '-D', primary.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions'],
        { timeoutMs: left() },
      ),
    );
    const conf = path.join(primary.dataDir, 'postgresql.conf');
    await fsp.appendFile(conf, this.postgresqlSettings(primary));
    await writeOwned(path.join(primary.dataDir, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n', 0o600);
    await this.tl.step('start node1', () => this.pgCtlStart(primary.name, left()));
    await this.psql(primary.name, 'CREATE USER repmgr SUPERUSER REPLICATION');
    await this.psql(primary.name, 'CREATE DATABASE repmgr OWNER repmgr');
    await this.tl.step('primary register node1', () => this.repmgr(primary.name, ['primary', 'register'], left()));

    await Promise.all(
      standbys.map(async (n) => {
        await this.tl.step(`clone ${n.name}`, () =>
          this.repmgr(n.name, ['-h', LOOPBACK, '-p', String(primary.port), '-U', 'repmgr', '-d', 'repmgr', 'standby', 'clone', '--fast-checkpoint'], left()),
        );
        await this.fixPort(n.name);
        await this.tl.step(`start ${n.name}`, () => this.pgCtlStart(n.name, left()));
        // `standby register` refuses a standby not attached yet ("local node not attached to primary"): on a loaded
        // machine the WAL receiver may connect a moment after pg_ctl start returns.
        await this.waitUntil(`${n.name} streaming from ${primary.name}`, async () => (await this.tryPsql(n.name, 'SELECT status FROM pg_stat_wal_receiver')) === 'streaming', left(), 100);
        await this.tl.step(`standby register ${n.name}`, () => this.repmgr(n.name, ['standby', 'register', '--wait-sync=30'], left()));
      }),
    );
    await this.tl.step('start repmgrd on all nodes', () => Promise.all(this.nodes.map((n) => this.startRepmgrd(n.name))));
    await this.tl.step('wait until cluster healthy', () => this.waitHealthy(left()));
  }

  private confPath(node: string): string {
    return path.join(this.node(node).dir, 'repmgr.conf');
  }

  private repmgrConf(n: NodeInfo): string {
    const conf = path.join(n.dir, 'repmgr.conf');
    const event = [...this.hookArgv, '--config', path.join(n.dir, 'hook.json'), 'repmgr'].map(eventCmdArg).join(' ');
    const lines: Record<string, string | number> = {
      node_id: n.id,
      node_name: confValue(n.name),
      conninfo: confValue(this.conninfo(n)),
      data_directory: confValue(n.dataDir),
      pg_bindir: confValue(PG_BIN),
      pg_ctl_options: confValue(`-l ${shQuote(path.join(n.dir, 'postgres.log'))}`),
      use_replication_slots: 'yes',
      log_level: 'INFO',
      log_file: confValue(path.join(n.dir, 'repmgrd.log')),
      log_status_interval: 60,
      repmgrd_pid_file: confValue(path.join(n.dir, 'repmgrd.pid')),
      failover: 'automatic',
      promote_command: confValue(`${REPMGR} standby promote -f ${shQuote(conf)} --log-to-file`),
      follow_command: confValue(`${REPMGR} standby follow -f ${shQuote(conf)} --log-to-file --upstream-node-id=%n`),
      monitor_interval_secs: 1,
      reconnect_attempts: 2,
      reconnect_interval: 1,
      promote_check_interval: 1,
      promote_check_timeout: 60,
      standby_follow_timeout: 30,
      node_rejoin_timeout: 60,
      standby_disconnect_on_failover: 'false',
      primary_visibility_consensus: 'false',
      child_nodes_check_interval: 1,
      ssh_options: confValue('-q'),
      ...(this.eventNotification ? { event_notification_command: confValue(`${event} %n %e %s "%t" "%d" "%a" "%c" "%p"`) } : {}),
    };
    return Object.entries(lines).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
  }

  private postgresqlSettings(n: NodeInfo): string {
    return `
# --- vipswitch drill settings ---
listen_addresses = '127.0.0.1'
port = ${n.port}
unix_socket_directories = '${path.join(this.baseDir, 'run')}'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
wal_log_hints = on
full_page_writes = on
wal_keep_size = 64MB
shared_preload_libraries = 'repmgr'
shared_buffers = 16MB
max_connections = 40
fsync = off
wal_retrieve_retry_interval = 1s
logging_collector = on
log_directory = 'log'
log_line_prefix = '%m [%p] '
`;
  }

  /** conninfo of a node as repmgr uses it */
  conninfo(n: NodeInfo | string): string {
    const node = typeof n === 'string' ? this.node(n) : n;
    return `host=${LOOPBACK} port=${node.port} user=repmgr dbname=repmgr connect_timeout=2`;
  }

  /** Runs `repmgr -f <node's repmgr.conf> args...` as postgres (ssh shim first in PATH). */
  async repmgr(node: string, args: string[], timeoutMs = 60_000, allowFail = false) {
    return this.runner.run([REPMGR, '-f', this.confPath(node), ...args], { timeoutMs, cwd: this.node(node).dir, allowFail });
  }

  /** pg_basebackup and pg_rewind copy postgresql.conf with the source's port: put the node's own port back. */
  private async fixPort(node: string): Promise<boolean> {
    const n = this.node(node);
    const file = path.join(n.dataDir, 'postgresql.conf');
    const text = await fsp.readFile(file, 'utf8');
    const fixed = text.replace(/^port\s*=.*$/gm, `port = ${n.port}`);
    if (fixed === text) return false;
    await fsp.writeFile(file, fixed);
    this.log(`${node}: port in postgresql.conf set back to ${n.port}`);
    return true;
  }

  private async pgCtlStart(node: string, timeoutMs = 60_000): Promise<void> {
    const n = this.node(node);
    await this.runner.run([PG_CTL, '-w', '-t', String(Math.ceil(timeoutMs / 1000)), '-D', n.dataDir, '-l', path.join(n.dir, 'postgres.log'), 'start'], {
      timeoutMs: timeoutMs + 5_000,
      cwd: n.dir,
    });
  }

  private async pgCtlStop(node: string): Promise<void> {
    const n = this.node(node);
    if (!(await this.postmasterPid(node))) return;
    await this.runner.run([PG_CTL, '-w', '-t', '30', '-D', n.dataDir, '-m', 'fast', 'stop'], { timeoutMs: 40_000, cwd: n.dir, allowFail: true });
  }

  private repmgrdPidFile(node: string): string {
    return path.join(this.node(node).dir, 'repmgrd.pid');
  }

  /** Starts repmgrd for a node (it daemonizes and writes its pid file). */
  async startRepmgrd(node: string): Promise<number> {
    const n = this.node(node);
    const pidFile = this.repmgrdPidFile(node);
    await fsp.rm(pidFile, { force: true });
    await this.runner.run([REPMGRD, '-f', this.confPath(node), '--pid-file', pidFile], { timeoutMs: 20_000, cwd: n.dir });
    const pid = await this.waitUntil(`repmgrd pid file of ${node}`, () => readPidFile(pidFile), 10_000, 50);
    this.log(`repmgrd ${node} started (pid ${pid})`);
    return pid;
  }

  /** kill -9 of a node's repmgrd (a host crash: no repmgrd_shutdown event), if it runs; waits until it is gone. */
  async killRepmgrd(node: string): Promise<void> {
    const pid = await readPidFile(this.repmgrdPidFile(node));
    if (pid && signalOwn(pid, this.baseDir, 'SIGKILL')) await waitPidGone(pid, 5_000);
  }

  /** Stops a node's repmgrd (SIGTERM → repmgrd_shutdown event), if it runs. */
  async stopRepmgrd(node: string): Promise<void> {
    await this.stopPidFile(this.repmgrdPidFile(node), 'SIGTERM', 10_000);
  }

  /** Live `repmgr standby promote|follow` processes of this cluster (repmgrd mid-failover, or a CLI action). */
  failoverActions(): string[] {
    return this.processes()
      .map((p) => p.cmdline)
      .filter((c) => /\brepmgr\b.*\bstandby (promote|follow)\b/.test(c));
  }

  /** Waits until no promote/follow command of any repmgrd is running. */
  async waitQuiescent(deadlineMs = 60_000): Promise<void> {
    await this.waitUntil('no repmgr promote/follow in progress', async () => {
      const busy = this.failoverActions();
      if (busy.length) throw new Error(`busy: ${busy.join('; ')}`);
      return true;
    }, deadlineMs, 200);
  }

  /**
   * Waits until the cluster is healthy: exactly one primary, every node's PostgreSQL and repmgrd
   * run (unpaused), every standby streams from the primary (state `streaming` in
   * pg_stat_replication), no promote/follow is in progress, and `repmgr cluster show` exits 0.
   * Nodes in `ignore` (e.g. a killed old primary) are left out, and then `cluster show`'s exit
   * code (which reports the failed node) is not required to be 0.
   */
  async waitHealthy(deadlineMs = 60_000, opts: { ignore?: string[] } = {}): Promise<string> {
    const ignore = new Set(opts.ignore ?? []);
    const expected = this.nodes.filter((n) => !ignore.has(n.name));
    return this.waitUntil(
      `repmgr cluster healthy${ignore.size ? ` (ignoring ${[...ignore].join(', ')})` : ''}`,
      async () => {
        const busy = this.failoverActions();
        if (busy.length) throw new Error(`failover action running: ${busy.join('; ')}`);
        const { primaries, states } = await this.primaries();
        const live = primaries.filter((p) => !ignore.has(p));
        if (live.length !== 1) throw new Error(`primaries: ${JSON.stringify(states)}`);
        const primary = live[0]!;
        if (ignore.size === 0) {
          const show = await this.repmgr(primary, ['cluster', 'show', '--compact'], 15_000, true);
          if (show.code !== 0) throw new Error(`cluster show exit ${show.code}: ${show.stdout.trim()} ${show.stderr.trim()}`);
        }
        const st = await this.repmgr(primary, ['service', 'status', '--csv'], 15_000, true);
        // --csv (5.3): id,name,role,pg_running,repmgrd_running,repmgrd_pid,paused,priority,upstream_last_seen_secs,location
        const rows = st.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(','));
        const bad = expected.filter((n) => {
          const r = rows.find((x) => x[1] === n.name);
          return !r || r[3] !== '1' || r[4] !== '1' || r[6] !== '0';
        });
        if (bad.length) throw new Error(`service status not ok for ${bad.map((n) => n.name).join(', ')}: ${st.stdout.trim()} ${st.stderr.trim()}`);
        const repl = await this.psql(primary, 'SELECT application_name, state FROM pg_stat_replication');
        const streaming = new Set(repl.split('\n').filter((l) => l.endsWith('|streaming')).map((l) => l.split('|')[0]));
        const missing = expected.filter((n) => n.name !== primary && !streaming.has(n.name)).map((n) => n.name);
        if (missing.length) throw new Error(`not streaming from ${primary}: ${missing.join(', ')} (pg_stat_replication: ${repl.replace(/\n/g, ' ')})`);
        return primary;
      },
      deadlineMs,
      300,
    );
  }

  /**
   * After a failover away from `deadNode`: waits until the new primary is up, every other node
   * streams from it and no promote/follow is still running. Returns the new primary.
   */
  async waitFailoverComplete(deadNode: string, deadlineMs = 60_000): Promise<string> {
    const start = Date.now();
    const p = await this.waitHealthy(deadlineMs, { ignore: [deadNode] });
    this.tl.timings.push({ step: `waitFailoverComplete(without ${deadNode}) -> ${p}`, ms: Date.now() - start });
    return p;
  }

  // ------------------------------------------------------------------ drill operations

  /** The node where pg_is_in_recovery() is false; null if none; throws if more than one. */
  async primary(): Promise<string | null> {
    const { primaries, states } = await this.primaries();
    if (primaries.length > 1) throw new Error(`more than one primary: ${JSON.stringify(states)}`);
    return primaries[0] ?? null;
  }

  /** All nodes' state: true = standby, false = primary, null = down. */
  async states(): Promise<Record<string, boolean | null>> {
    return (await this.primaries()).states;
  }

  /** Polls until exactly one node other than `notNode` is a primary (notNode's own state is ignored). */
  async waitForPrimary(notNode: string, deadlineMs: number): Promise<string> {
    const start = Date.now();
    const p = await this.waitUntil(
      `a primary other than ${notNode}`,
      async () => {
        const { primaries, states } = await this.primaries();
        const others = primaries.filter((x) => x !== notNode);
        if (others.length > 1) throw new Error(`several primaries: ${JSON.stringify(states)}`);
        if (others.length === 0) throw new Error(`no primary yet: ${JSON.stringify(states)}`);
        return others[0];
      },
      deadlineMs,
      100,
    );
    this.tl.timings.push({ step: `waitForPrimary(not ${notNode}) -> ${p}`, ms: Date.now() - start });
    this.log(`new primary ${p} after ${((Date.now() - start) / 1000).toFixed(3)}s of waiting`);
    return p;
  }

  /** `repmgr standby switchover --siblings-follow` on toNode (via the ssh shim), then waits until healthy. */
  async switchover(toNode: string, deadlineMs = 120_000): Promise<void> {
    await this.tl.step(`switchover to ${toNode}`, async () => {
      const end = Date.now() + deadlineMs;
      await this.waitHealthy(deadlineMs);
      await this.repmgr(toNode, ['standby', 'switchover', '--siblings-follow', '--verbose'], deadlineMs);
      await this.waitUntil(`${toNode} to be the only primary`, async () => (await this.primary()) === toNode, Math.max(1_000, end - Date.now()));
      await this.waitHealthy(Math.max(1_000, end - Date.now()));
    });
  }

  /**
   * Rejoins a failed (or split-brain) node to the current primary:
   * stops its repmgrd and postgres, runs `repmgr node rejoin -d <primary conninfo> --force-rewind
   * --config-files=postgresql.conf`, checks the port, restarts repmgrd, waits until it streams.
   */
  async rejoin(node: string, opts: { forceRewind?: boolean; deadlineMs?: number } = {}): Promise<void> {
    const forceRewind = opts.forceRewind ?? true;
    const deadlineMs = opts.deadlineMs ?? 120_000;
    await this.tl.step(`rejoin ${node}${forceRewind ? ' (--force-rewind)' : ''}`, async () => {
      const end = Date.now() + deadlineMs;
      const left = () => Math.max(1_000, end - Date.now());
      // the failover away from this node must be over (siblings following the new primary)
      await this.waitHealthy(left(), { ignore: [node] });
      await this.stopRepmgrd(node);
      await this.pgCtlStop(node);
      const { primaries, states } = await this.primaries();
      const target = primaries.filter((p) => p !== node);
      if (target.length !== 1) throw new Error(`rejoin(${node}): need exactly one other primary, states ${JSON.stringify(states)}`);
      const primary = target[0]!;
      const args = ['node', 'rejoin', '-d', this.conninfo(primary), '--verbose'];
      // repmgr keeps the --config-files across pg_rewind in <config-archive-dir>/repmgr-config-archive-<node name>,
      // /tmp by default: two clusters on one machine rejoining their node1 at once shared it (one run deleted the
      // other's archive: "unable to open archive directory"; or restored the other's postgresql.conf, so PostgreSQL
      // came up on the other cluster's port and repmgr never saw it start). One per node, in its own directory.
      if (forceRewind) args.push('--force-rewind', '--config-files=postgresql.conf', `--config-archive-dir=${this.node(node).dir}`);
      await this.repmgr(node, args, left());
      if (await this.fixPort(node)) {
        await this.pgCtlStop(node);
        await this.pgCtlStart(node, left());
      }
      await this.startRepmgrd(node);
      await this.waitUntil(
        `${node} streaming from ${primary}`,
        async () => (await this.tryPsql(node, "SELECT status FROM pg_stat_wal_receiver")) === 'streaming',
        left(),
      );
      await this.waitHealthy(left());
    });
  }

  /**
   * The split-brain scenario: starts the node's data dir again exactly as it was (`pg_ctl start`,
   * no standby.signal added — an old primary comes back as a primary) and restarts its repmgrd.
   */
  async startWithoutRejoin(node: string, deadlineMs = 60_000): Promise<void> {
    await this.tl.step(`start ${node} without rejoin`, async () => {
      // model "the old primary comes back after the failover is over"
      await this.waitHealthy(deadlineMs, { ignore: [node] });
      await this.stopRepmgrd(node);
      if (!(await this.postmasterPid(node))) await this.pgCtlStart(node, deadlineMs);
      await this.waitUntil(`${node} accepting connections`, async () => (await this.inRecovery(node)) !== null, deadlineMs);
      await this.startRepmgrd(node);
    });
  }

  /**
   * kill -9 the node's postmaster. By default (`settle`), if the node is a primary, first waits
   * (up to 5 s, best effort) until its WAL is idle and every standby has replayed all of it: a
   * primary killed while a multi-page WAL record is only partly shipped leaves the standbys'
   * receive LSN past the new primary's fork point, and repmgr 5.3 then refuses `standby follow`
   * ("follow target server's timeline 2 forked off current database system timeline 1 before
   * current recovery point"), leaving the sibling unattached. Pass `settle: false` for a raw kill.
   */
  override async killPostmaster(node: string, opts: { settle?: boolean } = {}): Promise<number> {
    if (opts.settle ?? true) {
      try {
        await this.settleWal(node, 5_000);
      } catch (e) {
        this.log(`WAL of ${node} did not settle before the kill: ${errMsg(e)}`);
      }
    }
    return super.killPostmaster(node);
  }

  /** Waits until a primary's WAL insert = flush position and every standby replayed up to it (no-op on a standby). */
  async settleWal(node: string, deadlineMs = 5_000): Promise<void> {
    if ((await this.inRecovery(node)) !== false) return;
    await this.waitUntil(
      `WAL of ${node} settled on all standbys`,
      async () =>
        (await this.psql(
          node,
          'SELECT pg_current_wal_insert_lsn() = pg_current_wal_flush_lsn() AND coalesce(bool_and(replay_lsn = pg_current_wal_flush_lsn()), true) FROM pg_stat_replication',
        )) === 't',
      deadlineMs,
      50,
    );
  }

  /** Stops a node's postgres gracefully (pg_ctl -m fast), leaving repmgrd running. */
  async stopPostgres(node: string): Promise<void> {
    await this.pgCtlStop(node);
  }

  // ------------------------------------------------------------------ teardown

  protected async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stopRepmgrd(n.name)));
    await Promise.all(
      this.nodes.map(async (n) => {
        const pid = await this.postmasterPid(n.name);
        // SIGINT = fast shutdown
        if (pid) await this.stopPidFile(path.join(n.dataDir, 'postmaster.pid'), 'SIGINT', 20_000);
      }),
    );
  }
}
