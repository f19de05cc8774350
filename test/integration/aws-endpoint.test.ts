/**
 * The local AWS endpoint's EC2 side and its control plane, driven by the real SDK v3 EC2 client.
 * Route 53 / SNS, faults, topology and awscli live in the sibling aws-endpoint-*.test.ts files.
 */
import {
  AssignPrivateIpAddressesCommand,
  AssociateAddressCommand,
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeVpcsCommand,
  DisassociateAddressCommand,
  EC2Client,
  ReplaceRouteCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { type AwsEndpoint, type CallRecord, startAwsEndpoint, type StateView, type Topology } from '../../local/aws-endpoint/index';
import { ec2Client, failure, useLocalAws, VIP } from '../support/aws-endpoint';
import { eventually } from '../support/wait';

const RTB_MAIN = 'rtb-0a1b2c3d4e5f60001';
const RTB_SUBNET = 'rtb-0a1b2c3d4e5f60002';
const VPC = 'vpc-0a1b2c3d4e5f60000';
const ENI = ['eni-0a1b2c3d4e5f60001', 'eni-0a1b2c3d4e5f60002', 'eni-0a1b2c3d4e5f60003'] as const;
const INSTANCE = ['i-0a1b2c3d4e5f60001', 'i-0a1b2c3d4e5f60002', 'i-0a1b2c3d4e5f60003'] as const;
const EIP_ALLOC = 'eipalloc-0a1b2c3d4e5f60001';
const EIP = '198.51.100.10';

function vipTarget(state: StateView, routeTableId: string): string | undefined {
  return state.routeTables.find((t) => t.routeTableId === routeTableId)?.routes.find((r) => r.destinationCidrBlock === VIP)?.networkInterfaceId;
}

let topology: Topology;
let endpoint: AwsEndpoint;
let ec2: EC2Client;

useLocalAws({}, (aws) => ({ topology, endpoint, ec2 } = aws));

describe('startAwsEndpoint', () => {
  it('listens on an ephemeral 127.0.0.1 port and names it in its url', () => {
    expect(endpoint.port).toBeGreaterThan(0);
    expect(endpoint.url).toBe(`http://127.0.0.1:${endpoint.port}`);
  });
});

describe('EC2 route tables', () => {
  it('DescribeRouteTables returns the seeded tables with routes, associations and tags', async () => {
    const out = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_MAIN, RTB_SUBNET] }));

    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.RouteTables?.map((t) => t.RouteTableId)).toEqual([RTB_MAIN, RTB_SUBNET]);
    const main = out.RouteTables?.[0];
    expect(main?.VpcId).toBe(VPC);
    expect(main?.Associations?.[0]?.Main).toBe(true);
    expect(out.RouteTables?.[1]?.Associations?.[0]?.SubnetId).toBe('subnet-0a1b2c3d4e5f60001');
    expect(main?.Routes).toEqual([
      expect.objectContaining({ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active' }),
      expect.objectContaining({ DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[0], InstanceId: INSTANCE[0], State: 'active' }),
    ]);
    expect(main?.Tags).toEqual([{ Key: 'Name', Value: 'db-main' }, { Key: 'vipswitch:cluster', Value: 'pg-main' }]);
  });

  it('DescribeRouteTables applies Filter.N (AND across filters, wildcards within one)', async () => {
    const byVpcAndMain = await ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: 'vpc-id', Values: [VPC] },
          { Name: 'association.main', Values: ['true'] },
        ],
      }),
    );
    const byRoute = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.destination-cidr-block', Values: ['10.0.255.*'] }] }));
    const byTag = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'tag:Name', Values: ['db-sub*'] }] }));
    const none = await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: ['vpc-0ther'] }] }));

    expect(byVpcAndMain.RouteTables?.map((t) => t.RouteTableId)).toEqual([RTB_MAIN]);
    expect(byRoute.RouteTables?.map((t) => t.RouteTableId)).toEqual([RTB_MAIN, RTB_SUBNET]);
    expect(byTag.RouteTables?.map((t) => t.RouteTableId)).toEqual([RTB_SUBNET]);
    expect(none.RouteTables).toEqual([]);
  });

  it('DescribeRouteTables: unknown id is InvalidRouteTableID.NotFound (400), unknown filter InvalidParameterValue', async () => {
    const missing = await failure(ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: ['rtb-0000000000000dead'] })));
    const badFilter = await failure(ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })));

    expect(missing.name).toBe('InvalidRouteTableID.NotFound');
    expect(missing.message).toBe("The routeTable ID 'rtb-0000000000000dead' does not exist");
    expect(missing.$metadata.httpStatusCode).toBe(400);
    expect(missing.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(badFilter.name).toBe('InvalidParameterValue');
    expect(badFilter.$metadata.httpStatusCode).toBe(400);
  });

  it('ReplaceRoute moves the VIP route to another ENI, seen in DescribeRouteTables and the state view', async () => {
    const out = await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1] }));
    const described = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB_MAIN] }));

    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(described.RouteTables?.[0]?.Routes?.find((r) => r.DestinationCidrBlock === VIP)).toEqual(
      expect.objectContaining({ NetworkInterfaceId: ENI[1], InstanceId: INSTANCE[1] }),
    );
    expect(vipTarget(endpoint.state(), RTB_MAIN)).toBe(ENI[1]);
    expect(vipTarget(endpoint.state(), RTB_SUBNET)).toBe(ENI[0]);
  });

  it('ReplaceRoute with InstanceId targets that instance\'s ENI', async () => {
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_SUBNET, DestinationCidrBlock: VIP, InstanceId: INSTANCE[2] }));

    expect(vipTarget(endpoint.state(), RTB_SUBNET)).toBe(ENI[2]);
  });

  it('ReplaceRoute errors: unknown table, missing route, unknown ENI, unknown instance, no target, bad CIDR, local route', async () => {
    const table = await failure(ec2.send(new ReplaceRouteCommand({ RouteTableId: 'rtb-missing', DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1] })));
    const route = await failure(ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.9.0.0/16', NetworkInterfaceId: ENI[1] })));
    const eni = await failure(ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: VIP, NetworkInterfaceId: 'eni-0000000000000dead' })));
    const instance = await failure(ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: VIP, InstanceId: 'i-0000000000000dead' })));
    const noTarget = await failure(ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: VIP })));
    const cidr = await failure(ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.0.255.10', NetworkInterfaceId: ENI[1] })));
    const local = await failure(ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.0.0.0/16', NetworkInterfaceId: ENI[1] })));

    expect([table.name, table.$metadata.httpStatusCode]).toEqual(['InvalidRouteTableID.NotFound', 400]);
    expect([route.name, route.$metadata.httpStatusCode]).toEqual(['InvalidRoute.NotFound', 400]);
    expect([eni.name, eni.$metadata.httpStatusCode]).toEqual(['InvalidNetworkInterfaceID.NotFound', 400]);
    expect([instance.name, instance.$metadata.httpStatusCode]).toEqual(['InvalidInstanceID.NotFound', 400]);
    expect([noTarget.name, noTarget.$metadata.httpStatusCode]).toEqual(['MissingParameter', 400]);
    expect([cidr.name, cidr.$metadata.httpStatusCode]).toEqual(['InvalidParameterValue', 400]);
    expect([local.name, local.$metadata.httpStatusCode]).toEqual(['InvalidParameterValue', 400]);
    expect(vipTarget(endpoint.state(), RTB_MAIN)).toBe(ENI[0]);
  });

  it('CreateRoute adds a route; creating it again is RouteAlreadyExists', async () => {
    await ec2.send(new CreateRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.0.255.11/32', NetworkInterfaceId: ENI[2] }));
    const again = await failure(ec2.send(new CreateRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '10.0.255.11/32', NetworkInterfaceId: ENI[1] })));
    const gateway = await failure(ec2.send(new CreateRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'nat-123' })));

    expect(endpoint.state().routeTables[0]?.routes.find((r) => r.destinationCidrBlock === '10.0.255.11/32')?.networkInterfaceId).toBe(ENI[2]);
    expect([again.name, again.$metadata.httpStatusCode]).toEqual(['RouteAlreadyExists', 400]);
    expect(gateway.name).toBe('InvalidGatewayID.NotFound');
  });

  it('DeleteRoute removes a route; a missing one is InvalidRoute.NotFound; the local route cannot go', async () => {
    await ec2.send(new DeleteRouteCommand({ RouteTableId: RTB_SUBNET, DestinationCidrBlock: VIP }));
    const gone = await failure(ec2.send(new DeleteRouteCommand({ RouteTableId: RTB_SUBNET, DestinationCidrBlock: VIP })));
    const local = await failure(ec2.send(new DeleteRouteCommand({ RouteTableId: RTB_SUBNET, DestinationCidrBlock: '10.0.0.0/16' })));
    const missingParam = await failure(ec2.send(new DeleteRouteCommand({ RouteTableId: RTB_SUBNET })));

    expect(vipTarget(endpoint.state(), RTB_SUBNET)).toBeUndefined();
    expect([gone.name, gone.$metadata.httpStatusCode]).toEqual(['InvalidRoute.NotFound', 400]);
    expect(local.name).toBe('InvalidParameterValue');
    expect(local.message).toContain('cannot remove local route');
    expect([missingParam.name, missingParam.$metadata.httpStatusCode]).toEqual(['MissingParameter', 400]);
  });
});

