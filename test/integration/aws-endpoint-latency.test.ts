/**
 * Latency profiles of the local AWS endpoint, seen through the real SDK v3 clients: `instant` stays fast, `aws`
 * makes calls take AWS-like time, Route 53 changes stay PENDING for the profile's delay, Describe calls lag
 * behind a change for the profile's window while the control plane shows the truth, and the environment
 * variables that choose a profile are parsed strictly.
 */
import { AssociateAddressCommand, DescribeAddressesCommand, DescribeRouteTablesCommand, type EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  type AwsEndpoint,
  type AwsEndpointOptions,
  LATENCY_PROFILES,
  type LatencyProfile,
  LatencyProfileError,
  latencyProfileFromEnv,
  loadTopologyFile,
  startAwsEndpoint,
  type Topology,
} from '../../local/aws-endpoint/index';
import { EXAMPLE_TOPOLOGY, ec2Client, route53Client, snsClient, TOPIC, VIP, ZONE } from '../support/aws-endpoint';
import { eventually } from '../support/wait';

const RTB = 'rtb-0a1b2c3d4e5f60001';
const ENI = ['eni-0a1b2c3d4e5f60001', 'eni-0a1b2c3d4e5f60002'] as const;
const EIP_ALLOC = 'eipalloc-0a1b2c3d4e5f60001';
const WRITER = 'writer.db.example.internal.';

/** `instant` with only the given figures changed: fast everywhere except what a test is about. */
function instantWith(changes: Partial<LatencyProfile>): LatencyProfile {
  return { ...LATENCY_PROFILES.instant, name: 'test', ...changes };
}

interface Local {
  endpoint: AwsEndpoint;
  ec2: EC2Client;
  route53: Route53Client;
  sns: SNSClient;
}

let topology: Topology;
const started: Local[] = [];

/** An endpoint over the example topology with clients on it; afterEach stops it. */
async function start(options: Omit<AwsEndpointOptions, 'port' | 'topology'>): Promise<Local> {
  const endpoint = await startAwsEndpoint({ port: 0, topology, ...options });
  const local = { endpoint, ec2: ec2Client(endpoint.url), route53: route53Client(endpoint.url), sns: snsClient(endpoint.url) };
  started.push(local);
  return local;
}

beforeAll(async () => {
  topology = await loadTopologyFile(EXAMPLE_TOPOLOGY);
});

afterEach(async () => {
  for (const { endpoint, ec2, route53, sns } of started.splice(0)) {
    ec2.destroy();
    route53.destroy();
    sns.destroy();
    await endpoint.close();
  }
});

function replaceVip(ec2: EC2Client, eni: string): Promise<unknown> {
  return ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB, DestinationCidrBlock: VIP, NetworkInterfaceId: eni }));
}

async function describedVip(ec2: EC2Client): Promise<string | undefined> {
  const out = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB] }));
  return out.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === VIP)?.NetworkInterfaceId;
}

function trueVip(endpoint: AwsEndpoint): string | undefined {
  return endpoint.state().routeTables.find((t) => t.routeTableId === RTB)?.routes.find((r) => r.destinationCidrBlock === VIP)?.networkInterfaceId;
}

function upsertWriter(route53: Route53Client, value: string): Promise<{ ChangeInfo?: { Id?: string; Status?: string } }> {
  return route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: ZONE,
      ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: WRITER, Type: 'A', TTL: 30, ResourceRecords: [{ Value: value }] } }] },
    }),
  );
}

describe('instant profile (the default)', () => {
  it('answers at once, adds no profile latency and never serves a stale read', async () => {
    const { endpoint, ec2 } = await start({});

    for (let i = 0; i < 5; i++) {
      await replaceVip(ec2, ENI[(i + 1) % 2] ?? '');
      expect(await describedVip(ec2)).toBe(trueVip(endpoint));
    }

    const calls = endpoint.calls();
    expect(calls).toHaveLength(10);
    expect(calls.every((c) => c.profileLatencyMs === 0 && !c.staleRead)).toBe(true);
    // Generous bound for a loaded CI machine; the point is "no 100 ms-class delays".
    expect(Math.max(...calls.map((c) => c.ms ?? Infinity))).toBeLessThan(80);
  });

  it('keeps INSYNC at 100 ms', async () => {
    const { route53 } = await start({ latency: 'instant' });

    const out = await upsertWriter(route53, '10.0.1.12');
    const submitted = Date.now();
    const id = out.ChangeInfo?.Id ?? '';
    await eventually('INSYNC', 2000, async () => ((await route53.send(new GetChangeCommand({ Id: id }))).ChangeInfo?.Status === 'INSYNC' ? true : undefined));

    expect(out.ChangeInfo?.Status).toBe('PENDING');
    expect(Date.now() - submitted).toBeLessThan(1000);
  });
});

