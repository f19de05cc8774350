import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { authenticate, rawBodyOf } from '../../shared/app/authenticate';
import { answerPing } from '../../shared/app/ping';
import { pingOf } from '../../shared/protocol/ping';
import { validateEvent } from '../../shared/app/validate-event';
import { processEvent } from '../../shared/app/process-event';
import { errorResponder, jsonResponse } from '../../shared/middleware/error-responder';
import { answerMetrics } from '../../shared/middleware/metrics';
import { countingLosses, recordEventAnswer } from '../../shared/app/metrics';
import { metrics } from '../metrics-wiring';
import { config, logger, store } from '../wiring';

const deps = { store: countingLosses(store, metrics), now: () => new Date() };

/**
 * `POST /v1/events`: authenticate, validate, decide under fencing, commit, answer. Two DynamoDB round trips on the
 * common path (the cluster's partition, then one transaction); no EC2, Route 53 or SNS call: the commit triggers the
 * actuator through the state table's stream.
 */
async function ingest(request: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  const rawBody = rawBodyOf(request.body, request.isBase64Encoded, config.maxBodyBytes);
  const auth = await authenticate(store, request.headers ?? {}, rawBody, Date.now() / 1000);
  const { loaded, node, replay } = auth;
  // `vipswitch-hook ping`: answered from the authentication alone, nothing written (shared/app/ping.ts).
  const ping = pingOf(rawBody);
  if (ping !== null) {
    const pong = answerPing(auth, ping, new Date());
    logger.info('ping answered', { cluster: pong.body.cluster, node: pong.body.node, key: pong.body.key, skewMs: pong.body.skewMs });
    return jsonResponse(pong.status, pong.body);
  }
  const event = validateEvent(rawBody, node);
  logger.appendKeys({ cluster: event.cluster, node: event.node, eventId: event.id });
  try {
    // A dry run changes nothing. The header is outside the signature on purpose: it can only take effects away.
    const dryRun = /^(1|true|yes)$/i.test(request.headers?.['x-vipswitch-dry-run'] ?? '');
    const answer = await processEvent(deps, { event, loaded, replay }, { dryRun });
    logger.info('event answered', { type: event.type, status: answer.status, code: answer.body.code, epoch: (answer.body as { epoch?: number }).epoch });
    return jsonResponse(answer.status, answer.body);
  } finally {
    logger.removeKeys(['cluster', 'node', 'eventId']);
  }
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpHeaderNormalizer())
  // Before errorResponder: every answer is counted by outcome, refusals included (shared/app/metrics.ts).
  .use(answerMetrics(metrics, recordEventAnswer))
  .use(errorResponder({ logger }))
  .handler(ingest);
