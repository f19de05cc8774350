/** Cluster state, node registry and endpoint config: the shapes the fencing decision works on. */

/** The fencing record of one cluster (one DynamoDB item). `epoch` only grows. */
export interface ClusterState {
  cluster: string;
  /** Node name of the current primary; null before the first accepted claim. */
  primary: string | null;
  /**
   * Timeline of the current primary's accepted claim; 0 before the first. For `tool: pgpool` clusters this slot holds
   * the ordering key of those claims instead: the current watchdog leader's leadership token (Unix ms, see decide.ts).
   */
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
  /** Last health the node reported (from its events); replicas count as readers only while `replica`. */
  health?: NodeHealth;
}

/** A node's health as its own events tell it. */
export const NODE_HEALTH = ['primary', 'replica', 'failed', 'stopped', 'unknown'] as const;
export type NodeHealth = (typeof NODE_HEALTH)[number];

/** Route-table mechanism: `<vip>/32` → the primary's ENI in every listed table. */
export interface RouteTableEndpoint {
  vip: string;
  routeTableIds: string[];
}

/** Elastic IP mechanism: `AssociateAddress` of the allocation to the primary's ENI (`AllowReassociation`). */
export interface ElasticIpEndpoint {
  allocationId: string;
}

/** Secondary private IP mechanism: `AssignPrivateIpAddresses` to the primary's ENI (`AllowReassignment`). */
export interface SecondaryIpEndpoint {
  address: string;
}

/** Route53 mechanism: `UPSERT` of the writer A record (the primary's private IP), and optionally a reader set. */
export interface Route53Endpoint {
  hostedZoneId: string;
  /** FQDN with trailing dot, e.g. `writer.db.example.internal.` */
  writerRecord: string;
  /** FQDN of an A record set holding the healthy replicas' private IPs (multi-value), if wanted. */
  readerRecord?: string;
  /** TTL of both records, seconds (low, so clients follow a failover quickly). */
  ttl: number;
  /** Wait (bounded) for the change to be INSYNC before reporting it done. */
  waitForInsync: boolean;
  insyncTimeoutSeconds: number;
}

/** Which endpoint mechanisms a cluster uses; any combination. */
export interface EndpointConfig {
  routeTables?: RouteTableEndpoint;
  elasticIp?: ElasticIpEndpoint;
  secondaryIp?: SecondaryIpEndpoint;
  route53?: Route53Endpoint;
  /**
   * An IAM role vipswitch assumes for this endpoint's EC2 and Route 53 calls (route tables of a shared VPC, a central
   * networking account), as Pacemaker's route agent does with `routing_table_role`. Absent: the deployment's own role.
   */
  assumeRoleArn?: string;
}

/** Who the endpoint should serve: the primary, and the healthy replicas (for reader records). */
export interface EndpointTarget {
  primary: NodeRecord;
  replicas: NodeRecord[];
}

/**
 * What to do against a node whose primary claim lost (possible split brain). Never against the current primary.
 * `alert`: page only. `stop-instance`: StopInstances with Force. `isolate`: swap the node's ENI security groups for the
 * cluster's isolating group, the originals kept in tags on the ENI (`vipswitch unfence` puts them back after its rejoin).
 */
export const FENCING_POLICIES = ['alert', 'stop-instance', 'isolate'] as const;
export type FencingPolicy = (typeof FENCING_POLICIES)[number];

/**
 * What calls the hook on the nodes. `keepalived`: VRRP notify scripts beside PostgreSQL (claims rest on PostgreSQL
 * facts, like repmgr and Patroni). `pgpool`: the Pgpool-II watchdog; the registered nodes are the Pgpool-II nodes and
 * the endpoint follows the quorum-backed watchdog leader.
 */
export const TOOLS = ['repmgr', 'patroni', 'keepalived', 'pgpool'] as const;
export type Tool = (typeof TOOLS)[number];

/** The registered settings of a cluster (from `vipswitch apply -f cluster.yaml`). */
export interface ClusterConfig {
  cluster: string;
  tool: Tool;
  endpoints: EndpointConfig;
  /** Hook clock skew allowed, seconds. */
  replayWindowSeconds: number;
  /** Action on a stale claim, besides the page (default `alert`). */
  fencing: FencingPolicy;
  /** `isolate`: the security group a stale node's ENI is left with (it should allow nothing but what on-call needs). */
  isolationSecurityGroupId?: string;
  /** Compute and answer the plan, change nothing (no commit, no endpoint move). */
  dryRun: boolean;
}
