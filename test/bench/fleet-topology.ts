/**
 * A fleet on the local AWS endpoint: N clusters, each with its own route tables (the VIP's /32 on node1's ENI), an
 * Elastic IP on node1, an A record in one shared private zone, and optionally a secondary IP; plus how to register
 * them in a store (fencing record: node1 primary, epoch 1, applied) and how to make them drift.
 * Used by the fleet bench (P5) and the fleet tests.
 */
import { randomBytes } from 'node:crypto';
import { AssociateAddressCommand, AssignPrivateIpAddressesCommand, ReplaceRouteCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import type { Topology } from '../../local/aws-endpoint/index';
import type { ClusterConfig, EndpointConfig } from '../../shared/domain/cluster';
import type { ClusterStore, NodeWithKey } from '../../shared/ports/cluster-store';

export const FLEET_VPC = 'vpc-0f1ee7000000000000';
export const FLEET_ZONE = 'Z0F1EE7000000000000';
export const FLEET_ZONE_NAME = 'fleet.internal.';
export const FLEET_SYSTEM_ID = '7710811430681400266';

export interface FleetSpec {
  clusters: number;
  routeTablesPerCluster?: number;
  elasticIp?: boolean;
  route53?: boolean;
  /** Every k-th cluster also has a secondary IP (0: none). */
  secondaryIpEvery?: number;
  /** Cluster names are `<prefix>-0000`, ... (default `fleet`). */
  prefix?: string;
}

export interface FleetNode {
  name: string;
  eni: string;
  privateIp: string;
}

export interface FleetCluster {
  name: string;
  config: ClusterConfig;
  nodes: FleetNode[];
}

const hex = (n: number, width = 17) => n.toString(16).padStart(width, '0');
const ip = (i: number, last: number, second: number) => `10.${second + (i >> 8)}.${i & 255}.${last}`;

/** The clusters of a fleet, and the topology that holds their resources (added to `base`, e.g. the example's). */
export function fleetTopology(spec: FleetSpec, base?: Topology): { topology: Topology; clusters: FleetCluster[] } {
  const routeTables = spec.routeTablesPerCluster ?? 3;
  const prefix = spec.prefix ?? 'fleet';
  const topology: Topology = structuredClone(
    base ?? { region: 'us-east-1', accountId: '000000000000', instances: [], networkInterfaces: [], routeTables: [], addresses: [], hostedZones: [], topics: ['vipswitch-pages'] },
  );
  topology.subnets ??= [];
  topology.subnets.push({ subnetId: 'subnet-0f1ee7000000000001', vpcId: FLEET_VPC, cidrBlock: '10.64.0.0/10' });
  const zone = { id: FLEET_ZONE, name: FLEET_ZONE_NAME, privateZone: true, vpcIds: [FLEET_VPC], records: [] as Topology['hostedZones'][number]['records'] };
  const clusters: FleetCluster[] = [];
  for (let i = 0; i < spec.clusters; i++) {
    const name = `${prefix}-${String(i).padStart(4, '0')}`;
    const nodes: FleetNode[] = [1, 2].map((k) => ({ name: `node${k}`, eni: `eni-${hex(i * 4 + k)}`, privateIp: ip(i, 10 + k, 64) }));
    const secondary = spec.secondaryIpEvery && i % spec.secondaryIpEvery === 0 ? ip(i, 100, 64) : null;
    for (const [k, n] of nodes.entries()) {
      topology.networkInterfaces.push({ networkInterfaceId: n.eni, subnetId: 'subnet-0f1ee7000000000001', vpcId: FLEET_VPC, privateIpAddress: n.privateIp, secondaryPrivateIpAddresses: k === 0 && secondary ? [secondary] : [], sourceDestCheck: false, tags: { 'vipswitch:cluster': name } });
    }
    const vip = ip(i, 200, 96);
    const routeTableIds = Array.from({ length: routeTables }, (_, t) => `rtb-${hex(i * 8 + t + 1)}`);
    for (const id of routeTableIds) {
      topology.routeTables.push({ routeTableId: id, vpcId: FLEET_VPC, routes: [{ destinationCidrBlock: '10.64.0.0/10', gatewayId: 'local' }, { destinationCidrBlock: `${vip}/32`, networkInterfaceId: nodes[0]!.eni }], tags: { 'vipswitch:cluster': name } });
    }
    const endpoints: EndpointConfig = { routeTables: { vip, routeTableIds } };
    if (spec.elasticIp ?? true) {
      const allocationId = `eipalloc-${hex(i + 1)}`;
      topology.addresses.push({ allocationId, publicIp: `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, networkInterfaceId: nodes[0]!.eni, privateIpAddress: nodes[0]!.privateIp, tags: { 'vipswitch:cluster': name } });
      endpoints.elasticIp = { allocationId };
    }
    if (spec.route53 ?? true) {
      const record = `${name}.${FLEET_ZONE_NAME}`;
      zone.records.push({ name: record, type: 'A', ttl: 10, values: [nodes[0]!.privateIp] });
      endpoints.route53 = { hostedZoneId: FLEET_ZONE, writerRecord: record, ttl: 10, waitForInsync: false, insyncTimeoutSeconds: 60 };
    }
    if (secondary) endpoints.secondaryIp = { address: secondary };
    clusters.push({ name, nodes, config: { cluster: name, tool: 'repmgr', endpoints, replayWindowSeconds: 300, fencing: 'alert', dryRun: false } });
  }
  if (zone.records.length > 0) topology.hostedZones.push(zone);
  return { topology, clusters };
}

/** The members as a store registers them (random hook keys). */
export function fleetMembers(cluster: FleetCluster): NodeWithKey[] {
  return cluster.nodes.map((n, k) => ({ cluster: cluster.name, name: n.name, repmgrNodeId: k + 1, eni: n.eni, instanceId: null, privateIp: n.privateIp, fenced: false, hookKey: randomBytes(32).toString('hex') }));
}

/** What kind of drift {@link driftCluster} injects. */
export type DriftKind = 'route' | 'elasticIp' | 'record' | 'secondaryIp';

/**
 * Move one target of `cluster` away from node1 (its primary) to node2, by hand, as an operator would: one route, the
 * Elastic IP, the A record, or the secondary IP. Returns the target's name as the actuator reports it.
 */
export async function driftCluster(clients: { ec2: EC2Client; route53: Route53Client }, cluster: FleetCluster, kind: DriftKind): Promise<string> {
  const e = cluster.config.endpoints;
  const other = cluster.nodes[1]!;
  switch (kind) {
    case 'route': {
      const table = e.routeTables!.routeTableIds[1 % e.routeTables!.routeTableIds.length]!;
      await clients.ec2.send(new ReplaceRouteCommand({ RouteTableId: table, DestinationCidrBlock: `${e.routeTables!.vip}/32`, NetworkInterfaceId: other.eni }));
      return `${table} ${e.routeTables!.vip}/32`;
    }
    case 'elasticIp':
      await clients.ec2.send(new AssociateAddressCommand({ AllocationId: e.elasticIp!.allocationId, NetworkInterfaceId: other.eni, PrivateIpAddress: other.privateIp, AllowReassociation: true }));
      return e.elasticIp!.allocationId;
    case 'record':
      await clients.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: e.route53!.hostedZoneId, ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: e.route53!.writerRecord, Type: 'A', TTL: 10, ResourceRecords: [{ Value: other.privateIp }] } }] } }));
      return `${e.route53!.hostedZoneId} ${e.route53!.writerRecord} A`;
    case 'secondaryIp':
      await clients.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: other.eni, PrivateIpAddresses: [e.secondaryIp!.address], AllowReassignment: true }));
      return e.secondaryIp!.address;
  }
}

/** Register every cluster (`applyCluster`), `concurrency` at a time. */
export async function registerFleet(store: Pick<ClusterStore, 'applyCluster'>, clusters: readonly FleetCluster[], concurrency = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < clusters.length) {
        const c = clusters[next++]!;
        await store.applyCluster(c.config, FLEET_SYSTEM_ID, fleetMembers(c));
      }
    }),
  );
}
