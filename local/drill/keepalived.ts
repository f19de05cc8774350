/**
 * A real keepalived 2.2 + repmgr 5.3 + pgbouncer 1.18 cluster (the keepalived + repmgr + pgbouncer pattern), built on
 * this machine and torn down by pid:
 *
 *  - three PostgreSQL 15 nodes with repmgr and repmgrd (automatic failover) on 127.0.0.1 (a {@link RepmgrCluster} whose
 *    repmgr does not call the hook: here keepalived does);
 *  - one keepalived per node, each inside its own network namespace (local/drill/netns.ts), VRRP by unicast between
 *    the nodes' veth addresses as on AWS (no multicast there), `virtual_ipaddress` inside the namespaces' private
 *    subnet; a `vrrp_script` over the node's PostgreSQL (through its UNIX socket: a namespace cannot reach 127.0.0.1 of
 *    the root namespace) with `weight 50`, so the primary's node has priority 150 and the others 100, as in the lab
 *    (shared/peers/keepalived/configs);
 *  - `notify` and `notify_master_rx_lower_pri` point at a per-node wrapper that enters the root network namespace
 *    (only it: `nsenter --net`) and runs the hook with the node's config: the hook posts to the local stack's API on
 *    127.0.0.1, probes PostgreSQL and drives the node's pgbouncer;
 *  - one pgbouncer per node on 127.0.0.1 (`appdb` → the node's PostgreSQL), admin console for the hook.
 *
 * keepalived runs as root with `enable_script_security` and `script_user root`: every directory on the scripts' path
 * is root-owned (the base dir is handed to root once repmgr is built; the nodes' own dirs stay postgres').
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { RepmgrCluster } from './repmgr';
import type { HookWiring, NodeInfo } from './hook';
import { NetnsLab } from './netns';
import { LogFn, PG_BIN, PgRunner, ProcInfo, Timeline, errMsg, freePorts, mkdirOwned, pidAlive, pidBelongsTo, portOpen, processesOf, readPidFile, shQuote, signalOwn, waitPidGone, waitUntil, writeOwned } from './util';

const KEEPALIVED = '/usr/sbin/keepalived';
const PGBOUNCER = '/usr/sbin/pgbouncer';
const NSENTER = '/usr/bin/nsenter';
/** The `[databases]` entry clients (and the write client) use on every pgbouncer. */
export const PGBOUNCER_DB = 'appdb';
const BASE_PRIORITY = 100;

export interface KeepalivedClusterOptions {
  hook: HookWiring;
  log?: LogFn;
  /** label used in log lines; default "keepalived" */
  label?: string;
  buildDeadlineMs?: number;
}

export class KeepalivedCluster {
  private readonly tl: Timeline;
  private readonly runner: PgRunner;
  private readonly priorities = new Map<string, number>();
  private destroying: Promise<void> | undefined;

  private constructor(
    readonly repmgr: RepmgrCluster,
    readonly net: NetnsLab,
    private readonly pgbouncerPorts: Map<string, number>,
    private readonly hookCommand: string[],
    label: string,
    log: LogFn | undefined,
  ) {
    this.tl = new Timeline(label, log);
    this.runner = new PgRunner(repmgr.baseDir);
  }

  get nodes(): NodeInfo[] {
    return this.repmgr.nodes;
  }
  get baseDir(): string {
    return this.repmgr.baseDir;
  }
  /** The network namespaces (nodes, bridge, the root namespace's name), deleted by destroy(). */
  get namespaces(): string[] {
    return this.net.namespaces;
  }
  /** The VIP keepalived moves between the namespaces (it exists nowhere else). */
  get vip(): string {
    return this.net.vip;
  }

