import { EC2Client } from '@aws-sdk/client-ec2';
import { Route53Client } from '@aws-sdk/client-route-53';
import * as z from 'zod/mini';
import { createAwsClient } from '../../shared/adapters/aws-clients';
import { DynamoDBReconcileCursor } from '../../shared/adapters/dynamodb-reconcile-cursor';
import { createFleetObserver } from '../../shared/adapters/reconcile-observer';
import { envInt } from '../../shared/config/service-config';
import { DEFAULT_RECONCILE_BUDGETS, type ReconcileBudgets } from '../../shared/app/reconcile-budget';
import type { FleetSweepDeps } from '../../shared/app/reconcile-fleet';
import { actingDeps, roleClients } from '../aws-wiring';
import { awsBounds, config, dynamodb, store } from '../wiring';

// The sweep's settings, read and checked once per cold start (a bad value fails the deployment loudly, naming it).
// zod/mini, as the service config (the bundle's size).
const rate = (fallback: number) => z._default(z.coerce.number().check(z.positive(), z.maximum(1000)), fallback);
const burst = (fallback: number) => envInt(1, 1000, fallback);
const d = DEFAULT_RECONCILE_BUDGETS;
const schema = z.object({
  RECONCILE_EC2_READS_PER_SECOND: rate(d.ec2Reads.ratePerSecond),
  RECONCILE_EC2_READS_BURST: burst(d.ec2Reads.burst),
  RECONCILE_EC2_WRITES_PER_SECOND: rate(d.ec2Writes.ratePerSecond),
  RECONCILE_EC2_WRITES_BURST: burst(d.ec2Writes.burst),
  RECONCILE_ROUTE53_PER_SECOND: rate(d.route53.ratePerSecond),
  RECONCILE_ROUTE53_BURST: burst(d.route53.burst),
  RECONCILE_SHARD_SIZE: envInt(1, 1000, 1000),
  RECONCILE_CONCURRENCY: envInt(1, 64, 32),
});
const parsed = schema.safeParse(process.env);
if (!parsed.success) throw new Error(`vipswitch reconcile: bad environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
const env = parsed.data;

export const budgets: ReconcileBudgets = {
  ec2Reads: { ratePerSecond: env.RECONCILE_EC2_READS_PER_SECOND, burst: env.RECONCILE_EC2_READS_BURST },
  ec2Writes: { ratePerSecond: env.RECONCILE_EC2_WRITES_PER_SECOND, burst: env.RECONCILE_EC2_WRITES_BURST },
  route53: { ratePerSecond: env.RECONCILE_ROUTE53_PER_SECOND, burst: env.RECONCILE_ROUTE53_BURST },
};
export const sweepSettings = { shardSize: env.RECONCILE_SHARD_SIZE, concurrency: env.RECONCILE_CONCURRENCY };

// The sweep's own clients: every call they make is paced by the observer, so they are never the actuator's.
const own = { ec2: createAwsClient(EC2Client, awsBounds), route53: createAwsClient(Route53Client, awsBounds) };

export const fleetDeps: FleetSweepDeps = {
  store,
  observer: createFleetObserver({
    // A role's clients are the actuator's (one AssumeRole per role and cold start); the sweep's calls through them
    // are paced by the observer all the same.
    clientsFor: (role) => (role === null ? own : roleClients(role)),
    budgets,
  }),
  alerter: actingDeps.alerter,
  now: () => new Date(),
};

export const cursor = new DynamoDBReconcileCursor({ client: dynamodb, tableName: config.tableName });
