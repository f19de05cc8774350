/**
 * The pgpool mode on the node: `pcp_watchdog_info -v` through a fake that prints captured answers (or fails, or hangs),
 * the leadership token (the clock read BEFORE the probe, strictly increasing per node, persisted), and the dispatcher's
 * bounds (a release is probed for at most 300 ms: pcp hangs during the watchdog's own shutdown).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HookConfig, PcpConfig } from '../../hooks/src/config';
import { validateHookConfig } from '../../hooks/src/config';
import { probeCallFacts, RELEASE_PROBE_MAX_MS } from '../../hooks/src/modes';
import { LeadershipClock, pcpArgs, pgpoolFacts, probeWatchdog, TOKEN_FILE } from '../../hooks/src/watchdog-probe';
import type { WatchdogFacts } from '../../shared/domain/event';
import { buildEvent } from '../../shared/protocol/build-event';
import { writeFakePcp } from '../support/fake-tools';
import { loadPgpoolInvocations } from '../support/peer-captures';
import { removeTempDirs, tempDir } from '../support/temp';

afterAll(() => removeTempDirs());

const captures = loadPgpoolInvocations();
const answerAt = (line: number): string => captures.find((c) => c.line === line)!.pcpVerbose!;
const pcpConfig = (command: string, overrides: Partial<PcpConfig> = {}): PcpConfig => ({ command, host: '127.0.0.1', port: 29890, user: 'pcpadmin', passFile: null, ...overrides });
const LEADER: WatchdogFacts = { leader: true, quorum: true, escalated: true, token: null, localState: 'LEADER', quorumState: 'QUORUM EXIST' };
const silentLog = { line: () => undefined, message: () => undefined };

describe('pcp_watchdog_info', () => {
  it('is run as the capture ran it: -h -p -U when configured, -w (never prompt), -v; nothing else', () => {
    expect(pcpArgs(pcpConfig('/usr/sbin/pcp_watchdog_info'))).toEqual(['-h', '127.0.0.1', '-p', '29890', '-U', 'pcpadmin', '-w', '-v']);
    expect(pcpArgs({ command: '/usr/sbin/pcp_watchdog_info', host: null, port: null, user: null, passFile: null })).toEqual(['-w', '-v']);
  });

  it('reads the captured answers into facts: the leader at if_up (L2), the thawed old leader without quorum (L82)', async () => {
    const fake = writeFakePcp(tempDir('vipswitch-pcp-'), answerAt(2));
    expect(await probeWatchdog(pcpConfig(fake.path), 2000)).toEqual({ leader: true, quorum: true, escalated: true, token: null, localState: 'LEADER', quorumState: 'QUORUM EXIST' });
    fake.answer(answerAt(82));
    expect(await probeWatchdog(pcpConfig(fake.path, { passFile: '/etc/vipswitch/pcppass' }), 2000)).toMatchObject({ leader: true, quorum: false, escalated: false, quorumState: 'QUORUM ABSENT' });
    expect(fake.calls().map((c) => c.pcppassfile)).toEqual([process.env.PCPPASSFILE ?? null, '/etc/vipswitch/pcppass']);
  });

  it('is null, never a guess, when pcp fails, hangs past the bound, is missing, or prints something else', async () => {
    const fake = writeFakePcp(tempDir('vipswitch-pcp-'), answerAt(2));
    fake.setMode('socket');
    expect(await probeWatchdog(pcpConfig(fake.path), 2000)).toBeNull();
    fake.setMode('hang');
    const started = performance.now();
    expect(await probeWatchdog(pcpConfig(fake.path), 200)).toBeNull();
    expect(performance.now() - started).toBeLessThan(1500);
    expect(await probeWatchdog(pcpConfig('/nonexistent/pcp_watchdog_info'), 500)).toBeNull();
    fake.setMode('ok');
    fake.answer('3 3 YES 127.0.0.1:29990 Linux vm 127.0.0.1\n');
    expect(await probeWatchdog(pcpConfig(fake.path), 2000)).toBeNull();
  });
});

describe('LeadershipClock', () => {
  it('mints the clock, strictly increasing per node, persisted beside the spool; a clock stepped back still moves forward', () => {
    const dir = tempDir('vipswitch-token-');
    let wall = 1_796_055_650_651;
    const clock = new LeadershipClock(dir, () => wall);

    const first = clock.mint(clock.read());
    wall -= 5000; // NTP steps the clock back
    const second = new LeadershipClock(dir, () => wall).mint(wall);
    const third = clock.mint(first.token); // the same instant again

    expect(first).toEqual({ token: 1_796_055_650_651, persisted: true });
    expect(second.token).toBe(1_796_055_650_652);
    expect(third.token).toBe(1_796_055_650_653);
    expect(readFileSync(join(dir, TOKEN_FILE), 'utf8')).toBe('1796055650653\n');
  });

  it('still gives a token when the state file cannot be written (and says so)', () => {
    const minted = new LeadershipClock(join(tempDir('vipswitch-token-'), 'missing'), () => 42).mint(42);
    expect(minted).toMatchObject({ token: 42, persisted: false, reason: 'ENOENT' });
  });
});

describe('pgpoolFacts: the token is the clock read BEFORE the probe', () => {
  it('a hook frozen during its probe (SIGSTOP, scenario h) carries the time before, never a later one', async () => {
    let wall = 1_000_000;
    const clock = new LeadershipClock(tempDir('vipswitch-token-'), () => wall);
    const frozen = async () => {
      wall += 20_000; // 20 s pass while pcp answers
      return LEADER;
    };

    const { facts } = await pgpoolFacts(true, frozen, clock);

    expect(facts).toMatchObject({ leader: true, token: 1_000_000 });
  });

  it('no token on a release, nor for a node that is not the quorum-backed leader, nor without an answer', async () => {
    const clock = new LeadershipClock(tempDir('vipswitch-token-'), () => 5);
    expect((await pgpoolFacts(false, async () => LEADER, clock)).facts).toMatchObject({ token: null });
    expect((await pgpoolFacts(true, async () => ({ ...LEADER, quorum: false }), clock)).facts).toMatchObject({ token: null });
    expect((await pgpoolFacts(true, async () => ({ ...LEADER, escalated: false }), clock)).facts).toMatchObject({ token: null });
    expect((await pgpoolFacts(true, async () => null, clock)).facts).toBeNull();
  });
});

describe('probeCallFacts, pgpool', () => {
  function config(dir: string, pcp: string, overrides: Record<string, unknown> = {}): HookConfig {
    return validateHookConfig({ endpoint: 'http://127.0.0.1:9/v1/events', cluster: 'pg-pool', node: 'pgpool0', keyFile: join(dir, 'key'), spoolDir: dir, probeTimeoutMs: 2000, timeoutMs: 5000, pcp: { command: pcp }, ...overrides }, {});
  }
  // The budget clock counts from the call's start, as in the hook process (not from this test process's start).
  const context = (c: HookConfig, clock?: LeadershipClock) => {
    const started = performance.now();
    return { config: c, env: process.env, log: silentLog, now: () => performance.now() - started, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), ...(clock ? { clock } : {}) };
  };
  const event = (args: string[]) => buildEvent('pgpool', args, { cluster: 'pg-pool', node: 'pgpool0' }, null, new Date(), 'pgpool-test-event');

  it('a claim: the watchdog facts with a minted token; a release: bounded at 300 ms however long probeTimeoutMs is', async () => {
    const dir = tempDir('vipswitch-pgpool-');
    const fake = writeFakePcp(dir, answerAt(2));
    const c = config(dir, fake.path);

    const claim = await probeCallFacts('pgpool', event(['up', '127.0.77.77']), null, context(c, new LeadershipClock(dir, () => 1_796_055_650_652)));
    fake.setMode('hang');
    const started = performance.now();
    const release = await probeCallFacts('pgpool', event(['down', '127.0.77.77']), null, context(c));
    const releaseMs = performance.now() - started;

    expect(claim.facts).toEqual({ watchdog: { ...LEADER, token: 1_796_055_650_652 } });
    expect(release.facts).toBeNull();
    expect(releaseMs).toBeGreaterThanOrEqual(RELEASE_PROBE_MAX_MS - 50);
    expect(releaseMs).toBeLessThan(RELEASE_PROBE_MAX_MS + 1000);
  });

  it('--facts-json: a token given is kept; without one, it is minted as after a real probe; pcp is not run', async () => {
    const dir = tempDir('vipswitch-pgpool-');
    const fake = writeFakePcp(dir, answerAt(2));
    const c = config(dir, fake.path);
    const clock = new LeadershipClock(dir, () => 777);

    const given = await probeCallFacts('pgpool', event(['escalation']), { facts: { watchdog: { ...LEADER, token: 123 } } }, context(c, clock));
    const minted = await probeCallFacts('pgpool', event(['escalation']), { facts: { watchdog: LEADER } }, context(c, clock));
    const notLeader = await probeCallFacts('pgpool', event(['escalation']), { facts: { watchdog: { ...LEADER, quorum: false } } }, context(c, clock));

    expect(given.facts).toEqual({ watchdog: { ...LEADER, token: 123 } });
    expect(minted.facts).toEqual({ watchdog: { ...LEADER, token: 777 } });
    expect(notLeader.facts).toEqual({ watchdog: { ...LEADER, quorum: false, token: null } });
    expect(fake.calls()).toEqual([]);
  });

  it('hook.json pcp: every field optional, paths absolute, names the bad field', () => {
    const dir = tempDir('vipswitch-pgpool-');
    writeFileSync(join(dir, 'key'), 'k');
    expect(config(dir, '/usr/sbin/pcp_watchdog_info').pcp).toEqual({ command: '/usr/sbin/pcp_watchdog_info', host: null, port: null, user: null, passFile: null });
    expect(() => config(dir, 'pcp_watchdog_info')).toThrow(expect.objectContaining({ issues: [expect.stringMatching(/^pcp\.command: must be an absolute path/)] }));
    expect(() => config(dir, '/x', { pcp: { command: '/x', port: 70000, passFile: 'pcppass', extra: 1 } })).toThrow(
      expect.objectContaining({ issues: [expect.stringMatching(/^pcp\.extra: unknown field/), expect.stringMatching(/^pcp\.port: must be an integer/), expect.stringMatching(/^pcp\.passFile: must be an absolute path/)] }),
    );
  });
});