describe('EC2 network interfaces and secondary addresses', () => {
  it('DescribeNetworkInterfaces lists the primary and secondary private addresses, with the EIP association', async () => {
    const out = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [ENI[0]] }));
    const eni = out.NetworkInterfaces?.[0];

    expect(eni?.NetworkInterfaceId).toBe(ENI[0]);
    expect(eni?.Status).toBe('in-use');
    expect(eni?.Attachment).toEqual(expect.objectContaining({ InstanceId: INSTANCE[0], DeviceIndex: 0, Status: 'attached' }));
    expect(eni?.PrivateIpAddresses?.map((a) => [a.PrivateIpAddress, a.Primary])).toEqual([
      ['10.0.1.11', true],
      ['10.0.1.100', false],
    ]);
    expect(eni?.Association).toEqual(expect.objectContaining({ PublicIp: EIP, AllocationId: EIP_ALLOC }));
  });

  it('DescribeNetworkInterfaces filters by addresses.private-ip-address; unknown id is InvalidNetworkInterfaceID.NotFound', async () => {
    const holder = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: ['10.0.1.100'] }] }));
    const missing = await failure(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0000000000000dead'] })));

    expect(holder.NetworkInterfaces?.map((n) => n.NetworkInterfaceId)).toEqual([ENI[0]]);
    expect([missing.name, missing.$metadata.httpStatusCode]).toEqual(['InvalidNetworkInterfaceID.NotFound', 400]);
  });

  it('AssignPrivateIpAddresses refuses an address held elsewhere without AllowReassignment (InvalidParameterValue)', async () => {
    const err = await failure(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[1], PrivateIpAddresses: ['10.0.1.100'] })));

    expect([err.name, err.$metadata.httpStatusCode]).toEqual(['InvalidParameterValue', 400]);
    expect(err.message).toBe('secondary-addresses');
    expect(endpoint.state().networkInterfaces[0]?.secondaryPrivateIpAddresses).toEqual(['10.0.1.100']);
  });

  it('AssignPrivateIpAddresses with AllowReassignment moves the address; re-running it changes nothing', async () => {
    const out = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[1], PrivateIpAddresses: ['10.0.1.100'], AllowReassignment: true }));
    await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[1], PrivateIpAddresses: ['10.0.1.100'], AllowReassignment: true }));
    const state = endpoint.state();

    expect(out.NetworkInterfaceId).toBe(ENI[1]);
    expect(out.AssignedPrivateIpAddresses?.map((a) => a.PrivateIpAddress)).toEqual(['10.0.1.100']);
    expect(state.networkInterfaces.find((n) => n.networkInterfaceId === ENI[0])?.secondaryPrivateIpAddresses).toEqual([]);
    expect(state.networkInterfaces.find((n) => n.networkInterfaceId === ENI[1])?.secondaryPrivateIpAddresses).toEqual(['10.0.1.100']);
  });

  it('AssignPrivateIpAddresses: a free address, a count from the subnet, an address outside the subnet, a primary', async () => {
    await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[2], PrivateIpAddresses: ['10.0.1.101'] }));
    const counted = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[2], SecondaryPrivateIpAddressCount: 1 }));
    const outside = await failure(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[2], PrivateIpAddresses: ['10.0.2.5'] })));
    const primary = await failure(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[2], PrivateIpAddresses: ['10.0.1.11'], AllowReassignment: true })));
    const unknown = await failure(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: 'eni-0000000000000dead', PrivateIpAddresses: ['10.0.1.102'] })));

    expect(counted.AssignedPrivateIpAddresses?.[0]?.PrivateIpAddress).toBe('10.0.1.4');
    expect(endpoint.state().networkInterfaces[2]?.secondaryPrivateIpAddresses).toEqual(['10.0.1.101', '10.0.1.4']);
    expect(outside.name).toBe('InvalidParameterValue');
    expect(primary.name).toBe('InvalidParameterValue');
    expect(unknown.name).toBe('InvalidNetworkInterfaceID.NotFound');
  });

  it('UnassignPrivateIpAddresses drops a secondary; the primary and foreign addresses are refused', async () => {
    await ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[0], PrivateIpAddresses: ['10.0.1.100'] }));
    const again = await failure(ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[0], PrivateIpAddresses: ['10.0.1.100'] })));
    const primary = await failure(ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[0], PrivateIpAddresses: ['10.0.1.11'] })));

    expect(endpoint.state().networkInterfaces[0]?.secondaryPrivateIpAddresses).toEqual([]);
    expect([again.name, again.$metadata.httpStatusCode]).toEqual(['InvalidParameterValue', 400]);
    expect(primary.name).toBe('InvalidParameterValue');
  });
});

