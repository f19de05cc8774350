/**
 * `localAddress` (the OS side of the secondaryIp mechanism) in the REAL bundled hook (hooks/dist/vipswitch-hook.cjs,
 * built once here by scripts/build-hook.mjs), run as a child process against a node:http receiver on 127.0.0.1 that
 * checks the wire contract's HMAC and answers per event. `localAddress.ip` points at a fake `ip` (a small executable
 * that logs its argv as JSON lines and keeps the interface's addresses in a state file), and, as root, at a wrapper
 * around the real `ip` inside a fresh network namespace. No fixed sleeps.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { VipEvent } from '../../shared/domain/event';
import type { AcceptedAnswer, DryRunAnswer, EventAnswerBody, IgnoredAnswer, RejectedAnswer } from '../../shared/protocol/answers';
import { deadEndpoint, EventsReceiver, type HookSetup, onBody, pending, PRIMARY_FACTS, runHook, signatureOk, startForTest, useHookBundle, writeHookSetup } from '../support/hook-bundle';

const ADDRESS = '10.0.1.100/24';
const STANDBY_FACTS = { inRecovery: true, timeline: 2, lsn: '0/3000060', systemIdentifier: '7710811430681400266' };

// The wire contract's answers (shared/protocol/answers.ts): a winning claim is 202, the move follows asynchronously.
const ACCEPTED: AcceptedAnswer = { code: 'accepted', decision: 'accepted', message: 'node2 on timeline 2 supersedes node1; committed at epoch 5, the endpoint moves asynchronously', primary: 'node2', epoch: 5, timeline: 2, actuation: 'pending' };
const DRY_RUN: DryRunAnswer = { code: 'dry_run', decision: 'accepted', message: 'dry run: node2 on timeline 2 supersedes node1; nothing was changed', dryRun: true, primary: 'node2', epoch: 5, timeline: 2, actions: [{ mechanism: 'secondary_ip', target: '10.0.1.100', to: 'eni-0a1b2c3d4e5f60002', result: 'planned' }] };
const STALE: RejectedAnswer = { code: 'stale_claim', decision: 'rejected', message: 'possible split brain', primary: 'node1', timeline: 3, epoch: 6, fencing: { policy: 'alert' } };
const IGNORED: IgnoredAnswer = { code: 'ignored', decision: 'ignored', message: 'nothing to move', kind: 'informational' };

// ---------------------------------------------------------------------------------------------------------------
// Receiver: checks each request's signature; answers by a function of the event (default: ignored).

type Reply = { status: number; body: EventAnswerBody | Record<string, unknown> };

class Receiver extends EventsReceiver {
  readonly received: { event: VipEvent; signatureOk: boolean }[] = [];
  answer: (event: VipEvent) => Reply = () => ({ status: 200, body: IGNORED });

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    onBody(req, (rawBody) => {
      const event = JSON.parse(rawBody) as VipEvent;
      const ok = signatureOk(req, rawBody);
      this.received.push({ event, signatureOk: ok });
      const reply = ok ? this.answer(event) : { status: 401, body: { code: 'bad_signature', message: 'no' } };
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Fake `ip`: node with an absolute shebang (no PATH needed), argv logged as JSON lines, state in files of its dir.

interface FakeBehaviour {
  /** Addresses on the interface (`a.b.c.d/len`); `addr add` / `addr del` change it. */
  addresses: string[];
  /** Raw stdout for `-j addr show` instead of the JSON built from `addresses`. */
  showOutput?: string;
  /** Make one kind of call fail with this exit status and stderr. */
  fail?: { on: 'show' | 'add' | 'del'; exit: number; stderr: string };
  /** Make one kind of call hang until killed. */
  hang?: 'show' | 'add' | 'del';
}