  static async create(opts: KeepalivedClusterOptions): Promise<KeepalivedCluster> {
    for (const bin of [KEEPALIVED, PGBOUNCER, NSENTER]) if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: install Debian's keepalived, pgbouncer and util-linux (bash scripts/bootstrap.sh drill installs them)`);
    if (process.getuid?.() !== 0) throw new Error('the keepalived drill must run as root (network namespaces, keepalived)');
    const label = opts.label ?? 'keepalived';
    const ports = await freePorts(3);
    const pgbouncerPorts = new Map(ports.map((p, i) => [`node${i + 1}`, p]));
    // the hook drives the node's pgbouncer through its admin console (UNIX socket in <base>/run)
    const hook: HookWiring = {
      ...opts.hook,
      configFor: (n) => ({
        ...opts.hook.configFor(n),
        pgbouncer: { host: path.join(n.baseDir, 'run'), port: pgbouncerPorts.get(n.name)!, user: 'pgbouncer', database: PGBOUNCER_DB, psql: `${PG_BIN}/psql` },
      }),
    };
    const repmgr = await RepmgrCluster.create({ hook, log: opts.log, cluster: `${label} repmgr`, eventNotification: false, buildDeadlineMs: opts.buildDeadlineMs });
    let net: NetnsLab | undefined;
    try {
      net = await NetnsLab.create({ count: 3, baseDir: repmgr.baseDir, log: opts.log });
      const c = new KeepalivedCluster(repmgr, net, pgbouncerPorts, [...repmgr.hookCommand], label, opts.log);
      await c.tl.step('build keepalived + pgbouncer', () => c.build());
      return c;
    } catch (e) {
      await repmgr.destroy().catch(() => undefined);
      await net?.destroy();
      throw e;
    }
  }

  private kaDir(node?: string): string {
    return node ? path.join(this.baseDir, 'keepalived', node) : path.join(this.baseDir, 'keepalived');
  }
  private confPath(node: string): string {
    return path.join(this.kaDir(node), 'keepalived.conf');
  }
  private index(node: string): number {
    const i = this.nodes.findIndex((n) => n.name === node);
    if (i < 0) throw new Error(`unknown node ${node}`);
    return i + 1;
  }
  private info(node: string): NodeInfo {
    return this.nodes[this.index(node) - 1]!;
  }

