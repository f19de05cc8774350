/**
 * pgbouncer on every node: the admin console step (observe, compare, act, read back) through a fake psql that speaks
 * like pgbouncer 1.18, the intents (from the call's own facts, from the answer to its own event), and the config.
 */
import { validateHookConfig } from '../../hooks/src/config';
import { EXIT } from '../../hooks/src/main';
import { commandsFor, consoleArgs, consoleIdentifier, ensurePgbouncer, execPsql, parseShowDatabases } from '../../hooks/src/pgbouncer';
import { pgbouncerIntentFromAnswer, pgbouncerIntentFromEvent, PgbouncerStep } from '../../hooks/src/pgbouncer-step';
import type { HookConfig } from '../../hooks/src/config';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import { buildEvent } from '../../shared/protocol/build-event';
import { SHOW_DATABASES_HEADER, writeFakePsql } from '../support/fake-tools';
import { removeTempDirs, tempDir } from '../support/temp';

afterAll(() => removeTempDirs());

const PRIMARY: NodeFacts = { inRecovery: false, timeline: 2, lsn: '0/3000060', systemIdentifier: '7713997281373179723' };
const STANDBY: NodeFacts = { inRecovery: true, timeline: 2, lsn: '0/3000060', systemIdentifier: '7713997281373179723' };
const NOW = new Date('2026-11-30T16:12:00.000Z');

/** SHOW DATABASES as psql -A printed it against a real pgbouncer 1.18.0 (Debian 12), after DISABLE + KILL of appdb. */
const REAL_1_18 = `${SHOW_DATABASES_HEADER}
appdb|127.0.0.1|1|appdb||20|0|0||0|0|1|1
pgbouncer||46432|pgbouncer|pgbouncer|2|0|0|statement|0|0|0|0
`;

const pgbouncer = (psql: string, database = 'appdb') => ({ host: '/var/run/postgresql', port: 6432, user: 'pgbouncer', database, psql });

describe('the admin console, read and written', () => {
  it('reads paused and disabled by column name from pgbouncer 1.18\'s SHOW DATABASES', () => {
    expect(parseShowDatabases(REAL_1_18, 'appdb')).toEqual({ paused: true, disabled: true });
    expect(parseShowDatabases(REAL_1_18, 'pgbouncer')).toEqual({ paused: false, disabled: false });
    expect(parseShowDatabases(REAL_1_18, 'other')).toBeNull();
    expect(() => parseShowDatabases('name|host\nappdb|x\n', 'appdb')).toThrow(/no paused column/);
  });

  it('turns off with DISABLE then KILL (not PAUSE, which waits for transactions unbounded), and on with ENABLE then RESUME, only what differs', () => {
    expect(commandsFor('off', { paused: false, disabled: false }, 'appdb')).toEqual(['DISABLE "appdb"', 'KILL "appdb"']);
    expect(commandsFor('off', { paused: true, disabled: false }, 'appdb')).toEqual(['DISABLE "appdb"']);
    expect(commandsFor('off', { paused: true, disabled: true }, 'appdb')).toEqual([]);
    expect(commandsFor('serving', { paused: true, disabled: true }, 'appdb')).toEqual(['ENABLE "appdb"', 'RESUME "appdb"']);
    // RESUME of a database that is not paused is an error in 1.18: never sent.
    expect(commandsFor('serving', { paused: false, disabled: true }, 'appdb')).toEqual(['ENABLE "appdb"']);
    expect(commandsFor('serving', { paused: false, disabled: false }, 'appdb')).toEqual([]);
  });

  it('quotes the database name as a console identifier and passes every command as its own -c, never through a shell', () => {
    expect(consoleIdentifier('app-db "x"')).toBe('"app-db ""x"""');
    expect(consoleArgs(pgbouncer('/usr/bin/psql'), ['DISABLE "appdb"', 'KILL "appdb"'])).toEqual([
      '-X', '-A', '-q', '-w', '-P', 'footer=off', '-v', 'ON_ERROR_STOP=1', '-h', '/var/run/postgresql', '-p', '6432', '-U', 'pgbouncer', '-d', 'pgbouncer', '-c', 'DISABLE "appdb"', '-c', 'KILL "appdb"',
    ]);
  });
});

