import { createHash, randomBytes } from 'node:crypto';
import { INSTANCE_STATE_CODE, type InstanceStateName, type RouteOrigin, type Tags, type Topology } from './topology';

/** Hex from a stable seed, so ids derived from the topology (attachment, MAC, reservation) survive a reset. */
export function stableHex(seed: string, length: number): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

/** Fresh random lower-case hex of `length` characters. */
export function randomHex(length: number): string {
  return randomBytes(Math.ceil(length / 2)).toString('hex').slice(0, length);
}

/** Fresh random upper-case base-36 id of `length` characters (Route 53 change ids look like this). */
export function randomUpperId(length: number): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** An instance as the endpoint holds it; `transition` is a state change that completes at `at` (epoch ms). */
export interface InstanceRecord {
  instanceId: string;
  state: InstanceStateName;
  networkInterfaceIds: string[];
  instanceType: string;
  tags: Tags;
  launchTime: Date;
  reservationId: string;
  transition: { to: InstanceStateName; at: number } | undefined;
  stateReason: string | undefined;
}

/** An ENI; `instanceId` set means attached (device index = position in the instance's list). */
export interface EniRecord {
  networkInterfaceId: string;
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
  privateIpAddress: string;
  secondaryPrivateIpAddresses: string[];
  instanceId: string | undefined;
  attachmentId: string;
  macAddress: string;
  /** EC2's source/destination check (true unless the topology or ModifyNetworkInterfaceAttribute turned it off). */
  sourceDestCheck: boolean;
  /** Security group ids, in the order last set (the topology's, or ModifyNetworkInterfaceAttribute's). */
  groups: string[];
  tags: Tags;
}

/** A security group the account knows (the topology's list, and every group an ENI names). */
export interface SecurityGroupRecord {
  groupId: string;
  vpcId: string;
  groupName: string;
}

/** A subnet, when the topology names one. */
export interface SubnetRecord {
  subnetId: string;
  vpcId: string;
  cidrBlock: string;
  availabilityZone: string;
}

/** One route; `origin` is what EC2 reports (`CreateRouteTable` for the local route and seeded ones). */
export interface RouteRecord {
  destinationCidrBlock: string;
  networkInterfaceId: string | undefined;
  instanceId: string | undefined;
  gatewayId: string | undefined;
  origin: RouteOrigin;
}

/** A route table with its associations. */
export interface RouteTableRecord {
  routeTableId: string;
  vpcId: string;
  main: boolean;
  subnetIds: string[];
  routes: RouteRecord[];
  tags: Tags;
}

/** An Elastic IP and, when associated, where. */
export interface AddressRecord {
  allocationId: string;
  publicIp: string;
  networkInterfaceId: string | undefined;
  privateIpAddress: string | undefined;
  associationId: string | undefined;
  tags: Tags;
}

/** A simple record set (no alias, no routing policy). */
export interface RecordSetRecord {
  name: string;
  type: string;
  ttl: number;
  values: string[];
}

/** A hosted zone and its records. */
export interface HostedZoneRecord {
  id: string;
  name: string;
  callerReference: string;
  privateZone: boolean;
  vpcIds: string[];
  comment: string | undefined;
  records: RecordSetRecord[];
}

/** A Route 53 change batch; PENDING until `insyncAt`, INSYNC after. */
export interface ChangeRecord {
  id: string;
  zoneId: string;
  submittedAt: Date;
  insyncAt: number;
  comment: string | undefined;
  changes: Array<{ action: string; name: string; type: string; values: string[] }>;
}

/** An SNS topic. */
export interface TopicRecord {
  arn: string;
  name: string;
}

/** An SNS subscription; it gets notifications only once confirmed. */
export interface SubscriptionRecord {
  arn: string;
  topicArn: string;
  protocol: string;
  endpoint: string;
  token: string;
  confirmed: boolean;
}

/** One HTTP delivery (a subscription confirmation or a notification) and how it went. */
export interface DeliveryRecord {
  subscriptionArn: string;
  endpoint: string;
  type: 'SubscriptionConfirmation' | 'Notification';
  messageId: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastHttpStatus: number | undefined;
  lastError: string | undefined;
}

