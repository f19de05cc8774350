/**
 * The REAL bundled hook (hooks/dist/vipswitch-hook.cjs, built once here by scripts/build-hook.mjs), run as a child
 * process against a node:http receiver on 127.0.0.1 that checks the wire contract's headers and HMAC.
 * Fixtures are the live captures (test/fixtures/peers, copied from shared/peers). No fixed sleeps: every wait polls a condition with a deadline.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { VipEvent } from '../../shared/domain/event';
import type { AcceptedAnswer, DuplicateAnswer, EventAnswerBody } from '../../shared/protocol/answers';
import { HEADER } from '../../shared/protocol/signature';
import {
  BUNDLE,
  deadEndpoint,
  EventsReceiver,
  type HookRun,
  type HookSetup,
  KEY,
  killAfterTest,
  onBody,
  pending,
  PRIMARY_FACTS,
  ROOT,
  runHook,
  signatureOk,
  startForTest,
  startHook,
  useHookBundle,
  writeConfig,
  writeHookSetup,
} from '../support/hook-bundle';

// The live captures, copied unedited from shared/peers into the repo (a clean clone has nothing outside it).
const PEERS = join(ROOT, 'test', 'fixtures', 'peers');

// ---------------------------------------------------------------------------------------------------------------
// Receiver: records every request with its verdict on the wire contract; answers by a programmable plan.

interface Received {
  event: VipEvent;
  rawBody: string;
  nodeHeader: string | undefined;
  contentType: string | undefined;
  timestamp: string;
  signatureOk: boolean;
}
type Reply = { status: number; body: EventAnswerBody | Record<string, unknown> } | 'hang';

/** The wire contract's answer to a winning claim (shared/protocol/answers.ts): 202, the endpoint moves asynchronously. */
const ACCEPTED: AcceptedAnswer = { code: 'accepted', decision: 'accepted', message: 'node2 on timeline 2 supersedes node1; committed at epoch 2, the endpoint moves asynchronously', epoch: 2, primary: 'node2', timeline: 2, actuation: 'pending' };

class Receiver extends EventsReceiver {
  readonly received: Received[] = [];
  /** Answer for the next requests, in order; when empty, `fallback`. */
  plan: Reply[] = [];
  fallback: Reply = { status: 202, body: ACCEPTED };
  /** Simulated server latency before each answer. */
  latencyMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  private readonly hanging: ServerResponse[] = [];

