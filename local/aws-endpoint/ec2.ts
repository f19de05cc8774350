import { AwsServiceError, invalidParameterValue, missingParameter } from './errors';
import { cidrContains, formatIpv4, isIpv4, parseCidr, parseIpv4 } from './ip';
import type { QueryFilter, QueryParams } from './query-params';
import { type AddressRecord, type AwsWorld, type EniRecord, type InstanceRecord, type RouteRecord, stableHex, randomHex } from './state';
import { INSTANCE_STATE_CODE, type InstanceStateName, type Tags } from './topology';
import { type XmlList, xmlList, type XmlObject } from './xml';

/** The EC2 API version the SDK and awscli send; responses carry its namespace. */
export const EC2_VERSION = '2016-11-15';
/** Namespace of every EC2 response element. */
export const EC2_XMLNS = `http://ec2.amazonaws.com/doc/${EC2_VERSION}/`;

/** Behaviour knobs of the simulated EC2. */
export interface Ec2Options {
  /** Milliseconds from `stopping` to `stopped` and from `pending` to `running` (0: at the next read). */
  instanceTransitionMs: number;
}

/** An EC2 action: reads parameters, changes the world, returns the response body (without `requestId`). */
type Ec2Handler = (world: AwsWorld, params: QueryParams, options: Ec2Options) => XmlObject;

// ---------------------------------------------------------------------------------------------------------
// Shared pieces

function notFound(code: string, noun: string, ids: readonly string[]): AwsServiceError {
  return ids.length === 1
    ? new AwsServiceError(code, `The ${noun} ID '${ids[0]}' does not exist`)
    : new AwsServiceError(code, `The ${noun} IDs '${ids.join(', ')}' do not exist`);
}

function tagSet(tags: Tags): XmlList {
  return xmlList(
    'item',
    Object.entries(tags).map(([key, value]) => ({ key, value })),
  );
}

