/**
 * The REAL bundled hook in pgpool mode, run as Pgpool-II runs if_up_cmd / if_down_cmd (argv after `$_IP_$`, no shell,
 * stdout an unread pipe) and the escalation commands (argv as `sh -c` left it), against a node:http receiver on
 * 127.0.0.1 and a fake `pcp_watchdog_info` printing the captured answers. No fixed sleeps.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { VipEvent } from '../../shared/domain/event';
import { TOKEN_FILE } from '../../hooks/src/watchdog-probe';
import { EventsReceiver, onBody, pending, runHook, signatureOk, startForTest, useHookBundle, writeHookSetup } from '../support/hook-bundle';
import { writeFakePcp } from '../support/fake-tools';
import { loadPgpoolInvocations } from '../support/peer-captures';

useHookBundle();

const captures = loadPgpoolInvocations();
const answerAt = (line: number): string => captures.find((c) => c.line === line)!.pcpVerbose!;

class Receiver extends EventsReceiver {
  readonly received: { event: VipEvent; signatureOk: boolean }[] = [];
  protected handle(req: IncomingMessage, res: ServerResponse): void {
    onBody(req, (rawBody) => {
      this.received.push({ event: JSON.parse(rawBody) as VipEvent, signatureOk: signatureOk(req, rawBody) });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'ignored', decision: 'ignored', kind: 'informational', message: 'recorded' }));
    });
  }
}

function setup(receiver: Receiver, answer: string) {
  const hook = writeHookSetup('vipswitch-pgpool-', receiver.url, (dir) => ({ node: 'pgpool0', pcp: { command: join(dir, 'pcp_watchdog_info'), host: '127.0.0.1', port: 29890, user: 'pcpadmin', passFile: join(dir, 'pcppass') } }));
  return { ...hook, pcp: writeFakePcp(hook.dir, answer) };
}

describe('vipswitch-hook pgpool (the bundle)', () => {
  it('if_up_cmd of the quorum-backed leader: the watchdog facts and a leadership token (the clock before the probe); nothing on stdout', async () => {
    const receiver = await startForTest(new Receiver());
    const { config, spoolDir, pcp } = setup(receiver, answerAt(2));
    const before = Date.now();

    const run = await runHook(['--config', config, 'pgpool', 'up', '127.0.77.77']);

    expect(run).toMatchObject({ code: 0, stdout: '' });
    const [got] = receiver.received;
    expect(got).toMatchObject({ signatureOk: true, event: { source: 'pgpool', type: 'if_up', node: 'pgpool0', details: 'delegate_IP 127.0.77.77', raw: { argv: ['up', '127.0.77.77'] } } });
    const watchdog = (got!.event.facts as { watchdog: { token: number } }).watchdog;
    expect(watchdog).toMatchObject({ leader: true, quorum: true, escalated: true, localState: 'LEADER', quorumState: 'QUORUM EXIST' });
    expect(watchdog.token).toBeGreaterThanOrEqual(before);
    expect(watchdog.token).toBeLessThanOrEqual(pcp.calls()[0]!.at);
    expect(readFileSync(join(spoolDir, TOKEN_FILE), 'utf8')).toBe(`${watchdog.token}\n`);
    expect(pcp.calls()[0]).toMatchObject({ argv: ['-h', '127.0.0.1', '-p', '29890', '-U', 'pcpadmin', '-w', '-v'], pcppassfile: expect.stringMatching(/pcppass$/) });
  });

  it('successive claims of one node carry strictly increasing tokens; the escalation command\'s "$" is accepted', async () => {
    const receiver = await startForTest(new Receiver());
    const { config } = setup(receiver, answerAt(2));

    await runHook(['--config', config, 'pgpool', 'escalation', '$']);
    await runHook(['--config', config, 'pgpool', 'up', '127.0.77.77']);
    await runHook(['--config', config, 'pgpool', 'up', '127.0.77.77']);

    const tokens = receiver.received.map((r) => (r.event.facts as { watchdog: { token: number } }).watchdog.token);
    expect(receiver.received.map((r) => r.event.type)).toEqual(['escalation', 'if_up', 'if_up']);
    expect(tokens[1]!).toBeGreaterThan(tokens[0]!);
    expect(tokens[2]!).toBeGreaterThan(tokens[1]!);
  });

  it('if_up while the watchdog shows no quorum (L92\'s view): facts sent, no token; the server will call it unverified', async () => {
    const receiver = await startForTest(new Receiver());
    const { config } = setup(receiver, answerAt(92));

    const run = await runHook(['--config', config, 'pgpool', 'up', '127.0.77.77']);

    expect(run.stderr).toMatch(/watchdog=not_leader leader=true quorum=false escalated=false/);
    expect(receiver.received[0]!.event.facts).toEqual({ watchdog: { leader: true, quorum: false, escalated: false, token: null, localState: 'LEADER', quorumState: 'QUORUM ABSENT' } });
  });

  it('if_down_cmd during the watchdog\'s own shutdown (pcp hangs): facts null after at most 300 ms, delivered, exit 0', async () => {
    const receiver = await startForTest(new Receiver());
    const { config, spoolDir, pcp } = setup(receiver, answerAt(2));
    pcp.setMode('hang');

    const run = await runHook(['--config', config, 'pgpool', 'down', '127.0.77.77']);

    expect(run.code).toBe(0);
    expect(run.ms).toBeLessThan(1500);
    expect(receiver.received[0]!.event).toMatchObject({ type: 'if_down', facts: null });
    expect(pending(spoolDir)).toEqual([]);
  });

  it('the lab\'s probe words (passed literally: no shell) are refused, kept in unparsed/, exit 0', async () => {
    const receiver = await startForTest(new Receiver());
    const { config } = setup(receiver, answerAt(2));

    const run = await runHook(['--config', config, 'pgpool', 'up', '127.0.77.77', 'ip=127.0.77.77/32', '"two', 'words"', '$HOME']);

    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/argv: unexpected arguments after up 127\.0\.77\.77/);
    expect(receiver.received).toEqual([]);
  });
});
