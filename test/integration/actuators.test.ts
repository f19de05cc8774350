/**
 * The endpoint actuators (route tables, elastic IP, secondary IP, Route 53, and all of them at once through the
 * composite) against the project's local AWS endpoint, with real SDK v3 clients, their own retry strategy, real HTTP
 * and real concurrency. Each test starts from the example topology: node1 holds every mechanism.
 */
import { AssignPrivateIpAddressesCommand, AssociateAddressCommand, DeleteRouteCommand, EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type AwsEndpoint, type CallRecord, type LatencyProfile, startAwsEndpoint, type Topology } from '../../local/aws-endpoint/index';
import { CompositeActuator } from '../../shared/adapters/composite-actuator';
import { createEndpointActuator } from '../../shared/adapters/endpoint-actuators';
import { Ec2ElasticIpActuator } from '../../shared/adapters/ec2-elastic-ip-actuator';
import { Ec2RouteActuator } from '../../shared/adapters/ec2-route-actuator';
import { Ec2SecondaryIpActuator } from '../../shared/adapters/ec2-secondary-ip-actuator';
import { Route53Actuator } from '../../shared/adapters/route53-actuator';
import type { EndpointConfig, EndpointTarget, NodeRecord, Route53Endpoint } from '../../shared/domain/cluster';
import type { ActionReport } from '../../shared/ports/cluster-store';