describe('aws profile', () => {
  it('EC2 mutations take at least 100 ms, Describe and SNS Publish take time too, and the call log shows it', async () => {
    const { endpoint, ec2, sns } = await start({ latency: 'aws', seed: 7 });

    const t0 = performance.now();
    await replaceVip(ec2, ENI[1]);
    const replaceMs = performance.now() - t0;
    await ec2.send(new AssociateAddressCommand({ AllocationId: EIP_ALLOC, NetworkInterfaceId: ENI[1], AllowReassociation: true }));
    await ec2.send(new DescribeAddressesCommand({ AllocationIds: [EIP_ALLOC] }));
    await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'latency test' }));

    const [replace, associate, describe, publish] = endpoint.calls();
    expect(replaceMs).toBeGreaterThanOrEqual(99);
    for (const mutation of [replace, associate]) {
      expect(mutation?.profileLatencyMs).toBeGreaterThanOrEqual(LATENCY_PROFILES.aws.calls.ec2Mutation.minMs);
      expect(mutation?.profileLatencyMs).toBeLessThanOrEqual(LATENCY_PROFILES.aws.calls.ec2Mutation.maxMs);
      // `ms` stays "arrival to answer", so it holds the profile latency.
      expect(mutation?.ms).toBeGreaterThanOrEqual((mutation?.profileLatencyMs ?? 0) - 1);
    }
    expect(describe?.profileLatencyMs).toBeGreaterThanOrEqual(LATENCY_PROFILES.aws.calls.ec2Describe.minMs);
    expect(publish?.profileLatencyMs).toBeGreaterThanOrEqual(LATENCY_PROFILES.aws.calls.snsPublish.minMs);
    // The change itself landed: the control plane shows the truth.
    expect(trueVip(endpoint)).toBe(ENI[1]);
  });

  it('a Route 53 change is still PENDING right after it is made (30–60 s under this profile)', async () => {
    const { endpoint, route53 } = await start({ latency: 'aws', seed: 7 });

    const out = await upsertWriter(route53, '10.0.1.12');
    const again = await route53.send(new GetChangeCommand({ Id: out.ChangeInfo?.Id ?? '' }));

    expect([out.ChangeInfo?.Status, again.ChangeInfo?.Status]).toEqual(['PENDING', 'PENDING']);
    expect(endpoint.state().hostedZones[0]?.changes[0]?.status).toBe('PENDING');
  });

  it('route53InsyncAfterMs still wins over the profile', async () => {
    const { route53 } = await start({ latency: 'aws', seed: 7, route53InsyncAfterMs: 0 });

    const out = await upsertWriter(route53, '10.0.1.12');
    const again = await route53.send(new GetChangeCommand({ Id: out.ChangeInfo?.Id ?? '' }));

    expect(again.ChangeInfo?.Status).toBe('INSYNC');
  });

  it('profile latency adds to a fault rule latency', async () => {
    const fixed = { p50Ms: 150, p99Ms: 150, minMs: 150, maxMs: 150 };
    const { endpoint, ec2 } = await start({ latency: instantWith({ calls: { ec2Mutation: fixed } }) });
    endpoint.setFaults([{ service: 'ec2', action: 'ReplaceRoute', latencyMs: 200 }]);

    await replaceVip(ec2, ENI[1]);

    const call = endpoint.calls().at(-1);
    expect(call).toEqual(expect.objectContaining({ action: 'ReplaceRoute', status: 200, fault: 'latency', profileLatencyMs: 150 }));
    expect(call?.ms).toBeGreaterThanOrEqual(349);
  });

  it('the same seed draws the same latencies; another seed draws others', async () => {
    const quick = { p50Ms: 3, p99Ms: 20, minMs: 1, maxMs: 25 };
    const profile = instantWith({ calls: { ec2Describe: quick } });
    const draws = async (seed: number): Promise<number[]> => {
      const { endpoint, ec2 } = await start({ latency: profile, seed });
      for (let i = 0; i < 6; i++) await describedVip(ec2);
      return endpoint.calls().map((c) => c.profileLatencyMs);
    };

    const first = await draws(1);
    const same = await draws(1);
    const other = await draws(2);

    expect(same).toEqual(first);
    expect(other).not.toEqual(first);
    expect(first.every((ms) => ms >= 1 && ms <= 25)).toBe(true);
  });

  it('a hand-made profile is validated before the endpoint listens', async () => {
    await expect(startAwsEndpoint({ port: 0, topology, latency: instantWith({ describeLagMs: { minMs: 500, maxMs: 100 } }) })).rejects.toThrow(
      /describeLagMs: minMs is above maxMs/,
    );
    await expect(startAwsEndpoint({ port: 0, topology, latency: 'slow' as 'aws' })).rejects.toThrow(/unknown latency profile "slow" \(expected one of instant, aws\)/);
  });
});