describe('EC2 Elastic IPs', () => {
  it('DescribeAddresses by AllocationId and by PublicIp; unknown ones are InvalidAllocationID.NotFound / InvalidAddress.NotFound', async () => {
    const byAlloc = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [EIP_ALLOC] }));
    const byIp = await ec2.send(new DescribeAddressesCommand({ PublicIps: [EIP] }));
    const alloc = await failure(ec2.send(new DescribeAddressesCommand({ AllocationIds: ['eipalloc-0000000000000dead'] })));
    const ip = await failure(ec2.send(new DescribeAddressesCommand({ PublicIps: ['203.0.113.99'] })));

    expect(byAlloc.Addresses?.[0]).toEqual(
      expect.objectContaining({
        AllocationId: EIP_ALLOC,
        PublicIp: EIP,
        Domain: 'vpc',
        AssociationId: 'eipassoc-0a1b2c3d4e5f60001',
        NetworkInterfaceId: ENI[0],
        PrivateIpAddress: '10.0.1.11',
        InstanceId: INSTANCE[0],
      }),
    );
    expect(byIp.Addresses?.[0]?.AllocationId).toBe(EIP_ALLOC);
    expect([alloc.name, alloc.$metadata.httpStatusCode]).toEqual(['InvalidAllocationID.NotFound', 400]);
    expect([ip.name, ip.$metadata.httpStatusCode]).toEqual(['InvalidAddress.NotFound', 400]);
  });

  it('AssociateAddress elsewhere without AllowReassociation is Resource.AlreadyAssociated', async () => {
    const err = await failure(ec2.send(new AssociateAddressCommand({ AllocationId: EIP_ALLOC, NetworkInterfaceId: ENI[1] })));

    expect([err.name, err.$metadata.httpStatusCode]).toEqual(['Resource.AlreadyAssociated', 400]);
    expect(err.message).toBe(`resource ${EIP_ALLOC} is already associated with associate-id eipassoc-0a1b2c3d4e5f60001`);
    expect(endpoint.state().addresses[0]?.networkInterfaceId).toBe(ENI[0]);
  });

  it('AssociateAddress with AllowReassociation moves the EIP and returns a new association id; the same target again is idempotent', async () => {
    const moved = await ec2.send(new AssociateAddressCommand({ AllocationId: EIP_ALLOC, NetworkInterfaceId: ENI[1], AllowReassociation: true }));
    const again = await ec2.send(new AssociateAddressCommand({ AllocationId: EIP_ALLOC, NetworkInterfaceId: ENI[1] }));
    const byInstance = await ec2.send(new AssociateAddressCommand({ AllocationId: EIP_ALLOC, InstanceId: INSTANCE[2], AllowReassociation: true }));

    expect(moved.AssociationId).toMatch(/^eipassoc-[0-9a-f]{17}$/);
    expect(moved.AssociationId).not.toBe('eipassoc-0a1b2c3d4e5f60001');
    expect(again.AssociationId).toBe(moved.AssociationId);
    expect(endpoint.state().addresses[0]).toEqual(expect.objectContaining({ networkInterfaceId: ENI[2], privateIpAddress: '10.0.1.13', associationId: byInstance.AssociationId }));
  });

  it('AssociateAddress errors: unknown allocation, neither allocation nor public IP, unknown ENI, foreign private IP', async () => {
    const alloc = await failure(ec2.send(new AssociateAddressCommand({ AllocationId: 'eipalloc-0000000000000dead', NetworkInterfaceId: ENI[1] })));
    const neither = await failure(ec2.send(new AssociateAddressCommand({ NetworkInterfaceId: ENI[1] })));
    const eni = await failure(ec2.send(new AssociateAddressCommand({ AllocationId: EIP_ALLOC, NetworkInterfaceId: 'eni-0000000000000dead', AllowReassociation: true })));
    const ip = await failure(ec2.send(new AssociateAddressCommand({ AllocationId: EIP_ALLOC, NetworkInterfaceId: ENI[1], PrivateIpAddress: '10.0.1.11', AllowReassociation: true })));

    expect([alloc.name, alloc.$metadata.httpStatusCode]).toEqual(['InvalidAllocationID.NotFound', 400]);
    expect([neither.name, neither.$metadata.httpStatusCode]).toEqual(['MissingParameter', 400]);
    expect(eni.name).toBe('InvalidNetworkInterfaceID.NotFound');
    expect(ip.name).toBe('InvalidParameterValue');
  });

  it('DisassociateAddress detaches the EIP; a stale association id is InvalidAssociationID.NotFound', async () => {
    await ec2.send(new DisassociateAddressCommand({ AssociationId: 'eipassoc-0a1b2c3d4e5f60001' }));
    const stale = await failure(ec2.send(new DisassociateAddressCommand({ AssociationId: 'eipassoc-0a1b2c3d4e5f60001' })));
    const described = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [EIP_ALLOC] }));

    expect(described.Addresses?.[0]?.AssociationId).toBeUndefined();
    expect(described.Addresses?.[0]?.NetworkInterfaceId).toBeUndefined();
    expect([stale.name, stale.$metadata.httpStatusCode]).toEqual(['InvalidAssociationID.NotFound', 400]);
  });

  it('moving a secondary address with AllowReassignment carries its Elastic IP along', async () => {
    await ec2.send(new AssociateAddressCommand({ AllocationId: EIP_ALLOC, NetworkInterfaceId: ENI[0], PrivateIpAddress: '10.0.1.100', AllowReassociation: true }));
    await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: ENI[1], PrivateIpAddresses: ['10.0.1.100'], AllowReassignment: true }));

    expect(endpoint.state().addresses[0]).toEqual(expect.objectContaining({ networkInterfaceId: ENI[1], privateIpAddress: '10.0.1.100' }));
  });
});

