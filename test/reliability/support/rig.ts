/**
 * The in-process reliability rig: the product's own app functions (authenticate → validate → processEvent for an
 * ingest; reactToChanges → converge with the real EC2 / Route 53 actuators for the actuator; converge with
 * `fresh` for reconcile) against Amazon's DynamoDB Local and the project's local AWS endpoint, with the stream trigger
 * the local stack uses (local/stream-trigger.ts) invoking the actuator in this process. Everything started here is
 * stopped by `stop()` (DynamoDB Local by its pid, servers by their handles).
 *
 * EC2 and Route 53 + SNS are two endpoints of the same code: the EC2 world stays small, so a 5 ms poll of its true
 * state (the observer: where each VIP route points, as a client would see it) costs next to nothing.
 */
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SNSClient } from '@aws-sdk/client-sns';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import type { _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { startAwsEndpoint, type AwsEndpoint, type LatencyProfile, LATENCY_PROFILES } from '../../../local/aws-endpoint/index';
import type { Topology } from '../../../local/aws-endpoint/topology';
import { startStreamTrigger, type InvokeResult, type StreamTrigger, type TriggerSettings } from '../../../local/stream-trigger';
import { awsClientConfig, type AwsCallBounds } from '../../../shared/adapters/aws-clients';
import { DynamoDBClusterStore, TABLE_DEFINITIONS } from '../../../shared/adapters/dynamodb-cluster-store';
import { createEndpointActuator } from '../../../shared/adapters/endpoint-actuators';
import { Ec2InstanceFencer } from '../../../shared/adapters/ec2-instance-fencer';
import { SnsAlerter } from '../../../shared/adapters/sns-alerter';
import { DeduplicatingAlerter } from '../../../shared/app/deduplicating-alerter';
import { triggerFailedPage } from '../../../shared/app/pages';
import { reactToChanges, type ReactDeps, type StateChange } from '../../../shared/app/react-to-changes';
import type { Alerter, Page } from '../../../shared/ports/alerter';
import type { ClusterStore } from '../../../shared/ports/cluster-store';

export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' };
export const TOPIC = 'vipswitch-pages';
export const TOPIC_ARN = `arn:aws:sns:${REGION}:000000000000:${TOPIC}`;
export const HOSTED_ZONE = 'Z0RELIABILITY00000001';
export const ZONE_NAME = 'rel.example.internal.';
export const SUBNET = 'subnet-0a1b2c3d4e5f60001';
export const VPC = 'vpc-0a1b2c3d4e5f60000';

/** The three database nodes, and an ENI no cluster uses: "someone pointed the route elsewhere" (drift). */
export const NODES = [
  { name: 'node1', id: 1, eni: 'eni-0a1b2c3d4e5f60001', instanceId: 'i-0a1b2c3d4e5f60001', privateIp: '10.0.1.11' },
  { name: 'node2', id: 2, eni: 'eni-0a1b2c3d4e5f60002', instanceId: 'i-0a1b2c3d4e5f60002', privateIp: '10.0.1.12' },
  { name: 'node3', id: 3, eni: 'eni-0a1b2c3d4e5f60003', instanceId: 'i-0a1b2c3d4e5f60003', privateIp: '10.0.1.13' },
] as const;
export const DRIFT_ENI = 'eni-0a1b2c3d4e5f6d01f';
export type NodeName = (typeof NODES)[number]['name'];

/** Route table ids of slot `s` (two per slot: each concurrent schedule has its own pair). */
export function slotTables(slot: number): [string, string] {
  const hex = (n: number) => n.toString(16).padStart(12, '0');
  return [`rtb-0ae${hex(slot * 2)}`, `rtb-0ae${hex(slot * 2 + 1)}`];
}

/** The EC2 world: three instances and their ENIs, the drift ENI, two route tables per slot (no VIP route yet). */
export function ec2Topology(slots: number): Topology {
  return {
    region: REGION,
    accountId: '000000000000',
    subnets: [{ subnetId: SUBNET, vpcId: VPC, cidrBlock: '10.0.1.0/24', availabilityZone: 'us-east-1a' }],
    instances: NODES.map((n) => ({ instanceId: n.instanceId, state: 'running' as const, networkInterfaceIds: [n.eni] })),
    networkInterfaces: [
      ...NODES.map((n) => ({ networkInterfaceId: n.eni, subnetId: SUBNET, vpcId: VPC, privateIpAddress: n.privateIp, instanceId: n.instanceId, sourceDestCheck: false })),
      { networkInterfaceId: DRIFT_ENI, subnetId: SUBNET, vpcId: VPC, privateIpAddress: '10.0.1.99', sourceDestCheck: false },
    ],
    routeTables: Array.from({ length: slots }, (_, s) => slotTables(s))
      .flat()
      .map((routeTableId) => ({ routeTableId, vpcId: VPC, routes: [{ destinationCidrBlock: '10.0.0.0/16', gatewayId: 'local' }] })),
    addresses: [],
    hostedZones: [],
    topics: [],
  };
}

/** The Route 53 + SNS world: one private zone for every cluster's writer record, and the pages topic. */
export function route53Topology(): Topology {
  return {
    region: REGION,
    accountId: '000000000000',
    instances: [],
    networkInterfaces: [],
    routeTables: [],
    addresses: [],
    hostedZones: [{ id: HOSTED_ZONE, name: ZONE_NAME, privateZone: true, vpcIds: [VPC], records: [] }],
    topics: [TOPIC],
  };
}

/** The AWS-like profile with Route 53 INSYNC shortened (30–60 s would make a schedule a minute long). */
export function awsLikeProfile(insyncMs: { minMs: number; maxMs: number }): LatencyProfile {
  return { ...LATENCY_PROFILES.aws, name: 'aws (short INSYNC)', route53InsyncMs: insyncMs };
}

export function clientConfig(endpoint: string, bounds: Partial<AwsCallBounds> = {}): EC2ClientConfig {
  const config = awsClientConfig(bounds);
  // One client here serves every schedule running at once, where AWS gives each Lambda invocation its own: with the
  // SDK's default of 50 sockets, a mutation the guard let through could wait 20 s in the client's queue and measure
  // the rig, not the product.
  return { ...config, requestHandler: { ...config.requestHandler, httpAgent: { keepAlive: true, maxSockets: 1024 } }, endpoint, region: REGION, credentials: CREDENTIALS };
}

/** Bounds of the test's own calls: a loaded 2-core machine must not fail the harness itself. */
export const PATIENT: AwsCallBounds = { maxAttempts: 10, requestTimeoutMs: 20_000, connectionTimeoutMs: 10_000 };

export function dynamoClient(endpoint: string, bounds: Partial<AwsCallBounds> = {}): DynamoDBClient {
  return new DynamoDBClient(clientConfig(endpoint, bounds));
}

export async function createStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(TABLE_DEFINITIONS.state(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

/** One read of the current epoch (or of the whole cluster) as the app saw it: for "the epoch only grows". */
export interface EpochRead {
  cluster: string;
  start: number;
  end: number;
  epoch: number;
}

/**
 * The store, with every epoch the app functions read recorded (loadCluster, currentEpoch: the guard's reads). No
 * extra round trip: the invariant is checked on what the product itself saw.
 */
export function observedStore(store: DynamoDBClusterStore, reads: (r: EpochRead) => void): DynamoDBClusterStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'currentEpoch') {
        return async (cluster: string) => {
          const start = performance.now();
          const epoch = await target.currentEpoch(cluster);
          reads({ cluster, start, end: performance.now(), epoch });
          return epoch;
        };
      }
      if (prop === 'loadCluster') {
        return async (cluster: string) => {
          const start = performance.now();
          const loaded = await target.loadCluster(cluster);
          if (loaded) reads({ cluster, start, end: performance.now(), epoch: loaded.record.state.epoch });
          return loaded;
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Every page the alerter sent (or failed to send), with its cluster and type. */
export interface PageRecord {
  at: number;
  cluster: string;
  type: string;
  sent: boolean;
  error?: string;
}

/** A stream record as the actuate handler turns it into a change (functions/actuate/handler.ts). */
export function toChange(record: StreamRecord): StateChange {
  const image = (value: unknown) => (value ? unmarshall(value as Record<string, AttributeValue>) : null);
  const keys = image(record.dynamodb?.Keys) ?? {};
  return { sequence: record.dynamodb?.SequenceNumber ?? '', pk: String(keys.pk ?? ''), sk: String(keys.sk ?? ''), old: image(record.dynamodb?.OldImage), new: image(record.dynamodb?.NewImage) };
}

/** Where each VIP route points, polled from the EC2 endpoint's true state (a client's view, not a lagging Describe). */
export interface RouteObserver {
  /** Changes of `<routeTableId> <cidr>`, in time order: [performance.now(), eni | null]. */
  history(key: string): [number, string | null][];
  /** The largest gap between two polls so far (the observer's resolution under load), ms. */
  maxGapMs(): number;
  polls(): number;
  forget(key: string): void;
  stop(): void;
}

export function observeRoutes(aws: AwsEndpoint, intervalMs: number): RouteObserver {
  const current = new Map<string, string | null>();
  const changes = new Map<string, [number, string | null][]>();
  let last = performance.now();
  let maxGap = 0;
  let polls = 0;
  const poll = () => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    polls++;
    const seen = new Set<string>();
    for (const table of aws.state().routeTables) {
      for (const route of table.routes) {
        if (!route.destinationCidrBlock.endsWith('/32')) continue;
        const key = `${table.routeTableId} ${route.destinationCidrBlock}`;
        seen.add(key);
        const eni = route.networkInterfaceId ?? null;
        if (current.get(key) !== eni) {
          current.set(key, eni);
          let list = changes.get(key);
          if (!list) changes.set(key, (list = []));
          list.push([now, eni]);
        }
      }
    }
    for (const [key, eni] of current) {
      if (seen.has(key) || eni === null) continue;
      current.set(key, null);
      changes.get(key)!.push([now, null]);
    }
  };
  const timer = setInterval(poll, intervalMs);
  return {
    history: (key) => [...(changes.get(key) ?? [])],
    maxGapMs: () => maxGap,
    polls: () => polls,
    forget: (key) => {
      changes.delete(key);
      current.delete(key);
    },
    stop: () => clearInterval(timer),
  };
}

export interface RigOptions {
  dynamodbEndpoint: string;
  tableName: string;
  slots: number;
  latency: 'instant' | LatencyProfile;
  /** DynamoDB call bounds of the app (the Lambdas' defaults otherwise). */
  bounds?: Partial<AwsCallBounds>;
  /** EC2 / Route 53 / SNS call bounds of the actuator (default: `bounds`). */
  awsBounds?: Partial<AwsCallBounds>;
  /**
   * Replace the actuator's invocation (R2: a Lambda killed at its timeout). `invoke` runs the batch with the rig's
   * deps; `react` runs it with the deps given (e.g. {@link killableDeps}).
   */
  wrapInvoke?: (invoke: (records: StreamRecord[]) => Promise<InvokeResult>, react: (deps: ReactDeps, records: StreamRecord[]) => Promise<InvokeResult>) => (records: StreamRecord[]) => Promise<InvokeResult>;
  trigger?: Partial<TriggerSettings>;
  seed?: number;
  log?: (line: string) => void;
}

export interface Rig {
  /** DynamoDB calls by client (app / test) and command. */
  calls: Record<string, number>;
  ec2Aws: AwsEndpoint;
  r53Aws: AwsEndpoint;
  dynamodb: DynamoDBClient;
  /** The test's store (registration, settling, final state): patient bounds, no recording. */
  store: DynamoDBClusterStore;
  /** The store the app functions use (epoch reads recorded). */
  appStore: DynamoDBClusterStore;
  deps: ReactDeps;
  trigger: StreamTrigger;
  observer: RouteObserver;
  ec2: EC2Client;
  route53: Route53Client;
  /** The test's own clients (drift, final reads): patient bounds. */
  testEc2: EC2Client;
  testRoute53: Route53Client;
  pages: PageRecord[];
  epochReads: Map<string, EpochRead[]>;
  /** An actuator deps set on other clients (e.g. one "Lambda invocation" that can be killed). */
  freshDeps(wrap?: { ec2?: EC2Client; route53?: Route53Client }): ReactDeps;
  /** The URLs and bounds the actuator's clients use. */
  endpoints: { ec2: string; route53: string; awsBounds: Partial<AwsCallBounds> | undefined };
  stop(): Promise<void>;
}

/** Start the rig on an already running DynamoDB Local (the caller owns that process: R2 stops and restarts it). */
export async function startRig(options: RigOptions): Promise<Rig> {
  const stoppers: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stoppers.reverse()) await Promise.resolve(s()).catch(() => undefined);
    stoppers.length = 0;
  };
  try {
    const latency = options.latency;
    const ec2Aws = await startAwsEndpoint({ port: 0, topology: ec2Topology(options.slots), latency, ...(options.seed === undefined ? {} : { seed: options.seed }) });
    stoppers.push(() => ec2Aws.close());
    const r53Aws = await startAwsEndpoint({ port: 0, topology: route53Topology(), latency, ...(options.seed === undefined ? {} : { seed: options.seed + 1 }) });
    stoppers.push(() => r53Aws.close());
    // The app's client has the Lambdas' bounds; the test's own reads (registration, settling, final state) a patient one.
    const dynamodb = dynamoClient(options.dynamodbEndpoint, options.bounds);
    const patient = dynamoClient(options.dynamodbEndpoint, PATIENT);
    const calls: Record<string, number> = {};
    const countCalls = (client: { middlewareStack: { add: (m: never, o: never) => void } }, who: string) =>
      client.middlewareStack.add(((next: (a: unknown) => unknown, context: { commandName?: string }) => (args: unknown) => {
        const key = `${who} ${context.commandName ?? '?'}`;
        calls[key] = (calls[key] ?? 0) + 1;
        return next(args);
      }) as never, { step: 'initialize', name: 'reliabilityCallCounter' } as never);
    countCalls(dynamodb as never, 'app');
    countCalls(patient as never, 'test');
    stoppers.push(() => (dynamodb.destroy(), patient.destroy()));
    await createStateTable(patient, options.tableName);
    const store = new DynamoDBClusterStore({ client: patient, tableName: options.tableName });
    const productStore = new DynamoDBClusterStore({ client: dynamodb, tableName: options.tableName });
    const epochReads = new Map<string, EpochRead[]>();
    const appStore = observedStore(productStore, (r) => {
      let list = epochReads.get(r.cluster);
      if (!list) epochReads.set(r.cluster, (list = []));
      list.push(r);
    });
    const pages: PageRecord[] = [];
    const awsBounds = options.awsBounds ?? options.bounds;
    const ec2 = new EC2Client(clientConfig(ec2Aws.url, awsBounds));
    const testEc2 = new EC2Client(clientConfig(ec2Aws.url, PATIENT));
    const testRoute53 = new Route53Client(clientConfig(r53Aws.url, PATIENT));
    const route53 = new Route53Client(clientConfig(r53Aws.url, awsBounds));
    countCalls(ec2 as never, 'app');
    countCalls(route53 as never, 'app');
    const sns = new SNSClient(clientConfig(r53Aws.url, awsBounds));
    stoppers.push(() => (ec2.destroy(), route53.destroy(), sns.destroy(), testEc2.destroy(), testRoute53.destroy()));
    // The product's alerter (SnsAlerter behind the de-duplication ledger), each publish's outcome recorded on the side.
    const failed = new WeakSet<Page>();
    const product = new SnsAlerter({ client: sns, topicArn: TOPIC_ARN, onError: (error, page) => (failed.add(page), pages.push({ at: performance.now(), cluster: page.cluster, type: page.type, sent: false, error: (error as Error).name })) });
    const recording: Alerter = {
      page: async (page: Page) => {
        await product.page(page);
        if (!failed.has(page)) pages.push({ at: performance.now(), cluster: page.cluster, type: page.type, sent: true });
      },
    };
    const alerter = new DeduplicatingAlerter({ inner: recording, store: appStore, windowSeconds: 300 });
    const freshDeps = (wrap: { ec2?: EC2Client; route53?: Route53Client } = {}): ReactDeps => ({
      store: appStore,
      actuator: createEndpointActuator({ ec2: wrap.ec2 ?? ec2, route53: wrap.route53 ?? route53 }),
      alerter,
      fencer: new Ec2InstanceFencer({ client: wrap.ec2 ?? ec2 }),
      now: () => new Date(),
    });
    const deps = freshDeps();
    const react = async (with_: ReactDeps, records: StreamRecord[]): Promise<InvokeResult> => {
      const outcomes = await reactToChanges(with_, records.map(toChange));
      return { ok: true, batchItemFailures: outcomes.filter((o) => o.retryFrom !== null).map((o) => o.retryFrom!) };
    };
    const invoke = (records: StreamRecord[]) => react(deps, records);
    const trigger = await startStreamTrigger({
      dynamodb,
      endpoint: options.dynamodbEndpoint,
      tableName: options.tableName,
      invoke: (event) => (options.wrapInvoke ? options.wrapInvoke(invoke, react) : invoke)(event.Records),
      onGiveUp: async (records, error) => {
        const clusters = [...new Set(records.map((r) => (r.dynamodb?.Keys?.pk?.S ?? '').replace(/^(CLUSTER|JOURNAL)#/, '')))];
        for (const cluster of clusters) await alerter.page(triggerFailedPage(cluster, `${records.length} change(s) not carried out: ${error}`));
      },
      // One DynamoDB Local shard carries the whole fleet of the run; in AWS those clusters would spread over many shards,
      // each with its own lanes. One lane per concurrent schedule models that (ordering per cluster is kept).
      settings: { parallelizationFactor: Math.max(10, options.slots), ...options.trigger },
      log: options.log,
    });
    stoppers.push(() => trigger.stop());
    const observer = observeRoutes(ec2Aws, 5);
    stoppers.push(() => observer.stop());
    return { endpoints: { ec2: ec2Aws.url, route53: r53Aws.url, awsBounds }, calls, ec2Aws, r53Aws, dynamodb, store, appStore, deps, trigger, observer, ec2, route53, testEc2, testRoute53, pages, epochReads, freshDeps, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Register a cluster (three nodes, repmgr ids 1..3, fresh keys) directly through the store, as `vipswitch apply` does. */
export async function registerCluster(
  store: ClusterStore,
  options: { name: string; vip: string; routeTableIds: string[]; route53?: { record: string; insyncTimeoutSeconds: number } | null; systemIdentifier: string; keys: Record<string, string>; fencing?: 'alert' | 'stop-instance' },
): Promise<void> {
  await store.applyCluster(
    {
      cluster: options.name,
      tool: 'repmgr',
      endpoints: {
        routeTables: { vip: options.vip, routeTableIds: options.routeTableIds },
        ...(options.route53 ? { route53: { hostedZoneId: HOSTED_ZONE, writerRecord: options.route53.record, ttl: 30, waitForInsync: true, insyncTimeoutSeconds: options.route53.insyncTimeoutSeconds } } : {}),
      },
      replayWindowSeconds: 300,
      fencing: options.fencing ?? 'alert',
      dryRun: false,
    },
    options.systemIdentifier,
    NODES.map((n) => ({ cluster: options.name, name: n.name, repmgrNodeId: n.id, eni: n.eni, instanceId: n.instanceId, privateIp: n.privateIp, fenced: false, hookKey: options.keys[n.name]! })),
  );
}

/**
 * The deps of one actuator invocation that can be killed as Lambda kills a function at its timeout: from `kill()` on,
 * every call it makes (store, AWS, pages) never returns, as if the process were frozen and gone. Its own EC2 and
 * Route 53 clients tell whether it was waiting for Route 53 INSYNC (a change submitted, not yet seen INSYNC), and call
 * `onRoute53Wait` when such a wait begins.
 */
export function killableDeps(rig: Rig, onRoute53Wait: () => void = () => undefined): { deps: ReactDeps; kill(): void; inRoute53Wait(): boolean; destroy(): void } {
  let killed = false;
  let waiting = 0;
  const never = () => new Promise<never>(() => undefined);
  const freeze = (client: { middlewareStack: { add: (m: never, o: never) => void } }) =>
    client.middlewareStack.add(((next: (a: unknown) => Promise<{ output?: { ChangeInfo?: { Status?: string } } }>, context: { commandName?: string }) => async (args: unknown) => {
      if (killed) return never();
      const result = await next(args);
      if (killed) return never();
      if (context.commandName === 'ChangeResourceRecordSetsCommand' && result.output?.ChangeInfo?.Status === 'PENDING' && waiting++ === 0) onRoute53Wait();
      if (context.commandName === 'GetChangeCommand' && result.output?.ChangeInfo?.Status === 'INSYNC') waiting = Math.max(0, waiting - 1);
      return result;
    }) as never, { step: 'initialize', name: 'lambdaTimeout' } as never);
  const ec2 = new EC2Client(clientConfig(rig.endpoints.ec2, rig.endpoints.awsBounds));
  const route53 = new Route53Client(clientConfig(rig.endpoints.route53, rig.endpoints.awsBounds));
  freeze(ec2 as never);
  freeze(route53 as never);
  const base = rig.freshDeps({ ec2, route53 });
  const frozen = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop, receiver) {
        const value = Reflect.get(t, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => (killed ? never() : (value as (...a: unknown[]) => unknown).apply(t, args));
      },
    });
  return {
    deps: { ...base, store: frozen(base.store), alerter: frozen(base.alerter), fencer: frozen(base.fencer) },
    kill: () => {
      killed = true;
    },
    inRoute53Wait: () => waiting > 0,
    destroy: () => {
      ec2.destroy();
      route53.destroy();
    },
  };
}
