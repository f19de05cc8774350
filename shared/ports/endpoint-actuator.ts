import type { EndpointConfig, NodeRecord } from '../domain/cluster';
import type { ActionReport } from './cluster-store';

/**
 * Moves one mechanism of a cluster's endpoint to a node. Observe, compare, act: reads what is, changes only what
 * differs, and is safe to re-run. Never throws for a failed target: each target's outcome is a report, so one
 * failed route table does not stop the others.
 */
export interface EndpointActuator {
  /** Point the configured targets at `node`. */
  pointAt(endpoints: EndpointConfig, node: NodeRecord): Promise<ActionReport[]>;
}