const FAKE_IP = `
const fs = require('node:fs');
const path = require('node:path');
const dir = __dirname;
const args = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'calls.jsonl'), JSON.stringify(args) + '\\n');
const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
const kind = args[0] === '-j' && args[1] === 'addr' && args[2] === 'show' ? 'show' : args[0] === 'addr' ? args[1] : 'other';
if (state.hang === kind) setInterval(() => {}, 1000);
else if (state.fail && state.fail.on === kind) { process.stderr.write(state.fail.stderr + '\\n'); process.exit(state.fail.exit); }
else if (kind === 'show') {
  if (state.showOutput !== undefined) process.stdout.write(state.showOutput);
  else {
    const addr_info = state.addresses.map((cidr) => ({ family: 'inet', local: cidr.split('/')[0], prefixlen: Number(cidr.split('/')[1]), scope: 'global', label: args[4], valid_life_time: 4294967295, preferred_life_time: 4294967295 }));
    process.stdout.write(JSON.stringify([{ ifindex: 2, ifname: args[4], flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 9001, operstate: 'UP', addr_info }]) + '\\n');
  }
} else if (kind === 'add') {
  if (state.addresses.includes(args[2])) { process.stderr.write('RTNETLINK answers: File exists\\n'); process.exit(2); }
  state.addresses.push(args[2]);
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state));
} else if (kind === 'del') {
  if (!state.addresses.includes(args[2])) { process.stderr.write('RTNETLINK answers: Cannot assign requested address\\n'); process.exit(2); }
  state.addresses = state.addresses.filter((a) => a !== args[2]);
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state));
} else { process.stderr.write('fake ip: unexpected call\\n'); process.exit(255); }
`;

interface FakeIp {
  path: string;
  calls: () => string[][];
  addresses: () => string[];
}

function fakeIp(parent: string, behaviour: FakeBehaviour): FakeIp {
  const dir = join(parent, 'fake-ip');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'ip');
  writeFileSync(path, `#!${process.execPath}\n${FAKE_IP}`);
  chmodSync(path, 0o755);
  writeFileSync(join(dir, 'state.json'), JSON.stringify(behaviour));
  return {
    path,
    calls: () =>
      existsSync(join(dir, 'calls.jsonl'))
        ? readFileSync(join(dir, 'calls.jsonl'), 'utf8')
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as string[])
        : [],
    addresses: () => (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as FakeBehaviour).addresses,
  };
}

const SHOW = ['-j', 'addr', 'show', 'dev', 'eth0'];
const ADD = ['addr', 'add', ADDRESS, 'dev', 'eth0'];
const DEL = ['addr', 'del', ADDRESS, 'dev', 'eth0'];

// ---------------------------------------------------------------------------------------------------------------
// Receivers and hook configs

function startReceiver(): Promise<Receiver> {
  return startForTest(new Receiver());
}

/** A temp dir with a key file and a hook config; `localAddress` as given (left out when undefined). */
function setup(endpoint: string, localAddress: Record<string, unknown> | undefined, overrides: Record<string, unknown> = {}): HookSetup {
  return writeHookSetup('vipswitch-local-address-', endpoint, () => (localAddress === undefined ? overrides : { ...overrides, localAddress }));
}

/** {@link setup} with localAddress enabled and pointing at a fresh fake ip. */
function setupWithIp(endpoint: string, behaviour: FakeBehaviour, overrides: Record<string, unknown> = {}): HookSetup & { ip: FakeIp } {
  const base = setup(endpoint, undefined, overrides);
  const ip = fakeIp(base.dir, behaviour);
  writeFileSync(base.config, JSON.stringify({ ...JSON.parse(readFileSync(base.config, 'utf8')), localAddress: enabled(ip.path) }));
  return { ...base, ip };
}

function enabled(ip: string): Record<string, unknown> {
  return { enabled: true, address: ADDRESS, interface: 'eth0', ip };
}

/** `repmgr` argv after the mode word, with --facts-json before it. */
function repmgr(config: string, type: string, facts: unknown): string[] {
  return ['--config', config, '--facts-json', JSON.stringify(facts), 'repmgr', '2', type, '1', '2026-11-22 02:08:22.720578+00', '', '', '', ''];
}

