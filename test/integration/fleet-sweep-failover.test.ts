import type { LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import { makeEvent, post, primaryFacts, registerCluster, routeTargets, routesOn, settled, type TestCluster } from '../support/local';
import { invokeSweep, seedFleet, startFleetStack, type ReconcileAnswer } from '../bench/fleet-stack';

/** 1,000 by default, as in the issue; FLEET_TEST_CLUSTERS makes a quicker local run. */
const CLUSTERS = Number(process.env.FLEET_TEST_CLUSTERS ?? 1000);
/** How long the sweep is held in its batched read (see below). */
const HOLD_MS = 4000;

describe(`a failover during a ${CLUSTERS}-cluster reconcile sweep (local stack)`, () => {
  let stack: LocalStack;
  let cluster: TestCluster;

  beforeAll(async () => {
    // Each AWS call may take longer than the hold below (default 3 s): the held read must be slow, not failed.
    const fleet = await startFleetStack({ clusters: CLUSTERS }, { env: { AWS_REQUEST_TIMEOUT_MS: String(HOLD_MS * 3) } });
    stack = fleet.stack;
    await seedFleet(fleet);
    // One more cluster, on the example topology's route tables (no Elastic IP): the one that fails over.
    cluster = await registerCluster(stack);
    expect((await post(stack, cluster, cluster.nodes.node1!, JSON.stringify(makeEvent(cluster, cluster.nodes.node1!, 'repmgrd_start', primaryFacts(1))))).status).toBe(202);
    await settled(stack, cluster);
  }, 900_000);

  afterAll(async () => {
    await cluster?.cleanup();
    await stack?.stop();
  });

  it('moves the claim committed while the sweep runs at once, without waiting for the sweep, and the sweep does not undo it', async () => {
    // Arrange: hold the sweep in its batched read for HOLD_MS. DescribeAddresses is only the sweep's here: the failing-over
    // cluster has no Elastic IP, so nothing on the failover's path meets that delay.
    stack.aws.setFaults([{ service: 'ec2', action: 'DescribeAddresses', latencyMs: HOLD_MS }]);
    const mark = stack.aws.calls().at(-1)?.seq ?? 0;
    let sweepEndedAt: number | null = null;
    const sweep: Promise<ReconcileAnswer> = invokeSweep(stack).then((answer) => {
      sweepEndedAt = Date.now();
      return answer;
    });
    await waitFor('the sweep to be in its batched read', 120_000, () => stack.aws.calls().some((c) => c.seq > mark && c.action === 'DescribeAddresses' && c.status === null), 20);

    // Act: the claim, committed while the sweep runs.
    const claimedAt = Date.now();
    const answer = await post(stack, cluster, cluster.nodes.node2!, JSON.stringify(makeEvent(cluster, cluster.nodes.node2!, 'standby_promote', primaryFacts(2))));
    await routesOn(stack, cluster, cluster.nodes.node2!.eni, HOLD_MS);
    const movedAt = Date.now();
    const stillSweeping = sweepEndedAt === null;
    const report = await sweep;
    stack.aws.setFaults([]);

    // Assert: moved before the sweep ended (it did not wait for it), well within the hold.
    expect(answer).toMatchObject({ status: 202, body: { code: 'accepted', epoch: 2 } });
    expect(stillSweeping).toBe(true);
    expect(movedAt - claimedAt).toBeLessThan(HOLD_MS);
    expect(sweepEndedAt!).toBeGreaterThan(movedAt);
    // The sweep covered the whole fleet and left the failover alone: the route stays on the new primary.
    expect(report.swept).toBe(CLUSTERS + 1);
    expect(['in_place', 'superseded', 'in_flight']).toContain(report.clusters.find((r) => r.cluster === cluster.name)?.outcome ?? 'in_place');
    expect(routeTargets(stack, cluster)).toEqual([cluster.nodes.node2!.eni, cluster.nodes.node2!.eni]);
    expect((await settled(stack, cluster)).endpoint).toMatchObject({ epoch: 2, phase: 'converged' });
    // The next sweep sees the new epoch as it is: in place, nothing to repair anywhere.
    const next = await invokeSweep(stack);
    expect(next.drift).toEqual({ found: 0, repaired: 0, failed: 0 });
    expect(routeTargets(stack, cluster)).toEqual([cluster.nodes.node2!.eni, cluster.nodes.node2!.eni]);
  }, 300_000);
});
