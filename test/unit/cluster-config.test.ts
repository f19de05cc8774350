import { ConfigError } from '../../shared/domain/errors';
import { parseClusterFile } from '../../shared/config/cluster-config';

const valid = () => ({
  cluster: 'pg-main',
  tool: 'repmgr',
  nodes: [
    { name: 'node1', repmgrNodeId: 1, eni: 'eni-0a1b2c3d4e5f60001', privateIp: '10.0.1.11', instanceId: 'i-0a1b2c3d4e5f60001', keyFile: 'node1.key' },
    { name: 'node2', repmgrNodeId: 2, eni: 'eni-0a1b2c3d4e5f60002', privateIp: '10.0.1.12', instanceId: 'i-0a1b2c3d4e5f60002', keyFile: 'node2.key' },
  ],
  endpoints: { routeTables: { vip: '10.0.255.10', routeTableIds: ['rtb-0a1b2c3d4e5f60001'] } },
});

function issuesOf(input: unknown): string[] {
  try {
    parseClusterFile(input);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  return [];
}

describe('parseClusterFile', () => {
  it('accepts the example shape and fills defaults', () => {
    const parsed = parseClusterFile(valid());

    expect(parsed.config).toMatchObject({ cluster: 'pg-main', tool: 'repmgr', replayWindowSeconds: 300, fencing: 'alert', dryRun: false });
    expect(parsed.nodes.map((n) => [n.name, n.repmgrNodeId, n.fenced])).toEqual([
      ['node1', 1, false],
      ['node2', 2, false],
    ]);
    expect(parsed.systemIdentifier).toBeNull();
  });

  it.each([
    ['a bad ENI id', (f: any) => (f.nodes[1].eni = 'eni-XYZ'), 'nodes.1.eni: an ENI id like eni-0123456789abcdef0'],
    ['a bad VIP', (f: any) => (f.endpoints.routeTables.vip = '10.0.300.1'), 'endpoints.routeTables.vip: an IPv4 address like 10.0.255.10'],
    ['a missing repmgr node id', (f: any) => delete f.nodes[0].repmgrNodeId, 'nodes.0.repmgrNodeId: required for repmgr clusters'],
    ['duplicate node names', (f: any) => (f.nodes[1].name = 'node1'), 'nodes.1.name: duplicate node name node1'],
    ['an unknown tool', (f: any) => (f.tool = 'pacemaker'), 'tool:'],
    ['an unknown field', (f: any) => (f.vip = '1.2.3.4'), '(file):'],
    ['no mechanism at all', (f: any) => (f.endpoints = {}), 'endpoints: configure at least one endpoint mechanism'],
    ['route53 without node IPs', (f: any) => (delete f.nodes[0].privateIp, (f.endpoints.route53 = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', writerRecord: 'writer.db.example.internal.' })), 'nodes.0.privateIp: required when endpoints.route53 is set'],
    ['stop-instance without instance ids', (f: any) => (delete f.nodes[1].instanceId, (f.fencing = 'stop-instance')), 'nodes.1.instanceId: required with fencing: stop-instance'],
    ['a bad system identifier', (f: any) => (f.systemIdentifier = 'abc'), 'systemIdentifier: the decimal system identifier'],
  ])('names the field for %s', (_name, mutate, expected) => {
    const file = valid();
    mutate(file);

    const issues = issuesOf(file);

    expect(issues.some((i) => i.includes(expected))).toBe(true);
  });

  it('reports every bad field at once', () => {
    const file: any = valid();
    file.nodes[0].eni = 'nope';
    file.nodes[1].keyFile = '';
    file.replayWindowSeconds = 5;

    expect(issuesOf(file)).toHaveLength(3);
  });
});
