import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { endpointView, pointsAt } from '../../local/endpoint-view';
import { localDynamoClient } from '../../local/dynamodb-local';
import { LOCAL_NAMES, type LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import { invokeReconcile, makeEvent, post, primaryFacts, registerCluster, repmgrArgs, runHook, startTestStack, status, type TestCluster } from '../support/local';

const ALL_MECHANISMS = {
  elasticIp: { allocationId: 'eipalloc-0a1b2c3d4e5f60001' },
  secondaryIp: { address: '10.0.1.100' },
  route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', writerRecord: 'writer.db.example.internal.', readerRecord: 'reader.db.example.internal.', ttl: 10, waitForInsync: true, insyncTimeoutSeconds: 10 },
};

function pagesOf(stack: LocalStack, cluster: TestCluster) {
  return stack.aws
    .state()
    .topics.flatMap((t) => t.published)
    .filter((m) => m.messageAttributes.cluster?.Value === cluster.name)
    .map((m) => ({ type: m.messageAttributes.type?.Value, severity: m.messageAttributes.severity?.Value, body: JSON.parse(m.message) as { message: string; details: Record<string, unknown> } }));
}

function mutatingCalls(stack: LocalStack): number {
  return stack.aws.calls().filter((c) => !/^(Describe|List|Get)/.test(c.action)).length;
}

describe('endpoint mechanisms, paging and fencing through the API', () => {
  let stack: LocalStack;
  const clusters: TestCluster[] = [];

  beforeAll(async () => {
    // A short per-attempt timeout, so a hung AWS call is cut and retried quickly.
    stack = await startTestStack({ AWS_REQUEST_TIMEOUT_MS: '1000' });
  }, 120_000);

  afterAll(async () => {
    for (const c of clusters) await c.cleanup();
    await stack?.stop();
  });

  afterEach(() => stack.aws.setFaults([]));

  async function cluster(options: Parameters<typeof registerCluster>[1] = {}): Promise<TestCluster> {
    const c = await registerCluster(stack, options);
    clusters.push(c);
    await runHook(c.nodes.node1!, repmgrArgs(c.nodes.node1!, 'repmgrd_start'), primaryFacts(1));
    return c;
  }

  const view = (c: TestCluster) => endpointView(stack.aws.state(), { routeTables: { vip: c.vip, routeTableIds: c.routeTableIds }, ...ALL_MECHANISMS } as never);

  it('a promotion moves all four mechanisms, and the reader record follows the replicas', async () => {
    const c = await cluster({ endpoints: ALL_MECHANISMS });
    await runHook(c.nodes.node2!, repmgrArgs(c.nodes.node2!, 'repmgrd_start'), { inRecovery: true, timeline: 1, lsn: '0/3000000', systemIdentifier: null });
    await runHook(c.nodes.node3!, repmgrArgs(c.nodes.node3!, 'repmgrd_start'), { inRecovery: true, timeline: 1, lsn: '0/3000000', systemIdentifier: null });
    expect(pointsAt(view(c), c.nodes.node1!)).toBe(true);
    expect(view(c).reader?.values).toEqual(['10.0.1.12', '10.0.1.13']);

    const answer = await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))));

    expect(answer.status).toBe(200);
    expect(answer.body.converged).toBe(true);
    const mechanisms = new Set((answer.body.actions as { mechanism: string }[]).map((a) => a.mechanism));
    expect([...mechanisms].sort()).toEqual(['elastic_ip', 'route53_reader', 'route53_writer', 'route_table', 'secondary_ip']);
    expect(pointsAt(view(c), c.nodes.node2!)).toBe(true);
    expect(view(c).reader?.values).toEqual(['10.0.1.13']);

    // node3 fails: it leaves the reader set.
    await runHook(c.nodes.node3!, repmgrArgs(c.nodes.node3!, 'standby_failure', 'unable to connect to local node "node3" (ID: 3), marking inactive'), null);
    expect(view(c).reader).toEqual({ name: 'reader.db.example.internal.', values: [] });
  });

  it('one failed route table does not stop the others; the answer and the journal say which, and it is paged', async () => {
    const c = await cluster({ routeTableIds: ['rtb-0a1b2c3d4e5f60001', 'rtb-00000000000dead01'] });

    const answer = await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))));

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ code: 'accepted', converged: false });
    const byTarget = Object.fromEntries((answer.body.actions as { target: string; result: string; error?: { code: string } }[]).map((a) => [a.target.split(' ')[0], a]));
    expect(byTarget['rtb-0a1b2c3d4e5f60001']).toMatchObject({ result: 'moved' });
    expect(byTarget['rtb-00000000000dead01']).toMatchObject({ result: 'failed', error: { code: 'InvalidRouteTableID.NotFound' } });
    const s = await status(stack, c);
    expect(s.state.appliedEpoch).toBeLessThan(s.state.epoch);
    await waitFor('the actuation_failed page', 5000, () => pagesOf(stack, c).some((p) => p.type === 'actuation_failed' && p.severity === 'critical'));
  });

  it.each([
    ['EC2 throttling', { service: 'ec2', action: 'ReplaceRoute', code: 'RequestLimitExceeded', count: 2 }, 'ReplaceRoute'],
    ['an EC2 5xx', { service: 'ec2', action: 'ReplaceRoute', code: 'InternalError', count: 1 }, 'ReplaceRoute'],
    ['a hung EC2 call (timeout)', { service: 'ec2', action: 'ReplaceRoute', hang: true, count: 1 }, 'ReplaceRoute'],
    ['Route53 throttling', { service: 'route53', action: 'ChangeResourceRecordSets', code: 'Throttling', count: 1 }, 'ChangeResourceRecordSets'],
    ['Route53 PriorRequestNotComplete', { service: 'route53', action: 'ChangeResourceRecordSets', code: 'PriorRequestNotComplete', count: 1 }, 'ChangeResourceRecordSets'],
  ])('%s is retried by the SDK and the move completes', async (_name, fault, action) => {
    const c = await cluster({ endpoints: { route53: ALL_MECHANISMS.route53 } });
    const before = stack.aws.calls().filter((call) => call.action === action).length;
    stack.aws.setFaults([fault as never]);

    const answer = await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))));

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ code: 'accepted', converged: true });
    const attempts = stack.aws.calls().filter((call) => call.action === action).length - before;
    expect(attempts).toBe((fault.count ?? 0) + (action === 'ReplaceRoute' ? 2 : 1));
    const endpoints = { routeTables: { vip: c.vip, routeTableIds: c.routeTableIds }, route53: ALL_MECHANISMS.route53 };
    expect(pointsAt(endpointView(stack.aws.state(), endpoints), c.nodes.node2!)).toBe(true);
  });

  it('reconcile repairs drift (a route moved by hand) and pages it', async () => {
    const c = await cluster();
    await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))));
    const { EC2Client, ReplaceRouteCommand } = await import('@aws-sdk/client-ec2');
    const ec2 = new EC2Client({ endpoint: stack.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' } });
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: c.routeTableIds[0], DestinationCidrBlock: `${c.vip}/32`, NetworkInterfaceId: c.nodes.node3!.eni }));
    ec2.destroy();

    const result = await invokeReconcile(stack);

    expect(result.clusters.find((r) => r.cluster === c.name)).toMatchObject({ converged: true, changed: 1 });
    expect(view(c).routes.map((r) => r.eni)).toEqual([c.nodes.node2!.eni, c.nodes.node2!.eni]);
    await waitFor('the drift page', 5000, () => pagesOf(stack, c).some((p) => p.type === 'drift_repaired'));
  });

  it.each(['repmgrd_failover_aborted', 'repmgrd_promote_error', 'standby_failure'])('%s is journaled and paged', async (type) => {
    const c = await cluster();

    const answer = await post(stack, c, c.nodes.node3!, JSON.stringify(makeEvent(c, c.nodes.node3!, type, null)));

    expect(answer.body).toMatchObject({ code: 'ignored', kind: 'fault' });
    await waitFor(`the ${type} page`, 5000, () => pagesOf(stack, c).some((p) => p.type === type));
    expect((await status(stack, c)).journal[0]).toMatchObject({ type, outcome: 'ignored' });
  });

  it('a repeat of the same page inside the window is suppressed and counted', async () => {
    const c = await cluster();
    await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))));

    for (let i = 0; i < 3; i++) {
      const answer = await post(stack, c, c.nodes.node3!, JSON.stringify(makeEvent(c, c.nodes.node3!, 'repmgrd_start', primaryFacts(1))));
      expect(answer.body.code).toBe('stale_claim');
    }

    await waitFor('the first stale_claim page', 5000, () => pagesOf(stack, c).some((p) => p.type === 'stale_claim'));
    expect(pagesOf(stack, c).filter((p) => p.type === 'stale_claim')).toHaveLength(1);
    const doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamodbEndpoint));
    const { Item } = await doc.send(new GetCommand({ TableName: LOCAL_NAMES.state, Key: { pk: `PAGE#${c.name}|stale_claim|node3`, sk: 'PAGE' } }));
    expect(Item?.suppressed).toBe(2);
    // The journal still has every one of them.
    expect((await status(stack, c)).journal.filter((j: { outcome: string }) => j.outcome === 'stale_claim')).toHaveLength(3);
  });

  it('fencing stop-instance stops the stale node (Force), journals and pages it, and never the current primary', async () => {
    const c = await cluster({ fencing: 'stop-instance' });
    await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))));

    const stale = await post(stack, c, c.nodes.node1!, JSON.stringify(makeEvent(c, c.nodes.node1!, 'repmgrd_start', primaryFacts(1))));
    // The current primary re-asserting on an older timeline is stale too, but is never fenced.
    const fromPrimary = await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'repmgrd_reload', primaryFacts(1))));

    expect(stale.body).toMatchObject({ code: 'stale_claim', fencing: { policy: 'stop-instance', result: 'stopped', instanceId: c.nodes.node1!.instanceId } });
    const stop = stack.aws.calls().filter((call) => call.action === 'StopInstances');
    expect(stop.at(-1)?.params).toMatchObject({ 'InstanceId.1': c.nodes.node1!.instanceId, Force: 'true' });
    const instances = stack.aws.state().instances;
    expect(['stopping', 'stopped']).toContain(instances.find((i) => i.instanceId === c.nodes.node1!.instanceId)?.state);
    expect(instances.find((i) => i.instanceId === c.nodes.node2!.instanceId)?.state).toBe('running');
    expect(fromPrimary.body).toMatchObject({ code: 'stale_claim', fencing: { result: 'skipped' } });
    const journal = (await status(stack, c)).journal;
    expect(journal.some((j: { outcome: string; node: string }) => j.outcome === 'fencing_action' && j.node === 'node1')).toBe(true);
    await waitFor('the stale_claim page naming the fence', 5000, () => pagesOf(stack, c).some((p) => p.type === 'stale_claim' && /Fenced: instance/.test(p.body.message)));
    // Restore the instance for the other tests sharing this topology.
    const { EC2Client, StartInstancesCommand } = await import('@aws-sdk/client-ec2');
    const ec2 = new EC2Client({ endpoint: stack.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' } });
    await waitFor('node1 stopped', 5000, () => stack.aws.state().instances.find((i) => i.instanceId === c.nodes.node1!.instanceId)?.state === 'stopped');
    await ec2.send(new StartInstancesCommand({ InstanceIds: [c.nodes.node1!.instanceId] }));
    ec2.destroy();
  });

  it('dry run (request header or cluster setting) answers the plan and changes nothing', async () => {
    const viaHeader = await cluster();
    const viaSetting = await cluster({ dryRun: true });

    for (const [c, headers] of [
      [viaHeader, { 'x-vipswitch-dry-run': '1' }],
      [viaSetting, {}],
    ] as const) {
      const before = await status(stack, c);
      const calls = mutatingCalls(stack);
      const answer = await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))), { ...headers });

      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ code: 'dry_run', dryRun: true, primary: 'node2', epoch: before.state.epoch + 1 });
      expect((answer.body.actions as { result: string }[]).every((a) => a.result === 'planned')).toBe(true);
      const after = await status(stack, c);
      expect(after.state).toEqual(before.state);
      expect(after.journal).toEqual(before.journal);
      expect(mutatingCalls(stack)).toBe(calls);
    }
  });
});
