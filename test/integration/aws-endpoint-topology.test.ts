/** Topology validation of the local AWS endpoint: the example is valid, a bad field is named precisely. */
import { resolve } from 'node:path';
import { loadTopologyFile, startAwsEndpoint, type Topology, TopologyError, validateTopology } from '../../local/aws-endpoint/index';

const EXAMPLE = resolve(__dirname, '../../local/topology.example.json');

let example: Topology;

beforeAll(async () => {
  example = await loadTopologyFile(EXAMPLE);
});

/** A deep copy of the example, changed by `edit`. */
function variant(edit: (t: Record<string, any>) => void): unknown {
  const copy = structuredClone(example) as unknown as Record<string, any>;
  edit(copy);
  return copy;
}

function fieldOf(input: unknown): string {
  try {
    validateTopology(input);
  } catch (err) {
    if (err instanceof TopologyError) return err.field;
    throw err;
  }
  throw new Error('expected the topology to be refused');
}

describe('validateTopology', () => {
  it('accepts the example: 3 instances on one subnet, 2 route tables, an EIP on node1, a private zone, a topic', () => {
    expect(example.instances.map((x) => x.tags?.Name)).toEqual(['node1', 'node2', 'node3']);
    expect(example.networkInterfaces.map((n) => n.privateIpAddress)).toEqual(['10.0.1.11', '10.0.1.12', '10.0.1.13']);
    expect(new Set(example.networkInterfaces.map((n) => n.subnetId)).size).toBe(1);
    expect(example.networkInterfaces[0]?.secondaryPrivateIpAddresses).toEqual(['10.0.1.100']);
    for (const table of example.routeTables) {
      expect(table.routes).toEqual([
        { destinationCidrBlock: '10.0.0.0/16', gatewayId: 'local' },
        { destinationCidrBlock: '10.0.255.10/32', networkInterfaceId: example.networkInterfaces[0]?.networkInterfaceId },
      ]);
    }
    expect(example.routeTables).toHaveLength(2);
    expect(example.addresses).toEqual([expect.objectContaining({ publicIp: '198.51.100.10', networkInterfaceId: example.networkInterfaces[0]?.networkInterfaceId })]);
    expect(example.hostedZones[0]?.name).toBe('db.example.internal.');
    expect(example.hostedZones[0]?.records).toEqual([{ name: 'writer.db.example.internal.', type: 'A', ttl: 30, values: ['10.0.1.11'] }]);
    expect(example.topics).toEqual(['vipswitch-pages']);
  });

  it.each<[string, (t: Record<string, any>) => void, string]>([
    ['a missing region', (t) => delete t.region, '(root).region'],
    ['a short account id', (t) => (t.accountId = '1234'), '(root).accountId'],
    ['an unknown instance state', (t) => (t.instances[1].state = 'asleep'), 'instances[1].state'],
    ['an instance naming a missing ENI', (t) => t.instances[0].networkInterfaceIds.push('eni-0000000000000dead'), 'instances[0].networkInterfaceIds[1]'],
    ['a malformed private IP', (t) => (t.networkInterfaces[2].privateIpAddress = '10.0.1'), 'networkInterfaces[2].privateIpAddress'],
    ['an address assigned twice', (t) => (t.networkInterfaces[1].secondaryPrivateIpAddresses = ['10.0.1.100']), 'networkInterfaces[1].secondaryPrivateIpAddresses[0]'],
    ['an address outside its subnet', (t) => (t.networkInterfaces[1].privateIpAddress = '10.0.9.12'), 'networkInterfaces[1].privateIpAddress'],
    ['an ENI attached to another instance than the one listing it', (t) => (t.networkInterfaces[1].instanceId = 'i-0a1b2c3d4e5f60003'), 'networkInterfaces[1].instanceId'],
    ['a route to a missing ENI', (t) => (t.routeTables[1].routes[1].networkInterfaceId = 'eni-0000000000000dead'), 'routeTables[1].routes[1].networkInterfaceId'],
    ['a route with two targets', (t) => (t.routeTables[0].routes[1].gatewayId = 'igw-1'), 'routeTables[0].routes[1]'],
    ['a bad CIDR', (t) => (t.routeTables[0].routes[1].destinationCidrBlock = '10.0.255.10/33'), 'routeTables[0].routes[1].destinationCidrBlock'],
    ['a duplicate route table id', (t) => (t.routeTables[1].routeTableId = t.routeTables[0].routeTableId), 'routeTables[1].routeTableId'],
    ['an EIP on a private IP the ENI lacks', (t) => (t.addresses[0].privateIpAddress = '10.0.1.12'), 'addresses[0].privateIpAddress'],
    ['a zone name without its trailing dot', (t) => (t.hostedZones[0].name = 'db.example.internal'), 'hostedZones[0].name'],
    ['a record outside its zone', (t) => (t.hostedZones[0].records[0].name = 'writer.example.com.'), 'hostedZones[0].records[0].name'],
    ['an A record that is not an IPv4 address', (t) => (t.hostedZones[0].records[0].values = ['db1']), 'hostedZones[0].records[0].values[0]'],
    ['a bad topic name', (t) => (t.topics = ['pages!']), 'topics[0]'],
  ])('refuses %s, naming the field', (_what, edit, field) => {
    expect(fieldOf(variant(edit))).toBe(field);
  });

  it('puts the field in the message too', () => {
    expect(() => validateTopology(variant((t) => (t.routeTables[0].routes[1].networkInterfaceId = 'eni-0000000000000dead')))).toThrow(
      'topology.routeTables[0].routes[1].networkInterfaceId: no network interface eni-0000000000000dead',
    );
  });

  it('startAwsEndpoint refuses an invalid topology before listening', async () => {
    await expect(startAwsEndpoint({ port: 0, topology: variant((t) => (t.topics = [''])) as Topology })).rejects.toThrow(TopologyError);
  });
});
