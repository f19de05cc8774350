import type { MiddlewareObj } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { VipswitchError } from '../domain/errors';

/** A JSON answer; every body carries `code` and `message`. */
export function jsonResponse<T extends { code: string; message: string }>(status: number, body: T, headers: Record<string, string> = {}): APIGatewayProxyResultV2 {
  return { statusCode: status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** AWS throttling surfaced after the SDK's own retries: the client should come back later, it did nothing wrong. */
const THROTTLING = new Set(['ThrottlingException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'Throttling', 'TooManyRequestsException']);

/**
 * The one place errors become answers: a VipswitchError becomes its status, `code` and client-safe `message`;
 * AWS throttling becomes 429; anything else a 500 with a generic message (the detail goes to the log only, and
 * never a secret: requests are not logged).
 */
export function errorResponder(options: { logger: Logger }): MiddlewareObj {
  return {
    onError: async (request) => {
      const error = request.error;
      if (error instanceof VipswitchError) {
        options.logger.warn('request refused', { status: error.status, code: error.code, reason: error.message });
        request.response = jsonResponse(error.status, { code: error.code, message: error.message, ...error.details });
        return;
      }
      const name = (error as { name?: string } | null)?.name ?? '';
      if (THROTTLING.has(name)) {
        options.logger.warn('throttled by AWS', { error: name });
        request.response = jsonResponse(429, { code: 'throttled', message: 'the service is throttled; retry later' }, { 'retry-after': '1' });
        return;
      }
      options.logger.error('internal error', { error: error as Error });
      request.response = jsonResponse(500, { code: 'internal_error', message: 'internal error; the event was not processed, retry it' });
    },
  };
}
