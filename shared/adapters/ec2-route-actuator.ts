import { CreateRouteCommand, DescribeRouteTablesCommand, ReplaceRouteCommand, type EC2Client, type Route } from '@aws-sdk/client-ec2';
import type { EndpointConfig, EndpointTarget } from '../domain/cluster';
import type { ActionReport } from '../ports/cluster-store';
import type { EndpointActuator, PointAtOptions } from '../ports/endpoint-actuator';
import { awsError, notFound, runActuationCycle, type ActuationMechanism, type ActuationTarget, type Mutate, type Observation } from './actuation-cycle';
import { DEFAULT_READ_BACK, type ReadBackOptions } from './read-back';

// Kept here for the modules that import it from this file (the instance fencer).
export { awsError } from './actuation-cycle';

interface RouteTarget extends ActuationTarget {
  routeTableId: string;
  cidr: string;
}

/** The VIP's route in one table: `undefined` when the table has none. */
type RouteState = Route | undefined;

/** Where a route sends its traffic, whatever kind of target it has. */
function via(route: Route): string | null {
  return route.NetworkInterfaceId ?? route.InstanceId ?? route.GatewayId ?? route.NatGatewayId ?? route.TransitGatewayId ?? route.VpcPeeringConnectionId ?? null;
}

/**
 * Route-table mechanism: `<vip>/32` → the primary's ENI in every listed route table. Reads the tables, changes only
 * the routes that differ (`ReplaceRoute`, or `CreateRoute` when the route is missing), then reads back to verify.
 * Each table is its own target: one failing does not stop the others.
 */
export class Ec2RouteActuator implements EndpointActuator {
  readonly #ec2: EC2Client;
  readonly #readBack: ReadBackOptions;

  /** @param options.readBack verification reads; default {@link DEFAULT_READ_BACK} (DescribeRouteTables can lag). */
  constructor(options: { client: EC2Client; readBack?: Partial<ReadBackOptions> }) {
    this.#ec2 = options.client;
    this.#readBack = { ...DEFAULT_READ_BACK, ...options.readBack };
  }

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: PointAtOptions = {}): Promise<ActionReport[]> {
    const config = endpoints.routeTables;
    if (!config || config.routeTableIds.length === 0) return [];
    const cidr = `${config.vip}/32`;
    const eni = target.primary.eni;
    const targets = config.routeTableIds.map((routeTableId): RouteTarget => ({ mechanism: 'route_table', target: `${routeTableId} ${cidr}`, to: eni, routeTableId, cidr }));
    return runActuationCycle(this.#mechanism(), targets, { ...options, readBack: this.#readBack });
  }

  #mechanism(): ActuationMechanism<RouteTarget, RouteState> {
    return {
      grouping: 'each',
      observe: (targets) => this.#observe(targets),
      compare: (t, route) => ({
        result: route?.NetworkInterfaceId === t.to ? 'in_place' : route ? 'moved' : 'created',
        from: route ? via(route) : null,
      }),
      // ReplaceRoute is idempotent, and a route that vanished meanwhile is created (below): safe on a known state.
      fromKnown: (t, eni) => (eni === null ? undefined : { DestinationCidrBlock: t.cidr, NetworkInterfaceId: eni }),
      act: async ([p], mutate) => {
        if (!p) return {};
        const { routeTableId, cidr, to: eni } = p.target;
        if (p.comparison.result === 'created') return { result: await this.#create(mutate, routeTableId, cidr, eni) };
        try {
          await mutate(() => this.#ec2.send(new ReplaceRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: cidr, NetworkInterfaceId: eni })));
          return { result: 'moved' };
        } catch (error) {
          // The route went away between our read and our write: create it.
          if (awsError(error).code !== 'InvalidRoute.NotFound') throw error;
          return { result: await this.#create(mutate, routeTableId, cidr, eni) };
        }
      },
    };
  }

  /** One `DescribeRouteTables` for every table; when one unknown id fails the batch, each table on its own. */
  async #observe(targets: readonly RouteTarget[]): Promise<Array<Observation<RouteState>>> {
    const describe = async (ids: string[]) => {
      const { RouteTables = [] } = await this.#ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: ids }));
      return new Map(RouteTables.map((t) => [t.RouteTableId ?? '', t]));
    };
    const pick = (tables: Map<string, { Routes?: Route[] }>, t: RouteTarget): Observation<RouteState> => {
      const table = tables.get(t.routeTableId);
      if (!table) return { error: notFound('InvalidRouteTableID.NotFound', `route table ${t.routeTableId} not found`) };
      return { state: table.Routes?.find((r) => r.DestinationCidrBlock === t.cidr) };
    };
    try {
      const tables = await describe([...new Set(targets.map((t) => t.routeTableId))]);
      return targets.map((t) => pick(tables, t));
    } catch (error) {
      if (targets.length === 1) return [{ error }];
      return Promise.all(
        targets.map(async (t) => {
          try {
            return pick(await describe([t.routeTableId]), t);
          } catch (one) {
            return { error: one };
          }
        }),
      );
    }
  }

  /** `CreateRoute`; when someone created it between our read and our write, replace it instead. */
  async #create(mutate: Mutate, routeTableId: string, cidr: string, eni: string): Promise<'created' | 'moved'> {
    try {
      await mutate(() => this.#ec2.send(new CreateRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: cidr, NetworkInterfaceId: eni })));
      return 'created';
    } catch (error) {
      if (awsError(error).code !== 'RouteAlreadyExists') throw error;
      await mutate(() => this.#ec2.send(new ReplaceRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: cidr, NetworkInterfaceId: eni })));
      return 'moved';
    }
  }
}