describe('EC2 instances', () => {
  it('DescribeInstances returns reservations with state, private IP, EIP and network interfaces', async () => {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [INSTANCE[0]] }));
    const instance = out.Reservations?.[0]?.Instances?.[0];

    expect(instance?.InstanceId).toBe(INSTANCE[0]);
    expect(instance?.State).toEqual({ Code: 16, Name: 'running' });
    expect(instance?.PrivateIpAddress).toBe('10.0.1.11');
    expect(instance?.PublicIpAddress).toBe(EIP);
    expect(instance?.NetworkInterfaces?.[0]?.NetworkInterfaceId).toBe(ENI[0]);
    expect(instance?.NetworkInterfaces?.[0]?.PrivateIpAddresses?.length).toBe(2);
    expect(instance?.Tags).toEqual([{ Key: 'Name', Value: 'node1' }, { Key: 'vipswitch:cluster', Value: 'pg-main' }]);
  });

  it('DescribeInstances: filters by tag and state; an unknown id is InvalidInstanceID.NotFound', async () => {
    const tagged = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['node2', 'node3'] }] }));
    const stopped = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['stopped'] }] }));
    const missing = await failure(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000dead'] })));

    expect(tagged.Reservations?.map((r) => r.Instances?.[0]?.InstanceId)).toEqual([INSTANCE[1], INSTANCE[2]]);
    expect(stopped.Reservations).toEqual([]);
    expect([missing.name, missing.$metadata.httpStatusCode]).toEqual(['InvalidInstanceID.NotFound', 400]);
  });

  it('StopInstances (Force) answers stopping; with no transition delay the next read sees stopped; StartInstances brings it back', async () => {
    const stop = await ec2.send(new StopInstancesCommand({ InstanceIds: [INSTANCE[0]], Force: true }));
    const afterStop = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [INSTANCE[0]] }));
    const start = await ec2.send(new StartInstancesCommand({ InstanceIds: [INSTANCE[0]] }));
    const afterStart = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [INSTANCE[0]] }));

    expect(stop.StoppingInstances?.[0]).toEqual({ InstanceId: INSTANCE[0], CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } });
    expect(afterStop.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('stopped');
    expect(afterStop.Reservations?.[0]?.Instances?.[0]?.PublicIpAddress).toBeUndefined();
    expect(start.StartingInstances?.[0]).toEqual({ InstanceId: INSTANCE[0], CurrentState: { Code: 0, Name: 'pending' }, PreviousState: { Code: 80, Name: 'stopped' } });
    expect(afterStart.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('running');
  });

  it('Stop/StartInstances: unknown ids are InvalidInstanceID.NotFound', async () => {
    const stop = await failure(ec2.send(new StopInstancesCommand({ InstanceIds: ['i-0000000000000dead'] })));
    const start = await failure(ec2.send(new StartInstancesCommand({ InstanceIds: [INSTANCE[0], 'i-0000000000000dead'] })));

    expect([stop.name, stop.$metadata.httpStatusCode]).toEqual(['InvalidInstanceID.NotFound', 400]);
    expect([start.name, start.$metadata.httpStatusCode]).toEqual(['InvalidInstanceID.NotFound', 400]);
    expect(endpoint.state().instances[0]?.state).toBe('running');
  });

  it('with instanceTransitionMs, an instance stays stopping for a while (StartInstances is then IncorrectInstanceState) and ends stopped', async () => {
    const slow = await startAwsEndpoint({ port: 0, topology, instanceTransitionMs: 800 });
    const client = ec2Client(slow.url);
    try {
      await client.send(new StopInstancesCommand({ InstanceIds: [INSTANCE[1]] }));
      const early = await client.send(new DescribeInstancesCommand({ InstanceIds: [INSTANCE[1]] }));
      const tooSoon = await failure(client.send(new StartInstancesCommand({ InstanceIds: [INSTANCE[1]] })));
      const final = await eventually('the instance to be stopped', 5000, async () => {
        const out = await client.send(new DescribeInstancesCommand({ InstanceIds: [INSTANCE[1]] }));
        const name = out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
        return name === 'stopped' ? name : undefined;
      });

      expect(early.Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('stopping');
      expect([tooSoon.name, tooSoon.$metadata.httpStatusCode]).toEqual(['IncorrectInstanceState', 400]);
      expect(final).toBe('stopped');
    } finally {
      client.destroy();
      await slow.close();
    }
  });
});

