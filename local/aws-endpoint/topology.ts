import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { cidrContains, isIpv4, parseCidr, parseIpv4 } from './ip';

/** EC2 instance states, with the numeric codes EC2 reports beside them. */
export const InstanceStateName = {
  Pending: 'pending',
  Running: 'running',
  ShuttingDown: 'shutting-down',
  Terminated: 'terminated',
  Stopping: 'stopping',
  Stopped: 'stopped',
} as const;
export type InstanceStateName = (typeof InstanceStateName)[keyof typeof InstanceStateName];

/** EC2's `instanceState.code` for each state name. */
export const INSTANCE_STATE_CODE: Readonly<Record<InstanceStateName, number>> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** Free-form EC2 tags (`tagSet`), key to value. */
export type Tags = Record<string, string>;

/** One EC2 instance. Its interfaces are listed in device-index order: the first is the primary (device 0). */
export interface TopologyInstance {
  instanceId: string;
  state: InstanceStateName;
  networkInterfaceIds: string[];
  instanceType?: string;
  tags?: Tags;
}

/** One ENI. `instanceId` set means attached; it must agree with that instance's `networkInterfaceIds`. */
export interface TopologyNetworkInterface {
  networkInterfaceId: string;
  subnetId: string;
  vpcId: string;
  privateIpAddress: string;
  secondaryPrivateIpAddresses?: string[];
  instanceId?: string;
  availabilityZone?: string;
  /**
   * EC2's source/destination check (default true, as on AWS). A route-table VIP needs it off on every node's ENI, or
   * the instance drops the packets addressed to the VIP (`vipswitch doctor` checks it).
   */
  sourceDestCheck?: boolean;
  /** The ENI's security groups (default none); each must be one of `securityGroups` when that list is given. */
  securityGroupIds?: string[];
  tags?: Tags;
}

/** A security group (for the `isolate` fencing policy: ModifyNetworkInterfaceAttribute `Groups` must name known ones). */
export interface TopologySecurityGroup {
  groupId: string;
  vpcId: string;
  groupName?: string;
}

/**
 * Optional subnet facts. When a subnet's CIDR is known, addresses assigned in it are checked against it and
 * `SecondaryPrivateIpAddressCount` can pick free addresses; without it any address is accepted.
 */
export interface TopologySubnet {
  subnetId: string;
  vpcId: string;
  cidrBlock: string;
  availabilityZone?: string;
}

/** How a route came to be, as EC2 reports it (`origin`). */
export const ROUTE_ORIGINS = ['CreateRouteTable', 'CreateRoute', 'EnableVgwRoutePropagation'] as const;
export type RouteOrigin = (typeof ROUTE_ORIGINS)[number];

/**
 * A route: exactly one target. `gatewayId: 'local'` is the VPC's own route, which EC2 refuses to delete.
 * `origin` defaults to `CreateRouteTable`; `EnableVgwRoutePropagation` (a route a virtual private gateway propagated)
 * needs a `vgw-` target, and the endpoint refuses to replace or delete it.
 */
export interface TopologyRoute {
  destinationCidrBlock: string;
  networkInterfaceId?: string;
  instanceId?: string;
  gatewayId?: string;
  origin?: RouteOrigin;
}

/** A route table; `main` and `subnetIds` become its `associationSet`. */
export interface TopologyRouteTable {
  routeTableId: string;
  vpcId: string;
  main?: boolean;
  subnetIds?: string[];
  routes: TopologyRoute[];
  tags?: Tags;
}

/** An Elastic IP; associated when `networkInterfaceId` is set (`privateIpAddress` defaults to the ENI's primary). */
export interface TopologyAddress {
  allocationId: string;
  publicIp: string;
  networkInterfaceId?: string;
  privateIpAddress?: string;
  associationId?: string;
  tags?: Tags;
}

/** A simple (non-alias, no routing policy) record set. `name` is fully qualified, with the trailing dot. */
export interface TopologyRecord {
  name: string;
  type: string;
  ttl: number;
  values: string[];
}

/** A hosted zone; `id` is the bare id (`Z…`), `name` ends with a dot. SOA and NS at the apex are added if absent. */
export interface TopologyHostedZone {
  id: string;
  name: string;
  privateZone?: boolean;
  vpcIds?: string[];
  comment?: string;
  records: TopologyRecord[];
}