function patroni(config: string, action: string, role: string, facts: unknown = null): string[] {
  return ['--config', config, '--facts-json', JSON.stringify(facts), 'patroni', action, role, 'pg-main'];
}

function localLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.includes(' localAddress='));
}

// ---------------------------------------------------------------------------------------------------------------

useHookBundle();

describe('localAddress: --help', () => {
  it('documents the section and when the address is added and removed', async () => {
    const help = await runHook(['--help']);

    expect(help.code).toBe(0);
    expect(help.stdout).toContain('localAddress    optional, off by default: { enabled: true, address: "10.0.1.100/24", interface: "eth0",');
    expect(help.stdout).toContain('"ip -j addr show dev <if>"');
    expect(help.stdout).toMatch(/add {5}when the server answers THIS call's event "accepted" naming this node as primary/);
    expect(help.stdout).toMatch(/remove {2}when this call shows the node is not the primary: facts inRecovery true, Patroni role replica or\n\s+demoted, or Patroni on_stop/);
    expect(help.stdout).toContain('Answers to older spooled events (sent along, or by flush) are never acted on.');
  });
});

describe('localAddress: add on an accepted claim of this node', () => {
  it('checks, then runs "ip addr add <address> dev <if>" when the answer is accepted for this node', async () => {
    const receiver = await startReceiver();
    receiver.answer = () => ({ status: 202, body: ACCEPTED });
    const { config, ip } = setupWithIp(receiver.url, { addresses: ['10.0.1.5/24'] });

    const run = await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS));

    expect(run.code).toBe(0);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]!.signatureOk).toBe(true);
    expect(ip.calls()).toEqual([SHOW, ADD]);
    expect(ip.addresses()).toEqual(['10.0.1.5/24', ADDRESS]);
    expect(localLines(run.stderr)).toHaveLength(1);
    expect(localLines(run.stderr)[0]).toMatch(/localAddress=added address=10\.0\.1\.100\/24 interface=eth0 want=present why="accepted: primary node2 epoch 5" id=\S+ ms=\d+/);
  });

  it('does not add when the address is already on the interface', async () => {
    const receiver = await startReceiver();
    receiver.answer = () => ({ status: 202, body: ACCEPTED });
    const { config, ip } = setupWithIp(receiver.url, { addresses: [ADDRESS] });

    const run = await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS));

    expect(run.code).toBe(0);
    expect(ip.calls()).toEqual([SHOW]);
    expect(localLines(run.stderr)).toEqual([expect.stringMatching(/localAddress=present /)]);
  });

  it('adds on a duplicate whose first answer accepted this node (a retried call)', async () => {
    const receiver = await startReceiver();
    receiver.answer = () => ({ status: 200, body: { code: 'duplicate', decision: 'duplicate', message: 'seen', first: { status: 202, body: ACCEPTED } } });
    const { config, ip } = setupWithIp(receiver.url, { addresses: [] });

    const run = await runHook(patroni(config, 'on_role_change', 'master', PRIMARY_FACTS));

    expect(run.code).toBe(0);
    expect(ip.calls()).toEqual([SHOW, ADD]);
    expect(localLines(run.stderr)).toEqual([expect.stringMatching(/localAddress=added .*why="duplicate of accepted: primary node2 epoch 5"/)]);
  });

  it('changes nothing for a claim answered otherwise (ignored, unverified, dry run), and says so', async () => {
    const receiver = await startReceiver();
    const answers: Reply[] = [
      { status: 200, body: IGNORED },
      { status: 409, body: { code: 'unverified_claim', decision: 'rejected', message: 'no facts' } },
      { status: 200, body: DRY_RUN },
    ];
    receiver.answer = () => answers.shift()!;
    const { config, ip } = setupWithIp(receiver.url, { addresses: [] });

    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS)));

    expect(runs.map((run) => run.code)).toEqual([0, 0, 0]);
    expect(receiver.received).toHaveLength(3);
    expect(ip.calls()).toEqual([]);
    expect(runs.map((run) => localLines(run.stderr))).toEqual([
      [expect.stringMatching(/localAddress=unchanged .*reason="answer ignored"/)],
      [expect.stringMatching(/localAddress=unchanged .*reason="answer unverified_claim"/)],
      [expect.stringMatching(/localAddress=unchanged .*reason="answer dry_run"/)],
    ]);
  });
});