describe('Route 53 PENDING → INSYNC after the configured delay', () => {
  it('stays PENDING until VIPSWITCH_R53_INSYNC_MS has passed, then INSYNC', async () => {
    const { endpoint, route53 } = await start({ latency: latencyProfileFromEnv({ VIPSWITCH_LATENCY: 'instant', VIPSWITCH_R53_INSYNC_MS: '1500' }) });

    const sent = Date.now();
    const out = await upsertWriter(route53, '10.0.1.12');
    const id = out.ChangeInfo?.Id ?? '';
    const seen: Array<{ at: number; status: string | undefined }> = [];
    await eventually('INSYNC', 5000, async () => {
      const status = (await route53.send(new GetChangeCommand({ Id: id }))).ChangeInfo?.Status;
      seen.push({ at: Date.now() - sent, status });
      return status === 'INSYNC' ? true : undefined;
    });
    const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE, StartRecordName: WRITER, StartRecordType: 'A', MaxItems: 1 }));

    const firstInsync = seen.find((s) => s.status === 'INSYNC')?.at ?? Infinity;
    expect(out.ChangeInfo?.Status).toBe('PENDING');
    expect(seen.filter((s) => s.at < 1400).every((s) => s.status === 'PENDING')).toBe(true);
    expect(seen.filter((s) => s.status === 'PENDING').length).toBeGreaterThan(5);
    expect(firstInsync).toBeGreaterThanOrEqual(1500);
    expect(firstInsync).toBeLessThan(2500);
    // The API read is consistent at once: only propagation to the name servers waits for INSYNC.
    expect(records.ResourceRecordSets?.[0]?.ResourceRecords).toEqual([{ Value: '10.0.1.12' }]);
    expect(endpoint.state().hostedZones[0]?.changes[0]?.status).toBe('INSYNC');
  });
});

