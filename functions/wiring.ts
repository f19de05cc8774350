import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClusterStore } from '../shared/adapters/dynamodb-cluster-store';
import { readServiceConfig } from '../shared/config/service-config';

// Wiring every Lambda shares, built once per cold start: the config, the logger and the state store. The AWS clients
// that move the endpoint live in ./aws-wiring.ts, so the ingest bundle carries no EC2 / Route 53 / SNS client at all.
// Every AWS call is bounded: the SDK's adaptive retry strategy retries throttling, 5xx and timeouts with backoff and
// jitter, and each attempt has a socket timeout. Endpoints come from AWS_ENDPOINT_URL(_<SERVICE>) when set (the local
// stack): handler code never names one.
export const config = readServiceConfig(process.env);
export const logger = new Logger({ serviceName: 'vipswitch', logLevel: config.logLevel });
export const clientConfig = {
  maxAttempts: config.awsMaxAttempts,
  retryMode: 'adaptive' as const,
  // throwOnRequestTimeout: without it the installed node-http-handler only warns and the call hangs.
  requestHandler: { connectionTimeout: 1000, requestTimeout: config.awsRequestTimeoutMs, throwOnRequestTimeout: true },
};
export const dynamodb = new DynamoDBClient(clientConfig);
export const store = new DynamoDBClusterStore({ client: dynamodb, tableName: config.tableName });
