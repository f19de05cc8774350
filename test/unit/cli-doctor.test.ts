/**
 * vipswitch doctor's checks (shared/app/doctor.ts) on a fake probe: each pitfall fails the right check, with its fix;
 * everything in order passes; an unreachable AWS is said so.
 */
import { runDoctor, type DoctorDeps } from '../../shared/app/doctor';
import type { ClusterConfig } from '../../shared/domain/cluster';
import type { JournalEntry, LoadedCluster } from '../../shared/ports/cluster-store';
import type { DoctorProbe, DryRunCall, ProbedRouteTable } from '../../shared/ports/doctor-probe';

const NOW = new Date('2026-11-22T02:00:00.000Z');
const TAG = { 'vipswitch:cluster': 'pg-main' };
const ENIS = ['eni-1', 'eni-2', 'eni-3'];

function config(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    cluster: 'pg-main',
    tool: 'repmgr',
    replayWindowSeconds: 300,
    fencing: 'stop-instance',
    dryRun: false,
    endpoints: {
      routeTables: { vip: '10.0.255.10', routeTableIds: ['rtb-1', 'rtb-2'] },
      elasticIp: { allocationId: 'eipalloc-1' },
      secondaryIp: { address: '10.0.1.100' },
      route53: { hostedZoneId: 'Z1', writerRecord: 'writer.db.example.internal.', readerRecord: 'reader.db.example.internal.', ttl: 10, waitForInsync: true, insyncTimeoutSeconds: 90 },
    },
    ...overrides,
  };
}

function loaded(c: ClusterConfig): LoadedCluster {
  return {
    record: { config: c, state: { cluster: c.cluster, primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: '1', updatedAt: NOW.toISOString() } },
    nodes: ENIS.map((eni, i) => ({ cluster: c.cluster, name: `node${i + 1}`, repmgrNodeId: i + 1, eni, instanceId: `i-${i + 1}`, privateIp: `10.0.1.1${i + 1}`, fenced: false, health: i === 0 ? 'primary' : 'replica', hookKey: 'k'.repeat(64) })),
    targets: null,
  };
}

function heard(node: string, agoMs: number, source = 'repmgr'): JournalEntry {
  return { cluster: 'pg-main', eventId: `${node}-${agoMs}`, receivedAt: new Date(NOW.getTime() - agoMs).toISOString(), node, type: 'repmgrd_start', outcome: 'ignored', reason: '', epoch: 1, event: { source } as never };
}