describe('ensurePgbouncer (fake psql speaking like pgbouncer 1.18)', () => {
  const run = execPsql(process.env);

  it('off: SHOW, DISABLE + KILL in one call, SHOW again; a second time changes nothing', async () => {
    const fake = writeFakePsql(tempDir('vipswitch-pgb-'));

    const first = await ensurePgbouncer('off', pgbouncer(fake.path), 5000, run);
    const second = await ensurePgbouncer('off', pgbouncer(fake.path), 5000, run);

    expect(first).toMatchObject({ outcome: 'disabled', commands: ['DISABLE "appdb"', 'KILL "appdb"'] });
    expect(second).toMatchObject({ outcome: 'already_off', commands: [] });
    expect(fake.commands()).toEqual([['SHOW DATABASES'], ['DISABLE "appdb"', 'KILL "appdb"'], ['SHOW DATABASES'], ['SHOW DATABASES']]);
    expect(fake.state().appdb).toEqual({ paused: true, disabled: true });
    expect(fake.calls()[1]).toEqual(expect.arrayContaining(['-d', 'pgbouncer', '-U', 'pgbouncer', '-w', '-X']));
  });

  it('serving: ENABLE + RESUME from off, only ENABLE when not paused (no "is not paused" error), nothing when serving', async () => {
    const fake = writeFakePsql(tempDir('vipswitch-pgb-'), { appdb: { paused: true, disabled: true } });

    expect(await ensurePgbouncer('serving', pgbouncer(fake.path), 5000, run)).toMatchObject({ outcome: 'enabled', commands: ['ENABLE "appdb"', 'RESUME "appdb"'] });
    fake.setState({ appdb: { paused: false, disabled: true } });
    expect(await ensurePgbouncer('serving', pgbouncer(fake.path), 5000, run)).toMatchObject({ outcome: 'enabled', commands: ['ENABLE "appdb"'] });
    expect(await ensurePgbouncer('serving', pgbouncer(fake.path), 5000, run)).toMatchObject({ outcome: 'already_serving' });
    expect(fake.state().appdb).toEqual({ paused: false, disabled: false });
  });

  it('fails as one outcome, never a throw: pgbouncer down, an unknown database, a console error, psql hanging past the bound', async () => {
    const fake = writeFakePsql(tempDir('vipswitch-pgb-'));

    expect(await ensurePgbouncer('off', pgbouncer(fake.path, 'nosuch'), 5000, run)).toMatchObject({ outcome: 'failed', step: 'show', reason: 'database "nosuch" is not in SHOW DATABASES' });
    fake.setMode('refused');
    expect(await ensurePgbouncer('off', pgbouncer(fake.path), 5000, run)).toMatchObject({ outcome: 'failed', step: 'show', reason: expect.stringMatching(/^exit 2: psql: error: connection to server/) });
    fake.setMode('hang');
    const started = performance.now();
    expect(await ensurePgbouncer('off', pgbouncer(fake.path), 300, run)).toMatchObject({ outcome: 'failed', step: 'show', reason: expect.stringMatching(/^timeout after \d+ ms$/) });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await ensurePgbouncer('off', pgbouncer('/nonexistent/psql'), 1000, run)).toMatchObject({ outcome: 'failed', step: 'show', reason: expect.stringMatching(/ENOENT/) });
  });

  it('reports a console error on the act step (a RESUME pgbouncer refuses) as failed act, with the commands tried', async () => {
    const fake = writeFakePsql(tempDir('vipswitch-pgb-'), { appdb: { paused: true, disabled: true } });
    // A runner that shows "paused" but whose RESUME then meets an already resumed database (a concurrent RESUME).
    const racing = async (file: string, args: readonly string[], timeoutMs: number) => {
      if (args.includes('RESUME "appdb"')) fake.setState({ appdb: { paused: false, disabled: true } });
      return run(file, args, timeoutMs);
    };
    expect(await ensurePgbouncer('serving', pgbouncer(fake.path), 5000, racing)).toMatchObject({ outcome: 'failed', step: 'act', reason: 'exit 1: ERROR:  database appdb is not paused', commands: ['ENABLE "appdb"', 'RESUME "appdb"'] });
  });
});

