import {
  AssociateAddressCommand,
  CreateRouteCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfaceAttributeCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  ReplaceRouteCommand,
  StopInstancesCommand,
  type EC2Client,
  type Tag,
} from '@aws-sdk/client-ec2';
import { GetHostedZoneCommand, ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { ListSubscriptionsByTopicCommand, ListTopicsCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { DoctorProbe, DryRunCall, DryRunResult, ProbedRouteTable, Tags } from '../ports/doctor-probe';

const tagsOf = (tags: Tag[] | undefined): Tags => Object.fromEntries((tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? '']));
const codeOf = (error: unknown): string => String((error as { name?: string; Code?: string })?.Code ?? (error as Error)?.name ?? 'Error');

/** Resolve to null when EC2 says the resource does not exist (`*.NotFound`), else pass the error on. */
async function orNull<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call;
  } catch (error) {
    if (/\.NotFound$|^NoSuchHostedZone$|^NotFound(Exception)?$/.test(codeOf(error))) return null;
    throw error;
  }
}

/** {@link DoctorProbe} on the AWS SDK: EC2 Describe* and DryRun calls, Route 53 and SNS reads. Changes nothing. */
export class AwsDoctorProbe implements DoctorProbe {
  readonly #ec2: EC2Client;
  readonly #route53: Route53Client;
  readonly #sns: SNSClient;

  constructor(clients: { ec2: EC2Client; route53: Route53Client; sns: SNSClient }) {
    this.#ec2 = clients.ec2;
    this.#route53 = clients.route53;
    this.#sns = clients.sns;
  }

  async routeTable(id: string): Promise<ProbedRouteTable | null> {
    const out = await orNull(this.#ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [id] })));
    const table = out?.RouteTables?.[0];
    if (!table) return null;
    return {
      routeTableId: id,
      vpcId: table.VpcId ?? null,
      tags: tagsOf(table.Tags),
      routes: (table.Routes ?? []).map((r) => ({
        destinationCidrBlock: r.DestinationCidrBlock ?? '',
        target: r.NetworkInterfaceId ?? r.InstanceId ?? r.GatewayId ?? r.NatGatewayId ?? r.TransitGatewayId ?? r.VpcPeeringConnectionId ?? null,
        origin: r.Origin ?? null,
        state: r.State ?? null,
      })),
    };
  }

  async networkInterface(id: string) {
    const out = await orNull(this.#ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] })));
    const eni = out?.NetworkInterfaces?.[0];
    if (!eni) return null;
    return {
      networkInterfaceId: id,
      subnetId: eni.SubnetId ?? null,
      vpcId: eni.VpcId ?? null,
      privateIps: (eni.PrivateIpAddresses ?? []).map((p) => p.PrivateIpAddress ?? '').filter(Boolean),
      tags: tagsOf(eni.TagSet),
    };
  }

  async sourceDestCheck(networkInterfaceId: string): Promise<boolean | null> {
    const out = await orNull(this.#ec2.send(new DescribeNetworkInterfaceAttributeCommand({ NetworkInterfaceId: networkInterfaceId, Attribute: 'sourceDestCheck' })));
    return out === null ? null : (out.SourceDestCheck?.Value ?? true);
  }

  async address(allocationId: string) {
    const out = await orNull(this.#ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] })));
    const a = out?.Addresses?.[0];
    return a ? { allocationId, networkInterfaceId: a.NetworkInterfaceId ?? null, tags: tagsOf(a.Tags) } : null;
  }

  async instance(id: string) {
    const out = await orNull(this.#ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })));
    const x = out?.Reservations?.[0]?.Instances?.[0];
    return x ? { instanceId: id, state: x.State?.Name ?? null, tags: tagsOf(x.Tags) } : null;
  }

  async dryRun(call: DryRunCall): Promise<DryRunResult> {
    try {
      switch (call.action) {
        case 'ReplaceRoute':
          await this.#ec2.send(new ReplaceRouteCommand({ DryRun: true, RouteTableId: call.routeTableId, DestinationCidrBlock: call.destinationCidrBlock, NetworkInterfaceId: call.networkInterfaceId }));
          break;
        case 'CreateRoute':
          await this.#ec2.send(new CreateRouteCommand({ DryRun: true, RouteTableId: call.routeTableId, DestinationCidrBlock: call.destinationCidrBlock, NetworkInterfaceId: call.networkInterfaceId }));
          break;
        case 'AssociateAddress':
          await this.#ec2.send(new AssociateAddressCommand({ DryRun: true, AllocationId: call.allocationId, NetworkInterfaceId: call.networkInterfaceId, AllowReassociation: true }));
          break;
        case 'StopInstances':
          await this.#ec2.send(new StopInstancesCommand({ DryRun: true, InstanceIds: [call.instanceId], Force: true }));
          break;
      }
      // A dry run that "succeeded" made the change: EC2 never does that. Say so rather than call it allowed.
      return { outcome: 'error', code: 'DryRunIgnored', message: `${call.action} with DryRun=true was carried out instead of answering DryRunOperation` };
    } catch (error) {
      const code = codeOf(error);
      if (code === 'DryRunOperation') return { outcome: 'allowed' };
      const message = (error as Error).message ?? '';
      if (code === 'UnauthorizedOperation' || code === 'AccessDenied') return { outcome: 'denied', code, message };
      // Throttling after the SDK's retries, a timeout, a network error: not an answer about this call.
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === undefined || status >= 500 || code === 'RequestLimitExceeded') throw error;
      return { outcome: 'error', code, message };
    }
  }

  async hostedZone(id: string) {
    const out = await orNull(this.#route53.send(new GetHostedZoneCommand({ Id: id })));
    const zone = out?.HostedZone;
    return zone ? { id, name: zone.Name ?? '', privateZone: zone.Config?.PrivateZone === true } : null;
  }

  async recordSet(zoneId: string, name: string, type: string) {
    const out = await this.#route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, StartRecordType: type as never, MaxItems: 1 }));
    const set = out.ResourceRecordSets?.[0];
    const norm = (n: string) => n.toLowerCase().replace(/\.?$/, '.');
    if (!set || norm(set.Name ?? '') !== norm(name) || set.Type !== type) return null;
    return { ttl: set.TTL ?? null, values: (set.ResourceRecords ?? []).map((r) => r.Value ?? '') };
  }

  async findTopic(name: string): Promise<string | null> {
    let token: string | undefined;
    do {
      const out = await this.#sns.send(new ListTopicsCommand({ NextToken: token }));
      const found = (out.Topics ?? []).find((t) => t.TopicArn?.endsWith(`:${name}`));
      if (found?.TopicArn) return found.TopicArn;
      token = out.NextToken;
    } while (token);
    return null;
  }

  async subscriptions(topicArn: string) {
    const confirmed: { protocol: string; endpoint: string }[] = [];
    let pending = 0;
    let token: string | undefined;
    try {
      do {
        const out = await this.#sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: token }));
        for (const s of out.Subscriptions ?? []) {
          if (!s.SubscriptionArn || s.SubscriptionArn === 'PendingConfirmation') pending++;
          else confirmed.push({ protocol: s.Protocol ?? '?', endpoint: s.Endpoint ?? '?' });
        }
        token = out.NextToken;
      } while (token);
    } catch (error) {
      if (/^NotFound(Exception)?$/.test(codeOf(error))) return null;
      throw error;
    }
    return { confirmed, pending };
  }
}
