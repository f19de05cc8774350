/**
 * A client that follows the endpoint, as an application behind the VIP would, and what it saw:
 *
 *  - it writes one row, waits 50 ms, writes the next (one statement in flight, a short connect / statement bound) through
 *    whatever the endpoint points at NOW: the node named by the route table for the VIP in the local AWS endpoint's
 *    state (ENI → node), reached where a client of that tool connects (its PostgreSQL port on 127.0.0.1, its pgbouncer,
 *    its pgpool). When the route moves, the write in flight to the old node is abandoned (on AWS the old TCP
 *    connection is reset once the route points elsewhere) and the next one goes to the new node.
 *  - every acknowledged write reports the server that committed it (`current_setting('port')`), its
 *    `pg_is_in_recovery()` and its timeline;
 *  - a tracker polls `pg_is_in_recovery()` (and the timeline of a primary) on every PostgreSQL server every 100 ms.
 *
 * The primary at a moment is the server out of recovery on the newest timeline seen so far — by the tracker or by an
 * acknowledged write —; the first server seen out of recovery on that timeline keeps it. A write is acknowledged by a
 * non-primary when, at its acknowledgement, its server's timeline was older than that newest one, or the same timeline
 * held by another server: an old primary still writable after a promotion, the split brain vipswitch prevents. The
 * drill reports their number per scenario (0 expected) and the client-visible write outage: from the last write
 * acknowledged through the old endpoint node to the first through the new one (no move: the longest gap between two
 * acknowledged writes).
 */
import { spawn } from 'node:child_process';
import { endpointView } from '../../endpoint-view';
import type { LocalStack } from '../../stack';
import { AbortedError, PG_BIN, errMsg, waitUntil, type Timeline } from '../util';
import { PsqlSession, type PsqlTarget, type StatementResult } from './psql-session';
import type { Registration } from './register-drill-cluster';

export const WRITE_TABLE = 'vipswitch_drill_writes';
export const WRITE_INTERVAL_MS = 50;
/** Connect + statement bound of one write (libpq's connect_timeout has a 2 s floor; the client's own timer is this). */
export const WRITE_TIMEOUT_MS = 1000;
const TRACK_INTERVAL_MS = 100;
const TRACK_TIMEOUT_MS = 800;

/** A PostgreSQL server of the cluster, by the name the drill reports (a node, or a Pgpool-II backend). */
export interface PgServer {
  name: string;
  port: number;
}

/** Where a client reaches an endpoint node (its PostgreSQL, its pgbouncer, its pgpool). */
export interface ClientTarget extends PsqlTarget {
  /** the endpoint node */
  node: string;
  /** what it is, for the log: `postgresql`, `pgbouncer`, `pgpool` */
  kind: string;
}

export interface WriteRecord {
  seq: number;
  sentAt: number;
  doneAt: number;
  /** the endpoint node written through (null: the endpoint pointed nowhere) */
  via: string | null;
  ok: boolean;
  /** acknowledged: the PostgreSQL server that committed it, its timeline */
  server?: string;
  timeline?: number;
  /** acknowledged by a server that was not the primary at that moment */
  nonPrimary?: boolean;
  error?: string;
}

/** A change of "the primary at that moment" (newest timeline seen out of recovery). */
export interface PrimaryEpoch {
  at: number;
  server: string;
  timeline: number;
  /** what showed it: the tracker's poll or a write's acknowledgement */
  from: 'tracker' | 'write';
}

/** The statement each write runs: the row, then who committed it. */
export function writeStatement(seq: number, via: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(via)) throw new Error(`unexpected node name ${via}`);
  return (
    `INSERT INTO ${WRITE_TABLE} (seq, via) VALUES (${Math.floor(seq)}, '${via}') ` +
    `RETURNING current_setting('port'), pg_is_in_recovery(), ('x'||substr(pg_walfile_name(pg_current_wal_lsn()),1,8))::bit(32)::int`
  );
}