describe('localAddress: remove when the call shows this node is not the primary', () => {
  it.each([
    ['repmgr standby_follow with facts in recovery', (config: string) => repmgr(config, 'standby_follow', STANDBY_FACTS), 'facts: in recovery'],
    ['repmgr node_rejoin in recovery, even if answered accepted', (config: string) => repmgr(config, 'node_rejoin', STANDBY_FACTS), 'facts: in recovery'],
    ['patroni on_role_change replica', (config: string) => patroni(config, 'on_role_change', 'replica'), 'patroni role replica'],
    ['patroni on_role_change demoted', (config: string) => patroni(config, 'on_role_change', 'demoted'), 'patroni role demoted'],
    ['patroni on_stop of the primary', (config: string) => patroni(config, 'on_stop', 'master', PRIMARY_FACTS), 'patroni on_stop'],
  ])('%s: "ip addr del" when present', async (label, args, why) => {
    const receiver = await startReceiver();
    // Whatever the server says: the call's own facts and role win.
    receiver.answer = () => (label.includes('accepted') ? { status: 202, body: ACCEPTED } : { status: 200, body: IGNORED });
    const { config, ip } = setupWithIp(receiver.url, { addresses: ['10.0.1.5/24', ADDRESS] });

    const run = await runHook(args(config));

    expect(run.code).toBe(0);
    expect(receiver.received).toHaveLength(1);
    expect(ip.calls()).toEqual([SHOW, DEL]);
    expect(ip.addresses()).toEqual(['10.0.1.5/24']);
    expect(localLines(run.stderr)).toEqual([expect.stringMatching(new RegExp(`localAddress=removed address=10\\.0\\.1\\.100/24 interface=eth0 want=absent why="${why}"`))]);
  });

  it('removes on a stale_claim answer to its own claim', async () => {
    const receiver = await startReceiver();
    receiver.answer = () => ({ status: 409, body: STALE });
    const { config, ip, spoolDir } = setupWithIp(receiver.url, { addresses: [ADDRESS] });

    const run = await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS));

    expect(run.code).toBe(0);
    expect(ip.calls()).toEqual([SHOW, DEL]);
    expect(ip.addresses()).toEqual([]);
    expect(localLines(run.stderr)).toEqual([expect.stringMatching(/localAddress=removed .*why="stale_claim: primary is node1"/)]);
    expect(readdirSync(join(spoolDir, 'answered'))).toHaveLength(2);
  });

  it('does not delete what is not there', async () => {
    const receiver = await startReceiver();
    const { config, ip } = setupWithIp(receiver.url, { addresses: ['10.0.1.5/24'] });

    const run = await runHook(patroni(config, 'on_role_change', 'replica'));

    expect(run.code).toBe(0);
    expect(ip.calls()).toEqual([SHOW]);
    expect(localLines(run.stderr)).toEqual([expect.stringMatching(/localAddress=absent /)]);
  });
});

describe('localAddress: off by default', () => {
  it('never runs the ip program without the section, or with enabled: false', async () => {
    const receiver = await startReceiver();
    receiver.answer = (event) => (event.facts?.inRecovery === false ? { status: 202, body: ACCEPTED } : { status: 200, body: IGNORED });
    const none = setup(receiver.url, undefined);
    const ip = fakeIp(none.dir, { addresses: [ADDRESS] });
    const off = setup(receiver.url, { ...enabled(ip.path), enabled: false });

    const runs = [];
    for (const { config } of [none, off]) {
      runs.push(await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS)));
      runs.push(await runHook(repmgr(config, 'standby_follow', STANDBY_FACTS)));
      runs.push(await runHook(patroni(config, 'on_stop', 'master')));
    }

    expect(runs.map((run) => run.code)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(receiver.received).toHaveLength(6);
    expect(ip.calls()).toEqual([]);
    expect(runs.every((run) => localLines(run.stderr).length === 0)).toBe(true);
  });
});