/** A published message, kept so tests and the local stack can see what would have paged someone. */
export interface PublishedMessageRecord {
  messageId: string;
  topicArn: string;
  subject: string | undefined;
  message: string;
  messageAttributes: Record<string, { Type: string; Value: string }>;
  timestamp: string;
  deliveries: DeliveryRecord[];
}

/**
 * The JSON the control plane and {@link AwsWorld.view} hand out: a snapshot, safe to keep and compare.
 * Top-level lists mirror the topology's (`routeTables`, `networkInterfaces`, …); zones carry their records and
 * changes, topics their subscriptions and published messages.
 */
export interface StateView {
  region: string;
  accountId: string;
  instances: Array<{
    instanceId: string;
    state: InstanceStateName;
    stateCode: number;
    networkInterfaceIds: string[];
    privateIpAddress: string | undefined;
    publicIp: string | undefined;
    tags: Tags;
  }>;
  networkInterfaces: Array<{
    networkInterfaceId: string;
    subnetId: string;
    vpcId: string;
    privateIpAddress: string;
    secondaryPrivateIpAddresses: string[];
    instanceId: string | undefined;
    sourceDestCheck: boolean;
    groups: string[];
    tags: Tags;
  }>;
  routeTables: Array<{
    routeTableId: string;
    vpcId: string;
    main: boolean;
    subnetIds: string[];
    routes: Array<{ destinationCidrBlock: string; networkInterfaceId?: string; instanceId?: string; gatewayId?: string; state: 'active' | 'blackhole'; origin: RouteOrigin }>;
    tags: Tags;
  }>;
  addresses: Array<{ allocationId: string; publicIp: string; networkInterfaceId?: string; privateIpAddress?: string; associationId?: string; instanceId?: string; tags: Tags }>;
  hostedZones: Array<{
    id: string;
    name: string;
    privateZone: boolean;
    records: RecordSetRecord[];
    changes: Array<{ id: string; status: 'PENDING' | 'INSYNC'; submittedAt: string; comment?: string; changes: ChangeRecord['changes'] }>;
  }>;
  topics: Array<{
    topicArn: string;
    name: string;
    subscriptions: Array<{ subscriptionArn: string; protocol: string; endpoint: string; confirmed: boolean; confirmationDeliveries: DeliveryRecord[] }>;
    /** Messages published to this topic, oldest first (the endpoint keeps the latest 1000 overall). */
    published: PublishedMessageRecord[];
  }>;
}

/** Most published messages kept (oldest dropped first), so a long-running local stack stays bounded. */
const MAX_PUBLISHED = 1000;

/** Name servers Route 53 gives every zone here: same shape as AWS's, not real hosts. */
const NAME_SERVERS = ['ns-1536.awsdns-00.co.uk.', 'ns-0.awsdns-00.com.', 'ns-1024.awsdns-00.org.', 'ns-512.awsdns-00.net.'];

/** The whole simulated account. Handlers read and change it; nothing else holds state. */
export class AwsWorld {
  readonly region: string;
  readonly accountId: string;
  readonly subnets = new Map<string, SubnetRecord>();
  readonly instances = new Map<string, InstanceRecord>();
  readonly enis = new Map<string, EniRecord>();
  readonly securityGroups = new Map<string, SecurityGroupRecord>();
  readonly routeTables = new Map<string, RouteTableRecord>();
  readonly addresses = new Map<string, AddressRecord>();
  readonly zones = new Map<string, HostedZoneRecord>();
  readonly changes = new Map<string, ChangeRecord>();
  readonly topics = new Map<string, TopicRecord>();
  readonly subscriptions = new Map<string, SubscriptionRecord>();
  /** Confirmation deliveries by subscription ARN (notifications sit on their published message). */
  readonly confirmationDeliveries = new Map<string, DeliveryRecord[]>();
  readonly published: PublishedMessageRecord[] = [];