describe('when the hook turns pgbouncer off or on', () => {
  const event = (node: string, args: string[], facts: NodeFacts | null): VipEvent => buildEvent('keepalived', args, { cluster: 'pg-main', node }, facts, NOW, `ka-${node}-${args.join('-')}`);
  const answer = (status: number, body: Record<string, unknown>) => ({ status, body: JSON.stringify(body) });

  it('from the call itself: off when its facts say in recovery (a BACKUP, a MASTER on a standby), else the answer decides', () => {
    expect(pgbouncerIntentFromEvent(event('node1', ['backup'], STANDBY))).toEqual({ want: 'off', why: 'facts: in recovery' });
    expect(pgbouncerIntentFromEvent(event('node3', ['INSTANCE', 'VI_PG', 'MASTER', '200'], STANDBY))).toEqual({ want: 'off', why: 'facts: in recovery' });
    expect(pgbouncerIntentFromEvent(event('node2', ['master'], PRIMARY))).toBeNull();
    expect(pgbouncerIntentFromEvent(event('node2', ['master'], null))).toBeNull();
  });

  it('from the answer to its own event: accepted for this node or the primary\'s re-assertion serve, a stale claim turns off', () => {
    expect(pgbouncerIntentFromAnswer(answer(202, { code: 'accepted', decision: 'accepted', primary: 'node2', epoch: 3 }), 'node2')).toEqual({ want: 'serving', why: 'accepted: primary node2 epoch 3' });
    expect(pgbouncerIntentFromAnswer(answer(200, { code: 'ignored', decision: 'ignored', kind: 'reassertion' }), 'node2')).toEqual({ want: 'serving', why: 'ignored: reassertion by the recorded primary' });
    expect(pgbouncerIntentFromAnswer(answer(200, { code: 'duplicate', first: { status: 200, body: { code: 'ignored', kind: 'reassertion' } } }), 'node2')).toMatchObject({ want: 'serving' });
    expect(pgbouncerIntentFromAnswer(answer(409, { code: 'stale_claim', primary: 'node2', timeline: 3 }), 'node1')).toEqual({ want: 'off', why: 'stale_claim: primary is node2' });
    expect(pgbouncerIntentFromAnswer(answer(200, { code: 'ignored', kind: 'informational' }), 'node2')).toBeNull();
    expect(pgbouncerIntentFromAnswer(answer(409, { code: 'unverified_claim' }), 'node2')).toBeNull();
    expect(pgbouncerIntentFromAnswer(answer(200, { code: 'dry_run', decision: 'accepted', primary: 'node2', dryRun: true }), 'node2')).toBeNull();
  });

  it('PgbouncerStep: acts once, logs one line, never throws, and keeps a slice of the budget only for a claim', async () => {
    const fake = writeFakePsql(tempDir('vipswitch-pgb-'), { appdb: { paused: true, disabled: true } });
    const config = { node: 'node2', timeoutMs: 2000, pgbouncer: pgbouncer(fake.path) } as HookConfig;
    const lines: Record<string, unknown>[] = [];
    const log = { line: (fields: Record<string, unknown>) => lines.push(fields), message: () => undefined };

    const claim = new PgbouncerStep(config, event('node2', ['master'], PRIMARY), log as never, () => performance.now(), execPsql(process.env));
    const standby = new PgbouncerStep({ ...config, node: 'node1' } as HookConfig, event('node1', ['backup'], STANDBY), log as never, () => performance.now(), execPsql(process.env));
    await claim.beforeSending();
    await claim.afterAnswer(answer(202, { code: 'accepted', primary: 'node2', epoch: 2 }), performance.now() + 1000);

    expect(claim.reserveMs).toBe(500);
    expect(standby.reserveMs).toBe(0);
    expect(lines).toEqual([expect.objectContaining({ pgbouncer: 'enabled', database: 'appdb', want: 'serving', commands: 'ENABLE "appdb"; RESUME "appdb"' })]);

    fake.setMode('refused');
    await standby.beforeSending();
    expect(lines[1]).toMatchObject({ pgbouncer: 'failed', step: 'show', want: 'off', why: 'facts: in recovery' });
    expect(EXIT.ok).toBe(0);
  });
});

describe('hook.json pgbouncer section', () => {
  const base = { endpoint: 'https://api.example.com/v1/events', cluster: 'pg-main', node: 'node2', keyFile: '/etc/vipswitch/node2.key' };

  it('is off unless given; given, defaults host, port, user and psql, and needs the database', () => {
    expect(validateHookConfig(base, {}).pgbouncer).toBeNull();
    expect(validateHookConfig({ ...base, pgbouncer: { database: 'appdb' } }, {}).pgbouncer).toEqual({ host: '/var/run/postgresql', port: 6432, user: 'pgbouncer', database: 'appdb', psql: '/usr/bin/psql' });
  });

  it.each([
    [{}, /^pgbouncer\.database: required/],
    [{ database: 'pgbouncer' }, /^pgbouncer\.database: "pgbouncer" is the admin console itself/],
    [{ database: 'a\nb' }, /^pgbouncer\.database: required/],
    [{ database: 'x'.repeat(61) }, /^pgbouncer\.database: required/],
    [{ database: 'appdb', port: 0 }, /^pgbouncer\.port: must be an integer from 1 to 65535/],
    [{ database: 'appdb', user: '-U' }, /^pgbouncer\.user: a non-empty string not starting with "-"/],
    [{ database: 'appdb', psql: 'psql' }, /^pgbouncer\.psql: must be an absolute path/],
    [{ database: 'appdb', pool: 1 }, /^pgbouncer\.pool: unknown field/],
  ])('names the bad field: %j', (section, message) => {
    expect(() => validateHookConfig({ ...base, pgbouncer: section }, {})).toThrow(expect.objectContaining({ issues: [expect.stringMatching(message)] }));
  });
});