describe('Describe lag (EC2 eventual consistency)', () => {
  const LAG_MS = 500;

  it('DescribeRouteTables shows the old route inside the window and the new one after it; the control plane shows the truth at once', async () => {
    const { endpoint, ec2 } = await start({ latency: instantWith({ describeLagMs: { minMs: LAG_MS, maxMs: LAG_MS }, staleReadProbability: 1 }) });

    const changed = Date.now();
    await replaceVip(ec2, ENI[1]);
    const inside = await describedVip(ec2);
    const staleCall = endpoint.calls().at(-1);
    const truth = trueVip(endpoint);
    const settledAt = await eventually('the new route in DescribeRouteTables', 3000, async () => ((await describedVip(ec2)) === ENI[1] ? Date.now() - changed : undefined));

    expect(inside).toBe(ENI[0]);
    expect(staleCall).toEqual(expect.objectContaining({ action: 'DescribeRouteTables', staleRead: true }));
    expect(truth).toBe(ENI[1]);
    expect(settledAt).toBeGreaterThanOrEqual(LAG_MS);
    expect(settledAt).toBeLessThan(LAG_MS + 1000);
    expect(endpoint.calls().at(-1)?.staleRead).toBe(false);
  });

  it('DescribeAddresses lags an AssociateAddress the same way', async () => {
    const { endpoint, ec2 } = await start({ latency: instantWith({ describeLagMs: { minMs: LAG_MS, maxMs: LAG_MS }, staleReadProbability: 1 }) });
    const associatedEni = async (): Promise<string | undefined> =>
      (await ec2.send(new DescribeAddressesCommand({ AllocationIds: [EIP_ALLOC] }))).Addresses?.[0]?.NetworkInterfaceId;

    await ec2.send(new AssociateAddressCommand({ AllocationId: EIP_ALLOC, NetworkInterfaceId: ENI[1], AllowReassociation: true }));
    const inside = await associatedEni();
    const truth = endpoint.state().addresses[0]?.networkInterfaceId;
    await eventually('the new association in DescribeAddresses', 3000, async () => ((await associatedEni()) === ENI[1] ? true : undefined));

    expect(inside).toBe(ENI[0]);
    expect(truth).toBe(ENI[1]);
  });

  it('with a probability below 1, reads inside the window mix old and new (each read draws anew)', async () => {
    const { endpoint, ec2 } = await start({ latency: instantWith({ describeLagMs: { minMs: 5000, maxMs: 5000 }, staleReadProbability: 0.5 }), seed: 3 });

    await replaceVip(ec2, ENI[1]);
    const reads: Array<string | undefined> = [];
    for (let i = 0; i < 20; i++) reads.push(await describedVip(ec2));

    expect(new Set(reads)).toEqual(new Set([ENI[0], ENI[1]]));
    expect(endpoint.calls().filter((c) => c.staleRead).length).toBe(reads.filter((r) => r === ENI[0]).length);
  });

  it('a reset closes every window', async () => {
    const { endpoint, ec2 } = await start({ latency: instantWith({ describeLagMs: { minMs: 5000, maxMs: 5000 }, staleReadProbability: 1 }) });

    await replaceVip(ec2, ENI[1]);
    endpoint.reset(topology);
    await replaceVip(ec2, ENI[0]); // Same as the topology: changes nothing, so opens no window.

    expect(await describedVip(ec2)).toBe(ENI[0]);
    expect(endpoint.calls().at(-1)?.staleRead).toBe(false);
  });
});

describe('latencyProfileFromEnv', () => {
  it('reads VIPSWITCH_LATENCY (unset or empty is instant)', () => {
    expect(latencyProfileFromEnv({})).toBe(LATENCY_PROFILES.instant);
    expect(latencyProfileFromEnv({ VIPSWITCH_LATENCY: '' })).toBe(LATENCY_PROFILES.instant);
    expect(latencyProfileFromEnv({ VIPSWITCH_LATENCY: 'instant' })).toBe(LATENCY_PROFILES.instant);
    expect(latencyProfileFromEnv({ VIPSWITCH_LATENCY: 'aws' })).toBe(LATENCY_PROFILES.aws);
  });

  it('applies VIPSWITCH_R53_INSYNC_MS and VIPSWITCH_DESCRIBE_LAG_MS as a fixed value or a range', () => {
    const profile = latencyProfileFromEnv({ VIPSWITCH_LATENCY: 'aws', VIPSWITCH_R53_INSYNC_MS: '2000-4000', VIPSWITCH_DESCRIBE_LAG_MS: '250' });

    expect(profile.route53InsyncMs).toEqual({ minMs: 2000, maxMs: 4000 });
    expect(profile.describeLagMs).toEqual({ minMs: 250, maxMs: 250 });
    expect(profile.calls).toBe(LATENCY_PROFILES.aws.calls);
    expect(latencyProfileFromEnv({ VIPSWITCH_R53_INSYNC_MS: '3000' }).route53InsyncMs).toEqual({ minMs: 3000, maxMs: 3000 });
  });

  it('rejects anything else with an error naming the variable and the allowed values', () => {
    expect(() => latencyProfileFromEnv({ VIPSWITCH_LATENCY: 'slow' })).toThrow(LatencyProfileError);
    expect(() => latencyProfileFromEnv({ VIPSWITCH_LATENCY: 'AWS' })).toThrow('VIPSWITCH_LATENCY must be one of instant, aws (or unset for instant), got "AWS"');
    for (const bad of ['fast', '-5', '4000-2000', '1.5', '1000-']) {
      expect(() => latencyProfileFromEnv({ VIPSWITCH_R53_INSYNC_MS: bad })).toThrow(/VIPSWITCH_R53_INSYNC_MS/);
      expect(() => latencyProfileFromEnv({ VIPSWITCH_DESCRIBE_LAG_MS: bad })).toThrow(/VIPSWITCH_DESCRIBE_LAG_MS/);
    }
  });
});
