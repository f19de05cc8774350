import { AssignPrivateIpAddressesCommand, DescribeNetworkInterfacesCommand, type EC2Client, type NetworkInterface } from '@aws-sdk/client-ec2';
import type { EndpointConfig, EndpointTarget } from '../domain/cluster';
import type { ActionReport } from '../ports/cluster-store';
import type { EndpointActuator } from '../ports/endpoint-actuator';
import { readBack, type ReadBackOptions } from './read-back';
import { awsError } from './ec2-route-actuator';

function holds(eni: NetworkInterface | undefined, address: string): boolean {
  return eni?.PrivateIpAddresses?.some((p) => p.PrivateIpAddress === address) ?? false;
}

/**
 * Secondary private IP mechanism: `endpoints.secondaryIp.address` → a secondary IP of the primary's ENI. Finds who
 * holds the address (`DescribeNetworkInterfaces`, filter `addresses.private-ip-address`), assigns it only when the
 * primary's ENI does not (`AssignPrivateIpAddresses` with `AllowReassignment`, which moves it between ENIs of one
 * subnet), then reads the primary's ENI back a few times, because AWS makes that move asynchronously. Never throws
 * for a failed call; re-running after success is a read and nothing else.
 *
 * Only the VPC side moves: the new primary's OS still has to configure the address (that is the hook's job).
 */
export class Ec2SecondaryIpActuator implements EndpointActuator {
  readonly #ec2: EC2Client;
  readonly #readBack: ReadBackOptions;

  /** @param options.readBack verification reads; default 10 reads 100 ms apart (the move is asynchronous). */
  constructor(options: { client: EC2Client; readBack?: Partial<ReadBackOptions> }) {
    this.#ec2 = options.client;
    this.#readBack = { attempts: 10, intervalMs: 100, ...options.readBack };
  }

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: { plan?: boolean } = {}): Promise<ActionReport[]> {
    const config = endpoints.secondaryIp;
    if (!config) return [];
    const started = Date.now();
    const report = await this.#pointAt(config.address, target.primary.eni, options.plan === true);
    return [{ ...report, ms: Date.now() - started }];
  }

  async #pointAt(address: string, eni: string, plan: boolean): Promise<ActionReport> {
    const base = { mechanism: 'secondary_ip' as const, target: address, to: eni };
    let holders: NetworkInterface[];
    try {
      const { NetworkInterfaces = [] } = await this.#ec2.send(
        new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'addresses.private-ip-address', Values: [address] }] }),
      );
      holders = NetworkInterfaces.filter((n) => holds(n, address));
    } catch (error) {
      return { ...base, result: 'failed', error: awsError(error) };
    }
    if (holders.some((n) => n.NetworkInterfaceId === eni)) return { ...base, result: 'in_place', from: eni };
    // The same private address may exist in another VPC; `from` is informational, the move targets one ENI.
    const from = holders.map((n) => n.NetworkInterfaceId).join(',') || null;
    if (plan) return { ...base, result: 'planned', from };

    try {
      await this.#ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni, PrivateIpAddresses: [address], AllowReassignment: true }));
    } catch (error) {
      return { ...base, result: 'failed', from, error: awsError(error) };
    }

    const seen = await readBack(
      async () => {
        const { NetworkInterfaces = [] } = await this.#ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni] }));
        return NetworkInterfaces.find((n) => n.NetworkInterfaceId === eni);
      },
      (n) => holds(n, address),
      this.#readBack,
    );
    if (seen.ok) return { ...base, result: from === null ? 'created' : 'moved', from };
    const why = seen.error === undefined ? `is not on ${eni}` : `could not be read back (${awsError(seen.error).code})`;
    return { ...base, result: 'failed', from, error: { code: 'VerificationFailed', message: `${address} ${why} after ${seen.reads} reads` } };
  }
}
