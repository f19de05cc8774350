/**
 * What `vipswitch doctor` reads from AWS (shared/app/doctor.ts), one method per question. Reads return plain facts;
 * a resource that does not exist is `null` (or absent from a map), never an error. `dryRun` never changes anything.
 * Every other failure (throttling after retries, a network error, an access denied on a read) throws the SDK's error,
 * which the doctor reports on the check that asked.
 */
export type Tags = Record<string, string>;

export interface ProbedRoute {
  destinationCidrBlock: string;
  /** Where it points: an ENI, an instance or a gateway id (`local`, `igw-`, `vgw-`...). */
  target: string | null;
  /** EC2's `Origin`: `CreateRouteTable`, `CreateRoute` or `EnableVgwRoutePropagation` (propagated). */
  origin: string | null;
  state: string | null;
}

export interface ProbedRouteTable {
  routeTableId: string;
  vpcId: string | null;
  routes: ProbedRoute[];
  tags: Tags;
}

export interface ProbedNetworkInterface {
  networkInterfaceId: string;
  subnetId: string | null;
  vpcId: string | null;
  privateIps: string[];
  tags: Tags;
}

export interface ProbedAddress {
  allocationId: string;
  networkInterfaceId: string | null;
  tags: Tags;
}

export interface ProbedInstance {
  instanceId: string;
  state: string | null;
  tags: Tags;
}

/** A mutating EC2 call a failover would make, to be sent with `DryRun=true`. */
export type DryRunCall =
  | { action: 'ReplaceRoute' | 'CreateRoute'; routeTableId: string; destinationCidrBlock: string; networkInterfaceId: string }
  | { action: 'AssociateAddress'; allocationId: string; networkInterfaceId: string }
  | { action: 'StopInstances'; instanceId: string };

/**
 * What EC2 answered a dry run: `allowed` (DryRunOperation: the call would have succeeded), `denied`
 * (UnauthorizedOperation: IAM said no), or `error` (any other code: a bad id, a missing route...).
 */
export type DryRunResult = { outcome: 'allowed' } | { outcome: 'denied' | 'error'; code: string; message: string };

export interface DoctorProbe {
  routeTable(id: string): Promise<ProbedRouteTable | null>;
  networkInterface(id: string): Promise<ProbedNetworkInterface | null>;
  /** DescribeNetworkInterfaceAttribute `sourceDestCheck`. @returns null when the ENI does not exist. */
  sourceDestCheck(networkInterfaceId: string): Promise<boolean | null>;
  address(allocationId: string): Promise<ProbedAddress | null>;
  instance(id: string): Promise<ProbedInstance | null>;
  dryRun(call: DryRunCall): Promise<DryRunResult>;
  hostedZone(id: string): Promise<{ id: string; name: string; privateZone: boolean } | null>;
  /** The simple record set `name`/`type` in the zone. */
  recordSet(zoneId: string, name: string, type: string): Promise<{ ttl: number | null; values: string[] } | null>;
  /** The ARN of the topic named `name` in this account and region. */
  findTopic(name: string): Promise<string | null>;
  /** Subscriptions of a topic: confirmed, and still pending confirmation. @returns null when the topic does not exist. */
  subscriptions(topicArn: string): Promise<{ confirmed: { protocol: string; endpoint: string }[]; pending: number } | null>;
}
