/**
 * The REAL bundled hook in keepalived mode, run as keepalived runs it (an argv, no shell; the umask keepalived sets), against
 * a node:http receiver on 127.0.0.1, with a fake psql speaking like pgbouncer 1.18's admin console for the pgbouncer step.
 * No fixed sleeps.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import { BUNDLE, EventsReceiver, hookEnv, onBody, pending, runHook, signatureOk, startForTest, useHookBundle, writeHookSetup, type HookRun } from '../support/hook-bundle';
import { writeFakePsql, type FakePsql } from '../support/fake-tools';
import { KEEPALIVED_SYSTEM_ID, loadKeepalivedInvocations } from '../support/peer-captures';

useHookBundle();

const PRIMARY: NodeFacts = { inRecovery: false, timeline: 2, lsn: '0/40001B8', systemIdentifier: KEEPALIVED_SYSTEM_ID };
const STANDBY: NodeFacts = { inRecovery: true, timeline: 2, lsn: '0/40001B8', systemIdentifier: KEEPALIVED_SYSTEM_ID };

interface Received {
  event: VipEvent;
  signatureOk: boolean;
  /** pgbouncer's state (fake psql) when the request arrived. */
  pgbouncerAtArrival: { paused: boolean; disabled: boolean } | null;
}

/** Answers each event by a function of it; records what arrived, and how many requests were in flight at once. */
class Receiver extends EventsReceiver {
  readonly received: Received[] = [];
  inFlight = 0;
  maxInFlight = 0;
  pgbouncer: FakePsql | null = null;
  answer: (event: VipEvent) => { status: number; body: Record<string, unknown> } = () => ({ status: 200, body: { code: 'ignored', decision: 'ignored', kind: 'informational', message: 'recorded' } });

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    onBody(req, (rawBody) => {
      const event = JSON.parse(rawBody) as VipEvent;
      this.received.push({ event, signatureOk: signatureOk(req, rawBody), pgbouncerAtArrival: this.pgbouncer?.state().appdb ?? null });
      const { status, body } = this.answer(event);
      // A little latency, so that concurrent calls would overlap on the wire if they were not serialised.
      setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)), 20);
    });
  }
}

const facts = (f: NodeFacts | null) => ['--facts-json', JSON.stringify(f)];

describe('vipswitch-hook keepalived (the bundle)', () => {
  it('the generic notify: one signed event, source keepalived, type and details from INSTANCE <name> <STATE> <priority>; exit 0, nothing on stdout', async () => {
    const receiver = await startForTest(new Receiver());
    const { config, spoolDir } = writeHookSetup('vipswitch-ka-', receiver.url);

    const run = await runHook(['--config', config, ...facts(PRIMARY), 'keepalived', 'INSTANCE', 'VI_PG', 'MASTER', '150']);

    expect(run).toMatchObject({ code: 0, stdout: '' });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]).toMatchObject({ signatureOk: true, event: { source: 'keepalived', type: 'master', node: 'node2', details: 'INSTANCE VI_PG MASTER 150', facts: PRIMARY, raw: { argv: ['INSTANCE', 'VI_PG', 'MASTER', '150'] } } });
    expect(pending(spoolDir)).toEqual([]);
  });

  it('every captured argv of node2 (as wired in the README) makes the event the capture named', async () => {
    const receiver = await startForTest(new Receiver());
    const { config } = writeHookSetup('vipswitch-ka-', receiver.url, () => ({ timeoutMs: 5000 }));
    const node2 = loadKeepalivedInvocations().filter((c) => c.node === 'node2').slice(0, 12);

    for (const c of node2) await runHook(['--config', config, ...facts(c.facts), 'keepalived', ...c.args]);

    expect(receiver.received.map((r) => r.event.type)).toEqual(node2.map((c) => (c.hookKind === 'notify' ? c.event.replace('notify-', '').toLowerCase() : c.hookKind.replace('notify_', ''))));
  });

  it('a bare notify_master path (keepalived passes nothing) is not guessed: exit 0, the call kept in unparsed/, the reason logged', async () => {
    const receiver = await startForTest(new Receiver());
    const { config, spoolDir } = writeHookSetup('vipswitch-ka-', receiver.url);

    const run = await runHook(['--config', config, 'keepalived']);

    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/kind: keepalived passes no arguments to notify_master/);
    expect(readdirSync(join(spoolDir, 'unparsed'))).toHaveLength(1);
    expect(receiver.received).toEqual([]);
  });

  it('under keepalived\'s umask 0177 it still makes a usable spool directory (0700, not 0600) and delivers', async () => {
    const receiver = await startForTest(new Receiver());
    const { config, spoolDir } = writeHookSetup('vipswitch-ka-', receiver.url);
    // The test sets the umask the way keepalived does before exec (findings §2); the hook itself never runs a shell.
    const child = spawn('/bin/sh', ['-c', 'umask 0177; exec "$0" "$@"', BUNDLE, '--config', config, ...facts(STANDBY), 'keepalived', 'backup'], { env: hookEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect(code).toBe(0);
    expect(statSync(spoolDir).mode & 0o777).toBe(0o700);
    expect(receiver.received.map((r) => r.event.type)).toEqual(['backup']);
  });

  it('concurrent notifies of one node (a transition and the next, out of order) go out one at a time, each exactly once', async () => {
    const receiver = await startForTest(new Receiver());
    const { config, spoolDir } = writeHookSetup('vipswitch-ka-', receiver.url, () => ({ timeoutMs: 8000 }));
    // c3 (findings §3): MASTER, MASTER, BACKUP, BACKUP forked in that order, started BACKUP, backup, master, MASTER.
    const calls = [['INSTANCE', 'VI_PG', 'BACKUP', '100'], ['backup'], ['master'], ['INSTANCE', 'VI_PG', 'MASTER', '100'], ['fault'], ['INSTANCE', 'VI_PG', 'FAULT', '100']];

    const runs: HookRun[] = await Promise.all(calls.map((args) => runHook(['--config', config, ...facts(STANDBY), 'keepalived', ...args])));

    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(receiver.received).toHaveLength(6);
    expect(new Set(receiver.received.map((r) => r.event.id)).size).toBe(6);
    expect(receiver.maxInFlight).toBe(1);
    expect(pending(spoolDir)).toEqual([]);
  });
});