  constructor(
    topology: Topology,
    private readonly now: () => number = Date.now,
  ) {
    this.region = topology.region;
    this.accountId = topology.accountId;
    const seed = `${topology.accountId}/${topology.region}`;
    const launchTime = new Date(Math.floor(now() / 1000) * 1000);
    for (const s of topology.subnets ?? []) {
      this.subnets.set(s.subnetId, { ...s, availabilityZone: s.availabilityZone ?? `${topology.region}a` });
    }
    for (const x of topology.instances) {
      this.instances.set(x.instanceId, {
        instanceId: x.instanceId,
        state: x.state,
        networkInterfaceIds: [...x.networkInterfaceIds],
        instanceType: x.instanceType ?? 't3.medium',
        tags: { ...(x.tags ?? {}) },
        launchTime,
        reservationId: `r-${stableHex(`${seed}/${x.instanceId}/reservation`, 17)}`,
        transition: undefined,
        stateReason: x.state === 'stopped' ? 'Client.UserInitiatedShutdown' : undefined,
      });
    }
    for (const n of topology.networkInterfaces) {
      const mac = stableHex(`${seed}/${n.networkInterfaceId}/mac`, 10).match(/../g)?.join(':') ?? '00:00:00:00:00';
      this.enis.set(n.networkInterfaceId, {
        networkInterfaceId: n.networkInterfaceId,
        subnetId: n.subnetId,
        vpcId: n.vpcId,
        availabilityZone: n.availabilityZone ?? this.subnets.get(n.subnetId)?.availabilityZone ?? `${topology.region}a`,
        privateIpAddress: n.privateIpAddress,
        secondaryPrivateIpAddresses: [...(n.secondaryPrivateIpAddresses ?? [])],
        instanceId: n.instanceId,
        attachmentId: `eni-attach-${stableHex(`${seed}/${n.networkInterfaceId}/attachment`, 17)}`,
        macAddress: `02:${mac}`,
        sourceDestCheck: n.sourceDestCheck ?? true,
        groups: [...(n.securityGroupIds ?? [])],
        tags: { ...(n.tags ?? {}) },
      });
      for (const g of n.securityGroupIds ?? []) if (!this.securityGroups.has(g)) this.securityGroups.set(g, { groupId: g, vpcId: n.vpcId, groupName: g });
    }
    for (const g of topology.securityGroups ?? []) this.securityGroups.set(g.groupId, { groupId: g.groupId, vpcId: g.vpcId, groupName: g.groupName ?? g.groupId });
    for (const t of topology.routeTables) {
      this.routeTables.set(t.routeTableId, {
        routeTableId: t.routeTableId,
        vpcId: t.vpcId,
        main: t.main ?? false,
        subnetIds: [...(t.subnetIds ?? [])],
        routes: t.routes.map((r) => ({
          destinationCidrBlock: r.destinationCidrBlock,
          networkInterfaceId: r.networkInterfaceId ?? (r.instanceId === undefined ? undefined : this.instances.get(r.instanceId)?.networkInterfaceIds[0]),
          instanceId: r.instanceId,
          gatewayId: r.gatewayId,
          origin: r.origin ?? 'CreateRouteTable',
        })),
        tags: { ...(t.tags ?? {}) },
      });
    }
    for (const a of topology.addresses) {
      this.addresses.set(a.allocationId, {
        allocationId: a.allocationId,
        publicIp: a.publicIp,
        networkInterfaceId: a.networkInterfaceId,
        privateIpAddress: a.privateIpAddress,
        associationId: a.networkInterfaceId === undefined ? undefined : (a.associationId ?? `eipassoc-${stableHex(`${seed}/${a.allocationId}/association`, 17)}`),
        tags: { ...(a.tags ?? {}) },
      });
    }
    for (const z of topology.hostedZones) {
      const records = z.records.map((r) => ({ ...r, values: [...r.values] }));
      // Route 53 creates SOA and NS at the apex of every zone; a seeded zone without them would be unlike AWS.
      if (!records.some((r) => r.name === z.name && r.type === 'NS')) records.push({ name: z.name, type: 'NS', ttl: 172800, values: [...NAME_SERVERS] });
      if (!records.some((r) => r.name === z.name && r.type === 'SOA')) {
        records.push({ name: z.name, type: 'SOA', ttl: 900, values: [`${NAME_SERVERS[0]} awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`] });
      }
      this.zones.set(z.id, {
        id: z.id,
        name: z.name,
        callerReference: `topology-${z.id}`,
        privateZone: z.privateZone ?? false,
        vpcIds: [...(z.vpcIds ?? [])],
        comment: z.comment,
        records: sortRecordSets(records),
      });
    }
    for (const name of topology.topics) {
      const arn = this.topicArn(name);
      this.topics.set(arn, { arn, name });
    }
  }

