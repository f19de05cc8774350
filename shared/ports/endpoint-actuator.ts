import type { EndpointConfig, EndpointTarget } from '../domain/cluster';
import type { ActionReport } from './cluster-store';

/**
 * Moves one mechanism of a cluster's endpoint to a node. Observe, compare, act: reads what is, changes only what
 * differs, and is safe to re-run. Never throws for a failed target: each target's outcome is a report, so one
 * failed route table does not stop the others.
 */
export interface EndpointActuator {
  /**
   * Point this mechanism's configured targets at `target` (returns `[]` when the mechanism is not configured).
   * With `plan: true`, only observe and compare: report `planned` / `in_place`, change nothing.
   */
  pointAt(endpoints: EndpointConfig, target: EndpointTarget, options?: { plan?: boolean }): Promise<ActionReport[]>;
}
