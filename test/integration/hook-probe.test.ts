/**
 * The hook's probe against a REAL throwaway PostgreSQL 15 (initdb into a temp dir, run as `postgres`, loopback only,
 * socket in the temp dir, fsync off): a primary, the same server as a standby, its promotion (a keepalived MASTER
 * notify that came before it waits for it; a BACKUP does not wait), and the server stopped.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateHookConfig, type PgConnection } from '../../hooks/src/config';
import { probeCallFacts } from '../../hooks/src/modes';
import { probeFacts, probeUntilPrimary } from '../../hooks/src/probe';
import { buildEvent } from '../../shared/protocol/build-event';

const BIN = '/usr/lib/postgresql/15/bin';
const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;

let dir: string;
let data: string;
let pg: PgConnection;

function asPostgres(command: string, args: string[]): string {
  return execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** pg_ctl start/stop/promote: its server child keeps no pipe of ours open. */
function pgCtl(args: string[]): void {
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, 'pg_ctl'), '-D', data, ...args], { stdio: 'ignore', timeout: 60_000 });
}

function controlData(field: string): string {
  const line = asPostgres('pg_controldata', ['-D', data])
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  if (!line) throw new Error(`pg_controldata printed no ${field}`);
  return line.slice(field.length + 1).trim();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vipswitch-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  data = join(dir, 'data');
  const port = await freePort();
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  appendFileSync(data + '/postgresql.conf', `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nfsync = off\nlogging_collector = off\n`);
  pgCtl(['-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  pg = { host: dir, port, user: 'postgres', dbname: 'postgres', psql: join(BIN, 'psql') };
}, 120_000);

afterAll(() => {
  try {
    if (data) pgCtl(['-m', 'immediate', 'stop']);
  } catch {
    // already stopped by the last test
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('probeFacts against PostgreSQL 15', () => {
  it('reports a fresh primary: not in recovery, timeline 1, its LSN and the system identifier pg_controldata prints', async () => {
    const facts = await probeFacts(pg, 5000);

    expect(facts).not.toBeNull();
    expect(facts!.inRecovery).toBe(false);
    expect(facts!.timeline).toBe(1);
    expect(facts!.lsn).toMatch(LSN);
    expect(facts!.systemIdentifier).toBe(controlData('Database system identifier'));
    expect(await probeUntilPrimary((ms) => probeFacts(pg, ms), 5000, 5000, (ms) => new Promise((r) => setTimeout(r, ms)))).toMatchObject({ inRecovery: false, timeline: 1 });
  });

  it('reports the same server as a standby (no WAL receiver: timeline null), then the walfile timeline after promotion', async () => {
    // Arrange: restart the server in standby mode
    const systemIdentifier = controlData('Database system identifier');
    pgCtl(['-m', 'fast', '-w', 'stop']);
    writeFileSync(join(data, 'standby.signal'), '');
    execFileSync('chown', ['postgres:postgres', join(data, 'standby.signal')]);
    pgCtl(['-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);

    // keepalived's notify as the hook's dispatcher probes it (modes.ts), on this server, with a 30 s promotion bound
    const config = validateHookConfig({ endpoint: 'http://127.0.0.1:9/v1/events', cluster: 'pg-main', node: 'node2', keyFile: join(dir, 'key'), spoolDir: join(dir, 'spool'), promoteWaitMs: 30_000, pg }, {});
    // the dispatcher sleeps between probes only after one that found the server in recovery: that is the signal
    let sawRecovery: () => void = () => undefined;
    const inRecoverySeen = new Promise<void>((resolve) => (sawRecovery = resolve));
    const keepalived = (word: string) => {
      const started = performance.now();
      const event = buildEvent('keepalived', ['INSTANCE', 'VI_PG', word, '100'], { cluster: 'pg-main', node: 'node2' }, null, new Date(), `keepalived-${word}`);
      const log = { line: () => undefined, message: () => undefined };
      const sleep = (ms: number) => (sawRecovery(), new Promise<void>((r) => setTimeout(r, ms)));
      return probeCallFacts('keepalived', event, null, { config, env: process.env, log, now: () => performance.now() - started, sleep });
    };

    // Act: keepalived elects this standby MASTER before it is promoted (a host crash of the MASTER: findings §4)
    const standby = await probeFacts(pg, 5000);
    const backup = await keepalived('BACKUP');
    const started = performance.now();
    const master = keepalived('MASTER');
    await inRecoverySeen;
    const promoteAfterMs = performance.now() - started;
    pgCtl(['-W', 'promote']); // like Patroni: ask for the promotion and do not wait for it
    const promoted = await probeUntilPrimary((ms) => probeFacts(pg, ms), 5000, 30_000, (ms) => new Promise((r) => setTimeout(r, ms)));
    const masterFacts = await master;

    // Assert: pg_walfile_name() is never called in recovery (the query would fail, facts would be null)
    expect(standby).toEqual({ inRecovery: true, timeline: null, lsn: expect.stringMatching(LSN), systemIdentifier });
    expect(promoted).toEqual({ inRecovery: false, timeline: 2, lsn: expect.stringMatching(LSN), systemIdentifier });
    // BACKUP is sent as it is; the MASTER waited for the promotion (keepalived calls nothing more when the priority rises)
    expect(backup).toEqual({ facts: { inRecovery: true, timeline: null, lsn: expect.stringMatching(LSN), systemIdentifier }, waitedMs: expect.any(Number) });
    expect(backup.waitedMs).toBe(0);
    expect(masterFacts.facts).toEqual({ inRecovery: false, timeline: 2, lsn: expect.stringMatching(LSN), systemIdentifier });
    expect(masterFacts.waitedMs).toBeGreaterThanOrEqual(promoteAfterMs);
  }, 120_000);

  it('reports null for a stopped server, quickly', async () => {
    pgCtl(['-m', 'immediate', 'stop']);
    const started = performance.now();

    const facts = await probeFacts(pg, 3000);

    expect(facts).toBeNull();
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('reports null when psql is missing or the probe times out', async () => {
    expect(await probeFacts({ ...pg, psql: join(dir, 'no-psql') }, 1000)).toBeNull();
    const started = performance.now();
    // A 1 ms bound kills psql before it can answer: the timeout path, without a host that swallows packets.
    expect(await probeFacts(pg, 1)).toBeNull();
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