const TOPOLOGY = JSON.parse(readFileSync(resolve(__dirname, '../../local/topology.example.json'), 'utf8')) as Topology;
const ENI = ['eni-0a1b2c3d4e5f60001', 'eni-0a1b2c3d4e5f60002', 'eni-0a1b2c3d4e5f60003'] as const;
const IP = ['10.0.1.11', '10.0.1.12', '10.0.1.13'] as const;
const RTB_MAIN = 'rtb-0a1b2c3d4e5f60001';
const RTB_SUBNET = 'rtb-0a1b2c3d4e5f60002';
const RTB_UNKNOWN = 'rtb-0ffffffffffffffff';
const VIP = '10.0.255.10';
const EIP_ALLOC = 'eipalloc-0a1b2c3d4e5f60001';
const EIP = '198.51.100.10';
const SECONDARY = '10.0.1.100';
const ZONE = 'Z0123456789ABCDEFGHIJ';
const WRITER = 'writer.db.example.internal.';
const READER = 'reader.db.example.internal.';
const MUTATING = new Set(['ReplaceRoute', 'CreateRoute', 'AssociateAddress', 'AssignPrivateIpAddresses', 'ChangeResourceRecordSets']);
const common = { region: 'us-east-1', credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' } };

function node(n: 1 | 2 | 3, overrides: Partial<NodeRecord> = {}): NodeRecord {
  return {
    cluster: 'it',
    name: `node${n}`,
    repmgrNodeId: n,
    eni: `eni-0a1b2c3d4e5f6000${n}`,
    instanceId: `i-0a1b2c3d4e5f6000${n}`,
    privateIp: `10.0.1.1${n}`,
    fenced: false,
    health: 'replica',
    ...overrides,
  };
}

function to(primary: 1 | 2 | 3, replicas: Array<1 | 2 | 3> = []): EndpointTarget {
  return { primary: node(primary, { health: 'primary' }), replicas: replicas.map((n) => node(n)) };
}

function route53(overrides: Partial<Route53Endpoint> = {}): EndpointConfig {
  return { route53: { hostedZoneId: ZONE, writerRecord: WRITER, ttl: 30, waitForInsync: false, insyncTimeoutSeconds: 5, ...overrides } };
}

const elasticIp: EndpointConfig = { elasticIp: { allocationId: EIP_ALLOC } };
const secondaryIp: EndpointConfig = { secondaryIp: { address: SECONDARY } };

/** Poll `check` until it returns something other than `undefined`, or fail after `ms`. */
async function eventually<T>(what: string, ms: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * EC2 reads that lag a change, as AWS's do, made by the local endpoint itself: for 1.5 s after each EC2 mutation,
 * every DescribeRouteTables / DescribeAddresses / DescribeNetworkInterfaces answers the resource as it was before
 * (the call log marks those `staleRead`). No other latency. Runs `test` against a fresh endpoint and EC2 client.
 */
async function withLaggingDescribes(test: (aws: AwsEndpoint, client: EC2Client) => Promise<void>): Promise<void> {
  const latency: LatencyProfile = { name: 'describe-lag-1.5s', calls: {}, route53InsyncMs: { minMs: 100, maxMs: 100 }, describeLagMs: { minMs: 1500, maxMs: 1500 }, staleReadProbability: 1 };
  const aws = await startAwsEndpoint({ port: 0, topology: TOPOLOGY, latency });
  const client = new EC2Client({ ...common, endpoint: aws.url, maxAttempts: 3, retryMode: 'adaptive' });
  try {
    await test(aws, client);
  } finally {
    client.destroy();
    await aws.close();
  }
}

/** A fencing guard for tests: answers `newest`, counts the questions. */
function guard(answer: () => boolean | Promise<boolean>) {
  const asked = { count: 0 };
  return {
    asked,
    fn: async (): Promise<boolean> => {
      asked.count++;
      return answer();
    },
  };
}

let endpoint: AwsEndpoint;
let ec2: EC2Client;
let r53: Route53Client;

/** The sequence number of the latest call, to look only at what a test's act step sent. */
function mark(): number {
  return endpoint.calls().at(-1)?.seq ?? 0;
}

function callsSince(seq: number, action?: string): CallRecord[] {
  return endpoint.calls().filter((c) => c.seq > seq && (action === undefined || c.action === action));
}

function mutatingSince(seq: number): CallRecord[] {
  return callsSince(seq).filter((c) => MUTATING.has(c.action));
}

function eipState() {
  return endpoint.state().addresses.find((a) => a.allocationId === EIP_ALLOC);
}

function holderOf(address: string): string[] {
  return endpoint
    .state()
    .networkInterfaces.filter((n) => n.secondaryPrivateIpAddresses.includes(address))
    .map((n) => n.networkInterfaceId);
}

function record(name: string) {
  return endpoint
    .state()
    .hostedZones.find((z) => z.id === ZONE)
    ?.records.find((r) => r.name === name && r.type === 'A');
}

function routeTarget(routeTableId: string): string | undefined {
  return endpoint
    .state()
    .routeTables.find((t) => t.routeTableId === routeTableId)
    ?.routes.find((r) => r.destinationCidrBlock === `${VIP}/32`)?.networkInterfaceId;
}

beforeAll(async () => {
  endpoint = await startAwsEndpoint({ port: 0, topology: TOPOLOGY });
});

afterAll(async () => {
  await endpoint?.close();
});

beforeEach(() => {
  endpoint.setFaults([]);
  endpoint.reset(TOPOLOGY);
  // Fresh clients per test: the adaptive retry mode keeps a client-side rate limiter that throttling tests lower.
  ec2 = new EC2Client({ ...common, endpoint: endpoint.url, maxAttempts: 3, retryMode: 'adaptive' });
  r53 = new Route53Client({ ...common, endpoint: endpoint.url, maxAttempts: 3, retryMode: 'adaptive' });
});

afterEach(() => {
  ec2.destroy();
  r53.destroy();
});

describe('Ec2RouteActuator', () => {
  const both: EndpointConfig = { routeTables: { vip: VIP, routeTableIds: [RTB_MAIN, RTB_SUBNET] } };

  it('changes only the table that differs: the in_place one gets no mutating call and no guard question', async () => {
    // Arrange: RTB_MAIN already sends the VIP to node2, RTB_SUBNET still to node1.
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: `${VIP}/32`, NetworkInterfaceId: ENI[1] }));
    const newest = guard(() => true);
    const since = mark();

    // Act
    const reports = await new Ec2RouteActuator({ client: ec2 }).pointAt(both, to(2), { guard: newest.fn });

    // Assert
    expect(reports).toEqual([
      expect.objectContaining({ target: `${RTB_MAIN} ${VIP}/32`, result: 'in_place', from: ENI[1], to: ENI[1] }),
      expect.objectContaining({ target: `${RTB_SUBNET} ${VIP}/32`, result: 'moved', from: ENI[0], to: ENI[1], verified: true, observedAfter: ENI[1] }),
    ]);
    expect(reports[0]).not.toHaveProperty('verified');
    expect(mutatingSince(since).map((c) => [c.action, c.params.RouteTableId])).toEqual([['ReplaceRoute', RTB_SUBNET]]);
    expect(newest.asked.count).toBe(1);
    expect([routeTarget(RTB_MAIN), routeTarget(RTB_SUBNET)]).toEqual([ENI[1], ENI[1]]);
  });

  it('creates a missing route and reports created', async () => {
    await ec2.send(new DeleteRouteCommand({ RouteTableId: RTB_SUBNET, DestinationCidrBlock: `${VIP}/32` }));
    const since = mark();

    const reports = await new Ec2RouteActuator({ client: ec2 }).pointAt(both, to(2));

    expect(reports.map((r) => [r.result, r.from, r.verified])).toEqual([
      ['moved', ENI[0], true],
      ['created', null, true],
    ]);
    expect(callsSince(since, 'CreateRoute').map((c) => c.params.RouteTableId)).toEqual([RTB_SUBNET]);
    expect(routeTarget(RTB_SUBNET)).toBe(ENI[1]);
  });

  it('with every target known to differ (a failover), mutates first without a Describe, then verifies by read-back', async () => {
    const known = new Map([
      [`${RTB_MAIN} ${VIP}/32`, ENI[0]],
      [`${RTB_SUBNET} ${VIP}/32`, ENI[0]],
    ]);
    const since = mark();

    const reports = await new Ec2RouteActuator({ client: ec2 }).pointAt(both, to(2), { known });

    expect(reports.map((r) => [r.result, r.from, r.verified])).toEqual([
      ['moved', ENI[0], true],
      ['moved', ENI[0], true],
    ]);
    // The first call is the mutation: the Describe calls come after, as the read-back.
    expect(callsSince(since)[0]?.action).toBe('ReplaceRoute');
    expect([routeTarget(RTB_MAIN), routeTarget(RTB_SUBNET)]).toEqual([ENI[1], ENI[1]]);
  });

  it('reads first when any target is known to be right already (a drift it would otherwise miss), or is unknown', async () => {
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: `${VIP}/32`, NetworkInterfaceId: ENI[2] }));
    for (const known of [new Map([[`${RTB_MAIN} ${VIP}/32`, ENI[1]], [`${RTB_SUBNET} ${VIP}/32`, ENI[0]]]), new Map([[`${RTB_SUBNET} ${VIP}/32`, ENI[0]]])]) {
      const since = mark();

      const reports = await new Ec2RouteActuator({ client: ec2 }).pointAt(both, to(2), { known });

      expect(callsSince(since)[0]?.action).toBe('DescribeRouteTables');
      expect(reports.every((r) => r.result === 'moved' || r.result === 'in_place')).toBe(true);
      expect([routeTarget(RTB_MAIN), routeTarget(RTB_SUBNET)]).toEqual([ENI[1], ENI[1]]);
      await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: `${VIP}/32`, NetworkInterfaceId: ENI[2] }));
    }
  });

  it('a route known to exist but deleted meanwhile is created (ReplaceRoute finds none)', async () => {
    await ec2.send(new DeleteRouteCommand({ RouteTableId: RTB_SUBNET, DestinationCidrBlock: `${VIP}/32` }));
    const known = new Map([
      [`${RTB_MAIN} ${VIP}/32`, ENI[0]],
      [`${RTB_SUBNET} ${VIP}/32`, ENI[0]],
    ]);

    const reports = await new Ec2RouteActuator({ client: ec2 }).pointAt(both, to(2), { known });

    expect(reports.map((r) => [r.result, r.verified])).toEqual([
      ['moved', true],
      ['created', true],
    ]);
    expect(routeTarget(RTB_SUBNET)).toBe(ENI[1]);
  });

  it('points a target to re-assert again although the read says it is right (the read may lag a late change)', async () => {
    // Arrange: the read shows RTB_MAIN on node2 already; a superseded pass may have moved it after that read's version.
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: `${VIP}/32`, NetworkInterfaceId: ENI[1] }));
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_SUBNET, DestinationCidrBlock: `${VIP}/32`, NetworkInterfaceId: ENI[1] }));
    const since = mark();

    const reports = await new Ec2RouteActuator({ client: ec2 }).pointAt(both, to(2), { reassert: new Set([`${RTB_MAIN} ${VIP}/32`]) });

    expect(reports.map((r) => [r.target, r.result, r.verified])).toEqual([
      [`${RTB_MAIN} ${VIP}/32`, 'moved', true],
      [`${RTB_SUBNET} ${VIP}/32`, 'in_place', undefined],
    ]);
    expect(mutatingSince(since).map((c) => [c.action, c.params.RouteTableId])).toEqual([['ReplaceRoute', RTB_MAIN]]);
    expect([routeTarget(RTB_MAIN), routeTarget(RTB_SUBNET)]).toEqual([ENI[1], ENI[1]]);
  });

  it('re-asserts every target with reassert "all" (the first pass of a new epoch)', async () => {
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: `${VIP}/32`, NetworkInterfaceId: ENI[1] }));
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_SUBNET, DestinationCidrBlock: `${VIP}/32`, NetworkInterfaceId: ENI[1] }));
    const since = mark();

    const reports = await new Ec2RouteActuator({ client: ec2 }).pointAt(both, to(2), { reassert: 'all' });

    expect(reports.map((r) => [r.result, r.verified])).toEqual([
      ['moved', true],
      ['moved', true],
    ]);
    expect(mutatingSince(since).map((c) => c.params.RouteTableId).sort()).toEqual([RTB_MAIN, RTB_SUBNET].sort());
  });

  it('stops reading back once a newer epoch is committed: superseded, verified false (the change was made)', async () => {
    await withLaggingDescribes(async (aws, client) => {
      // The guard lets both mutations through, then a newer claim commits while the lagging reads still show node1.
      let newest = true;
      const g = guard(() => newest);
      const act = new Ec2RouteActuator({ client }).pointAt(both, to(2), { guard: g.fn });
      await eventually('both ReplaceRoutes made', 5000, () => (aws.calls().filter((c) => c.action === 'ReplaceRoute' && c.status !== null).length === 2 ? true : undefined));
      newest = false;

      const reports = await act;

      expect(reports.map((r) => [r.result, r.verified])).toEqual([
        ['superseded', false],
        ['superseded', false],
      ]);
      // Stopped well before the default read-back's nine reads ran out.
      expect(aws.calls().filter((c) => c.action === 'DescribeRouteTables').length).toBeLessThan(9);
    });
  });

  it('with its default read-back, confirms a move although DescribeRouteTables answers the old routes for 1.5 s', async () => {
    await withLaggingDescribes(async (aws, client) => {
      // Act
      const reports = await new Ec2RouteActuator({ client }).pointAt(both, to(2));

      // Assert: the first read-backs saw node1 (stale), a later one node2.
      expect(reports).toEqual([
        expect.objectContaining({ result: 'moved', verified: true, observedAfter: ENI[1] }),
        expect.objectContaining({ result: 'moved', verified: true, observedAfter: ENI[1] }),
      ]);
      const reads = aws.calls().filter((c) => c.action === 'DescribeRouteTables');
      expect(reads.filter((c) => c.staleRead).length).toBeGreaterThanOrEqual(3);
      expect(reads.at(-1)?.staleRead).toBe(false);
      expect(aws.calls().filter((c) => MUTATING.has(c.action)).map((c) => c.action)).toEqual(['ReplaceRoute', 'ReplaceRoute']);
    });
  });
});

