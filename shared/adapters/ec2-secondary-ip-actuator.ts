import { AssignPrivateIpAddressesCommand, DescribeNetworkInterfacesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { EndpointConfig, EndpointTarget } from '../domain/cluster';
import type { ActionReport } from '../ports/cluster-store';
import type { EndpointActuator, PointAtOptions } from '../ports/endpoint-actuator';
import { runActuationCycle, type ActuationMechanism, type ActuationTarget } from './actuation-cycle';
import { DEFAULT_READ_BACK, type ReadBackOptions } from './read-back';

interface SecondaryIpTarget extends ActuationTarget {
  address: string;
}

/** The ids of the ENIs that hold the address now (usually one; the same private address may exist in another VPC). */
type Holders = string[];

/**
 * Secondary private IP mechanism: `endpoints.secondaryIp.address` → a secondary IP of the primary's ENI. Finds who
 * holds the address (`DescribeNetworkInterfaces`, filter `addresses.private-ip-address`), assigns it only when the
 * primary's ENI does not (`AssignPrivateIpAddresses` with `AllowReassignment`, which moves it between ENIs of one
 * subnet), then reads back with bounded retries, because AWS makes that move asynchronously. Never throws for a
 * failed call; re-running after success is a read and nothing else.
 *
 * Only the VPC side moves: the new primary's OS still has to configure the address (that is the hook's job).
 */
export class Ec2SecondaryIpActuator implements EndpointActuator {
  readonly #ec2: EC2Client;
  readonly #readBack: ReadBackOptions;

  /** @param options.readBack verification reads; default {@link DEFAULT_READ_BACK} (the move is asynchronous). */
  constructor(options: { client: EC2Client; readBack?: Partial<ReadBackOptions> }) {
    this.#ec2 = options.client;
    this.#readBack = { ...DEFAULT_READ_BACK, ...options.readBack };
  }

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: PointAtOptions = {}): Promise<ActionReport[]> {
    const config = endpoints.secondaryIp;
    if (!config) return [];
    const targets: SecondaryIpTarget[] = [{ mechanism: 'secondary_ip', target: config.address, to: target.primary.eni, address: config.address }];
    return runActuationCycle(this.#mechanism(), targets, { ...options, readBack: this.#readBack });
  }

  #mechanism(): ActuationMechanism<SecondaryIpTarget, Holders> {
    return {
      grouping: 'each',
      observe: (targets) =>
        Promise.all(
          targets.map(async (t) => {
            try {
              const { NetworkInterfaces = [] } = await this.#ec2.send(
                new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: [t.address] }] }),
              );
              const holders = NetworkInterfaces.filter((n) => n.PrivateIpAddresses?.some((p) => p.PrivateIpAddress === t.address));
              return { state: holders.map((n) => n.NetworkInterfaceId ?? '') };
            } catch (error) {
              return { error };
            }
          }),
        ),
      compare: (t, holders) => {
        if (holders.includes(t.to)) return { result: 'in_place', from: t.to };
        // `from` is informational (all holders); the move targets one ENI.
        const from = holders.join(',') || null;
        return { result: from === null ? 'created' : 'moved', from };
      },
      act: async ([p], mutate) => {
        if (!p) return {};
        await mutate(() => this.#ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: p.target.to, PrivateIpAddresses: [p.target.address], AllowReassignment: true })));
        return {};
      },
    };
  }
}
