import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createAwsClient } from '../shared/adapters/aws-clients';
import { DynamoDBClusterStore } from '../shared/adapters/dynamodb-cluster-store';
import { readServiceConfig } from '../shared/config/service-config';

// Wiring every Lambda shares, built once per cold start: the config, the logger and the state store. The AWS clients
// that move the endpoint live in ./aws-wiring.ts, so the ingest bundle carries no EC2 / Route 53 / SNS client at all.
// Every AWS call is bounded the same way as the operator CLI's (shared/adapters/aws-clients.ts: adaptive retries,
// connect and socket timeouts). Endpoints come from AWS_ENDPOINT_URL(_<SERVICE>) when set (the local stack): handler
// code never names one.
export const config = readServiceConfig(process.env);
export const logger = new Logger({ serviceName: 'vipswitch', logLevel: config.logLevel });
export const awsBounds = { maxAttempts: config.awsMaxAttempts, requestTimeoutMs: config.awsRequestTimeoutMs };
export const dynamodb = createAwsClient(DynamoDBClient, awsBounds);
export const store = new DynamoDBClusterStore({ client: dynamodb, tableName: config.tableName });
