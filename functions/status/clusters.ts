import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { listClusterSummaries, parseListQuery } from '../../shared/app/cluster-list';
import { errorResponder, jsonResponse } from '../../shared/middleware/error-responder';
import { logger, store } from '../wiring';

/**
 * `GET /v1/clusters?limit=&next=`: the fleet, a page at a time, sorted by cluster name: per cluster its primary,
 * timeline, epoch, whether the endpoint converged, the last failover and its recent pages. `next` in the answer (null on
 * the last page) is passed back as `?next=` for the following page.
 */
async function clusters(request: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  const query = parseListQuery(request.queryStringParameters ?? {});
  const page = await listClusterSummaries(store, query, new Date());
  const unsettled = page.clusters.filter((c) => !c.converged).length;
  return jsonResponse(200, {
    code: 'ok',
    message: `${page.clusters.length} cluster(s)${unsettled > 0 ? `, ${unsettled} not converged` : ''}${page.next === null ? '' : '; more with ?next='}`,
    clusters: page.clusters,
    next: page.next,
  });
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpHeaderNormalizer())
  .use(errorResponder({ logger }))
  .handler(clusters);
