/**
 * A real Patroni 3.0.2 cluster (PostgreSQL 15) with one etcd 3.4 (v3 API) on 127.0.0.1,
 * built in a private base dir and torn down by pid files.
 */
import * as fsp from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { ClusterBase } from './base';
import { HookWiring, NodeInfo } from './hook';
import { FatalWaitError, LOOPBACK, LogFn, PG_BIN, errMsg, freePorts, makeBaseDir, mkdirOwned, pidBelongsTo, readPidFile, shQuote, signalOwn, waitPidGone, writeOwned } from './util';

export interface PatroniDcsTiming {
  /** leader lock TTL in seconds (failover after a hard kill takes about this long) */
  ttl: number;
  loop_wait: number;
  retry_timeout: number;
}

export interface PatroniClusterOptions {
  /** number of members pg1..pgN (pg1 bootstraps and is the first leader); default 3 */
  members?: number;
  hook: HookWiring;
  log?: LogFn;
  /** Patroni scope (cluster name); default `drill-<random>` */
  scope?: string;
  /** DCS timing; default ttl 6, loop_wait 1, retry_timeout 2 (loop_wait + 2*retry_timeout <= ttl) */
  dcs?: Partial<PatroniDcsTiming>;
  /** deadline for the whole build; default 120 s */
  buildDeadlineMs?: number;
}

export interface PatroniMemberStatus {
  name: string;
  role: string;
  state: string;
  timeline?: number;
  host?: string;
  port?: number;
  lag?: number | string;
}

interface HttpResult {
  status: number;
  body: unknown;
}

