import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { createRoleAwareActuator, roleClientsFactory, sessionNameFor } from '../shared/adapters/assumed-role-clients';
import { createAwsClient } from '../shared/adapters/aws-clients';
import { Ec2EniIsolator } from '../shared/adapters/ec2-eni-isolator';
import { Ec2InstanceFencer } from '../shared/adapters/ec2-instance-fencer';
import { SnsAlerter } from '../shared/adapters/sns-alerter';
import { DeduplicatingAlerter } from '../shared/app/deduplicating-alerter';
import type { ReactDeps } from '../shared/app/react-to-changes';
import { awsBounds, config, logger, store } from './wiring';

// The clients that act on AWS (the actuator and reconcile): EC2, Route 53, SNS, built once per cold start.
const ec2 = createAwsClient(EC2Client, awsBounds);

/**
 * A cluster whose endpoint lives in another account names a role (`endpoints.assumeRoleArn`): its EC2 and Route 53
 * calls are made as that role (STS AssumeRole on first use, the credentials kept until shortly before they expire).
 */
export const roleClients = roleClientsFactory({ sts: createAwsClient(STSClient, awsBounds), bounds: awsBounds, sessionName: sessionNameFor(process.env.AWS_LAMBDA_FUNCTION_NAME) });

export const actingDeps: ReactDeps = {
  store,
  actuator: createRoleAwareActuator({ ec2, route53: createAwsClient(Route53Client, awsBounds) }, roleClients),
  alerter: new DeduplicatingAlerter({
    inner: new SnsAlerter({
      client: createAwsClient(SNSClient, awsBounds),
      topicArn: config.topicArn,
      onError: (error, page) => logger.error('page not sent', { error: error as Error, pageType: page.type, cluster: page.cluster }),
    }),
    store,
    windowSeconds: config.pageDedupeSeconds,
    onSuppressed: (page) => logger.info('page suppressed (repeat inside the window)', { pageType: page.type, cluster: page.cluster }),
  }),
  fencer: new Ec2InstanceFencer({ client: ec2 }),
  isolator: new Ec2EniIsolator({ client: ec2 }),
  now: () => new Date(),
};