  override async stop(): Promise<void> {
    for (const res of this.hanging.splice(0)) res.destroy();
    await super.stop();
  }

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    onBody(req, (rawBody) => {
      this.received.push({
        event: JSON.parse(rawBody) as VipEvent,
        rawBody,
        nodeHeader: req.headers[HEADER.node] as string | undefined,
        contentType: req.headers['content-type'],
        timestamp: String(req.headers[HEADER.timestamp] ?? ''),
        signatureOk: signatureOk(req, rawBody),
      });
      const reply = this.plan.shift() ?? this.fallback;
      if (reply === 'hang') {
        this.hanging.push(res);
        return;
      }
      const answer = (): void => void res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
      if (this.latencyMs > 0) setTimeout(answer, this.latencyMs);
      else answer();
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A temp dir with a key file and a hook config logging to hook.log there (see {@link writeHookSetup}). */
function setup(endpoint: string, overrides: Record<string, unknown> = {}): HookSetup {
  return writeHookSetup('vipswitch-hook-', endpoint, (dir) => ({ logFile: join(dir, 'hook.log'), ...overrides }));
}

function readRecord(spoolDir: string, name: string): { state: string; pid: number; event: VipEvent } {
  return JSON.parse(readFileSync(join(spoolDir, name), 'utf8'));
}

function startReceiver(port = 0): Promise<Receiver> {
  return startForTest(new Receiver(), port);
}

function repmgrArgs(event: string, details = '', extra: string[] = []): string[] {
  return ['repmgr', '2', event, '1', '2026-11-22 02:08:22.720578+00', details, '', '', '', ...extra];
}

interface Capture {
  argv: string[];
}
function captures(file: string): string[][] {
  return readFileSync(join(PEERS, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Capture & { kind: string })
    .filter((line) => line.kind === 'invocation')
    .map((line) => line.argv.slice(1));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------

useHookBundle();

describe('vipswitch-hook bundle', () => {
  it('is one executable file that needs only node: built-ins', async () => {
    // Arrange
    const text = readFileSync(BUNDLE, 'utf8');
    const required = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);

    // Act
    const version = await runHook(['--version']);
    const help = await runHook(['--help']);

    // Assert
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(required.length).toBeGreaterThan(0);
    expect(required.every((name) => name!.startsWith('node:'))).toBe(true);
    expect(text).not.toMatch(/\bfetch\(/);
    expect(version).toMatchObject({ code: 0 });
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`event_notification_command='/usr/local/bin/vipswitch-hook repmgr %n %e %s "%t" "%d" "%a" "%c" "%p"'`);
    expect(help.stdout).toMatch(/double-quoted/);
    expect(help.stdout).toMatch(/'\$', backtick or '\\'/);
    expect(help.stdout).toContain('on_role_change: /usr/local/bin/vipswitch-hook --config /etc/vipswitch/hook.json patroni');
  });

  it('rejects an unknown option outside a tool call with exit 2', async () => {
    const run = await runHook(['--bogus']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown option "--bogus"');
  });
});

describe('vipswitch-hook repmgr', () => {
  it('sends every captured repmgr argv shape, signed, with the argv verbatim (extra %r %m %z % tolerated)', async () => {
    // Arrange: one real capture per event type, as repmgr passed it (argv after the capture script).
    const receiver = await startReceiver();
    const { config, spoolDir } = setup(receiver.url);
    const byType = new Map<string, string[]>();
    for (const argv of captures('repmgr-events.jsonl')) if (!byType.has(argv[1]!)) byType.set(argv[1]!, argv);
    const calls = [...byType.values()];
    expect(calls.length).toBeGreaterThanOrEqual(20);

    // Act
    const runs: HookRun[] = [];
    for (const argv of calls) runs.push(await runHook(['--config', config, 'repmgr', ...argv]));

    // Assert
    expect(runs.map((run) => run.code)).toEqual(calls.map(() => 0));
    expect(receiver.received).toHaveLength(calls.length);
    receiver.received.forEach((got, i) => {
      const argv = calls[i]!;
      expect(got.signatureOk).toBe(true);
      expect(got.nodeHeader).toBe('pg-main/node2');
      expect(got.contentType).toBe('application/json');
      expect(got.event).toMatchObject({ v: 1, cluster: 'pg-main', node: 'node2', source: 'repmgr', type: argv[1], success: argv[2] === '1', role: null, details: argv[4], facts: null });
      expect(got.event.raw.argv).toEqual(argv);
      expect(Date.parse(got.event.occurredAt)).toBe(Date.parse(argv[3]!.replace(' ', 'T').replace(/\+00(00)?$/, 'Z')));
    });
    expect(new Set(receiver.received.map((got) => got.event.id)).size).toBe(calls.length);
    expect(pending(spoolDir)).toEqual([]);
    expect(runs[0]!.stderr).toMatch(/outcome=delivered status=202 code=accepted attempts=1 ms=\d+/);
  });

  it('tolerates a command cut at 1023 bytes (trailing args missing) and sends --facts-json facts', async () => {
    const receiver = await startReceiver();
    const { config } = setup(receiver.url);

    const run = await runHook(['--config', config, '--facts-json', JSON.stringify(PRIMARY_FACTS), 'repmgr', '2', 'standby_promote', '1', '2026-11-22 02:08:21+0000', 'server "node2" (ID: 2) was successfully promo']);

    expect(run.code).toBe(0);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.signatureOk).toBe(true);
    expect(receiver.received[0]!.event).toMatchObject({ type: 'standby_promote', occurredAt: '2026-11-22T02:08:21.000Z', facts: PRIMARY_FACTS });
  });

  it('keeps the call and exits 0 when the receiver is down; flush then delivers in order (exit 1 while it cannot)', async () => {
    // Arrange
    const down = await deadEndpoint();
    const { config, spoolDir } = setup(down, { timeoutMs: 600, flushTimeoutMs: 1000 });
    const types = ['standby_promote', 'repmgrd_failover_promote', 'repmgrd_reload'];

    // Act: three calls while nothing listens
    const runs: HookRun[] = [];
    for (const type of types) runs.push(await runHook(['--config', config, 'repmgr', ...repmgrArgs(type).slice(1)]));
    const spooled = pending(spoolDir).map((name) => readRecord(spoolDir, name));
    const flushDown = await runHook(['--config', config, 'flush'], { VIPSWITCH_TIMEOUT_MS: '600' });
    const receiver = await startReceiver();
    writeConfig(config, { ...JSON.parse(readFileSync(config, 'utf8')), endpoint: receiver.url });
    const flushUp = await runHook(['--config', config, 'flush']);

    // Assert
    expect(runs.map((run) => run.code)).toEqual([0, 0, 0]);
    expect(runs[0]!.stderr).toMatch(/outcome=spooled .*ECONNREFUSED/);
    expect(spooled.map((record) => record.event.type)).toEqual(types);
    expect(spooled.every((record) => record.state === 'ready')).toBe(true);
    expect(flushDown.code).toBe(1);
    expect(flushDown.stderr).toMatch(/flush=incomplete .*pending=3/);
    expect(flushUp.code).toBe(0);
    expect(receiver.received.map((got) => got.event.id)).toEqual(spooled.map((record) => record.event.id));
    expect(receiver.received.every((got) => got.signatureOk)).toBe(true);
    expect(pending(spoolDir)).toEqual([]);
  }, 90_000);

  it('delivers what is spooled, oldest first, on the next hook call', async () => {
    const down = await deadEndpoint();
    const { config, spoolDir } = setup(down, { timeoutMs: 400 });
    await runHook(['--config', config, 'repmgr', ...repmgrArgs('standby_promote').slice(1)]);
    await runHook(['--config', config, 'repmgr', ...repmgrArgs('repmgrd_failover_promote').slice(1)]);
    const spooledIds = pending(spoolDir).map((name) => readRecord(spoolDir, name).event.id);
    const receiver = await startReceiver();

    const next = await runHook(['--config', config, 'repmgr', ...repmgrArgs('repmgrd_reload').slice(1)], { VIPSWITCH_ENDPOINT: receiver.url, VIPSWITCH_TIMEOUT_MS: '3000' });

    expect(next.code).toBe(0);
    expect(spooledIds).toHaveLength(2);
    expect(receiver.received.map((got) => got.event.type)).toEqual(['standby_promote', 'repmgrd_failover_promote', 'repmgrd_reload']);
    expect(receiver.received.slice(0, 2).map((got) => got.event.id)).toEqual(spooledIds);
    expect(pending(spoolDir)).toEqual([]);
  });

  it('retries 503 with backoff and delivers on the third attempt, each attempt signed afresh', async () => {
    const receiver = await startReceiver();
    receiver.plan = [
      { status: 503, body: { code: 'unavailable', message: 'try later' } },
      { status: 503, body: { code: 'unavailable', message: 'try later' } },
    ];
    const { config, spoolDir } = setup(receiver.url);

    const run = await runHook(['--config', config, 'repmgr', ...repmgrArgs('standby_promote').slice(1)]);

    expect(run.code).toBe(0);
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((got) => got.event.id)).size).toBe(1);
    expect(receiver.received.every((got) => got.signatureOk)).toBe(true);
    expect(run.stderr).toMatch(/outcome=delivered status=202 code=accepted attempts=3/);
    expect(pending(spoolDir)).toEqual([]);
  });

  it('moves a record answered 401 to answered/ with the answer, and logs it', async () => {
    const receiver = await startReceiver();
    receiver.fallback = { status: 401, body: { code: 'bad_signature', message: 'signature does not match' } };
    const { config, spoolDir, dir } = setup(receiver.url);

    const run = await runHook(['--config', config, 'repmgr', ...repmgrArgs('standby_promote').slice(1)]);

    expect(run.code).toBe(0);
    expect(receiver.received).toHaveLength(1);
    expect(pending(spoolDir)).toEqual([]);
    const answered = readdirSync(join(spoolDir, 'answered')).sort();
    expect(answered).toHaveLength(2);
    const answer = JSON.parse(readFileSync(join(spoolDir, 'answered', answered.find((name) => name.endsWith('.answer.json'))!), 'utf8'));
    const record = JSON.parse(readFileSync(join(spoolDir, 'answered', answered.find((name) => !name.endsWith('.answer.json'))!), 'utf8'));
    expect(answer).toMatchObject({ status: 401, code: 'bad_signature', message: 'signature does not match', attempts: 1 });
    expect(record.event.id).toBe(receiver.received[0]!.event.id);
    expect(run.stderr).toMatch(/outcome=answered status=401 code=bad_signature/);
    expect(readFileSync(join(dir, 'hook.log'), 'utf8')).toMatch(/outcome=answered status=401/);
    expect(run.stderr).not.toContain(KEY);
    expect(readFileSync(join(dir, 'hook.log'), 'utf8')).not.toContain(KEY);
  });

  it('keeps the foreground bound when the receiver hangs', async () => {
    const receiver = await startReceiver();
    receiver.fallback = 'hang';
    const timeoutMs = 1000;
    const { config, spoolDir } = setup(receiver.url, { timeoutMs });

    const run = await runHook(['--config', config, 'repmgr', ...repmgrArgs('standby_promote').slice(1)]);

    expect(run.code).toBe(0);
    expect(receiver.received).toHaveLength(1);
    // A correctness bound, not a benchmark: budget + generous slack for process start and exit.
    expect(run.ms).toBeLessThan(timeoutMs + 2000);
    expect(run.stderr).toMatch(/outcome=spooled .*reason="timeout after \d+ ms"/);
    expect(pending(spoolDir)).toHaveLength(1);
  });

  it('exits 0 on bad config, names the bad field, and keeps the raw call in unparsed/', async () => {
    const receiver = await startReceiver();
    const { config, spoolDir } = setup(receiver.url, { timeoutMs: 'soon', cluster: 'pg main' });
    const args = ['--config', config, 'repmgr', ...repmgrArgs('standby_promote').slice(1)];

    const run = await runHook(args);
    const fromEnv = await runHook(args, { VIPSWITCH_TIMEOUT_MS: 'abc', VIPSWITCH_KEY_FILE: 'relative.key' });
    const flush = await runHook(['--config', config, 'flush']);

    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/timeoutMs: must be an integer/);
    expect(run.stderr).toMatch(/cluster: required, letters/);
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stderr).toMatch(/timeoutMs \(from VIPSWITCH_TIMEOUT_MS\): must be an integer/);
    expect(fromEnv.stderr).toMatch(/keyFile \(from VIPSWITCH_KEY_FILE\): must be an absolute path/);
    expect(flush.code).toBe(2);
    expect(receiver.received).toHaveLength(0);
    const unparsed = readdirSync(join(spoolDir, 'unparsed'));
    expect(unparsed).toHaveLength(2);
    const kept = JSON.parse(readFileSync(join(spoolDir, 'unparsed', unparsed.sort()[0]!), 'utf8'));
    expect(kept).toMatchObject({ kind: 'unparsed', argv: args });
    expect(kept.error).toMatch(/timeoutMs/);
  });

  it('exits 0 on a missing key file and on bad repmgr argv or --facts-json, naming what is wrong', async () => {
    const receiver = await startReceiver();
    const { config, spoolDir, dir } = setup(receiver.url);

    const noKey = await runHook(['--config', config, 'repmgr', ...repmgrArgs('standby_promote').slice(1)], { VIPSWITCH_KEY_FILE: join(dir, 'missing.key') });
    // A line without %t is an event (the hook's clock stands in); one without a numeric %n is not.
    const badArgv = await runHook(['--config', config, 'repmgr', 'two', 'standby_promote', '1', '2026-11-22 02:08:22.720578+00', '']);
    const badFacts = await runHook(['--config', config, '--facts-json', '{"inRecovery":false,"timeline":"2"}', 'repmgr', ...repmgrArgs('standby_promote').slice(1)]);
    const badFlag = await runHook(['--config', config, '--bogus', 'repmgr', ...repmgrArgs('standby_promote').slice(1)]);

    expect([noKey.code, badArgv.code, badFacts.code, badFlag.code]).toEqual([0, 0, 0, 0]);
    expect(noKey.stderr).toMatch(/keyFile: cannot read .*missing\.key \(ENOENT\)/);
    expect(badArgv.stderr).toMatch(/%n: node id must be a positive integer, got "two"/);
    expect(badFacts.stderr).toMatch(/--facts-json: timeline: must be a positive integer/);
    expect(badFlag.stderr).toMatch(/unknown option "--bogus"/);
    expect(readdirSync(join(spoolDir, 'unparsed'))).toHaveLength(4);
    expect(receiver.received).toHaveLength(0);
  });

  it('sends one request at a time when several hook calls run at once', async () => {
    const receiver = await startReceiver();
    receiver.latencyMs = 60;
    const { config, spoolDir } = setup(receiver.url, { timeoutMs: 8000 });

    const runs = await Promise.all(
      ['standby_promote', 'repmgrd_failover_promote', 'repmgrd_reload', 'standby_follow', 'child_node_new_connect'].map((type) =>
        runHook(['--config', config, 'repmgr', ...repmgrArgs(type).slice(1)]),
      ),
    );

    expect(runs.map((run) => run.code)).toEqual([0, 0, 0, 0, 0]);
    expect(receiver.received).toHaveLength(5);
    expect(new Set(receiver.received.map((got) => got.event.id)).size).toBe(5);
    expect(receiver.maxInFlight).toBe(1);
    expect(pending(spoolDir)).toEqual([]);
    // A call whose record another call sent along says so; none claims its delivered event is still spooled.
    const lines = runs.flatMap((run) => run.stderr.split('\n').filter((line) => line.includes(' outcome=')));
    expect(lines.filter((line) => line.includes('outcome=spooled'))).toEqual([]);
    for (const got of receiver.received) {
      expect(lines.filter((line) => line.includes(`id=${got.event.id} `) && line.includes('outcome=delivered'))).toHaveLength(1);
    }
  });
});