export const CREATE_WRITE_TABLE = `CREATE TABLE IF NOT EXISTS ${WRITE_TABLE} (seq bigint NOT NULL, via text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`;

const TRACK_STATEMENT =
  "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN 0 ELSE ('x'||substr(pg_walfile_name(pg_current_wal_lsn()),1,8))::bit(32)::int END";

/** The node the route table for the cluster's VIP points at in the local AWS endpoint (the first listed table). */
export function routeTarget(stack: LocalStack, reg: Registration): string | null {
  const view = endpointView(stack.aws.state(), reg.endpoints);
  const eni = view.routes[0]?.eni ?? null;
  return reg.nodes.find((n) => n.eni === eni)?.name ?? null;
}

/**
 * The primary at each moment, from the tracker's polls and the writes' acknowledgements (see the file's comment).
 * `observe` returns whether `server` on `timeline`, out of recovery at `at`, is the primary then.
 */
export class PrimaryHistory {
  readonly epochs: PrimaryEpoch[] = [];

  observe(at: number, server: string, timeline: number, from: PrimaryEpoch['from']): boolean {
    const current = this.epochs.at(-1);
    if (!current || timeline > current.timeline) {
      this.epochs.push({ at, server, timeline, from });
      return true;
    }
    return timeline === current.timeline && server === current.server;
  }

  /** The primary at `at` (null before the first one was seen). */
  at(at: number): PrimaryEpoch | null {
    return [...this.epochs].reverse().find((e) => e.at <= at) ?? null;
  }
}

export interface WriteClientOptions {
  /** the endpoint node now (null: nowhere) */
  endpoint: () => string | null;
  /** where a client reaches that node */
  targetOf: (node: string) => ClientTarget;
  /** every PostgreSQL server of the cluster, polled by the tracker and named in acknowledgements */
  servers: PgServer[];
  tl: Timeline;
  intervalMs?: number;
  timeoutMs?: number;
}

