/**
 * The local AWS endpoint's security groups and tag reads, as the `isolate` fencing policy uses them:
 * ModifyNetworkInterfaceAttribute `Groups` (SecurityGroupId.N), groupSet in DescribeNetworkInterfaces and
 * DescribeNetworkInterfaceAttribute, the `group-id` filter, DescribeTags with filters, and topology validation. Also the
 * isolator adapter (shared/adapters/ec2-eni-isolator.ts) against it, including a swap refused by EC2.
 */
import { CreateTagsCommand, DescribeNetworkInterfaceAttributeCommand, DescribeNetworkInterfacesCommand, DescribeTagsCommand, ModifyNetworkInterfaceAttributeCommand } from '@aws-sdk/client-ec2';
import { validateTopology, type Topology } from '../../local/aws-endpoint/index';
import { Ec2EniIsolator } from '../../shared/adapters/ec2-eni-isolator';
import { failure, useLocalAws, type LocalAws } from '../support/aws-endpoint';
import { thrownBy } from '../support/errors';

const VPC = 'vpc-0a1b2c3d4e5f60000';
const [SG_DB, SG_SSH, SG_ISOLATE] = ['sg-0a1b2c3d4e5f600db', 'sg-0a1b2c3d4e5f60055', 'sg-0a1b2c3d4e5f600ff'];
const ENI1 = 'eni-0a1b2c3d4e5f60001';
const ENI2 = 'eni-0a1b2c3d4e5f60002';

function withGroups(topology: Topology): Topology {
  const t = structuredClone(topology);
  t.securityGroups = [
    { groupId: SG_DB, vpcId: VPC, groupName: 'db' },
    { groupId: SG_SSH, vpcId: VPC, groupName: 'ssh' },
    { groupId: SG_ISOLATE, vpcId: VPC, groupName: 'isolated' },
  ];
  for (const n of t.networkInterfaces) n.securityGroupIds = [SG_DB, SG_SSH];
  return t;
}