describe('pgbouncer beside keepalived (fake psql, pgbouncer 1.18 console)', () => {
  function setup(receiver: Receiver, initial: { paused: boolean; disabled: boolean }) {
    const hook = writeHookSetup('vipswitch-ka-pgb-', receiver.url, (dir) => ({ pgbouncer: { host: dir, port: 6432, user: 'pgbouncer', database: 'appdb', psql: join(dir, 'psql') } }));
    const psql = writeFakePsql(hook.dir, { appdb: initial });
    receiver.pgbouncer = psql;
    return { ...hook, psql };
  }

  it('a BACKUP in recovery: DISABLE + KILL before the event is even sent', async () => {
    const receiver = await startForTest(new Receiver());
    const { config, psql } = setup(receiver, { paused: false, disabled: false });

    const run = await runHook(['--config', config, ...facts(STANDBY), 'keepalived', 'INSTANCE', 'VI_PG', 'BACKUP', '100']);

    expect(run.code).toBe(0);
    expect(receiver.received[0]!.pgbouncerAtArrival).toEqual({ paused: true, disabled: true });
    expect(psql.commands()).toEqual([['SHOW DATABASES'], ['DISABLE "appdb"', 'KILL "appdb"'], ['SHOW DATABASES']]);
    expect(run.stderr).toMatch(/pgbouncer=disabled database=appdb want=off why="facts: in recovery" id=\S+ commands="DISABLE \\"appdb\\"; KILL \\"appdb\\"" ms=\d+/);
  });

  it('a MASTER claim answered accepted for this node: ENABLE + RESUME after the answer', async () => {
    const receiver = await startForTest(new Receiver());
    receiver.answer = () => ({ status: 202, body: { code: 'accepted', decision: 'accepted', message: 'committed', epoch: 3, primary: 'node2', timeline: 2, actuation: 'pending' } });
    const { config, psql } = setup(receiver, { paused: true, disabled: true });

    const run = await runHook(['--config', config, ...facts(PRIMARY), 'keepalived', 'master']);

    expect(run.code).toBe(0);
    expect(receiver.received[0]!.pgbouncerAtArrival).toEqual({ paused: true, disabled: true });
    expect(psql.state().appdb).toEqual({ paused: false, disabled: false });
    expect(run.stderr).toMatch(/pgbouncer=enabled database=appdb want=serving why="accepted: primary node2 epoch 3"/);
  });

  it('an old primary\'s claim answered stale_claim: DISABLE + KILL, so writes cannot reach it through its pgbouncer', async () => {
    const receiver = await startForTest(new Receiver());
    receiver.answer = () => ({ status: 409, body: { code: 'stale_claim', decision: 'rejected', message: 'node1 holds timeline 3', primary: 'node1', timeline: 3, epoch: 4 } });
    const { config, psql } = setup(receiver, { paused: false, disabled: false });

    const run = await runHook(['--config', config, ...facts(PRIMARY), 'keepalived', 'INSTANCE', 'VI_PG', 'BACKUP', '100']);

    expect(run.code).toBe(0);
    expect(psql.state().appdb).toEqual({ paused: true, disabled: true });
    expect(run.stderr).toMatch(/pgbouncer=disabled .*why="stale_claim: primary is node1"/);
  });

  it('pgbouncer down or psql hanging: one pgbouncer=failed line, exit 0, the event delivered all the same', async () => {
    const receiver = await startForTest(new Receiver());
    const { config, psql } = setup(receiver, { paused: false, disabled: false });
    psql.setMode('refused');
    const refused = await runHook(['--config', config, ...facts(STANDBY), 'keepalived', 'backup']);
    psql.setMode('hang');
    const hung = await runHook(['--config', config, ...facts(STANDBY), 'keepalived', 'backup']);

    expect([refused.code, hung.code]).toEqual([0, 0]);
    expect(refused.stderr).toMatch(/pgbouncer=failed step=show database=appdb want=off .*reason="exit 2: psql: error: connection to server/);
    expect(hung.stderr).toMatch(/pgbouncer=failed step=show .*reason="timeout after \d+ ms"/);
    // Bounded: min(1000, timeoutMs / 4) = 500 ms for the step, within the 2 s budget.
    expect(hung.ms).toBeLessThan(2500);
    expect(receiver.received).toHaveLength(2);
  });
});
