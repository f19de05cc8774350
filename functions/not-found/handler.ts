import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { errorResponder, jsonResponse } from '../../shared/middleware/error-responder';
import { routeMiss } from '../../shared/protocol/routes';

// No store, no AWS client: this Lambda only answers requests no route took, so it needs none.
const logger = new Logger({ serviceName: 'vipswitch', logLevel: process.env.LOG_LEVEL === 'DEBUG' ? 'DEBUG' : 'INFO' });

/**
 * API Gateway's `$default` route: every method and path outside the contract gets the contract's answer
 * (404 `not_found` or 405 `method_not_allowed`, with `code` and `message`) instead of API Gateway's own body.
 */
async function notFound(request: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  const method = request.requestContext?.http?.method ?? 'GET';
  const path = request.rawPath ?? request.requestContext?.http?.path ?? '/';
  const miss = routeMiss(method, path);
  logger.info('no route', { status: miss.status, code: miss.code });
  return jsonResponse(miss.status, { code: miss.code, message: miss.message }, miss.allow === undefined ? {} : { allow: miss.allow });
}

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(errorResponder({ logger }))
  .handler(notFound);
