import { AssociateAddressCommand, DescribeAddressesCommand, type Address, type EC2Client } from '@aws-sdk/client-ec2';
import type { EndpointConfig, EndpointTarget, NodeRecord } from '../domain/cluster';
import type { ActionReport } from '../ports/cluster-store';
import type { EndpointActuator } from '../ports/endpoint-actuator';
import { awsError } from './ec2-route-actuator';
import { readBack, type ReadBackOptions } from './read-back';

/** `eni` or `eni privateIp`: where an address sits, as reports show it. */
function place(eni: string, privateIp: string | null | undefined): string {
  return privateIp ? `${eni} ${privateIp}` : eni;
}

/** Is the address on the primary's ENI (and on its private IP, when the node record names one)? */
function isOn(address: Address | undefined, primary: NodeRecord): boolean {
  if (address?.NetworkInterfaceId !== primary.eni) return false;
  return !primary.privateIp || address.PrivateIpAddress === primary.privateIp;
}

/**
 * Elastic IP mechanism: the allocation `endpoints.elasticIp.allocationId` → the primary's ENI (on the node's private
 * IP when it has one). Reads the address (`DescribeAddresses`), associates only when it sits elsewhere
 * (`AssociateAddress` with `AllowReassociation`, which takes it from its current holder in one call), then reads
 * back a few times, because EC2 reads can lag. One target per cluster; never throws for a failed call, the report
 * carries the AWS error code. Re-running after success is a read and nothing else.
 */
export class Ec2ElasticIpActuator implements EndpointActuator {
  readonly #ec2: EC2Client;
  readonly #readBack: ReadBackOptions;

  /** @param options.readBack verification reads; default 5 reads 100 ms apart. */
  constructor(options: { client: EC2Client; readBack?: Partial<ReadBackOptions> }) {
    this.#ec2 = options.client;
    this.#readBack = { attempts: 5, intervalMs: 100, ...options.readBack };
  }

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: { plan?: boolean } = {}): Promise<ActionReport[]> {
    const config = endpoints.elasticIp;
    if (!config) return [];
    const started = Date.now();
    const report = await this.#pointAt(config.allocationId, target.primary, options.plan === true);
    return [{ ...report, ms: Date.now() - started }];
  }

  async #pointAt(allocationId: string, primary: NodeRecord, plan: boolean): Promise<ActionReport> {
    let base = { mechanism: 'elastic_ip' as const, target: allocationId, to: place(primary.eni, primary.privateIp) };
    let address: Address | undefined;
    try {
      address = await this.#describe(allocationId);
    } catch (error) {
      return { ...base, result: 'failed', error: awsError(error) };
    }
    if (!address) return { ...base, result: 'failed', error: { code: 'InvalidAllocationID.NotFound', message: `allocation ${allocationId} not found` } };
    base = { ...base, target: `${allocationId} ${address.PublicIp ?? ''}`.trim() };
    const from = address.NetworkInterfaceId ? place(address.NetworkInterfaceId, address.PrivateIpAddress) : null;
    if (isOn(address, primary)) return { ...base, result: 'in_place', from };
    if (plan) return { ...base, result: 'planned', from };

    try {
      await this.#ec2.send(
        new AssociateAddressCommand({
          AllocationId: allocationId,
          NetworkInterfaceId: primary.eni,
          ...(primary.privateIp ? { PrivateIpAddress: primary.privateIp } : {}),
          // Take it from the old primary in one call: there is no window with the address on nobody.
          AllowReassociation: true,
        }),
      );
    } catch (error) {
      return { ...base, result: 'failed', from, error: awsError(error) };
    }

    const seen = await readBack(() => this.#describe(allocationId), (a) => isOn(a, primary), this.#readBack);
    if (seen.ok) return { ...base, result: 'moved', from };
    const now = seen.last?.NetworkInterfaceId ? place(seen.last.NetworkInterfaceId, seen.last.PrivateIpAddress) : 'unassociated';
    const why = seen.error === undefined ? `reads back as ${now}` : `could not be read back (${awsError(seen.error).code})`;
    return { ...base, result: 'failed', from, error: { code: 'VerificationFailed', message: `${allocationId} ${why} after ${seen.reads} reads` } };
  }

  async #describe(allocationId: string): Promise<Address | undefined> {
    const { Addresses = [] } = await this.#ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }));
    return Addresses.find((a) => a.AllocationId === allocationId);
  }
}