describe('vipswitch-hook patroni', () => {
  it('sends a Patroni callback from the captures, signed, with the member name from config', async () => {
    const receiver = await startReceiver();
    const { config } = setup(receiver.url);
    const [first] = captures('patroni-callbacks.jsonl').filter((argv) => argv[0] === 'on_role_change' && argv[1] === 'replica');

    const replica = await runHook(['--config', config, 'patroni', ...first!]);
    const primary = await runHook(['--config', config, '--facts-json', JSON.stringify(PRIMARY_FACTS), 'patroni', 'on_role_change', 'master', 'peers-demo']);

    expect([replica.code, primary.code]).toEqual([0, 0]);
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received.every((got) => got.signatureOk && got.nodeHeader === 'pg-main/node2')).toBe(true);
    expect(receiver.received[0]!.event).toMatchObject({ source: 'patroni', type: 'on_role_change', role: 'replica', node: 'node2', facts: null, raw: { argv: first } });
    expect(receiver.received[1]!.event).toMatchObject({ source: 'patroni', type: 'on_role_change', role: 'master', facts: PRIMARY_FACTS });
  });

  describe('promotion wait (fake psql that logs how it was called)', () => {
    function fakePsql(dir: string, script: string): string {
      const path = join(dir, 'fake-psql');
      writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$@" > "$FAKE_PSQL_DIR/argv"\necho "$PGCONNECT_TIMEOUT" > "$FAKE_PSQL_DIR/connect-timeout"\n${script}\n`);
      chmodSync(path, 0o755);
      return path;
    }

    it('polls until pg_is_in_recovery() is false, then claims with the walfile timeline', async () => {
      const receiver = await startReceiver();
      const { config, dir } = setup(receiver.url);
      const state = join(dir, 'fake');
      mkdirSync(state);
      // In recovery for the first two probes, then promoted onto timeline 2.
      const psql = fakePsql(dir, `n=$(cat "$FAKE_PSQL_DIR/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$FAKE_PSQL_DIR/count"\nif [ $n -le 2 ]; then echo 't|7710812560328581857|1|0/5000000'; else echo 'f|7710812560328581857|2|0/50000A0'; fi`);
      writeConfig(config, { ...JSON.parse(readFileSync(config, 'utf8')), promoteWaitMs: 5000, pg: { host: '/run/pg', port: 5433, user: 'postgres', dbname: 'postgres', psql } });

      const run = await runHook(['--config', config, 'patroni', 'on_role_change', 'master', 'peers-demo'], { FAKE_PSQL_DIR: state });

      expect(run.code).toBe(0);
      expect(Number(readFileSync(join(state, 'count'), 'utf8'))).toBe(3);
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]!.event.facts).toEqual({ inRecovery: false, timeline: 2, lsn: '0/50000A0', systemIdentifier: '7710812560328581857' });
      const argv = readFileSync(join(state, 'argv'), 'utf8').split('\n');
      expect(argv.slice(0, 15)).toEqual(['-X', '-A', '-t', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-h', '/run/pg', '-p', '5433', '-U', 'postgres', '-d', 'postgres']);
      expect(argv[15]).toBe('-c');
      expect(argv.slice(16).join('\n')).toMatch(/case when s\.r then .* else \('x'\|\|substr\(pg_walfile_name\(pg_current_wal_lsn\(\)\),1,8\)\)::bit\(32\)::int end/);
      expect(readFileSync(join(state, 'connect-timeout'), 'utf8').trim()).toBe('1');
    });

    it('sends what it saw (still in recovery) when promotion does not finish within promoteWaitMs', async () => {
      const receiver = await startReceiver();
      const { config, dir } = setup(receiver.url);
      const state = join(dir, 'fake');
      mkdirSync(state);
      const psql = fakePsql(dir, `echo 't|7710812560328581857||0/5000000'`);
      writeConfig(config, { ...JSON.parse(readFileSync(config, 'utf8')), promoteWaitMs: 400, pg: { host: '/run/pg', port: 5433, user: 'postgres', dbname: 'postgres', psql } });

      const run = await runHook(['--config', config, 'patroni', 'on_role_change', 'master', 'peers-demo'], { FAKE_PSQL_DIR: state });

      expect(run.code).toBe(0);
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]!.event.facts).toEqual({ inRecovery: true, timeline: null, lsn: '0/5000000', systemIdentifier: '7710812560328581857' });
    });

    it('leaves a complete record with facts null when SIGKILLed mid-probe; flush sends it as such', async () => {
      const receiver = await startReceiver();
      const { config, dir, spoolDir } = setup(receiver.url);
      const state = join(dir, 'fake');
      mkdirSync(state);
      // Hangs like a psql stuck on a dead server; records its pid so the test can always stop it.
      const psql = fakePsql(dir, `echo $$ > "$FAKE_PSQL_DIR/pid"\nexec sleep 60`);
      writeConfig(config, { ...JSON.parse(readFileSync(config, 'utf8')), timeoutMs: 30000, probeTimeoutMs: 20000, pg: { host: '/run/pg', port: 5433, user: 'postgres', dbname: 'postgres', psql } });

      const hook = startHook(['--config', config, 'patroni', 'on_role_change', 'replica', 'peers-demo'], { FAKE_PSQL_DIR: state });
      await waitFor('the probe to start', () => existsSync(join(state, 'pid')) && readFileSync(join(state, 'pid'), 'utf8').trim() !== '');
      killAfterTest(Number(readFileSync(join(state, 'pid'), 'utf8')));
      process.kill(-hook.child.pid!, 'SIGKILL'); // like Patroni: the hook and its children
      const killed = await hook.done;
      const names = pending(spoolDir);
      const record = readRecord(spoolDir, names[0]!);
      const flush = await runHook(['--config', config, 'flush']);

      expect(killed.signal).toBe('SIGKILL');
      expect(names).toHaveLength(1);
      expect(record).toMatchObject({ state: 'probing', pid: hook.child.pid, event: { type: 'on_role_change', role: 'replica', facts: null } });
      expect(flush.code).toBe(0);
      expect(receiver.received).toHaveLength(1);
      expect(receiver.received[0]!.event).toEqual(record.event);
      expect(receiver.received[0]!.signatureOk).toBe(true);
      expect(pending(spoolDir)).toEqual([]);
    });
  });
});

