import { readFile } from 'node:fs/promises';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { latencyProfileFromEnv, startAwsEndpoint, type AwsEndpoint, type LatencyProfile } from './aws-endpoint/index';
import { offlineInvoker, startStreamTrigger, type StreamTrigger } from './stream-trigger';
import { triggerFailedPage } from '../shared/app/pages';
import type { Topology } from './aws-endpoint/topology';
import { DynamoDBClusterStore } from '../shared/adapters/dynamodb-cluster-store';
import { LOCAL_STAGE, stageNames } from '../shared/config/names';
import { startApiHost, type ApiHost } from './api-host';
import { createTables, localDynamoClient, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { freePort } from './ports';

const localNames = stageNames(LOCAL_STAGE);

/** Table and topic names of the `local` stage (shared/config/names.ts, as serverless.yml names them). */
export const LOCAL_NAMES = {
  state: localNames.state,
  actuate: localNames.actuate,
  topicArn: `arn:aws:sns:us-east-1:000000000000:${localNames.pagesTopic}`,
} as const;

export interface LocalStackPorts {
  api: number;
  lambda: number;
  dynamodb: number;
  aws: number;
}

export interface LocalStack {
  /** Base URL of the local API Gateway. */
  apiUrl: string;
  /** `POST` target of the hook. */
  eventsUrl: string;
  /** The local Lambda invoke API (`POST /2015-03-31/functions/<name>/invocations`), e.g. to run reconcile now. */
  lambdaUrl: string;
  dynamodbEndpoint: string;
  /** The local EC2 / Route53 / SNS endpoint, with its state view and fault injection. */
  aws: AwsEndpoint;
  /** The actuator's trigger: the state table's stream → the actuate Lambda (as Lambda's event source mapping does). */
  trigger: StreamTrigger;
  /** The store, on the same tables the Lambdas use (for `apply` and for assertions). */
  store: DynamoDBClusterStore;
  /** Environment that points AWS SDK clients at the local endpoints. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Read and return a topology JSON file. */
export async function loadTopology(path: string): Promise<Topology> {
  return JSON.parse(await readFile(path, 'utf8')) as Topology;
}

/**
 * Start the whole local stack on 127.0.0.1: DynamoDB Local (tables created), the local AWS endpoint seeded with
 * `topology`, and the Lambdas behind serverless-offline. Ports default to free ephemeral ones. Everything started
 * is stopped by `stop()`, also when start-up fails half way.
 */
export async function startLocalStack(options: {
  topology: Topology;
  ports?: Partial<LocalStackPorts>;
  log?: (line: string) => void;
  env?: Record<string, string>;
  schedule?: boolean;
  /** The local AWS endpoint's latency profile; default from VIPSWITCH_LATENCY (instant when unset). */
  latency?: 'instant' | 'aws' | LatencyProfile;
}): Promise<LocalStack> {
  const ports: LocalStackPorts = {
    api: options.ports?.api ?? (await freePort()),
    lambda: options.ports?.lambda ?? (await freePort()),
    dynamodb: options.ports?.dynamodb ?? (await freePort()),
    aws: options.ports?.aws ?? (await freePort()),
  };
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
    started.length = 0;
  };
  try {
    const [ddb, aws] = await Promise.all([
      startDynamoDbLocal(ports.dynamodb).then((d: DynamoDbLocal) => {
        started.push(d);
        return d;
      }),
      startAwsEndpoint({ port: ports.aws, topology: options.topology, latency: options.latency ?? latencyProfileFromEnv() }).then((a) => {
        started.push({ stop: () => a.close() });
        return a;
      }),
    ]);
    const client = localDynamoClient(ddb.endpoint);
    await createTables(client, { state: LOCAL_NAMES.state });
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIALOCAL',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      AWS_ENDPOINT_URL_EC2: aws.url,
      AWS_ENDPOINT_URL_ROUTE_53: aws.url,
      AWS_ENDPOINT_URL_SNS: aws.url,
      // AssumeRole for clusters that name a role (endpoints.assumeRoleArn) is answered by the local endpoint too.
      AWS_ENDPOINT_URL_STS: aws.url,
      ...options.env,
    };
    const api: ApiHost = await startApiHost({
      httpPort: ports.api,
      lambdaPort: ports.lambda,
      env: { ...env, VIPSWITCH_SCHEDULE: options.schedule === false ? 'false' : 'true' },
      log: options.log,
    });
    started.push(api);
    const lambdaUrl = `http://127.0.0.1:${ports.lambda}`;
    const sns = new SNSClient({ endpoint: aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' } });
    const trigger = await startStreamTrigger({
      dynamodb: client,
      endpoint: ddb.endpoint,
      tableName: LOCAL_NAMES.state,
      invoke: offlineInvoker(lambdaUrl, LOCAL_NAMES.actuate),
      // The on-failure destination: the pages topic, as in serverless.yml.
      onGiveUp: async (records, error) => {
        const clusters = [...new Set(records.map((r) => (r.dynamodb?.Keys?.pk?.S ?? '').replace(/^(CLUSTER|JOURNAL)#/, '')))];
        for (const cluster of clusters) {
          const page = triggerFailedPage(cluster, `${records.length} change(s) not carried out: ${error}`);
          await sns.send(new PublishCommand({ TopicArn: LOCAL_NAMES.topicArn, Subject: page.subject.slice(0, 99), Message: JSON.stringify(page), MessageAttributes: { severity: { DataType: 'String', StringValue: page.severity }, cluster: { DataType: 'String', StringValue: cluster }, type: { DataType: 'String', StringValue: page.type } } }));
        }
      },
      log: options.log,
    });
    started.push({ stop: async () => { await trigger.stop(); sns.destroy(); } });
    const store = new DynamoDBClusterStore({ client, tableName: LOCAL_NAMES.state });
    return {
      apiUrl: api.url,
      eventsUrl: `${api.url}/v1/events`,
      lambdaUrl,
      trigger,
      dynamodbEndpoint: ddb.endpoint,
      aws,
      store,
      env,
      stop: async () => {
        client.destroy();
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
