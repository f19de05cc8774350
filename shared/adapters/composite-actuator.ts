import type { EndpointConfig, EndpointTarget } from '../domain/cluster';
import type { ActionReport } from '../ports/cluster-store';
import type { EndpointActuator, PointAtOptions } from '../ports/endpoint-actuator';
import { awsError } from './actuation-cycle';

/** One mechanism's actuator, with the mechanism name its reports carry if it ever throws. */
export interface MechanismActuator {
  mechanism: ActionReport['mechanism'];
  actuator: EndpointActuator;
}

/**
 * All of a cluster's endpoint mechanisms as one {@link EndpointActuator}: runs every actuator concurrently (a slow
 * Route 53 INSYNC wait does not hold back the route tables) and concatenates their reports in the order given. The
 * options (`plan`, the fencing `guard`) go to every actuator as they are, so each mutation is guarded.
 * Each actuator is unconfigured-safe (returns `[]`), so the composite can hold every mechanism the service supports.
 * An actuator that throws despite its contract becomes one `failed` report for its mechanism (target `*`, `to` the
 * primary's node name, `error` from the thrown value's name and message); the others still run to completion.
 * Never throws.
 */
export class CompositeActuator implements EndpointActuator {
  readonly #actuators: readonly MechanismActuator[];

  constructor(options: { actuators: MechanismActuator[] }) {
    this.#actuators = [...options.actuators];
  }

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: PointAtOptions = {}): Promise<ActionReport[]> {
    const results = await Promise.all(
      this.#actuators.map(async ({ mechanism, actuator }): Promise<ActionReport[]> => {
        const started = Date.now();
        try {
          return await actuator.pointAt(endpoints, target, options);
        } catch (error) {
          return [{ mechanism, target: '*', result: 'failed', to: target.primary.name, ms: Date.now() - started, error: awsError(error) }];
        }
      }),
    );
    return results.flat();
  }
}
