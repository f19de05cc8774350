import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { InvalidRequestError, NotFoundError } from '../../shared/domain/errors';
import { errorResponder, jsonResponse } from '../../shared/middleware/error-responder';
import { logger, store } from '../wiring';

/** `GET /v1/clusters/{cluster}`: the fencing record, the members (never their keys) and the latest journal. */
async function status(request: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  const clusterId = request.pathParameters?.cluster ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(clusterId)) throw new InvalidRequestError('invalid_cluster', 'cluster id must be letters, digits, "_", "." or "-"');
  const limitText = request.queryStringParameters?.journal ?? '20';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 0 || limit > 200) throw new InvalidRequestError('invalid_journal_limit', 'journal must be an integer 0..200');
  const record = await store.getCluster(clusterId);
  if (record === null) throw new NotFoundError('unknown_cluster', `cluster ${clusterId} is not registered`);
  const [nodes, journal] = await Promise.all([store.listNodes(clusterId), limit > 0 ? store.readJournal(clusterId, limit) : Promise.resolve([])]);
  const { state } = record;
  return jsonResponse(200, {
    code: 'ok',
    message: state.primary === null ? `${clusterId} has no primary yet` : `${clusterId}: primary ${state.primary} on timeline ${state.timeline}, epoch ${state.epoch} (applied ${state.appliedEpoch})`,
    cluster: record.config,
    state,
    nodes,
    journal: journal.map(({ event, ...entry }) => ({ ...entry, source: event.source, facts: event.facts })),
  });
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpHeaderNormalizer())
  .use(errorResponder({ logger }))
  .handler(status);
