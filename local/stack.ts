import { readFile } from 'node:fs/promises';
import { startAwsEndpoint, type AwsEndpoint } from './aws-endpoint/index';
import type { Topology } from './aws-endpoint/topology';
import { DynamoDBClusterStore } from '../shared/adapters/dynamodb-cluster-store';
import { startApiHost, type ApiHost } from './api-host';
import { createTables, localDynamoClient, startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { freePort } from './ports';

/** Table and topic names of the `local` stage (serverless.yml: `${service}-${stage}-...`). */
export const LOCAL_NAMES = {
  state: 'vipswitch-local-state',
  idempotency: 'vipswitch-local-idempotency',
  topicArn: 'arn:aws:sns:us-east-1:000000000000:vipswitch-pages',
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
export async function startLocalStack(options: { topology: Topology; ports?: Partial<LocalStackPorts>; log?: (line: string) => void; env?: Record<string, string>; schedule?: boolean }): Promise<LocalStack> {
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
      startAwsEndpoint({ port: ports.aws, topology: options.topology }).then((a) => {
        started.push({ stop: () => a.close() });
        return a;
      }),
    ]);
    const client = localDynamoClient(ddb.endpoint);
    await createTables(client, { state: LOCAL_NAMES.state, idempotency: LOCAL_NAMES.idempotency });
    const env = {
      AWS_ACCESS_KEY_ID: 'AKIALOCAL',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      AWS_ENDPOINT_URL_EC2: aws.url,
      AWS_ENDPOINT_URL_ROUTE_53: aws.url,
      AWS_ENDPOINT_URL_SNS: aws.url,
      ...options.env,
    };
    const api: ApiHost = await startApiHost({
      httpPort: ports.api,
      lambdaPort: ports.lambda,
      env: { ...env, VIPSWITCH_SCHEDULE: options.schedule === false ? 'false' : 'true' },
      log: options.log,
    });
    started.push(api);
    const store = new DynamoDBClusterStore({ client, tableName: LOCAL_NAMES.state });
    return {
      apiUrl: api.url,
      eventsUrl: `${api.url}/v1/events`,
      lambdaUrl: `http://127.0.0.1:${ports.lambda}`,
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