describe('vipswitch-hook killed mid-send', () => {
  it('leaves a complete spool record (and a stale lock) that a later flush delivers', async () => {
    // Arrange: the receiver holds the request open, so the hook is mid-send when killed.
    const receiver = await startReceiver();
    receiver.fallback = 'hang';
    const { config, spoolDir } = setup(receiver.url, { timeoutMs: 30000 });

    // Act
    const hook = startHook(['--config', config, '--facts-json', JSON.stringify(PRIMARY_FACTS), 'repmgr', ...repmgrArgs('standby_promote').slice(1)]);
    await waitFor('the hook to be mid-send', () => receiver.received.length === 1);
    process.kill(-hook.child.pid!, 'SIGKILL');
    const killed = await hook.done;
    const names = pending(spoolDir);
    const record = readRecord(spoolDir, names[0]!);
    const lock = readFileSync(join(spoolDir, '.lock'), 'utf8');
    receiver.fallback = { status: 200, body: { code: 'duplicate', decision: 'duplicate', message: 'this event id was already processed; `first` is the answer it got', first: { status: 202, body: ACCEPTED } } satisfies DuplicateAnswer };
    const flush = await runHook(['--config', config, 'flush']);

    // Assert
    expect(killed.signal).toBe('SIGKILL');
    expect(isAlive(hook.child.pid!)).toBe(false);
    expect(names).toHaveLength(1);
    expect(record).toMatchObject({ state: 'ready', event: { type: 'standby_promote', facts: PRIMARY_FACTS } });
    expect(lock.trim()).toBe(String(hook.child.pid));
    expect(flush.code).toBe(0);
    expect(receiver.received).toHaveLength(2);
    expect(receiver.received[1]!.event).toEqual(record.event);
    expect(receiver.received[1]!.rawBody).toBe(receiver.received[0]!.rawBody);
    expect(pending(spoolDir)).toEqual([]);
    expect(existsSync(join(spoolDir, '.lock'))).toBe(false);
  });
});