/** Everything the local endpoint starts from: one account in one region. */
export interface Topology {
  region: string;
  accountId: string;
  subnets?: TopologySubnet[];
  instances: TopologyInstance[];
  networkInterfaces: TopologyNetworkInterface[];
  /** Security groups; the groups ENIs name are known without it (in their ENI's VPC). */
  securityGroups?: TopologySecurityGroup[];
  routeTables: TopologyRouteTable[];
  addresses: TopologyAddress[];
  hostedZones: TopologyHostedZone[];
  /** SNS topic names (the ARN is built from region and account). */
  topics: string[];
}

/** A topology that fails validation; `field` names the offending member, e.g. `instances[1].networkInterfaceIds[0]`. */
export class TopologyError extends Error {
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`topology.${field}: ${problem}`);
    this.name = 'TopologyError';
    this.field = field;
  }
}

/** Record types the endpoint accepts, as Route 53 lists them. */
export const RECORD_TYPES = new Set(['A', 'AAAA', 'CAA', 'CNAME', 'DS', 'MX', 'NAPTR', 'NS', 'PTR', 'SOA', 'SPF', 'SRV', 'TXT']);

const ID_PATTERNS = {
  instance: /^i-[0-9a-z]+$/,
  eni: /^eni-[0-9a-z]+$/,
  subnet: /^subnet-[0-9a-z]+$/,
  vpc: /^vpc-[0-9a-z]+$/,
  routeTable: /^rtb-[0-9a-z]+$/,
  securityGroup: /^sg-[0-9a-z]+$/,
  allocation: /^eipalloc-[0-9a-z]+$/,
  association: /^eipassoc-[0-9a-z]+$/,
  zone: /^Z[0-9A-Z]+$/,
  gateway: /^(local|igw-[0-9a-z]+|vgw-[0-9a-z]+)$/,
} as const;

/** SNS topic names: letters, digits, `_` and `-`, 1–256 characters. */
export const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;

type Obj = Record<string, unknown>;

function asObject(value: unknown, field: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TopologyError(field, 'expected an object');
  return value as Obj;
}

function asArray(value: unknown, field: string, optional = false): unknown[] {
  if (value === undefined && optional) return [];
  if (!Array.isArray(value)) throw new TopologyError(field, 'expected an array');
  return value;
}

function str(o: Obj, key: string, field: string, pattern?: RegExp): string {
  const value = o[key];
  if (typeof value !== 'string' || value === '') throw new TopologyError(`${field}.${key}`, 'expected a non-empty string');
  if (pattern !== undefined && !pattern.test(value)) throw new TopologyError(`${field}.${key}`, `"${value}" does not match ${pattern}`);
  return value;
}

function optStr(o: Obj, key: string, field: string, pattern?: RegExp): string | undefined {
  return o[key] === undefined ? undefined : str(o, key, field, pattern);
}

function optBool(o: Obj, key: string, field: string): boolean | undefined {
  const value = o[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new TopologyError(`${field}.${key}`, 'expected true or false');
  return value;
}

function ipv4(o: Obj, key: string, field: string): string {
  const value = str(o, key, field);
  if (!isIpv4(value)) throw new TopologyError(`${field}.${key}`, `"${value}" is not an IPv4 address`);
  return value;
}

function tags(o: Obj, field: string): Tags | undefined {
  if (o.tags === undefined) return undefined;
  const t = asObject(o.tags, `${field}.tags`);
  const out: Tags = {};
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'string') throw new TopologyError(`${field}.tags.${k}`, 'expected a string');
    out[k] = v;
  }
  return out;
}

function unique<T>(items: readonly T[], key: (t: T) => string, field: (index: number) => string): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    const k = key(item);
    if (seen.has(k)) throw new TopologyError(field(index), `duplicate "${k}"`);
    seen.add(k);
  });
}

/**
 * Check a topology and return a normalised copy (record names lower-cased, associated addresses given their
 * private IP). A list left out of the JSON counts as empty, so a topology can hold only what a test needs.
 * Throws {@link TopologyError} naming the first bad field. References are checked too: an ENI's instance,
 * an instance's ENIs, a route's target, an address's ENI.
 */
