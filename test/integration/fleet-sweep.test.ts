import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { startAwsEndpoint, type AwsEndpoint, type CallRecord } from '../../local/aws-endpoint/index';
import { createFleetObserver } from '../../shared/adapters/reconcile-observer';
import { DEFAULT_RECONCILE_BUDGETS, type ReconcileBudgets } from '../../shared/app/reconcile-budget';
import { sweepFleet, type FleetSweepDeps } from '../../shared/app/reconcile-fleet';
import type { Page } from '../../shared/ports/alerter';
import type { FleetObserver } from '../../shared/ports/reconcile-observer';
import { InMemoryClusterStore } from '../support/in-memory-cluster-store';
import { ec2Client, route53Client } from '../support/aws-endpoint';
import { driftCluster, fleetTopology, registerFleet, type FleetCluster } from '../bench/fleet-topology';

const CLUSTERS = 120;
const FAST: ReconcileBudgets = { ec2Reads: { ratePerSecond: 1000, burst: 1000 }, ec2Writes: { ratePerSecond: 1000, burst: 1000 }, route53: { ratePerSecond: 1000, burst: 1000 } };
const READS = new Set(['DescribeRouteTables', 'DescribeAddresses', 'DescribeNetworkInterfaces', 'ListResourceRecordSets']);