/** The client and its tracker; both run until {@link stop}. */
export class WriteClient {
  readonly writes: WriteRecord[] = [];
  readonly history = new PrimaryHistory();
  readonly samples: { at: number; server: string; inRecovery: boolean | null; timeline: number | null }[] = [];
  private readonly sessions = new Map<string, PsqlSession>();
  private readonly trackers: Map<string, PsqlSession>;
  private readonly stopper = new AbortController();
  private loops: Promise<void>[] = [];
  private seq = 0;
  /** connections of sessions already closed (the endpoint moved away from their node) */
  private retired = 0;
  private lastState = '';
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: WriteClientOptions) {
    this.intervalMs = opts.intervalMs ?? WRITE_INTERVAL_MS;
    this.timeoutMs = opts.timeoutMs ?? WRITE_TIMEOUT_MS;
    this.trackers = new Map(opts.servers.map((s) => [s.name, new PsqlSession({ host: '127.0.0.1', port: s.port, dbname: 'postgres', user: 'postgres' }, { connectTimeoutS: 2, appName: 'vipswitch-drill-tracker' })]));
  }

  /** psql processes started so far (client and tracker): one per connection. */
  get connections(): number {
    return [...this.sessions.values(), ...this.trackers.values()].reduce((n, s) => n + s.spawned, this.retired);
  }

  start(): void {
    const loop = (what: string, intervalMs: number, tick: () => Promise<unknown>) =>
      waitUntil(what, async () => (await tick(), false), Number.POSITIVE_INFINITY, { intervalMs, signal: this.stopper.signal }).then(
        () => undefined,
        (e) => {
          if (!(e instanceof AbortedError)) this.opts.tl.log(`write client: ${what} stopped: ${errMsg(e)}`);
        },
      );
    this.loops = [loop('the writes', this.intervalMs, () => this.writeOnce()), ...this.opts.servers.map((s) => loop(`the tracker of ${s.name}`, TRACK_INTERVAL_MS, () => this.track(s)))];
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    await Promise.all([...this.sessions.values(), ...this.trackers.values()].map((s) => s.close('the drill ended')));
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Waits until a write was acknowledged at or after `since` (the client is up and the endpoint serves). */
  waitForAck(since: number, deadlineMs: number, signal?: AbortSignal): Promise<WriteRecord> {
    return waitUntil('the write client to get a write acknowledged', () => this.writes.find((w) => w.ok && w.doneAt >= since), deadlineMs, { intervalMs: this.intervalMs, signal });
  }

  /** One write through the endpoint as it is now; returns when it is answered or abandoned (the loop pauses 50 ms). */
  private async writeOnce(): Promise<void> {
    const sentAt = Date.now();
    const via = this.opts.endpoint();
    const seq = ++this.seq;
    let rec: WriteRecord;
    if (via === null) {
      rec = { seq, sentAt, doneAt: sentAt, via, ok: false, error: 'the endpoint points at no node' };
    } else {
      for (const [node, s] of this.sessions) {
        if (node === via) continue;
        this.retired += s.spawned;
        void s.close('the endpoint moved');
        this.sessions.delete(node);
      }
      const target = this.opts.targetOf(via);
      let session = this.sessions.get(via);
      if (!session) {
        session = new PsqlSession(target, { connectTimeoutS: 2, statementTimeoutMs: this.timeoutMs, appName: 'vipswitch-drill-client' });
        this.sessions.set(via, session);
      }
      const s = session;
      // abandon the write when the route moves while it runs (on AWS the old connection is reset once the route points
      // elsewhere); the watch ends with the write
      const done = new AbortController();
      const watch = waitUntil('the endpoint to move', () => this.opts.endpoint() !== via, Number.POSITIVE_INFINITY, { intervalMs: this.intervalMs, signal: AbortSignal.any([done.signal, this.stopper.signal]) }).then(
        () => void s.close('abandoned: the endpoint moved'),
        () => undefined,
      );
      const r: StatementResult = await s.run(writeStatement(seq, via), this.timeoutMs);
      done.abort();
      await watch;
      const doneAt = Date.now();
      rec = { seq, sentAt, doneAt, via, ok: r.ok };
      if (r.ok) {
        const [port, inRecovery, timeline] = r.rows[0] ?? [];
        const server = this.opts.servers.find((x) => String(x.port) === port)?.name ?? `port ${port ?? '?'}`;
        rec.server = server;
        rec.timeline = Number(timeline);
        if (inRecovery !== 'f' || !Number.isInteger(rec.timeline)) rec.error = `unexpected answer ${JSON.stringify(r.rows)}`;
        rec.nonPrimary = !this.history.observe(doneAt, server, rec.timeline, 'write');
        if (rec.nonPrimary) this.opts.tl.logAt(doneAt, `write client: write ${seq} ACKNOWLEDGED BY ${server} (timeline ${rec.timeline}), NOT THE PRIMARY (${JSON.stringify(this.history.at(doneAt))})`);
      } else {
        rec.error = r.error;
      }
    }
    this.writes.push(rec);
    this.logChange(rec);
  }

  /** Logs when the client's situation changes (writing through X to Y / failing with Z), not every write. */
  private logChange(w: WriteRecord): void {
    const state = w.ok ? `acknowledged through ${w.via} by ${w.server} (timeline ${w.timeline})` : `failing through ${w.via ?? 'nothing'}: ${(w.error ?? '').replace(/\d+ ms/, 'N ms').slice(0, 160)}`;
    if (state === this.lastState) return;
    this.lastState = state;
    this.opts.tl.logAt(w.doneAt, `write client: write ${w.seq} ${state}`);
  }

  private async track(server: PgServer): Promise<void> {
    const r = await this.trackers.get(server.name)!.run(TRACK_STATEMENT, TRACK_TIMEOUT_MS);
    const at = Date.now();
    if (!r.ok) {
      this.samples.push({ at, server: server.name, inRecovery: null, timeline: null });
      return;
    }
    const [rec, tli] = r.rows[0] ?? [];
    const inRecovery = rec === 't';
    const timeline = inRecovery ? null : Number(tli);
    this.samples.push({ at, server: server.name, inRecovery, timeline });
    if (!inRecovery && timeline !== null && Number.isInteger(timeline)) {
      const before = this.history.epochs.length;
      this.history.observe(at, server.name, timeline, 'tracker');
      if (this.history.epochs.length > before) this.opts.tl.logAt(at, `write client: the primary is now ${server.name} (timeline ${timeline}, seen by the tracker)`);
    }
  }
}

