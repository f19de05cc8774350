import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SNSClient } from '@aws-sdk/client-sns';
import { createAwsClient, type AwsCallBounds } from '../../shared/adapters/aws-clients';
import { DynamoDBClusterStore } from '../../shared/adapters/dynamodb-cluster-store';
import { LOCAL_STAGE, stageNames, type StageNames } from '../../shared/config/names';
import { UsageError } from './errors';

/**
 * What a command works with: the stage's names and store, and the AWS clients it asks for, all built through the
 * Lambdas' client factory (same retries and timeouts). Clients are made on first use and destroyed by `close()`.
 */
export interface CliContext {
  stage: StageNames;
  store: DynamoDBClusterStore;
  ec2(): EC2Client;
  route53(): Route53Client;
  sns(): SNSClient;
  close(): void;
}

/** The CLI's call bounds: the Lambdas' defaults, overridable like theirs (AWS_MAX_ATTEMPTS, AWS_REQUEST_TIMEOUT_MS). */
export function cliBounds(env: Readonly<Record<string, string | undefined>>): Partial<AwsCallBounds> {
  const int = (name: string, min: number, max: number): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${name} must be an integer ${min}..${max}, got ${JSON.stringify(text)}`);
    return value;
  };
  return { maxAttempts: int('AWS_MAX_ATTEMPTS', 1, 10), requestTimeoutMs: int('AWS_REQUEST_TIMEOUT_MS', 100, 60_000) };
}

/**
 * The local stage is the local stack (npm start): where the environment does not say otherwise, its default ports on
 * 127.0.0.1 (DynamoDB Local on VIPSWITCH_DYNAMODB_PORT or 8000, the local AWS endpoint on VIPSWITCH_AWS_PORT or 4566),
 * its region and its fake credentials. So `npx vipswitch status` works beside `npm start` with no setup. Only the
 * variables that are unset are returned; a set one always wins.
 */
export function localStackDefaults(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const aws = `http://127.0.0.1:${env.VIPSWITCH_AWS_PORT || 4566}`;
  const wanted: Record<string, string> = {
    AWS_REGION: env.AWS_DEFAULT_REGION || 'us-east-1',
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${env.VIPSWITCH_DYNAMODB_PORT || 8000}`,
    AWS_ENDPOINT_URL_EC2: aws,
    AWS_ENDPOINT_URL_ROUTE_53: aws,
    AWS_ENDPOINT_URL_SNS: aws,
  };
  // Fake credentials only when none are configured at all (no keys, no profile).
  if (!env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) Object.assign(wanted, { AWS_ACCESS_KEY_ID: 'AKIALOCAL', AWS_SECRET_ACCESS_KEY: 'local' });
  return Object.fromEntries(Object.entries(wanted).filter(([name]) => !env[name] && !(name.startsWith('AWS_ENDPOINT_URL_') && env.AWS_ENDPOINT_URL)));
}

/**
 * A command's context on `stage`. The SDK reads its region, credentials and endpoints from `process.env`; for the
 * local stage, {@link localStackDefaults} are set there first (this is the CLI's own process).
 */
export function createContext(stage: string, env: Readonly<Record<string, string | undefined>>): CliContext {
  let names: StageNames;
  try {
    names = stageNames(stage);
  } catch (error) {
    throw new UsageError(`--stage: ${(error as Error).message}`);
  }
  if (stage === LOCAL_STAGE) Object.assign(process.env, localStackDefaults(env));
  const bounds = cliBounds(env);
  const dynamodb = createAwsClient(DynamoDBClient, bounds);
  const made: { destroy(): void }[] = [dynamodb];
  const lazy = <C extends { destroy(): void }>(make: () => C): (() => C) => {
    let client: C | undefined;
    return () => {
      if (client === undefined) made.push((client = make()));
      return client;
    };
  };
  return {
    stage: names,
    store: new DynamoDBClusterStore({ client: dynamodb, tableName: names.state }),
    ec2: lazy(() => createAwsClient(EC2Client, bounds)),
    route53: lazy(() => createAwsClient(Route53Client, bounds)),
    sns: lazy(() => createAwsClient(SNSClient, bounds)),
    close: () => made.forEach((c) => c.destroy()),
  };
}
