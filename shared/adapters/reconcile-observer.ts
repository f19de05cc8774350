import {
  AssignPrivateIpAddressesCommand,
  AssociateAddressCommand,
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  ReplaceRouteCommand,
  type Address,
  type EC2Client,
  type NetworkInterface,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListResourceRecordSetsCommand, type ResourceRecordSet, type Route53Client } from '@aws-sdk/client-route-53';
import { TokenBucket, type ReconcileBudgets } from '../app/reconcile-budget';
import type { EndpointActuator } from '../ports/endpoint-actuator';
import type { CallCounts, FleetMember, FleetObservation, FleetObserver } from '../ports/reconcile-observer';
import { awsError, notFound } from './actuation-cycle';
import { createEndpointActuator } from './endpoint-actuators';
import { bareZoneId, describeAddresses, describeNetworkInterfaces, describeNetworkInterfacesHolding, describeRouteTables, listZone, recordKey, type Send } from './reconcile-aws-reads';
import { RoleRoutingActuator } from './role-routing-actuator';

/** The SDK clients of one account: the deployment's own, or those of a role a cluster names. */
export interface AccountClients {
  ec2: EC2Client;
  route53: Route53Client;
}

/** The commands the sweep's views recognise, with the names its call counts use (class names do not survive minifying). */
const ACTIONS: Array<[new (...args: any[]) => unknown, string]> = [
  [DescribeRouteTablesCommand, 'DescribeRouteTables'],
  [DescribeAddressesCommand, 'DescribeAddresses'],
  [DescribeNetworkInterfacesCommand, 'DescribeNetworkInterfaces'],
  [ReplaceRouteCommand, 'ReplaceRoute'],
  [CreateRouteCommand, 'CreateRoute'],
  [DeleteRouteCommand, 'DeleteRoute'],
  [AssociateAddressCommand, 'AssociateAddress'],
  [AssignPrivateIpAddressesCommand, 'AssignPrivateIpAddresses'],
  [ListResourceRecordSetsCommand, 'ListResourceRecordSets'],
  [ChangeResourceRecordSetsCommand, 'ChangeResourceRecordSets'],
  [GetChangeCommand, 'GetChange'],
];
const actionOf = (command: unknown): string => ACTIONS.find(([Type]) => command instanceof Type)?.[1] ?? 'Other';
const EC2_READS = new Set(['DescribeRouteTables', 'DescribeAddresses', 'DescribeNetworkInterfaces']);

/** The pacing of one account: its budgets' buckets, kept across sweeps (tokens refill in real time between them). */
interface AccountPacing {
  ec2Reads: TokenBucket;
  ec2Writes: TokenBucket;
  route53: TokenBucket;
}

/**
 * Requests for the same kind of resource made within `windowMs` of each other go out as one batched read (the
 * read-backs of many clusters' changes, each made a few ms apart). Every caller gets the whole result.
 */
class Coalescer<V> {
  readonly #read: (keys: string[]) => Promise<V>;
  readonly #windowMs: number;
  #pending: { keys: Set<string>; result: Promise<V> } | null = null;

  constructor(read: (keys: string[]) => Promise<V>, windowMs: number) {
    this.#read = read;
    this.#windowMs = windowMs;
  }