describe('Ec2ElasticIpActuator', () => {
  it('moves the address to the new primary, verifies it, and reports moved', async () => {
    // Arrange
    const actuator = new Ec2ElasticIpActuator({ client: ec2 });
    expect(eipState()?.networkInterfaceId).toBe(ENI[0]);
    const since = mark();

    // Act
    const reports = await actuator.pointAt(elasticIp, to(2));

    // Assert
    expect(reports).toEqual([
      expect.objectContaining({ mechanism: 'elastic_ip', target: `${EIP_ALLOC} ${EIP}`, result: 'moved', from: `${ENI[0]} ${IP[0]}`, to: `${ENI[1]} ${IP[1]}`, verified: true, observedAfter: `${ENI[1]} ${IP[1]}` }),
    ]);
    expect(reports[0]?.ms).toEqual(expect.any(Number));
    expect(eipState()).toMatchObject({ networkInterfaceId: ENI[1], privateIpAddress: IP[1] });
    const sent = callsSince(since).map((c) => c.action);
    expect(sent).toEqual(['DescribeAddresses', 'AssociateAddress', 'DescribeAddresses']);
    expect(callsSince(since, 'AssociateAddress')[0]?.params).toMatchObject({ AllocationId: EIP_ALLOC, NetworkInterfaceId: ENI[1], AllowReassociation: 'true', PrivateIpAddress: IP[1] });
  });

  it('reports in_place on a re-run and sends no mutating call', async () => {
    const actuator = new Ec2ElasticIpActuator({ client: ec2 });
    await actuator.pointAt(elasticIp, to(2));
    const since = mark();

    const reports = await actuator.pointAt(elasticIp, to(2));

    expect(reports).toEqual([expect.objectContaining({ result: 'in_place', from: `${ENI[1]} ${IP[1]}` })]);
    expect(mutatingSince(since)).toEqual([]);
  });

  it('with plan: true reports planned and changes nothing', async () => {
    const actuator = new Ec2ElasticIpActuator({ client: ec2 });
    const since = mark();

    const reports = await actuator.pointAt(elasticIp, to(2), { plan: true });

    expect(reports).toEqual([expect.objectContaining({ result: 'planned', from: `${ENI[0]} ${IP[0]}`, to: `${ENI[1]} ${IP[1]}` })]);
    expect(mutatingSince(since)).toEqual([]);
    expect(eipState()?.networkInterfaceId).toBe(ENI[0]);
  });

  it('gets through EC2 throttling with the SDK retry strategy alone', async () => {
    endpoint.setFaults([{ service: 'ec2', action: 'AssociateAddress', code: 'RequestLimitExceeded', count: 2 }]);
    const since = mark();

    const reports = await new Ec2ElasticIpActuator({ client: ec2 }).pointAt(elasticIp, to(2));

    expect(reports).toEqual([expect.objectContaining({ result: 'moved' })]);
    expect(callsSince(since, 'AssociateAddress').map((c) => c.errorCode)).toEqual(['RequestLimitExceeded', 'RequestLimitExceeded', null]);
    expect(eipState()?.networkInterfaceId).toBe(ENI[1]);
  });

  it('reports an unknown allocation as failed with its AWS code', async () => {
    const since = mark();

    const reports = await new Ec2ElasticIpActuator({ client: ec2 }).pointAt({ elasticIp: { allocationId: 'eipalloc-0fffffffffffffff0' } }, to(2));

    expect(reports).toEqual([expect.objectContaining({ mechanism: 'elastic_ip', result: 'failed', error: expect.objectContaining({ code: 'InvalidAllocationID.NotFound' }) })]);
    expect(mutatingSince(since)).toEqual([]);
  });

  it('reports VerificationFailed when another writer moves the address between its write and its read-back', async () => {
    // Arrange: hold the actuator's AssociateAddress at the endpoint, so the test can slow its read-backs and let
    // an interloper re-associate the address to node3 in between.
    endpoint.setFaults([{ service: 'ec2', action: 'AssociateAddress', latencyMs: 200, count: 1 }]);
    const interloper = new EC2Client({ ...common, endpoint: endpoint.url, maxAttempts: 1 });
    const since = mark();

    // Act
    const running = new Ec2ElasticIpActuator({ client: ec2, readBack: { attempts: 3, intervalMs: 20 } }).pointAt(elasticIp, to(2));
    await eventually('the actuator AssociateAddress to arrive', 5000, () => callsSince(since, 'AssociateAddress')[0]);
    endpoint.setFaults([{ service: 'ec2', action: 'DescribeAddresses', latencyMs: 300 }]);
    await eventually('the actuator AssociateAddress to be answered', 5000, () => callsSince(since, 'AssociateAddress').find((c) => c.status === 200));
    await interloper.send(new AssociateAddressCommand({ AllocationId: EIP_ALLOC, NetworkInterfaceId: ENI[2], AllowReassociation: true }));
    const reports = await running;
    interloper.destroy();

    // Assert
    expect(reports).toEqual([expect.objectContaining({ result: 'failed', error: expect.objectContaining({ code: 'VerificationFailed', message: expect.stringContaining(ENI[2]) }) })]);
    expect(callsSince(since, 'DescribeAddresses')).toHaveLength(1 + 3);
  });

  it('with its default read-back, confirms a move although DescribeAddresses answers the old association for 1.5 s', async () => {
    await withLaggingDescribes(async (aws, client) => {
      const reports = await new Ec2ElasticIpActuator({ client }).pointAt(elasticIp, to(2));

      expect(reports).toEqual([expect.objectContaining({ result: 'moved', verified: true, observedAfter: `${ENI[1]} ${IP[1]}` })]);
      expect(reports[0]?.ms).toBeGreaterThanOrEqual(1500);
      const reads = aws.calls().filter((c) => c.action === 'DescribeAddresses');
      expect(reads.filter((c) => c.staleRead).length).toBeGreaterThanOrEqual(3);
      // Bounded: 1 observe + at most 9 read-backs; confirmed at about 1.5 s, before the reads ran out.
      expect(reads.length).toBeLessThan(1 + 9);
      expect(aws.calls().filter((c) => MUTATING.has(c.action)).map((c) => c.action)).toEqual(['AssociateAddress']);
    });
  });

  it('under the same lag, a read-back too short to outlast it reports VerificationFailed (the lag is real)', async () => {
    await withLaggingDescribes(async (aws, client) => {
      const reports = await new Ec2ElasticIpActuator({ client, readBack: { attempts: 3, intervalMs: 20 } }).pointAt(elasticIp, to(2));

      expect(reports).toEqual([
        expect.objectContaining({ result: 'failed', verified: false, observedAfter: `${ENI[0]} ${IP[0]}`, error: expect.objectContaining({ code: 'VerificationFailed' }) }),
      ]);
      expect(aws.state().addresses.find((x) => x.allocationId === EIP_ALLOC)?.networkInterfaceId).toBe(ENI[1]);
    });
  });
});

