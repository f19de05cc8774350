import { CreateRouteCommand, DescribeRouteTablesCommand, ReplaceRouteCommand, type EC2Client, type RouteTable } from '@aws-sdk/client-ec2';
import type { EndpointConfig, EndpointTarget } from '../domain/cluster';
import type { ActionReport } from '../ports/cluster-store';
import type { EndpointActuator } from '../ports/endpoint-actuator';
import { readBack, type ReadBackOptions } from './read-back';

/** AWS error code/message of a failed SDK call, safe to journal and to answer with. */
export function awsError(error: unknown): { code: string; message: string } {
  const e = error as { name?: string; Code?: string; message?: string };
  return { code: e.Code ?? e.name ?? 'Error', message: (e.message ?? String(error)).slice(0, 300) };
}

/**
 * Route-table mechanism: `<vip>/32` → the primary's ENI in every listed route table. Reads the tables, changes only
 * the routes that differ (`ReplaceRoute`, or `CreateRoute` when the route is missing), then reads back to verify.
 * Each table is its own target: one failing does not stop the others.
 */
export class Ec2RouteActuator implements EndpointActuator {
  readonly #ec2: EC2Client;
  readonly #readBack: ReadBackOptions;

  /** @param options.readBack verification reads; default 5 reads 100 ms apart (DescribeRouteTables can lag). */
  constructor(options: { client: EC2Client; readBack?: Partial<ReadBackOptions> }) {
    this.#ec2 = options.client;
    this.#readBack = { attempts: 5, intervalMs: 100, ...options.readBack };
  }

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: { plan?: boolean } = {}): Promise<ActionReport[]> {
    const config = endpoints.routeTables;
    if (!config || config.routeTableIds.length === 0) return [];
    const started = Date.now();
    const eni = target.primary.eni;
    const cidr = `${config.vip}/32`;
    const observed = await this.#observe(config.routeTableIds);
    if (options.plan) return config.routeTableIds.map((id) => this.#plan(id, cidr, eni, observed));
    const reports = await Promise.all(config.routeTableIds.map((id) => this.#converge(id, cidr, eni, observed)));
    const verified = await this.#verify(reports, cidr, eni, config.routeTableIds);
    const ms = Date.now() - started;
    return verified.map((r) => ({ ...r, ms }));
  }

  #plan(routeTableId: string, cidr: string, eni: string, observed: Map<string, RouteTable> | { error: unknown }): ActionReport {
    const base = { mechanism: 'route_table' as const, target: `${routeTableId} ${cidr}`, to: eni };
    if (!(observed instanceof Map)) return { ...base, result: 'failed', error: awsError(observed.error) };
    const table = observed.get(routeTableId);
    if (!table) return { ...base, result: 'failed', error: { code: 'InvalidRouteTableID.NotFound', message: `route table ${routeTableId} not found` } };
    const route = table.Routes?.find((r) => r.DestinationCidrBlock === cidr);
    const current = route ? (route.NetworkInterfaceId ?? route.InstanceId ?? route.GatewayId ?? null) : null;
    return current === eni ? { ...base, result: 'in_place', from: eni } : { ...base, result: 'planned', from: current };
  }

  async #observe(ids: string[]): Promise<Map<string, RouteTable> | { error: unknown }> {
    try {
      const { RouteTables = [] } = await this.#ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: ids }));
      return new Map(RouteTables.map((t) => [t.RouteTableId ?? '', t]));
    } catch (error) {
      // One unknown table makes the batched Describe fail: fall back to acting on each table on its own.
      return { error };
    }
  }

  async #converge(routeTableId: string, cidr: string, eni: string, observed: Map<string, RouteTable> | { error: unknown }): Promise<ActionReport> {
    const base = { mechanism: 'route_table' as const, target: `${routeTableId} ${cidr}`, to: eni };
    let current: string | null | undefined;
    if (observed instanceof Map) {
      const route = observed.get(routeTableId)?.Routes?.find((r) => r.DestinationCidrBlock === cidr);
      current = route ? (route.NetworkInterfaceId ?? route.InstanceId ?? route.GatewayId ?? null) : undefined;
      if (current === eni) return { ...base, result: 'in_place', from: eni };
    }
    try {
      if (current === undefined && observed instanceof Map) {
        await this.#create(routeTableId, cidr, eni);
        return { ...base, result: 'created', from: null };
      }
      await this.#ec2.send(new ReplaceRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: cidr, NetworkInterfaceId: eni }));
      return { ...base, result: 'moved', from: current ?? null };
    } catch (error) {
      if (awsError(error).code === 'InvalidRoute.NotFound') {
        try {
          await this.#create(routeTableId, cidr, eni);
          return { ...base, result: 'created', from: null };
        } catch (inner) {
          return { ...base, result: 'failed', error: awsError(inner) };
        }
      }
      return { ...base, result: 'failed', error: awsError(error) };
    }
  }

  async #create(routeTableId: string, cidr: string, eni: string): Promise<void> {
    try {
      await this.#ec2.send(new CreateRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: cidr, NetworkInterfaceId: eni }));
    } catch (error) {
      // Someone created it between our read and our write: replace it instead.
      if (awsError(error).code !== 'RouteAlreadyExists') throw error;
      await this.#ec2.send(new ReplaceRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: cidr, NetworkInterfaceId: eni }));
    }
  }

  /** Read back the tables we changed; a route that does not point at the ENI turns its report into a failure. */
  async #verify(reports: ActionReport[], cidr: string, eni: string, ids: string[]): Promise<ActionReport[]> {
    const changed = ids.filter((_, i) => reports[i]?.result === 'moved' || reports[i]?.result === 'created');
    if (changed.length === 0) return reports;
    const pointsAtEni = (tables: Map<string, RouteTable>) =>
      changed.every((id) => tables.get(id)?.Routes?.find((r) => r.DestinationCidrBlock === cidr)?.NetworkInterfaceId === eni);
    const { last: seen } = await readBack(
      async () => {
        const observed = await this.#observe(changed);
        if (!(observed instanceof Map)) throw observed.error;
        return observed;
      },
      pointsAtEni,
      this.#readBack,
    );
    if (seen === undefined) return reports;
    return reports.map((report, i) => {
      const table = seen.get(ids[i] ?? '');
      if (!table || report.result === 'failed' || report.result === 'in_place') return report;
      const route = table.Routes?.find((r) => r.DestinationCidrBlock === cidr);
      return route?.NetworkInterfaceId === eni
        ? report
        : { ...report, result: 'failed', error: { code: 'VerificationFailed', message: `route ${cidr} in ${ids[i]} reads back as ${route?.NetworkInterfaceId ?? 'missing'}` } };
    });
  }
}