  get(keys: readonly string[]): Promise<V> {
    if (this.#pending === null) {
      const batch = new Set<string>();
      const result = new Promise<void>((resolve) => setTimeout(resolve, this.#windowMs)).then(() => {
        if (this.#pending?.keys === batch) this.#pending = null;
        return this.#read([...batch]);
      });
      this.#pending = { keys: batch, result };
    }
    for (const key of keys) this.#pending.keys.add(key);
    return this.#pending.result;
  }
}

/** What one sweep read of one account, and which of it has changed since (changed: read again, never from here). */
class AccountSnapshot {
  readonly routeTables = new Map<string, RouteTable>();
  readonly routeTablesRead = new Set<string>();
  readonly addresses = new Map<string, Address>();
  readonly addressesRead = new Set<string>();
  /** Network interfaces of the clusters with a secondary IP, and the addresses those reads answer for. */
  readonly enis = new Map<string, NetworkInterface>();
  readonly privateIpsRead = new Set<string>();
  /** Per bare zone id, its record sets by {@link recordKey}. */
  readonly zones = new Map<string, Map<string, ResourceRecordSet>>();
  readonly changed = { routeTables: new Set<string>(), addresses: new Set<string>(), privateIps: new Set<string>(), records: new Set<string>() };
}

/** The state of a route table answer, as EC2 gives it: the tables asked for, or NotFound naming the missing ones. */
function routeTablesAnswer(ids: readonly string[], tables: ReadonlyMap<string, RouteTable>) {
  const missing = ids.filter((id) => !tables.has(id));
  if (missing.length > 0) throw notFound('InvalidRouteTableID.NotFound', `The routeTable ID${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' ${missing.length > 1 ? 'do' : 'does'} not exist`);
  return { RouteTables: [...new Set(ids)].map((id) => tables.get(id)!), $metadata: {} };
}

function addressesAnswer(ids: readonly string[], addresses: ReadonlyMap<string, Address>) {
  const missing = ids.filter((id) => !addresses.has(id));
  if (missing.length > 0) throw notFound('InvalidAllocationID.NotFound', `The allocation ID${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' ${missing.length > 1 ? 'do' : 'does'} not exist`);
  return { Addresses: [...new Set(ids)].map((id) => addresses.get(id)!), $metadata: {} };
}

const holds = (eni: NetworkInterface, addresses: readonly string[]) => (eni.PrivateIpAddresses ?? []).some((p) => addresses.includes(p.PrivateIpAddress ?? ''));

/** `DescribeNetworkInterfaces` asked the way the secondary-IP mechanism asks: who holds these addresses. */
function addressesAsked(command: DescribeNetworkInterfacesCommand): string[] | null {
  const { Filters = [], NetworkInterfaceIds, NextToken } = command.input;
  if (NetworkInterfaceIds?.length || NextToken || Filters.length !== 1 || Filters[0]!.Name !== 'addresses.private-ip-address') return null;
  return Filters[0]!.Values ?? [];
}

/**
 * One account's view for one sweep: stands in for its EC2 and Route 53 clients under the endpoint actuators. Reads
 * the snapshot answers are served from it; reads of what changed since go out batched; everything is paced.
 */
class AccountView {
  readonly snapshot = new AccountSnapshot();
  readonly counts: CallCounts = {};
  readonly #clients: AccountClients;
  readonly #pacing: AccountPacing;
  readonly #freshRouteTables: Coalescer<Map<string, RouteTable>>;
  readonly #freshAddresses: Coalescer<Map<string, Address>>;
  readonly #freshHolders: Coalescer<NetworkInterface[]>;

  constructor(clients: AccountClients, pacing: AccountPacing, windowMs: number) {
    this.#clients = clients;
    this.#pacing = pacing;
    this.#freshRouteTables = new Coalescer((ids) => describeRouteTables(this.ec2Send, ids), windowMs);
    this.#freshAddresses = new Coalescer((ids) => describeAddresses(this.ec2Send, ids), windowMs);
    this.#freshHolders = new Coalescer((ips) => describeNetworkInterfacesHolding(this.ec2Send, ips), windowMs);
  }

