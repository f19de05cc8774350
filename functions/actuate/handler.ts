import middy from '@middy/core';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { reactToChanges, type StateChange } from '../../shared/app/react-to-changes';
import { countingPages, measuringConvergence } from '../../shared/app/metrics';
import { flushMetrics } from '../../shared/middleware/metrics';
import { metrics } from '../metrics-wiring';
import { actingDeps } from '../aws-wiring';
import { logger } from '../wiring';

const deps = { ...actingDeps, alerter: countingPages(actingDeps.alerter, metrics) };

const image = (value: Record<string, unknown> | undefined) => (value ? unmarshall(value as Record<string, AttributeValue>) : null);

function toChange(record: DynamoDBRecord): StateChange {
  const keys = image(record.dynamodb?.Keys as Record<string, unknown> | undefined) ?? {};
  return {
    sequence: record.dynamodb?.SequenceNumber ?? '',
    pk: String(keys.pk ?? ''),
    sk: String(keys.sk ?? ''),
    old: image(record.dynamodb?.OldImage as Record<string, unknown> | undefined),
    new: image(record.dynamodb?.NewImage as Record<string, unknown> | undefined),
  };
}

/**
 * The actuator: triggered by the state table's stream (ordered per cluster), it carries out what was committed: moves
 * the endpoint to the newest epoch's holder (the INSYNC wait and the read-back live here, with a timeout sized for
 * them), pages, fences. A cluster whose move failed is reported as a partial batch failure: the trigger retries it
 * (bounded, bisecting), then its on-failure destination pages; reconcile stays the last net.
 */
async function actuate(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const changes = event.Records.map(toChange);
  const outcomes = await reactToChanges({ ...deps, store: measuringConvergence(deps.store, metrics, changes) }, changes);
  for (const o of outcomes) {
    if (o.result) logger.info('actuated', { cluster: o.cluster, epoch: o.result.epoch, converged: o.result.converged, results: o.result.actions.map((a) => `${a.mechanism}:${a.result}`) });
  }
  return { batchItemFailures: outcomes.filter((o) => o.retryFrom !== null).map((o) => ({ itemIdentifier: o.retryFrom! })) };
}

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse>().use(flushMetrics(metrics)).handler(actuate);
