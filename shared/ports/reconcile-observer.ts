import type { ClusterConfig, NodeRecord } from '../domain/cluster';
import type { EndpointActuator } from './endpoint-actuator';

/** One cluster as the sweep observes it: its settings (which resources) and its members (which ENIs). */
export interface FleetMember {
  config: ClusterConfig;
  nodes: readonly NodeRecord[];
}

/** AWS calls one observation made, by action (`DescribeRouteTables`, `ReplaceRoute`, ...). */
export type CallCounts = Record<string, number>;

/**
 * One sweep's reads of many clusters' resources, made in batches, and the way to act on what they showed.
 */
export interface FleetObservation {
  /**
   * Every endpoint mechanism, for any of the observed clusters (and routed to the cluster's assumed role): the first
   * read of a target is answered from this observation (no AWS call), a target changed since is read again (such
   * reads of many clusters are batched), and every AWS call it makes is paced under the sweep's budget. Its contract
   * is {@link EndpointActuator}'s, so `converge` and its epoch guard drive it unchanged.
   */
  actuator: EndpointActuator;
  /** Why a cluster's resources could not be read (its account's batched read failed); null when they were. */
  unobserved(cluster: string): { code: string; message: string } | null;
  /** The real AWS calls made so far through this observation (reads, mutations, read-backs), by action. */
  calls(): CallCounts;
}

/**
 * Reads the resources of many clusters at once: route tables, Elastic IPs and network interfaces by id lists (a
 * handful of Describe calls for a thousand clusters), each hosted zone in one paged walk. Never throws for an AWS
 * failure: a read that fails makes the clusters it covered `unobserved` (the sweep leaves them alone and says so).
 */
export interface FleetObserver {
  observe(members: readonly FleetMember[]): Promise<FleetObservation>;
}