  /** The ARN of topic `name` in this account and region. */
  topicArn(name: string): string {
    return `arn:aws:sns:${this.region}:${this.accountId}:${name}`;
  }

  /** Current time in epoch ms (injectable for tests). */
  clock(): number {
    return this.now();
  }

  /** Finish instance transitions whose time has come. Called before every read, so no timer is needed. */
  settle(): void {
    const now = this.now();
    for (const x of this.instances.values()) {
      if (x.transition !== undefined && now >= x.transition.at) {
        x.state = x.transition.to;
        x.transition = undefined;
      }
    }
  }

  /** PENDING or INSYNC, from the change's deadline. */
  changeStatus(change: ChangeRecord): 'PENDING' | 'INSYNC' {
    return this.now() >= change.insyncAt ? 'INSYNC' : 'PENDING';
  }

  /** The EIP associated with `eniId`/`privateIp`, if any. */
  addressAt(eniId: string, privateIp: string): AddressRecord | undefined {
    for (const a of this.addresses.values()) if (a.networkInterfaceId === eniId && a.privateIpAddress === privateIp) return a;
    return undefined;
  }

  /** The ENI holding `ip` (primary or secondary) in `vpcId`, if any. */
  eniHolding(vpcId: string, ip: string): EniRecord | undefined {
    for (const n of this.enis.values()) {
      if (n.vpcId === vpcId && (n.privateIpAddress === ip || n.secondaryPrivateIpAddresses.includes(ip))) return n;
    }
    return undefined;
  }

  /** Route state as EC2 reports it: a route whose ENI or instance is gone is a blackhole. */
  routeState(route: RouteRecord): 'active' | 'blackhole' {
    if (route.gatewayId !== undefined) return 'active';
    if (route.networkInterfaceId !== undefined && !this.enis.has(route.networkInterfaceId)) return 'blackhole';
    if (route.instanceId !== undefined && !this.instances.has(route.instanceId)) return 'blackhole';
    return 'active';
  }

  /** Keep a published message, dropping the oldest past the cap. */
  recordPublished(message: PublishedMessageRecord): void {
    this.published.push(message);
    if (this.published.length > MAX_PUBLISHED) this.published.splice(0, this.published.length - MAX_PUBLISHED);
  }