describe('localAddress: a failing ip never fails the hook', () => {
  it.each([
    ['add refused', { addresses: [], fail: { on: 'add' as const, exit: 2, stderr: 'RTNETLINK answers: Operation not permitted' } }, /localAddress=failed step=add .*ip=\S+ reason="exit 2: RTNETLINK answers: Operation not permitted"/],
    ['no such device', { addresses: [], fail: { on: 'show' as const, exit: 1, stderr: 'Device "eth0" does not exist.' } }, /localAddress=failed step=show .*reason="exit 1: Device \\"eth0\\" does not exist\."/],
    ['output not JSON (old iproute2)', { addresses: [], showOutput: '2: eth0: <BROADCAST,MULTICAST,UP> mtu 9001' }, /localAddress=failed step=show .*reason="unreadable output of ip -j addr show/],
    ['ip hangs', { addresses: [], hang: 'show' as const }, /localAddress=failed step=show .*reason="timeout after \d+ ms"/],
  ])('%s: exit 0, one log line', async (_label, behaviour, line) => {
    const receiver = await startReceiver();
    receiver.answer = () => ({ status: 202, body: ACCEPTED });
    const { config, ip } = setupWithIp(receiver.url, behaviour);

    const run = await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS));

    expect(run.code).toBe(0);
    expect(receiver.received).toHaveLength(1);
    expect(localLines(run.stderr)).toEqual([expect.stringMatching(line)]);
    expect(run.stderr).toMatch(/outcome=delivered status=202 code=accepted/);
    // A correctness bound, not a benchmark: timeoutMs (2000) + generous slack for process start and exit.
    expect(run.ms).toBeLessThan(2000 + 2000);
  });

  it('a missing ip binary and a failing del are one line each, exit 0', async () => {
    const receiver = await startReceiver();
    const { config, dir } = setup(receiver.url, enabled('/nonexistent/sbin/ip'));
    const ip = fakeIp(dir, { addresses: [ADDRESS], fail: { on: 'del', exit: 2, stderr: 'RTNETLINK answers: Operation not permitted' } });

    const missing = await runHook(patroni(config, 'on_role_change', 'replica'));
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), localAddress: enabled(ip.path) }));
    const refused = await runHook(patroni(config, 'on_stop', 'replica'));

    expect([missing.code, refused.code]).toEqual([0, 0]);
    expect(localLines(missing.stderr)).toEqual([expect.stringMatching(/localAddress=failed step=show .*ip=\/nonexistent\/sbin\/ip reason="ENOENT/)]);
    expect(localLines(refused.stderr)).toEqual([expect.stringMatching(/localAddress=failed step=del .*reason="exit 2: RTNETLINK answers: Operation not permitted"/)]);
    expect(ip.addresses()).toEqual([ADDRESS]);
  });

  it('exits 0 and names the field when the section is invalid (the call is kept in unparsed/)', async () => {
    const receiver = await startReceiver();
    const { config, spoolDir } = setup(receiver.url, { enabled: true, address: '10.0.1.100', interface: 'eth0; reboot', ip: 'ip' });

    const run = await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS));

    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/localAddress\.address: an IPv4 address with its prefix length \(CIDR\)/);
    expect(run.stderr).toMatch(/localAddress\.interface: an interface name like "eth0"/);
    expect(run.stderr).toMatch(/localAddress\.ip: must be an absolute path/);
    expect(readdirSync(join(spoolDir, 'unparsed'))).toHaveLength(1);
    expect(receiver.received).toHaveLength(0);
  });
});