describe('Ec2SecondaryIpActuator', () => {
  it('moves the secondary address to the new primary ENI, verifies it, and reports moved', async () => {
    const actuator = new Ec2SecondaryIpActuator({ client: ec2 });
    expect(holderOf(SECONDARY)).toEqual([ENI[0]]);
    const since = mark();

    const reports = await actuator.pointAt(secondaryIp, to(2));

    expect(reports).toEqual([expect.objectContaining({ mechanism: 'secondary_ip', target: SECONDARY, result: 'moved', from: ENI[0], to: ENI[1], verified: true, observedAfter: ENI[1] })]);
    expect(reports[0]?.ms).toEqual(expect.any(Number));
    expect(holderOf(SECONDARY)).toEqual([ENI[1]]);
    expect(callsSince(since).map((c) => c.action)).toEqual(['DescribeNetworkInterfaces', 'AssignPrivateIpAddresses', 'DescribeNetworkInterfaces']);
    expect(callsSince(since, 'AssignPrivateIpAddresses')[0]?.params).toMatchObject({ NetworkInterfaceId: ENI[1], AllowReassignment: 'true' });
  });

  it('reports in_place on a re-run and sends no mutating call', async () => {
    const actuator = new Ec2SecondaryIpActuator({ client: ec2 });
    await actuator.pointAt(secondaryIp, to(2));
    const since = mark();

    const reports = await actuator.pointAt(secondaryIp, to(2));

    expect(reports).toEqual([expect.objectContaining({ result: 'in_place', from: ENI[1] })]);
    expect(mutatingSince(since)).toEqual([]);
  });

  it('with plan: true reports planned and changes nothing', async () => {
    const since = mark();

    const reports = await new Ec2SecondaryIpActuator({ client: ec2 }).pointAt(secondaryIp, to(3), { plan: true });

    expect(reports).toEqual([expect.objectContaining({ result: 'planned', from: ENI[0], to: ENI[2] })]);
    expect(mutatingSince(since)).toEqual([]);
    expect(holderOf(SECONDARY)).toEqual([ENI[0]]);
  });

  it('gets through EC2 throttling with the SDK retry strategy alone', async () => {
    endpoint.setFaults([{ service: 'ec2', action: 'AssignPrivateIpAddresses', code: 'RequestLimitExceeded', count: 2 }]);
    const since = mark();

    const reports = await new Ec2SecondaryIpActuator({ client: ec2 }).pointAt(secondaryIp, to(2));

    expect(reports).toEqual([expect.objectContaining({ result: 'moved' })]);
    expect(callsSince(since, 'AssignPrivateIpAddresses').map((c) => c.errorCode)).toEqual(['RequestLimitExceeded', 'RequestLimitExceeded', null]);
    expect(holderOf(SECONDARY)).toEqual([ENI[1]]);
  });

  it('reports an unknown ENI as failed with its AWS code and leaves the address where it was', async () => {
    const reports = await new Ec2SecondaryIpActuator({ client: ec2 }).pointAt(secondaryIp, { primary: node(2, { eni: 'eni-0fffffffffffffff0' }), replicas: [] });

    expect(reports).toEqual([expect.objectContaining({ result: 'failed', error: expect.objectContaining({ code: 'InvalidNetworkInterfaceID.NotFound' }) })]);
    expect(holderOf(SECONDARY)).toEqual([ENI[0]]);
  });

  it('reports VerificationFailed when another writer takes the address before its read-back', async () => {
    endpoint.setFaults([{ service: 'ec2', action: 'AssignPrivateIpAddresses', latencyMs: 200, count: 1 }]);
    const interloper = new EC2Client({ ...common, endpoint: endpoint.url, maxAttempts: 1 });
    const since = mark();

    const running = new Ec2SecondaryIpActuator({ client: ec2, readBack: { attempts: 3, intervalMs: 20 } }).pointAt(secondaryIp, to(2));
    await eventually('the actuator AssignPrivateIpAddresses to arrive', 5000, () => callsSince(since, 'AssignPrivateIpAddresses')[0]);
    endpoint.setFaults([{ service: 'ec2', action: 'DescribeNetworkInterfaces', latencyMs: 300 }]);
    await eventually('the assignment to be answered', 5000, () => callsSince(since, 'AssignPrivateIpAddresses').find((c) => c.status === 200));
    await interloper.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[2], PrivateIpAddresses: [SECONDARY], AllowReassignment: true }));
    const reports = await running;
    interloper.destroy();

    expect(reports).toEqual([expect.objectContaining({ result: 'failed', error: expect.objectContaining({ code: 'VerificationFailed' }) })]);
    expect(holderOf(SECONDARY)).toEqual([ENI[2]]);
  });
  it('with its default read-back, confirms a move although DescribeNetworkInterfaces answers the old holder for 1.5 s', async () => {
    await withLaggingDescribes(async (aws, client) => {
      const reports = await new Ec2SecondaryIpActuator({ client }).pointAt(secondaryIp, to(2));

      expect(reports).toEqual([expect.objectContaining({ result: 'moved', from: ENI[0], verified: true, observedAfter: ENI[1] })]);
      expect(aws.calls().filter((c) => c.action === 'DescribeNetworkInterfaces' && c.staleRead).length).toBeGreaterThanOrEqual(3);
    });
  });
});