  /** A real, paced EC2 call. */
  readonly ec2Send: Send = async (command) => {
    const action = actionOf(command);
    await (EC2_READS.has(action) ? this.#pacing.ec2Reads : this.#pacing.ec2Writes).take();
    this.counts[action] = (this.counts[action] ?? 0) + 1;
    return this.#clients.ec2.send(command);
  };

  /** A real, paced Route 53 call. */
  readonly route53Send: Send = async (command) => {
    const action = actionOf(command);
    await this.#pacing.route53.take();
    this.counts[action] = (this.counts[action] ?? 0) + 1;
    return this.#clients.route53.send(command);
  };

  /** Read everything the members need in batches. Throws when a read fails (the whole account is then unobserved). */
  async read(members: readonly FleetMember[]): Promise<void> {
    const s = this.snapshot;
    const routeTableIds = new Set<string>();
    const allocationIds = new Set<string>();
    const eniIds = new Set<string>();
    const zones = new Set<string>();
    for (const { config, nodes } of members) {
      const e = config.endpoints;
      for (const id of e.routeTables?.routeTableIds ?? []) routeTableIds.add(id);
      if (e.elasticIp) allocationIds.add(e.elasticIp.allocationId);
      if (e.secondaryIp) {
        for (const n of nodes) eniIds.add(n.eni);
        s.privateIpsRead.add(e.secondaryIp.address);
      }
      if (e.route53) zones.add(bareZoneId(e.route53.hostedZoneId));
    }
    const [tables, addresses, enis, walked] = await Promise.all([
      routeTableIds.size > 0 ? describeRouteTables(this.ec2Send, [...routeTableIds]) : new Map<string, RouteTable>(),
      allocationIds.size > 0 ? describeAddresses(this.ec2Send, [...allocationIds]) : new Map<string, Address>(),
      eniIds.size > 0 ? describeNetworkInterfaces(this.ec2Send, [...eniIds]) : new Map<string, NetworkInterface>(),
      Promise.all([...zones].map(async (zone) => [zone, await listZone(this.route53Send, zone)] as const)),
    ]);
    for (const id of routeTableIds) s.routeTablesRead.add(id);
    for (const id of allocationIds) s.addressesRead.add(id);
    for (const [id, t] of tables) s.routeTables.set(id, t);
    for (const [id, a] of addresses) s.addresses.set(id, a);
    for (const [id, n] of enis) s.enis.set(id, n);
    for (const [zone, records] of walked) s.zones.set(zone, records);
  }

  /** The EC2 client the actuators get: only `send` is ever called on it. */
  readonly ec2 = {
    send: async (command: unknown): Promise<unknown> => {
      const s = this.snapshot;
      if (command instanceof DescribeRouteTablesCommand && (command.input.RouteTableIds?.length ?? 0) > 0 && !command.input.Filters?.length && !command.input.NextToken) {
        const ids = command.input.RouteTableIds!;
        if (ids.every((id) => s.routeTablesRead.has(id) && !s.changed.routeTables.has(id))) return routeTablesAnswer(ids, s.routeTables);
        return routeTablesAnswer(ids, await this.#freshRouteTables.get(ids));
      }
      if (command instanceof DescribeAddressesCommand && (command.input.AllocationIds?.length ?? 0) > 0 && !command.input.Filters?.length && !command.input.PublicIps?.length) {
        const ids = command.input.AllocationIds!;
        if (ids.every((id) => s.addressesRead.has(id) && !s.changed.addresses.has(id))) return addressesAnswer(ids, s.addresses);
        return addressesAnswer(ids, await this.#freshAddresses.get(ids));
      }
      const asked = command instanceof DescribeNetworkInterfacesCommand ? addressesAsked(command) : null;
      if (asked !== null && asked.length > 0) {
        // Holders among the clusters' own ENIs. One outside them (someone else's) is not seen here; the move
        // (AssignPrivateIpAddresses with AllowReassignment) takes the address from it all the same.
        if (asked.every((ip) => s.privateIpsRead.has(ip) && !s.changed.privateIps.has(ip))) return { NetworkInterfaces: [...s.enis.values()].filter((n) => holds(n, asked)), $metadata: {} };
        return { NetworkInterfaces: (await this.#freshHolders.get(asked)).filter((n) => holds(n, asked)), $metadata: {} };
      }
      try {
        return await this.ec2Send(command);
      } finally {
        this.#noteEc2Change(command);
      }
    },
  };

  /** The Route 53 client the actuators get: only `send` is ever called on it. */
  readonly route53 = {
    send: async (command: unknown): Promise<unknown> => {
      const s = this.snapshot;
      if (command instanceof ListResourceRecordSetsCommand) {
        const { HostedZoneId = '', StartRecordName, StartRecordType, StartRecordIdentifier, MaxItems } = command.input;
        const zone = s.zones.get(bareZoneId(HostedZoneId));
        // The actuator's question: "the set named N of type T" (MaxItems 1 from N/T): answered from the walk.
        if (zone && StartRecordName && StartRecordType && !StartRecordIdentifier && MaxItems === 1) {
          const key = recordKey(StartRecordName, StartRecordType);
          if (!s.changed.records.has(`${bareZoneId(HostedZoneId)} ${key}`)) {
            const set = zone.get(key);
            return { ResourceRecordSets: set ? [set] : [], IsTruncated: false, MaxItems: 1, $metadata: {} };
          }
        }
      }
      try {
        return await this.route53Send(command);
      } finally {
        if (command instanceof ChangeResourceRecordSetsCommand) {
          const zone = bareZoneId(command.input.HostedZoneId ?? '');
          for (const change of command.input.ChangeBatch?.Changes ?? []) s.changed.records.add(`${zone} ${recordKey(change.ResourceRecordSet?.Name ?? '', change.ResourceRecordSet?.Type ?? '')}`);
        }
      }
    },
  };

  /** A mutation (made, failed or unknown) leaves what it touched to be read again. */
  #noteEc2Change(command: unknown): void {
    const c = this.snapshot.changed;
    if (command instanceof ReplaceRouteCommand || command instanceof CreateRouteCommand || command instanceof DeleteRouteCommand) c.routeTables.add(command.input.RouteTableId ?? '');
    else if (command instanceof AssociateAddressCommand) c.addresses.add(command.input.AllocationId ?? '');
    else if (command instanceof AssignPrivateIpAddressesCommand) for (const ip of command.input.PrivateIpAddresses ?? []) c.privateIps.add(ip);
  }
}

export interface FleetObserverOptions {
  /** The clients of the deployment's own account (`null`) or of a role a cluster names. */
  clientsFor: (roleArn: string | null) => AccountClients;
  budgets: ReconcileBudgets;
  /** How long a read of changed targets waits for others to batch with, ms (default 20). */
  batchWindowMs?: number;
}

/**
 * The fleet observer on EC2 and Route 53: per account (the deployment's, and each role clusters name), one batched
 * read of every route table, Elastic IP and network interface the clusters use, and one walk of each hosted zone; the
 * sweep then acts through the usual endpoint actuators on top of that view (see {@link FleetObservation.actuator}).
 * Each account has its own budgets (EC2 and Route 53 limits are per account), kept from one sweep to the next.
 */
export function createFleetObserver(options: FleetObserverOptions): FleetObserver {
  const pacing = new Map<string | null, AccountPacing>();
  const pacingOf = (role: string | null): AccountPacing => {
    let p = pacing.get(role);
    if (!p) pacing.set(role, (p = { ec2Reads: new TokenBucket(options.budgets.ec2Reads), ec2Writes: new TokenBucket(options.budgets.ec2Writes), route53: new TokenBucket(options.budgets.route53) }));
    return p;
  };
  const windowMs = options.batchWindowMs ?? 20;
  return {
    async observe(members) {
      const groups = new Map<string | null, FleetMember[]>();
      for (const m of members) {
        const role = m.config.endpoints.assumeRoleArn ?? null;
        groups.set(role, [...(groups.get(role) ?? []), m]);
      }
      const views = new Map<string | null, { view: AccountView; actuator: EndpointActuator }>();
      const viewOf = (role: string | null) => {
        let v = views.get(role);
        if (!v) {
          const view = new AccountView(options.clientsFor(role), pacingOf(role), windowMs);
          // The actuators only ever call `send`: the view answers it (see AccountView).
          views.set(role, (v = { view, actuator: createEndpointActuator({ ec2: view.ec2 as unknown as EC2Client, route53: view.route53 as unknown as Route53Client }) }));
        }
        return v;
      };
      const unobserved = new Map<string, { code: string; message: string }>();
      await Promise.all(
        [...groups].map(async ([role, group]) => {
          let error: { code: string; message: string };
          try {
            await viewOf(role).view.read(group);
            return;
          } catch (caught) {
            // No clients for the role (it cannot be assumed), or a batched read failed: none of these clusters is known.
            error = views.has(role) ? awsError(caught) : { code: 'AssumeRoleUnavailable', message: `cannot act as ${role}: ${awsError(caught).message}` };
          }
          for (const m of group) unobserved.set(m.config.cluster, error);
        }),
      );
      return {
        actuator: new RoleRoutingActuator({ base: viewOf(null).actuator, forRole: (role) => viewOf(role).actuator }),
        unobserved: (cluster) => unobserved.get(cluster) ?? null,
        calls: () => {
          const total: CallCounts = {};
          for (const { view } of views.values()) for (const [action, n] of Object.entries(view.counts)) total[action] = (total[action] ?? 0) + n;
          return total;
        },
      } satisfies FleetObservation;
    },
  };
}