  private async build(): Promise<void> {
    // enable_script_security: the scripts' directories must be root-owned and writable by root only
    await fsp.chown(this.baseDir, 0, 0);
    await fsp.chmod(this.baseDir, 0o755);
    const bin = path.join(this.kaDir(), 'bin');
    await fsp.mkdir(bin, { recursive: true, mode: 0o755 });
    await fsp.chmod(this.kaDir(), 0o755);
    await fsp.chmod(bin, 0o755);
    const sock = path.join(this.baseDir, 'run');
    await fsp.writeFile(
      path.join(bin, 'chk_pg_primary'),
      [
        '#!/bin/sh',
        '# vrrp_script: exit 0 iff the PostgreSQL on port $1 answers and is not in recovery. Through its UNIX socket: this runs',
        "# in the node's network namespace, which cannot reach 127.0.0.1 of the root namespace.",
        `[ "$(PGCONNECT_TIMEOUT=2 ${PG_BIN}/psql -X -qAt -h ${shQuote(sock)} -p "$1" -U postgres -d postgres -c 'select not pg_is_in_recovery()' 2>/dev/null)" = t ]`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    for (const n of this.nodes) {
      await fsp.mkdir(this.kaDir(n.name), { recursive: true, mode: 0o755 });
      await fsp.writeFile(
        path.join(bin, `hook-${n.name}`),
        [
          '#!/bin/sh',
          `# ${n.name}: keepalived runs this in the node's network namespace (execve, no shell of its own, as root, umask 0177,`,
          "# stdio on /dev/null) with its words after ours. The hook posts to the API on 127.0.0.1 of the root namespace: enter",
          "# that network namespace (only it) and run the real hook with the node's config.",
          `exec ${NSENTER} --net=${shQuote(this.net.hostNsPath)} -- ${[...this.hookCommand, '--config', path.join(n.dir, 'hook.json')].map(shQuote).join(' ')} "$@"`,
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      this.priorities.set(n.name, BASE_PRIORITY);
      await this.writeConf(n.name);
      const check = await this.runRoot(['ip', 'netns', 'exec', this.net.nodeNs(this.index(n.name)), KEEPALIVED, '-t', '-f', this.confPath(n.name)]);
      if (check.code !== 0) throw new Error(`keepalived -t refused ${this.confPath(n.name)}: ${check.out.trim()}`);
    }
    await this.tl.step('start pgbouncer on every node', () => Promise.all(this.nodes.map((n) => this.startPgbouncer(n.name))));
    await this.tl.step('start keepalived in every namespace', () => Promise.all(this.nodes.map((n) => this.startKeepalived(n.name))));
    const primary = await this.repmgr.primary();
    if (primary) await this.waitVip(primary, 20_000);
  }

  private async writeConf(node: string): Promise<void> {
    const i = this.index(node);
    const peers = this.nodes.map((_, k) => k + 1).filter((k) => k !== i).map((k) => `        ${this.net.addressOf(k)}`);
    const bin = path.join(this.kaDir(), 'bin');
    const hook = path.join(bin, `hook-${node}`);
    const text = `# vipswitch drill: keepalived for ${node}, run as: ip netns exec ${this.net.nodeNs(i)} keepalived -n -P -l -D -f <this file>
global_defs {
    router_id ${this.net.tag}-${node}
    enable_script_security
    # without it Debian's keepalived looks for a keepalived_script user and removes every script
    script_user root
}

vrrp_script chk_pg_primary {
    script "${path.join(bin, 'chk_pg_primary')} ${this.info(node).port}"
    interval 1
    timeout 2
    fall 2
    rise 2
    weight 50          # the primary's node: ${BASE_PRIORITY}+50; a standby's, or a node whose PostgreSQL is down: ${BASE_PRIORITY}
}

vrrp_instance VI_PG {
    state BACKUP
    interface veth0
    virtual_router_id 51
    priority ${this.priorities.get(node)}
    advert_int 1
    unicast_src_ip ${this.net.addressOf(i)}
    unicast_peer {
${peers.join('\n')}
    }
    virtual_ipaddress {
        ${this.net.vip}/24 dev veth0
    }
    track_script {
        chk_pg_primary
    }
    notify "${hook} keepalived"
    notify_master_rx_lower_pri "${hook} keepalived master_rx_lower_pri"
}
`;
    await fsp.writeFile(this.confPath(node), text, { mode: 0o644 });
  }

  private async runRoot(argv: string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' } });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.once('error', (e) => resolve({ code: -1, out: e.message }));
      child.once('close', (code) => resolve({ code, out }));
    });
  }

  // ------------------------------------------------------------------ pgbouncer

  pgbouncerPort(node: string): number {
    const p = this.pgbouncerPorts.get(node);
    if (p === undefined) throw new Error(`unknown node ${node}`);
    return p;
  }

  private pgbouncerDir(node: string): string {
    return path.join(this.info(node).dir, 'pgbouncer');
  }

  private async startPgbouncer(node: string): Promise<void> {
    const n = this.info(node);
    const dir = this.pgbouncerDir(node);
    await mkdirOwned(dir, 0o755);
    const ini = path.join(dir, 'pgbouncer.ini');
    await writeOwned(
      ini,
      [
        '[databases]',
        `${PGBOUNCER_DB} = host=127.0.0.1 port=${n.port} dbname=postgres`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${this.pgbouncerPort(node)}`,
        `unix_socket_dir = ${path.join(this.baseDir, 'run')}`,
        'auth_type = trust',
        `auth_file = ${path.join(dir, 'users.txt')}`,
        'admin_users = pgbouncer',
        'pool_mode = session',
        // a dead PostgreSQL is retried every second, a client waits 5 s at most for a server connection
        'server_login_retry = 1',
        'server_connect_timeout = 2',
        'query_wait_timeout = 5',
        '',
      ].join('\n'),
      0o644,
    );
    await writeOwned(path.join(dir, 'users.txt'), '"postgres" ""\n"pgbouncer" ""\n', 0o600);
    const pid = await this.runner.startDaemon([PGBOUNCER, ini], path.join(dir, 'pgbouncer.pid'), path.join(dir, 'pgbouncer.log'), dir);
    await waitUntil(`pgbouncer of ${node} (pid ${pid}) to listen on ${this.pgbouncerPort(node)}`, () => portOpen(this.pgbouncerPort(node)), 15_000, 50);
  }

  /** SHOW DATABASES on the node's pgbouncer: is `appdb` disabled (null: no answer). */
  async pgbouncerDisabled(node: string): Promise<boolean | null> {
    const r = await this.runRoot([`${PG_BIN}/psql`, '-X', '-A', '-F', '|', '-h', path.join(this.baseDir, 'run'), '-p', String(this.pgbouncerPort(node)), '-U', 'pgbouncer', '-d', 'pgbouncer', '-c', 'SHOW DATABASES']);
    if (r.code !== 0) return null;
    const lines = r.out.trim().split('\n');
    const header = lines[0]?.split('|') ?? [];
    const row = lines.slice(1).map((l) => l.split('|')).find((f) => f[0] === PGBOUNCER_DB);
    const col = header.indexOf('disabled');
    return row && col >= 0 ? row[col] === '1' : null;
  }

  // ------------------------------------------------------------------ keepalived

  private pidFile(node: string, which: 'keepalived' | 'vrrp'): string {
    return path.join(this.kaDir(node), `${which}.pid`);
  }

  /** keepalived's main pid for the node, if it runs (checked to belong to this cluster). */
  async keepalivedPid(node: string): Promise<number | null> {
    const pid = await readPidFile(this.pidFile(node, 'keepalived'));
    return pid && pidBelongsTo(pid, this.baseDir) ? pid : null;
  }

  /** Starts the node's keepalived inside its namespace (cwd its dir, keepalived's environment only, log to a file). */
  async startKeepalived(node: string): Promise<number> {
    const dir = this.kaDir(node);
    for (const f of ['keepalived', 'vrrp', 'checkers', 'bfd']) await fsp.rm(path.join(dir, `${f}.pid`), { force: true });
    const log = fs.openSync(path.join(dir, 'keepalived.log'), 'a');
    try {
      const child = spawn(
        'ip',
        ['netns', 'exec', this.net.nodeNs(this.index(node)), 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', KEEPALIVED, '-n', '-P', '-l', '-D', '-f', this.confPath(node),
          '-p', this.pidFile(node, 'keepalived'), '-r', this.pidFile(node, 'vrrp'), '-c', path.join(dir, 'checkers.pid'), '-b', path.join(dir, 'bfd.pid')],
        { cwd: dir, stdio: ['ignore', log, log], detached: true, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
      );
      child.unref();
      child.once('error', () => undefined);
    } finally {
      fs.closeSync(log);
    }
    const pid = await waitUntil(`keepalived of ${node} to write its pid file`, () => this.keepalivedPid(node), 10_000, 50);
    this.tl.log(`keepalived ${node} started in ${this.net.nodeNs(this.index(node))} (pid ${pid}, priority ${this.priorities.get(node)})`);
    return pid;
  }

  /** SIGTERM to the node's keepalived (it removes the VIP, runs the STOP notifies, exits about 1 s later). */
  async stopKeepalived(node: string): Promise<void> {
    const pid = await this.keepalivedPid(node);
    if (!pid) return;
    signalOwn(pid, this.baseDir, 'SIGTERM');
    if (!(await waitPidGone(pid, 10_000))) {
      this.tl.log(`keepalived ${node} (pid ${pid}) ignored SIGTERM for 10 s: SIGKILL`);
      signalOwn(pid, this.baseDir, 'SIGKILL');
      await waitPidGone(pid, 5_000);
    }
    const child = await readPidFile(this.pidFile(node, 'vrrp'));
    if (child && pidAlive(child)) await waitPidGone(child, 5_000);
    this.tl.log(`keepalived ${node} stopped`);
  }

  /**
   * The node's host dies at once (shared/peers/keepalived/findings.md, c2 "real crash"): keepalived's main process is
   * stopped, its VRRP child and then it killed (-9: no priority-0 advert, no notify, the VIP left on the dead veth0),
   * the node's link cut at the bridge (nothing more from or to it), and its PostgreSQL postmaster, repmgrd and pgbouncer
   * killed -9. The other nodes' keepalived see its adverts stop and elect a MASTER after 3 x advert_int + skew.
   */
  async crashNode(node: string): Promise<void> {
    const main = await this.keepalivedPid(node);
    const child = await readPidFile(this.pidFile(node, 'vrrp'));
    if (main) signalOwn(main, this.baseDir, 'SIGSTOP');
    if (child) signalOwn(child, this.baseDir, 'SIGKILL');
    if (main) signalOwn(main, this.baseDir, 'SIGKILL');
    await this.net.setLink(this.index(node), false);
    const pgbouncer = await readPidFile(path.join(this.pgbouncerDir(node), 'pgbouncer.pid'));
    await Promise.all([
      this.repmgr.killPostmaster(node, { settle: false }),
      this.repmgr.killRepmgrd(node),
      pgbouncer && signalOwn(pgbouncer, this.baseDir, 'SIGKILL') ? waitPidGone(pgbouncer, 5_000) : null,
    ]);
    for (const pid of [child, main]) if (pid) await waitPidGone(pid, 5_000);
    this.tl.log(`${node} crashed: keepalived (pids ${main ?? '?'}, ${child ?? '?'}), postmaster, repmgrd and pgbouncer killed -9, its link cut`);
  }

  /**
   * The crashed node's host is back, rejoined before it serves (as an operator would bring it back): its link up, its
   * pgbouncer started, its PostgreSQL rejoined as a standby of the primary (`repmgr node rejoin --force-rewind`, repmgrd
   * started), then its keepalived (BACKUP at init; the restart drops the VIP the crash left on veth0).
   */
  async hostBack(node: string): Promise<void> {
    await this.net.setLink(this.index(node), true);
    // the killed pgbouncer left its UNIX socket behind
    await fsp.rm(path.join(this.baseDir, 'run', `.s.PGSQL.${this.pgbouncerPort(node)}`), { force: true });
    await this.startPgbouncer(node);
    await this.repmgr.rejoin(node);
    await this.startKeepalived(node);
  }

  /** Changes the node's configured priority and reloads its keepalived (SIGHUP), as an operator would. */
  async setPriority(node: string, priority: number): Promise<void> {
    this.priorities.set(node, priority);
    await this.writeConf(node);
    const pid = await this.keepalivedPid(node);
    if (!pid) throw new Error(`keepalived of ${node} is not running`);
    signalOwn(pid, this.baseDir, 'SIGHUP');
    this.tl.log(`keepalived ${node}: priority ${priority}, reloaded (SIGHUP to ${pid})`);
  }

  /** The nodes whose veth0 holds the VIP now (keepalived's MASTERs). */
  async vipHolders(): Promise<string[]> {
    const held = await Promise.all(this.nodes.map(async (n, i) => ((await this.net.addresses(i + 1)).includes(this.net.vip) ? n.name : null)));
    return held.filter((x): x is string => x !== null);
  }

  /** Waits until `node` alone holds the VIP (among the nodes not in `ignore`: a crashed one keeps it); returns when that was seen. */
  async waitVip(node: string, deadlineMs: number, signal?: AbortSignal, ignore: readonly string[] = []): Promise<number> {
    await waitUntil(`the VIP ${this.net.vip} on ${node} alone`, async () => {
      const holders = (await this.vipHolders()).filter((h) => !ignore.includes(h));
      if (holders.length !== 1 || holders[0] !== node) throw new Error(`held by ${holders.join(', ') || 'nobody'}`);
      return true;
    }, deadlineMs, { intervalMs: 50, signal });
    return Date.now();
  }

  // ------------------------------------------------------------------ PostgreSQL / repmgr (delegated)

  inRecovery(node: string): Promise<boolean | null> {
    return this.repmgr.inRecovery(node);
  }

  processes(): ProcInfo[] {
    return processesOf(this.baseDir);
  }

  async collectLogs(destDir: string): Promise<string[]> {
    const copied = await this.repmgr.collectLogs(destDir);
    for (const n of this.nodes) {
      for (const f of ['keepalived.log', 'keepalived.conf']) {
        const rel = path.join('keepalived', n.name, f);
        await fsp.mkdir(path.join(destDir, 'keepalived', n.name), { recursive: true });
        if (await fsp.copyFile(path.join(this.baseDir, rel), path.join(destDir, rel)).then(() => true, () => false)) copied.push(rel);
      }
    }
    return copied;
  }

  /** keepalived (SIGTERM), pgbouncer, then the repmgr cluster (everything of the base dir), then the namespaces. */
  destroy(): Promise<void> {
    if (!this.destroying) {
      this.destroying = this.tl.step('destroy keepalived cluster', async () => {
        await Promise.all(this.nodes.map((n) => this.stopKeepalived(n.name).catch((e) => this.tl.log(`stop keepalived ${n.name}: ${errMsg(e)}`))));
        for (const n of this.nodes) {
          const pid = await readPidFile(path.join(this.pgbouncerDir(n.name), 'pgbouncer.pid'));
          if (pid && signalOwn(pid, this.baseDir, 'SIGTERM')) await waitPidGone(pid, 5_000);
        }
        try {
          await this.repmgr.destroy();
        } finally {
          await this.net.destroy();
        }
      });
    }
    return this.destroying;
  }
}
