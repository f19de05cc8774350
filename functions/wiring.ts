import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClusterStore } from '../shared/adapters/dynamodb-cluster-store';
import { Ec2RouteActuator } from '../shared/adapters/ec2-route-actuator';
import { SnsAlerter } from '../shared/adapters/sns-alerter';
import type { ProcessDeps } from '../shared/app/process-event';
import { readServiceConfig } from '../shared/config/service-config';

// Wiring shared by the Lambdas, built once per cold start. The SDK's adaptive retry strategy handles throttling
// (backoff with jitter); endpoints come from AWS_ENDPOINT_URL(_<SERVICE>) when set: handler code never names one.
export const config = readServiceConfig(process.env);
export const logger = new Logger({ serviceName: 'vipswitch', logLevel: config.logLevel });
const retry = { maxAttempts: 4, retryMode: 'adaptive' as const };
export const dynamodb = new DynamoDBClient(retry);
export const store = new DynamoDBClusterStore({ client: dynamodb, tableName: config.tableName });

export const deps: ProcessDeps = {
  store,
  actuator: new Ec2RouteActuator({ client: new EC2Client(retry) }),
  alerter: new SnsAlerter({
    client: new SNSClient(retry),
    topicArn: config.topicArn,
    onError: (error, page) => logger.error('page not sent', { error: error as Error, pageType: page.type, cluster: page.cluster }),
  }),
  now: () => new Date(),
};