describe('EC2 protocol edges', () => {
  it('an action the endpoint does not implement is InvalidAction (400)', async () => {
    const err = await failure(ec2.send(new DescribeVpcsCommand({})));

    expect([err.name, err.$metadata.httpStatusCode]).toEqual(['InvalidAction', 400]);
  });

  it('DryRun is DryRunOperation (412) and changes nothing', async () => {
    const err = await failure(ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1], DryRun: true })));

    expect([err.name, err.$metadata.httpStatusCode]).toEqual(['DryRunOperation', 412]);
    expect(vipTarget(endpoint.state(), RTB_MAIN)).toBe(ENI[0]);
  });

  it('an unsigned POST is routed by Version and answered in the EC2 error shape', async () => {
    const res = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=Frobnicate&Version=2016-11-15',
    });
    const body = await res.text();

    expect(res.status).toBe(400);
    expect(body).toMatch(/<Response><Errors><Error><Code>InvalidAction<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>/);
  });
});

describe('control plane', () => {
  it('GET /_local/state is the state view as JSON', async () => {
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[2] }));

    const res = await fetch(`${endpoint.url}/_local/state`);
    const state = (await res.json()) as StateView;

    expect(res.status).toBe(200);
    expect(state.accountId).toBe('000000000000');
    expect(vipTarget(state, RTB_MAIN)).toBe(ENI[2]);
    expect(state.instances.map((x) => x.instanceId)).toEqual([...INSTANCE]);
    expect(state.hostedZones[0]?.records.find((r) => r.type === 'A')?.values).toEqual(['10.0.1.11']);
    expect(state.topics[0]?.name).toBe('vipswitch-pages');
  });

  it('GET /_local/calls logs every AWS call with service, action, params, status, error code and duration', async () => {
    const before = endpoint.calls().length;
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1] }));
    await failure(ec2.send(new ReplaceRouteCommand({ RouteTableId: 'rtb-missing', DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1] })));

    const res = await fetch(`${endpoint.url}/_local/calls`);
    const calls = ((await res.json()) as CallRecord[]).slice(before);

    expect(calls).toHaveLength(2);
    expect(calls[0]).toEqual(
      expect.objectContaining({
        service: 'ec2',
        action: 'ReplaceRoute',
        params: { RouteTableId: RTB_MAIN, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1] },
        status: 200,
        errorCode: null,
        fault: null,
      }),
    );
    expect(calls[0]?.ms).toBeGreaterThanOrEqual(0);
    expect(calls[1]).toEqual(expect.objectContaining({ action: 'ReplaceRoute', status: 400, errorCode: 'InvalidRouteTableID.NotFound' }));
  });

  it('POST /_local/reset reloads the topology (the one given, or the current one when the body is empty)', async () => {
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB_MAIN, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI[1] }));

    const empty = await fetch(`${endpoint.url}/_local/reset`, { method: 'POST' });
    const afterEmpty = endpoint.state();
    const smaller: Topology = { ...topology, topics: [] };
    const given = await fetch(`${endpoint.url}/_local/reset`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(smaller) });

    expect(empty.status).toBe(200);
    expect(vipTarget(afterEmpty, RTB_MAIN)).toBe(ENI[0]);
    expect(given.status).toBe(200);
    expect(endpoint.state().topics).toEqual([]);
  });

  it('POST /_local/reset with a bad topology is 400 naming the field, and keeps the current state', async () => {
    const bad = { ...topology, routeTables: [{ routeTableId: RTB_MAIN, vpcId: VPC, routes: [{ destinationCidrBlock: VIP, networkInterfaceId: 'eni-0000000000000dead' }] }] };

    const res = await fetch(`${endpoint.url}/_local/reset`, { method: 'POST', body: JSON.stringify(bad) });
    const body = (await res.json()) as { error: string; field: string };

    expect(res.status).toBe(400);
    expect(body.field).toBe('routeTables[0].routes[0].networkInterfaceId');
    expect(body.error).toContain('no network interface eni-0000000000000dead');
    expect(endpoint.state().routeTables).toHaveLength(2);
  });

  it('unknown control routes are 404', async () => {
    const res = await fetch(`${endpoint.url}/_local/nothing-here`);

    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toContain('/_local/nothing-here');
  });
});