/** A probe over a healthy account; `edit` breaks one thing. */
function probe(edit: (world: { tables: Record<string, ProbedRouteTable | null>; sdc: Record<string, boolean>; denied: Set<string>; topicSubs: number; ttl: number; reader: boolean; untagged: Set<string>; subnets: Record<string, string> }) => void = () => {}): DoctorProbe & { calls: DryRunCall[] } {
  const world = {
    tables: Object.fromEntries(['rtb-1', 'rtb-2'].map((id) => [id, { routeTableId: id, vpcId: 'vpc-1', tags: { ...TAG }, routes: [{ destinationCidrBlock: '10.0.255.10/32', target: 'eni-1', origin: 'CreateRouteTable', state: 'active' }] }])) as Record<string, ProbedRouteTable | null>,
    sdc: { 'eni-1': false, 'eni-2': false, 'eni-3': false } as Record<string, boolean>,
    denied: new Set<string>(),
    topicSubs: 1,
    ttl: 10,
    reader: true,
    untagged: new Set<string>(),
    subnets: { 'eni-1': 'subnet-1', 'eni-2': 'subnet-1', 'eni-3': 'subnet-1' } as Record<string, string>,
  };
  edit(world);
  const tags = (id: string) => (world.untagged.has(id) ? {} : { ...TAG });
  const calls: DryRunCall[] = [];
  return {
    calls,
    routeTable: async (id) => (world.tables[id] ? { ...world.tables[id]!, tags: world.untagged.has(id) ? {} : world.tables[id]!.tags } : null),
    networkInterface: async (id) => (ENIS.includes(id) ? { networkInterfaceId: id, subnetId: world.subnets[id]!, vpcId: 'vpc-1', privateIps: [], tags: tags(id) } : null),
    sourceDestCheck: async (id) => world.sdc[id] ?? null,
    address: async (id) => (id === 'eipalloc-1' ? { allocationId: id, networkInterfaceId: 'eni-1', tags: tags(id) } : null),
    instance: async (id) => ({ instanceId: id, state: 'running', tags: tags(id) }),
    dryRun: async (call) => {
      calls.push(call);
      return world.denied.has(call.action) ? { outcome: 'denied', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation. Encoded authorization failure message: xyz' } : { outcome: 'allowed' };
    },
    hostedZone: async (id) => (id === 'Z1' ? { id, name: 'db.example.internal.', privateZone: true } : null),
    recordSet: async (_zone, name) => (name.startsWith('reader') && !world.reader ? null : { ttl: name.startsWith('writer') ? world.ttl : 10, values: ['10.0.1.11'] }),
    findTopic: async (name) => `arn:aws:sns:us-east-1:000000000000:${name}`,
    subscriptions: async () => ({ confirmed: Array.from({ length: world.topicSubs }, () => ({ protocol: 'email', endpoint: 'oncall@example.com' })), pending: world.topicSubs === 0 ? 1 : 0 }),
  };
}

function deps(p: DoctorProbe, journal: JournalEntry[] = ['node1', 'node2', 'node3'].map((n) => heard(n, 60_000)), c = config()): DoctorDeps {
  return {
    store: { loadCluster: async (name) => (name === 'pg-main' ? loaded(c) : null), readJournal: async () => journal },
    probe: p,
    now: () => NOW,
    isUnreachable: (e) => (e as Error).name === 'TimeoutError',
  };
}

const OPTIONS = { pagesTopic: { name: 'vipswitch-prod-pages' } };
const failed = (r: Awaited<ReturnType<typeof runDoctor>>) => r.checks.filter((c) => !c.ok).map((c) => c.id);

describe('runDoctor', () => {
  it('passes every check on a cluster that is ready, dry-running each mutation a failover makes for every node', async () => {
    const p = probe();

    const report = await runDoctor(deps(p), 'pg-main', OPTIONS);

    expect(failed(report)).toEqual([]);
    expect(report).toMatchObject({ ok: true, failed: 0, unreachable: false });
    expect(report.checks.map((c) => c.id)).toEqual(['registered', 'route', 'dry-run:route', 'source-dest-check', 'network-interfaces', 'dry-run:AssociateAddress', 'dry-run:StopInstances', 'tags', 'hosted-zone', 'record:writer', 'record:reader', 'pages-topic', 'hooks']);
    expect(p.calls.filter((c) => c.action === 'ReplaceRoute')).toHaveLength(6);
    expect(p.calls.filter((c) => c.action === 'AssociateAddress')).toHaveLength(3);
    expect(p.calls.filter((c) => c.action === 'StopInstances')).toHaveLength(3);
  });

  it.each<[string, Parameters<typeof probe>[0], string, RegExp]>([
    ['source/dest check left on', (w) => (w.sdc['eni-2'] = true), 'source-dest-check', /modify-network-interface-attribute --network-interface-id eni-2 --no-source-dest-check/],
    ['a missing tag', (w) => w.untagged.add('rtb-2'), 'tags', /create-tags --resources rtb-2 --tags Key=vipswitch:cluster,Value=pg-main/],
    ['IAM refusing ReplaceRoute', (w) => w.denied.add('ReplaceRoute'), 'dry-run:route', /allow ec2:ReplaceRoute/],
    ['IAM refusing StopInstances', (w) => w.denied.add('StopInstances'), 'dry-run:StopInstances', /allow ec2:StopInstances/],
    ['a propagated VIP route', (w) => (w.tables['rtb-1']!.routes[0] = { destinationCidrBlock: '10.0.255.10/32', target: 'vgw-1', origin: 'EnableVgwRoutePropagation', state: 'active' }), 'route', /static route.*create-route --route-table-id rtb-1 --destination-cidr-block 10\.0\.255\.10\/32 --network-interface-id eni-1/],
    ['a route table that does not exist', (w) => (w.tables['rtb-2'] = null), 'route', /routeTableIds/],
    ['a long writer TTL', (w) => (w.ttl = 300), 'record:writer', /ttl to at most 60/],
    ['no reader record', (w) => (w.reader = false), 'record:reader', /vipswitch reconcile pg-main/],
    ['nobody subscribed to the pages', (w) => (w.topicSubs = 0), 'pages-topic', /aws sns subscribe/],
    ['ENIs in two subnets for a secondary IP', (w) => (w.subnets['eni-3'] = 'subnet-2'), 'network-interfaces', /one subnet/],
  ])('fails the right check for %s, with its fix', async (_what, edit, id, fix) => {
    const report = await runDoctor(deps(probe(edit)), 'pg-main', OPTIONS);

    expect(failed(report)).toEqual([id]);
    expect(report.checks.find((c) => c.id === id)?.fix).toMatch(fix);
    expect(report.ok).toBe(false);
  });

  it('a missing /32 route passes: CreateRoute makes it at the first move (and is what gets dry-run)', async () => {
    const p = probe((w) => (w.tables['rtb-2']!.routes = []));

    const report = await runDoctor(deps(p), 'pg-main', OPTIONS);

    expect(failed(report)).toEqual([]);
    expect(report.checks.find((c) => c.id === 'route')?.detail).toMatch(/rtb-2: missing, the first move creates it/);
    expect(p.calls.filter((c) => c.action === 'CreateRoute')).toHaveLength(3);
  });

  it('a node never heard from (or too long ago) fails the hooks check; operator confirmations do not count', async () => {
    const journal = [heard('node1', 60_000), heard('node2', 8 * 86_400_000), heard('node3', 1000, 'operator')];

    const report = await runDoctor(deps(probe(), journal), 'pg-main', OPTIONS);

    expect(failed(report)).toEqual(['hooks']);
    expect(report.checks.find((c) => c.id === 'hooks')).toMatchObject({ detail: expect.stringMatching(/node2: 8 d ago.*node3: never.*nothing from node2, node3/), fix: expect.stringMatching(/vipswitch-hook ping/) });
  });

  it('checks only what the cluster uses: route tables alone, alert fencing', async () => {
    const c = config({ fencing: 'alert', endpoints: { routeTables: { vip: '10.0.255.10', routeTableIds: ['rtb-1'] } } });

    const report = await runDoctor(deps(probe(), undefined, c), 'pg-main', OPTIONS);

    expect(report.checks.map((x) => x.id)).toEqual(['registered', 'route', 'dry-run:route', 'source-dest-check', 'tags', 'pages-topic', 'hooks']);
  });

  it('an unknown cluster fails at once, naming apply', async () => {
    const report = await runDoctor(deps(probe()), 'nope', OPTIONS);

    expect(report.checks).toEqual([expect.objectContaining({ id: 'registered', ok: false, fix: expect.stringMatching(/vipswitch apply/) })]);
  });

  it('AWS not reachable: the checks that asked fail as unreachable', async () => {
    const p = probe();
    p.sourceDestCheck = async () => {
      throw Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    };

    const report = await runDoctor(deps(p), 'pg-main', OPTIONS);

    expect(report.unreachable).toBe(true);
    expect(report.checks.find((c) => c.id === 'source-dest-check')).toMatchObject({ ok: false, unreachable: true, detail: expect.stringMatching(/not reachable/) });
  });
});
