/**
 * What the drill's write client costs, per mode: one psql per write (`spawn`) or one psql fed through stdin per
 * target (`session`, what the drill uses). A throwaway PostgreSQL 15 on 127.0.0.1 (run as root: it runs as postgres),
 * the client's statement every 50 ms for `SECONDS` (default 20) in each mode; CPU of the psql processes (this
 * process' children) and of PostgreSQL (the postmaster with its reaped backends and the live ones), from /proc.
 *
 *   node --import tsx local/drill/measure-write-client.ts [SECONDS]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { appendFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PG_BIN, PgRunner, freePorts, makeBaseDir, readPidFile, waitUntil } from './util';
import { PsqlSession } from './vipswitch/psql-session';
import { CREATE_WRITE_TABLE, WRITE_INTERVAL_MS, WRITE_TIMEOUT_MS, spawnedStatement, writeStatement } from './vipswitch/write-client';

const TICKS = 100; // USER_HZ on Linux

function cpuOf(pid: number, withChildren: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after the comm: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
    const own = Number(f[11]) + Number(f[12]);
    return (withChildren ? own + Number(f[13]) + Number(f[14]) : own) / TICKS;
  } catch {
    return 0;
  }
}

function pgCpu(postmaster: number): number {
  let total = cpuOf(postmaster, true);
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) total += cpuOf(Number(e), false);
    } catch {
      // gone
    }
  }
  return total;
}

function selfChildrenCpu(): number {
  return cpuOf(process.pid, true) - cpuOf(process.pid, false);
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? '20');
  const base = await makeBaseDir();
  const runner = new PgRunner(base);
  const data = join(base, 'data');
  const [port] = await freePorts(1);
  try {
    await runner.run([`${PG_BIN}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions'], { timeoutMs: 60_000, cwd: base });
    await appendFile(join(data, 'postgresql.conf'), `\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${base}'\nfsync = off\n`);
    await runner.run([`${PG_BIN}/pg_ctl`, '-w', '-D', data, '-l', join(base, 'pg.log'), 'start'], { timeoutMs: 60_000, cwd: base });
    const postmaster = (await readPidFile(join(data, 'postmaster.pid')))!;
    const target = { host: '127.0.0.1', port: port!, dbname: 'postgres', user: 'postgres' };
    const setup = new PsqlSession(target);
    await setup.run(CREATE_WRITE_TABLE, 5000);
    await setup.close();
    for (const mode of ['spawn', 'session'] as const) {
      const session = new PsqlSession(target, { statementTimeoutMs: WRITE_TIMEOUT_MS });
      const c0 = selfChildrenCpu();
      const p0 = pgCpu(postmaster);
      const s0 = process.cpuUsage();
      const end = Date.now() + seconds * 1000;
      let n = 0;
      let ok = 0;
      const latencies: number[] = [];
      await waitUntil(`${seconds} s of writes`, async () => {
        const r = mode === 'spawn' ? await spawnedStatement(target, writeStatement(++n, 'node1'), WRITE_TIMEOUT_MS) : await session.run(writeStatement(++n, 'node1'), WRITE_TIMEOUT_MS);
        if (r.ok) ok++;
        latencies.push(r.ms);
        return Date.now() >= end;
      }, seconds * 1000 + 10_000, WRITE_INTERVAL_MS);
      await session.close();
      const self = process.cpuUsage(s0);
      latencies.sort((a, b) => a - b);
      const psql = selfChildrenCpu() - c0;
      const pg = pgCpu(postmaster) - p0;
      const node = (self.user + self.system) / 1e6;
      console.log(
        `${mode.padEnd(7)} writes ${n} (ok ${ok}) in ${seconds} s; latency p50 ${latencies[Math.floor(latencies.length / 2)]} ms p99 ${latencies[Math.floor(latencies.length * 0.99)]} ms; ` +
          `CPU s: psql ${psql.toFixed(2)}, PostgreSQL ${pg.toFixed(2)}, this node process ${node.toFixed(2)}; total ${(psql + pg + node).toFixed(2)} (${(((psql + pg + node) / seconds) * 100).toFixed(1)}% of one core)`,
      );
    }
  } finally {
    await runner.run([`${PG_BIN}/pg_ctl`, '-w', '-D', data, '-m', 'immediate', 'stop'], { timeoutMs: 30_000, cwd: base, allowFail: true }).catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  }
}

void main();
