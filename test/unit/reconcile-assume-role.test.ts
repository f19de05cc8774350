import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { assumeRoleCredentials, sessionNameFor } from '../../shared/adapters/assumed-role-clients';
import { RoleRoutingActuator } from '../../shared/adapters/role-routing-actuator';
import { parseClusterFile } from '../../shared/config/cluster-config';
import type { EndpointConfig, EndpointTarget } from '../../shared/domain/cluster';
import { ConfigError } from '../../shared/domain/errors';
import type { ActionReport } from '../../shared/ports/cluster-store';
import type { EndpointActuator } from '../../shared/ports/endpoint-actuator';

const ROLE = 'arn:aws:iam::111122223333:role/vipswitch-network';

/** A fake STS: each AssumeRole answers credentials valid `lifetimeMs` from the fake clock, or the next queued error. */
function fakeSts(clock: { t: number }, lifetimeMs = 3600_000) {
  const calls: AssumeRoleCommand['input'][] = [];
  const errors: Error[] = [];
  let release: (() => void) | null = null;
  let gate: Promise<void> | null = null;
  return {
    calls,
    failNext: (error: Error) => errors.push(error),
    hold: () => {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => release?.(),
    send: async (command: AssumeRoleCommand) => {
      calls.push(command.input);
      if (gate) await gate;
      const error = errors.shift();
      if (error) throw error;
      const n = calls.length;
      return { Credentials: { AccessKeyId: `ASIA${n}`, SecretAccessKey: `secret-${n}`, SessionToken: `token-${n}`, Expiration: new Date(clock.t + lifetimeMs) } };
    },
  };
}

describe('assumeRoleCredentials', () => {
  it('assumes the role once and keeps the credentials until shortly before they expire', async () => {
    const clock = { t: 1_000_000 };
    const sts = fakeSts(clock);
    const provider = assumeRoleCredentials({ sts: sts as never, roleArn: ROLE, sessionName: 'vipswitch-actuate', now: () => clock.t });

    const first = await provider();
    clock.t += 3600_000 - 5 * 60_000 - 1;
    const stillCached = await provider();
    clock.t += 2;
    const renewed = await provider();

    expect(first).toMatchObject({ accessKeyId: 'ASIA1', sessionToken: 'token-1' });
    expect(stillCached).toBe(first);
    expect(renewed.accessKeyId).toBe('ASIA2');
    expect(sts.calls).toEqual([
      { RoleArn: ROLE, RoleSessionName: 'vipswitch-actuate', DurationSeconds: 3600 },
      { RoleArn: ROLE, RoleSessionName: 'vipswitch-actuate', DurationSeconds: 3600 },
    ]);
  });

  it('makes one call for concurrent callers, and does not keep a failure', async () => {
    const clock = { t: 0 };
    const sts = fakeSts(clock);
    const provider = assumeRoleCredentials({ sts: sts as never, roleArn: ROLE, sessionName: 's1', now: () => clock.t });
    sts.failNext(Object.assign(new Error('User: x is not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied' }));

    await expect(provider()).rejects.toMatchObject({ name: 'AccessDenied' });
    sts.hold();
    const together = [provider(), provider(), provider()];
    sts.release();
    const got = await Promise.all(together);

    expect(new Set(got.map((c) => c.accessKeyId)).size).toBe(1);
    expect(sts.calls).toHaveLength(2);
  });

  it('names the session after the function, within what STS takes', () => {
    expect(sessionNameFor('vipswitch-prod-actuate')).toBe('vipswitch-vipswitch-prod-actuate');
    expect(sessionNameFor(undefined)).toBe('vipswitch-local');
    expect(sessionNameFor('a/b c'.repeat(30))).toMatch(/^[\w+=,.@-]{1,64}$/);
  });
});

describe('RoleRoutingActuator', () => {
  const target: EndpointTarget = { primary: { cluster: 'c', name: 'node2', repmgrNodeId: 2, eni: 'eni-2', instanceId: null, privateIp: '10.0.0.2', fenced: false }, replicas: [] };
  const recording = (who: string, seen: string[]): EndpointActuator => ({
    pointAt: async (endpoints: EndpointConfig): Promise<ActionReport[]> => {
      seen.push(`${who}:${endpoints.routeTables?.routeTableIds.join(',')}`);
      return [];
    },
  });

  it('moves a cluster naming a role with that role\'s actuator (made once), the others with the deployment\'s own', async () => {
    const seen: string[] = [];
    const made: string[] = [];
    const actuator = new RoleRoutingActuator({ base: recording('own', seen), forRole: (role) => (made.push(role), recording(role, seen)) });
    const rt = (id: string) => ({ vip: '10.0.255.10', routeTableIds: [id] });

    await actuator.pointAt({ routeTables: rt('rtb-a') }, target);
    await actuator.pointAt({ routeTables: rt('rtb-b'), assumeRoleArn: ROLE }, target);
    await actuator.pointAt({ routeTables: rt('rtb-c'), assumeRoleArn: ROLE }, target);

    expect(seen).toEqual(['own:rtb-a', `${ROLE}:rtb-b`, `${ROLE}:rtb-c`]);
    expect(made).toEqual([ROLE]);
  });

  it('reports every configured mechanism failed when no actuator can be made for the role, and never throws', async () => {
    const actuator = new RoleRoutingActuator({
      base: recording('own', []),
      forRole: () => {
        throw new Error('no STS here');
      },
    });

    const reports = await actuator.pointAt({ routeTables: { vip: '10.0.255.10', routeTableIds: ['rtb-a'] }, elasticIp: { allocationId: 'eipalloc-1' }, assumeRoleArn: ROLE }, target);

    expect(reports.map((r) => [r.mechanism, r.result, r.error?.code])).toEqual([
      ['route_table', 'failed', 'AssumeRoleUnavailable'],
      ['elastic_ip', 'failed', 'AssumeRoleUnavailable'],
    ]);
    expect(reports[0]!.error!.message).toContain(ROLE);
  });
});

describe('cluster.yaml endpoints.assumeRoleArn', () => {
  const file = (assumeRoleArn: unknown) => ({
    cluster: 'pg-net',
    tool: 'repmgr',
    nodes: [{ name: 'node1', repmgrNodeId: 1, eni: 'eni-0a1b2c3d4e5f60001', keyFile: 'k' }],
    endpoints: { routeTables: { vip: '10.0.255.10', routeTableIds: ['rtb-0a1b2c3d4e5f60001'] }, assumeRoleArn },
  });

  it('is kept with the endpoint settings', () => {
    expect(parseClusterFile(file(ROLE)).config.endpoints.assumeRoleArn).toBe(ROLE);
    expect(parseClusterFile(file('arn:aws-us-gov:iam::111122223333:role/team/vipswitch')).config.endpoints.assumeRoleArn).toBe('arn:aws-us-gov:iam::111122223333:role/team/vipswitch');
  });

  it.each(['arn:aws:iam::111122223333:user/someone', 'arn:aws:iam::1111:role/x', 'arn:aws:iam::111122223333:role/*', 'vipswitch-network'])('refuses %s, naming the field', (arn) => {
    let error: unknown;
    try {
      parseClusterFile(file(arn));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('endpoints.assumeRoleArn: an IAM role ARN');
  });
});

describe('serverless.yml assumableRoles (shared/config/assumable-role-arns.cjs)', () => {
  const cjs = createRequire(__filename)(join(__dirname, '../../shared/config/assumable-role-arns.cjs')) as {
    roleArns: (ctx: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<unknown[]>;
  };
  const render = (value: unknown) => cjs.roleArns({ resolveVariable: async (name) => (name === 'param:assumableRoles' ? value : undefined) });

  it('grants exactly the listed roles, from a YAML list or a comma-separated string', async () => {
    expect(await render([ROLE, ROLE])).toEqual([ROLE]);
    expect(await render(`${ROLE}, arn:aws:iam::444455556666:role/dns`)).toEqual([ROLE, 'arn:aws:iam::444455556666:role/dns']);
  });

  it('grants no role when none is listed, and refuses wildcards', async () => {
    expect(await render('')).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/vipswitch-no-assumable-role-configured' }]);
    await expect(render('arn:aws:iam::111122223333:role/*')).rejects.toThrow(/not an IAM role ARN/);
    await expect(render('*')).rejects.toThrow(/not an IAM role ARN/);
  });
});
