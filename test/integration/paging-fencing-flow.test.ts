import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { endpointView, pointsAt } from '../../local/endpoint-view';
import { localDynamoClient } from '../../local/dynamodb-local';
import { LOCAL_NAMES, type LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import { invokeReconcile, makeEvent, post, primaryFacts, registerCluster, repmgrArgs, routeTargets, runHook, settled, startTestStack, status, type TestCluster } from '../support/local';

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

/** StopInstances calls naming `instanceId`, as the local EC2 endpoint received them. */
function stopCalls(stack: LocalStack, instanceId: string) {
  return stack.aws.calls().filter((c) => c.action === 'StopInstances' && Object.entries(c.params).some(([k, v]) => /^InstanceId\.\d+$/.test(k) && v === instanceId));
}

const sameValues = (a: string[] | undefined, b: string[]) => JSON.stringify(a ?? null) === JSON.stringify(b);

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

  /** A fresh cluster whose first primary, node1, holds epoch 1 and whose endpoint the actuator has settled on it. */
  async function cluster(options: Parameters<typeof registerCluster>[1] = {}): Promise<TestCluster> {
    const c = await registerCluster(stack, options);
    clusters.push(c);
    await runHook(c.nodes.node1!, repmgrArgs(c.nodes.node1!, 'repmgrd_start'), primaryFacts(1));
    await settled(stack, c);
    return c;
  }

  const view = (c: TestCluster) => endpointView(stack.aws.state(), { routeTables: { vip: c.vip, routeTableIds: c.routeTableIds }, ...ALL_MECHANISMS } as never);

  it('a promotion moves all four mechanisms, and the reader record follows the replicas', async () => {
    const c = await cluster({ endpoints: ALL_MECHANISMS });
    await runHook(c.nodes.node2!, repmgrArgs(c.nodes.node2!, 'repmgrd_start'), { inRecovery: true, timeline: 1, lsn: '0/3000000', systemIdentifier: null });
    await runHook(c.nodes.node3!, repmgrArgs(c.nodes.node3!, 'repmgrd_start'), { inRecovery: true, timeline: 1, lsn: '0/3000000', systemIdentifier: null });
    // The replicas' health is committed with their events; the actuator then points the reader record at them.
    await waitFor('the reader record on both replicas', 10_000, () => sameValues(view(c).reader?.values, ['10.0.1.12', '10.0.1.13']));
    expect(pointsAt(view(c), c.nodes.node1!)).toBe(true);

    const answer = await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))));

    expect(answer).toMatchObject({ status: 202, body: { code: 'accepted', epoch: 2, primary: 'node2', actuation: 'pending' } });
    const s = await settled(stack, c);
    expect(s.endpoint).toMatchObject({ epoch: 2, phase: 'converged' });
    const targets = s.endpoint.targets as { mechanism: string; state: string }[];
    expect([...new Set(targets.map((t) => t.mechanism))].sort()).toEqual(['elastic_ip', 'route53_reader', 'route53_writer', 'route_table', 'secondary_ip']);
    expect(targets.filter((t) => t.state !== 'converged')).toEqual([]);
    expect(pointsAt(view(c), c.nodes.node2!)).toBe(true);
    expect(view(c).reader?.values).toEqual(['10.0.1.13']);

    // node3 fails: it leaves the reader set.
    await runHook(c.nodes.node3!, repmgrArgs(c.nodes.node3!, 'standby_failure', 'unable to connect to local node "node3" (ID: 3), marking inactive'), null);
    await waitFor('node3 out of the reader record', 10_000, () => sameValues(view(c).reader?.values, []));
    expect(view(c).reader).toEqual({ name: 'reader.db.example.internal.', values: [] });
    expect(pointsAt(view(c), c.nodes.node2!)).toBe(true);
  });

  it('one failed route table does not stop the others; the status API says which, and the actuator pages it', async () => {
    // No helper here: the cluster's first claim is the move under test (every claim of this cluster meets the bad table).
    const c = await registerCluster(stack, { routeTableIds: ['rtb-0a1b2c3d4e5f60001', 'rtb-00000000000dead01'] });
    clusters.push(c);

    const answer = await post(stack, c, c.nodes.node1!, JSON.stringify(makeEvent(c, c.nodes.node1!, 'repmgrd_start', primaryFacts(1))));

    expect(answer).toMatchObject({ status: 202, body: { code: 'accepted', epoch: 1, primary: 'node1' } });
    const s = await settled(stack, c, 30_000);
    expect(s.endpoint).toMatchObject({ epoch: 1, phase: 'failed' });
    const byTarget = Object.fromEntries((s.endpoint.targets as { target: string }[]).map((t) => [t.target.split(' ')[0], t]));
    // The status is the last pass's (the trigger retried the failed move): the good table was created once; until the
    // epoch has converged, each retry points it again whatever Describe says (a re-assert: moved, from = to).
    expect(byTarget['rtb-0a1b2c3d4e5f60001']).toMatchObject({ mechanism: 'route_table', desired: c.nodes.node1!.eni, observed: c.nodes.node1!.eni, state: 'converged' });
    expect(['created', 'moved']).toContain(byTarget['rtb-0a1b2c3d4e5f60001']!.result);
    expect(stack.aws.calls().filter((call) => call.action === 'CreateRoute' && call.params.DestinationCidrBlock === `${c.vip}/32` && call.status === 200)).toHaveLength(1);
    expect(byTarget['rtb-00000000000dead01']).toMatchObject({ mechanism: 'route_table', desired: c.nodes.node1!.eni, state: 'failed', result: 'failed', error: { code: 'InvalidRouteTableID.NotFound' } });
    expect(routeTargets(stack, c)).toEqual([c.nodes.node1!.eni]);
    expect(s.state.appliedEpoch).toBeLessThan(s.state.epoch);
    const failed = await waitFor('the actuation_failed page', 5000, () => pagesOf(stack, c).find((p) => p.type === 'actuation_failed'));
    expect(failed).toMatchObject({ severity: 'critical', body: { details: { epoch: 1 } } });
    expect(failed.body.message).toContain('rtb-00000000000dead01');
    expect(failed.body.message).toContain('InvalidRouteTableID.NotFound');
  });

  it.each([
    ['EC2 throttling', { service: 'ec2', action: 'ReplaceRoute', code: 'RequestLimitExceeded', count: 2 }, 'ReplaceRoute'],
    ['an EC2 5xx', { service: 'ec2', action: 'ReplaceRoute', code: 'InternalError', count: 1 }, 'ReplaceRoute'],
    ['a hung EC2 call (timeout)', { service: 'ec2', action: 'ReplaceRoute', hang: true, count: 1 }, 'ReplaceRoute'],
    ['Route53 throttling', { service: 'route53', action: 'ChangeResourceRecordSets', code: 'Throttling', count: 1 }, 'ChangeResourceRecordSets'],
    ['Route53 PriorRequestNotComplete', { service: 'route53', action: 'ChangeResourceRecordSets', code: 'PriorRequestNotComplete', count: 1 }, 'ChangeResourceRecordSets'],
  ])('%s is retried by the SDK and the move completes', async (_name, fault, action) => {
    const c = await cluster({ endpoints: { route53: ALL_MECHANISMS.route53 } });
    // Route changes are counted for this cluster's VIP; the Route 53 records are shared by the clusters of this file.
    const calls = () => stack.aws.calls().filter((call) => call.action === action && (action !== 'ReplaceRoute' || call.params.DestinationCidrBlock === `${c.vip}/32`)).length;
    const before = calls();
    const failuresBefore = stack.trigger.stats().failures;
    stack.aws.setFaults([fault as never]);

    const answer = await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))));

    expect(answer).toMatchObject({ status: 202, body: { code: 'accepted', epoch: 2 } });
    const s = await settled(stack, c);
    expect(s.endpoint).toMatchObject({ epoch: 2, phase: 'converged' });
    expect(s.state.appliedEpoch).toBe(2);
    // Retried inside the SDK, within one invocation: the trigger never had to retry the batch.
    expect(stack.trigger.stats().failures).toBe(failuresBefore);
    const attempts = calls() - before;
    expect(attempts).toBe((fault.count ?? 0) + (action === 'ReplaceRoute' ? 2 : 1));
    const endpoints = { routeTables: { vip: c.vip, routeTableIds: c.routeTableIds }, route53: ALL_MECHANISMS.route53 };
    expect(pointsAt(endpointView(stack.aws.state(), endpoints), c.nodes.node2!)).toBe(true);
  });

  it('reconcile repairs drift (a route moved by hand) and pages it', async () => {
    const c = await cluster();
    await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))));
    expect((await settled(stack, c)).endpoint).toMatchObject({ epoch: 2, phase: 'converged' });
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

    // The actuator pages after the answers: the first is sent, the two repeats are counted in the ledger.
    await waitFor('the first stale_claim page', 5000, () => pagesOf(stack, c).some((p) => p.type === 'stale_claim'));
    const doc = DynamoDBDocumentClient.from(localDynamoClient(stack.dynamodbEndpoint));
    // The ledger's key: cluster, type, node and the holder's epoch (node2's, 2).
    const ledger = async () => (await doc.send(new GetCommand({ TableName: LOCAL_NAMES.state, Key: { pk: `PAGE#${c.name}|stale_claim|node3|2`, sk: 'PAGE' } }))).Item;
    await waitFor('both repeats counted', 5000, async () => Number((await ledger())?.suppressed ?? 0) >= 2);
    await settled(stack, c);
    expect((await ledger())?.suppressed).toBe(2);
    expect(pagesOf(stack, c).filter((p) => p.type === 'stale_claim')).toHaveLength(1);
    // The journal still has every one of them.
    expect((await status(stack, c)).journal.filter((j: { outcome: string }) => j.outcome === 'stale_claim')).toHaveLength(3);

    // A newer failover (node1 promoted, epoch 3), and node3 stale again inside the window: a new incident, paged.
    await post(stack, c, c.nodes.node1!, JSON.stringify(makeEvent(c, c.nodes.node1!, 'standby_promote', primaryFacts(3))));
    const again = await post(stack, c, c.nodes.node3!, JSON.stringify(makeEvent(c, c.nodes.node3!, 'repmgrd_start', primaryFacts(1))));
    expect(again.body.code).toBe('stale_claim');
    await waitFor('the stale_claim page of the newer epoch', 5000, () => pagesOf(stack, c).filter((p) => p.type === 'stale_claim').length === 2);
    await settled(stack, c);
    expect(pagesOf(stack, c).filter((p) => p.type === 'stale_claim').map((p) => p.body.details.epoch)).toEqual([2, 3]);
  });

  it('fencing stop-instance stops the stale node (Force), journals and pages it, and never the current primary', async () => {
    const c = await cluster({ fencing: 'stop-instance' });
    const node1 = c.nodes.node1!;
    const node2 = c.nodes.node2!;
    await post(stack, c, node2, JSON.stringify(makeEvent(c, node2, 'standby_promote', primaryFacts(2))));
    await settled(stack, c);

    const stale = await post(stack, c, node1, JSON.stringify(makeEvent(c, node1, 'repmgrd_start', primaryFacts(1))));
    // The current primary re-asserting on an older timeline is stale too, but is never fenced.
    const fromPrimary = await post(stack, c, node2, JSON.stringify(makeEvent(c, node2, 'repmgrd_reload', primaryFacts(1))));

    // The answer says what the policy will do; the actuator does it after the answer.
    expect(stale).toMatchObject({ status: 409, body: { code: 'stale_claim', fencing: { policy: 'stop-instance', result: 'scheduled', instanceId: node1.instanceId } } });
    expect(fromPrimary).toMatchObject({ status: 409, body: { code: 'stale_claim', fencing: { policy: 'stop-instance', result: 'skipped' } } });
    const fenced = await waitFor('the fencing_action journal entry for node1', 10_000, async () =>
      (await status(stack, c)).journal.find((j: { outcome: string; node: string }) => j.outcome === 'fencing_action' && j.node === 'node1'),
    );
    expect(fenced).toMatchObject({ type: 'stop_instance', details: { policy: 'stop-instance', result: 'stopped', instanceId: node1.instanceId } });
    const stop = stopCalls(stack, node1.instanceId);
    expect(stop).toHaveLength(1);
    expect(stop[0]?.params).toMatchObject({ 'InstanceId.1': node1.instanceId, Force: 'true' });
    expect(['stopping', 'stopped']).toContain(stack.aws.state().instances.find((i) => i.instanceId === node1.instanceId)?.state);
    const page = await waitFor('the stale_claim page naming the fence', 5000, () => pagesOf(stack, c).find((p) => p.type === 'stale_claim' && p.body.details.node === 'node1'));
    expect(page.body.details.fencing).toMatchObject({ policy: 'stop-instance', result: 'stopped', instanceId: node1.instanceId });
    // The primary's claim was handled too (paged), and its instance was never stopped.
    await waitFor('the stale_claim page for node2', 5000, () => pagesOf(stack, c).some((p) => p.type === 'stale_claim' && p.body.details.node === 'node2'));
    await settled(stack, c);
    expect(stopCalls(stack, node2.instanceId)).toEqual([]);
    expect(stack.aws.state().instances.find((i) => i.instanceId === node2.instanceId)?.state).toBe('running');
    expect((await status(stack, c)).journal.filter((j: { outcome: string }) => j.outcome === 'fencing_action')).toHaveLength(1);
    // Restore the instance for the other tests sharing this topology.
    const { EC2Client, StartInstancesCommand } = await import('@aws-sdk/client-ec2');
    const ec2 = new EC2Client({ endpoint: stack.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' } });
    await waitFor('node1 stopped', 5000, () => stack.aws.state().instances.find((i) => i.instanceId === node1.instanceId)?.state === 'stopped');
    await ec2.send(new StartInstancesCommand({ InstanceIds: [node1.instanceId] }));
    ec2.destroy();
  });

  it('dry run (request header or cluster setting) answers the plan from config and changes nothing', async () => {
    const viaHeader = await cluster();
    const viaSetting = await cluster({ dryRun: true });

    for (const [c, headers] of [
      [viaHeader, { 'x-vipswitch-dry-run': '1' }],
      [viaSetting, {}],
    ] as const) {
      const before = await status(stack, c);
      const calls = stack.aws.calls().length;
      const answer = await post(stack, c, c.nodes.node2!, JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))), { ...headers });

      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ code: 'dry_run', dryRun: true, primary: 'node2', epoch: before.state.epoch + 1 });
      // The plan is the config's targets, each pointed at node2: no AWS read, no write, nothing committed.
      expect(answer.body.actions).toEqual(c.routeTableIds.map((id) => ({ mechanism: 'route_table', target: `${id} ${c.vip}/32`, to: c.nodes.node2!.eni, result: 'planned' })));
      const after = await status(stack, c);
      expect(after.state).toEqual(before.state);
      expect(after.journal).toEqual(before.journal);
      expect(stack.aws.calls().length).toBe(calls);
    }
  });
});