function wildcardToRegExp(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/** Per-resource filter names → the resource's values for that filter. `tag:K` and `tag-key` come for free. */
type FilterSpec<T> = Record<string, (item: T) => Array<string | undefined>>;

/** EC2 filter semantics: values of one filter are OR-ed (with `*`/`?` wildcards), filters are AND-ed. */
function applyFilters<T>(items: readonly T[], filters: readonly QueryFilter[], spec: FilterSpec<T>, tagsOf: (item: T) => Tags): T[] {
  const compiled = filters.map((f) => {
    let getter: (item: T) => Array<string | undefined>;
    if (f.name.startsWith('tag:')) {
      const key = f.name.slice(4);
      getter = (item) => [tagsOf(item)[key]];
    } else if (f.name === 'tag-key') {
      getter = (item) => Object.keys(tagsOf(item));
    } else if (f.name === 'tag-value') {
      getter = (item) => Object.values(tagsOf(item));
    } else {
      const g = spec[f.name];
      if (g === undefined) throw new AwsServiceError('InvalidParameterValue', `The filter '${f.name}' is invalid`);
      getter = g;
    }
    return { getter, patterns: f.values.map(wildcardToRegExp) };
  });
  return items.filter((item) =>
    compiled.every(({ getter, patterns }) => {
      const values = getter(item).filter((v): v is string => v !== undefined);
      return patterns.some((p) => values.some((v) => p.test(v)));
    }),
  );
}

function privateDnsName(world: AwsWorld, ip: string): string {
  const dashed = `ip-${ip.replace(/\./g, '-')}`;
  return world.region === 'us-east-1' ? `${dashed}.ec2.internal` : `${dashed}.${world.region}.compute.internal`;
}

function publicDnsName(world: AwsWorld, ip: string): string {
  const dashed = `ec2-${ip.replace(/\./g, '-')}`;
  return world.region === 'us-east-1' ? `${dashed}.compute-1.amazonaws.com` : `${dashed}.${world.region}.compute.amazonaws.com`;
}

function associationXml(world: AwsWorld, eip: AddressRecord | undefined): XmlObject | undefined {
  if (eip === undefined) return undefined;
  return {
    allocationId: eip.allocationId,
    associationId: eip.associationId,
    ipOwnerId: 'amazon',
    publicDnsName: publicDnsName(world, eip.publicIp),
    publicIp: eip.publicIp,
  };
}

/**
 * DryRun on a mutating action, as EC2 answers it: once the request's parameters and resource ids are valid (and, on
 * AWS, the caller's IAM allows the call), `DryRunOperation` (HTTP 412) instead of the change. Called by each mutating
 * handler right after it has resolved its resources and before it looks at the resources' current state, so a dry run
 * proves the ids (an unknown id is its usual `*.NotFound`) without depending on where things point now. Permission
 * failures (`UnauthorizedOperation`, 403) come from fault rules: the local endpoint has no IAM.
 */
function stopIfDryRun(params: QueryParams): void {
  if (params.bool('DryRun') === true) throw new AwsServiceError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
}

function getEni(world: AwsWorld, id: string): EniRecord {
  const eni = world.enis.get(id);
  if (eni === undefined) throw notFound('InvalidNetworkInterfaceID.NotFound', 'networkInterface', [id]);
  return eni;
}

function getInstance(world: AwsWorld, id: string): InstanceRecord {
  const x = world.instances.get(id);
  if (x === undefined) throw notFound('InvalidInstanceID.NotFound', 'instance', [id]);
  return x;
}

/** An instance given as a target stands for its only ENI; EC2 refuses one with several. */
function soleEni(world: AwsWorld, instance: InstanceRecord): EniRecord {
  if (instance.networkInterfaceIds.length !== 1) {
    throw new AwsServiceError(
      'InvalidInstanceID',
      `There are multiple interfaces attached to instance '${instance.instanceId}'. Please specify an interface ID for the operation instead.`,
    );
  }
  return getEni(world, instance.networkInterfaceIds[0] ?? '');
}

/** An ENI's security groups as EC2 lists them (`groupSet` items: `groupId`, `groupName`). */
function groupSetXml(world: AwsWorld, eni: EniRecord): XmlList {
  return xmlList(
    'item',
    eni.groups.map((groupId) => ({ groupId, groupName: world.securityGroups.get(groupId)?.groupName ?? groupId })),
  );
}

function eniXml(world: AwsWorld, eni: EniRecord, inInstance: boolean): XmlObject {
  const ips = [eni.privateIpAddress, ...eni.secondaryPrivateIpAddresses];
  const instance = eni.instanceId === undefined ? undefined : world.instances.get(eni.instanceId);
  const deviceIndex = instance === undefined ? undefined : instance.networkInterfaceIds.indexOf(eni.networkInterfaceId);
  const attachment =
    instance === undefined
      ? undefined
      : {
          attachmentId: eni.attachmentId,
          ...(inInstance ? {} : { instanceId: instance.instanceId, instanceOwnerId: world.accountId }),
          deviceIndex,
          networkCardIndex: 0,
          status: 'attached',
          attachTime: instance.launchTime,
          deleteOnTermination: deviceIndex === 0,
        };
  return {
    networkInterfaceId: eni.networkInterfaceId,
    subnetId: eni.subnetId,
    vpcId: eni.vpcId,
    ...(inInstance ? {} : { availabilityZone: eni.availabilityZone }),
    description: '',
    ownerId: world.accountId,
    ...(inInstance ? {} : { requesterManaged: false }),
    status: instance === undefined ? 'available' : 'in-use',
    macAddress: eni.macAddress,
    privateIpAddress: eni.privateIpAddress,
    privateDnsName: privateDnsName(world, eni.privateIpAddress),
    sourceDestCheck: eni.sourceDestCheck,
    groupSet: groupSetXml(world, eni),
    attachment,
    association: associationXml(world, world.addressAt(eni.networkInterfaceId, eni.privateIpAddress)),
    ...(inInstance ? {} : { tagSet: tagSet(eni.tags) }),
    privateIpAddressesSet: xmlList(
      'item',
      ips.map((ip, k) => ({
        privateIpAddress: ip,
        privateDnsName: privateDnsName(world, ip),
        primary: k === 0,
        association: associationXml(world, world.addressAt(eni.networkInterfaceId, ip)),
      })),
    ),
    ipv6AddressesSet: xmlList('item', []),
    interfaceType: 'interface',
  };
}

// ---------------------------------------------------------------------------------------------------------
// Route tables

function getRouteTable(world: AwsWorld, id: string) {
  const table = world.routeTables.get(id);
  if (table === undefined) throw notFound('InvalidRouteTableID.NotFound', 'routeTable', [id]);
  return table;
}

function routeXml(world: AwsWorld, route: RouteRecord): XmlObject {
  const eni = route.networkInterfaceId === undefined ? undefined : world.enis.get(route.networkInterfaceId);
  // EC2 shows the instance behind an ENI target, and the ENI behind an instance target.
  const instanceId = eni?.instanceId ?? route.instanceId;
  return {
    destinationCidrBlock: route.destinationCidrBlock,
    gatewayId: route.gatewayId,
    instanceId,
    instanceOwnerId: instanceId === undefined ? undefined : world.accountId,
    networkInterfaceId: route.networkInterfaceId,
    state: world.routeState(route),
    origin: route.origin,
  };
}

const ROUTE_TABLE_FILTERS: FilterSpec<ReturnType<typeof getRouteTable>> = {
  'route-table-id': (t) => [t.routeTableId],
  'vpc-id': (t) => [t.vpcId],
  'owner-id': () => [],
  'association.main': (t) => [t.main ? 'true' : 'false'],
  'association.subnet-id': (t) => t.subnetIds,
  'association.route-table-id': (t) => (t.main || t.subnetIds.length > 0 ? [t.routeTableId] : []),
  'association.route-table-association-id': (t) => associationIds(t).map((a) => a.id),
  'route.destination-cidr-block': (t) => t.routes.map((r) => r.destinationCidrBlock),
  'route.gateway-id': (t) => t.routes.map((r) => r.gatewayId),
  'route.instance-id': (t) => t.routes.map((r) => r.instanceId),
  'route.network-interface-id': (t) => t.routes.map((r) => r.networkInterfaceId),
  'route.origin': (t) => t.routes.map((r) => r.origin),
};

function associationIds(t: ReturnType<typeof getRouteTable>): Array<{ id: string; subnetId: string | undefined }> {
  const out: Array<{ id: string; subnetId: string | undefined }> = [];
  if (t.main) out.push({ id: `rtbassoc-${stableHex(`${t.routeTableId}/main`, 17)}`, subnetId: undefined });
  for (const s of t.subnetIds) out.push({ id: `rtbassoc-${stableHex(`${t.routeTableId}/${s}`, 17)}`, subnetId: s });
  return out;
}

const describeRouteTables: Ec2Handler = (world, params) => {
  const ids = params.list('RouteTableId');
  const missing = ids.filter((id) => !world.routeTables.has(id));
  if (missing.length > 0) throw notFound('InvalidRouteTableID.NotFound', 'routeTable', missing);
  let tables = [...world.routeTables.values()];
  if (ids.length > 0) tables = tables.filter((t) => ids.includes(t.routeTableId));
  tables = applyFilters(tables, params.filters(), ROUTE_TABLE_FILTERS, (t) => t.tags);
  return {
    routeTableSet: xmlList(
      'item',
      tables.map((t) => ({
        routeTableId: t.routeTableId,
        vpcId: t.vpcId,
        ownerId: world.accountId,
        routeSet: xmlList(
          'item',
          t.routes.map((r) => routeXml(world, r)),
        ),
        associationSet: xmlList(
          'item',
          associationIds(t).map((a) => ({
            routeTableAssociationId: a.id,
            routeTableId: t.routeTableId,
            main: a.subnetId === undefined,
            subnetId: a.subnetId,
            associationState: { state: 'associated' },
          })),
        ),
        propagatingVgwSet: xmlList('item', []),
        tagSet: tagSet(t.tags),
      })),
    ),
  };
};

/** Targets EC2 knows but this endpoint does not model: refused plainly rather than half-supported. */
const UNSUPPORTED_TARGETS = [
  'NatGatewayId',
  'TransitGatewayId',
  'VpcPeeringConnectionId',
  'EgressOnlyInternetGatewayId',
  'LocalGatewayId',
  'CarrierGatewayId',
  'VpcEndpointId',
  'CoreNetworkArn',
  'DestinationIpv6CidrBlock',
  'DestinationPrefixListId',
];

/** Parse and check a CreateRoute/ReplaceRoute request's table, destination and single target. */
function routeRequest(world: AwsWorld, params: QueryParams, needsTarget: boolean) {
  const routeTableId = params.require('RouteTableId');
  for (const name of UNSUPPORTED_TARGETS) {
    if (params.get(name) !== undefined) throw new AwsServiceError('UnsupportedOperation', `${name} is not supported by the local AWS endpoint`);
  }
  const destinationCidrBlock = params.require('DestinationCidrBlock');
  const table = getRouteTable(world, routeTableId);
  if (parseCidr(destinationCidrBlock) === undefined) {
    throw invalidParameterValue(`Value (${destinationCidrBlock}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`);
  }
  if (!needsTarget) return { table, destinationCidrBlock, target: undefined };
  const eniId = params.get('NetworkInterfaceId');
  const instanceId = params.get('InstanceId');
  const gatewayId = params.get('GatewayId');
  const given = [eniId, instanceId, gatewayId].filter((v) => v !== undefined && v !== '');
  if (given.length === 0) {
    throw new AwsServiceError('MissingParameter', 'The request must contain exactly one of gatewayId, networkInterfaceId or instanceId');
  }
  if (given.length > 1) throw new AwsServiceError('InvalidParameterCombination', 'More than one target specified: give exactly one of gatewayId, networkInterfaceId or instanceId');
  let target: Pick<RouteRecord, 'networkInterfaceId' | 'instanceId' | 'gatewayId'>;
  if (eniId !== undefined && eniId !== '') {
    const eni = getEni(world, eniId);
    if (eni.vpcId !== table.vpcId) throw invalidParameterValue(`Route table ${table.routeTableId} and network interface ${eniId} belong to different networks`);
    target = { networkInterfaceId: eniId, instanceId: undefined, gatewayId: undefined };
  } else if (instanceId !== undefined && instanceId !== '') {
    const eni = soleEni(world, getInstance(world, instanceId));
    if (eni.vpcId !== table.vpcId) throw invalidParameterValue(`Route table ${table.routeTableId} and instance ${instanceId} belong to different networks`);
    target = { networkInterfaceId: eni.networkInterfaceId, instanceId, gatewayId: undefined };
  } else {
    const gw = gatewayId ?? '';
    if (gw === 'local') throw invalidParameterValue(`The gateway ID 'local' can only be the target of the VPC's local route`);
    if (!/^(igw|vgw)-[0-9a-z]+$/.test(gw)) throw new AwsServiceError('InvalidGatewayID.NotFound', `The gateway ID '${gw}' does not exist`);
    target = { networkInterfaceId: undefined, instanceId: undefined, gatewayId: gw };
  }
  return { table, destinationCidrBlock, target };
}

const createRoute: Ec2Handler = (world, params) => {
  const { table, destinationCidrBlock, target } = routeRequest(world, params, true);
  stopIfDryRun(params);
  if (table.routes.some((r) => r.destinationCidrBlock === destinationCidrBlock)) {
    throw new AwsServiceError('RouteAlreadyExists', `The route identified by ${destinationCidrBlock} already exists.`);
  }
  table.routes.push({ destinationCidrBlock, networkInterfaceId: undefined, instanceId: undefined, gatewayId: undefined, ...target, origin: 'CreateRoute' });
  return { return: true };
};

function noSuchRoute(destinationCidrBlock: string): AwsServiceError {
  return new AwsServiceError(
    'InvalidRoute.NotFound',
    `There is no route defined for '${destinationCidrBlock}' in the route table. Please ensure that the provided route table ID and CIDR are correct.`,
  );
}

/**
 * A route a virtual private gateway propagated is not the table's own: here it cannot be replaced or deleted (a
 * static route for the same destination would take priority on AWS; this endpoint keeps one route per destination).
 */
function propagatedRoute(destinationCidrBlock: string, routeTableId: string): AwsServiceError {
  return invalidParameterValue(`The route ${destinationCidrBlock} in route table ${routeTableId} is propagated by a virtual private gateway and cannot be modified`);
}

const replaceRoute: Ec2Handler = (world, params) => {
  const { table, destinationCidrBlock, target } = routeRequest(world, params, true);
  stopIfDryRun(params);
  const route = table.routes.find((r) => r.destinationCidrBlock === destinationCidrBlock);
  if (route === undefined) throw noSuchRoute(destinationCidrBlock);
  if (route.gatewayId === 'local') throw invalidParameterValue(`cannot replace local route ${destinationCidrBlock} in route table ${table.routeTableId}`);
  if (route.origin === 'EnableVgwRoutePropagation') throw propagatedRoute(destinationCidrBlock, table.routeTableId);
  Object.assign(route, target);
  return { return: true };
};

const deleteRoute: Ec2Handler = (world, params) => {
  const { table, destinationCidrBlock } = routeRequest(world, params, false);
  stopIfDryRun(params);
  const index = table.routes.findIndex((r) => r.destinationCidrBlock === destinationCidrBlock);
  const route = table.routes[index];
  if (route === undefined) throw noSuchRoute(destinationCidrBlock);
  if (route.gatewayId === 'local') throw invalidParameterValue(`cannot remove local route ${destinationCidrBlock} in route table ${table.routeTableId}`);
  if (route.origin === 'EnableVgwRoutePropagation') throw propagatedRoute(destinationCidrBlock, table.routeTableId);
  table.routes.splice(index, 1);
  return { return: true };
};

// ---------------------------------------------------------------------------------------------------------
// Network interfaces and private addresses

const ENI_FILTERS: FilterSpec<EniRecord> = {
  'network-interface-id': (n) => [n.networkInterfaceId],
  'subnet-id': (n) => [n.subnetId],
  'vpc-id': (n) => [n.vpcId],
  'availability-zone': (n) => [n.availabilityZone],
  'private-ip-address': (n) => [n.privateIpAddress],
  'addresses.private-ip-address': (n) => [n.privateIpAddress, ...n.secondaryPrivateIpAddresses],
  'attachment.instance-id': (n) => [n.instanceId],
  'mac-address': (n) => [n.macAddress],
  status: (n) => [n.instanceId === undefined ? 'available' : 'in-use'],
  'source-dest-check': (n) => [String(n.sourceDestCheck)],
  'group-id': (n) => n.groups,
  'owner-id': () => [],
};

/** The attributes DescribeNetworkInterfaceAttribute knows (EC2's `Attribute` values). */
const ENI_ATTRIBUTES = ['description', 'groupSet', 'sourceDestCheck', 'attachment', 'associatePublicIpAddress'];

/** DescribeNetworkInterfaceAttribute: one attribute per call, as EC2 allows. */
const describeNetworkInterfaceAttribute: Ec2Handler = (world, params) => {
  const eni = getEni(world, params.require('NetworkInterfaceId'));
  const attribute = params.get('Attribute');
  if (attribute === undefined || attribute === '') throw missingParameter('Attribute');
  if (!ENI_ATTRIBUTES.includes(attribute)) throw invalidParameterValue(`Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  stopIfDryRun(params);
  const full = eniXml(world, eni, false);
  const values: Record<string, XmlObject[string]> = {
    description: { value: '' },
    groupSet: groupSetXml(world, eni),
    sourceDestCheck: { value: eni.sourceDestCheck },
    attachment: full.attachment,
    associatePublicIpAddress: false,
  };
  return { networkInterfaceId: eni.networkInterfaceId, [attribute]: values[attribute] };
};

/** Security groups an ENI may hold at most (the EC2 quota "security groups per network interface" defaults to 5; 16 is its ceiling). */
const MAX_GROUPS_PER_ENI = 16;

/**
 * ModifyNetworkInterfaceAttribute: `SourceDestCheck.Value`, or the ENI's security groups (`SecurityGroupId.N`, EC2's
 * `Groups`: the whole set, replacing the old one). One attribute per call, as EC2 allows.
 */
const modifyNetworkInterfaceAttribute: Ec2Handler = (world, params) => {
  const eni = getEni(world, params.require('NetworkInterfaceId'));
  const others = ['Description.Value', 'Attachment.AttachmentId', 'AssociatePublicIpAddress', 'EnaSrdSpecification.EnaSrdEnabled'].filter((name) => params.get(name) !== undefined);
  if (others.length > 0) throw new AwsServiceError('UnsupportedOperation', `${others.join(', ')}: only SourceDestCheck and SecurityGroupId are supported by the local AWS endpoint`);
  const groups = params.list('SecurityGroupId');
  const raw = params.get('SourceDestCheck.Value');
  if (groups.length > 0 && raw !== undefined) throw new AwsServiceError('InvalidParameterCombination', 'Only one attribute can be modified at a time');
  if (groups.length > 0) {
    const unique = [...new Set(groups)];
    const missing = unique.filter((g) => world.securityGroups.get(g)?.vpcId !== eni.vpcId);
    if (missing.length > 0) throw new AwsServiceError('InvalidGroup.NotFound', `The security group${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' ${missing.length > 1 ? 'do' : 'does'} not exist in VPC '${eni.vpcId}'`);
    if (unique.length > MAX_GROUPS_PER_ENI) throw new AwsServiceError('SecurityGroupsPerInterfaceLimitExceeded', `The maximum number of security groups per interface has been reached.`);
    stopIfDryRun(params);
    eni.groups = unique;
    return { return: true };
  }
  if (raw === undefined) throw missingParameter('SourceDestCheck');
  if (raw !== 'true' && raw !== 'false') throw invalidParameterValue(`Value (${raw}) for parameter sourceDestCheck is invalid. Expected true or false.`);
  stopIfDryRun(params);
  eni.sourceDestCheck = raw === 'true';
  return { return: true };
};

const describeNetworkInterfaces: Ec2Handler = (world, params) => {
  const ids = params.list('NetworkInterfaceId');
  const missing = ids.filter((id) => !world.enis.has(id));
  if (missing.length > 0) throw notFound('InvalidNetworkInterfaceID.NotFound', 'networkInterface', missing);
  let enis = [...world.enis.values()];
  if (ids.length > 0) enis = enis.filter((n) => ids.includes(n.networkInterfaceId));
  enis = applyFilters(enis, params.filters(), ENI_FILTERS, (n) => n.tags);
  return {
    networkInterfaceSet: xmlList(
      'item',
      enis.map((n) => eniXml(world, n, false)),
    ),
  };
};

/** Pick `count` free addresses in the ENI's subnet, skipping the 4 AWS reserves at the start and the broadcast. */
function allocateAddresses(world: AwsWorld, eni: EniRecord, count: number): string[] {
  const subnet = world.subnets.get(eni.subnetId);
  const cidr = subnet === undefined ? undefined : parseCidr(subnet.cidrBlock);
  if (cidr === undefined) {
    throw new AwsServiceError('UnsupportedOperation', `SecondaryPrivateIpAddressCount needs subnet ${eni.subnetId} and its cidrBlock in the topology`);
  }
  const out: string[] = [];
  const size = 2 ** (32 - cidr.prefix);
  for (let offset = 4; offset < size - 1 && out.length < count; offset++) {
    const ip = formatIpv4(cidr.base + offset);
    if (world.eniHolding(eni.vpcId, ip) === undefined) out.push(ip);
  }
  if (out.length < count) throw new AwsServiceError('InsufficientFreeAddressesInSubnet', `The specified subnet ${eni.subnetId} does not have enough free addresses`);
  return out;
}

const assignPrivateIpAddresses: Ec2Handler = (world, params) => {
  const eni = getEni(world, params.require('NetworkInterfaceId'));
  const requested = params.list('PrivateIpAddress');
  const count = params.int('SecondaryPrivateIpAddressCount');
  const allowReassignment = params.bool('AllowReassignment') ?? false;
  if (requested.length > 0 && count !== undefined) {
    throw new AwsServiceError('InvalidParameterCombination', 'Specify either PrivateIpAddress or SecondaryPrivateIpAddressCount, not both');
  }
  if (requested.length === 0 && count === undefined) throw missingParameter('PrivateIpAddress or SecondaryPrivateIpAddressCount');
  const addresses = count !== undefined ? allocateAddresses(world, eni, count) : requested;
  const subnet = world.subnets.get(eni.subnetId);
  const cidr = subnet === undefined ? undefined : parseCidr(subnet.cidrBlock);
  // Check every address before moving any, so a refused call changes nothing.
  const moves: Array<{ ip: string; from: EniRecord | undefined }> = [];
  for (const ip of addresses) {
    if (!isIpv4(ip)) throw invalidParameterValue(`Value (${ip}) for parameter PrivateIpAddress is invalid. Invalid IPv4 address.`);
    if (cidr !== undefined && !cidrContains(cidr, parseIpv4(ip) ?? -1)) {
      throw invalidParameterValue(`Address ${ip} does not fall within the subnet's address range`);
    }
    const holder = world.eniHolding(eni.vpcId, ip);
    if (holder === eni) continue; // Already here: re-running an assignment is a no-op.
    if (holder !== undefined) {
      // AWS answers an address held elsewhere with this terse code and message (README: "Fidelity notes").
      if (!allowReassignment || holder.privateIpAddress === ip) throw invalidParameterValue('secondary-addresses');
      if (holder.subnetId !== eni.subnetId) throw invalidParameterValue(`Address ${ip} is in subnet ${holder.subnetId}; it can only move within one subnet`);
    }
    moves.push({ ip, from: holder });
  }
  for (const { ip, from } of moves) {
    if (from !== undefined) {
      from.secondaryPrivateIpAddresses = from.secondaryPrivateIpAddresses.filter((a) => a !== ip);
      // AWS moves an Elastic IP associated with the address together with it.
      const eip = world.addressAt(from.networkInterfaceId, ip);
      if (eip !== undefined) eip.networkInterfaceId = eni.networkInterfaceId;
    }
    eni.secondaryPrivateIpAddresses.push(ip);
  }
  return {
    networkInterfaceId: eni.networkInterfaceId,
    assignedPrivateIpAddressesSet: xmlList(
      'item',
      addresses.map((ip) => ({ privateIpAddress: ip })),
    ),
    return: true,
  };
};

const unassignPrivateIpAddresses: Ec2Handler = (world, params) => {
  const eni = getEni(world, params.require('NetworkInterfaceId'));
  const addresses = params.list('PrivateIpAddress');
  if (addresses.length === 0) throw missingParameter('PrivateIpAddress');
  for (const ip of addresses) {
    if (ip === eni.privateIpAddress) throw invalidParameterValue(`The primary private IP address ${ip} of ${eni.networkInterfaceId} cannot be unassigned`);
    if (!eni.secondaryPrivateIpAddresses.includes(ip)) {
      throw invalidParameterValue(`Some of the specified addresses are not assigned to interface ${eni.networkInterfaceId}`);
    }
  }
  for (const ip of addresses) {
    const eip = world.addressAt(eni.networkInterfaceId, ip);
    if (eip !== undefined) disassociate(eip);
    eni.secondaryPrivateIpAddresses = eni.secondaryPrivateIpAddresses.filter((a) => a !== ip);
  }
  return { return: true };
};

// ---------------------------------------------------------------------------------------------------------
// Elastic IPs

function disassociate(eip: AddressRecord): void {
  eip.networkInterfaceId = undefined;
  eip.privateIpAddress = undefined;
  eip.associationId = undefined;
}

function findAddress(world: AwsWorld, params: QueryParams): AddressRecord {
  const allocationId = params.get('AllocationId');
  const publicIp = params.get('PublicIp');
  if (allocationId !== undefined && allocationId !== '') {
    const eip = world.addresses.get(allocationId);
    if (eip === undefined) throw notFound('InvalidAllocationID.NotFound', 'allocation', [allocationId]);
    return eip;
  }
  if (publicIp !== undefined && publicIp !== '') {
    const eip = [...world.addresses.values()].find((a) => a.publicIp === publicIp);
    if (eip === undefined) throw new AwsServiceError('InvalidAddress.NotFound', `Address '${publicIp}' not found.`);
    return eip;
  }
  throw new AwsServiceError('MissingParameter', 'Either public IP or allocation id must be specified');
}

const associateAddress: Ec2Handler = (world, params) => {
  const eip = findAddress(world, params);
  const eniId = params.get('NetworkInterfaceId');
  const instanceId = params.get('InstanceId');
  if (eniId !== undefined && instanceId !== undefined) {
    throw new AwsServiceError('InvalidParameterCombination', 'You can specify either the instance ID or the network interface ID, but not both');
  }
  let eni: EniRecord;
  if (eniId !== undefined) eni = getEni(world, eniId);
  else if (instanceId !== undefined) eni = soleEni(world, getInstance(world, instanceId));
  else throw new AwsServiceError('MissingParameter', 'Either an instance ID or a network interface ID must be specified');
  const privateIp = params.get('PrivateIpAddress') ?? eni.privateIpAddress;
  if (privateIp !== eni.privateIpAddress && !eni.secondaryPrivateIpAddresses.includes(privateIp)) {
    throw invalidParameterValue(`The private IP address ${privateIp} is not assigned to network interface ${eni.networkInterfaceId}`);
  }
  stopIfDryRun(params);
  // AWS documents AssociateAddress as idempotent: the same target again is success, with the same association.
  if (eip.networkInterfaceId === eni.networkInterfaceId && eip.privateIpAddress === privateIp && eip.associationId !== undefined) {
    return { return: true, associationId: eip.associationId };
  }
  if (eip.associationId !== undefined && params.bool('AllowReassociation') !== true) {
    throw new AwsServiceError('Resource.AlreadyAssociated', `resource ${eip.allocationId} is already associated with associate-id ${eip.associationId}`);
  }
  // An address that already has an Elastic IP loses it to the new one (AWS: "the existing address is disassociated").
  const previous = world.addressAt(eni.networkInterfaceId, privateIp);
  if (previous !== undefined) disassociate(previous);
  eip.networkInterfaceId = eni.networkInterfaceId;
  eip.privateIpAddress = privateIp;
  eip.associationId = `eipassoc-${randomHex(17)}`;
  return { return: true, associationId: eip.associationId };
};

const disassociateAddress: Ec2Handler = (world, params) => {
  const associationId = params.get('AssociationId');
  const publicIp = params.get('PublicIp');
  if (associationId !== undefined && associationId !== '') {
    const eip = [...world.addresses.values()].find((a) => a.associationId === associationId);
    if (eip === undefined) throw new AwsServiceError('InvalidAssociationID.NotFound', `The association ID '${associationId}' does not exist`);
    stopIfDryRun(params);
    disassociate(eip);
    return { return: true };
  }
  if (publicIp !== undefined && publicIp !== '') {
    const eip = [...world.addresses.values()].find((a) => a.publicIp === publicIp);
    if (eip === undefined) throw new AwsServiceError('InvalidAddress.NotFound', `Address '${publicIp}' not found.`);
    stopIfDryRun(params);
    disassociate(eip);
    return { return: true };
  }
  throw new AwsServiceError('MissingParameter', 'Either public IP or association id must be specified');
};

const ADDRESS_FILTERS: FilterSpec<AddressRecord> = {
  'allocation-id': (a) => [a.allocationId],
  'association-id': (a) => [a.associationId],
  'public-ip': (a) => [a.publicIp],
  'network-interface-id': (a) => [a.networkInterfaceId],
  'private-ip-address': (a) => [a.privateIpAddress],
  domain: () => ['vpc'],
  'network-interface-owner-id': () => [],
};

const describeAddresses: Ec2Handler = (world, params) => {
  const allocationIds = params.list('AllocationId');
  const publicIps = params.list('PublicIp');
  const missingAlloc = allocationIds.filter((id) => !world.addresses.has(id));
  if (missingAlloc.length > 0) throw notFound('InvalidAllocationID.NotFound', 'allocation', missingAlloc);
  const all = [...world.addresses.values()];
  const missingIp = publicIps.find((ip) => !all.some((a) => a.publicIp === ip));
  if (missingIp !== undefined) throw new AwsServiceError('InvalidAddress.NotFound', `Address '${missingIp}' not found.`);
  let items = all;
  if (allocationIds.length > 0 || publicIps.length > 0) items = items.filter((a) => allocationIds.includes(a.allocationId) || publicIps.includes(a.publicIp));
  const spec: FilterSpec<AddressRecord> = {
    ...ADDRESS_FILTERS,
    'instance-id': (a) => [a.networkInterfaceId === undefined ? undefined : world.enis.get(a.networkInterfaceId)?.instanceId],
  };
  items = applyFilters(items, params.filters(), spec, (a) => a.tags);
  return {
    addressesSet: xmlList(
      'item',
      items.map((a) => {
        const eni = a.networkInterfaceId === undefined ? undefined : world.enis.get(a.networkInterfaceId);
        return {
          publicIp: a.publicIp,
          allocationId: a.allocationId,
          domain: 'vpc',
          instanceId: eni?.instanceId,
          associationId: a.associationId,
          networkInterfaceId: a.networkInterfaceId,
          networkInterfaceOwnerId: a.networkInterfaceId === undefined ? undefined : world.accountId,
          privateIpAddress: a.privateIpAddress,
          tagSet: tagSet(a.tags),
          publicIpv4Pool: 'amazon',
          networkBorderGroup: world.region,
        };
      }),
    ),
  };
};

// ---------------------------------------------------------------------------------------------------------
// Instances

function stateXml(state: InstanceStateName): XmlObject {
  return { code: INSTANCE_STATE_CODE[state], name: state };
}

const INSTANCE_FILTERS = (world: AwsWorld): FilterSpec<InstanceRecord> => {
  const enisOf = (x: InstanceRecord) => x.networkInterfaceIds.map((id) => world.enis.get(id)).filter((n): n is EniRecord => n !== undefined);
  return {
    'instance-id': (x) => [x.instanceId],
    'instance-state-name': (x) => [x.state],
    'instance-state-code': (x) => [String(INSTANCE_STATE_CODE[x.state])],
    'instance-type': (x) => [x.instanceType],
    'vpc-id': (x) => enisOf(x).map((n) => n.vpcId),
    'subnet-id': (x) => enisOf(x).map((n) => n.subnetId),
    'private-ip-address': (x) => [enisOf(x)[0]?.privateIpAddress],
    'network-interface.network-interface-id': (x) => x.networkInterfaceIds,
    'network-interface.addresses.private-ip-address': (x) => enisOf(x).flatMap((n) => [n.privateIpAddress, ...n.secondaryPrivateIpAddresses]),
    'availability-zone': (x) => [enisOf(x)[0]?.availabilityZone],
    'reservation-id': (x) => [x.reservationId],
    'owner-id': () => [world.accountId],
  };
};

function instanceXml(world: AwsWorld, x: InstanceRecord): XmlObject {
  const enis = x.networkInterfaceIds.map((id) => world.enis.get(id)).filter((n): n is EniRecord => n !== undefined);
  const primary = enis[0];
  const eip = primary === undefined ? undefined : world.addressAt(primary.networkInterfaceId, primary.privateIpAddress);
  // A stopped instance keeps its Elastic IP association but reports no public address while down.
  const running = x.state === 'running' || x.state === 'pending';
  return {
    instanceId: x.instanceId,
    imageId: `ami-${stableHex(`${x.instanceId}/image`, 17)}`,
    instanceState: stateXml(x.state),
    privateDnsName: primary === undefined ? '' : privateDnsName(world, primary.privateIpAddress),
    dnsName: eip !== undefined && running ? publicDnsName(world, eip.publicIp) : '',
    reason: x.stateReason === undefined ? '' : 'User initiated',
    amiLaunchIndex: 0,
    productCodes: xmlList('item', []),
    instanceType: x.instanceType,
    launchTime: x.launchTime,
    placement: { availabilityZone: primary?.availabilityZone ?? `${world.region}a`, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: primary?.subnetId,
    vpcId: primary?.vpcId,
    privateIpAddress: primary?.privateIpAddress,
    ipAddress: eip !== undefined && running ? eip.publicIp : undefined,
    // An instance's attribute is its primary network interface's.
    sourceDestCheck: primary?.sourceDestCheck ?? true,
    groupSet: xmlList('item', []),
    stateReason: x.stateReason === undefined ? undefined : { code: x.stateReason, message: `${x.stateReason}: User initiated shutdown` },
    architecture: 'x86_64',
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/xvda',
    blockDeviceMapping: xmlList('item', []),
    virtualizationType: 'hvm',
    tagSet: tagSet(x.tags),
    hypervisor: 'xen',
    networkInterfaceSet: xmlList(
      'item',
      enis.map((n) => eniXml(world, n, true)),
    ),
    ebsOptimized: false,
  };
}

const describeInstances: Ec2Handler = (world, params) => {
  const ids = params.list('InstanceId');
  const missing = ids.filter((id) => !world.instances.has(id));
  if (missing.length > 0) throw notFound('InvalidInstanceID.NotFound', 'instance', missing);
  let instances = [...world.instances.values()];
  if (ids.length > 0) instances = instances.filter((x) => ids.includes(x.instanceId));
  instances = applyFilters(instances, params.filters(), INSTANCE_FILTERS(world), (x) => x.tags);
  return {
    reservationSet: xmlList(
      'item',
      instances.map((x) => ({
        reservationId: x.reservationId,
        ownerId: world.accountId,
        groupSet: xmlList('item', []),
        instancesSet: xmlList('item', [instanceXml(world, x)]),
      })),
    ),
  };
};

function instancesFor(world: AwsWorld, params: QueryParams): InstanceRecord[] {
  const ids = params.list('InstanceId');
  if (ids.length === 0) throw missingParameter('InstanceId');
  const missing = ids.filter((id) => !world.instances.has(id));
  if (missing.length > 0) throw notFound('InvalidInstanceID.NotFound', 'instance', missing);
  return ids.map((id) => getInstance(world, id));
}

function stateChanges(changes: Array<{ x: InstanceRecord; previous: InstanceStateName; current: InstanceStateName }>): XmlObject {
  return {
    instancesSet: xmlList(
      'item',
      changes.map(({ x, previous, current }) => ({ instanceId: x.instanceId, currentState: stateXml(current), previousState: stateXml(previous) })),
    ),
  };
}

const stopInstances: Ec2Handler = (world, params, options) => {
  const instances = instancesFor(world, params);
  stopIfDryRun(params);
  params.bool('Force'); // Accepted and validated; a simulated instance stops the same way either way.
  for (const x of instances) {
    if (x.state === 'terminated' || x.state === 'shutting-down') {
      throw new AwsServiceError('IncorrectInstanceState', `This instance '${x.instanceId}' is not in a state from which it can be stopped.`);
    }
  }
  const changes = instances.map((x) => {
    const previous = x.state;
    if (x.state === 'running' || x.state === 'pending') {
      x.state = 'stopping';
      x.stateReason = 'Client.UserInitiatedShutdown';
      x.transition = { to: 'stopped', at: world.clock() + options.instanceTransitionMs };
    }
    return { x, previous, current: x.state };
  });
  return stateChanges(changes);
};

const startInstances: Ec2Handler = (world, params, options) => {
  const instances = instancesFor(world, params);
  stopIfDryRun(params);
  for (const x of instances) {
    if (x.state !== 'stopped' && x.state !== 'running' && x.state !== 'pending') {
      throw new AwsServiceError('IncorrectInstanceState', `The instance '${x.instanceId}' is not in a state from which it can be started.`);
    }
  }
  const changes = instances.map((x) => {
    const previous = x.state;
    if (x.state === 'stopped') {
      x.state = 'pending';
      x.stateReason = undefined;
      x.transition = { to: 'running', at: world.clock() + options.instanceTransitionMs };
    }
    return { x, previous, current: x.state };
  });
  return stateChanges(changes);
};

// ---------------------------------------------------------------------------------------------------------
// Tags

/** The taggable resources of the endpoint, by id prefix. */
function taggable(world: AwsWorld, id: string): { tags: Tags } {
  const found = id.startsWith('rtb-')
    ? world.routeTables.get(id)
    : id.startsWith('eni-')
      ? world.enis.get(id)
      : id.startsWith('eipalloc-')
        ? world.addresses.get(id)
        : id.startsWith('i-')
          ? world.instances.get(id)
          : undefined;
  if (found !== undefined) return found;
  const kind = id.startsWith('rtb-') ? ['InvalidRouteTableID.NotFound', 'routeTable'] : id.startsWith('eni-') ? ['InvalidNetworkInterfaceID.NotFound', 'networkInterface'] : id.startsWith('eipalloc-') ? ['InvalidAllocationID.NotFound', 'allocation'] : id.startsWith('i-') ? ['InvalidInstanceID.NotFound', 'instance'] : undefined;
  if (kind === undefined) throw invalidParameterValue(`Value (${id}) for parameter resourceId is invalid: the local AWS endpoint tags route tables, network interfaces, Elastic IPs and instances`);
  throw notFound(kind[0]!, kind[1]!, [id]);
}

/** `Tag.N.Key` / `Tag.N.Value` pairs, in order. */
function tagParams(params: QueryParams): Array<{ key: string; value: string | undefined }> {
  const out: Array<{ key: string; value: string | undefined }> = [];
  for (let n = 1; params.get(`Tag.${n}.Key`) !== undefined; n++) out.push({ key: params.get(`Tag.${n}.Key`)!, value: params.get(`Tag.${n}.Value`) });
  return out;
}

/** CreateTags: add or overwrite tags on every listed resource (all resolved first: a bad id changes nothing). */
const createTags: Ec2Handler = (world, params) => {
  const resources = params.list('ResourceId').map((id) => taggable(world, id));
  if (resources.length === 0) throw missingParameter('ResourceId');
  const tags = tagParams(params);
  if (tags.length === 0) throw missingParameter('Tag');
  stopIfDryRun(params);
  for (const r of resources) for (const t of tags) r.tags[t.key] = t.value ?? '';
  return { return: true };
};

/** DeleteTags: remove the listed keys (only where the value matches, when one is given), or every tag when none is listed. */
const deleteTags: Ec2Handler = (world, params) => {
  const resources = params.list('ResourceId').map((id) => taggable(world, id));
  if (resources.length === 0) throw missingParameter('ResourceId');
  const tags = tagParams(params);
  stopIfDryRun(params);
  for (const r of resources) {
    if (tags.length === 0) for (const key of Object.keys(r.tags)) delete r.tags[key];
    for (const t of tags) if (t.value === undefined || r.tags[t.key] === t.value) delete r.tags[t.key];
  }
  return { return: true };
};

/** One tag of one resource, as DescribeTags lists it. */
interface TagEntry {
  resourceId: string;
  resourceType: 'instance' | 'network-interface' | 'route-table' | 'elastic-ip';
  key: string;
  value: string;
}

const TAG_FILTERS: FilterSpec<TagEntry> = {
  'resource-id': (t) => [t.resourceId],
  'resource-type': (t) => [t.resourceType],
  key: (t) => [t.key],
  value: (t) => [t.value],
};

/** DescribeTags: every tag of every taggable resource, filtered (`resource-id`, `resource-type`, `key`, `value`; wildcards). */
const describeTags: Ec2Handler = (world, params) => {
  const entries: TagEntry[] = [];
  const add = (resourceId: string, resourceType: TagEntry['resourceType'], tags: Tags) => {
    for (const [key, value] of Object.entries(tags)) entries.push({ resourceId, resourceType, key, value });
  };
  for (const x of world.instances.values()) add(x.instanceId, 'instance', x.tags);
  for (const n of world.enis.values()) add(n.networkInterfaceId, 'network-interface', n.tags);
  for (const t of world.routeTables.values()) add(t.routeTableId, 'route-table', t.tags);
  for (const a of world.addresses.values()) add(a.allocationId, 'elastic-ip', a.tags);
  const found = applyFilters(entries, params.filters(), TAG_FILTERS, () => ({}));
  return { tagSet: xmlList('item', found.map((t) => ({ resourceId: t.resourceId, resourceType: t.resourceType, key: t.key, value: t.value }))) };
};

/** Every EC2 action the endpoint speaks. */
export const EC2_HANDLERS: Readonly<Record<string, Ec2Handler>> = {
  DescribeRouteTables: describeRouteTables,
  CreateRoute: createRoute,
  ReplaceRoute: replaceRoute,
  DeleteRoute: deleteRoute,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
  DescribeNetworkInterfaceAttribute: describeNetworkInterfaceAttribute,
  ModifyNetworkInterfaceAttribute: modifyNetworkInterfaceAttribute,
  AssignPrivateIpAddresses: assignPrivateIpAddresses,
  UnassignPrivateIpAddresses: unassignPrivateIpAddresses,
  AssociateAddress: associateAddress,
  DisassociateAddress: disassociateAddress,
  DescribeAddresses: describeAddresses,
  DescribeInstances: describeInstances,
  StopInstances: stopInstances,
  StartInstances: startInstances,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  DescribeTags: describeTags,
};

/**
 * Actions whose handler checks DryRun itself, after resolving the request's ids. AssignPrivateIpAddresses and
 * UnassignPrivateIpAddresses have no DryRun parameter in the EC2 API (the SDK does not send one): a DryRun given
 * anyway is refused as EC2 refuses any parameter it does not know.
 */
const NO_DRY_RUN = new Set(['AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses']);

/** Actions whose handler checks DryRun itself, after resolving the request's ids. */
const DRY_RUN_IN_HANDLER = new Set([
  'CreateRoute',
  'ReplaceRoute',
  'DeleteRoute',
  'AssociateAddress',
  'DisassociateAddress',
  'StopInstances',
  'StartInstances',
  'DescribeNetworkInterfaceAttribute',
  'ModifyNetworkInterfaceAttribute',
  'CreateTags',
  'DeleteTags',
]);

/** Run one EC2 action; unknown actions are EC2's `InvalidAction`. Instance transitions settle first. */
export function handleEc2(world: AwsWorld, action: string, params: QueryParams, options: Ec2Options): XmlObject {
  const handler = EC2_HANDLERS[action];
  if (handler === undefined) throw new AwsServiceError('InvalidAction', `The action ${action} is not valid for this web service.`);
  world.settle();
  // DryRun: AWS checks the request and the caller's permissions, and stops. A mutating action does so once its ids
  // resolve (stopIfDryRun in its handler); a Describe at once. There is no IAM here: fault rules play a denial.
  if (NO_DRY_RUN.has(action) && params.get('DryRun') !== undefined) throw new AwsServiceError('UnknownParameter', `The parameter DryRun is not recognized`);
  if (!DRY_RUN_IN_HANDLER.has(action)) stopIfDryRun(params);
  return handler(world, params, options);
}