describe('sweepFleet on the local AWS endpoint (120 clusters: 3 route tables, an Elastic IP, an A record each; every 10th a secondary IP)', () => {
  let aws: AwsEndpoint;
  let ec2: EC2Client;
  let route53: Route53Client;
  let fleet: FleetCluster[];
  let store: InMemoryClusterStore;
  let pages: Page[];

  const deps = (budgets: ReconcileBudgets = FAST, observer?: FleetObserver): FleetSweepDeps => ({
    store,
    observer: observer ?? createFleetObserver({ clientsFor: () => ({ ec2, route53 }), budgets }),
    alerter: { page: async (p) => void pages.push(p) },
    now: () => new Date(),
  });
  const callsSince = (seq: number): CallRecord[] => aws.calls().filter((c) => c.seq > seq);
  const lastSeq = () => aws.calls().at(-1)?.seq ?? 0;

  beforeAll(async () => {
    const generated = fleetTopology({ clusters: CLUSTERS, secondaryIpEvery: 10 });
    fleet = generated.clusters;
    aws = await startAwsEndpoint({ topology: generated.topology });
    ec2 = ec2Client(aws.url);
    route53 = route53Client(aws.url);
  });

  afterAll(async () => {
    ec2?.destroy();
    route53?.destroy();
    await aws?.close();
  });

  beforeEach(async () => {
    aws.reset(fleetTopology({ clusters: CLUSTERS, secondaryIpEvery: 10 }).topology);
    aws.setFaults([]);
    store = new InMemoryClusterStore();
    await registerFleet(store, fleet);
    for (const c of fleet) store.setState(c.name, { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: '1' });
    store.resetCalls();
    pages = [];
  });

  it('reads the whole fleet in a few batched calls and, with nothing drifted, writes nothing anywhere', async () => {
    const seq = lastSeq();

    const report = await sweepFleet(deps(), { inFlightMs: 120_000 });

    const calls = callsSince(seq);
    expect(calls.map((c) => c.action).sort()).toEqual(['DescribeAddresses', 'DescribeNetworkInterfaces', 'DescribeRouteTables', 'ListResourceRecordSets']);
    expect(report).toMatchObject({ clusters: CLUSTERS, shards: 1, drift: { found: 0, repaired: 0, failed: 0 }, next: null });
    expect(report.outcomes.in_place).toBe(CLUSTERS);
    expect(report.calls).toEqual({ DescribeRouteTables: 1, DescribeAddresses: 1, DescribeNetworkInterfaces: 1, ListResourceRecordSets: 1 });
    // Only reads of the store: no appliedEpoch, no target status written for a cluster already in place.
    expect(Object.keys(store.calls).sort()).toEqual(['listClusters', 'loadCluster']);
    expect(pages).toEqual([]);
  });

  it('repairs exactly the drifted targets through the usual convergence, batching the read-backs, and pages each drift', async () => {
    // Arrange: one drift of each kind, in four clusters.
    const drifted = [
      { c: fleet[3]!, kind: 'route' as const },
      { c: fleet[17]!, kind: 'elasticIp' as const },
      { c: fleet[42]!, kind: 'record' as const },
      { c: fleet[50]!, kind: 'secondaryIp' as const },
    ];
    const targets = [];
    for (const d of drifted) targets.push(await driftCluster({ ec2, route53 }, d.c, d.kind));
    const seq = lastSeq();

    // Act
    const report = await sweepFleet(deps(), { inFlightMs: 120_000 });

    // Assert: repaired, nothing else touched, every target back on node1.
    expect(report.drift).toEqual({ found: 4, repaired: 4, failed: 0 });
    expect(report.noteworthy.map((r) => [r.cluster, r.outcome])).toEqual(drifted.map((d) => [d.c.name, 'repaired']));
    const calls = callsSince(seq);
    const mutations = calls.filter((c) => !READS.has(c.action));
    expect(mutations.map((c) => c.action).sort()).toEqual(['AssignPrivateIpAddresses', 'AssociateAddress', 'ChangeResourceRecordSets', 'ReplaceRoute']);
    // The comparison's reads (4) plus the read-backs of the three EC2 changes, batched by kind (at most one each).
    expect(calls.filter((c) => READS.has(c.action)).length).toBeLessThanOrEqual(7);
    const state = aws.state();
    const c3 = fleet[3]!;
    expect(state.routeTables.filter((t) => c3.config.endpoints.routeTables!.routeTableIds.includes(t.routeTableId)).map((t) => t.routes.find((r) => r.destinationCidrBlock.endsWith('/32'))?.networkInterfaceId)).toEqual([c3.nodes[0]!.eni, c3.nodes[0]!.eni, c3.nodes[0]!.eni]);
    expect(state.addresses.find((a) => a.allocationId === fleet[17]!.config.endpoints.elasticIp!.allocationId)?.networkInterfaceId).toBe(fleet[17]!.nodes[0]!.eni);
    expect(pages.map((p) => [p.type, p.cluster])).toEqual(expect.arrayContaining(drifted.map((d) => ['drift_repaired', d.c.name])));
    expect(pages).toHaveLength(4);
    expect(JSON.stringify(pages)).toContain(targets[0]);
    // A second sweep finds nothing.
    const again = await sweepFleet(deps(), { inFlightMs: 120_000 });
    expect(again.drift.found).toBe(0);
  });

  it('keeps a missing route table to its own cluster: that chunk is read again by filter, only that cluster fails', async () => {
    // Arrange: one cluster names a route table that does not exist.
    const broken = fleet[7]!;
    const original = broken.config.endpoints.routeTables!;
    await store.applyCluster({ ...broken.config, endpoints: { ...broken.config.endpoints, routeTables: { ...original, routeTableIds: [...original.routeTableIds, 'rtb-0deadbeefdeadbeef0'] } } }, null, []);
    const seq = lastSeq();

    const report = await sweepFleet(deps(), { inFlightMs: 120_000 });

    const describes = callsSince(seq).filter((c) => c.action === 'DescribeRouteTables');
    expect(describes[0]?.errorCode).toBe('InvalidRouteTableID.NotFound');
    expect(describes.slice(1).every((c) => c.params['Filter.1.Name'] === 'route-table-id')).toBe(true);
    expect(report.noteworthy).toEqual([expect.objectContaining({ cluster: broken.name, outcome: 'failed', error: expect.objectContaining({ code: 'InvalidRouteTableID.NotFound' }) })]);
    expect(report.outcomes.in_place).toBe(CLUSTERS - 1);
    expect(pages.map((p) => [p.type, p.cluster])).toEqual([['actuation_failed', broken.name]]);
  });

  it('leaves alone a cluster the actuator is moving, and one whose epoch moved after the sweep read it', async () => {
    // Arrange: drift in two clusters; one is being moved by the actuator right now, the other fails over right after
    // the sweep's read (before its repair).
    const moving = fleet[5]!;
    const failingOver = fleet[6]!;
    await driftCluster({ ec2, route53 }, moving, 'route');
    await driftCluster({ ec2, route53 }, failingOver, 'route');
    const now = new Date().toISOString();
    await store.recordTargets(moving.name, { epoch: 1, primary: 'node1', phase: 'converging', since: now, at: now, targets: [] });
    const inner = createFleetObserver({ clientsFor: () => ({ ec2, route53 }), budgets: FAST });
    const observer: FleetObserver = {
      observe: async (members) => {
        const observation = await inner.observe(members);
        store.setState(failingOver.name, { primary: 'node2', timeline: 2, epoch: 2 });
        return observation;
      },
    };
    const seq = lastSeq();

    const report = await sweepFleet(deps(FAST, observer), { inFlightMs: 120_000 });

    expect(report.noteworthy.map((r) => [r.cluster, r.outcome])).toEqual([
      [moving.name, 'in_flight'],
      [failingOver.name, 'superseded'],
    ]);
    expect(callsSince(seq).filter((c) => !READS.has(c.action))).toEqual([]);
    expect(pages).toEqual([]);
  });

  it('does nothing for clusters whose account could not be read, and says why', async () => {
    aws.setFaults([{ service: 'ec2', action: 'DescribeRouteTables', code: 'UnauthorizedOperation' }]);
    await driftCluster({ ec2, route53 }, fleet[9]!, 'elasticIp');
    const seq = lastSeq();

    const report = await sweepFleet(deps(), { inFlightMs: 120_000 });

    expect(report.outcomes.unobserved).toBe(CLUSTERS);
    expect(report.noteworthy[0]).toMatchObject({ outcome: 'unobserved', error: { code: 'UnauthorizedOperation' } });
    expect(callsSince(seq).filter((c) => !READS.has(c.action))).toEqual([]);
    expect(pages).toEqual([]);
  });

  it('paces mutations under the EC2 write budget', async () => {
    for (const c of fleet.slice(20, 23)) await driftCluster({ ec2, route53 }, c, 'route');
    const budgets = { ...DEFAULT_RECONCILE_BUDGETS, ec2Reads: FAST.ec2Reads, route53: FAST.route53, ec2Writes: { ratePerSecond: 10, burst: 1 } };
    const seq = lastSeq();

    const report = await sweepFleet(deps(budgets), { inFlightMs: 120_000 });

    expect(report.drift.repaired).toBe(3);
    const at = callsSince(seq)
      .filter((c) => c.action === 'ReplaceRoute')
      .map((c) => Date.parse(c.at));
    expect(at).toHaveLength(3);
    // One at once, then one per 100 ms (timer granularity allowed for).
    expect(at[2]! - at[0]!).toBeGreaterThanOrEqual(180);
  });

  it('sweeps in shards, and stops at a shard boundary when the deadline is near, saying where to go on', async () => {
    const first = await sweepFleet(deps(), { inFlightMs: 120_000, shardSize: 50, deadline: Date.now() - 1 });

    expect(first).toMatchObject({ clusters: 50, shards: 1, next: fleet[49]!.name });

    const rest = await sweepFleet(deps(), { inFlightMs: 120_000, shardSize: 50, after: first.next });

    expect(rest).toMatchObject({ clusters: CLUSTERS - 50, shards: 2, next: null });
  });
});
