import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClusterStore } from '../shared/adapters/dynamodb-cluster-store';
import { createEndpointActuator } from '../shared/adapters/endpoint-actuators';
import { Ec2InstanceFencer } from '../shared/adapters/ec2-instance-fencer';
import { SnsAlerter } from '../shared/adapters/sns-alerter';
import { DeduplicatingAlerter } from '../shared/app/deduplicating-alerter';
import type { ProcessDeps } from '../shared/app/process-event';
import { readServiceConfig } from '../shared/config/service-config';

// Wiring shared by the Lambdas, built once per cold start. Every AWS call is bounded: the SDK's adaptive retry
// strategy retries throttling (RequestLimitExceeded, Throttling, PriorRequestNotComplete), 5xx and timeouts with
// backoff and jitter, and each attempt has a socket timeout. Endpoints come from AWS_ENDPOINT_URL(_<SERVICE>) when
// set (the local stack): handler code never names one.
export const config = readServiceConfig(process.env);
export const logger = new Logger({ serviceName: 'vipswitch', logLevel: config.logLevel });
const clientConfig = {
  maxAttempts: config.awsMaxAttempts,
  retryMode: 'adaptive' as const,
  // throwOnRequestTimeout: without it the installed node-http-handler only warns and the call hangs.
  requestHandler: { connectionTimeout: 1000, requestTimeout: config.awsRequestTimeoutMs, throwOnRequestTimeout: true },
};
export const dynamodb = new DynamoDBClient(clientConfig);
export const store = new DynamoDBClusterStore({ client: dynamodb, tableName: config.tableName });
const ec2 = new EC2Client(clientConfig);

export const deps: ProcessDeps = {
  store,
  actuator: createEndpointActuator({ ec2, route53: new Route53Client(clientConfig) }),
  alerter: new DeduplicatingAlerter({
    inner: new SnsAlerter({
      client: new SNSClient(clientConfig),
      topicArn: config.topicArn,
      onError: (error, page) => logger.error('page not sent', { error: error as Error, pageType: page.type, cluster: page.cluster }),
    }),
    store,
    windowSeconds: config.pageDedupeSeconds,
    onSuppressed: (page) => logger.info('page suppressed (repeat inside the window)', { pageType: page.type, cluster: page.cluster }),
  }),
  fencer: new Ec2InstanceFencer({ client: ec2 }),
  now: () => new Date(),
};
