import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import { IdempotencyAlreadyInProgressError, IdempotencyValidationError } from '@aws-lambda-powertools/idempotency';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { authenticate, rawBodyOf } from '../../shared/app/authenticate';
import { ConflictError, InvalidRequestError, NotFoundError } from '../../shared/domain/errors';
import { parseRepmgrArgv } from '../../shared/domain/repmgr-argv';
import { parseVipEvent } from '../../shared/protocol/event-schema';
import { errorResponder, jsonResponse } from '../../shared/middleware/error-responder';
import { config, deps, idempotencyConfig, logger, processOnce, store } from './deps';
import { processEvent } from '../../shared/app/process-event';
import type { NodeWithKey } from '../../shared/ports/cluster-store';
import type { VipEvent } from '../../shared/domain/event';

/** `POST /v1/events`: authenticate, validate, decide (fenced), move the endpoint, journal, answer. */
async function ingest(request: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyResultV2> {
  const rawBody = rawBodyOf(request.body, request.isBase64Encoded, config.maxBodyBytes);
  const { node } = await authenticate(store, request.headers ?? {}, rawBody, Date.now() / 1000);
  const event = validate(rawBody, node);
  logger.appendKeys({ cluster: event.cluster, node: event.node, eventId: event.id });
  try {
    // A dry run changes nothing, so it is not recorded for idempotency either (the real event may follow).
    // The header is outside the signature on purpose: it can only take effects away, never add one.
    const dryRun = /^(1|true|yes)$/i.test(request.headers?.['x-vipswitch-dry-run'] ?? '');
    // The in-progress record expires with this invocation (a timeout must not block the event id for days).
    idempotencyConfig.registerLambdaContext(context);
    const answer = dryRun ? await processEvent(deps, event, withoutKey(node), { dryRun }) : await processOnce({ key: `${event.cluster}#${event.id}`, event, node: withoutKey(node) });
    logger.info('event answered', { type: event.type, status: answer.status, code: answer.body.code, epoch: answer.body.epoch });
    return jsonResponse(answer.status, answer.body);
  } catch (error) {
    if (error instanceof IdempotencyValidationError) {
      throw new ConflictError('event_id_reused', `event id ${event.id} was already used for a different event`);
    }
    if (error instanceof IdempotencyAlreadyInProgressError) {
      throw new ConflictError('event_in_progress', `event ${event.id} is being processed; retry shortly`);
    }
    throw error;
  } finally {
    logger.removeKeys(['cluster', 'node', 'eventId']);
  }
}

function validate(rawBody: string, node: NodeWithKey): VipEvent {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new InvalidRequestError('invalid_json', 'body is not valid JSON');
  }
  const parsed = parseVipEvent(json);
  if (!parsed.ok) throw new InvalidRequestError('invalid_event', `invalid event: ${parsed.issues.join('; ')}`, { details: { issues: parsed.issues } });
  const event = parsed.event;
  if (event.cluster !== node.cluster || event.node !== node.name) {
    throw new InvalidRequestError('node_mismatch', `body names ${event.cluster}/${event.node} but the request is signed as ${node.cluster}/${node.name}`);
  }
  if (event.source === 'repmgr') {
    let nodeId: number;
    try {
      nodeId = parseRepmgrArgv(event.raw.argv).nodeId;
    } catch (error) {
      throw new InvalidRequestError('invalid_argv', `raw.argv is not a repmgr call: ${(error as Error).message}`);
    }
    if (node.repmgrNodeId !== nodeId) {
      throw new NotFoundError('node_id_mismatch', `repmgr node id ${nodeId} (%n) is not ${node.name}'s registered id ${node.repmgrNodeId ?? '(none)'}`);
    }
  }
  return event;
}

function withoutKey(node: NodeWithKey) {
  const { hookKey: _secret, ...rest } = node;
  return rest;
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpHeaderNormalizer())
  .use(errorResponder({ logger }))
  .handler(ingest);