  /** A JSON snapshot of everything (deep copies: later changes do not show through). */
  view(): StateView {
    this.settle();
    const primaryIp = (x: InstanceRecord): string | undefined => {
      const first = x.networkInterfaceIds[0];
      return first === undefined ? undefined : this.enis.get(first)?.privateIpAddress;
    };
    const view: StateView = {
      region: this.region,
      accountId: this.accountId,
      instances: [...this.instances.values()].map((x) => {
        const ip = primaryIp(x);
        const first = x.networkInterfaceIds[0];
        const eip = first === undefined || ip === undefined ? undefined : this.addressAt(first, ip);
        return {
          instanceId: x.instanceId,
          state: x.state,
          stateCode: INSTANCE_STATE_CODE[x.state],
          networkInterfaceIds: [...x.networkInterfaceIds],
          privateIpAddress: ip,
          publicIp: eip?.publicIp,
          tags: { ...x.tags },
        };
      }),
      networkInterfaces: [...this.enis.values()].map((n) => ({
        networkInterfaceId: n.networkInterfaceId,
        subnetId: n.subnetId,
        vpcId: n.vpcId,
        privateIpAddress: n.privateIpAddress,
        secondaryPrivateIpAddresses: [...n.secondaryPrivateIpAddresses],
        instanceId: n.instanceId,
        sourceDestCheck: n.sourceDestCheck,
        groups: [...n.groups],
        tags: { ...n.tags },
      })),
      routeTables: [...this.routeTables.values()].map((t) => ({
        routeTableId: t.routeTableId,
        vpcId: t.vpcId,
        main: t.main,
        subnetIds: [...t.subnetIds],
        routes: t.routes.map((r) => ({
          destinationCidrBlock: r.destinationCidrBlock,
          ...(r.networkInterfaceId === undefined ? {} : { networkInterfaceId: r.networkInterfaceId }),
          ...(r.instanceId === undefined ? {} : { instanceId: r.instanceId }),
          ...(r.gatewayId === undefined ? {} : { gatewayId: r.gatewayId }),
          state: this.routeState(r),
          origin: r.origin,
        })),
        tags: { ...t.tags },
      })),
      addresses: [...this.addresses.values()].map((a) => {
        const instanceId = a.networkInterfaceId === undefined ? undefined : this.enis.get(a.networkInterfaceId)?.instanceId;
        return {
          allocationId: a.allocationId,
          publicIp: a.publicIp,
          ...(a.networkInterfaceId === undefined ? {} : { networkInterfaceId: a.networkInterfaceId }),
          ...(a.privateIpAddress === undefined ? {} : { privateIpAddress: a.privateIpAddress }),
          ...(a.associationId === undefined ? {} : { associationId: a.associationId }),
          ...(instanceId === undefined ? {} : { instanceId }),
          tags: { ...a.tags },
        };
      }),
      hostedZones: [...this.zones.values()].map((z) => ({
        id: z.id,
        name: z.name,
        privateZone: z.privateZone,
        records: z.records.map((r) => ({ ...r, values: [...r.values] })),
        changes: [...this.changes.values()]
          .filter((c) => c.zoneId === z.id)
          .map((c) => ({
            id: c.id,
            status: this.changeStatus(c),
            submittedAt: c.submittedAt.toISOString(),
            ...(c.comment === undefined ? {} : { comment: c.comment }),
            changes: c.changes.map((x) => ({ ...x, values: [...x.values] })),
          })),
      })),
      topics: [...this.topics.values()].map((t) => ({
        topicArn: t.arn,
        name: t.name,
        subscriptions: [...this.subscriptions.values()]
          .filter((s) => s.topicArn === t.arn)
          .map((s) => ({
            subscriptionArn: s.arn,
            protocol: s.protocol,
            endpoint: s.endpoint,
            confirmed: s.confirmed,
            confirmationDeliveries: (this.confirmationDeliveries.get(s.arn) ?? []).map((d) => ({ ...d })),
          })),
        published: this.published
          .filter((m) => m.topicArn === t.arn)
          .map((m) => ({ ...m, messageAttributes: structuredClone(m.messageAttributes), deliveries: m.deliveries.map((d) => ({ ...d })) })),
      })),
    };
    return view;
  }
}

function reversedLabels(name: string): string[] {
  return name.replace(/\.$/, '').split('.').reverse();
}

/** Route 53's listing order: by name with labels read right to left, then by type. */
export function compareRecordSets(a: { name: string; type: string }, b: { name: string; type: string }): number {
  const la = reversedLabels(a.name);
  const lb = reversedLabels(b.name);
  for (let i = 0; i < Math.min(la.length, lb.length); i++) {
    const x = la[i] ?? '';
    const y = lb[i] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  if (la.length !== lb.length) return la.length - lb.length;
  return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
}

/** A sorted copy, in Route 53's listing order. */
export function sortRecordSets<T extends { name: string; type: string }>(records: readonly T[]): T[] {
  return [...records].sort(compareRecordSets);
}
