/**
 * What `vipswitch doctor` asks of EC2, as the local AWS endpoint answers it: DescribeNetworkInterfaceAttribute /
 * ModifyNetworkInterfaceAttribute (SourceDestCheck), DryRun on each mutating action (DryRunOperation, HTTP 412, once
 * the ids resolve; nothing changes), UnauthorizedOperation from a fault rule, and a propagated route in the topology.
 */
import {
  AssignPrivateIpAddressesCommand,
  AssociateAddressCommand,
  CreateRouteCommand,
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfaceAttributeCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceRouteCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { awsCli, failure, type LocalAws, useLocalAws, VIP } from '../support/aws-endpoint';

const ENI = ['eni-0a1b2c3d4e5f60001', 'eni-0a1b2c3d4e5f60002'] as const;
const RTB = 'rtb-0a1b2c3d4e5f60001';
const EIP_ALLOC = 'eipalloc-0a1b2c3d4e5f60001';

describe('local AWS endpoint: the calls vipswitch doctor makes', () => {
  let aws: LocalAws;
  useLocalAws({}, (a) => (aws = a));

  describe('source/destination check', () => {
    it('DescribeNetworkInterfaceAttribute answers the topology value (off on the example ENIs)', async () => {
      const out = await aws.ec2.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI[0], Attribute: 'sourceDestCheck' }));

      expect(out.NetworkInterfaceId).toBe(ENI[0]);
      expect(out.SourceDestCheck).toEqual({ Value: false });
    });

    it('ModifyNetworkInterfaceAttribute turns it on; Describe*, the instance and the state view follow', async () => {
      await aws.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI[1], SourceDestCheck: { Value: true } }));

      const attr = await aws.ec2.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI[1], Attribute: 'sourceDestCheck' }));
      const enis = await aws.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'source-dest-check', Values: ['true'] }] }));
      const instance = (await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0a1b2c3d4e5f60002'] }))).Reservations?.[0]?.Instances?.[0];
      expect(attr.SourceDestCheck?.Value).toBe(true);
      expect(enis.NetworkInterfaces?.map((n) => n.NetworkInterfaceId)).toEqual([ENI[1]]);
      expect(instance?.SourceDestCheck).toBe(true);
      expect(aws.endpoint.state().networkInterfaces.find((n) => n.networkInterfaceId === ENI[1])?.sourceDestCheck).toBe(true);
    });

    it('refuses an unknown ENI, a missing or unknown attribute, with EC2 codes', async () => {
      const unknown = await failure(aws.ec2.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: 'eni-0000000000000dead', Attribute: 'sourceDestCheck' })));
      const missing = await failure(aws.ec2.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI[0] })));
      const bad = await failure(aws.ec2.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: ENI[0], Attribute: 'color' as never })));

      expect(unknown.name).toBe('InvalidNetworkInterfaceID.NotFound');
      expect(missing.name).toBe('MissingParameter');
      expect(bad.name).toBe('InvalidParameterValue');
    });

    it('awscli reads and changes it too (botocore parses the answers)', async () => {
      const set = await awsCli(aws.endpoint.url, 'ec2', 'modify-network-interface-attribute', '--network-interface-id', ENI[0], '--source-dest-check');
      const read = await awsCli(aws.endpoint.url, 'ec2', 'describe-network-interface-attribute', '--network-interface-id', ENI[0], '--attribute', 'sourceDestCheck');

      expect(set.code).toBe(0);
      expect(JSON.parse(read.stdout)).toMatchObject({ NetworkInterfaceId: ENI[0], SourceDestCheck: { Value: true } });
    });
  });

  describe('DryRun on the mutating calls of a failover', () => {
    const calls = () => [
      new ReplaceRouteCommand({ DryRun: true, RouteTableId: RTB, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1] }),
      new CreateRouteCommand({ DryRun: true, RouteTableId: RTB, DestinationCidrBlock: '10.0.255.99/32', NetworkInterfaceId: ENI[1] }),
      new AssociateAddressCommand({ DryRun: true, AllocationId: EIP_ALLOC, NetworkInterfaceId: ENI[1], AllowReassociation: true }),
      new StopInstancesCommand({ DryRun: true, InstanceIds: ['i-0a1b2c3d4e5f60002'], Force: true }),
      new ModifyNetworkInterfaceAttributeCommand({ DryRun: true, NetworkInterfaceId: ENI[1], SourceDestCheck: { Value: true } }),
    ];

    it('answers DryRunOperation (HTTP 412) and changes nothing', async () => {
      const before = JSON.stringify(aws.endpoint.state());

      for (const command of calls()) {
        const error = await failure(aws.ec2.send(command as never));
        expect({ action: command.constructor.name, name: error.name, status: error.$metadata.httpStatusCode }).toEqual({ action: command.constructor.name, name: 'DryRunOperation', status: 412 });
      }
      expect(JSON.stringify(aws.endpoint.state())).toBe(before);
    });

    it('AssignPrivateIpAddresses has no DryRun in the EC2 API: neither the SDK nor awscli sends one', async () => {
      const command = new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[0], PrivateIpAddresses: ['10.0.1.100'], ...({ DryRun: true } as object) });

      await aws.ec2.send(command);
      const sent = aws.endpoint.calls().filter((c) => c.action === 'AssignPrivateIpAddresses');
      const cli = await awsCli(aws.endpoint.url, 'ec2', 'assign-private-ip-addresses', '--network-interface-id', ENI[0], '--private-ip-addresses', '10.0.1.100', '--dry-run');

      expect(sent.at(-1)?.params.DryRun).toBeUndefined();
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toMatch(/dry-run|Unknown options/i);
    });

    it('an unknown id is its NotFound error, not DryRunOperation (the ids are proved)', async () => {
      const table = await failure(aws.ec2.send(new ReplaceRouteCommand({ DryRun: true, RouteTableId: 'rtb-0000000000000dead', DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1] })));
      const eni = await failure(aws.ec2.send(new AssociateAddressCommand({ DryRun: true, AllocationId: EIP_ALLOC, NetworkInterfaceId: 'eni-0000000000000dead', AllowReassociation: true })));
      const alloc = await failure(aws.ec2.send(new AssociateAddressCommand({ DryRun: true, AllocationId: 'eipalloc-0000000000000dead', NetworkInterfaceId: ENI[1] })));

      expect([table.name, eni.name, alloc.name]).toEqual(['InvalidRouteTableID.NotFound', 'InvalidNetworkInterfaceID.NotFound', 'InvalidAllocationID.NotFound']);
    });

    it('a fault rule plays an IAM denial: UnauthorizedOperation, HTTP 403', async () => {
      aws.endpoint.setFaults([{ service: 'ec2', action: 'ReplaceRoute', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' }]);

      const error = await failure(aws.ec2.send(new ReplaceRouteCommand({ DryRun: true, RouteTableId: RTB, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1] })));

      expect(error.name).toBe('UnauthorizedOperation');
      expect(error.$metadata.httpStatusCode).toBe(403);
    });
  });

  it('CreateTags / DeleteTags change the tags the IAM conditions look at (what doctor\'s fix runs)', async () => {
    await aws.ec2.send(new DeleteTagsCommand({ Resources: [RTB, ENI[0]], Tags: [{ Key: 'vipswitch:cluster' }] }));
    const untagged = await aws.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB] }));
    await aws.ec2.send(new CreateTagsCommand({ Resources: [RTB], Tags: [{ Key: 'vipswitch:cluster', Value: 'pg-main' }] }));
    const tagged = await aws.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB] }));
    const bad = await failure(aws.ec2.send(new CreateTagsCommand({ Resources: ['rtb-0000000000000dead'], Tags: [{ Key: 'a', Value: 'b' }] })));

    expect(untagged.RouteTables?.[0]?.Tags).toEqual([{ Key: 'Name', Value: 'db-main' }]);
    expect(tagged.RouteTables?.[0]?.Tags).toEqual([{ Key: 'Name', Value: 'db-main' }, { Key: 'vipswitch:cluster', Value: 'pg-main' }]);
    expect(aws.endpoint.state().networkInterfaces[0]?.tags).toEqual({ Name: 'node1-eth0' });
    expect(bad.name).toBe('InvalidRouteTableID.NotFound');
  });

  it('a propagated route shows its origin and cannot be replaced', async () => {
    const topology = structuredClone(aws.topology);
    topology.routeTables[0]!.routes[1] = { destinationCidrBlock: VIP, gatewayId: 'vgw-0a1b2c3d4e5f60001', origin: 'EnableVgwRoutePropagation' };
    aws.endpoint.reset(topology);

    const tables = await aws.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB] }));
    const replace = await failure(aws.ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1] })));

    expect(tables.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === VIP)).toMatchObject({ GatewayId: 'vgw-0a1b2c3d4e5f60001', Origin: 'EnableVgwRoutePropagation' });
    expect(replace.name).toBe('InvalidParameterValue');
  });
});
