/** Cluster state, node registry and endpoint config: the shapes the fencing decision works on. */

/** The fencing record of one cluster (one DynamoDB item). `epoch` only grows. */
export interface ClusterState {
  cluster: string;
  /** Node name of the current primary; null before the first accepted claim. */
  primary: string | null;
  /** Timeline of the current primary's accepted claim; 0 before the first. */
  timeline: number;
  /** Fencing token: bumped by every accepted claim, never decreases. */
  epoch: number;
  /** Highest epoch whose endpoint move completed and was verified. */
  appliedEpoch: number;
  /** `system_identifier` of the cluster's data; null until configured or learned from the first accepted claim. */
  systemIdentifier: string | null;
  updatedAt: string;
}

/** One registered member. */
export interface NodeRecord {
  cluster: string;
  name: string;
  /** repmgr's numeric node id (`%n`); required for repmgr clusters. */
  repmgrNodeId: number | null;
  /** The ENI that route-table / EIP / secondary-IP mechanisms point at. */
  eni: string;
  instanceId: string | null;
  privateIp: string | null;
  /** A fenced node's claims never win. */
  fenced: boolean;
}

/** Route-table mechanism: `<vip>/32` → the primary's ENI in every listed table. */
export interface RouteTableEndpoint {
  vip: string;
  routeTableIds: string[];
}

/** Which endpoint mechanisms a cluster uses; any combination. */
export interface EndpointConfig {
  routeTables?: RouteTableEndpoint;
}

export const TOOLS = ['repmgr', 'patroni'] as const;
export type Tool = (typeof TOOLS)[number];

/** The registered settings of a cluster (from `vipswitch apply -f cluster.yaml`). */
export interface ClusterConfig {
  cluster: string;
  tool: Tool;
  endpoints: EndpointConfig;
  /** Hook clock skew allowed, seconds. */
  replayWindowSeconds: number;
}