describe('Route53Actuator', () => {
  it('upserts the writer record to the new primary and reports moved', async () => {
    const since = mark();

    const reports = await new Route53Actuator({ client: r53 }).pointAt(route53(), to(2));

    expect(reports).toEqual([expect.objectContaining({ mechanism: 'route53_writer', target: `${ZONE} ${WRITER} A`, result: 'moved', from: IP[0], to: IP[1] })]);
    // Not waiting for INSYNC means not confirming: `verified` stays unset rather than claiming either way.
    expect(reports[0]).not.toHaveProperty('verified');
    expect(record(WRITER)).toEqual({ name: WRITER, type: 'A', ttl: 30, values: [IP[1]] });
    expect(callsSince(since).map((c) => c.action)).toEqual(['ListResourceRecordSets', 'ChangeResourceRecordSets']);
  });

  it('reports in_place on a re-run and sends no mutating call', async () => {
    const actuator = new Route53Actuator({ client: r53 });
    await actuator.pointAt(route53(), to(2));
    const since = mark();

    const reports = await actuator.pointAt(route53(), to(2));

    expect(reports).toEqual([expect.objectContaining({ result: 'in_place', from: IP[1] })]);
    expect(mutatingSince(since)).toEqual([]);
  });

  it('treats a TTL difference as a difference', async () => {
    const reports = await new Route53Actuator({ client: r53 }).pointAt(route53({ ttl: 5 }), to(1));

    expect(reports).toEqual([expect.objectContaining({ result: 'moved', from: IP[0], to: IP[0] })]);
    expect(record(WRITER)?.ttl).toBe(5);
  });

  it('with plan: true reports planned and changes nothing', async () => {
    const since = mark();

    const reports = await new Route53Actuator({ client: r53 }).pointAt(route53({ readerRecord: READER }), to(2, [1, 3]), { plan: true });

    expect(reports).toEqual([
      expect.objectContaining({ mechanism: 'route53_writer', result: 'planned', from: IP[0], to: IP[1] }),
      expect.objectContaining({ mechanism: 'route53_reader', result: 'planned', from: null, to: `${IP[0]},${IP[2]}` }),
    ]);
    expect(mutatingSince(since)).toEqual([]);
    expect(record(WRITER)?.values).toEqual([IP[0]]);
    expect(record(READER)).toBeUndefined();
  });

  it('keeps the reader set equal to the replicas, in one change batch with the writer, and deletes it when none are left', async () => {
    const actuator = new Route53Actuator({ client: r53 });
    const config = route53({ readerRecord: READER });

    // Two replicas: writer moves, reader is created with both (sorted), one batch for both.
    let since = mark();
    let reports = await actuator.pointAt(config, to(2, [3, 1]));
    expect(reports).toEqual([
      expect.objectContaining({ mechanism: 'route53_writer', result: 'moved', to: IP[1] }),
      expect.objectContaining({ mechanism: 'route53_reader', target: `${ZONE} ${READER} A`, result: 'created', from: null, to: `${IP[0]},${IP[2]}` }),
    ]);
    expect(record(READER)).toEqual({ name: READER, type: 'A', ttl: 30, values: [IP[0], IP[2]] });
    const batches = callsSince(since, 'ChangeResourceRecordSets');
    expect(batches).toHaveLength(1);
    expect(batches[0]?.params.changes).toBe(`UPSERT ${WRITER} A ${IP[1]}; UPSERT ${READER} A ${IP[0]},${IP[2]}`);

    // One replica left.
    reports = await actuator.pointAt(config, to(2, [3]));
    expect(reports).toEqual([expect.objectContaining({ mechanism: 'route53_writer', result: 'in_place' }), expect.objectContaining({ mechanism: 'route53_reader', result: 'moved', to: IP[2] })]);
    expect(record(READER)?.values).toEqual([IP[2]]);

    // None left: the record set goes away (it cannot be empty).
    since = mark();
    reports = await actuator.pointAt(config, to(2, []));
    expect(reports).toEqual([expect.objectContaining({ result: 'in_place' }), expect.objectContaining({ mechanism: 'route53_reader', result: 'moved', from: IP[2], to: '' })]);
    expect(record(READER)).toBeUndefined();
    expect(callsSince(since, 'ChangeResourceRecordSets')[0]?.params.changes).toBe(`DELETE ${READER} A ${IP[2]}`);

    // Still none: nothing to do.
    since = mark();
    reports = await actuator.pointAt(config, to(2, []));
    expect(reports).toEqual([expect.objectContaining({ result: 'in_place' }), expect.objectContaining({ mechanism: 'route53_reader', result: 'in_place', from: null, to: '' })]);
    expect(mutatingSince(since)).toEqual([]);
  });

  it('ignores replicas without a private IP in the reader set', async () => {
    const target: EndpointTarget = { primary: node(1), replicas: [node(2, { privateIp: null }), node(3)] };

    await new Route53Actuator({ client: r53 }).pointAt(route53({ readerRecord: READER }), target);

    expect(record(READER)?.values).toEqual([IP[2]]);
  });

  it('fails the writer of a primary without a private IP, and still converges the reader', async () => {
    const target: EndpointTarget = { primary: node(2, { privateIp: null }), replicas: [node(3)] };

    const reports = await new Route53Actuator({ client: r53 }).pointAt(route53({ readerRecord: READER }), target);

    expect(reports).toEqual([
      expect.objectContaining({ mechanism: 'route53_writer', result: 'failed', error: expect.objectContaining({ code: 'MissingPrivateIp' }) }),
      expect.objectContaining({ mechanism: 'route53_reader', result: 'created' }),
    ]);
    expect(record(WRITER)?.values).toEqual([IP[0]]);
  });

  it('with waitForInsync returns only once GetChange says INSYNC', async () => {
    const since = mark();

    const reports = await new Route53Actuator({ client: r53, insyncPoll: { firstDelayMs: 20 } }).pointAt(route53({ waitForInsync: true }), to(2));

    expect(reports).toEqual([expect.objectContaining({ result: 'moved', verified: true })]);
    const gets = callsSince(since, 'GetChange');
    expect(gets.length).toBeGreaterThanOrEqual(1);
    const changeId = gets.at(-1)?.params.path?.split('/').at(-1);
    const change = endpoint.state().hostedZones.find((z) => z.id === ZONE)?.changes.find((c) => c.id === changeId);
    expect(change?.status).toBe('INSYNC');
  });

  it('does not poll GetChange without waitForInsync', async () => {
    const since = mark();

    await new Route53Actuator({ client: r53 }).pointAt(route53(), to(2));

    expect(callsSince(since, 'GetChange')).toEqual([]);
  });

  it('reports InsyncTimeout when the change stays PENDING past the bound, saying the change was submitted', async () => {
    const slow = await startAwsEndpoint({ port: 0, topology: TOPOLOGY, route53InsyncAfterMs: 60_000 });
    const client = new Route53Client({ ...common, endpoint: slow.url, maxAttempts: 3, retryMode: 'adaptive' });
    try {
      const reports = await new Route53Actuator({ client, insyncPoll: { firstDelayMs: 50 } }).pointAt(route53({ waitForInsync: true, insyncTimeoutSeconds: 0.3 }), to(2));

      expect(reports).toEqual([
        expect.objectContaining({ result: 'failed', error: { code: 'InsyncTimeout', message: expect.stringMatching(/submitted.*PENDING after 0\.3 s/) } }),
      ]);
      expect(reports[0]?.ms).toBeGreaterThanOrEqual(300);
      const zone = slow.state().hostedZones.find((z) => z.id === ZONE);
      expect(zone?.records.find((r) => r.name === WRITER)?.values).toEqual([IP[1]]);
      expect(zone?.changes.map((c) => c.status)).toEqual(['PENDING']);
    } finally {
      client.destroy();
      await slow.close();
    }
  });

  it('gets through PriorRequestNotComplete and Throttling with the SDK retry strategy alone', async () => {
    endpoint.setFaults([{ service: 'route53', action: 'ChangeResourceRecordSets', code: 'PriorRequestNotComplete', count: 1 }]);
    let since = mark();
    let reports = await new Route53Actuator({ client: r53 }).pointAt(route53(), to(2));
    expect(reports).toEqual([expect.objectContaining({ result: 'moved' })]);
    expect(callsSince(since, 'ChangeResourceRecordSets').map((c) => c.errorCode)).toEqual(['PriorRequestNotComplete', null]);

    endpoint.setFaults([{ service: 'route53', action: 'ListResourceRecordSets', code: 'Throttling', count: 2 }]);
    since = mark();
    reports = await new Route53Actuator({ client: r53 }).pointAt(route53(), to(3));
    expect(reports).toEqual([expect.objectContaining({ result: 'moved' })]);
    expect(callsSince(since, 'ListResourceRecordSets').map((c) => c.errorCode)).toEqual(['Throttling', 'Throttling', null]);
    expect(record(WRITER)?.values).toEqual([IP[2]]);
  });

  it('reports an unknown hosted zone as failed with NoSuchHostedZone', async () => {
    const reports = await new Route53Actuator({ client: r53 }).pointAt(route53({ hostedZoneId: 'ZNOPE0000000', readerRecord: READER }), to(2, [1]));

    expect(reports).toEqual([
      expect.objectContaining({ mechanism: 'route53_writer', result: 'failed', error: expect.objectContaining({ code: 'NoSuchHostedZone' }) }),
      expect.objectContaining({ mechanism: 'route53_reader', result: 'failed', error: expect.objectContaining({ code: 'NoSuchHostedZone' }) }),
    ]);
  });

  it('reports a refused change batch as InvalidChangeBatch with Route 53 reasons', async () => {
    const reports = await new Route53Actuator({ client: r53 }).pointAt(route53({ writerRecord: 'writer.elsewhere.example.' }), to(2));

    expect(reports).toEqual([
      expect.objectContaining({ result: 'failed', error: { code: 'InvalidChangeBatch', message: expect.stringContaining('is not permitted in zone') } }),
    ]);
  });
  it('reports a 400 the SDK cannot name (Route 53\'s own InvalidChangeBatch body) as InvalidChangeBatch', async () => {
    // SDK 3.1169 parses Route 53's non-standard <InvalidChangeBatch> root as name "Unknown", status 400 (see the wire
    // notes); the fault rule reproduces that name and status.
    endpoint.setFaults([{ service: 'route53', action: 'ChangeResourceRecordSets', code: 'Unknown', status: 400 }]);

    const reports = await new Route53Actuator({ client: r53 }).pointAt(route53(), to(2));

    expect(reports).toEqual([expect.objectContaining({ result: 'failed', error: expect.objectContaining({ code: 'InvalidChangeBatch' }) })]);
    expect(record(WRITER)?.values).toEqual([IP[0]]);
  });
});