/** GET http://127.0.0.1:port/path without connection pooling (nothing left open for jest). */
function httpGet(port: number, p: string, timeoutMs = 1_500): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: LOOPBACK, port, path: p, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not json */
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET :${port}${p} timed out`)));
    req.on('error', reject);
  });
}

const LEADER_ROLES = new Set(['leader', 'master', 'primary']);

export class PatroniCluster extends ClusterBase {
  readonly members: NodeInfo[];
  readonly scope: string;
  readonly etcdPort: number;
  readonly dcs: PatroniDcsTiming;
  private readonly etcdPeerPort: number;

  private constructor(
    baseDir: string,
    members: NodeInfo[],
    scope: string,
    etcdPorts: [number, number],
    dcs: PatroniDcsTiming,
    log: LogFn | undefined,
  ) {
    super(baseDir, `patroni ${scope}`, log);
    this.members = members;
    this.scope = scope;
    this.etcdPort = etcdPorts[0];
    this.etcdPeerPort = etcdPorts[1];
    this.dcs = dcs;
  }

  protected allNodes(): NodeInfo[] {
    return this.members;
  }

  static async create(opts: PatroniClusterOptions): Promise<PatroniCluster> {
    const count = opts.members ?? 3;
    if (!Number.isInteger(count) || count < 1) throw new Error('members must be a positive integer');
    const dcs: PatroniDcsTiming = { ttl: 6, loop_wait: 1, retry_timeout: 2, ...opts.dcs };
    if (dcs.loop_wait + 2 * dcs.retry_timeout > dcs.ttl) throw new Error(`dcs timing: loop_wait + 2*retry_timeout must be <= ttl (${JSON.stringify(dcs)})`);
    const baseDir = await makeBaseDir();
    const ports = await freePorts(2 + 2 * count);
    const members: NodeInfo[] = [];
    for (let i = 0; i < count; i++) {
      const name = `pg${i + 1}`;
      const dir = path.join(baseDir, name);
      members.push({ name, id: i + 1, port: ports[2 + 2 * i]!, restPort: ports[3 + 2 * i]!, dataDir: path.join(dir, 'data'), dir, kind: 'patroni', baseDir });
    }
    const scope = opts.scope ?? `drill-${path.basename(baseDir).slice(-6).toLowerCase()}`;
    const c = new PatroniCluster(baseDir, members, scope, [ports[0]!, ports[1]!], dcs, opts.log);
    c.log(`base dir ${baseDir}, etcd ${c.etcdPort}, ${members.map((m) => `${m.name}=pg:${m.port}/rest:${m.restPort}`).join(' ')}`);
    try {
      await c.tl.step('build', () => c.build(opts));
    } catch (e) {
      await c.destroy().catch((d) => c.log(`destroy after failed build also failed: ${errMsg(d)}`));
      throw e;
    }
    return c;
  }

  // ------------------------------------------------------------------ build

  private async build(opts: PatroniClusterOptions): Promise<void> {
    const deadline = Date.now() + (opts.buildDeadlineMs ?? 120_000);
    const left = () => Math.max(1_000, deadline - Date.now());
    await mkdirOwned(path.join(this.baseDir, 'etcd'), 0o700);
    for (const m of this.members) await mkdirOwned(m.dir, 0o755);
    await this.setupHook(opts.hook);
    for (const m of this.members) await writeOwned(this.ymlPath(m.name), this.patroniYml(m), 0o600);

    await this.tl.step('start etcd', async () => {
      await this.startEtcd();
      await this.waitUntil(
        'etcd /health',
        async () => {
          const r = await httpGet(this.etcdPort, '/health');
          return r.status === 200 && (r.body as { health?: string }).health === 'true';
        },
        left(),
        100,
      );
    });
    const [first, ...rest] = this.members;
    if (!first) throw new Error('no members');
    await this.tl.step(`bootstrap ${first.name}`, async () => {
      await this.startPatroni(first.name);
      await this.waitUntil(
        `${first.name} leader (GET /primary = 200)`,
        async () => {
          await this.assertDaemonsAlive([first.name]);
          return (await httpGet(first.restPort!, '/primary')).status === 200;
        },
        left(),
        200,
      );
    });
    await this.tl.step(`start ${rest.map((m) => m.name).join(', ') || 'no replicas'}`, async () => {
      await Promise.all(rest.map((m) => this.startPatroni(m.name)));
      await this.waitHealthy(left(), undefined, true);
    });
  }

  ymlPath(member: string): string {
    return path.join(this.node(member).dir, 'patroni.yml');
  }

  private patroniYml(m: NodeInfo): string {
    const hookCmd = [...this.hookArgv, '--config', path.join(m.dir, 'hook.json'), 'patroni'].map(shQuote).join(' ');
    const hba = ['local all all trust', 'host all all 127.0.0.1/32 trust', 'host replication all 127.0.0.1/32 trust'];
    const cfg = {
      scope: this.scope,
      namespace: '/service/',
      name: m.name,
      log: { level: 'INFO' },
      restapi: { listen: `${LOOPBACK}:${m.restPort}`, connect_address: `${LOOPBACK}:${m.restPort}` },
      etcd3: { hosts: `${LOOPBACK}:${this.etcdPort}`, protocol: 'http' },
      bootstrap: {
        dcs: {
          ttl: this.dcs.ttl,
          loop_wait: this.dcs.loop_wait,
          retry_timeout: this.dcs.retry_timeout,
          maximum_lag_on_failover: 1048576,
          postgresql: {
            use_pg_rewind: true,
            use_slots: true,
            parameters: {
              wal_level: 'replica',
              hot_standby: 'on',
              wal_log_hints: 'on',
              max_wal_senders: 10,
              max_replication_slots: 10,
              max_connections: 40,
              wal_keep_size: '64MB',
            },
          },
        },
        initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, 'data-checksums', 'no-sync'],
        pg_hba: hba,
      },
      postgresql: {
        listen: `${LOOPBACK}:${m.port}`,
        connect_address: `${LOOPBACK}:${m.port}`,
        data_dir: m.dataDir,
        bin_dir: PG_BIN,
        pgpass: path.join(m.dir, 'pgpass'),
        authentication: {
          superuser: { username: 'postgres', password: 'postgres' },
          replication: { username: 'replicator', password: 'replicator' },
          rewind: { username: 'rewinder', password: 'rewinder' },
        },
        parameters: {
          unix_socket_directories: path.join(this.baseDir, 'run'),
          shared_buffers: '16MB',
          fsync: 'off',
          wal_retrieve_retry_interval: '1s',
          logging_collector: 'on',
          log_directory: 'log',
          log_line_prefix: '%m [%p] ',
        },
        basebackup: [{ checkpoint: 'fast' }],
        pg_hba: hba,
        callbacks: {
          on_start: hookCmd,
          on_stop: hookCmd,
          on_restart: hookCmd,
          on_reload: hookCmd,
          on_role_change: hookCmd,
        },
      },
    };
    return toYaml(cfg);
  }

  private async startEtcd(): Promise<void> {
    const dir = path.join(this.baseDir, 'etcd');
    const client = `http://${LOOPBACK}:${this.etcdPort}`;
    const peer = `http://${LOOPBACK}:${this.etcdPeerPort}`;
    const argv = [
      '/usr/bin/etcd',
      '--name', 'e1',
      '--data-dir', path.join(dir, 'data'),
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `e1=${peer}`,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', path.basename(this.baseDir),
      '--unsafe-no-fsync',
    ];
    const pid = await this.runner.startDaemon(argv, path.join(dir, 'etcd.pid'), path.join(dir, 'etcd.log'), dir);
    this.log(`etcd started (pid ${pid}, client port ${this.etcdPort})`);
  }

  private patroniPidFile(member: string): string {
    return path.join(this.node(member).dir, 'patroni.pid');
  }

  private async startPatroni(member: string): Promise<number> {
    const m = this.node(member);
    const pid = await this.runner.startDaemon(['/usr/bin/patroni', this.ymlPath(member)], this.patroniPidFile(member), path.join(m.dir, 'patroni.log'), m.dir);
    this.log(`patroni ${member} started (pid ${pid})`);
    return pid;
  }

  /** Throws FatalWaitError (with the tail of its log) if the Patroni of a member, or etcd, is not running. */
  private async assertDaemonsAlive(members: string[]): Promise<void> {
    const check = async (pidFile: string, logFile: string, what: string) => {
      const pid = await readPidFile(pidFile);
      if (pid && pidBelongsTo(pid, this.baseDir)) return;
      let tail = '';
      try {
        tail = (await fsp.readFile(logFile, 'utf8')).trim().split('\n').slice(-15).join('\n');
      } catch {
        /* no log */
      }
      throw new FatalWaitError(`${what} is not running (pid ${pid ?? '-'}); last log lines:\n${tail}`);
    };
    await check(path.join(this.baseDir, 'etcd', 'etcd.pid'), path.join(this.baseDir, 'etcd', 'etcd.log'), 'etcd');
    for (const m of members) await check(this.patroniPidFile(m), path.join(this.node(m).dir, 'patroni.log'), `patroni ${m}`);
  }

  /** Runs `patronictl -c <member's yml> args...` as postgres. */
  async patronictl(member: string, args: string[], timeoutMs = 60_000) {
    return this.runner.run(['/usr/bin/patronictl', '-c', this.ymlPath(member), ...args], { timeoutMs, cwd: this.node(member).dir });
  }

  // ------------------------------------------------------------------ state

  /** GET /cluster from the first member whose REST API answers. */
  async clusterStatus(): Promise<PatroniMemberStatus[]> {
    let last: unknown;
    for (const m of this.members) {
      try {
        const r = await httpGet(m.restPort!, '/cluster');
        if (r.status === 200) return ((r.body as { members?: PatroniMemberStatus[] }).members ?? []) as PatroniMemberStatus[];
        last = `HTTP ${r.status}`;
      } catch (e) {
        last = e;
      }
    }
    throw new Error(`no member REST API answers /cluster: ${errMsg(last)}`);
  }

  /** GET /patroni of one member (throws if its REST API is down). */
  async memberStatus(member: string): Promise<Record<string, unknown>> {
    const r = await httpGet(this.node(member).restPort!, '/patroni');
    return r.body as Record<string, unknown>;
  }

  /** The running leader according to REST /cluster (falls back to pg_is_in_recovery if no REST API answers). */
  async leader(): Promise<string | null> {
    let status: PatroniMemberStatus[];
    try {
      status = await this.clusterStatus();
    } catch {
      const { primaries, states } = await this.primaries();
      if (primaries.length > 1) throw new Error(`more than one primary: ${JSON.stringify(states)}`);
      return primaries[0] ?? null;
    }
    const leaders = status.filter((s) => LEADER_ROLES.has(s.role) && s.state === 'running');
    if (leaders.length > 1) throw new Error(`more than one leader in /cluster: ${JSON.stringify(status)}`);
    return leaders[0]?.name ?? null;
  }

  /** Node names where pg_is_in_recovery() is false (independent of Patroni's view). */
  async pgPrimaries(): Promise<string[]> {
    return (await this.primaries()).primaries;
  }

  /**
   * Waits until all members are `running` in /cluster with exactly one leader that is really
   * a primary, and every replica streams from it (pg_stat_replication state `streaming`).
   */
  async waitHealthy(deadlineMs = 60_000, expectedMembers: string[] = this.members.map((m) => m.name), failFastIfDead = false): Promise<string> {
    return this.waitUntil(
      `patroni members ${expectedMembers.join(',')} running and streaming`,
      async () => {
        if (failFastIfDead) await this.assertDaemonsAlive(expectedMembers);
        const st = await this.clusterStatus();
        const bad = expectedMembers.filter((n) => st.find((s) => s.name === n)?.state !== 'running');
        if (bad.length) throw new Error(`not running: ${bad.join(', ')}; /cluster ${JSON.stringify(st)}`);
        const leaders = st.filter((s) => LEADER_ROLES.has(s.role));
        if (leaders.length !== 1) throw new Error(`leaders: ${JSON.stringify(st)}`);
        const leader = leaders[0]!.name;
        if ((await this.inRecovery(leader)) !== false) throw new Error(`${leader} is leader in /cluster but not a primary yet`);
        const repl = await this.psql(leader, 'SELECT application_name, state FROM pg_stat_replication');
        const streaming = new Set(repl.split('\n').filter((l) => l.endsWith('|streaming')).map((l) => l.split('|')[0]));
        const missing = expectedMembers.filter((n) => n !== leader && !streaming.has(n));
        if (missing.length) throw new Error(`not streaming from ${leader}: ${missing.join(', ')}`);
        return leader;
      },
      deadlineMs,
      250,
    );
  }

  /** Polls until a member other than `notMember` is the running leader and a real primary. */
  async waitForLeader(notMember: string, deadlineMs: number): Promise<string> {
    const start = Date.now();
    const l = await this.waitUntil(
      `a leader other than ${notMember}`,
      async () => {
        const leader = await this.leader();
        if (!leader || leader === notMember) throw new Error(`leader is ${leader}`);
        return (await this.inRecovery(leader)) === false ? leader : null;
      },
      deadlineMs,
      100,
    );
    this.tl.timings.push({ step: `waitForLeader(not ${notMember}) -> ${l}`, ms: Date.now() - start });
    this.log(`new leader ${l} after ${((Date.now() - start) / 1000).toFixed(3)}s of waiting`);
    return l;
  }

  // ------------------------------------------------------------------ drill operations

  /** `patronictl switchover --leader <current> --candidate <candidate> --force`, then waits until healthy with the candidate as leader. */
  async switchover(candidate: string, deadlineMs = 90_000): Promise<void> {
    this.node(candidate);
    await this.tl.step(`switchover to ${candidate}`, async () => {
      const end = Date.now() + deadlineMs;
      const left = () => Math.max(1_000, end - Date.now());
      const leader = await this.waitHealthy(left());
      if (leader === candidate) throw new Error(`switchover: ${candidate} is already the leader`);
      const t0 = Date.now();
      await this.patronictl(leader, ['switchover', this.scope, '--leader', leader, '--candidate', candidate, '--force'], left());
      this.log(`patronictl switchover returned after ${((Date.now() - t0) / 1000).toFixed(3)}s`);
      const now = await this.waitHealthy(left());
      if (now !== candidate) throw new Error(`switchover: leader is ${now}, expected ${candidate}`);
    });
  }

  /** kill -9 the leader's postmaster, then its Patroni. Returns the killed member. */
  async killLeaderHard(): Promise<string> {
    const leader = await this.leader();
    if (!leader) throw new Error('killLeaderHard: no leader');
    const pmPid = await this.postmasterPid(leader);
    const patroniPid = await readPidFile(this.patroniPidFile(leader));
    if (pmPid) signalOwn(pmPid, this.baseDir, 'SIGKILL');
    if (patroniPid) signalOwn(patroniPid, this.baseDir, 'SIGKILL');
    this.log(`kill -9 ${leader}: postmaster ${pmPid ?? '-'}, patroni ${patroniPid ?? '-'}`);
    for (const pid of [pmPid, patroniPid]) {
      if (pid && !(await waitPidGone(pid, 10_000))) throw new Error(`pid ${pid} of ${leader} survived SIGKILL`);
    }
    return leader;
  }

  /** kill -9 only the postmaster of a member (Patroni stays up and recovers it). */
  override async killPostmaster(member: string): Promise<number> {
    return super.killPostmaster(member);
  }

  /** Starts the member's Patroni again (pg_rewind / rejoin happen on their own) and waits until it runs as a streaming replica. */
  async restartMember(member: string, deadlineMs = 90_000): Promise<void> {
    await this.tl.step(`restart member ${member}`, async () => {
      const pid = await readPidFile(this.patroniPidFile(member));
      if (pid && pidBelongsTo(pid, this.baseDir)) throw new Error(`restartMember(${member}): patroni still running (pid ${pid})`);
      await this.startPatroni(member);
      await this.waitUntil(
        `${member} running as replica`,
        async () => {
          await this.assertDaemonsAlive([member]);
          const st = (await this.clusterStatus()).find((s) => s.name === member);
          if (!st || st.state !== 'running' || LEADER_ROLES.has(st.role)) throw new Error(`${member}: ${JSON.stringify(st)}`);
          return (await this.inRecovery(member)) === true;
        },
        deadlineMs,
        200,
      );
      await this.waitHealthy(deadlineMs);
    });
  }

  /** Stops one member's Patroni gracefully (SIGTERM: Patroni stops its PostgreSQL, then runs on_stop). */
  async stopMember(member: string, graceMs = 30_000): Promise<void> {
    await this.stopPidFile(this.patroniPidFile(member), 'SIGTERM', graceMs);
  }

  // ------------------------------------------------------------------ teardown

  protected async stopAll(): Promise<void> {
    // all members at once: a Patroni that got SIGTERM runs no more HA cycles, so no replica
    // promotes itself while the leader goes down
    await Promise.all(this.members.map((m) => this.stopMember(m.name)));
    await this.stopPidFile(path.join(this.baseDir, 'etcd', 'etcd.pid'), 'SIGTERM', 10_000);
  }
}
