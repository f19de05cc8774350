import type { EndpointConfig, EndpointTarget } from '../domain/cluster';
import type { ActionReport } from '../ports/cluster-store';
import type { EndpointActuator, PointAtOptions } from '../ports/endpoint-actuator';

/**
 * The endpoint actuator of a deployment that serves clusters in other accounts: a cluster whose endpoint names an
 * `assumeRoleArn` is moved by an actuator working with that role's credentials, every other cluster by `base` (the
 * deployment's own role). One actuator per role, made on first use and kept. Same contract as every
 * {@link EndpointActuator}: an actuator that cannot be made for a role (no way to assume it) becomes a failed report
 * per configured mechanism, never a throw.
 */
export class RoleRoutingActuator implements EndpointActuator {
  readonly #base: EndpointActuator;
  readonly #forRole: (roleArn: string) => EndpointActuator;
  readonly #byRole = new Map<string, EndpointActuator>();

  constructor(options: { base: EndpointActuator; forRole: (roleArn: string) => EndpointActuator }) {
    this.#base = options.base;
    this.#forRole = options.forRole;
  }

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: PointAtOptions = {}): Promise<ActionReport[]> {
    const role = endpoints.assumeRoleArn;
    if (!role) return this.#base.pointAt(endpoints, target, options);
    let actuator = this.#byRole.get(role);
    if (!actuator) {
      try {
        actuator = this.#forRole(role);
      } catch (error) {
        return unavailable(endpoints, target, role, error);
      }
      this.#byRole.set(role, actuator);
    }
    return actuator.pointAt(endpoints, target, options);
  }
}

/** One failed report per configured mechanism, naming the role that could not be used. */
function unavailable(endpoints: EndpointConfig, target: EndpointTarget, role: string, error: unknown): ActionReport[] {
  const e = { code: 'AssumeRoleUnavailable', message: `cannot act as ${role}: ${(error as Error)?.message ?? String(error)}`.slice(0, 300) };
  const reports: ActionReport[] = [];
  if (endpoints.routeTables) reports.push({ mechanism: 'route_table', target: '*', to: target.primary.eni, result: 'failed', error: e });
  if (endpoints.elasticIp) reports.push({ mechanism: 'elastic_ip', target: endpoints.elasticIp.allocationId, to: target.primary.eni, result: 'failed', error: e });
  if (endpoints.secondaryIp) reports.push({ mechanism: 'secondary_ip', target: endpoints.secondaryIp.address, to: target.primary.eni, result: 'failed', error: e });
  if (endpoints.route53) reports.push({ mechanism: 'route53_writer', target: `${endpoints.route53.hostedZoneId} ${endpoints.route53.writerRecord} A`, to: target.primary.privateIp ?? '', result: 'failed', error: e });
  return reports;
}