describe('CompositeActuator', () => {
  const all = (overrides: EndpointConfig = {}): EndpointConfig => ({
    routeTables: { vip: VIP, routeTableIds: [RTB_MAIN, RTB_SUBNET] },
    ...elasticIp,
    ...secondaryIp,
    ...route53({ readerRecord: READER }),
    ...overrides,
  });

  function composite(): CompositeActuator {
    return new CompositeActuator({
      actuators: [
        { mechanism: 'route_table', actuator: new Ec2RouteActuator({ client: ec2 }) },
        { mechanism: 'elastic_ip', actuator: new Ec2ElasticIpActuator({ client: ec2 }) },
        { mechanism: 'secondary_ip', actuator: new Ec2SecondaryIpActuator({ client: ec2 }) },
        { mechanism: 'route53_writer', actuator: new Route53Actuator({ client: r53 }) },
      ],
    });
  }

  function byMechanism(reports: ActionReport[]): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const r of reports) (out[r.mechanism] ??= []).push(r.error ? `${r.result}:${r.error.code}` : r.result);
    return out;
  }

  it('moves every mechanism, and runs them at the same time', async () => {
    // Every mutating call is held 200 ms at the endpoint, so overlapping calls prove the mechanisms ran concurrently.
    endpoint.setFaults(['ReplaceRoute', 'AssociateAddress', 'AssignPrivateIpAddresses', 'ChangeResourceRecordSets'].map((action) => ({ service: action === 'ChangeResourceRecordSets' ? 'route53' : 'ec2', action, latencyMs: 200 })));
    const since = mark();

    const reports = await composite().pointAt(all(), to(2, [3]));

    expect(byMechanism(reports)).toEqual({ route_table: ['moved', 'moved'], elastic_ip: ['moved'], secondary_ip: ['moved'], route53_writer: ['moved'], route53_reader: ['created'] });
    expect([routeTarget(RTB_MAIN), routeTarget(RTB_SUBNET), eipState()?.networkInterfaceId, ...holderOf(SECONDARY)]).toEqual([ENI[1], ENI[1], ENI[1], ENI[1]]);
    expect(record(WRITER)?.values).toEqual([IP[1]]);
    const writes = mutatingSince(since).map((c) => ({ start: Date.parse(c.at), end: Date.parse(c.at) + (c.ms ?? 0) }));
    expect(writes).toHaveLength(5);
    expect(Math.max(...writes.map((w) => w.start))).toBeLessThan(Math.min(...writes.map((w) => w.end)));
  });

  it('keeps moving the other table and the other mechanisms when one route table id is unknown', async () => {
    const reports = await composite().pointAt(all({ routeTables: { vip: VIP, routeTableIds: [RTB_MAIN, RTB_UNKNOWN] } }), to(2, [3]));

    expect(reports.filter((r) => r.mechanism === 'route_table')).toEqual([
      expect.objectContaining({ target: `${RTB_MAIN} ${VIP}/32`, result: 'moved' }),
      expect.objectContaining({ target: `${RTB_UNKNOWN} ${VIP}/32`, result: 'failed', error: expect.objectContaining({ code: 'InvalidRouteTableID.NotFound' }) }),
    ]);
    expect(byMechanism(reports)).toMatchObject({ elastic_ip: ['moved'], secondary_ip: ['moved'], route53_writer: ['moved'], route53_reader: ['created'] });
    expect(routeTarget(RTB_MAIN)).toBe(ENI[1]);
    expect(routeTarget(RTB_SUBNET)).toBe(ENI[0]);
    expect(eipState()?.networkInterfaceId).toBe(ENI[1]);
  });

  it('isolates a non-retryable EC2 error to its mechanism', async () => {
    endpoint.setFaults([{ service: 'ec2', action: 'AssociateAddress', code: 'InvalidAllocationID.NotFound' }]);

    const reports = await composite().pointAt(all(), to(2, [3]));

    expect(byMechanism(reports)).toEqual({
      route_table: ['moved', 'moved'],
      elastic_ip: ['failed:InvalidAllocationID.NotFound'],
      secondary_ip: ['moved'],
      route53_writer: ['moved'],
      route53_reader: ['created'],
    });
    expect(eipState()?.networkInterfaceId).toBe(ENI[0]);
    expect(holderOf(SECONDARY)).toEqual([ENI[1]]);
  });

  it('isolates an unknown hosted zone to the Route 53 mechanism', async () => {
    const reports = await composite().pointAt(all(route53({ hostedZoneId: 'ZNOPE0000000' })), to(2));

    expect(byMechanism(reports)).toEqual({
      route_table: ['moved', 'moved'],
      elastic_ip: ['moved'],
      secondary_ip: ['moved'],
      route53_writer: ['failed:NoSuchHostedZone'],
    });
  });

  it('turns an actuator that throws into one failed report and lets the others finish', async () => {
    const broken = { pointAt: async (): Promise<ActionReport[]> => Promise.reject(new TypeError('broken actuator')) };
    const actuator = new CompositeActuator({
      actuators: [
        { mechanism: 'route_table', actuator: new Ec2RouteActuator({ client: ec2 }) },
        { mechanism: 'elastic_ip', actuator: broken },
        { mechanism: 'secondary_ip', actuator: new Ec2SecondaryIpActuator({ client: ec2 }) },
        { mechanism: 'route53_writer', actuator: new Route53Actuator({ client: r53 }) },
      ],
    });

    const reports = await actuator.pointAt(all(), to(2, [3]));

    expect(reports.find((r) => r.mechanism === 'elastic_ip')).toEqual(
      expect.objectContaining({ target: '*', result: 'failed', to: 'node2', error: { code: 'TypeError', message: 'broken actuator' } }),
    );
    expect(byMechanism(reports)).toEqual({
      route_table: ['moved', 'moved'],
      elastic_ip: ['failed:TypeError'],
      secondary_ip: ['moved'],
      route53_writer: ['moved'],
      route53_reader: ['created'],
    });
    expect(eipState()?.networkInterfaceId).toBe(ENI[0]);
  });

  it('with plan: true reports planned everywhere and changes nothing', async () => {
    const before = endpoint.state();
    const since = mark();

    const reports = await composite().pointAt(all(), to(2, [3]), { plan: true });

    expect(byMechanism(reports)).toEqual({ route_table: ['planned', 'planned'], elastic_ip: ['planned'], secondary_ip: ['planned'], route53_writer: ['planned'], route53_reader: ['planned'] });
    expect(mutatingSince(since)).toEqual([]);
    expect(endpoint.state()).toEqual(before);
  });

  it('reports in_place everywhere on a re-run, with no mutating call', async () => {
    await composite().pointAt(all(), to(2, [3]));
    const since = mark();

    const reports = await composite().pointAt(all(), to(2, [3]));

    expect(reports.map((r) => r.result)).toEqual(reports.map(() => 'in_place'));
    expect(reports).toHaveLength(6);
    expect(mutatingSince(since)).toEqual([]);
  });

  it('returns no reports for mechanisms that are not configured', async () => {
    expect(await composite().pointAt({}, to(2))).toEqual([]);
  });
});

