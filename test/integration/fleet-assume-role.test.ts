import { EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { startAwsEndpoint, type AwsEndpoint } from '../../local/aws-endpoint/index';
import type { LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import { EXAMPLE_TOPOLOGY, failure } from '../support/aws-endpoint';
import { invokeReconcile, makeEvent, post, primaryFacts, registerCluster, routeTargets, settled, startTestStack, type TestCluster } from '../support/local';
import { loadTopologyFile } from '../../local/aws-endpoint/index';

const run = promisify(execFile);
/** The role of the "networking account" that owns the route tables. */
const NETWORK_ROLE = 'arn:aws:iam::111122223333:role/vipswitch-network';
const CREDENTIALS = { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' };

describe('the local endpoint answers STS AssumeRole (Query protocol, 2011-06-15)', () => {
  let aws: AwsEndpoint;
  let sts: STSClient;

  beforeAll(async () => {
    aws = await startAwsEndpoint({ topology: await loadTopologyFile(EXAMPLE_TOPOLOGY), sts: { roles: [{ arn: NETWORK_ROLE }, { arn: 'arn:aws:iam::111122223333:role/long', maxSessionDurationSeconds: 7200 }] } });
    sts = new STSClient({ endpoint: aws.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
  });

  afterAll(async () => {
    sts?.destroy();
    await aws?.close();
  });

  it('issues temporary credentials for an allowed role, and they act as that role', async () => {
    const before = Date.now();

    const { Credentials, AssumedRoleUser } = await sts.send(new AssumeRoleCommand({ RoleArn: NETWORK_ROLE, RoleSessionName: 'vipswitch-test', DurationSeconds: 900 }));
    const asRole = new STSClient({ endpoint: aws.url, region: 'us-east-1', credentials: { accessKeyId: Credentials!.AccessKeyId!, secretAccessKey: Credentials!.SecretAccessKey!, sessionToken: Credentials!.SessionToken! }, maxAttempts: 1 });
    const identity = await asRole.send(new GetCallerIdentityCommand({}));
    asRole.destroy();

    expect(Credentials!.AccessKeyId).toMatch(/^ASIA[0-9A-F]{16}$/);
    expect(Credentials!.Expiration!.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 900_000);
    expect(Credentials!.Expiration!.getTime()).toBeLessThanOrEqual(Date.now() + 900_000);
    expect(AssumedRoleUser).toEqual({ Arn: 'arn:aws:sts::111122223333:assumed-role/vipswitch-network/vipswitch-test', AssumedRoleId: expect.stringMatching(/:vipswitch-test$/) });
    expect(identity).toMatchObject({ Account: '111122223333', Arn: 'arn:aws:sts::111122223333:assumed-role/vipswitch-network/vipswitch-test' });
    expect(aws.calls().filter((c) => c.service === 'sts').map((c) => [c.action, c.status])).toEqual([
      ['AssumeRole', 200],
      ['GetCallerIdentity', 200],
    ]);
    expect(aws.sts.credentialsOf(Credentials!.AccessKeyId)).toMatchObject({ roleArn: NETWORK_ROLE, accountId: '111122223333', callerAccessKeyId: 'AKIALOCAL' });
  });

  it('refuses a role the caller may not assume: AccessDenied, HTTP 403, in STS\'s words', async () => {
    const error = await failure(sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::444455556666:role/other', RoleSessionName: 'vipswitch-test' })));

    expect(error.name).toBe('AccessDenied');
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toBe('User: arn:aws:iam::000000000000:user/local is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::444455556666:role/other');
  });

  it.each([
    [{ RoleArn: NETWORK_ROLE, RoleSessionName: 'has space' }, /roleSessionName.*regular expression/],
    [{ RoleArn: NETWORK_ROLE, RoleSessionName: 'x' }, /roleSessionName.*greater than or equal to 2/],
    [{ RoleArn: NETWORK_ROLE, RoleSessionName: 'ok', DurationSeconds: 60 }, /durationSeconds.*greater than or equal to 900/],
    [{ RoleArn: NETWORK_ROLE, RoleSessionName: 'ok', DurationSeconds: 7200 }, /exceeds the MaxSessionDuration/],
    [{ RoleArn: 'arn:aws:iam::1:r/x', RoleSessionName: 'ok' }, /roleArn.*greater than or equal to 20/],
  ])('refuses a malformed request with ValidationError (400): %j', async (input, message) => {
    const error = await failure(sts.send(new AssumeRoleCommand(input)));

    expect(error.name).toBe('ValidationError');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toMatch(message);
  });

  it('grants a longer session where the role allows it', async () => {
    const { Credentials } = await sts.send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111122223333:role/long', RoleSessionName: 'ok', DurationSeconds: 7200 }));
    expect(Credentials!.Expiration!.getTime() - Date.now()).toBeGreaterThan(7000_000);
  });

  it('parses the same for a second client, awscli', async () => {
    if (!existsSync('/usr/bin/aws')) return;
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIALOCAL', AWS_SECRET_ACCESS_KEY: 'local', AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '' };
    const { stdout } = await run('/usr/bin/aws', ['--endpoint-url', aws.url, 'sts', 'assume-role', '--role-arn', NETWORK_ROLE, '--role-session-name', 'cli', '--output', 'json'], { env });
    const denied = await run('/usr/bin/aws', ['--endpoint-url', aws.url, 'sts', 'assume-role', '--role-arn', 'arn:aws:iam::444455556666:role/other', '--role-session-name', 'cli'], { env }).catch((e: { stderr: string }) => e);

    expect(JSON.parse(stdout).AssumedRoleUser.Arn).toBe('arn:aws:sts::111122223333:assumed-role/vipswitch-network/cli');
    expect((denied as { stderr: string }).stderr).toContain('(AccessDenied) when calling the AssumeRole operation');
  });
});

describe('a cluster in another account: its route is moved, and repaired, as the role it names (local stack)', () => {
  let stack: LocalStack;
  let inOther: TestCluster;
  let own: TestCluster;
  let denied: TestCluster;

  /** The role an access key acts as, per the local STS (null: the deployment's own credentials). */
  const roleOf = (accessKeyId: string | null) => stack.aws.sts.credentialsOf(accessKeyId)?.roleArn ?? null;
  const callsFor = (c: TestCluster, action: string, since = 0) => stack.aws.calls().filter((x) => x.seq > since && x.action === action && x.params.DestinationCidrBlock === `${c.vip}/32`);

  beforeAll(async () => {
    stack = await startTestStack();
    stack.aws.sts.allowRoles([{ arn: NETWORK_ROLE }]);
    inOther = await registerCluster(stack, { endpoints: { assumeRoleArn: NETWORK_ROLE } });
    own = await registerCluster(stack);
    denied = await registerCluster(stack, { endpoints: { assumeRoleArn: 'arn:aws:iam::444455556666:role/not-granted' } });
  }, 180_000);

  afterAll(async () => {
    for (const c of [inOther, own, denied]) await c?.cleanup();
    await stack?.stop();
  });

  it('a failover moves the route with the role\'s credentials (AssumeRole once), the other cluster with the deployment\'s own', async () => {
    for (const c of [inOther, own]) {
      const answer = await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))));
      expect(answer.status).toBe(202);
      expect((await settled(stack, c)).endpoint).toMatchObject({ epoch: 1, phase: 'converged' });
      expect(routeTargets(stack, c)).toEqual([c.nodes.node2!.eni, c.nodes.node2!.eni]);
    }

    const assumed = stack.aws.calls().filter((c) => c.service === 'sts' && c.action === 'AssumeRole');
    expect(assumed.map((c) => [c.params.RoleArn, c.status])).toEqual([[NETWORK_ROLE, 200]]);
    expect(assumed[0]!.params.RoleSessionName).toBe('vipswitch-vipswitch-local-actuate');
    const moves = callsFor(inOther, 'ReplaceRoute').concat(callsFor(inOther, 'CreateRoute'));
    expect(moves.length).toBeGreaterThanOrEqual(2);
    expect(moves.map((c) => roleOf(c.accessKeyId))).toEqual(moves.map(() => NETWORK_ROLE));
    expect(stack.aws.sts.credentialsOf(moves[0]!.accessKeyId)?.accountId).toBe('111122223333');
    const ownMoves = callsFor(own, 'ReplaceRoute').concat(callsFor(own, 'CreateRoute'));
    expect(ownMoves.map((c) => c.accessKeyId)).toEqual(ownMoves.map(() => 'AKIALOCAL'));
  });

  it('reconcile reads and repairs that cluster\'s drift as the role too', async () => {
    const ec2 = new EC2Client({ endpoint: stack.aws.url, region: 'us-east-1', credentials: CREDENTIALS });
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: inOther.routeTableIds[0], DestinationCidrBlock: `${inOther.vip}/32`, NetworkInterfaceId: inOther.nodes.node3!.eni }));
    ec2.destroy();
    const since = stack.aws.calls().at(-1)!.seq;

    const result = await invokeReconcile(stack);

    expect(result.clusters.find((r) => r.cluster === inOther.name)).toMatchObject({ converged: true, changed: 1 });
    expect(routeTargets(stack, inOther)).toEqual([inOther.nodes.node2!.eni, inOther.nodes.node2!.eni]);
    const repair = callsFor(inOther, 'ReplaceRoute', since);
    expect(repair.map((c) => roleOf(c.accessKeyId))).toEqual([NETWORK_ROLE]);
    const describes = stack.aws.calls().filter((c) => c.seq > since && c.action === 'DescribeRouteTables');
    expect(describes.some((c) => roleOf(c.accessKeyId) === NETWORK_ROLE)).toBe(true);
  });

  it('a role the deployment may not assume: nothing moves, the status says AccessDenied, and it is paged', async () => {
    const answer = await post(stack, denied, denied.nodes.node2!, JSON.stringify(makeEvent(denied, denied.nodes.node2!, 'standby_promote', primaryFacts(2))));

    expect(answer.status).toBe(202);
    const s = await settled(stack, denied, 60_000);
    expect(s.endpoint.phase).toBe('failed');
    expect(s.endpoint.targets.map((t: { error?: { code: string } }) => t.error?.code)).toEqual(['AccessDenied', 'AccessDenied']);
    expect(routeTargets(stack, denied)).not.toContain(denied.nodes.node2!.eni);
    await waitFor('the actuation_failed page', 10_000, () =>
      stack.aws
        .state()
        .topics.flatMap((t) => t.published)
        .some((m) => m.message.includes(denied.name) && m.message.includes('"type":"actuation_failed"')),
    );
  });
});