/** What the client saw during one scenario (ms from its action). */
export interface ClientWindow {
  writes: number;
  acknowledged: number;
  failed: number;
  /** a move: the last write acknowledged through the old node → the first through the new one; else the longest gap between acknowledged writes */
  outageMs: number | null;
  outageKind: 'move' | 'gap';
  /** a move: ms from the action of those two writes */
  lastOldAckMs?: number | null;
  firstNewAckMs?: number | null;
  /** acknowledged by a server that was not the primary at that moment (must be 0) */
  nonPrimaryAcks: number;
  nonPrimary: { seq: number; atMs: number; via: string | null; server: string; timeline: number }[];
  /** servers that acknowledged writes, in order */
  servers: string[];
}

/** The client's view of a scenario from `t0` (its action) to `t1`. `from` → `to` is the endpoint's move, if any. */
export function clientWindow(writes: readonly WriteRecord[], t0: number, t1: number, from: string | null, to: string | null): ClientWindow {
  const inWindow = writes.filter((w) => w.sentAt >= t0 && w.doneAt <= t1);
  const acks = inWindow.filter((w) => w.ok);
  const nonPrimary = acks.filter((w) => w.nonPrimary).map((w) => ({ seq: w.seq, atMs: w.doneAt - t0, via: w.via, server: w.server!, timeline: w.timeline! }));
  const servers: string[] = [];
  for (const w of acks) if (servers.at(-1) !== w.server) servers.push(w.server!);
  const base = { writes: inWindow.length, acknowledged: acks.length, failed: inWindow.length - acks.length, nonPrimaryAcks: nonPrimary.length, nonPrimary, servers };
  if (from !== null && to !== null && from !== to) {
    const firstNew = acks.find((w) => w.via === to);
    const lastOld = [...writes].reverse().find((w) => w.ok && w.via === from && (firstNew === undefined || w.doneAt < firstNew.doneAt) && w.doneAt <= t1);
    return {
      ...base,
      outageKind: 'move',
      outageMs: firstNew && lastOld ? firstNew.doneAt - lastOld.doneAt : null,
      lastOldAckMs: lastOld ? lastOld.doneAt - t0 : null,
      firstNewAckMs: firstNew ? firstNew.doneAt - t0 : null,
    };
  }
  // no move: the longest gap between acknowledged writes, counting from the last one before the action
  const before = [...writes].reverse().find((w) => w.ok && w.doneAt < t0);
  const times = [...(before ? [before.doneAt] : []), ...acks.map((w) => w.doneAt)];
  let gap = times.length ? 0 : null;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap!, times[i]! - times[i - 1]!);
  const last = times.at(-1);
  if (last !== undefined && gap !== null) gap = Math.max(gap, t1 - last);
  return { ...base, outageKind: 'gap', outageMs: gap };
}

/** One psql per write (argv, no shell): the alternative to {@link PsqlSession} the README's measurement compares. */
export function spawnedStatement(target: PsqlTarget, sql: string, timeoutMs: number): Promise<StatementResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(`${PG_BIN}/psql`, ['-X', '-q', '-A', '-t', '-F', '|', '-v', 'ON_ERROR_STOP=1', '-h', target.host, '-p', String(target.port), '-U', target.user, '-d', target.dbname, '-c', sql], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PGCONNECT_TIMEOUT: '2' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      if (code === 0) resolve({ ok: true, rows: out.split('\n').filter(Boolean).map((l) => l.split('|')), ms });
      else resolve({ ok: false, error: err.trim().split('\n').at(-1) || `psql exit ${code}`, ms });
    });
  });
}
