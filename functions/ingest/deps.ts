import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { processEvent, type EventAnswer } from '../../shared/app/process-event';
import type { NodeRecord } from '../../shared/domain/cluster';
import type { VipEvent } from '../../shared/domain/event';
import { config, deps, dynamodb } from '../wiring';

export { config, deps, logger, store } from '../wiring';

export interface IdempotentInput {
  key: string;
  event: VipEvent;
  node: NodeRecord;
}

/**
 * The idempotency settings. The handler registers each invocation's Lambda context here: the in-progress record then
 * expires with the invocation (a timed-out or crashed one no longer blocks its event id, and with it the node's whole
 * spool, for `expiresAfterSeconds`: the next retry processes it again).
 */
export const idempotencyConfig = new IdempotencyConfig({
  eventKeyJmesPath: 'key',
  payloadValidationJmesPath: 'event',
  expiresAfterSeconds: 7 * 24 * 3600,
  responseHook: (response) => {
    const first = response as unknown as EventAnswer;
    return {
      status: 200,
      body: { code: 'duplicate', decision: 'duplicate', message: 'this event id was already processed; `first` is the answer it got', first: { status: first.status, body: first.body } },
    } as never;
  },
});

/**
 * `processEvent` made idempotent per (cluster, event id) with Powertools: a repeat gets the first answer back,
 * marked `duplicate`; the same id with a different body is refused by payload validation.
 */
export const processOnce = makeIdempotent(async (input: IdempotentInput): Promise<EventAnswer> => processEvent(deps, input.event, input.node), {
  persistenceStore: new DynamoDBPersistenceLayer({ tableName: config.idempotencyTableName, awsSdkV3Client: dynamodb }),
  config: idempotencyConfig,
});
