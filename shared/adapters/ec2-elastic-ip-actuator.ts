import { AssociateAddressCommand, DescribeAddressesCommand, type Address, type EC2Client } from '@aws-sdk/client-ec2';
import type { EndpointConfig, EndpointTarget, NodeRecord } from '../domain/cluster';
import type { ActionReport } from '../ports/cluster-store';
import type { EndpointActuator, PointAtOptions } from '../ports/endpoint-actuator';
import { notFound, runActuationCycle, type ActuationMechanism, type ActuationTarget } from './actuation-cycle';
import { DEFAULT_READ_BACK, type ReadBackOptions } from './read-back';

/** `eni` or `eni privateIp`: where an address sits, as reports show it. */
function place(eni: string, privateIp: string | null | undefined): string {
  return privateIp ? `${eni} ${privateIp}` : eni;
}

interface AddressTarget extends ActuationTarget {
  allocationId: string;
  primary: NodeRecord;
}

/** Is the address on the primary's ENI (and on its private IP, when the node record names one)? */
function isOn(address: Address, primary: NodeRecord): boolean {
  if (address.NetworkInterfaceId !== primary.eni) return false;
  return !primary.privateIp || address.PrivateIpAddress === primary.privateIp;
}

/**
 * Elastic IP mechanism: the allocation `endpoints.elasticIp.allocationId` → the primary's ENI (on the node's private
 * IP when it has one). Reads the address (`DescribeAddresses`), associates only when it sits elsewhere
 * (`AssociateAddress` with `AllowReassociation`, which takes it from its current holder in one call), then reads
 * back with bounded retries, because EC2 reads can lag. One target per cluster; never throws for a failed call, the
 * report carries the AWS error code. Re-running after success is a read and nothing else.
 */
export class Ec2ElasticIpActuator implements EndpointActuator {
  readonly #ec2: EC2Client;
  readonly #readBack: ReadBackOptions;

  /** @param options.readBack verification reads; default {@link DEFAULT_READ_BACK}. */
  constructor(options: { client: EC2Client; readBack?: Partial<ReadBackOptions> }) {
    this.#ec2 = options.client;
    this.#readBack = { ...DEFAULT_READ_BACK, ...options.readBack };
  }

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: PointAtOptions = {}): Promise<ActionReport[]> {
    const config = endpoints.elasticIp;
    if (!config) return [];
    const { primary } = target;
    const targets: AddressTarget[] = [{ mechanism: 'elastic_ip', target: config.allocationId, to: place(primary.eni, primary.privateIp), allocationId: config.allocationId, primary }];
    return runActuationCycle(this.#mechanism(), targets, { ...options, readBack: this.#readBack });
  }

  #mechanism(): ActuationMechanism<AddressTarget, Address> {
    return {
      grouping: 'each',
      observe: (targets) =>
        Promise.all(
          targets.map(async (t) => {
            try {
              const { Addresses = [] } = await this.#ec2.send(new DescribeAddressesCommand({ AllocationIds: [t.allocationId] }));
              const address = Addresses.find((a) => a.AllocationId === t.allocationId);
              return address ? { state: address } : { error: notFound('InvalidAllocationID.NotFound', `allocation ${t.allocationId} not found`) };
            } catch (error) {
              return { error };
            }
          }),
        ),
      compare: (t, address) => ({
        result: isOn(address, t.primary) ? 'in_place' : 'moved',
        from: address.NetworkInterfaceId ? place(address.NetworkInterfaceId, address.PrivateIpAddress) : null,
        target: `${t.allocationId} ${address.PublicIp ?? ''}`.trim(),
      }),
      act: async ([p], mutate) => {
        if (!p) return {};
        const { allocationId, primary } = p.target;
        await mutate(() =>
          this.#ec2.send(
            new AssociateAddressCommand({
              AllocationId: allocationId,
              NetworkInterfaceId: primary.eni,
              ...(primary.privateIp ? { PrivateIpAddress: primary.privateIp } : {}),
              // Take it from the old primary in one call: there is no window with the address on nobody.
              AllowReassociation: true,
            }),
          ),
        );
        return {};
      },
    };
  }
}