export function validateTopology(input: unknown): Topology {
  const root = asObject(input, '(root)');
  const region = str(root, 'region', '(root)', /^[a-z]{2}(-[a-z]+)+-\d+$/);
  const accountId = str(root, 'accountId', '(root)', /^\d{12}$/);

  const subnets: TopologySubnet[] = asArray(root.subnets, 'subnets', true).map((raw, i) => {
    const f = `subnets[${i}]`;
    const o = asObject(raw, f);
    const cidrBlock = str(o, 'cidrBlock', f);
    if (parseCidr(cidrBlock) === undefined) throw new TopologyError(`${f}.cidrBlock`, `"${cidrBlock}" is not an IPv4 CIDR block`);
    const az = optStr(o, 'availabilityZone', f);
    return { subnetId: str(o, 'subnetId', f, ID_PATTERNS.subnet), vpcId: str(o, 'vpcId', f, ID_PATTERNS.vpc), cidrBlock, ...(az === undefined ? {} : { availabilityZone: az }) };
  });
  unique(subnets, (s) => s.subnetId, (i) => `subnets[${i}].subnetId`);

  const instances: TopologyInstance[] = asArray(root.instances, 'instances', true).map((raw, i) => {
    const f = `instances[${i}]`;
    const o = asObject(raw, f);
    const state = str(o, 'state', f);
    if (!Object.values(InstanceStateName).includes(state as InstanceStateName)) {
      throw new TopologyError(`${f}.state`, `"${state}" is not one of ${Object.values(InstanceStateName).join(', ')}`);
    }
    const eniIds = asArray(o.networkInterfaceIds, `${f}.networkInterfaceIds`).map((v, k) => {
      if (typeof v !== 'string' || !ID_PATTERNS.eni.test(v)) throw new TopologyError(`${f}.networkInterfaceIds[${k}]`, 'expected an ENI id (eni-…)');
      return v;
    });
    if (eniIds.length === 0) throw new TopologyError(`${f}.networkInterfaceIds`, 'an instance needs at least one network interface');
    const instanceType = optStr(o, 'instanceType', f);
    const t = tags(o, f);
    return {
      instanceId: str(o, 'instanceId', f, ID_PATTERNS.instance),
      state: state as InstanceStateName,
      networkInterfaceIds: eniIds,
      ...(instanceType === undefined ? {} : { instanceType }),
      ...(t === undefined ? {} : { tags: t }),
    };
  });
  unique(instances, (x) => x.instanceId, (i) => `instances[${i}].instanceId`);

  const networkInterfaces: TopologyNetworkInterface[] = asArray(root.networkInterfaces, 'networkInterfaces', true).map((raw, i) => {
    const f = `networkInterfaces[${i}]`;
    const o = asObject(raw, f);
    const secondaries = asArray(o.secondaryPrivateIpAddresses, `${f}.secondaryPrivateIpAddresses`, true).map((v, k) => {
      if (typeof v !== 'string' || !isIpv4(v)) throw new TopologyError(`${f}.secondaryPrivateIpAddresses[${k}]`, 'expected an IPv4 address');
      return v;
    });
    const instanceId = optStr(o, 'instanceId', f, ID_PATTERNS.instance);
    const az = optStr(o, 'availabilityZone', f);
    const sourceDestCheck = optBool(o, 'sourceDestCheck', f);
    const groups = asArray(o.securityGroupIds, `${f}.securityGroupIds`, true).map((v, k) => {
      if (typeof v !== 'string' || !ID_PATTERNS.securityGroup.test(v)) throw new TopologyError(`${f}.securityGroupIds[${k}]`, 'expected a security group id (sg-…)');
      return v;
    });
    const t = tags(o, f);
    return {
      ...(sourceDestCheck === undefined ? {} : { sourceDestCheck }),
      ...(groups.length === 0 ? {} : { securityGroupIds: groups }),
      networkInterfaceId: str(o, 'networkInterfaceId', f, ID_PATTERNS.eni),
      subnetId: str(o, 'subnetId', f, ID_PATTERNS.subnet),
      vpcId: str(o, 'vpcId', f, ID_PATTERNS.vpc),
      privateIpAddress: ipv4(o, 'privateIpAddress', f),
      secondaryPrivateIpAddresses: secondaries,
      ...(instanceId === undefined ? {} : { instanceId }),
      ...(az === undefined ? {} : { availabilityZone: az }),
      ...(t === undefined ? {} : { tags: t }),
    };
  });
  unique(networkInterfaces, (n) => n.networkInterfaceId, (i) => `networkInterfaces[${i}].networkInterfaceId`);

  const securityGroups: TopologySecurityGroup[] = asArray(root.securityGroups, 'securityGroups', true).map((raw, i) => {
    const f = `securityGroups[${i}]`;
    const o = asObject(raw, f);
    const groupName = optStr(o, 'groupName', f);
    return { groupId: str(o, 'groupId', f, ID_PATTERNS.securityGroup), vpcId: str(o, 'vpcId', f, ID_PATTERNS.vpc), ...(groupName === undefined ? {} : { groupName }) };
  });
  unique(securityGroups, (g) => g.groupId, (i) => `securityGroups[${i}].groupId`);
  if (securityGroups.length > 0) {
    const listed = new Map(securityGroups.map((g) => [g.groupId, g.vpcId]));
    networkInterfaces.forEach((n, i) =>
      (n.securityGroupIds ?? []).forEach((g, k) => {
        if (!listed.has(g)) throw new TopologyError(`networkInterfaces[${i}].securityGroupIds[${k}]`, `${g} is not in securityGroups`);
        if (listed.get(g) !== n.vpcId) throw new TopologyError(`networkInterfaces[${i}].securityGroupIds[${k}]`, `${g} belongs to ${listed.get(g)}, the ENI to ${n.vpcId}`);
      }),
    );
  }

  const eniById = new Map(networkInterfaces.map((n) => [n.networkInterfaceId, n]));
  const instanceById = new Map(instances.map((x) => [x.instanceId, x]));
  const subnetById = new Map(subnets.map((s) => [s.subnetId, s]));
  const subnetVpc = new Map<string, string>();
  const ipOwner = new Map<string, string>();
  networkInterfaces.forEach((n, i) => {
    const f = `networkInterfaces[${i}]`;
    const knownVpc = subnetById.get(n.subnetId)?.vpcId ?? subnetVpc.get(n.subnetId);
    if (knownVpc !== undefined && knownVpc !== n.vpcId) throw new TopologyError(`${f}.vpcId`, `subnet ${n.subnetId} belongs to ${knownVpc}`);
    subnetVpc.set(n.subnetId, n.vpcId);
    const subnet = subnetById.get(n.subnetId);
    const all = [n.privateIpAddress, ...(n.secondaryPrivateIpAddresses ?? [])];
    all.forEach((ip, k) => {
      const field = k === 0 ? `${f}.privateIpAddress` : `${f}.secondaryPrivateIpAddresses[${k - 1}]`;
      const owner = ipOwner.get(`${n.vpcId}/${ip}`);
      if (owner !== undefined) throw new TopologyError(field, `${ip} is already assigned to ${owner}`);
      ipOwner.set(`${n.vpcId}/${ip}`, n.networkInterfaceId);
      const cidr = subnet === undefined ? undefined : parseCidr(subnet.cidrBlock);
      if (cidr !== undefined && !cidrContains(cidr, parseIpv4(ip) ?? -1)) throw new TopologyError(field, `${ip} is outside ${n.subnetId} (${subnet?.cidrBlock})`);
    });
    if (n.instanceId !== undefined) {
      const owner = instanceById.get(n.instanceId);
      if (owner === undefined) throw new TopologyError(`${f}.instanceId`, `no instance ${n.instanceId}`);
      if (!owner.networkInterfaceIds.includes(n.networkInterfaceId)) {
        throw new TopologyError(`${f}.instanceId`, `${n.instanceId} does not list ${n.networkInterfaceId} in its networkInterfaceIds`);
      }
    }
  });
  instances.forEach((x, i) => {
    x.networkInterfaceIds.forEach((eniId, k) => {
      const eni = eniById.get(eniId);
      const f = `instances[${i}].networkInterfaceIds[${k}]`;
      if (eni === undefined) throw new TopologyError(f, `no network interface ${eniId}`);
      // An ENI listed by an instance is attached to it; saying so on the ENI is optional but must agree.
      if (eni.instanceId !== undefined && eni.instanceId !== x.instanceId) throw new TopologyError(f, `${eniId} is attached to ${eni.instanceId}`);
      eni.instanceId = x.instanceId;
    });
  });

  const routeTables: TopologyRouteTable[] = asArray(root.routeTables, 'routeTables', true).map((raw, i) => {
    const f = `routeTables[${i}]`;
    const o = asObject(raw, f);
    const vpcId = str(o, 'vpcId', f, ID_PATTERNS.vpc);
    const routes = asArray(o.routes, `${f}.routes`).map((rawRoute, k) => {
      const rf = `${f}.routes[${k}]`;
      const r = asObject(rawRoute, rf);
      const destinationCidrBlock = str(r, 'destinationCidrBlock', rf);
      if (parseCidr(destinationCidrBlock) === undefined) throw new TopologyError(`${rf}.destinationCidrBlock`, `"${destinationCidrBlock}" is not an IPv4 CIDR block`);
      const networkInterfaceId = optStr(r, 'networkInterfaceId', rf, ID_PATTERNS.eni);
      const instanceId = optStr(r, 'instanceId', rf, ID_PATTERNS.instance);
      const gatewayId = optStr(r, 'gatewayId', rf, ID_PATTERNS.gateway);
      const targets = [networkInterfaceId, instanceId, gatewayId].filter((t) => t !== undefined).length;
      if (targets !== 1) throw new TopologyError(rf, 'a route needs exactly one of networkInterfaceId, instanceId, gatewayId');
      if (networkInterfaceId !== undefined) {
        const eni = eniById.get(networkInterfaceId);
        if (eni === undefined) throw new TopologyError(`${rf}.networkInterfaceId`, `no network interface ${networkInterfaceId}`);
        if (eni.vpcId !== vpcId) throw new TopologyError(`${rf}.networkInterfaceId`, `${networkInterfaceId} is in ${eni.vpcId}, the table in ${vpcId}`);
      }
      if (instanceId !== undefined && !instanceById.has(instanceId)) throw new TopologyError(`${rf}.instanceId`, `no instance ${instanceId}`);
      const origin = optStr(r, 'origin', rf);
      if (origin !== undefined && !(ROUTE_ORIGINS as readonly string[]).includes(origin)) throw new TopologyError(`${rf}.origin`, `"${origin}" is not one of ${ROUTE_ORIGINS.join(', ')}`);
      if (origin === 'EnableVgwRoutePropagation' && !gatewayId?.startsWith('vgw-')) throw new TopologyError(`${rf}.origin`, 'a propagated route targets a virtual private gateway (gatewayId vgw-...)');
      return {
        ...(origin === undefined ? {} : { origin: origin as RouteOrigin }),
        destinationCidrBlock,
        ...(networkInterfaceId === undefined ? {} : { networkInterfaceId }),
        ...(instanceId === undefined ? {} : { instanceId }),
        ...(gatewayId === undefined ? {} : { gatewayId }),
      };
    });
    unique(routes, (r) => r.destinationCidrBlock, (k) => `${f}.routes[${k}].destinationCidrBlock`);
    const subnetIds = asArray(o.subnetIds, `${f}.subnetIds`, true).map((v, k) => {
      if (typeof v !== 'string' || !ID_PATTERNS.subnet.test(v)) throw new TopologyError(`${f}.subnetIds[${k}]`, 'expected a subnet id (subnet-…)');
      return v;
    });
    const main = optBool(o, 'main', f);
    const t = tags(o, f);
    return {
      routeTableId: str(o, 'routeTableId', f, ID_PATTERNS.routeTable),
      vpcId,
      ...(main === undefined ? {} : { main }),
      subnetIds,
      routes,
      ...(t === undefined ? {} : { tags: t }),
    };
  });
  unique(routeTables, (r) => r.routeTableId, (i) => `routeTables[${i}].routeTableId`);

  const addresses: TopologyAddress[] = asArray(root.addresses, 'addresses', true).map((raw, i) => {
    const f = `addresses[${i}]`;
    const o = asObject(raw, f);
    const networkInterfaceId = optStr(o, 'networkInterfaceId', f, ID_PATTERNS.eni);
    let privateIpAddress = o.privateIpAddress === undefined ? undefined : ipv4(o, 'privateIpAddress', f);
    const associationId = optStr(o, 'associationId', f, ID_PATTERNS.association);
    if (networkInterfaceId === undefined) {
      if (privateIpAddress !== undefined || associationId !== undefined) throw new TopologyError(`${f}.networkInterfaceId`, 'privateIpAddress/associationId need a networkInterfaceId');
    } else {
      const eni = eniById.get(networkInterfaceId);
      if (eni === undefined) throw new TopologyError(`${f}.networkInterfaceId`, `no network interface ${networkInterfaceId}`);
      privateIpAddress ??= eni.privateIpAddress;
      if (privateIpAddress !== eni.privateIpAddress && !(eni.secondaryPrivateIpAddresses ?? []).includes(privateIpAddress)) {
        throw new TopologyError(`${f}.privateIpAddress`, `${privateIpAddress} is not assigned to ${networkInterfaceId}`);
      }
    }
    const t = tags(o, f);
    return {
      allocationId: str(o, 'allocationId', f, ID_PATTERNS.allocation),
      publicIp: ipv4(o, 'publicIp', f),
      ...(networkInterfaceId === undefined ? {} : { networkInterfaceId }),
      ...(privateIpAddress === undefined ? {} : { privateIpAddress }),
      ...(associationId === undefined ? {} : { associationId }),
      ...(t === undefined ? {} : { tags: t }),
    };
  });
  unique(addresses, (a) => a.allocationId, (i) => `addresses[${i}].allocationId`);
  unique(addresses, (a) => a.publicIp, (i) => `addresses[${i}].publicIp`);
  unique(
    addresses.filter((a) => a.networkInterfaceId !== undefined),
    (a) => `${a.networkInterfaceId}/${a.privateIpAddress}`,
    (i) => `addresses[${i}].privateIpAddress`,
  );

  const hostedZones: TopologyHostedZone[] = asArray(root.hostedZones, 'hostedZones', true).map((raw, i) => {
    const f = `hostedZones[${i}]`;
    const o = asObject(raw, f);
    const name = str(o, 'name', f).toLowerCase();
    if (!name.endsWith('.')) throw new TopologyError(`${f}.name`, `"${name}" must end with a dot`);
    const records = asArray(o.records, `${f}.records`).map((rawRecord, k) => {
      const rf = `${f}.records[${k}]`;
      const r = asObject(rawRecord, rf);
      const recordName = str(r, 'name', rf).toLowerCase();
      if (!recordName.endsWith('.')) throw new TopologyError(`${rf}.name`, `"${recordName}" must end with a dot`);
      if (recordName !== name && !recordName.endsWith(`.${name}`)) throw new TopologyError(`${rf}.name`, `"${recordName}" is not inside ${name}`);
      const type = str(r, 'type', rf);
      if (!RECORD_TYPES.has(type)) throw new TopologyError(`${rf}.type`, `"${type}" is not a supported record type`);
      const ttl = r.ttl;
      if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647) throw new TopologyError(`${rf}.ttl`, 'expected a non-negative integer');
      const values = asArray(r.values, `${rf}.values`).map((v, j) => {
        if (typeof v !== 'string' || v === '') throw new TopologyError(`${rf}.values[${j}]`, 'expected a non-empty string');
        if (type === 'A' && !isIpv4(v)) throw new TopologyError(`${rf}.values[${j}]`, `"${v}" is not an IPv4 address`);
        return v;
      });
      if (values.length === 0) throw new TopologyError(`${rf}.values`, 'a record needs at least one value');
      return { name: recordName, type, ttl, values };
    });
    unique(records, (r) => `${r.name} ${r.type}`, (k) => `${f}.records[${k}]`);
    const vpcIds = asArray(o.vpcIds, `${f}.vpcIds`, true).map((v, k) => {
      if (typeof v !== 'string' || !ID_PATTERNS.vpc.test(v)) throw new TopologyError(`${f}.vpcIds[${k}]`, 'expected a VPC id (vpc-…)');
      return v;
    });
    const privateZone = optBool(o, 'privateZone', f) ?? false;
    if (privateZone && vpcIds.length === 0) throw new TopologyError(`${f}.vpcIds`, 'a private zone needs at least one VPC');
    const comment = optStr(o, 'comment', f);
    return { id: str(o, 'id', f, ID_PATTERNS.zone), name, privateZone, vpcIds, ...(comment === undefined ? {} : { comment }), records };
  });
  unique(hostedZones, (z) => z.id, (i) => `hostedZones[${i}].id`);

  const topics = asArray(root.topics, 'topics', true).map((v, i) => {
    if (typeof v !== 'string' || !TOPIC_NAME.test(v)) throw new TopologyError(`topics[${i}]`, 'expected a topic name (letters, digits, _ and -)');
    return v;
  });
  unique(topics, (t) => t, (i) => `topics[${i}]`);

  return { region, accountId, subnets, instances, networkInterfaces, ...(securityGroups.length === 0 ? {} : { securityGroups }), routeTables, addresses, hostedZones, topics };
}

/** Read and validate a topology file: JSON, or YAML when the name ends in `.yaml`/`.yml`. */
export async function loadTopologyFile(path: string): Promise<Topology> {
  const text = await readFile(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (cause) {
    throw new Error(`cannot parse topology file ${path}: ${(cause as Error).message}`, { cause });
  }
  return validateTopology(parsed);
}
