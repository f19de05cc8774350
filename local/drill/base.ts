/** Shared plumbing of RepmgrCluster and PatroniCluster. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { HookCall, HookWiring, NodeInfo, materializeHookCommand, readHookCalls, waitForHookCall, writeHookConfig, writeHookFiles } from './hook';
import {
  LOOPBACK,
  LogFn,
  PG_BIN,
  PgRunner,
  ProcInfo,
  Timeline,
  TimingEntry,
  killAllOf,
  pidBelongsTo,
  processesOf,
  readPidFile,
  registerForExitCleanup,
  signalOwn,
  waitPidGone,
  waitUntil,
} from './util';

export abstract class ClusterBase {
  protected readonly runner: PgRunner;
  protected readonly tl: Timeline;
  protected hookArgv: string[] = [];
  private readonly cleanupEntry: { baseDir: string; destroyed: boolean };
  private destroying: Promise<void> | undefined;

  protected constructor(
    readonly baseDir: string,
    label: string,
    log: LogFn | undefined,
  ) {
    this.runner = new PgRunner(baseDir);
    this.tl = new Timeline(label, log);
    this.cleanupEntry = { baseDir, destroyed: false };
    registerForExitCleanup(this.cleanupEntry);
  }

  /** The hook's argv as the cluster's tools run it (built-in scripts and unreadable paths copied into `<base>/bin/`). */
  get hookCommand(): readonly string[] {
    return this.hookArgv;
  }

  /** Durations of the named steps so far (build steps, failovers, teardown). */
  get timings(): readonly TimingEntry[] {
    return this.tl.timings;
  }

  /** Logs a line on this cluster's timeline. */
  log(msg: string): void {
    this.tl.log(msg);
  }

  protected abstract allNodes(): NodeInfo[];
  /** Gracefully stops everything of the cluster (called once by destroy). */
  protected abstract stopAll(): Promise<void>;

  get destroyed(): boolean {
    return this.cleanupEntry.destroyed;
  }

  protected node(name: string): NodeInfo {
    const n = this.allNodes().find((x) => x.name === name);
    if (!n) throw new Error(`unknown node ${name} (have ${this.allNodes().map((x) => x.name).join(', ')})`);
    return n;
  }

  protected async setupHook(hook: HookWiring): Promise<void> {
    await writeHookFiles(this.baseDir, hook.files);
    this.hookArgv = await materializeHookCommand(this.runner, hook.command);
    for (const n of this.allNodes()) await writeHookConfig(hook, n);
  }

  /** Runs one SQL statement on a node as postgres over TCP; returns trimmed unaligned output. */
  async psql(node: string, sql: string, opts: { timeoutMs?: number; dbname?: string } = {}): Promise<string> {
    const n = this.node(node);
    const r = await this.runner.run(
      [`${PG_BIN}/psql`, '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', LOOPBACK, '-p', String(n.port), '-U', 'postgres', '-d', opts.dbname ?? 'postgres', '-c', sql],
      { timeoutMs: opts.timeoutMs ?? 10_000, env: { PGCONNECT_TIMEOUT: '2' } },
    );
    return r.stdout.trim();
  }

  /** Like psql() but returns null when the node is unreachable or the query fails. */
  async tryPsql(node: string, sql: string, timeoutMs = 5_000): Promise<string | null> {
    try {
      return await this.psql(node, sql, { timeoutMs });
    } catch {
      return null;
    }
  }

  /** true = in recovery (standby), false = primary, null = unreachable. */
  async inRecovery(node: string): Promise<boolean | null> {
    const r = await this.tryPsql(node, 'SELECT pg_is_in_recovery()');
    return r === 't' ? true : r === 'f' ? false : null;
  }

  /** Timeline: walfile-derived on a primary, pg_stat_wal_receiver.received_tli on a standby (checkpoint TLI if not streaming). */
  async timeline(node: string): Promise<number> {
    const rec = await this.inRecovery(node);
    if (rec === null) throw new Error(`timeline(${node}): node unreachable`);
    const sql = rec
      ? 'SELECT coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))'
      : "SELECT ('x'||substr(pg_walfile_name(pg_current_wal_lsn()),1,8))::bit(32)::int";
    const v = Number(await this.psql(node, sql));
    if (!Number.isInteger(v) || v <= 0) throw new Error(`timeline(${node}): unexpected value`);
    return v;
  }

  /** pg_control_system().system_identifier of the first reachable node. */
  async systemIdentifier(): Promise<string> {
    for (const n of this.allNodes()) {
      const v = await this.tryPsql(n.name, 'SELECT system_identifier::text FROM pg_control_system()');
      if (v) return v;
    }
    throw new Error('systemIdentifier(): no node reachable');
  }

  /** Node names that answer pg_is_in_recovery() = false. */
  protected async primaries(): Promise<{ primaries: string[]; states: Record<string, boolean | null> }> {
    const states: Record<string, boolean | null> = {};
    await Promise.all(this.allNodes().map(async (n) => (states[n.name] = await this.inRecovery(n.name))));
    return { primaries: this.allNodes().filter((n) => states[n.name] === false).map((n) => n.name), states };
  }

  protected async postmasterPid(node: string): Promise<number | null> {
    const pid = await readPidFile(`${this.node(node).dataDir}/postmaster.pid`);
    return pid && pidBelongsTo(pid, this.baseDir) ? pid : null;
  }

  /** kill -9 the node's postmaster (pid from postmaster.pid, checked to belong to this cluster). */
  async killPostmaster(node: string): Promise<number> {
    const pid = await this.postmasterPid(node);
    if (!pid) throw new Error(`killPostmaster(${node}): postmaster not running`);
    signalOwn(pid, this.baseDir, 'SIGKILL');
    this.tl.log(`kill -9 postmaster of ${node} (pid ${pid})`);
    if (!(await waitPidGone(pid, 10_000))) throw new Error(`postmaster ${pid} of ${node} survived SIGKILL`);
    return pid;
  }

  /** Stops a process from a pid file (only if it belongs to this cluster): `sig`, then SIGKILL after `graceMs`. */
  protected async stopPidFile(pidFile: string, sig: NodeJS.Signals, graceMs: number): Promise<void> {
    const pid = await readPidFile(pidFile);
    if (!pid || !signalOwn(pid, this.baseDir, sig)) return;
    if (await waitPidGone(pid, graceMs)) return;
    this.tl.log(`pid ${pid} (${pidFile}) ignored ${sig} for ${graceMs} ms, sending SIGKILL`);
    signalOwn(pid, this.baseDir, 'SIGKILL');
    await waitPidGone(pid, 5_000);
  }

  /** Recorded hook calls (only meaningful with the recording hook). */
  hookCalls(): Promise<HookCall[]> {
    return readHookCalls(this.baseDir);
  }

  waitForHookCall(pred: (c: HookCall) => boolean, deadlineMs: number, what?: string): Promise<HookCall> {
    return waitForHookCall(this.baseDir, pred, deadlineMs, what);
  }

  /**
   * Copies every log of the cluster (daemon logs, PostgreSQL server logs, command outputs,
   * hook-calls.jsonl, ssh-shim.log) into `destDir`, keeping the relative layout. Call it before
   * destroy() when a drill fails.
   */
  async collectLogs(destDir: string): Promise<string[]> {
    const copied: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      const abs = path.join(this.baseDir, rel);
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fsp.readdir(abs, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const r = path.join(rel, e.name);
        if (e.isDirectory()) {
          // inside a data dir only its log/ folder is interesting
          if (/(^|\/)data$/.test(rel) && e.name !== 'log') continue;
          await walk(r);
        } else if (e.isFile() && /\.(log|jsonl|json|conf|yml|out|err|argv)$|(^|\/)log\/[^/]+$/.test(r) && !/\/data\/[^/]+\.conf$/.test(r)) {
          await fsp.mkdir(path.join(destDir, rel), { recursive: true });
          await fsp.copyFile(path.join(this.baseDir, r), path.join(destDir, r)).catch(() => undefined);
          copied.push(r);
        }
      }
    };
    await walk('');
    return copied;
  }

  /** Live processes that belong to this cluster (cmdline or cwd inside the base dir). */
  processes(): ProcInfo[] {
    return processesOf(this.baseDir);
  }

  /**
   * Idempotent teardown: graceful stop of every daemon from its pid file, then SIGKILL of any
   * remaining process of this base dir (and only of it), then removal of the base dir.
   */
  destroy(): Promise<void> {
    if (!this.destroying) {
      this.destroying = this.tl.step('destroy', async () => {
        try {
          await this.stopAll();
        } catch (e) {
          this.tl.log(`graceful stop failed, killing: ${e instanceof Error ? e.message : String(e)}`);
        }
        const killed = await killAllOf(this.baseDir, 15_000);
        if (killed.length) this.tl.log(`killed leftovers: ${killed.map((p) => `${p.pid} ${p.cmdline.slice(0, 80)}`).join('; ')}`);
        await fsp.rm(this.baseDir, { recursive: true, force: true });
        this.cleanupEntry.destroyed = true;
      });
    }
    return this.destroying;
  }

  protected waitUntil<T>(what: string, fn: () => Promise<T | undefined | null | false>, deadlineMs: number, intervalMs = 200): Promise<T> {
    return waitUntil(what, fn, deadlineMs, intervalMs);
  }
}