describe("localAddress: only the call's own answer counts, never a flushed older one", () => {
  /** Spool one claim while the endpoint is down, then point the config at `receiver`. */
  async function spoolOlderClaim(receiver: Receiver, addresses: string[]): Promise<{ config: string; spoolDir: string; ip: FakeIp; olderId: string }> {
    const { config, spoolDir, ip } = setupWithIp(await deadEndpoint(), { addresses }, { timeoutMs: 300 });
    const first = await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS));
    expect(first.code).toBe(0);
    expect(localLines(first.stderr)).toEqual([expect.stringMatching(/localAddress=unchanged .*reason="no answer to this call within its budget"/)]);
    const names = pending(spoolDir);
    expect(names).toHaveLength(1);
    const olderId = (JSON.parse(readFileSync(join(spoolDir, names[0]!), 'utf8')) as { event: VipEvent }).event.id;
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), endpoint: receiver.url, timeoutMs: 2000 }));
    return { config, spoolDir, ip, olderId };
  }

  it('an older claim answered accepted, sent along with an unrelated call: no add', async () => {
    const receiver = await startReceiver();
    const { config, spoolDir, ip, olderId } = await spoolOlderClaim(receiver, []);
    receiver.answer = (event) => (event.id === olderId ? { status: 202, body: ACCEPTED } : { status: 200, body: IGNORED });

    const run = await runHook(repmgr(config, 'repmgrd_reload', null));

    expect(run.code).toBe(0);
    expect(receiver.received.map((got) => got.event.id)[0]).toBe(olderId);
    expect(receiver.received).toHaveLength(2);
    expect(pending(spoolDir)).toEqual([]);
    expect(ip.calls()).toEqual([]);
    expect(localLines(run.stderr)).toEqual([]);
  });

  it('an older claim answered stale_claim, sent along with an accepted claim: add (the own answer), no del', async () => {
    const receiver = await startReceiver();
    const { config, ip, olderId } = await spoolOlderClaim(receiver, []);
    receiver.answer = (event) => (event.id === olderId ? { status: 409, body: STALE } : { status: 202, body: ACCEPTED });

    const run = await runHook(repmgr(config, 'repmgrd_failover_promote', PRIMARY_FACTS));

    expect(run.code).toBe(0);
    expect(receiver.received).toHaveLength(2);
    expect(ip.calls()).toEqual([SHOW, ADD]);
    expect(localLines(run.stderr)).toEqual([expect.stringMatching(/localAddress=added .*why="accepted: primary node2/)]);
  });

  it.each([
    ['accepted', [] as string[], { status: 202, body: ACCEPTED }],
    ['stale_claim', [ADDRESS], { status: 409, body: STALE }],
  ])('an older claim answered %s, the own claim left unanswered (503) in its budget: no ip change', async (_label, addresses, older) => {
    const receiver = await startReceiver();
    const { config, spoolDir, ip, olderId } = await spoolOlderClaim(receiver, addresses);
    receiver.answer = (event) => (event.id === olderId ? older : { status: 503, body: { code: 'unavailable', message: 'try later' } });

    const run = await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS));

    expect(run.code).toBe(0);
    expect(receiver.received[0]!.event.id).toBe(olderId);
    expect(receiver.received.length).toBeGreaterThanOrEqual(2);
    expect(pending(spoolDir)).toHaveLength(1);
    expect(ip.calls()).toEqual([]);
    expect(ip.addresses()).toEqual(addresses);
    expect(localLines(run.stderr)).toEqual([expect.stringMatching(/localAddress=unchanged .*reason="no answer to this call within its budget"/)]);
  });

  it('an older claim answered stale_claim while the address is here: no del', async () => {
    const receiver = await startReceiver();
    const { config, ip, olderId } = await spoolOlderClaim(receiver, [ADDRESS]);
    receiver.answer = (event) => (event.id === olderId ? { status: 409, body: STALE } : { status: 200, body: IGNORED });

    const run = await runHook(repmgr(config, 'repmgrd_reload', null));

    expect(run.code).toBe(0);
    expect(receiver.received).toHaveLength(2);
    expect(ip.calls()).toEqual([]);
    expect(ip.addresses()).toEqual([ADDRESS]);
  });

  it('"flush" delivering an older claim answered accepted: no ip call at all', async () => {
    const receiver = await startReceiver();
    const { config, spoolDir, ip, olderId } = await spoolOlderClaim(receiver, []);
    receiver.answer = (event) => (event.id === olderId ? { status: 202, body: ACCEPTED } : { status: 200, body: IGNORED });

    const flush = await runHook(['--config', config, 'flush']);

    expect(flush.code).toBe(0);
    expect(receiver.received.map((got) => got.event.id)).toEqual([olderId]);
    expect(pending(spoolDir)).toEqual([]);
    expect(ip.calls()).toEqual([]);
    expect(localLines(flush.stderr)).toEqual([]);
  });
});

