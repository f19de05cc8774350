import { execFile } from 'node:child_process';
import type { NodeFacts } from '../../shared/domain/event';
import type { PgConnection } from './config';

/**
 * One query for all facts (shared/peers/findings.md, "Local facts"). The timeline of a primary comes from its current
 * WAL file name, never from the checkpoint (that lags a promotion by up to minutes); of a standby from the WAL
 * receiver (null when not streaming). `pg_walfile_name()` errors during recovery, hence the CASE on the recovery flag.
 */
export const PROBE_SQL = [
  'select s.r,',
  ' (select system_identifier from pg_control_system()),',
  " case when s.r then (select received_tli from pg_stat_wal_receiver) else ('x'||substr(pg_walfile_name(pg_current_wal_lsn()),1,8))::bit(32)::int end,",
  ' case when s.r then coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) else pg_current_wal_lsn() end',
  'from (select pg_is_in_recovery() as r) s',
].join('\n');

/** psql's argv: no psqlrc, unaligned tuples only, never prompt for a password, stop on the first error. */
export function psqlArgs(pg: PgConnection): string[] {
  return ['-X', '-A', '-t', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', pg.dbname, '-c', PROBE_SQL];
}

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;

/** Parse psql's one output line `r|system_identifier|timeline|lsn`; null unless it has exactly that shape. */
export function parseProbeOutput(stdout: string): NodeFacts | null {
  const lines = stdout.split('\n').filter((line) => line.trim() !== '');
  if (lines.length !== 1) return null;
  const fields = lines[0]!.trim().split('|');
  if (fields.length !== 4) return null;
  const [r, sysid, tli, lsn] = fields as [string, string, string, string];
  if (r !== 't' && r !== 'f') return null;
  if (sysid !== '' && !/^\d{1,20}$/.test(sysid)) return null;
  if (tli !== '' && !/^\d{1,10}$/.test(tli)) return null;
  if (lsn !== '' && !LSN.test(lsn)) return null;
  const timeline = tli === '' ? null : Number(tli);
  return {
    inRecovery: r === 't',
    systemIdentifier: sysid === '' ? null : sysid,
    timeline: timeline !== null && timeline >= 1 ? timeline : null,
    lsn: lsn === '' ? null : lsn.toUpperCase(),
  };
}

/**
 * Probe the local server with one `psql` call (execFile: an argv array, never a shell), killed after `timeoutMs`.
 * Never rejects: any failure (server down, psql missing, timeout, odd output) is `null`, never a guess.
 */
export function probeFacts(pg: PgConnection, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<NodeFacts | null> {
  return new Promise((resolve) => {
    try {
      execFile(
        pg.psql,
        psqlArgs(pg),
        {
          timeout: Math.max(1, Math.floor(timeoutMs)),
          killSignal: 'SIGKILL',
          maxBuffer: 64 * 1024,
          encoding: 'utf8',
          env: { ...env, PGCONNECT_TIMEOUT: '1', PGAPPNAME: 'vipswitch-hook' },
        },
        (error, stdout) => resolve(error ? null : parseProbeOutput(stdout)),
      );
    } catch {
      resolve(null);
    }
  });
}

/**
 * For a Patroni primary callback: Patroni calls it right after `pg_ctl promote -W` (no wait), so poll until
 * `pg_is_in_recovery()` is false, for at most `waitMs`. Returns the first out-of-recovery facts, else the last facts
 * seen (the server then calls the claim unverified), else null.
 */
export async function probeUntilPrimary(
  probe: (timeoutMs: number) => Promise<NodeFacts | null>,
  probeTimeoutMs: number,
  waitMs: number,
  sleep: (ms: number) => Promise<void>,
  now: () => number = () => performance.now(),
): Promise<NodeFacts | null> {
  const deadline = now() + waitMs;
  let seen: NodeFacts | null = null;
  for (let round = 0; ; round++) {
    const left = deadline - now();
    const facts = await probe(round === 0 ? probeTimeoutMs : Math.min(probeTimeoutMs, Math.max(50, left)));
    if (facts) seen = facts;
    if (facts && !facts.inRecovery) return facts;
    const after = deadline - now();
    if (after <= 0) return seen;
    await sleep(Math.min(100, after));
  }
}
