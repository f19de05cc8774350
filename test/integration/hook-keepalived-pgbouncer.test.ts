/**
 * The pgbouncer step against a REAL pgbouncer 1.18 (Debian's package) in front of a REAL throwaway PostgreSQL 15, both run
 * as `postgres` in a temp dir, on their UNIX sockets and 127.0.0.1 only: the bundled hook in keepalived mode turns the
 * database off on a BACKUP in recovery (an open session is dropped, a new one refused) and on again when its MASTER
 * claim is accepted. The answers come from a node:http receiver. No fixed sleeps.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../local/wait-for';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import { EventsReceiver, onBody, runHook, startForTest, useHookBundle, writeHookSetup } from '../support/hook-bundle';

useHookBundle();

const PG_BIN = '/usr/lib/postgresql/15/bin';
const PGBOUNCER = '/usr/sbin/pgbouncer';
const PSQL = join(PG_BIN, 'psql');

let dir: string;
let data: string;
let pgbouncerPort: number;
let pgbouncer: ChildProcess | null = null;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function asPostgres(command: string, args: string[]): void {
  execFileSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'ignore', timeout: 60_000 });
}

/** psql through pgbouncer to `appdb` (as a client would), resolved with its exit code and output. */
function clientQuery(sql: string): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string; stdout: string }> } {
  const child = spawn(PSQL, ['-X', '-A', '-t', '-w', '-h', dir, '-p', String(pgbouncerPort), '-U', 'postgres', '-d', 'appdb', '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGCONNECT_TIMEOUT: '3' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr, stdout }))) };
}

beforeAll(async () => {
  if (!existsSync(PGBOUNCER)) throw new Error(`${PGBOUNCER} is missing: install Debian's pgbouncer (apt-get install pgbouncer), which npm test's drills need too`);
  dir = mkdtempSync(join(tmpdir(), 'vipswitch-pgb-real-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  data = join(dir, 'data');
  const pgPort = await freePort();
  asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  appendFileSync(join(data, 'postgresql.conf'), `\nport = ${pgPort}\nlisten_addresses = ''\nunix_socket_directories = '${dir}'\nfsync = off\n`);
  asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'pg.log'), '-w', '-t', '60', 'start']);

  pgbouncerPort = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      `appdb = host=${dir} port=${pgPort} dbname=postgres`,
      '[pgbouncer]',
      `listen_port = ${pgbouncerPort}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'admin_users = pgbouncer',
      'pool_mode = session',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n"pgbouncer" ""\n');
  for (const file of ['pgbouncer.ini', 'users.txt']) chownSync(join(dir, file), uid, gid);
  pgbouncer = spawn('runuser', ['-u', 'postgres', '--', PGBOUNCER, ini], { stdio: 'ignore', detached: true });
  await waitFor('pgbouncer to accept connections', 15_000, async () => (await clientQuery('select 1').done).stdout.trim() === '1', 50);
}, 120_000);

afterAll(() => {
  if (pgbouncer?.pid) {
    try {
      process.kill(-pgbouncer.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  try {
    if (data) asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
  } catch {
    // already stopped
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

class Receiver extends EventsReceiver {
  readonly received: VipEvent[] = [];
  protected handle(req: IncomingMessage, res: ServerResponse): void {
    onBody(req, (rawBody) => {
      const event = JSON.parse(rawBody) as VipEvent;
      this.received.push(event);
      const body =
        event.type === 'master'
          ? { code: 'accepted', decision: 'accepted', message: 'committed', epoch: 2, primary: event.node, timeline: 2, actuation: 'pending' }
          : { code: 'ignored', decision: 'ignored', kind: 'informational', message: 'recorded' };
      res.writeHead(event.type === 'master' ? 202 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  }
}

const STANDBY: NodeFacts = { inRecovery: true, timeline: 2, lsn: '0/3000060', systemIdentifier: '7713997281373179723' };
const PRIMARY: NodeFacts = { inRecovery: false, timeline: 2, lsn: '0/3000060', systemIdentifier: '7713997281373179723' };

describe('pgbouncer 1.18 beside keepalived (real pgbouncer, real PostgreSQL)', () => {
  it('BACKUP in recovery: the open session is dropped and new ones refused; the accepted MASTER claim lets clients in again', async () => {
    const receiver = await startForTest(new Receiver());
    const { config } = writeHookSetup('vipswitch-ka-pgb-real-', receiver.url, () => ({ pgbouncer: { host: dir, port: pgbouncerPort, user: 'pgbouncer', database: 'appdb', psql: PSQL } }));
    const session = clientQuery('select pg_sleep(60)');
    await waitFor('the client session to be running', 10_000, async () => {
      const s = clientQuery("select count(*) from pg_stat_activity where query like 'select pg_sleep%' and state = 'active'");
      return (await s.done).stdout.trim() === '1';
    }, 50);

    const off = await runHook(['--config', config, '--facts-json', JSON.stringify(STANDBY), 'keepalived', 'INSTANCE', 'VI_PG', 'BACKUP', '100']);

    expect(off.code).toBe(0);
    expect(off.stderr).toMatch(/pgbouncer=disabled database=appdb want=off .*commands="DISABLE \\"appdb\\"; KILL \\"appdb\\""/);
    const dropped = await session.done;
    expect(dropped.code).not.toBe(0);
    const refused = await clientQuery('select 1').done;
    expect(refused.code).not.toBe(0);
    expect(refused.stdout.trim()).toBe('');

    const on = await runHook(['--config', config, '--facts-json', JSON.stringify(PRIMARY), 'keepalived', 'master']);

    expect(on.stderr).toMatch(/pgbouncer=enabled database=appdb want=serving why="accepted: primary node2 epoch 2" .*commands="ENABLE \\"appdb\\"; RESUME \\"appdb\\""/);
    expect((await clientQuery('select 1').done).stdout.trim()).toBe('1');
    expect(receiver.received.map((e) => e.type)).toEqual(['backup', 'master']);
  }, 60_000);
});