describe('the fencing guard', () => {
  const all: EndpointConfig = {
    routeTables: { vip: VIP, routeTableIds: [RTB_MAIN, RTB_SUBNET] },
    ...elasticIp,
    ...secondaryIp,
    ...route53({ readerRecord: READER }),
  };

  function composite(): CompositeActuator {
    return createEndpointActuator({ ec2, route53: r53 });
  }

  it('makes no mutation once a newer epoch is committed: every differing target is superseded', async () => {
    // Arrange
    const before = endpoint.state();
    const newest = guard(() => false);
    const since = mark();

    // Act
    const reports = await composite().pointAt(all, to(2, [3]), { guard: newest.fn });

    // Assert: asked once per mutation it would have made (2 route tables, the EIP, the secondary IP, one Route 53
    // batch for writer and reader), and none made.
    expect(reports.map((r) => `${r.mechanism}:${r.result}`)).toEqual([
      'route_table:superseded',
      'route_table:superseded',
      'elastic_ip:superseded',
      'secondary_ip:superseded',
      'route53_writer:superseded',
      'route53_reader:superseded',
    ]);
    expect(reports.find((r) => r.mechanism === 'elastic_ip')).toEqual(expect.objectContaining({ from: `${ENI[0]} ${IP[0]}`, to: `${ENI[1]} ${IP[1]}` }));
    expect(reports.every((r) => r.verified === undefined && r.error === undefined)).toBe(true);
    expect(newest.asked.count).toBe(5);
    expect(mutatingSince(since)).toEqual([]);
    expect(endpoint.state()).toEqual(before);
  });

  it('is asked right before each mutation: the epoch moving between two tables stops the second one', async () => {
    let answers = 0;
    const newest = guard(() => ++answers === 1);
    const since = mark();

    const reports = await new Ec2RouteActuator({ client: ec2 }).pointAt(all, to(2), { guard: newest.fn });

    expect(reports.map((r) => r.result).sort()).toEqual(['moved', 'superseded']);
    expect(mutatingSince(since).map((c) => c.action)).toEqual(['ReplaceRoute']);
    expect([routeTarget(RTB_MAIN), routeTarget(RTB_SUBNET)].sort()).toEqual([ENI[0], ENI[1]]);
  });

  it('fails the target with GuardFailed when the guard throws, and makes no mutation', async () => {
    const broken = guard(() => Promise.reject(new Error('store unreachable')));
    const since = mark();

    const reports = await new Ec2ElasticIpActuator({ client: ec2 }).pointAt(elasticIp, to(2), { guard: broken.fn });

    expect(reports).toEqual([expect.objectContaining({ result: 'failed', error: { code: 'GuardFailed', message: expect.stringContaining('store unreachable') } })]);
    expect(mutatingSince(since)).toEqual([]);
    expect(eipState()?.networkInterfaceId).toBe(ENI[0]);
  });

  it('is never asked for a plan', async () => {
    const newest = guard(() => true);

    const reports = await composite().pointAt(all, to(2, [3]), { plan: true, guard: newest.fn });

    expect(reports.every((r) => r.result === 'planned')).toBe(true);
    expect(newest.asked.count).toBe(0);
  });

  it('stops a Route 53 INSYNC wait when a newer epoch is committed meanwhile, and reports superseded', async () => {
    // Arrange: INSYNC would take 60 s and the bound is 30 s; a newer epoch is committed once the batch is accepted.
    const slow = await startAwsEndpoint({ port: 0, topology: TOPOLOGY, route53InsyncAfterMs: 60_000 });
    const client = new Route53Client({ ...common, endpoint: slow.url, maxAttempts: 3, retryMode: 'adaptive' });
    let current = true;
    const newest = guard(() => current);
    try {
      // Act
      const running = new Route53Actuator({ client, insyncPoll: { firstDelayMs: 50, guardEveryMs: 100 } }).pointAt(
        route53({ waitForInsync: true, insyncTimeoutSeconds: 30, readerRecord: READER }),
        to(2, [3]),
        { guard: newest.fn },
      );
      await eventually('the change batch to be accepted', 5000, () => slow.calls().find((c) => c.action === 'GetChange'));
      current = false;
      const committedAt = Date.now();
      const reports = await running;

      // Assert: back within about one guard interval, the change made but not confirmed.
      expect(Date.now() - committedAt).toBeLessThan(1000);
      expect(reports).toEqual([
        expect.objectContaining({ mechanism: 'route53_writer', result: 'superseded', verified: false, from: IP[0], to: IP[1] }),
        expect.objectContaining({ mechanism: 'route53_reader', result: 'superseded', verified: false, from: null, to: IP[2] }),
      ]);
      const zone = slow.state().hostedZones.find((z) => z.id === ZONE);
      expect(zone?.records.find((r) => r.name === WRITER)?.values).toEqual([IP[1]]);
      expect(zone?.changes.map((c) => c.status)).toEqual(['PENDING']);
      expect(slow.calls().filter((c) => c.action === 'ChangeResourceRecordSets')).toHaveLength(1);
    } finally {
      client.destroy();
      await slow.close();
    }
  });
});
