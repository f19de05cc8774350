import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { InvalidRequestError, NotFoundError } from '../../shared/domain/errors';
import { errorResponder, jsonResponse } from '../../shared/middleware/error-responder';
import { endpointView } from '../../shared/app/endpoint-view';
import { logger, store } from '../wiring';

/** `GET /v1/clusters/{cluster}`: the fencing record, the members (never their keys) and the latest journal. */
async function status(request: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  const clusterId = request.pathParameters?.cluster ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(clusterId)) throw new InvalidRequestError('invalid_cluster', 'cluster id must be letters, digits, "_", "." or "-"');
  const limitText = request.queryStringParameters?.journal ?? '20';
  const limit = Number(limitText);
  if (!Number.isInteger(limit) || limit < 0 || limit > 200) throw new InvalidRequestError('invalid_journal_limit', 'journal must be an integer 0..200');
  const [loaded, journal] = await Promise.all([store.loadCluster(clusterId), limit > 0 ? store.readJournal(clusterId, limit) : Promise.resolve([])]);
  if (loaded === null) throw new NotFoundError('unknown_cluster', `cluster ${clusterId} is not registered`);
  const { record, targets } = loaded;
  // Never a key: neither the node's key nor the one a rotation is bringing in (nor when that rotation started).
  const nodes = loaded.nodes.map(({ hookKey: _secret, hookKeyNext: _next, hookKeyNextAt: _nextAt, ...node }) => node);
  const { state } = record;
  return jsonResponse(200, {
    code: 'ok',
    message: state.primary === null ? `${clusterId} has no primary yet` : `${clusterId}: primary ${state.primary} on timeline ${state.timeline}, epoch ${state.epoch} (applied ${state.appliedEpoch})`,
    cluster: record.config,
    state,
    nodes,
    endpoint: endpointView(state.epoch, targets),
    // The tool's own words (`%d`) are hostile text: shown by the status page HTML-escaped, as every field.
    journal: journal.map(({ event, ...entry }) => ({ ...entry, source: event.source, facts: event.facts, eventDetails: event.details })),
  });
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpHeaderNormalizer())
  .use(errorResponder({ logger }))
  .handler(status);