describe('localAddress with the real ip in a fresh network namespace (root)', () => {
  const ns = `vipswitch-test-${randomBytes(4).toString('hex')}`;
  let created = false;

  beforeAll(() => {
    // Fails (rather than skips) where namespaces cannot be made: this check is part of the suite.
    execFileSync('/usr/sbin/ip', ['netns', 'add', ns], { stdio: 'pipe' });
    created = true;
    // A veth pair (the dummy driver is not in every kernel) standing in for the ENI's interface.
    execFileSync('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/sbin/ip', 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1'], { stdio: 'pipe' });
    execFileSync('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/sbin/ip', 'link', 'set', 'd0', 'up'], { stdio: 'pipe' });
  });

  afterAll(() => {
    if (created) execFileSync('/usr/sbin/ip', ['netns', 'del', ns], { stdio: 'pipe' });
  });

  /** The IPv4 addresses on d0 inside the namespace, as the real ip reports them. */
  function addressesOnD0(): string[] {
    const out = execFileSync('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/sbin/ip', '-j', 'addr', 'show', 'dev', 'd0'], { encoding: 'utf8' });
    const links = JSON.parse(out) as { addr_info: { family: string; local: string; prefixlen: number }[] }[];
    return links.flatMap((link) => link.addr_info.filter((info) => info.family === 'inet').map((info) => `${info.local}/${info.prefixlen}`));
  }

  it('really adds the address on an accepted claim and removes it when the node is back in recovery', async () => {
    const receiver = await startReceiver();
    const { config, dir } = setup(receiver.url, undefined);
    const wrapper = join(dir, 'ip-in-netns');
    writeFileSync(wrapper, `#!/bin/sh\nexec /usr/sbin/ip netns exec ${ns} /usr/sbin/ip "$@"\n`);
    chmodSync(wrapper, 0o755);
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), localAddress: { enabled: true, address: ADDRESS, interface: 'd0', ip: wrapper } }));
    const before = addressesOnD0();

    receiver.answer = () => ({ status: 202, body: ACCEPTED });
    const promote = await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS));
    const afterPromote = addressesOnD0();
    const again = await runHook(repmgr(config, 'standby_promote', PRIMARY_FACTS));
    const afterAgain = addressesOnD0();
    receiver.answer = () => ({ status: 200, body: IGNORED });
    const follow = await runHook(repmgr(config, 'standby_follow', STANDBY_FACTS));
    const afterFollow = addressesOnD0();

    expect([promote.code, again.code, follow.code]).toEqual([0, 0, 0]);
    expect(before).toEqual([]);
    expect(afterPromote).toEqual([ADDRESS]);
    expect(localLines(promote.stderr)).toEqual([expect.stringMatching(/localAddress=added address=10\.0\.1\.100\/24 interface=d0/)]);
    expect(afterAgain).toEqual([ADDRESS]);
    expect(localLines(again.stderr)).toEqual([expect.stringMatching(/localAddress=present /)]);
    expect(afterFollow).toEqual([]);
    expect(localLines(follow.stderr)).toEqual([expect.stringMatching(/localAddress=removed .*why="facts: in recovery"/)]);
  });
});