describe('local AWS endpoint: security groups and tags of ENIs', () => {
  let aws: LocalAws;
  useLocalAws({}, (a) => (aws = a));
  beforeEach(() => aws.endpoint.reset(withGroups(aws.topology)));

  const groupsOf = async (eni: string) => (await aws.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] }))).NetworkInterfaces?.[0]?.Groups;

  it('lists the topology groups with their names, and filters by group-id', async () => {
    expect(await groupsOf(ENI1)).toEqual([{ GroupId: SG_DB, GroupName: 'db' }, { GroupId: SG_SSH, GroupName: 'ssh' }]);
    const attr = await aws.ec2.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI1, Attribute: 'groupSet' }));
    expect(attr.Groups?.map((g) => g.GroupId)).toEqual([SG_DB, SG_SSH]);
    const none = await aws.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'group-id', Values: [SG_ISOLATE] }] }));
    expect(none.NetworkInterfaces).toEqual([]);
  });

  it('ModifyNetworkInterfaceAttribute Groups replaces the whole set (and DryRun changes nothing)', async () => {
    const dry = await failure(aws.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI1, Groups: [SG_ISOLATE], DryRun: true })));
    expect([dry.name, dry.$metadata.httpStatusCode]).toEqual(['DryRunOperation', 412]);
    await aws.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI1, Groups: [SG_ISOLATE] }));
    expect(await groupsOf(ENI1)).toEqual([{ GroupId: SG_ISOLATE, GroupName: 'isolated' }]);
    expect(await groupsOf(ENI2)).toHaveLength(2);
    expect(aws.endpoint.state().networkInterfaces.find((n) => n.networkInterfaceId === ENI1)?.groups).toEqual([SG_ISOLATE]);
  });

  it.each([
    ['an unknown group', { Groups: ['sg-0000000000000dead'] }, 'InvalidGroup.NotFound'],
    ['groups and SourceDestCheck at once', { Groups: [SG_DB], SourceDestCheck: { Value: true } }, 'InvalidParameterCombination'],
    ['an unknown ENI', { NetworkInterfaceId: 'eni-0000000000000dead', Groups: [SG_DB] }, 'InvalidNetworkInterfaceID.NotFound'],
  ])('refuses %s, changing nothing', async (_label, input, code) => {
    const error = await failure(aws.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI1, ...input })));
    expect(error.name).toBe(code);
    expect(await groupsOf(ENI1)).toHaveLength(2);
  });

  it('DescribeTags lists tags by resource id, type and key (with wildcards)', async () => {
    await aws.ec2.send(new CreateTagsCommand({ Resources: [ENI1], Tags: [{ Key: 'vipswitch:original-groups', Value: `${SG_DB},${SG_SSH}` }, { Key: 'vipswitch:original-groups:2', Value: 'sg-1' }] }));
    const out = await aws.ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [ENI1] }, { Name: 'key', Values: ['vipswitch:original-groups', 'vipswitch:original-groups:*'] }] }));
    expect(out.Tags).toEqual([
      { ResourceId: ENI1, ResourceType: 'network-interface', Key: 'vipswitch:original-groups', Value: `${SG_DB},${SG_SSH}` },
      { ResourceId: ENI1, ResourceType: 'network-interface', Key: 'vipswitch:original-groups:2', Value: 'sg-1' },
    ]);
    const byType = await aws.ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-type', Values: ['route-table'] }, { Name: 'key', Values: ['Name'] }] }));
    expect(byType.Tags?.every((t) => t.ResourceType === 'route-table')).toBe(true);
    expect(byType.Tags?.length).toBeGreaterThan(0);
  });

  it('the topology refuses an ENI group it does not list, or one of another VPC', () => {
    const t = withGroups(aws.topology);
    t.networkInterfaces[0]!.securityGroupIds = ['sg-0000000000000dead'];
    expect((thrownBy(() => validateTopology(t)) as Error).message).toContain('networkInterfaces[0].securityGroupIds[0]: sg-0000000000000dead is not in securityGroups');
    const u = withGroups(aws.topology);
    u.securityGroups![0]!.vpcId = 'vpc-0000000000000beef';
    expect((thrownBy(() => validateTopology(u)) as Error).message).toContain('belongs to vpc-0000000000000beef');
  });

  describe('Ec2EniIsolator', () => {
    const isolator = () => new Ec2EniIsolator({ client: aws.ec2, readBack: { attempts: 3, intervalMs: 10 } });

    it('isolates (record first, then the swap), is idempotent, and restores then removes its record', async () => {
      const first = await isolator().isolate(ENI1, SG_ISOLATE, 'test');
      const again = await isolator().isolate(ENI1, SG_ISOLATE, 'test again');
      const tags = aws.endpoint.state().networkInterfaces.find((n) => n.networkInterfaceId === ENI1)!.tags;
      const restored = await isolator().restore(ENI1);
      const twice = await isolator().restore(ENI1);

      expect(first).toEqual({ ok: true, result: 'isolated', originalGroups: [SG_DB, SG_SSH], groups: [SG_ISOLATE] });
      expect(again).toEqual({ ok: true, result: 'already_isolated', originalGroups: [SG_DB, SG_SSH], groups: [SG_ISOLATE] });
      expect(tags).toMatchObject({ 'vipswitch:original-groups': `${SG_DB},${SG_SSH}`, 'vipswitch:isolated': 'test' });
      expect(restored).toEqual({ ok: true, result: 'restored', from: [SG_ISOLATE], groups: [SG_DB, SG_SSH] });
      expect(twice).toEqual({ ok: true, result: 'not_isolated', from: [SG_DB, SG_SSH], groups: [SG_DB, SG_SSH] });
      const calls = aws.endpoint.calls().map((c) => c.action).filter((a) => a !== 'DescribeNetworkInterfaces' && a !== 'DescribeTags');
      expect(calls.slice(-4)).toEqual(['CreateTags', 'ModifyNetworkInterfaceAttribute', 'ModifyNetworkInterfaceAttribute', 'DeleteTags']);
    });

    it('a swap EC2 refuses leaves the record and the groups as they were; the next run completes it', async () => {
      aws.endpoint.setFaults([{ service: 'ec2', action: 'ModifyNetworkInterfaceAttribute', code: 'UnauthorizedOperation', count: 1 }]);
      const refused = await isolator().isolate(ENI1, SG_ISOLATE, 'test');
      expect(refused).toMatchObject({ ok: false, step: 'swap', error: { code: 'UnauthorizedOperation' } });
      expect(await groupsOf(ENI1)).toHaveLength(2);
      expect(aws.endpoint.state().networkInterfaces.find((n) => n.networkInterfaceId === ENI1)!.tags['vipswitch:original-groups']).toBe(`${SG_DB},${SG_SSH}`);

      expect(await isolator().isolate(ENI1, SG_ISOLATE, 'retry')).toEqual({ ok: true, result: 'isolated', originalGroups: [SG_DB, SG_SSH], groups: [SG_ISOLATE] });
    });

    it('a backup EC2 refuses is never followed by a swap', async () => {
      const mark = aws.endpoint.calls().at(-1)?.seq ?? 0;
      aws.endpoint.setFaults([{ service: 'ec2', action: 'CreateTags', code: 'UnauthorizedOperation' }]);
      expect(await isolator().isolate(ENI1, SG_ISOLATE, 'test')).toMatchObject({ ok: false, step: 'backup' });
      expect(aws.endpoint.calls().filter((c) => c.seq > mark).map((c) => c.action)).toEqual(['DescribeNetworkInterfaces', 'DescribeTags', 'CreateTags']);
      expect(await groupsOf(ENI1)).toHaveLength(2);
    });
  });
});
